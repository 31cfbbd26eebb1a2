"""Generated inputs for the model entry points, and how to judge what they did.

Shared by ``tests/test_robustness_models.py`` (hypothesis properties) and
``benchmarks/robustness_models.py`` (the outcome table). A call ends in one of:

* ``valid``: it returned, and every probability is finite, in [0, 1], rows
  summing to 1, a class of class balance 0 gets 0 (label models), an
  all-abstain row gets the class balance (LabelModel, MajorityVote)
  (``lf_summary``: fractions in [0, 1], counts consistent);
* ``clear error``: a ``ValueError``/``TypeError`` raised inside weaksup whose
  message names the argument at fault;
* ``unclear error``: any other exception, or one raised outside weaksup, or a
  message that names no argument;
* ``silent wrong``: it returned something invalid (NaN, rows not summing to 1);
* ``hang``: it did not return within the time limit (the benchmark script only).
"""

from __future__ import annotations

import os
import re
import traceback
import warnings
from typing import Any, Callable, Dict, Tuple

import numpy as np
from hypothesis import strategies as st

import weaksup
from weaksup import LabelModel, MajorityVote, MulticlassLabelModel, lf_summary

DTYPES = [
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "bool",
]
# what a message may name: the arguments of the entry points
ARGUMENTS = ("L", "L_train", "L_matrix", "class_balance", "Y_dev", "Y", "m", "cardinality", "convention", "stats", "lf_names")
_NAMED = re.compile(r"(?<![A-Za-z_])(" + "|".join(ARGUMENTS) + r")(?![A-Za-z_])")
_PACKAGE = os.path.dirname(weaksup.__file__)

OUTCOMES = ("valid", "clear error", "unclear error", "silent wrong", "hang")


# ---- strategies -------------------------------------------------------------------
FLAWS = ["out_of_range", "nan", "inf", "huge", "fraction", "ragged", "strings", "one_d", "list", "wrong_convention"]


@st.composite
def votes(draw, convention: str, k: int, min_lfs: int = 1, max_lfs: int = 3):
    """A vote matrix in ``convention`` with ``k`` classes (about half of them), or a broken one."""
    n = draw(st.sampled_from([0, 1, 2, 3, 5, 12, 40]))
    m = draw(st.integers(min_lfs, max_lfs))
    lo, hi = (-1, 1) if convention == "flyingsquid" else (-1, k - 1)
    values = draw(st.lists(st.integers(lo, hi), min_size=n * m, max_size=n * m))
    L = np.array(values, dtype=np.int64).reshape(n, m)
    flaw = draw(st.sampled_from(["none"] * len(FLAWS) + FLAWS))
    signed = [d for d in DTYPES if not d.startswith("uint") and d != "bool"]
    dtype = draw(st.sampled_from(signed * 3 + DTYPES))  # unsigned and bool less often
    if flaw == "ragged" and n >= 2:
        rows = L.tolist()
        rows[-1] = rows[-1] + [0]
        return rows
    if flaw == "strings":
        return L.astype(str)
    if flaw == "one_d":
        return L.reshape(-1).astype(dtype)
    if flaw == "list":
        return L.tolist()
    if flaw == "out_of_range" and L.size:
        L.flat[0] = draw(st.sampled_from([-2, hi + 1, 7]))
    if flaw == "huge" and L.size:
        L.flat[0] = 10**12
        dtype = draw(st.sampled_from(["int64", "float64"]))
    if flaw == "wrong_convention" and L.size:
        L = L + (1 if convention == "snorkel" else -1) * (L == 0)  # shift abstentions into the other code
    out = L.astype(dtype)
    if flaw in ("nan", "inf", "fraction") and L.size:
        out = L.astype(draw(st.sampled_from(["float16", "float32", "float64"])))
        out.flat[0] = {"nan": np.nan, "inf": -np.inf, "fraction": 0.5}[flaw]
    return out


def class_balances(k: int):
    good = st.lists(st.floats(0.01, 1.0), min_size=k, max_size=k)
    fine = st.one_of(st.none(), st.just("uniform"), good, good.map(np.array))
    return st.one_of(fine, fine, fine, bad_class_balances(k))


def bad_class_balances(k: int):
    good = st.lists(st.floats(0.01, 1.0), min_size=k, max_size=k)
    return st.one_of(
        st.lists(st.floats(0.01, 1.0), min_size=1, max_size=k + 2).filter(lambda x: len(x) != k),
        good.map(lambda x: [np.nan] + x[1:]),
        good.map(lambda x: [np.inf] + x[1:]),
        good.map(lambda x: [-0.5] + x[1:]),
        st.just([0.0] * k),
        st.just("balanced"),
        st.just(["a"] * k),
    )


