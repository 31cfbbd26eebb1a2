"""Grow or shrink a layer of a wrapped PyTorch model, in place.

:func:`resize_output` is how a class is added to a trained model (spaCy calls
it through ``model.attrs["resize_output"]`` when a label is added);
:func:`resize_input` is how a feature (a labeling function's vote, say) is
added. Which layers can be resized, and how, is in :mod:`weaksup.thinc.layers`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._validation import check_int
from .layers import LayerRef, find_layer, in_size, out_size, replace_module, resized
from .shim import new_shim_id

if TYPE_CHECKING:
    from .wrapper import TorchModel

__all__ = ["resize_input", "resize_output"]


def _replace(model: "TorchModel", name: str, new) -> None:
    shim = model.shims[0]
    shim._model = replace_module(shim._model, name, new)
    shim.id = new_shim_id()  # the optimizer's state for the old shapes is dropped


def resize_output(model: "TorchModel", new_size: int, *, layer: LayerRef = None) -> "TorchModel":
    """Give the output layer ``new_size`` outputs, in place; returns ``model``.

    The layer is ``layer`` (a name from the wrapped module's
    ``named_modules()``, or the submodule itself), else the model's output
    layer: the one named by ``PyTorchWrapper(..., output_layer=)``, else the
    last ``torch.nn.Linear`` or ``torch.nn.EmbeddingBag`` of the wrapped
    module (e.g. :class:`weaksup.models.HashedNgramClassifier`'s ``bag``).
    Growing adds outputs whose weights (and bias) are zero: their logit is 0
    for every input and the existing outputs are unchanged. Shrinking drops
    the last outputs. The optimizer's state (moments, averages) for this model
    starts afresh: the shim gets a new id. ``nO`` follows when the resized
    layer is the output layer.
    """
    new_size = check_int(new_size, "new_size", minimum=1)
    module = model.shims[0]._model
    name, found = find_layer(module, layer if layer is not None else model.attrs.get("output_layer"), last=True)
    output_name, _ = find_layer(module, model.attrs.get("output_layer"), last=True)
    if new_size != out_size(found):
        _replace(model, name, resized(found, new_size))
    if name == output_name:
        model.set_dim("nO", new_size, force=True)
    return model


def resize_input(model: "TorchModel", new_size: int, *, layer: LayerRef = None) -> "TorchModel":
    """Give the input ``torch.nn.Linear`` layer ``new_size`` inputs, in place; returns ``model``.

    The layer is ``layer`` (a name or the submodule), else the first
    ``torch.nn.Linear`` of the wrapped module. New inputs get zero weights
    (the output ignores them until training moves them); shrinking drops the
    last inputs. The optimizer's state for this model starts afresh (the shim
    gets a new id). ``nI`` follows when the layer is the first ``Linear``.
    """
    new_size = check_int(new_size, "new_size", minimum=1)
    module = model.shims[0]._model
    name, found = find_layer(module, layer, last=False, linear_only=True)
    first_name, _ = find_layer(module, None, last=False, linear_only=True)
    if new_size != in_size(found):
        _replace(model, name, resized(found, out_size(found), new_size))
    if name == first_name:
        model.set_dim("nI", new_size, force=True)
    return model
