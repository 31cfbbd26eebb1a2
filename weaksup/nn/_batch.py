"""One call's validated inputs (:class:`Batch`) and the input checks the losses share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch

from .._backend import as_tensor

__all__ = ["Batch", "item_weight", "optional_float_buffer", "same_device"]


@dataclass
class Batch:
    """One validated call: vote codes ``(n, m)`` (-1 abstain, 0..k-1) and the
    call's options. ``features`` is a subclass's cached encoding of the codes
    (the one-hot matrix of the fast binary path), or ``None``."""

    codes: torch.Tensor
    n: int
    update_frequency: int
    item_weight: Optional[torch.Tensor]
    features: Any = None
    soft: Optional[torch.Tensor] = None  # the soft labels in the predictions' dtype, when already made
    soft_dtype: Optional[torch.dtype] = None  # the predictions' dtype
    distributed: bool = False  # a process group of more than one rank takes part in this call


def same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    if a.type != "cuda":
        return True
    ia = a.index if a.index is not None else torch.cuda.current_device()
    ib = b.index if b.index is not None else torch.cuda.current_device()
    return ia == ib


def optional_float_buffer(value: Any, name: str) -> Optional[torch.Tensor]:
    """A finite float32 tensor of ``value`` (or ``None``), for weights given at construction."""
    if value is None:
        return None
    try:
        t = torch.as_tensor(as_tensor(value, name=name)[0], dtype=torch.float32).detach().clone()
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r:.60} ({err})") from None
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite, got {t.tolist()}")
    return t


def item_weight(weight: Any, n: int, ref: torch.Tensor) -> Optional[torch.Tensor]:
    """Per-item weights ``(n,)`` (or ``(n, 1)``) as ``ref``'s dtype and device, or
    ``None``: real numbers, finite (checked where they are; one host read for
    a weight tensor on an accelerator)."""
    if weight is None:
        return None
    w = weight.detach() if isinstance(weight, torch.Tensor) else as_tensor(weight, name="weight")[0]
    if w.dtype == torch.bool or w.is_complex():
        raise TypeError(f"weight must hold real numbers, one per item, got dtype {w.dtype}")
    w = w.reshape(-1) if w.dim() == 2 and w.shape[1] == 1 else w
    if w.dim() != 1 or w.shape[0] != n:
        raise ValueError(f"weight must have shape ({n},), one weight per item, got shape {tuple(w.shape)}")
    if w.is_floating_point() and w.numel() and not bool(torch.isfinite(w).all()):
        raise ValueError(f"weight must be finite, got {int((~torch.isfinite(w)).sum())} NaN or infinite value(s)")
    return w.to(device=ref.device, dtype=ref.dtype)
