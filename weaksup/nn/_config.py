"""Construction-time helpers of the online losses: configuration checks and the class balance."""

from __future__ import annotations

import copy
from typing import Any, Optional, Tuple

import torch

from .._validation import check_bool, check_choice
from ..class_balance import estimate_class_balance, resolve_class_balance
from ..label_model import SOLVE_METHODS
from ..statistics import VoteStatistics, accumulate

__all__ = ["BalanceMixin", "check_configuration", "fsloss_model_defaults", "probe_statistics"]


def probe_statistics(m: int, k: int, groups) -> VoteStatistics:
    """Statistics of a few synthetic items on which every configuration that
    can fit at all fits: every LF votes every class, pairs agree and disagree."""
    rows = [[c] * m for c in range(k)] * 2
    rows += [[(i + r) % k for i in range(m)] for r in range(k)]
    rows.append([-1] * m)
    return accumulate(torch.tensor(rows, dtype=torch.int64), k, groups)


def check_configuration(owner: str, model: Any, stats: VoteStatistics, fit) -> None:
    """Fit a copy of ``model`` once on ``stats`` so that configuration errors
    raise at construction (as ``ValueError``/``TypeError``), not at the first refit."""
    probe = copy.deepcopy(model)
    try:
        fit(probe, stats)
    except (ValueError, TypeError) as err:
        raise type(err)(f"{owner}'s label model rejects its configuration: {err}") from err
    except Exception as err:  # noqa: BLE001 - any other failure is a configuration error too
        raise ValueError(f"{owner}'s label model rejects its configuration: {type(err).__name__}: {err}") from err


class BalanceMixin:
    """The class balance of a loss: resolved once at construction (given,
    counted from ``Y_dev``), else uniform or estimated at each refit."""

    def _init_balance(self, class_balance: Any, Y_dev: Any, k: int, convention: str, v: int, estimate: bool) -> None:
        self.estimate_balance = check_bool(estimate, "estimate_balance")
        resolved = resolve_class_balance(class_balance, Y_dev, cardinality=k, convention=convention, v=v)
        self.register_buffer("class_balance", resolved)
        n = 2 ** v if convention == "flyingsquid" else k
        self.register_buffer("_uniform", torch.full((n,), 1.0 / n, dtype=torch.float64), persistent=False)

    def _balance(self, stats: VoteStatistics) -> torch.Tensor:
        if self.class_balance is not None:
            return self.class_balance
        if self.estimate_balance:
            return estimate_class_balance(stats)
        return self._uniform



def fsloss_model_defaults(
    solve_method: Optional[str], estimate_balance: Optional[bool], *, v: int, lf_deps, triplets, allow_abstentions: bool
) -> Tuple[str, bool]:
    """FSLoss's model defaults, in one place: ``solve_method=None`` is weaksup's
    pairwise EM for one task with independent LFs that may abstain (the better
    labels on the measured data), ``'triplet'`` when triplets are given, else
    FlyingSquid's ``'triplet_mean'``; ``estimate_balance=None`` estimates the
    class balance for one task and keeps it uniform for sequences."""
    if solve_method is not None:
        solve_method = check_choice(solve_method, "solve_method", SOLVE_METHODS)
    elif triplets is not None:
        solve_method = "triplet"
    elif v == 1 and not list(lf_deps) and allow_abstentions:
        solve_method = "pairwise_em"
    else:
        solve_method = "triplet_mean"
    return solve_method, v == 1 if estimate_balance is None else estimate_balance
