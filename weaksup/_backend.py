"""Array interchange: numpy, torch (CPU/CUDA) and cupy in, the same kind out.

All math in weaksup runs on torch tensors. Inputs of other kinds are viewed as
tensors without a copy where possible (``torch.from_numpy`` for numpy, DLPack
for cupy) and results are handed back in the kind and on the device the caller
used. This is the one place that knows about array libraries.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Tuple

import numpy as np
import torch

ArrayLike = Any  # numpy.ndarray | torch.Tensor | cupy.ndarray | nested lists

# Floor applied to probabilities before a log, shared by every module that
# takes logs of fitted tables: log(TINY) is finite, so posteriors are never NaN.
TINY = 1e-300
# The log score of an outcome of probability 0 (a class the class balance rules
# out): finite (no inf - inf = NaN) and far below any real score, so a softmax
# gives it exactly 0.
IMPOSSIBLE = -1e300


def array_kind(x: Any) -> str:
    """Return ``'torch'``, ``'cupy'`` or ``'numpy'`` (lists count as numpy)."""
    if isinstance(x, torch.Tensor):
        return "torch"
    if type(x).__module__.split(".")[0] == "cupy":
        return "cupy"
    return "numpy"


def as_tensor(x: ArrayLike, name: str = "input") -> Tuple[torch.Tensor, Callable[[torch.Tensor], Any]]:
    """View ``x`` as a torch tensor; return it with a function that converts a
    result tensor back to ``x``'s kind (numpy array, cupy array or tensor).

    ``name`` is the argument named in the ``TypeError`` raised for input that is
    not a numeric array (strings, ragged lists, Python objects)."""
    kind = array_kind(x)
    if kind == "torch":
        return x, _identity
    if kind == "cupy":
        return torch.from_dlpack(x), _to_cupy
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got a {type(x).__name__}: {x!r:.40}")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as err:  # ragged nested lists, unconvertible objects
        raise TypeError(f"{name} must be a numeric array with rows of equal length, got {type(x).__name__} ({err})") from None
    if arr.dtype == object:
        raise TypeError(f"{name} must be a numeric array, got an array of Python objects (shape {arr.shape})")
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype} (shape {arr.shape})")
    if not arr.flags.writeable or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr).copy()
    if arr.dtype.byteorder not in ("=", "|"):
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return torch.from_numpy(arr), _to_numpy


def _identity(t: torch.Tensor) -> torch.Tensor:
    return t


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _to_cupy(t: torch.Tensor) -> Any:
    import cupy  # only reached when the caller passed a cupy array

    return cupy.from_dlpack(t.detach().contiguous())


def like(template: ArrayLike) -> Callable[[torch.Tensor], Any]:
    """The converter that turns a tensor into ``template``'s kind."""
    return as_tensor(template)[1] if array_kind(template) != "numpy" else _to_numpy


@contextlib.contextmanager
def small_cpu_work(device: Any = "cpu") -> Iterator[None]:
    """Run a block of many tiny CPU ops on one intra-op thread.

    A refit is hundreds of operations on ``m x m`` matrices: too small to gain
    from threads, and on a busy machine each parallel region waits for a
    descheduled thread, which can cost far more than the work itself. The
    previous thread count is restored on exit. Does nothing
    for accelerator devices or when torch already uses one thread.
    """
    threads = torch.get_num_threads()
    if threads == 1 or torch.device(device).type != "cpu":
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
