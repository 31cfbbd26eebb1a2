"""The PyTorch wrapper: a ``torch.nn.Module`` as a Thinc model.

:func:`PyTorchWrapper` (``"weaksup.PyTorchWrapper.v1"``) builds on Thinc's
``PyTorchWrapper_v3`` / ``PyTorchShim`` and returns a :class:`TorchModel`:

- ``with model.use_params(optimizer.averages):`` evaluates with the averaged
  weights and restores the training weights after (see
  :mod:`weaksup.thinc.shim`);
- the calling code sets the dropout rate (``set_dropout_rate(model, 0.2)``,
  as spaCy does every update) and it reaches every ``torch.nn.Dropout``;
- integer inputs (votes, token ids) are passed without asking for a gradient;
- :meth:`TorchModel.resize_output` / :meth:`TorchModel.resize_input` grow or
  shrink a ``torch.nn.Linear`` or ``torch.nn.EmbeddingBag`` output layer and
  a ``Linear`` input layer (see :mod:`weaksup.thinc.resize`);
- ``to_bytes``/``from_bytes``/``to_disk``/``from_disk`` store the parameters
  only, and a model rebuilt with its original architecture loads the
  parameters of a resized one.

The layer name is registered with Thinc's ``registry.layers`` when this
module is imported, which is how the ``thinc_layers`` entry point finds it.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from thinc.api import Model, registry
from thinc.layers.pytorchwrapper import convert_pytorch_default_outputs
from thinc.layers.pytorchwrapper import forward as _thinc_pytorch_forward
from thinc.shims import PyTorchGradScaler
from thinc.types import ArgsKwargs
from thinc.util import convert_recursive, is_torch_array, is_xp_array, torch2xp, xp2torch

from .._validation import check_real
from .layers import LayerRef, find_layer, out_size, resizable_layers
from .resize import resize_input, resize_output
from .shim import WeaksupPyTorchShim

__all__ = ["PyTorchWrapper", "TorchModel", "convert_pytorch_inputs"]


def _set_dropout(module: nn.Module, rate: float) -> None:
    for sub in module.modules():
        if isinstance(sub, nn.modules.dropout._DropoutNd):
            sub.p = rate


def _forward(model: Model, X: Any, is_train: bool) -> Tuple[Any, Callable]:
    rate = model.attrs.get("dropout_rate")
    if rate is not None:
        rate = check_real(rate, "dropout_rate", low=0.0, high=1.0, high_open=True)
        _set_dropout(model.shims[0]._model, rate)
    return _thinc_pytorch_forward(model, X, is_train)


def convert_pytorch_inputs(model: Model, X: Any, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    """Thinc's default input conversion, except that only floating-point
    arrays ask for a gradient (integer votes or ids pass as they are; Thinc's
    default raises "only Tensors of floating point dtype can require
    gradients"). Returns the converted inputs and the reverse conversion."""
    device = model.shims[0].device

    def to_torch(x: Any) -> torch.Tensor:
        floating = np.dtype(str(x.dtype)).kind == "f"
        return xp2torch(x, requires_grad=is_train and floating, device=device)

    converted = convert_recursive(is_xp_array, to_torch, X)

    def grads_back(dXtorch: Any) -> Any:
        return convert_recursive(is_torch_array, torch2xp, dXtorch)

    if isinstance(converted, ArgsKwargs):
        return converted, grads_back
    if isinstance(converted, dict):
        return ArgsKwargs(args=(), kwargs=converted), lambda d: grads_back(d).kwargs
    if isinstance(converted, (tuple, list)):
        return ArgsKwargs(args=tuple(converted), kwargs={}), lambda d: grads_back(d).args
    return ArgsKwargs(args=(converted,), kwargs={}), lambda d: grads_back(d).args[0]


class TorchModel(Model):
    """The Thinc model that :func:`PyTorchWrapper` returns: a ``thinc.Model``
    with a few more methods. ``model(X, is_train)`` and ``begin_update(X)``
    return ``(Y, backprop)``; ``predict(X)`` evaluates (``eval()`` mode, no
    gradient)."""

    __slots__ = ()

    @property
    def torch_module(self) -> nn.Module:
        """The wrapped ``torch.nn.Module`` (replaced, not mutated, by a resize)."""
        return self.shims[0]._model

    def resize_output(self, new_size: int, *, layer: LayerRef = None) -> "TorchModel":
        """See :func:`resize_output`."""
        return resize_output(self, new_size, layer=layer)

    def resize_input(self, new_size: int, *, layer: LayerRef = None) -> "TorchModel":
        """See :func:`resize_input`."""
        return resize_input(self, new_size, layer=layer)

    def to_gpu(self, gpu_id: int = 0) -> None:
        """Move the model (and the wrapped module) to GPU ``gpu_id``. Thinc's
        GPU arrays are cupy arrays, so this needs cupy and a CUDA device."""
        try:
            import cupy  # noqa: F401
        except ImportError as err:
            raise ImportError(
                "to_gpu needs cupy (Thinc's GPU arrays are cupy arrays): pip install weaksup[gpu]"
            ) from err
        if not torch.cuda.is_available():
            raise RuntimeError("to_gpu needs a CUDA device, and torch sees none")
        super().to_gpu(gpu_id)

    def to_cpu(self) -> None:
        """Move the model (and the wrapped module) to the CPU."""
        super().to_cpu()

    def set_dim(self, name: str, value: Optional[int], *, force: bool = False) -> None:
        """Set a dimension.

        ``nI`` and ``nO`` mirror the wrapped module: the inputs of its first
        ``torch.nn.Linear`` and the outputs of its output layer. Without
        ``force``, a new value for either *resizes that layer*
        (:meth:`resize_input` / :meth:`resize_output`: new weights start at
        zero), so the dims and the module never disagree. This is also how a
        model rebuilt with its original architecture loads a resized one:
        Thinc sets the saved dims before it loads the parameters.
        ``force=True`` records the value only, as Thinc's ``Model.set_dim``
        does (a TorchModel has no Thinc parameters, so Thinc allows it); the
        resize functions use it after they replaced the layer.
        """
        old = self._dims.get(name)
        if not force and name in ("nI", "nO") and None not in (old, value) and old != value:
            resize = resize_input if name == "nI" else resize_output
            resize(self, value)
            return
        super().set_dim(name, value, force=force)

    def _copy(self, seen=None):
        copied = super()._copy(seen)
        copied.__class__ = type(self)
        return copied


def _resize_output_attr(model: "TorchModel", new_size: int) -> "TorchModel":
    # spaCy's convention: model.attrs["resize_output"](model, n) -> model
    return resize_output(model, new_size)


@registry.layers("weaksup.PyTorchWrapper.v1")
def PyTorchWrapper(
    pytorch_model: nn.Module,
    convert_inputs: Optional[Callable] = None,
    convert_outputs: Optional[Callable] = None,
    *,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    device: Optional[torch.device] = None,
    dropout: Optional[float] = None,
    output_layer: Optional[str] = None,
) -> TorchModel:
    """Wrap a PyTorch module as a Thinc model (Thinc's ``PyTorchWrapper_v3``,
    with the fixes listed in :mod:`weaksup.thinc`).

    Args:
        pytorch_model: the module; its ``forward`` takes the converted inputs.
        convert_inputs: ``(model, X, is_train) -> (ArgsKwargs, reverse)``.
            Default: :func:`convert_pytorch_inputs`.
        convert_outputs: ``(model, (X, Ytorch), is_train) -> (Y, reverse)``.
            Default: Thinc's.
        mixed_precision, grad_scaler, device: as in Thinc's wrapper.
        dropout: the rate given to every ``torch.nn.Dropout`` of the module on
            each call; ``None`` leaves the module's own. The calling code
            changes it with ``thinc.api.set_dropout_rate(model, rate)`` (spaCy
            does so on every update). Default: ``None``.
        output_layer: the name (in ``named_modules()``) of the layer whose
            outputs are the model's outputs (``nO``), resized by
            :meth:`TorchModel.resize_output`: a ``torch.nn.Linear`` or
            ``torch.nn.EmbeddingBag``. Default: ``None`` (the last such layer).

    Shape:
        - X: whatever the module's ``forward`` takes (numpy or cupy arrays,
          or nested lists/tuples/dicts of them).
        - Y: the module's output, as numpy/cupy arrays.

    Example:
        >>> import numpy as np, torch
        >>> from weaksup.thinc import PyTorchWrapper
        >>> model = PyTorchWrapper(torch.nn.Linear(4, 2))
        >>> Y, backprop = model(np.zeros((3, 4), dtype="f"), is_train=True)
        >>> Y.shape, backprop(np.ones_like(Y)).shape
        ((3, 2), (3, 4))
    """
    if not isinstance(pytorch_model, nn.Module):
        raise TypeError(f"pytorch_model must be a torch.nn.Module, got {type(pytorch_model).__name__}")
    dropout = check_real(dropout, "dropout", low=0.0, high=1.0, high_open=True, allow_none=True)
    if output_layer is not None and not isinstance(output_layer, str):
        raise TypeError(f"output_layer must be a layer name (str) or None, got {type(output_layer).__name__}")
    layers = resizable_layers(pytorch_model)
    output = find_layer(pytorch_model, output_layer, last=True)[1] if output_layer is not None or layers else None
    linears = [layer for _, layer in layers if isinstance(layer, nn.Linear)]
    shim = WeaksupPyTorchShim(
        pytorch_model, mixed_precision=mixed_precision, grad_scaler=grad_scaler, device=device,
    )
    model = TorchModel(
        "weaksup_pytorch",
        _forward,
        attrs={
            "convert_inputs": convert_inputs or convert_pytorch_inputs,
            "convert_outputs": convert_outputs or convert_pytorch_default_outputs,
            "dropout_rate": dropout,
            "resize_output": _resize_output_attr,
            "output_layer": output_layer,
        },
        shims=[shim],
        dims={
            "nI": linears[0].in_features if linears else None,
            "nO": out_size(output) if output is not None else None,
        },
    )
    return model

