"""LF accuracy read from agreement, and how well estimated accuracies rank the LFs.

:func:`agreement_accuracies` and :func:`rank_correlation` serve the LF table
(``agree_acc`` in :func:`weaksup.analysis.lf_summary`) and the class-conditional
model's ``agreement_accuracies_``.
"""

from __future__ import annotations

import torch


def agreement_accuracies(
    co_votes: torch.Tensor,
    *,
    n_iter: int = 30,
    start: float = 0.7,
    strength: float = 1.0,
) -> torch.Tensor:
    """``(m,)`` estimated ``P(vote correct | the LF votes)`` read from how each
    LF agrees with the others where they both vote.

    A symmetric one-coin model: LF ``j`` that votes ``s`` is right with
    probability ``a_j`` and otherwise names any other class alike, so the
    chance that LF ``i``'s vote ``c`` is right, seen through a partner's vote
    ``s``, is ``a_j`` when ``s = c`` and ``(1 - a_j) / (k - 1)`` when not.
    ``a_i`` is the average of that over all of LF ``i``'s co-votes, each
    partner weighted by the square of its own reliability ``max(a_j, (1 -
    a_j) / (k - 1))``, iterated ``n_iter`` times from ``start`` and shrunk
    towards ``start`` by ``strength`` pseudo co-votes (an LF that never votes
    with another stays at ``start``). This ranks LFs by accuracy better than
    the class-conditional model's ``P(vote correct)``, which for sparse LFs
    stays close to its prior and is capped by coverage (see
    ``benchmarks/harness.py`` and :func:`rank_correlation`).

    Args:
        co_votes: ``(m, k, m, k)`` co-vote counts.
        n_iter: fixed-point steps. Default: 30.
        start: starting and prior accuracy. Default: 0.7.
        strength: pseudo co-votes of the prior. Default: 1.

    Returns:
        ``(m,)`` float64 in ``[0, 1]`` on ``co_votes``' device.
    """
    m, k = co_votes.shape[0], co_votes.shape[1]
    device = co_votes.device
    co = co_votes.to(torch.float64).clone()
    idx = torch.arange(m, device=device)
    co[idx, :, idx, :] = 0  # an LF does not vouch for itself
    eye = torch.eye(k, dtype=torch.bool, device=device)
    a = torch.full((m,), float(start), dtype=torch.float64, device=device)
    for _ in range(n_iter):
        wrong = ((1.0 - a) / max(k - 1, 1))[:, None, None].expand(m, k, k)
        q = torch.where(eye[None], a[:, None, None].expand(m, k, k), wrong)  # q[j, s, c] = P(Y = c | j votes s)
        reliability = torch.maximum(a, (1.0 - a) / max(k - 1, 1)) ** 2  # (m,)
        weighted = co * reliability[None, None, :, None]
        right = torch.einsum("icjs,jsc->i", weighted, q)
        total = weighted.sum((1, 2, 3))
        a = (right + strength * start) / (total + strength)
    return a.clamp(0.0, 1.0)


def rank_correlation(estimated, empirical) -> float:
    """Spearman rank correlation of two ``(m,)`` sequences (average ranks for
    ties), ignoring entries where either is NaN; NaN when fewer than 3 pairs
    remain or one side is constant."""
    import numpy as np

    x = np.asarray(estimated, dtype=np.float64).reshape(-1)
    y = np.asarray(empirical, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"estimated and empirical must have the same length, got {x.shape[0]} and {y.shape[0]}")
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if x.size < 3:
        return float("nan")

    def ranks(v):
        order = np.argsort(v, kind="mergesort")
        r = np.empty(v.size)
        r[order] = np.arange(v.size, dtype=np.float64)
        for value in np.unique(v):  # average ranks of ties
            tied = v == value
            r[tied] = r[tied].mean()
        return r

    rx, ry = ranks(x), ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx ** 2).sum() * (ry ** 2).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")
