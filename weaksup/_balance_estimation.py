"""Class balance estimated from the votes alone (no gold labels).

:func:`estimate_class_balance` is what every weaksup model and loss uses when
neither ``class_balance`` nor ``Y_dev`` is given (see
:mod:`weaksup.class_balance`). It reads only
:class:`~weaksup.statistics.VoteStatistics`, so it gives the same balance on
one matrix, on chunks and on a loss's ring buffer.

The method is each class's share of all votes cast, each LF's votes weighted
by one over the number of LFs it duplicates (``1 / sum_j s_ij``, ``s_ij`` the
cosine similarity of LF ``i``'s and LF ``j``'s votes for the same class,
``s_ii = 1``; near 1 for an LF that overlaps no other), so five copies of
one LF count about once. Why this one (measured with
``benchmarks/harness.py --no-gold`` and the regimes of
:mod:`weaksup.synthetic`):

* Fitted with this balance, the class-conditional model's per-class vote rate
  ``P(some LF votes | Y = y)`` comes out about the same for every class, so
  abstentions carry little net evidence about which class an item with no
  vote has: such an item gets roughly this balance, whose largest class is
  the class most LFs vote, and not a confident label read from abstentions
  under a wrong balance (the failure of a uniform balance, where every
  uncovered item of a spam set went to spam).
* Without the duplicate weighting, copies of one broad LF pull the balance
  towards its class (synthetic ``duplicates``: 26 points of total variation
  off instead of 15, and the model 16 points below majority vote).
* EM on the balance jointly with the pairwise model barely moves from its
  start on sparse LFs (the abstain/abstain cells of every pair say nothing
  about it) and can swap the labels of a rare class; Dawid-Skene's EM on
  items is far off on low-coverage sets; majority vote's class distribution
  on covered items is no better than the vote share and needs the items.

The estimate is exact when the LFs of each class together cast votes in
proportion to the class's items; it is biased towards classes that many or
broad LFs vote for. Where the LFs of a *minority* class cast most of the votes
and most items get no vote, that bias decides the items without a vote, and
wrongly: a 13.5% spam set with 50 spam LFs, 20 ham LFs and 74% of the items
without a vote comes out 63% spam, and the default model labels the
uncovered items spam (22% accuracy, majority vote 59%; a uniform balance gets
96% there, and 39% on the opposite case, a spam set whose ham LFs cast most
votes, where this estimate gets 95%). No statistic of the votes tells the two
apart; give ``class_balance`` (or a few gold labels as ``Y_dev``) when the
LFs mostly vote one rare class.
"""

from __future__ import annotations

import torch

from .statistics import VoteStatistics

_FLOOR = 1e-3  # no class gets less than this share before renormalising (a class no LF votes)


def _same_class_co_votes(stats: VoteStatistics) -> torch.Tensor:
    """``(m, m)`` float64: items on which LFs ``i`` and ``j`` voted the same class."""
    if not getattr(stats, "is_compact", False):
        return torch.einsum("icjc->ij", stats.co_votes.to(torch.float64))
    m, k = stats.n_lfs, stats.cardinality
    lf, cls = stats.responses // k, stats.responses % k
    match = (cls[:, None] == cls[None, :]).to(torch.float64) * stats.pair_counts.to(torch.float64)
    same = torch.zeros((m, m), dtype=torch.float64, device=stats.device)
    return same.index_put_((lf[:, None].expand_as(match), lf[None, :].expand_as(match)), match, accumulate=True)


def estimate_class_balance(stats: VoteStatistics) -> torch.Tensor:
    """``(k,)`` float64 class balance on ``stats.device``, summing to 1.

    Each class's share of the votes cast by all LFs on all items, an LF's
    votes weighted by one over its number of duplicates (see the module
    docstring), floored at 0.1% per class (renormalised); uniform when no LF
    ever voted. A function of the vote *rates* only: the same votes repeated
    give the same balance.

    Args:
        stats: vote statistics (codes ``-1`` = abstain, classes ``0..k-1``).

    Returns:
        ``(k,)`` float64 tensor on ``stats.device``; no host sync.

    Example:
        >>> import torch
        >>> from weaksup.statistics import accumulate
        >>> codes = torch.tensor([[0, 0], [0, -1], [1, -1], [-1, -1]])
        >>> estimate_class_balance(accumulate(codes, 2)).tolist()
        [0.75, 0.25]
    """
    k = stats.cardinality
    votes = stats.vote_counts().to(torch.float64)  # (m, k)
    same = _same_class_co_votes(stats)
    cover = votes.sum(1)
    cosine = same / (cover[:, None] * cover[None, :]).sqrt().clamp(min=1.0)
    votes = (votes / cosine.sum(1).clamp(min=1.0)[:, None]).sum(0)  # (k,)
    total = votes.sum()
    uniform = torch.full((k,), 1.0 / k, dtype=torch.float64, device=votes.device)
    share = torch.where(total > 0, votes / total.clamp(min=1.0), uniform).clamp(min=_FLOOR)
    return share / share.sum()
