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
