"""The layers of a PyTorch model that :mod:`weaksup.thinc` can resize.

A *resizable* layer is a ``torch.nn.Linear`` (outputs: ``out_features``,
inputs: ``in_features``) or a ``torch.nn.EmbeddingBag`` (outputs: the
``embedding_dim`` columns; the rows are ids or hash buckets, not resized).
The *output layer* of a model is the last resizable layer in
``named_modules()`` order, unless the caller names it (or passes the module).
Resizing builds a new layer of the same kind and options whose overlapping
weights are copied and whose new weights are zero, and puts it in place of
the old one. Pure PyTorch: no Thinc here.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn

__all__ = [
    "RESIZABLE",
    "find_layer",
    "in_size",
    "match_saved_shapes",
    "out_size",
    "replace_module",
    "resizable_layers",
    "resized",
]

RESIZABLE = (nn.Linear, nn.EmbeddingBag)
_KINDS = "torch.nn.Linear or torch.nn.EmbeddingBag"

LayerRef = Union[None, str, nn.Module]


def resizable_layers(module: nn.Module) -> List[Tuple[str, nn.Module]]:
    """``(name, layer)`` of every resizable layer of ``module``, in ``named_modules()`` order
    (``""`` is ``module`` itself)."""
    return [(name, sub) for name, sub in module.named_modules() if isinstance(sub, RESIZABLE)]


def out_size(layer: nn.Module) -> int:
    """The number of outputs of a resizable layer."""
    return int(layer.out_features if isinstance(layer, nn.Linear) else layer.embedding_dim)


def in_size(layer: nn.Module) -> Optional[int]:
    """The number of inputs of a ``Linear`` (``None`` for an ``EmbeddingBag``: its input is ids)."""
    return int(layer.in_features) if isinstance(layer, nn.Linear) else None


def find_layer(module: nn.Module, layer: LayerRef, *, last: bool, linear_only: bool = False) -> Tuple[str, nn.Module]:
    """The layer to resize: ``layer`` (a name from ``named_modules()``, or the
    module object itself) if given, else the last (``last=True``) or first
    resizable layer. ``linear_only`` restricts the choice to ``torch.nn.Linear``."""
    kinds = nn.Linear if linear_only else RESIZABLE
    what = "torch.nn.Linear" if linear_only else _KINDS
    found = [(name, sub) for name, sub in resizable_layers(module) if isinstance(sub, kinds)]
    if not found:
        raise ValueError(f"the wrapped {type(module).__name__} has no {what} layer to resize")
    if layer is None:
        return found[-1] if last else found[0]
    for name, sub in found:
        if (isinstance(layer, str) and name == layer) or sub is layer:
            return name, sub
    shown = repr(layer) if isinstance(layer, str) else f"{type(layer).__name__} object"
    names = ", ".join(repr(n) for n, _ in found)
    raise ValueError(f"layer {shown} is not a {what} of the wrapped model; its {what} layers: {names}")


def resized(layer: nn.Module, out_features: int, in_features: Optional[int] = None) -> nn.Module:
    """A copy of ``layer`` with ``out_features`` outputs (and, for a ``Linear``,
    ``in_features`` inputs): the overlapping weights copied, the new ones zero,
    the same options, device, dtype, ``requires_grad`` and training mode."""
    weight = layer.weight
    with torch.no_grad():
        if isinstance(layer, nn.Linear):
            in_features = layer.in_features if in_features is None else in_features
            new = nn.Linear(in_features, out_features, bias=layer.bias is not None,
                            device=weight.device, dtype=weight.dtype)
            o, i = min(out_features, layer.out_features), min(in_features, layer.in_features)
            new.weight.zero_()
            new.weight[:o, :i] = weight[:o, :i]
            if layer.bias is not None:
                new.bias.zero_()
                new.bias[:o] = layer.bias[:o]
                new.bias.requires_grad_(layer.bias.requires_grad)
        elif isinstance(layer, nn.EmbeddingBag):
            rows = layer.num_embeddings
            table = torch.zeros(rows, out_features, device=weight.device, dtype=weight.dtype)
            o = min(out_features, layer.embedding_dim)
            table[:, :o] = weight[:, :o]
            new = nn.EmbeddingBag(
                rows, out_features, max_norm=layer.max_norm, norm_type=layer.norm_type,
                scale_grad_by_freq=layer.scale_grad_by_freq, mode=layer.mode, sparse=layer.sparse,
                include_last_offset=layer.include_last_offset, padding_idx=layer.padding_idx, _weight=table,
            )
        else:
            raise TypeError(f"can only resize a {_KINDS}, got {type(layer).__name__}")
    new.weight.requires_grad_(weight.requires_grad)
    new.train(layer.training)
    return new


def replace_module(root: nn.Module, name: str, new: nn.Module) -> nn.Module:
    """Put ``new`` in place of the submodule ``name`` of ``root``; returns the
    (new, if ``name`` is ``""``) root."""
    if name == "":
        return new
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)
    return root


def match_saved_shapes(root: nn.Module, state: Dict[str, torch.Tensor]) -> Tuple[nn.Module, bool]:
    """Resize the layers of ``root`` whose saved weights (in ``state``, a
    ``state_dict``) have another shape: a model that was resized before it was
    saved loads into a model rebuilt with the original architecture. Returns
    the (possibly new) root and whether anything changed."""
    changed = False
    for name, layer in resizable_layers(root):
        saved = state.get(f"{name}.weight" if name else "weight")
        if saved is None or saved.dim() != 2 or tuple(saved.shape) == tuple(layer.weight.shape):
            continue
        if isinstance(layer, nn.Linear):
            new = resized(layer, int(saved.shape[0]), int(saved.shape[1]))
        elif int(saved.shape[0]) == layer.num_embeddings:  # an EmbeddingBag: only its columns resize
            new = resized(layer, int(saved.shape[1]))
        else:
            continue  # another number of rows: reported as a shape mismatch by the loader
        root = replace_module(root, name, new)
        changed = True
    return root, changed
