"""Data-parallel helpers: all-reduce vote statistics across ``torch.distributed`` ranks.

Vote statistics are integer counts, so the statistics of the union of every
rank's items are the sum of the ranks' statistics: one ``all_reduce(SUM)`` of
the flattened counts, exact. The functions here never modify their input: a
rank's *local* statistics stay local and the *synced* sum is a new value, so a
second sync cannot count an item twice (the local/synced split torchmetrics
uses).
"""

from __future__ import annotations

from typing import Any, List, Optional

import torch

from .statistics import VoteStatistics

__all__ = ["agree_across_ranks", "all_reduce_statistics", "distributed_active"]


def distributed_active(group: Optional[Any] = None) -> bool:
    """True when ``torch.distributed`` is initialised with more than one rank."""
    import torch.distributed as dist

    return bool(dist.is_available() and dist.is_initialized() and dist.get_world_size(group) > 1)


def agree_across_ranks(
    *,
    ok: bool,
    n: int,
    seen: int,
    refit: bool,
    error: Optional[BaseException] = None,
    group: Optional[Any] = None,
    device: Any = "cpu",
    owner: str = "the loss",
) -> List[int]:
    """Make every rank agree on a step before any rank changes its state.

    A collective call (one ``all_reduce`` of ``4 x world_size`` integers): each
    rank contributes whether its batch passed validation (``ok``), its batch
    size ``n``, the items it has seen and whether its schedule refits now.
    Every rank then raises, within the one collective, unless all ranks are
    valid and in step, so no rank ever sums another step's statistics and no
    rank waits for a peer that gave up. What a user sees:

    - the rank whose batch was bad raises its own ``error`` (naming the
      argument); the others raise ``RuntimeError("... rank(s) [r] rejected
      their batch ...")``;
    - batches of different sizes on different ranks (an empty batch on one
      rank only, for example) raise ``ValueError`` on every rank;
    - ranks that disagree on the items seen or the refit schedule (a loss
      reset or reloaded on some ranks only) raise ``RuntimeError``.

    In each case no rank changed its state, so all ranks may go on together.
    Without an initialised process group this only re-raises ``error``. The
    header is read back on the host: with statistics on an accelerator (NCCL)
    that is one small synchronisation per call, the price of agreeing.

    Returns:
        the batch sizes of all ranks.
    """
    if not distributed_active(group):
        if error is not None:
            raise error
        return [n]
    import torch.distributed as dist

    world, rank = dist.get_world_size(group), dist.get_rank(group)
    header = torch.zeros((4, world), dtype=torch.int64, device=device)
    header[:, rank] = torch.tensor([int(ok), n, seen, int(refit)], dtype=torch.int64)
    dist.all_reduce(header, op=dist.ReduceOp.SUM, group=group)
    oks, sizes, seens, refits = header.tolist()
    if error is not None:
        raise error
    bad = [r for r in range(world) if not oks[r]]
    if bad:
        raise RuntimeError(
            f"{owner}: rank(s) {bad} rejected their batch (see the error raised there); "
            "no rank changed its state"
        )
    if len(set(sizes)) > 1:
        raise ValueError(
            f"{owner}: the ranks' batches differ in size ({sizes} items on ranks 0..{world - 1}); every rank must "
            "feed a batch of the same size (as DistributedSampler does) so that the refits, which all-reduce "
            "the statistics, stay in step; no rank changed its state"
        )
    if len(set(seens)) > 1 or len(set(refits)) > 1:
        raise RuntimeError(
            f"{owner}: the ranks are out of step (items seen {seens}, refit due {refits}); was the loss reset, "
            "reloaded or given another update_frequency on some ranks only? No rank changed its state"
        )
    return sizes


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
