"""Generated calls of the three losses, and how to judge what they did.

Shared by ``tests/test_losses_properties.py`` (hypothesis properties) and
``benchmarks/robustness_losses.py`` (the outcome table). Outcomes as in
``_robustness_cases``: ``valid`` (a finite loss of the right shape; soft labels
in [0, 1], rows of the many-class ones summing to 1), ``clear error`` (a
``ValueError``/``TypeError`` raised inside weaksup naming the argument),
``unclear error``, ``silent wrong``, ``hang``.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Callable, Dict, Tuple

import numpy as np
import torch
from hypothesis import strategies as st

from _robustness_cases import raised_in_weaksup, votes
from weaksup.nn import FSCrossEntropyLoss, FSLoss, MajorityVoteLoss

ARGUMENTS = ("weak_labels", "predictions", "weight", "update_frequency")
_NAMED = re.compile(r"(?<![A-Za-z_])(" + "|".join(ARGUMENTS) + r")(?![A-Za-z_])")

M, K = 3, 3
WARM = {  # a valid first batch for each loss (FlyingSquid votes / Snorkel votes)
    "FSLoss": np.array([[1, 0, -1], [1, 1, 1], [-1, -1, 0], [0, 1, 1], [1, -1, 1]]),
    "FSCrossEntropyLoss": np.array([[0, -1, 2], [1, 1, 1], [2, 2, -1], [0, 0, 1], [2, 1, 2]]),
    "MajorityVoteLoss": np.array([[1, 0, -1], [1, 1, 1], [-1, -1, 0], [0, 1, 1], [1, -1, 1]]),
}


def make(name: str, reduction: str = "mean"):
    if name == "FSLoss":
        return FSLoss(M, buffer_capacity=8, update_frequency=2, reduction=reduction)
    if name == "FSCrossEntropyLoss":
        return FSCrossEntropyLoss(M, K, buffer_capacity=8, update_frequency=2, reduction=reduction,
                                  model_options={"n_iter": 5})
    return MajorityVoteLoss(reduction=reduction)


def warm(name: str, reduction: str = "mean"):
    crit = make(name, reduction)
    L = WARM[name]
    crit(torch.zeros((len(L), K) if name == "FSCrossEntropyLoss" else len(L)), L)
    return crit


def _logits(draw, name: str, n: int) -> Any:
    shape = (n, K) if name == "FSCrossEntropyLoss" else draw(st.sampled_from([(n,), (n, 1)]))
    flaw = draw(st.sampled_from(["none"] * 6 + ["nan", "inf", "shape", "int", "numpy", "float16", "float64"]))
    x = torch.linspace(-2, 2, int(np.prod(shape))).reshape(shape)
    if flaw == "nan" and x.numel():
        x.view(-1)[0] = float("nan")
    elif flaw == "inf" and x.numel():
        x.view(-1)[0] = float("inf")
    elif flaw == "shape":
        x = torch.zeros((n + 1,) + tuple(shape[1:]))
    elif flaw == "int":
        x = x.to(torch.int64)
    elif flaw == "numpy":
        x = x.numpy()
    elif flaw in ("float16", "float64"):
        x = x.to(getattr(torch, flaw))
    return x


def _weight(draw, n: int) -> Any:
    kind = draw(st.sampled_from(["none"] * 5 + ["ok", "nan", "inf", "strings", "length", "bool", "int"]))
    if kind == "none":
        return None
    if kind == "ok":
        return np.linspace(0.5, 2.0, n)
    if kind in ("nan", "inf"):
        w = np.ones(n)
        if n:
            w[0] = np.nan if kind == "nan" else np.inf
        return w
    if kind == "strings":
        return ["a"] * n
    if kind == "length":
        return np.ones(n + 2)
    if kind == "bool":
        return np.ones(n, dtype=bool)
    return np.ones(n, dtype=np.int64)


@st.composite
def loss_calls(draw, name: str) -> Dict[str, Any]:
    convention = "snorkel" if name == "FSCrossEntropyLoss" else "flyingsquid"
    wrong_m = draw(st.sampled_from([False] * 5 + [True]))
    lfs = dict(min_lfs=M - 1, max_lfs=M + 1) if wrong_m else dict(min_lfs=M, max_lfs=M)
    L = draw(votes(convention, K if convention == "snorkel" else 2, **lfs))
    n = len(L) if hasattr(L, "__len__") else 0
    return dict(
        L=L,
        logits=_logits(draw, name, n),
        weight=_weight(draw, n),
        update_frequency=draw(st.sampled_from([None] * 6 + [1, 3, 0, -1, 2.5])),
        reduction=draw(st.sampled_from(["mean", "sum", "none"])),
    )


def call(name: str, case: Dict[str, Any]) -> Tuple[Callable[[], Any], Callable[[Any], None]]:
    crit = warm(name, case["reduction"])

    def run():
        kwargs = {} if case["weight"] is None else {"weight": case["weight"]}
        out = crit(case["logits"], case["L"], case["update_frequency"], **kwargs)
        return out, getattr(crit, "last_targets", None), case

    return run, check_loss


def check_loss(result) -> None:
    out, targets, case = result
    out = out.detach().double()
    assert torch.isfinite(out).all(), f"non-finite loss {out}"
    n = int(case["logits"].shape[0])
    if case["reduction"] == "none":
        assert out.shape[0] == n, f"per-item loss of shape {tuple(out.shape)} for {n} items"
    else:
        assert out.dim() == 0
    if targets is not None and targets.numel():
        assert torch.isfinite(targets).all() and (targets >= 0).all() and (targets <= 1).all(), "soft labels"
        if targets.shape[1] > 1:
            torch.testing.assert_close(targets.sum(1), torch.ones(len(targets), dtype=targets.dtype))


def is_clear_error(err: BaseException) -> bool:
    return isinstance(err, (ValueError, TypeError)) and raised_in_weaksup(err) and _NAMED.search(str(err)) is not None


def outcome(run: Callable[[], Any], check: Callable[[Any], None]) -> Tuple[str, str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = run()
    except Exception as err:  # noqa: BLE001 - every exception is judged
        return ("clear error" if is_clear_error(err) else "unclear error"), f"{type(err).__name__}: {err}"
    try:
        check(result)
    except AssertionError as err:
        return "silent wrong", str(err)
    return "valid", ""


def state(crit) -> Dict[str, Any]:
    """What a loss holds: its state dict and host counters (empty for the stateless one)."""
    if not hasattr(crit, "_seen"):
        return {}
    out = {k: v.clone() for k, v in crit.state_dict().items()}
    out["_counters"] = (crit._size, crit._index, crit._seen, crit._refits)
    return out


LOSSES = ("FSLoss", "FSCrossEntropyLoss", "MajorityVoteLoss")
