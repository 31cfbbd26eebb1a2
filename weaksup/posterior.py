"""The posterior of conditionally independent LFs, shared by the label models.

When LFs are independent given the label, the log posterior of an item is a
sum of one term per LF::

    log P(y | votes) = const + base[y] + sum over LFs i that vote of deltas[i, vote_i, y]

where ``base`` holds every LF's abstain term (and the prior) and ``deltas[i,
c]`` is what LF ``i`` voting class ``c`` changes. :func:`independent_log_scores`
computes that for a whole vote matrix in chunks of rows, choosing the kernel:

* few classes on the CPU: a product of the int8 vote indicators with the
  deltas written in fixed point, base-128 digits as int8 columns (int32 sums,
  combined in float64; the deltas are rounded to ``2**-p`` of their largest
  magnitude, ``p`` chosen so that the scores are within ``1e-11`` of the exact
  sum, about the rounding of a float64 sum itself);
* many classes (or a compact table of the responses in use): a sparse
  product of the votes actually cast with the table;
* elsewhere (CUDA): float64 indicator products.

Shapes: ``n`` items, ``m`` LFs, ``k`` classes voted, ``K`` label values scored
(``k`` for a multiclass model, ``2**v`` for FlyingSquid's ``v`` tasks). Codes:
``-1`` = abstain, ``0..k-1`` = class (see :mod:`weaksup.conventions`).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import torch

from ._counting import int_mm_ok

__all__ = ["independent_log_scores", "log_table_deltas"]

# Vote entries per chunk of rows (bounds the temporaries; a chunk stays in cache).
_CHUNK_ENTRIES = 1 << 19
# Vote entries per chunk of the sparse kernel.
_GATHER_ENTRIES = 1 << 22
# The int8 digit kernel is used while k * K * digits stays at most this (else the sparse kernel).
_DIGIT_WIDTH_LIMIT = 256
_DIGIT_BITS = 7


def log_table_deltas(log_table: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Split a per-LF log table ``(m, k + 1, K)`` (response 0 = abstain,
    ``c + 1`` = vote ``c``) into ``base`` ``(K,)`` (every LF abstaining) and
    ``deltas`` ``(m, k, K)`` (vote minus abstain), the arguments of
    :func:`independent_log_scores`."""
    return log_table[:, 0].sum(0), log_table[:, 1:] - log_table[:, :1]


