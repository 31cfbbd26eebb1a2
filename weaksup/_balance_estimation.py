"""Class balance estimated from the votes alone (no gold labels).

:func:`estimate_class_balance` is what every weaksup model and loss uses when
neither ``class_balance`` nor ``Y_dev`` is given (see
:mod:`weaksup.class_balance`). It reads only
:class:`~weaksup.statistics.VoteStatistics`, so it works the same on one
matrix, on chunks and on a loss's ring buffer.
"""

from __future__ import annotations

import torch

from .statistics import VoteStatistics

_FLOOR = 1e-3  # no class gets less than this share before renormalising


def estimate_class_balance(stats: VoteStatistics, **options) -> torch.Tensor:
    """``(k,)`` float64 class balance on ``stats.device``, summing to 1.

    Method: each class's share of all votes cast (a vote-level majority
    vote), floored at 0.1% and renormalised; uniform when no LF ever voted.

    Args:
        stats: vote statistics (``-1`` = abstain codes, classes ``0..k-1``).
        **options: reserved for the estimator's options.

    Returns:
        ``(k,)`` float64 tensor on ``stats.device``.
    """
    k = stats.cardinality
    votes = stats.vote_counts().to(torch.float64).sum(0)  # (k,)
    total = votes.sum()
    uniform = torch.full((k,), 1.0 / k, dtype=torch.float64, device=stats.device)
    share = torch.where(total > 0, votes / total.clamp(min=1.0), uniform)
    share = share.clamp(min=_FLOOR)
    return share / share.sum()
