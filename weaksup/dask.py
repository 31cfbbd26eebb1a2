"""Label models past one machine's memory, on Dask (``pip install weaksup[dask]``).

Everything a weaksup label model learns from is a sum of integer counts over
items (:class:`weaksup.VoteStatistics`), so a vote matrix split into partitions
is fitted by counting each partition where it lives and adding the counts up:

- :func:`accumulate`: one ``VoteStatistics`` per partition of a dask array of
  votes, added up as a tree; the result equals
  :func:`weaksup.statistics.accumulate` on the whole matrix exactly (integer
  counts), whatever the partitioning and whichever worker counted what.
- :func:`fit`: :func:`accumulate` with a model's convention, classes and LF
  groups, then ``model.fit_statistics``: any weaksup label model.
- :func:`predict_proba`: posteriors partition by partition (``map_blocks``),
  the fitted model shipped to each worker once.
- :func:`read_votes`: a ``.npy`` file (read through a memory map) or a folder
  of ``.npy`` chunk files as a dask array, for matrices larger than memory.
- :func:`apply_lfs`: labeling functions over a ``dask.bag`` or a
  ``dask.dataframe``, one vote chunk per partition.

Shapes: ``n`` items, ``m`` labeling functions (LFs), ``k`` classes. A vote
array is ``(n, m)``, chunked along rows only (one chunk of all ``m`` columns
per partition). Votes follow a convention of :mod:`weaksup.conventions`:
``"snorkel"`` (``-1`` = abstain, ``0..k-1`` = class; what :func:`apply_lfs`
returns) or ``"flyingsquid"`` (``0`` = abstain, ``-1``/``+1``).

The work runs on whatever Dask scheduler is active: a
``dask.distributed.Client`` when one exists, else Dask's local threads, which
is how a matrix larger than memory is fitted on one machine (one partition
in memory per thread at a time).

Example:
    >>> import dask.array as da
    >>> import numpy as np
    >>> import torch
    >>> from weaksup import MulticlassLabelModel, accumulate as count
    >>> import weaksup.dask as wd
    >>> L = np.array([[0, 0, -1], [2, 2, 1], [1, 1, 1], [-1, 2, 2], [0, -1, 0]] * 20)
    >>> votes = da.from_array(L, chunks=(30, 3))
    >>> stats = wd.accumulate(votes, cardinality=3)
    >>> stats.equal(count(torch.as_tensor(L), 3))
    True
    >>> model = wd.fit(MulticlassLabelModel(3), votes)
    >>> proba = wd.predict_proba(model, votes)
    >>> proba.shape, proba.numblocks
    ((100, 3), (4, 1))
    >>> bool(np.allclose(proba.compute(), model.predict_proba(L)))
    True
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

try:  # absolute import: the dask package, not this module
    import dask
    import dask.array as da
    from dask import delayed
except ImportError as err:  # pragma: no cover - the extra installs dask
    raise ImportError("weaksup.dask needs dask: pip install 'weaksup[dask]'") from err

from ._validation import check_int
from .conventions import check_convention, check_votes
from .statistics import VoteStatistics
from .statistics import accumulate as _count

__all__ = ["LFVotes", "accumulate", "apply_lfs", "fit", "predict_proba", "read_votes"]

Group = Tuple[int, ...]

# Default partition size of read_votes for a single .npy file.
_PARTITION_BYTES = 64 << 20


# ----------------------------------------------------------------------------
# vote arrays
# ----------------------------------------------------------------------------
def _check_vote_array(votes: Any, name: str = "votes") -> "da.Array":
    """A 2-D dask array with all columns in one chunk (rechunked if needed)."""
    if isinstance(votes, LFVotes):
        votes = votes.votes
    if not isinstance(votes, da.Array):
        raise TypeError(
            f"{name} must be a dask array of shape (n_items, n_lfs) (see weaksup.dask.read_votes "
            f"and dask.array.from_array), got {type(votes).__name__}"
        )
    if votes.ndim != 2:
        raise ValueError(f"{name} must be a 2-D dask array of shape (n_items, n_lfs), got shape {votes.shape}")
    if votes.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold integer votes, got dtype {votes.dtype}")
    if votes.numblocks[1] != 1:
        if any(math.isnan(c) for c in votes.chunks[0]):
            raise ValueError(
                f"{name} is split into {votes.numblocks[1]} column chunks and its row chunks are unknown: "
                f"give every partition all the LF columns (one chunk along axis 1)"
            )
        votes = votes.rechunk({1: -1})
    return votes


def _partitions(votes: "da.Array") -> List[Any]:
    """One delayed ``(rows, m)`` block per partition, in row order."""
    return list(votes.to_delayed().ravel())


# ----------------------------------------------------------------------------
# statistics
# ----------------------------------------------------------------------------
def _partition_statistics(block: Any, convention: str, cardinality: int, groups: Tuple[Group, ...]) -> VoteStatistics:
    """Count the statistics of one partition (runs on a worker)."""
    codes = check_votes(
        block, convention=convention, cardinality=cardinality, name="votes", allow_empty=True, compact=True
    )
    return _count(codes, cardinality, groups).to("cpu")  # a GPU partition's counts travel from the CPU


def _add(*parts: VoteStatistics) -> VoteStatistics:
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def _tree_sum(parts: List[Any], split_every: int) -> Any:
    """Add delayed statistics ``split_every`` at a time, level by level."""
    while len(parts) > 1:
        parts = [
            delayed(_add, pure=True)(*parts[i : i + split_every])
            for i in range(0, len(parts), split_every)
        ]
    return parts[0]


def accumulate(
    votes: "da.Array",
    cardinality: int = 2,
    groups: Iterable[Sequence[int]] = (),
    *,
    convention: str = "snorkel",
    split_every: int = 8,
    progress: bool = False,
) -> VoteStatistics:
    """Count the :class:`~weaksup.VoteStatistics` of a dask array of votes.

    Each partition is validated and counted where it lives (one
    ``VoteStatistics`` per partition), and the counts are added
    ``split_every`` at a time as a tree. Integer counts add exactly, so the
    result equals :func:`weaksup.statistics.accumulate` on the whole matrix,
    bit for bit.

    Args:
        votes: ``(n, m)`` dask array of votes, chunked along rows.
        cardinality: number of classes ``k`` (2 for FlyingSquid votes).
        groups: LF groups whose joint vote tables to count (a label model's
            ``groups``; see :class:`~weaksup.VoteStatistics`).
        convention: ``"snorkel"`` (``-1`` = abstain) or ``"flyingsquid"``
            (``0`` = abstain, ``-1``/``+1``).
        split_every: how many partial statistics one task adds (>= 2).
        progress: show a progress bar of the partitions counted (tqdm).

    Returns:
        ``VoteStatistics`` on the CPU, of all ``n`` items.

    Raises:
        ValueError / TypeError: on an argument of the wrong kind, and (raised
            by the partition that holds them) on invalid votes.
        RuntimeError: when a worker died more often than the scheduler allows
            retries (``distributed.scheduler.allowed-failures``); no partial
            count is ever returned.
    """
    votes = _check_vote_array(votes)
    check_convention(convention)
    if convention == "flyingsquid" and cardinality != 2:
        raise ValueError(f"cardinality must be 2 for FlyingSquid votes (-1/0/+1), got {cardinality!r}")
    cardinality = check_int(cardinality, "cardinality", minimum=2)
    split_every = check_int(split_every, "split_every", minimum=2)
    m = votes.shape[1]
    groups = tuple(tuple(int(i) for i in g) for g in groups)
    for g in groups:
        if not g or not all(0 <= i < m for i in g):
            raise ValueError(f"groups must hold LF indices in 0..{m - 1}, got the group {g}")
    leaves = [
        delayed(_partition_statistics, pure=True)(block, convention, cardinality, groups)
        for block in _partitions(votes)
    ]
    stats = _compute(_tree_sum(leaves, split_every), leaves, progress, what="partitions counted")
    n_expected = votes.shape[0]
    if not math.isnan(n_expected) and int(stats.n_items) != n_expected:  # a safety net, never expected
        raise RuntimeError(
            f"counted {int(stats.n_items)} items but votes has {n_expected} rows: partitions were lost"
        )
    return stats


def _model_groups(model: Any) -> Tuple[Group, ...]:
    groups = getattr(model, "groups", None)
    if groups is None and getattr(model, "graph", None) is not None:
        groups = model.graph.groups
    return tuple(groups or ())


def fit(model: Any, votes: "da.Array", *, split_every: int = 8, progress: bool = False, **fit_options: Any) -> Any:
    """Fit any weaksup label model on a dask array of votes; returns ``model``.

    Counts the statistics with :func:`accumulate` (in ``model.convention``,
    with its classes and LF groups) and calls
    ``model.fit_statistics(stats, **fit_options)``: the fitted model equals
    ``model.fit`` on the whole matrix. ``fit_options`` are the model's
    (``class_balance``, ``Y_dev``, ``solve_method``, ...).
    """
    if not callable(getattr(model, "fit_statistics", None)):
        raise TypeError(
            f"model must be a weaksup label model with fit_statistics (LabelModel, MulticlassLabelModel), "
            f"got {type(model).__name__}"
        )
    convention = getattr(model, "convention", "snorkel")
    cardinality = 2 if convention == "flyingsquid" else getattr(model, "cardinality", 2)
    votes = _check_vote_array(votes)
    n_lfs = getattr(model, "m", None)
    if isinstance(n_lfs, int) and votes.shape[1] != n_lfs:
        raise ValueError(f"votes must have {n_lfs} columns (one per labeling function of the model), got {votes.shape[1]}")
    stats = accumulate(
        votes, cardinality, _model_groups(model), convention=convention,
        split_every=split_every, progress=progress,
    )
    return model.fit_statistics(stats, **fit_options)


# ----------------------------------------------------------------------------
# posteriors
# ----------------------------------------------------------------------------
def _partition_proba(block: Any, model: Any, n_out: int) -> np.ndarray:
    """Posteriors of one partition (runs on a worker)."""
    block = np.asarray(block)
    if block.shape[0] == 0:
        return np.empty((0, n_out), dtype=np.float64)
    return np.asarray(model.predict_proba(block), dtype=np.float64)


def predict_proba(model: Any, votes: "da.Array") -> "da.Array":
    """Posteriors of a fitted model, partition by partition: a lazy dask array.

    Args:
        model: a fitted weaksup label model (anything with ``predict_proba``).
        votes: ``(n, m)`` dask array of votes in ``model``'s convention.

    Returns:
        ``(n, k)`` float64 dask array (``(n, 2**v)`` for a multi-task
        :class:`~weaksup.LabelModel`), chunked like ``votes``' rows, each row
        summing to 1. The model enters the task graph once, as one key, so
        each worker receives it once whatever the number of partitions. Call
        ``.compute()``, or ``dask.array.store`` / ``to_npy_stack`` to write
        posteriors larger than memory.
    """
    if not callable(getattr(model, "predict_proba", None)):
        raise TypeError(f"model must be a fitted weaksup label model, got {type(model).__name__}")
    votes = _check_vote_array(votes)
    probe = np.zeros((0, votes.shape[1]), dtype=np.int8)
    n_out = int(np.asarray(model.predict_proba(probe)).shape[1])  # also raises NotFittedError early
    shipped = delayed(model, pure=True)
    return votes.map_blocks(
        _partition_proba, shipped, n_out,
        chunks=(votes.chunks[0], (n_out,)), dtype=np.float64, meta=np.empty((0, 0), dtype=np.float64),
        name="weaksup-predict-proba",
    )


# ----------------------------------------------------------------------------
# votes from disk
# ----------------------------------------------------------------------------
def _load_rows(path: str, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of a ``.npy`` file, read through a memory map."""
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def read_votes(path: Union[str, os.PathLike], *, chunk_rows: Optional[int] = None) -> "da.Array":
    """A vote matrix on disk as a dask array, read partition by partition.

    Args:
        path: a ``.npy`` file of shape ``(n, m)`` (read through a memory map),
            or a folder of ``.npy`` chunk files ``(n_i, m)`` with the same
            ``m`` and dtype, stacked in file-name order.
        chunk_rows: rows per partition. Default: a whole file per partition
            for a folder; about 64 MB of votes per partition for a single file.

    Nothing is read until the array is computed, and then one partition at a
    time per task; the file names (not the data) are in the task graph, so
    workers must see the same file system (one machine, or a shared disk).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".npy")
        if not files:
            raise ValueError(f"path {str(path)!r} is a folder without .npy chunk files")
    elif path.is_file():
        files = [path]
    else:
        raise ValueError(f"path must be a .npy file or a folder of .npy files, got {str(path)!r}, which does not exist")
    if chunk_rows is not None:
        chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
    parts = []
    width = dtype = None
    for file in files:
        header = np.load(file, mmap_mode="r")  # reads the header only
        if header.ndim != 2:
            raise ValueError(f"{file.name} must hold a 2-D vote matrix (n_items, n_lfs), got shape {header.shape}")
        if width is None:
            width, dtype = header.shape[1], header.dtype
        elif header.shape[1] != width or header.dtype != dtype:
            raise ValueError(
                f"every chunk file must have {width} columns of dtype {dtype} like {files[0].name}, "
                f"got {header.shape[1]} columns of dtype {header.dtype} in {file.name}"
            )
        n = header.shape[0]
        step = chunk_rows or (n if len(files) > 1 else max(1, _PARTITION_BYTES // (width * dtype.itemsize)))
        for start in range(0, n, step) if n else [0]:
            stop = min(n, start + step)
            block = delayed(_load_rows, pure=True)(str(file), start, stop)
            parts.append(da.from_delayed(block, shape=(stop - start, width), dtype=dtype))
    return da.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


# ----------------------------------------------------------------------------
# labeling functions
# ----------------------------------------------------------------------------
class LFVotes(NamedTuple):
    """What :func:`apply_lfs` returns: ``votes``, an ``(n, m)`` int64 dask
    array (one chunk per partition, ``-1`` = abstain, classes ``0..k-1``), and
    the ``m`` LF ``names`` in column order."""

    votes: "da.Array"
    names: List[str]


class _ShippedLF(NamedTuple):
    """A :class:`weaksup.lf.LabelingFunction` by value: its parts, rebuilt on
    the worker. (A labeling function defined in a script or a notebook
    otherwise pickles by name, and a worker process cannot find the name.)"""

    name: str
    function: Any
    pre: Any
    resources: Any


def _ship(lfs: Sequence[Any]) -> List[Any]:
    from .lf import LabelingFunction

    return [
        _ShippedLF(lf.name, lf.function, tuple(lf.pre), dict(lf.resources)) if isinstance(lf, LabelingFunction) else lf
        for lf in lfs
    ]


def _partition_votes(partition: Any, shipped: Sequence[Any], labels: Any, errors: str) -> np.ndarray:
    """Votes of one partition's items (runs on a worker)."""
    from .lf import LabelingFunction
    from .lf import apply_lfs as apply_here

    lfs = [
        LabelingFunction(lf.name, lf.function, pre=lf.pre, resources=lf.resources) if isinstance(lf, _ShippedLF) else lf
        for lf in shipped
    ]
    return np.asarray(apply_here(lfs, partition, labels=labels, progress=False, errors=errors), dtype=np.int64)