def independent_log_scores(
    codes: torch.Tensor,
    base: torch.Tensor,
    deltas: torch.Tensor,
    *,
    responses: Optional[torch.Tensor] = None,
    cardinality: Optional[int] = None,
    class_values: Optional[Sequence[int]] = None,
    unlisted: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """``base + sum_i deltas[i, codes[:, i]]`` over the LFs that vote, in chunks.

    Args:
        codes: ``(n, m)`` validated integer codes (int8 is fastest), ``-1`` =
            abstain, ``0..k-1`` = class; any device.
        base: ``(K,)`` float64, the score of a row on which every LF abstains.
        deltas: ``(m, k, K)`` float64, what LF ``i`` voting ``c`` adds; or,
            with ``responses``, ``(R, K)``: one row per listed response.
        responses: optional ``(R,)`` int64 response numbers ``lf * k + class``
            (see :mod:`weaksup.statistics`) that ``deltas`` rows belong to; a
            vote for a response not listed adds nothing (as an abstention).
            For many classes, where a dense ``(m, k, K)`` table would not fit.
        cardinality: ``k``, needed with ``responses``.
        class_values: optional ``k`` integers: ``codes`` then holds raw votes,
            an entry equal to ``class_values[c]`` is a vote for class ``c`` and
            any other value an abstention. FlyingSquid votes (-1/+1, 0 =
            abstain) are ``class_values=(-1, 1)``: no conversion pass to codes.
            Not with ``responses``.
        unlisted: with ``responses``, optional ``(m, K)``: what LF ``i``
            voting a response not listed adds (default 0).

    Returns:
        ``(n, K)`` float64 scores on ``codes``' device (unnormalised log
        posterior: apply ``softmax`` for probabilities).
    """
    n, m = codes.shape
    device = codes.device
    base = base.to(device=device, dtype=torch.float64)
    deltas = deltas.to(device=device, dtype=torch.float64)
    K = base.shape[0]
    if responses is not None:
        if cardinality is None:
            raise TypeError("independent_log_scores: cardinality is needed with responses")
        if deltas.dim() != 2 or deltas.shape != (len(responses), K):
            raise ValueError(f"deltas must have shape ({len(responses)}, {K}) with responses, got {tuple(deltas.shape)}")
        if unlisted is None:
            unlisted = torch.zeros((m, K), dtype=torch.float64, device=device)
        table = torch.cat([deltas, unlisted.to(device=device, dtype=torch.float64)])
        return _sparse_scores(codes, base, table, responses.to(device), int(cardinality))
    if deltas.dim() != 3 or deltas.shape[0] != m or deltas.shape[2] != K:
        raise ValueError(f"deltas must have shape ({m}, k, {K}), got {tuple(deltas.shape)}")
    k = deltas.shape[1]
    values = list(range(k)) if class_values is None else [int(v) for v in class_values]
    if len(values) != k:
        raise ValueError(f"class_values must have {k} entries (one per class), got {len(values)}")
    out = torch.empty((n, K), dtype=torch.float64, device=device)
    if n == 0:
        return out
    if device.type == "cpu" and k * K * 2 <= _DIGIT_WIDTH_LIMIT and int_mm_ok() and bool(torch.isfinite(deltas).all()):
        digits = _digit_plan(deltas.permute(1, 0, 2).reshape(k * m, K), m)  # class-major rows: c * m + i
        if k * K * digits[2] <= _DIGIT_WIDTH_LIMIT:
            return _digit_scores(codes, base, digits, values, out)
    if class_values is not None:
        codes = _to_codes(codes, values)
    if device.type == "cpu" and k > 2:
        table = torch.cat([deltas.reshape(m * k, K), torch.zeros((m, K), dtype=torch.float64, device=device)])
        return _sparse_scores(codes, base, table, torch.arange(m * k, device=device), k)
    return _float_scores(codes, base, deltas, out)


def _digit_plan(W: torch.Tensor, m: int):
    """Fixed-point int8 digits of ``W`` ``(rows, K)``: ``(digits (rows, K D)
    int8, scale, D)`` with ``W ~= scale * sum_d digits_d 128**d``; a sum of
    ``m`` rows (times -1, 0 or 1) stays within ``1e-11`` of the exact one and
    below ``2**62``."""
    K = W.shape[1]
    top = float(W.abs().max()) if W.numel() else 0.0
    # bits of |W| / top kept: the rounding of m deltas stays below 1e-11 in the
    # scores (about a float64 sum's own rounding), and sums stay below 2**62
    needed = math.ceil(math.log2(max(1.0, m * top / 1e-11)))
    p = min(62 - max(1, math.ceil(math.log2(m + 1))), needed)
    n_digits = math.ceil((p + 2) / _DIGIT_BITS)
    if top == 0.0:
        return torch.zeros((W.shape[0], K * n_digits), dtype=torch.int8), 0.0, n_digits
    q = torch.round(W * (2.0**p / top)).to(torch.int64)
    half = 1 << (_DIGIT_BITS - 1)
    digits = []
    for _ in range(n_digits):  # balanced base-128 digits in [-64, 63]
        d = torch.remainder(q + half, 2 * half) - half
        digits.append(d)
        q = (q - d) >> _DIGIT_BITS
    stacked = torch.stack(digits, -1).to(torch.int8).reshape(W.shape[0], K * n_digits)
    return stacked, top / 2.0**p, n_digits


def _digit_weights(scale: float, n_digits: int) -> torch.Tensor:
    """``(D,)`` value of one unit of each digit sum."""
    return torch.tensor([scale * 2.0 ** (_DIGIT_BITS * d) for d in range(n_digits)], dtype=torch.float64)


def _combine(acc_f: torch.Tensor, weights: torch.Tensor, base: torch.Tensor, out: torch.Tensor) -> None:
    """``out = base + digit sums ``acc_f`` (rows, K D) combined``: one
    matrix-vector product over the ``(rows K, D)`` view."""
    r, K = out.shape
    torch.mv(acc_f.view(r * K, -1), weights, out=out.view(-1))
    out += base


def _to_codes(votes: torch.Tensor, values) -> torch.Tensor:
    codes = torch.full_like(votes, -1, dtype=torch.int64)
    for c, v in enumerate(values):
        codes[votes == v] = c
    return codes


def _digit_scores(codes, base, plan, values, out):
    k = len(values)
    W, scale, n_digits = plan
    n, m = codes.shape
    K = base.shape[0]
    weights = _digit_weights(scale, n_digits)  # digit sums (exact int32) -> scores
    rows = max(2, _CHUNK_ENTRIES // max(1, m * k))
    # buffers reused by every chunk (fresh large temporaries would fault their pages in each time)
    ind = torch.zeros((min(rows, max(n, 2)), k * m), dtype=torch.int8)
    acc = torch.empty((ind.shape[0], W.shape[1]), dtype=torch.int32)
    acc_f = torch.empty(acc.shape, dtype=torch.float64)
    for start in range(0, n, rows):
        chunk = codes[start : start + rows]
        r = chunk.shape[0]
        rr = max(r, 2)  # the int8 product needs two rows (a lone row gets a zero partner)
        x = ind[:rr]
        for c, v in enumerate(values):  # int8 output: much faster than bool comparisons
            torch.eq(chunk, v, out=x[:r, c * m : (c + 1) * m])
        if r < rr:
            x[r:].zero_()
        torch._int_mm(x, W, out=acc[:rr])
        acc_f[:r].copy_(acc[:r])
        _combine(acc_f[:r], weights, base, out[start : start + r])
    return out


def _float_scores(codes, base, deltas, out):
    n, m = codes.shape
    k = deltas.shape[1]
    rows = max(1, _CHUNK_ENTRIES // max(1, m))
    for start in range(0, n, rows):
        chunk = codes[start : start + rows]
        o = out[start : start + rows]
        o.copy_(base.expand_as(o))
        for c in range(k):
            o.addmm_((chunk == c).to(torch.float64), deltas[:, c])
    return out


def _sparse_scores(codes, base, table, responses, k):
    """A sparse product: the ``(rows, R + m)`` 0/1 matrix of the votes actually
    cast times ``table`` (the listed responses' rows, then one row per LF for
    its unlisted ones). Abstentions cost nothing (with many classes most
    entries of a vote matrix are abstentions)."""
    n, m = codes.shape
    device = codes.device
    R = len(responses)
    lookup = (R + torch.arange(m, device=device)).repeat_interleave(k)  # unlisted: the LF's own row
    lookup[responses] = torch.arange(R, device=device)
    out = base.expand(n, -1).clone()
    rows = max(1, _GATHER_ENTRIES // max(1, m))
    for start in range(0, n, rows):
        chunk = codes[start : start + rows]
        item, lf = (chunk >= 0).nonzero(as_tuple=True)
        if item.numel() == 0:
            continue
        column = lookup[lf * k + chunk[item, lf].to(torch.int64)]
        votes = torch.sparse_coo_tensor(
            torch.stack([item, column]), torch.ones(item.numel(), dtype=torch.float64, device=device),
            (chunk.shape[0], R + m), check_invariants=False,
        )
        out[start : start + rows] += torch.sparse.mm(votes, table)
    return out
