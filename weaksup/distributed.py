"""Data-parallel helpers: all-reduce vote statistics across ``torch.distributed`` ranks.

Vote statistics are integer counts, so the statistics of the union of every
rank's items are the sum of the ranks' statistics: one ``all_reduce(SUM)`` of
the flattened counts, exact. The functions here never modify their input: a
rank's *local* statistics stay local and the *synced* sum is a new value, so a
second sync cannot count an item twice (the local/synced split torchmetrics
uses).
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from .statistics import VoteStatistics

__all__ = ["all_reduce_statistics", "distributed_active"]


def distributed_active(group: Optional[Any] = None) -> bool:
    """True when ``torch.distributed`` is initialised with more than one rank."""
    import torch.distributed as dist

    return bool(dist.is_available() and dist.is_initialized() and dist.get_world_size(group) > 1)


def all_reduce_statistics(stats: VoteStatistics, group: Optional[Any] = None) -> VoteStatistics:
    """Sum ``stats`` over every rank of ``group``; return the sum as a new value.

    A collective call: every rank of the group must call it, with statistics of
    the same shape (same ``m``, ``k`` and tracked LF groups). One ``all_reduce``
    of a single flat int64 tensor, on the statistics' device (gloo for CPU
    tensors, NCCL for CUDA ones). Without an initialised process group it
    returns a copy of ``stats``.

    Shape:
        - stats: counts of ``m`` LFs and ``k`` classes (any device).
        - output: the same shapes, on the same device.
    """
    parts = [stats.n_items.reshape(-1), stats.co_votes.reshape(-1)]
    parts += [t.reshape(-1) for t in stats.group_tables.values()]
    flat = torch.cat(parts).to(torch.int64)  # a fresh tensor: the input stays local
    if distributed_active(group):
        import torch.distributed as dist

        dist.all_reduce(flat, op=dist.ReduceOp.SUM, group=group)
    sizes = [p.numel() for p in parts]
    pieces = torch.split(flat, sizes)
    tables = {
        g: piece.reshape(t.shape)
        for (g, t), piece in zip(stats.group_tables.items(), pieces[2:])
    }
    return VoteStatistics(
        n_items=pieces[0].reshape(()),
        co_votes=pieces[1].reshape(stats.co_votes.shape),
        group_tables=tables,
    )