def apply_lfs(lfs: Sequence[Any], data: Any, *, labels: Any = None, errors: str = "raise") -> LFVotes:
    """Apply labeling functions to every item of a ``dask.bag`` or ``dask.dataframe``.

    Each partition goes through :func:`weaksup.lf.apply_lfs` where it lives:
    a bag's items as they are, a dataframe's rows as mappings (``row["text"]``
    or ``row.text``). The LFs enter the task graph once, as one key.

    Args:
        lfs: the ``m`` labeling functions (:class:`weaksup.lf.LabelingFunction`
            or plain callables); they must pickle (defined at module level, or
            built from such functions) to reach worker processes.
        data: a ``dask.bag.Bag`` or a ``dask.dataframe.DataFrame``.
        labels: the class names in class-id order, or the number of classes
            (see :func:`weaksup.lf.apply_lfs`).
        errors: ``"raise"`` (an LF that raises fails the computation with a
            :class:`weaksup.lf.LabelingFunctionError`; its item index counts
            from the start of the partition) or ``"abstain"``.

    Returns:
        :class:`LFVotes` ``(votes, names)``. Nothing runs until ``votes`` is
        computed (or counted by :func:`accumulate`); partition lengths are
        unknown until then (``votes.compute_chunk_sizes()`` finds them).
    """
    from .lf import apply_lfs as apply_here

    names = list(apply_here(lfs, [], labels=labels, progress=False, errors=errors).lf_names)  # validates
    if not (_is_instance(data, "dask.bag", "Bag") or _is_instance(data, "dask.dataframe", "DataFrame")):
        raise TypeError(f"data must be a dask.bag.Bag or a dask.dataframe.DataFrame, got {type(data).__name__}")
    partitions = list(data.to_delayed())
    shipped = delayed(_ship(lfs), traverse=False)
    blocks = [
        da.from_delayed(
            delayed(_partition_votes, pure=True)(part, shipped, labels, errors),
            shape=(math.nan, len(names)), dtype=np.int64,
        )
        for part in partitions
    ]
    votes = da.concatenate(blocks, axis=0) if len(blocks) > 1 else blocks[0]
    return LFVotes(votes, names)


