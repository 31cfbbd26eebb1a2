"""The triplet method: closed-form LF accuracies from second moments.

For labeling functions ``i, j, k`` that are conditionally independent given the
task ``Y`` (votes -1/+1, abstain = 0), ``E[l_i l_j] = a_i a_j`` with
``a_i = E[l_i Y]``, so ``|a_i| = sqrt(|M_ij M_ik / M_jk|)`` (Fu et al., 2020).
Each LF gets one candidate per pair of partners; FlyingSquid averages them
(``triplet_mean``) or takes their median (``triplet_median``).

Where upstream FlyingSquid counts a zero denominator as a candidate of 0, weaksup
leaves such a triplet out (it carries no information), and also leaves out a
triplet in which any pair never votes together. On data where no moment is
zero the two agree exactly.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch

# |M_jk| at or below this is a zero denominator.
DENOMINATOR_EPS = 1e-12
# Rows of the (m, m, m) candidate cube built at once (bounds memory for large m).
_CUBE_ELEMENTS = 1 << 24


def all_pairs_accuracies(
    moments: torch.Tensor,
    co_coverage: torch.Tensor,
    method: str = "mean",
) -> torch.Tensor:
    """Accuracy magnitudes ``|a_i|`` from every pair of other LFs.

    Args:
        moments: ``(m, m)`` float ``E[l_i l_j]`` (abstain = 0).
        co_coverage: ``(m, m)`` count of items on which both LFs voted.
        method: ``"mean"`` or ``"median"`` of the valid candidates.

    Returns:
        ``(m,)`` float, on ``moments``' device; 0 for an LF without any valid triplet.
    """
    m = moments.shape[0]
    device = moments.device
    idx = torch.arange(m, device=device)
    covoted = co_coverage > 0
    denominator_ok = (moments.abs() > DENOMINATOR_EPS) & covoted
    if method == "mean":
        return _closed_form_mean(moments, covoted, denominator_ok)
    pair_ok = denominator_ok & (idx[:, None] > idx[None, :])  # pairs (i, j) with j < i
    out = torch.zeros(m, dtype=moments.dtype, device=device)
    rows = max(1, _CUBE_ELEMENTS // max(1, m * m))
    for start in range(0, m, rows):
        sel = idx[start : start + rows]
        num = moments[sel][:, :, None] * moments[sel][:, None, :]  # (r, m, m): M_idx,i * M_idx,j
        cand = (num / moments[None]).abs().sqrt()
        valid = (
            pair_ok[None]
            & covoted[sel][:, :, None]
            & covoted[sel][:, None, :]
            & (idx[None, :, None] != sel[:, None, None])
            & (idx[None, None, :] != sel[:, None, None])
        )
        out[start : start + rows] = aggregate(cand.reshape(len(sel), -1), valid.reshape(len(sel), -1), method)
    return out


def _closed_form_mean(moments: torch.Tensor, covoted: torch.Tensor, pair_ok: torch.Tensor) -> torch.Tensor:
    """The triplet mean without the (m, m, m) cube: a candidate factors as
    ``sqrt|M_ai| sqrt|M_aj| / sqrt|M_ij|``, so the sum over valid pairs of LF
    ``a`` is a quadratic form, ``(U W U^T)_aa / 2``, and so is their count."""
    eye = torch.eye(moments.shape[0], dtype=torch.bool, device=moments.device)
    partner = (covoted & ~eye).to(moments.dtype)  # a co-votes with i (i != a)
    root = moments.abs().sqrt() * partner
    valid = (pair_ok & ~eye).to(moments.dtype)
    weight = valid / torch.where(pair_ok, moments.abs(), torch.ones_like(moments)).sqrt()
    total = ((root @ weight) * root).sum(1) / 2
    count = ((partner @ valid) * partner).sum(1) / 2
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))


def aggregate(candidates: torch.Tensor, valid: torch.Tensor, method: str) -> torch.Tensor:
    """Mean or median over the valid entries of each row (0 where none is valid)."""
    count = valid.sum(1)
    if method == "mean":
        total = torch.where(valid, candidates, torch.zeros_like(candidates)).sum(1)
        return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))
    if method == "median":
        filled = torch.where(valid, candidates, torch.full_like(candidates, float("nan")))
        med = torch.nanquantile(filled, 0.5, dim=1) if filled.shape[1] else filled.sum(1)
        return torch.where(count > 0, med, torch.zeros_like(med))
    raise ValueError(f"method must be 'mean' or 'median', got {method!r}")


Expectation = Tuple[Tuple[int, ...], Tuple[int, ...], int]  # (lfs, lfs conditioned to abstain, task)


def clique_triplet_moments(q: Any, graph: Any, expectations: Sequence[Expectation], method: str) -> Dict:
    """Triplet estimates of ``E[l_S Y | l_Z = 0]`` for each ``(lfs S, zeros Z,
    task)`` of a graph with dependent LFs: every valid pair of partners of
    ``S`` gives a candidate, aggregated by ``method`` (``"mean"`` or
    ``"median"``). ``q``: the :class:`weaksup._fs_tables.Quantities` of the
    statistics. Returns ``{(lfs, zeros, task): scalar tensor}``."""
    M = q.moments
    out = {}
    for lfs, zeros, task in expectations:
        pairs = torch.as_tensor(graph.triplet_partners(lfs, task), device=M.device)
        if zeros:
            pairs[list(zeros), :] = False
            pairs[:, list(zeros)] = False
        with_s = q.moments_with(lfs)  # (m,) E[l_S l_j]
        cand = (with_s[:, None] * with_s[None, :] / M).abs().sqrt()
        valid = pairs & (M.abs() > DENOMINATOR_EPS) & (q.co_coverage > 0)
        out[(lfs, zeros, task)] = aggregate(cand.reshape(1, -1), valid.reshape(1, -1), method)[0]
    return out


def single_triplet_moments(q: Any, triplets: Sequence[Sequence[Expectation]]) -> Dict:
    """``solve_method='triplet'``: ``|E[l_a Y]| = sqrt(|M_ab M_ac / M_bc|)`` of
    each expectation of each triplet ``(a, b, c)`` (0 where the denominator is
    0); a later triplet overwrites an earlier one's value (upstream's order).
    Returns ``{expectation: scalar tensor}``."""
    out: Dict = {}
    for a, b, c in triplets:
        for first, x, y in ((a, b, c), (b, a, c), (c, a, b)):
            num = q.moment(first[0] + x[0]) * q.moment(first[0] + y[0])
            den = q.moment(x[0] + y[0])
            ok = den.abs() > DENOMINATOR_EPS
            out[first] = torch.where(ok, (num / torch.where(ok, den, torch.ones_like(den))).abs().sqrt(), torch.zeros_like(den))
    return out


def greedy_triplets(order: Sequence[Expectation], graph: Any, lf_nodes: Sequence[int]) -> List[List[Expectation]]:
    """Upstream FlyingSquid's greedy triplet choice for ``solve_method='triplet'``.

    Walks the expectations in ``order`` (upstream shuffles them with a seed)
    and, for each one not used yet, picks two partners that the ``graph``
    (a :class:`~weaksup.graph.LabelGraph`) separates from it and from each
    other, preferring other expectations, then single LFs in ``lf_nodes``
    order. Returns the triplets found, each three expectations.
    """
    g = graph
    used, triplets = set(), []
    for exp in order:
        if exp in used:
            continue
        lfs, zeros, task = exp

        def ok(cand, triplet):
            return all(g.separated(other[0], cand[0], task) for other in triplet)

        found = None
        for first in order:
            if (first == exp or first[2] != task or first[1] != zeros or first in used
                    or (len(first[0]) > 1 and len(lfs) > 1) or not ok(first, [exp])):
                continue
            trip = [exp, first]
            for second in order:
                if (second in trip or second[2] != task or second[1] != zeros or second in used
                        or (len(second[0]) > 1 and any(len(e[0]) > 1 for e in trip)) or not ok(second, trip)):
                    continue
                found = trip + [second]
                break
            if found is None:
                for j in lf_nodes:
                    second = ((j,), zeros, task)
                    if second in trip or not ok(second, trip):
                        continue
                    found = trip + [second]
                    break
            if found is not None:
                break
        if found is None:
            for j in lf_nodes:
                first = ((j,), zeros, task)
                if first == exp or j in zeros or not ok(first, [exp]):
                    continue
                for k in lf_nodes:
                    second = ((k,), zeros, task)
                    if second in (exp, first) or k in zeros or not ok(second, [exp, first]):
                        continue
                    found = [exp, first, second]
                    break
                if found is not None:
                    break
        if found is not None:
            triplets.append(found)
            used.update(found)
    return triplets


def parse_triplets(
    triplets: Sequence, m: int, lf_task: Sequence[int], allow_abstentions: bool
) -> List[List[Expectation]]:
    """Read user ``triplets``: ``(i, j, k)`` LF indices, or upstream's
    expectation keys ``((lambda_i, ..., Y_t), cond)``. Raises ``ValueError``
    naming ``triplets`` for anything that is not three LFs of ``0..m-1``."""
    out = []
    for trip in triplets:
        try:
            items = [_parse_item(item, lf_task, allow_abstentions) for item in trip]
        except (TypeError, ValueError, IndexError, AttributeError):
            raise ValueError(f"triplets: each triplet must name three LFs (indices 0..{m - 1}), got {trip!r}") from None
        if len(items) != 3 or any(not 0 <= i < m for lfs, zeros, _ in items for i in lfs + zeros):
            raise ValueError(f"triplets: each triplet must name three LFs (indices 0..{m - 1}), got {trip!r}")
        out.append(items)
    return out


def _parse_item(item: Any, lf_task: Sequence[int], allow_abstentions: bool) -> Expectation:
    if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
        if not 0 <= int(item) < len(lf_task):
            raise IndexError(item)
        return (int(item),), (), int(lf_task[int(item)])
    names, cond = (item, ("0",)) if not allow_abstentions else item
    lfs = tuple(sorted(int(x.split("_")[1]) for x in names if x.startswith("lambda_")))
    task = int(names[-1].split("_")[1])
    zeros = tuple(sorted(int(x.split("_")[1]) for x in cond if x.startswith("lambda_")))
    if not lfs:
        raise ValueError(item)
    return lfs, zeros, task
