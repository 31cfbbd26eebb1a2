"""The class-conditional (Dawid-Skene) model fitted by pairwise EM.

Shared by :class:`weaksup.MulticlassLabelModel` (its default method) and
:class:`weaksup.LabelModel` (``solve_method="pairwise_em"``), so neither model
imports the other for it. The solver lives in :mod:`weaksup._pairwise_em`
(the EM on the responses LFs actually give, which also serves thousands of
classes); this module turns its output into what a model and its posterior need.

Each LF ``i`` has a confusion table ``C[i, r, y] = P(response r | Y = y)``,
response 0 = abstain, ``c + 1`` = a vote for class ``c``. The posterior of an
item is ``log P(y | votes) = log pi_y + sum over voting LFs of log C[i, c + 1,
y] + abstain_weight * sum over abstaining LFs of fit_i log C[i, 0, y]``, with
``fit_i`` in ``[0, 1]`` how well the model explains LF ``i``'s pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence

import torch

from . import _agreement as agreement
from ._backend import IMPOSSIBLE, TINY
from ._pairwise_em import ActiveConfusion, abstain_fit_active, fit_pairwise_active, posterior_terms
from .posterior import independent_log_scores
from .statistics import VoteStatistics

# The defaults of MulticlassLabelModel, also used by LabelModel's "pairwise_em".
DEFAULT_OPTIONS = dict(
    n_iter=100, prior_accuracy=0.9, prior_strength=10.0, prior_items=10.0, pair_tolerance=0.01, abstain_weight=0.75
)
# Dense (m, k + 1, k) tables (the confusion_ attribute, the fast posterior of few
# classes, agreement accuracies) are built up to this many numbers.
_DENSE_LIMIT = 1 << 22


@dataclass
class ClassConditionalFit:
    """A fitted class-conditional model over ``m`` LFs and ``k`` classes.

    Attributes:
        active: the :class:`~weaksup._pairwise_em.ActiveConfusion` (the
            confusion over the responses the LFs give).
        confusion: ``(m, k + 1, k)`` ``P(response | Y)``, response 0 = abstain;
            ``None`` when ``m (k + 1) k`` is too large to hold.
        terms: the posterior's arguments for
            :func:`~weaksup.posterior.independent_log_scores` (``base`` with
            the log prior, ``deltas`` per response, ``responses``, ...).
        dense_deltas: ``(m, k, k)`` the same deltas as a dense table (the fast
            path for few classes), or ``None``.
        accuracies: ``(m,)`` ``P(vote correct | the LF votes)`` under the
            fitted confusion (``1/k`` for an LF that never votes).
        agreement_accuracies: ``(m,)`` the same, read from each LF's agreement
            with the others (:func:`~weaksup._agreement.agreement_accuracies`):
            rougher values, a much better ranking of the LFs; ``None`` for
            many classes (compact statistics). Computed on first read (a
            loss's refits never read it), from ``co_votes``.
        coverage: ``(m,)`` fraction of items each LF votes on.
        co_votes: a copy of the fit's dense co-vote counts, kept for
            ``agreement_accuracies`` (``None`` once it is computed, or for
            compact statistics).
    """

    active: ActiveConfusion
    confusion: Optional[torch.Tensor]
    terms: Dict[str, Any]
    dense_deltas: Optional[torch.Tensor]
    accuracies: torch.Tensor
    coverage: torch.Tensor
    co_votes: Optional[torch.Tensor] = None
    _agreement: Optional[torch.Tensor] = field(default=None, repr=False)

    @property
    def agreement_accuracies(self) -> Optional[torch.Tensor]:
        if self._agreement is None and self.co_votes is not None:
            self._agreement = agreement.agreement_accuracies(self.co_votes).clamp(0.0, 1.0)
            self.co_votes = None
        return self._agreement


def agreement_accuracies_of(model: Any) -> Optional[torch.Tensor]:
    """A model's ``agreement_accuracies_``: its class-conditional fit's, else ``None``."""
    fit = model.__dict__.get("_em_fit")
    return None if fit is None else fit.agreement_accuracies


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
    tol: Optional[float] = None,
    init: Optional[ActiveConfusion] = None,
) -> ClassConditionalFit:
    """Fit the model on ``stats`` with the class balance ``pi`` ``(k,)`` fixed.

    The options are :class:`weaksup.MulticlassLabelModel`'s (validated there);
    ``init`` (a previous fit's confusion) and ``tol`` (early stop on the CPU)
    are :func:`~weaksup._pairwise_em.fit_pairwise_active`'s. Reads only the
    statistics, dense or compact: ``O(n_iter R^2 k)`` with ``R`` the responses
    given (at most ``m (k + 1)``).
    """
    m, k = stats.n_lfs, stats.cardinality
    pi = pi.to(device=stats.device, dtype=torch.float64)
    C, pi = fit_pairwise_active(
        stats, pi, n_iter=n_iter, prior_accuracy=prior_accuracy, prior_strength=prior_strength,
        prior_items=prior_items, pair_tolerance=pair_tolerance, init=init, tol=tol,
    )
    # tempered abstention evidence, and none from LFs whose pairs the model cannot fit
    fit = abstain_fit_active(stats, C, pi, pair_tolerance=pair_tolerance)
    # a class the balance rules out stays at probability 0, whatever its tables say
    log_prior = torch.where(pi > 0, pi.clamp(min=TINY).log(), torch.full_like(pi, IMPOSSIBLE))
    terms = posterior_terms(C, log_prior, abstain_weight * fit)
    small = m * (k + 1) * k <= _DENSE_LIMIT
    dense_deltas = None
    if small:  # unlisted responses everywhere, then the listed ones
        dense_deltas = terms["unlisted"][:, None, :].expand(m, k, k).clone()
        dense_deltas[C.lf, C.cls] = terms["deltas"]
    right = torch.zeros(m, dtype=torch.float64, device=stats.device).index_add_(
        0, C.lf, C.votes[torch.arange(len(C.cls), device=stats.device), C.cls] * pi[C.cls]
    )
    voted = 1.0 - C.abstain @ pi
    accuracies = torch.where(voted > 0, right / voted.clamp(min=TINY), torch.full_like(right, 1.0 / k))
    votes = stats.vote_counts().to(torch.float64)
    fitted = ClassConditionalFit(
        active=C,
        confusion=C.dense() if small else None,
        terms=terms,
        dense_deltas=dense_deltas,
        accuracies=accuracies.clamp(0.0, 1.0),
        coverage=votes.sum(1) / stats.n_items.to(torch.float64).clamp(min=1.0),
    )
    # from agreement with partner LFs: they rank LFs far better than the confusion's
    # P(vote correct), which stays near its prior for sparse LFs (values are rougher).
    # It reads the dense co-vote tensor (only where the statistics hold it densely):
    # a copy (a loss's counts change in place), read on demand; a large one now.
    if not stats.is_compact:
        if stats.co_votes.numel() <= _DENSE_LIMIT:
            fitted.co_votes = stats.co_votes.clone()
        else:
            fitted.agreement_accuracies  # noqa: B018 - computed now, no copy kept
    return fitted


def class_conditional_log_scores(
    codes: torch.Tensor, fit: ClassConditionalFit, class_values: Optional[Sequence[int]] = None
) -> torch.Tensor:
    """Unnormalised log posterior ``(n, k)`` float64 of codes ``(n, m)`` (-1 = abstain),
    or of raw votes whose class ``c`` is ``class_values[c]`` (see
    :func:`~weaksup.posterior.independent_log_scores`)."""
    if fit.dense_deltas is not None:  # every LF abstaining is the baseline, each vote adds its delta
        return independent_log_scores(codes, fit.terms["base"], fit.dense_deltas, class_values=class_values)
    if class_values is not None:  # the per-response kernel reads codes
        values = torch.tensor(list(class_values), dtype=codes.dtype, device=codes.device)
        hit = codes[..., None] == values
        codes = torch.where(hit.any(-1), hit.to(torch.int64).argmax(-1), torch.full_like(codes, -1, dtype=torch.int64))
    return independent_log_scores(codes, **fit.terms)


def as_active(init: Any, m: int, k: int) -> ActiveConfusion:
    """A warm start for ``m`` LFs and ``k`` classes: an ``ActiveConfusion`` or a
    dense ``(m, k + 1, k)`` confusion (response 0 = abstain), checked."""
    if isinstance(init, ActiveConfusion):
        C = init
    elif isinstance(init, torch.Tensor):
        if tuple(init.shape) != (m, k + 1, k):
            raise ValueError(f"init must be a confusion of shape ({m}, {k + 1}, {k}), got {tuple(init.shape)}")
        dense = init.detach().to(torch.float64)
        lf = torch.arange(m, device=dense.device).repeat_interleave(k)
        cls = torch.arange(k, device=dense.device).repeat(m)
        C = ActiveConfusion(dense[:, 0], dense[:, 1:].reshape(m * k, k), lf, cls)
    else:
        raise TypeError(f"init must be a previous confusion (confusion_ or confusion_active_), got {type(init).__name__}")
    if C.n_lfs != m or C.cardinality != k:
        raise ValueError(f"init must be a confusion of {m} LFs x {k} classes, got {C.n_lfs} x {C.cardinality}")
    if C.abstain.device.type == "cpu" and not (
        bool(torch.isfinite(C.abstain).all()) and bool(torch.isfinite(C.votes).all())
        and bool((C.abstain >= 0).all()) and bool((C.votes >= 0).all())
    ):
        raise ValueError("init must hold finite, non-negative probabilities")
    if C.abstain.device.type == "cpu":
        totals = C.abstain.to(torch.float64).index_add(0, C.lf, C.votes.to(torch.float64))
        if not bool((totals > 0).all()):
            raise ValueError("init must give every LF, under every class, responses of positive total probability")
    return C