def _is_instance(obj: Any, module: str, name: str) -> bool:
    """``isinstance(obj, module.name)``, importing ``module`` only if ``obj`` may be one."""
    if not type(obj).__module__.startswith("dask"):
        return False
    import importlib

    return isinstance(obj, getattr(importlib.import_module(module), name))


# ----------------------------------------------------------------------------
# scheduling
# ----------------------------------------------------------------------------
def _active_client() -> Any:
    """The ``dask.distributed`` client computations go to, or ``None`` (also
    when ``dask.config.set(scheduler=...)`` picked a local scheduler)."""
    if dask.config.get("scheduler", None) not in (None, "dask.distributed", "distributed"):
        return None
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def _lost_worker_error(exc: BaseException) -> RuntimeError:
    return RuntimeError(
        "a dask worker died while counting vote statistics, more often than the scheduler retries "
        f"(distributed.scheduler.allowed-failures): nothing was counted, no partial statistics are returned ({exc})"
    )


def _compute(root: Any, leaves: List[Any], progress: bool, what: str) -> Any:
    """Compute ``root``; with ``progress``, a tqdm bar ticks as ``leaves`` finish."""
    client = _active_client()
    try:
        from distributed import KilledWorker
    except ImportError:  # pragma: no cover - distributed is part of the extra
        KilledWorker = ()
    try:
        if not progress:
            return dask.compute(root)[0]
        from tqdm import tqdm  # a text bar: works in terminals and notebooks alike

        with tqdm(total=len(leaves), desc=what, unit="partition") as bar:
            if client is not None:
                from distributed import as_completed

                root_future, *leaf_futures = client.compute([root] + leaves)
                pending = as_completed(leaf_futures)
                del leaf_futures  # a counted partition is released once the tree has added it
                for _ in pending:
                    bar.update(1)
                return root_future.result()
            from dask.callbacks import Callback

            keys = {leaf.key for leaf in leaves}

            def tick(key, result, dsk, state, worker_id):
                if key in keys:
                    bar.update(1)

            with Callback(posttask=tick):
                return dask.compute(root, optimize_graph=False)[0]
    except KilledWorker as exc:
        raise _lost_worker_error(exc) from exc