def dev_labels(convention: str, k: int):
    labels = [-1, 1] if convention == "flyingsquid" else list(range(k))
    good = st.lists(st.sampled_from(labels), min_size=1, max_size=8)
    fine = st.one_of(st.none(), good, good.map(np.array))
    return st.one_of(fine, fine, fine, st.one_of(
        st.just([]),
        good.map(lambda y: y + [5]),
        good.map(lambda y: np.array(y + [np.nan])),
        good.map(lambda y: [str(v) for v in y]),
    ))


# ---- entry points ---------------------------------------------------------------------
def call_label_model(L, class_balance, Y_dev, m, solve_method) -> Dict[str, Any]:
    model = LabelModel(m)
    model.fit(L, class_balance=class_balance, Y_dev=Y_dev, solve_method=solve_method)
    balance = model.class_balance_.numpy()
    out = dict(p=model.predict_proba(L), zero_balance=balance)
    if solve_method is not None and solve_method.startswith("triplet"):
        # the triplet methods give an all-abstain row the class balance (pairwise EM: P(Y | no LF voted))
        out.update(abstain_rows=_abstain_rows(L, 0), abstain_gets=balance)
    return out


def call_multiclass(L, class_balance, Y_dev, k) -> Dict[str, Any]:
    model = MulticlassLabelModel(k, n_iter=10)
    model.fit(L, class_balance=class_balance, Y_dev=Y_dev)
    # (an all-abstain row gets P(Y | no LF voted), not the balance: see weaksup.multiclass)
    return dict(p=model.predict_proba(L), zero_balance=model.class_balance_.numpy())


def call_majority_vote(L, class_balance, Y_dev, k, convention) -> Dict[str, Any]:
    model = MajorityVote(cardinality=k, convention=convention)
    model.fit(L, class_balance=class_balance, Y_dev=Y_dev)
    # majority vote reads the balance for all-abstain rows only: a class of balance 0 may still win votes
    rows = _abstain_rows(L, 0 if convention == "flyingsquid" else -1)
    return dict(p=model.predict_proba(L), abstain_rows=rows, abstain_gets=model.class_balance_.numpy())


def _abstain_rows(L, abstain: int) -> np.ndarray:
    """Rows of a (fitted, hence valid) ``L`` on which every LF abstains."""
    return (np.asarray(L, dtype=np.float64) == abstain).all(1)


def call_lf_summary(L, Y, k, convention) -> Any:
    return lf_summary(L, Y=Y, convention=convention, cardinality=k)


# ---- judging --------------------------------------------------------------------------
def check_probabilities(result: Dict[str, Any]) -> None:
    """Raise AssertionError unless the probabilities ``p`` are a finite (n, k)
    distribution per row, every all-abstain row gets ``abstain_gets`` (where
    the model promises it) and a class of ``zero_balance`` 0 gets probability 0."""
    p = np.asarray(result["p"], dtype=np.float64)
    assert p.ndim == 2, f"probabilities of shape {p.shape}"
    assert np.isfinite(p).all(), "non-finite probability"
    assert (p >= -1e-12).all() and (p <= 1 + 1e-12).all(), "probability outside [0, 1]"
    if not len(p):
        return
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-9)
    if "zero_balance" in result:
        ruled_out = np.asarray(result["zero_balance"]) == 0
        assert (p[:, ruled_out] == 0).all(), f"a class of balance 0 got probability ({result['zero_balance']})"
    rows = result.get("abstain_rows")
    if rows is not None and rows.any():
        expected = np.tile(np.asarray(result["abstain_gets"], dtype=np.float64), (int(rows.sum()), 1))
        np.testing.assert_allclose(p[rows], expected, atol=1e-9, err_msg="an all-abstain row")


def check_summary(frame: Any) -> None:
    for column in ("coverage", "overlaps", "conflicts"):
        values = np.asarray(frame[column], dtype=np.float64)
        assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all(), column
    assert (frame["overlaps"] <= frame["coverage"] + 1e-12).all()
    assert (frame["conflicts"] <= frame["overlaps"] + 1e-12).all()
    if "correct" in frame:
        assert ((frame["correct"] >= 0) & (frame["incorrect"] >= 0)).all()


def raised_in_weaksup(err: BaseException) -> bool:
    """The exception's innermost frame is weaksup code."""
    frames = traceback.extract_tb(err.__traceback__)
    return bool(frames) and os.path.abspath(frames[-1].filename).startswith(_PACKAGE)


def is_clear_error(err: BaseException) -> bool:
    return (
        isinstance(err, (ValueError, TypeError))
        and raised_in_weaksup(err)
        and _NAMED.search(str(err)) is not None
    )


