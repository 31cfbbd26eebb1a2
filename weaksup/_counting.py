"""Counting kernels behind :mod:`weaksup.statistics` (private).

Pair counts are one integer matrix product per chunk of rows: the ``(rows,
R)`` 0/1 indicator matrix of the ``R`` responses (an LF voting a class) times
itself, int8 x int8 with int32 sums on the CPU (``torch._int_mm``, checked once
against an int64 product), float32 elsewhere (0/1 products summed over fewer
than ``2**24`` rows are exact). Indicators are written as int8 comparisons,
much faster on the CPU than bool ones. A subtraction (ring-buffer eviction)
negates the removed rows' indicators in the left factor, so an update is a
single product.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch

Group = Tuple[int, ...]

# Rows per chunk of the indicator product: bounds the temporaries, keeps a
# chunk in cache, and keeps float32 sums exact (< 2**24).
_CHUNK_ROWS = 1 << 13
# Indicator entries per chunk for wide (many-response) products.
_CHUNK_ENTRIES = 1 << 21


_INT_MM_OK: Dict[str, bool] = {}


def int_mm_ok() -> bool:
    """Whether ``torch._int_mm`` (int8 x int8 -> int32) runs and is exact here
    (checked once on a small product)."""
    if "cpu" not in _INT_MM_OK:
        try:
            a = (torch.arange(8 * 24).reshape(8, 24) % 3 - 1).to(torch.int8)
            b = (torch.arange(8 * 16).reshape(8, 16) % 2).to(torch.int8)
            ok = torch.equal(torch._int_mm(a.T, b).to(torch.int64), a.T.to(torch.int64) @ b.to(torch.int64))
        except (RuntimeError, AttributeError, TypeError):
            ok = False
        _INT_MM_OK["cpu"] = ok
    return _INT_MM_OK["cpu"]


def _signed_product(x: torch.Tensor, n_add: int, out: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``x[:n_add]^T x[:n_add] - x[n_add:]^T x[n_add:]`` for a 0/1 int8 indicator
    matrix ``x`` ``(rows, R)``; exact (rows < 2**24). int32 from the int8
    product (written into ``out`` when given), else int64."""
    rows, width = x.shape
    if x.device.type == "cpu" and width >= 2 and int_mm_ok():
        left = x
        if n_add < rows:
            left = x.clone()
            left[n_add:].neg_()
        return torch._int_mm(left.T, x, out=out) if out is not None else torch._int_mm(left.T, x)
    right = x.to(torch.float32)
    left = right
    if n_add < rows:
        left = right.clone()
        left[n_add:].neg_()
    return (left.T @ right).to(torch.int64)


def _indicators(codes: torch.Tensor, values, responses: Optional[torch.Tensor], out: torch.Tensor) -> torch.Tensor:
    """``(rows, R)`` int8 0/1: which responses each row gave, written into
    ``out``. Dense (``responses`` None): columns ordered class-major, ``a * m
    + lf`` (an entry equal to ``values[a]`` is a vote for class ``a``); else
    one column per listed response ``lf * k + class`` (``codes`` are codes)."""
    rows, m = codes.shape
    x = out[:rows]
    if responses is None:
        # comparisons written to int8 are much faster than bool ones on the CPU
        for a, v in enumerate(values):
            torch.eq(codes, v, out=x[:, a * m : (a + 1) * m])
        return x
    k = len(values)
    lf, cls = responses // k, responses % k
    return torch.eq(codes.index_select(1, lf), cls.to(codes.dtype), out=x)


def add_pairs(target: torch.Tensor, codes: torch.Tensor, n_add: int, values,
               responses: Optional[torch.Tensor]) -> None:
    """``target += signed pair counts`` of ``codes`` (first ``n_add`` rows added,
    the rest subtracted). ``target``: ``(m, k, m, k)`` (dense) or ``(R, R)``."""
    n, m = codes.shape
    k = len(values)
    width = m * k if responses is None else len(responses)
    rows = max(1, min(_CHUNK_ROWS, _CHUNK_ENTRIES // max(1, width), n))
    buffer = torch.empty((rows, width), dtype=torch.int8, device=codes.device)
    if n <= rows:  # one chunk (a ring-buffer update): as few operations as possible
        total = _signed_product(_indicators(codes, values, responses, buffer), n_add)
    else:  # reused buffers: fresh large temporaries would fault their pages in for every chunk
        total = torch.zeros((width, width), dtype=torch.int64, device=codes.device)
        part = torch.empty((width, width), dtype=torch.int32, device=codes.device)
        for start in range(0, n, rows):
            chunk = codes[start : start + rows]
            x = _indicators(chunk, values, responses, buffer)
            total.add_(_signed_product(x, max(0, min(n_add - start, len(chunk))), out=part))
    if responses is None:  # class-major (a, i, b, j) -> (i, a, j, b)
        target.add_(total.reshape(k, m, k, m).permute(1, 0, 3, 2))
    else:
        target.add_(total)


def to_codes(votes: torch.Tensor, values) -> torch.Tensor:
    """Codes (int64, -1 = abstain) of raw votes: ``values[c]`` means class ``c``."""
    codes = torch.full(votes.shape, -1, dtype=torch.int64, device=votes.device)
    for c, v in enumerate(values):
        codes[votes == v] = c
    return codes


def add_group_tables(tables: Dict[Group, torch.Tensor], codes: torch.Tensor, n_add: int, values) -> None:
    if not tables or codes.shape[0] == 0:
        return
    k = len(values)
    if list(values) != list(range(k)):
        used = sorted({i for g in tables for i in g})
        converted = torch.full(codes.shape, -1, dtype=torch.int64, device=codes.device)
        converted[:, used] = to_codes(codes[:, used], values)
        codes = converted
    sign = torch.ones(codes.shape[0], dtype=torch.int64, device=codes.device)
    sign[n_add:] = -1
    for g, table in tables.items():
        state = torch.zeros(codes.shape[0], dtype=torch.int64, device=codes.device)
        for i in g:
            state = state * (k + 1) + (codes[:, i].to(torch.int64) + 1)
        table.index_add_(0, state, sign)


def responses_in(codes: torch.Tensor, k: int) -> torch.Tensor:
    """Sorted response numbers ``lf * k + class`` that occur in ``codes``."""
    n, m = codes.shape
    present = torch.zeros(m * k, dtype=torch.bool, device=codes.device)
    rows = max(1, _CHUNK_ENTRIES // max(1, m))
    offset = torch.arange(m, device=codes.device) * k
    for start in range(0, n, rows):
        chunk = codes[start : start + rows]
        voted = chunk >= 0
        present[(offset + chunk.to(torch.int64))[voted]] = True
    return present.nonzero().squeeze(1)
