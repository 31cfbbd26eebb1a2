"""The class-conditional (Dawid-Skene) model fitted by pairwise EM.

Shared by :class:`weaksup.MulticlassLabelModel` (its default method) and
:class:`weaksup.LabelModel` (``solve_method="pairwise_em"``), so neither model
imports the other for it. The solver itself lives in
:mod:`weaksup._multiclass_solvers`; this module turns its output into what a
posterior needs.

Each LF ``i`` has a confusion table ``C[i, r, y] = P(response r | Y = y)``,
response 0 = abstain, ``c + 1`` = a vote for class ``c``. The posterior of an
item is ``log P(y | votes) = log pi_y + sum over voting LFs of log C[i, c + 1,
y] + abstain_weight * sum over abstaining LFs of fit_i log C[i, 0, y]``, with
``fit_i`` in ``[0, 1]`` how well the model explains LF ``i``'s pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from . import _multiclass_solvers as solvers
from ._backend import IMPOSSIBLE, TINY
from .posterior import independent_log_scores, log_table_deltas
from .statistics import VoteStatistics

# The defaults of MulticlassLabelModel, also used by LabelModel's "pairwise_em".
DEFAULT_OPTIONS = dict(
    n_iter=100, prior_accuracy=0.9, prior_strength=10.0, prior_items=10.0, pair_tolerance=0.01, abstain_weight=0.75
)


@dataclass
class ClassConditionalFit:
    """A fitted class-conditional model over ``m`` LFs and ``k`` classes.

    Attributes:
        confusion: ``(m, k + 1, k)`` ``P(response | Y)``, response 0 = abstain.
        log_table: ``(m, k + 1, k)`` the log confusion the posterior adds up,
            its abstain row scaled by ``abstain_weight * fit_i``.
        log_prior: ``(k,)`` log class balance (``IMPOSSIBLE`` where it is 0).
        accuracies: ``(m,)`` ``P(vote correct | the LF votes)`` under the
            fitted confusion (``1/k`` for an LF that never votes).
        agreement_accuracies: ``(m,)`` the same, read from each LF's agreement
            with the others (:func:`~weaksup._multiclass_solvers.agreement_accuracies`):
            rougher values, a much better ranking of the LFs.
        coverage: ``(m,)`` fraction of items each LF votes on.
    """

    confusion: torch.Tensor
    log_table: torch.Tensor
    log_prior: torch.Tensor
    accuracies: torch.Tensor
    agreement_accuracies: torch.Tensor
    coverage: torch.Tensor


def fit_class_conditional(
    stats: VoteStatistics,
    pi: torch.Tensor,
    *,
    n_iter: int,
    prior_accuracy: float,
    prior_strength: float,
    prior_items: float,
    pair_tolerance: Optional[float],
    abstain_weight: float,
) -> ClassConditionalFit:
    """Fit the model on ``stats`` with the class balance ``pi`` ``(k,)`` fixed.

    The options are :class:`weaksup.MulticlassLabelModel`'s (validated there).
    Reads only the statistics: ``O(n_iter m^2 k^3)``, no host sync.
    """
    k = stats.cardinality
    n = stats.n_items.to(torch.float64)
    votes = stats.vote_counts().to(torch.float64)
    C = solvers.pairwise_em(
        stats.co_votes, stats.n_items, pi, n_iter=n_iter, prior_accuracy=prior_accuracy,
        prior_strength=prior_strength, prior_items=prior_items, pair_tolerance=pair_tolerance,
    )
    # tempered abstention evidence, and none from LFs whose pairs the model cannot fit
    fit = solvers.abstain_fit(stats.co_votes, stats.n_items, C, pi, pair_tolerance=pair_tolerance)
    log_table = C.clamp(min=TINY).log()
    log_table[:, 0, :] = log_table[:, 0, :] * (abstain_weight * fit)[:, None]
    right = torch.einsum("icc,c->i", C[:, 1:, :], pi)
    voted = 1.0 - C[:, 0, :] @ pi
    accuracies = torch.where(voted > 0, right / voted.clamp(min=TINY), torch.full_like(right, 1.0 / k))
    return ClassConditionalFit(
        confusion=C,
        log_table=log_table,
        # a class the balance rules out stays at probability 0, whatever its tables say
        log_prior=torch.where(pi > 0, pi.clamp(min=TINY).log(), torch.full_like(pi, IMPOSSIBLE)),
        accuracies=accuracies.clamp(0.0, 1.0),
        # from agreement with partner LFs: they rank LFs far better than the confusion's
        # P(vote correct), which stays near its prior for sparse LFs (values are rougher)
        agreement_accuracies=solvers.agreement_accuracies(stats.co_votes).clamp(0.0, 1.0),
        coverage=votes.sum(1) / n.clamp(min=1.0),
    )


def class_conditional_log_scores(
    codes: torch.Tensor, fit: ClassConditionalFit, class_values: Optional[Sequence[int]] = None
) -> torch.Tensor:
    """Unnormalised log posterior ``(n, k)`` float64 of codes ``(n, m)`` (-1 = abstain),
    or of raw votes whose class ``c`` is ``class_values[c]`` (see
    :func:`~weaksup.posterior.independent_log_scores`)."""
    # every LF abstaining is the baseline; a vote for c adds log C[vote c] - log C[abstain]
    base, deltas = log_table_deltas(fit.log_table.to(codes.device))  # (k,), (m, k votes, k classes)
    return independent_log_scores(codes, base + fit.log_prior.to(codes.device), deltas, class_values=class_values)