def outcome(call: Callable[[], Any], check: Callable[[Any], None]) -> Tuple[str, str]:
    """Run ``call``; return (outcome, detail)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = call()
    except Exception as err:  # noqa: BLE001 - every exception is judged
        kind = "clear error" if is_clear_error(err) else "unclear error"
        return kind, f"{type(err).__name__}: {err}"
    try:
        check(result)
    except AssertionError as err:
        return "silent wrong", str(err)
    return "valid", ""


def entry_points() -> Dict[str, Tuple[Callable, Callable]]:
    """name -> (strategy of keyword arguments, call builder)."""

    @st.composite
    def label_model_case(draw):
        L = draw(votes("flyingsquid", 2, min_lfs=3, max_lfs=5))
        width = np.shape(L)[-1] if isinstance(L, np.ndarray) and np.ndim(L) == 2 else 3
        m = draw(st.sampled_from([width] * 8 + [1, 2, 4]))  # LabelModel needs m >= 3
        solve_method = draw(st.sampled_from([None, "triplet_mean", "triplet_median", "triplet", "pairwise_em"]))
        return dict(
            L=L, class_balance=draw(class_balances(2)), Y_dev=draw(dev_labels("flyingsquid", 2)), m=m,
            solve_method=solve_method,
        )

    @st.composite
    def multiclass_case(draw):
        k = draw(st.integers(2, 4))
        return dict(
            L=draw(votes("snorkel", k)), class_balance=draw(class_balances(k)),
            Y_dev=draw(dev_labels("snorkel", k)), k=k,
        )

    @st.composite
    def majority_case(draw):
        convention = draw(st.sampled_from(["flyingsquid", "snorkel"]))
        k = 2 if convention == "flyingsquid" else draw(st.integers(2, 4))
        return dict(
            L=draw(votes(convention, k)), class_balance=draw(class_balances(k)),
            Y_dev=draw(dev_labels(convention, k)), k=k, convention=convention,
        )

    @st.composite
    def summary_case(draw):
        convention = draw(st.sampled_from(["flyingsquid", "snorkel"]))
        k = 2 if convention == "flyingsquid" else draw(st.integers(2, 4))
        L = draw(votes(convention, k))
        n = len(L) if hasattr(L, "__len__") else 0
        labels = [-1, 1] if convention == "flyingsquid" else list(range(k))
        Y = draw(st.one_of(
            st.none(),
            st.lists(st.sampled_from(labels), min_size=n, max_size=n),
            st.lists(st.sampled_from(labels), min_size=0, max_size=4),
        ))
        card = draw(st.one_of(st.none(), st.just(k), st.sampled_from([0, -1, 1])))
        if convention == "flyingsquid":
            card = None
        return dict(L=L, Y=Y, k=card, convention=convention)

    return {
        "LabelModel": (label_model_case(), lambda c: (lambda: call_label_model(**c), check_probabilities)),
        "MulticlassLabelModel": (multiclass_case(), lambda c: (lambda: call_multiclass(**c), check_probabilities)),
        "MajorityVote": (majority_case(), lambda c: (lambda: call_majority_vote(**c), check_probabilities)),
        "lf_summary": (summary_case(), lambda c: (lambda: call_lf_summary(**c), check_summary)),
    }


# ---- twins --------------------------------------------------------------------------
# model name -> (constructor, convention, k, a valid matrix to fit first)
FITTED = {
    "LabelModel": (lambda: LabelModel(3), "flyingsquid", 2, np.array([[1, 0, -1], [1, 1, 1], [-1, -1, 0], [0, 1, 1]])),
    "MulticlassLabelModel": (
        lambda: MulticlassLabelModel(3, n_iter=10), "snorkel", 3, np.array([[0, -1, 2], [1, 1, 1], [2, 2, -1], [0, 0, 1]]),
    ),
    "MajorityVote": (
        lambda: MajorityVote(cardinality=3, convention="snorkel"), "snorkel", 3,
        np.array([[0, -1, 2], [1, 1, 1], [2, 2, -1], [0, 0, 1]]),
    ),
}


@st.composite
def second_calls(draw, name: str):
    """A (method, L, class_balance, Y_dev) call on an already fitted ``name`` model."""
    _, convention, k, _ = FITTED[name]
    return (
        draw(st.sampled_from(["fit", "partial_fit"])), draw(votes(convention, k, max_lfs=3)),
        draw(class_balances(k)), draw(dev_labels(convention, k)),
    )


def twin_outcome(name: str, call) -> str:
    """``"accepted"``, ``"rejected, unchanged"`` or ``"rejected, CHANGED"``."""
    from _model_state import snapshot

    make, _, _, L0 = FITTED[name]
    method, L, class_balance, Y_dev = call
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, twin = make().fit(L0), make().fit(L0)
        try:
            getattr(model, method)(L, class_balance=class_balance, Y_dev=Y_dev)
        except (ValueError, TypeError):
            try:
                np.testing.assert_equal(snapshot(vars(model)), snapshot(vars(twin)))
                np.testing.assert_array_equal(model.predict_proba(L0), twin.predict_proba(L0))
            except AssertionError:
                return "rejected, CHANGED"
            return "rejected, unchanged"
    return "accepted"
