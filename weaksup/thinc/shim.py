"""The Thinc shim behind :func:`weaksup.thinc.PyTorchWrapper`.

:class:`WeaksupPyTorchShim` is Thinc's ``PyTorchShim`` with what is wrong
there fixed: ``use_params`` swaps in the parameters Thinc's optimizer averages
(the keys it writes are ``(shim.id, parameter name)``; Thinc's shim looks for
other keys, so it silently changes nothing), the grad scaler follows the
device, and serialisation stores the parameters only (tensors, loaded with
``weights_only=True``), resizing layers to the saved shapes first. Forward,
backprop, ``finish_update`` and mixed precision are Thinc's.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any, Dict, List, Tuple

import srsly
import torch
import torch.nn as nn
from thinc.shims import PyTorchShim
from thinc.shims.shim import Shim
from thinc.util import xp2torch

from .layers import match_saved_shapes

__all__ = ["WeaksupPyTorchShim", "new_shim_id"]


def new_shim_id() -> int:
    """A fresh shim id. A shim whose parameters change shape takes one, so that
    Thinc's optimizer starts their state (moments, averages) afresh instead of
    applying the old shapes' state to them."""
    with Shim.global_id_lock:
        Shim.global_id += 1
        return Shim.global_id


class WeaksupPyTorchShim(PyTorchShim):
    """Thinc's ``PyTorchShim`` with ``use_params``, devices and parameter-only
    serialisation that work (see :mod:`weaksup.thinc.shim`)."""

    # -- averaged parameters --------------------------------------------
    @contextlib.contextmanager
    def use_params(self, params: Dict[Any, Any]):
        """Swap in the parameters of ``params`` for the duration of the block.

        Reads the keys Thinc's optimizer writes, ``(shim.id, parameter name)``
        (and the ``"pytorch_{id}_{name}"`` strings Thinc's shim looked for),
        and puts the training weights back afterwards, even on an error.
        """
        prefix = f"pytorch_{self.id}_"
        swapped: List[Tuple[nn.Parameter, torch.Tensor]] = []
        try:
            for name, param in self._model.named_parameters():
                value = params.get((self.id, name))
                if value is None:
                    value = params.get(prefix + name)
                if value is None:
                    continue
                new = xp2torch(value, device=param.device).to(param.dtype).reshape(param.shape).clone()
                swapped.append((param, param.data))
                param.data = new
            yield
        finally:
            for param, data in reversed(swapped):
                param.data = data

    # -- devices ----------------------------------------------------------
    def to_device(self, device_type: str, device_id: int) -> None:
        super().to_device(device_type, device_id)
        self._grad_scaler.to_(self.device)

    # -- serialisation: parameters (and tensor buffers) only ---------------
    def _tensor_state(self) -> Dict[str, torch.Tensor]:
        return {k: v for k, v in self._model.state_dict().items() if isinstance(v, torch.Tensor)}

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in self._tensor_state().items()}, buf)
        return srsly.msgpack_dumps({"config": self.cfg, "state": buf.getvalue()})

    def from_bytes(self, bytes_data: bytes) -> "WeaksupPyTorchShim":
        msg = srsly.msgpack_loads(bytes_data)
        self.cfg = msg.get("config", {})
        state = torch.load(io.BytesIO(msg["state"]), map_location="cpu", weights_only=True)
        self._model, changed = match_saved_shapes(self._model, state)
        if changed:
            self.id = new_shim_id()
        own = self._tensor_state()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
        if missing or unexpected or wrong:
            details = "; ".join(
                f"{what}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
                for what, keys in (("missing", missing), ("unexpected", unexpected), ("shape differs", wrong))
                if keys
            )
            raise ValueError(
                "the saved parameters do not fit this PyTorch model (" + details + "). "
                "from_bytes/from_disk load parameters only: rebuild the model with the "
                "architecture it was saved from, then load."
            )
        self._model.load_state_dict(state, strict=False)
        return self
