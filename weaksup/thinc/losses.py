"""Thinc integration: the weak-label losses in Thinc's style, and a PyTorch
wrapper whose ``use_params``, resizing and serialisation work.

Needs Thinc 8.3 (the version spaCy 3.8 pins): ``pip install weaksup[spacy]``.
Importing :mod:`weaksup` never imports Thinc; importing this module does.

Losses (``thinc.loss.Loss`` contract: ``loss(guesses, votes) -> (d_guesses,
loss)``, ``get_grad``, ``get_loss``):

- :class:`FSLoss` (registered as ``"weaksup.FSLoss.v1"``): binary, FlyingSquid
  votes (``+1``/``-1``, ``0`` = abstain), guesses are ``P(y = +1)``.
- :class:`FSCrossEntropyLoss` (``"weaksup.FSCrossEntropyLoss.v1"``): ``k``
  classes, Snorkel/WRENCH votes (``-1`` = abstain, classes ``0..k-1``),
  guesses are class probabilities.

Both wrap the PyTorch modules of :mod:`weaksup.nn` (the same buffer,
statistics, refits and soft labels: no second implementation) and only convert
arrays: numpy and cupy in (cupy through DLPack, no copy), the same kind out.
As Thinc's own losses do, the gradient is taken with respect to the
*pre-activation logits* (Thinc's ``Softmax``/``Sigmoid`` layers pass it
through unchanged), so ``d_guesses = (guesses - soft_labels) / n`` with the
default ``normalize=True``.

The wrapper (:func:`PyTorchWrapper`, ``"weaksup.PyTorchWrapper.v1"``) builds on
Thinc's ``PyTorchWrapper_v3``/``PyTorchShim`` and fixes what is wrong there:

- ``with model.use_params(optimizer.averages):`` evaluates with the averaged
  weights and restores the training weights after (Thinc's shim looks for
  keys that its optimizer never writes, so it silently changes nothing);
- the calling code sets the dropout rate (``set_dropout_rate(model, 0.2)``,
  as spaCy does every update) and it reaches every ``torch.nn.Dropout``;
- integer inputs (votes, token ids) are passed without asking for a gradient;
- :meth:`TorchModel.resize_output` and :meth:`TorchModel.resize_input` grow or
  shrink a linear layer (new neurons start at zero);
- ``to_bytes``/``from_bytes``/``to_disk``/``from_disk`` store the parameters
  only (tensors, loaded with ``weights_only=True``), and a model rebuilt with
  its original architecture loads the parameters of a resized one.
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

try:
    import srsly
    from thinc.api import Model, registry
    from thinc.layers.pytorchwrapper import forward as _thinc_pytorch_forward
    from thinc.loss import Loss
    from thinc.shims import PyTorchGradScaler, PyTorchShim
    from thinc.shims.shim import Shim
    from thinc.types import ArgsKwargs
    from thinc.util import convert_recursive, is_torch_array, is_xp_array, torch2xp, xp2torch
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "weaksup.thinc needs Thinc 8.3 (the version spaCy 3.8 uses), which is not "
        f"installed ({err}). Install it with: pip install weaksup[spacy]"
    ) from err

import numpy as np
import torch
import torch.nn as nn

from ._backend import as_tensor

__all__ = [
    "FSLoss",
    "FSCrossEntropyLoss",
    "OnlineLoss",
    "PyTorchWrapper",
    "TorchModel",
    "WeaksupPyTorchShim",
    "configure_FSLoss_v1",
    "configure_FSCrossEntropyLoss_v1",
    "convert_pytorch_inputs",
    "resize_input",
    "resize_output",
]


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------
class OnlineLoss(Loss):
    """A Thinc loss over one of weaksup's online PyTorch losses.

    Each call adds the batch's votes to the module's buffer (refitting the
    label model when due, see :mod:`weaksup.nn`) and returns the gradient of
    the module's loss with respect to the logits, computed by autograd. The
    module's state is the loss's state: ``loss.module.state_dict()``
    checkpoints it, ``loss.module.last_targets`` holds the last soft labels.

    Because every call advances the online state, compute both parts with
    one ``loss(guesses, votes)``. ``get_grad`` and ``get_loss`` also stand
    alone (each makes one step); called with the very same ``guesses`` and
    ``votes`` objects as the call just before, they return that call's
    result instead of stepping again.

    Args:
        module: a :class:`weaksup.nn.FSLoss` or
            :class:`weaksup.nn.FSCrossEntropyLoss` (its ``reduction`` must be
            ``'mean'`` or ``'sum'``).
        from_logits: the guesses are logits instead of probabilities.
            Default: ``False`` (Thinc's convention: the output of ``Softmax`` /
            ``Sigmoid``).
    """

    def __init__(self, module: nn.Module, *, from_logits: bool = False) -> None:
        if getattr(module, "reduction", None) not in ("mean", "sum"):
            raise ValueError(
                f"the wrapped loss must reduce to a scalar: reduction must be 'mean' or 'sum', "
                f"got {getattr(module, 'reduction', None)!r}"
            )
        self.module = module
        self.from_logits = bool(from_logits)
        self._last: Optional[Tuple[Any, Any, Any, float]] = None

    @property
    def normalize(self) -> bool:
        """True when the loss (and gradient) is averaged over the batch."""
        return self.module.reduction == "mean"

    # -- Thinc's contract -----------------------------------------------
    def __call__(self, guesses: Any, truths: Any) -> Tuple[Any, float]:
        grad, loss = self._step(guesses, truths)
        self._last = (guesses, truths, grad, loss)
        return grad, loss

    def get_grad(self, guesses: Any, truths: Any) -> Any:
        return self._cached(guesses, truths)[0]

    def get_loss(self, guesses: Any, truths: Any) -> float:
        return self._cached(guesses, truths)[1]

    def _cached(self, guesses: Any, truths: Any) -> Tuple[Any, float]:
        last = self._last
        if last is not None and last[0] is guesses and last[1] is truths:
            return last[2], last[3]
        return self(guesses, truths)

    # -- the one conversion ---------------------------------------------
    def _to_logits(self, p: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _check_guesses(self, p: torch.Tensor) -> None:
        pass

    def _step(self, guesses: Any, truths: Any) -> Tuple[Any, float]:
        g, back = as_tensor(guesses)
        if not g.is_floating_point():
            raise TypeError(f"guesses must be a float array of model outputs, got dtype {g.dtype}")
        self._follow_device(g.device)
        votes = truths
        if not isinstance(truths, torch.Tensor):
            votes, _ = as_tensor(truths)
        if votes.device != g.device:
            votes = votes.to(g.device)
        if g.dim() == 0 or votes.dim() == 0 or g.shape[0] != votes.shape[0]:
            raise ValueError(
                f"guesses and votes must have one row per item: got guesses of shape "
                f"{tuple(g.shape)} and votes of shape {tuple(votes.shape)}"
            )
        work = g.detach().to(torch.float64)
        if self.from_logits:
            logits = work.clone()
        else:
            self._check_guesses(work)
            logits = self._to_logits(work.clamp(0.0, 1.0))
        logits.requires_grad_(True)
        loss = self.module(logits, votes)
        (grad,) = torch.autograd.grad(loss, logits)
        return back(grad.to(g.dtype).reshape(g.shape)), float(loss.detach())

    def _follow_device(self, device: torch.device) -> None:
        if self.module.device != device:
            self.module.to(device)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.module!r}, from_logits={self.from_logits})"


_PROB_TOLERANCE = 1e-5  # float32 rounding of a softmax/sigmoid output


def _check_probabilities(p: torch.Tensor, kind: str) -> None:
    if not p.numel():
        return
    lo, hi = float(p.min()), float(p.max())
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < -_PROB_TOLERANCE or hi > 1 + _PROB_TOLERANCE:
        raise ValueError(
            f"guesses must be {kind} in [0, 1] (the output of Thinc's Softmax/Sigmoid), got values "
            f"in [{lo:.4g}, {hi:.4g}]; pass from_logits=True if the model outputs logits"
        )


class FSLoss(OnlineLoss):
    """Thinc version of :class:`weaksup.nn.FSLoss` (binary, FlyingSquid votes).

    ``guesses`` are ``P(y = +1)`` (the output of a ``Sigmoid``/``Logistic``
    layer), ``truths`` the votes. The gradient is that of
    :class:`weaksup.nn.FSLoss` with respect to the logits, ``(p - q) / n``
    for soft labels ``q`` (``normalize=False``: not divided by ``n``).

    Args:
        m: number of labeling functions.
        normalize: average over the batch (``reduction='mean'``) instead of
            summing. Default: ``True``.
        from_logits: the guesses are logits. Default: ``False``.
        **options: the other arguments of :class:`weaksup.nn.FSLoss`
            (``buffer_capacity``, ``update_frequency``, ``cb``, ``v``, ...).

    Shape:
        - guesses: ``(n,)``, ``(n, 1)`` or ``(n, v)`` probabilities.
        - truths: ``(n, m)`` votes in {-1, 0, +1} (0 = abstain).
        - d_guesses: the shape of ``guesses``; loss: a float.

    Example:
        >>> import numpy as np
        >>> from weaksup.thinc import FSLoss
        >>> loss_fn = FSLoss(3, update_frequency=1)
        >>> guesses = np.array([[0.9], [0.2], [0.5]], dtype="f")
        >>> votes = np.array([[1, 1, 0], [-1, -1, 1], [1, 0, 1]])
        >>> d_guesses, loss = loss_fn(guesses, votes)
        >>> d_guesses.shape, d_guesses.dtype
        ((3, 1), dtype('float32'))
    """

    def __init__(self, m: int, *, normalize: bool = True, from_logits: bool = False, **options: Any) -> None:
        from .nn import FSLoss as TorchFSLoss

        reduction = "mean" if normalize else "sum"
        super().__init__(TorchFSLoss(m, reduction=reduction, **options), from_logits=from_logits)

    def _check_guesses(self, p: torch.Tensor) -> None:
        _check_probabilities(p, "probabilities P(y = +1)")

    def _to_logits(self, p: torch.Tensor) -> torch.Tensor:
        eps = torch.finfo(torch.float32).eps
        p = p.clamp(eps, 1 - eps)
        return torch.log(p) - torch.log1p(-p)


class FSCrossEntropyLoss(OnlineLoss):
    """Thinc version of :class:`weaksup.nn.FSCrossEntropyLoss` (``k`` classes,
    Snorkel/WRENCH votes: ``-1`` = abstain, classes ``0..k-1``).

    ``guesses`` are class probabilities (the output of ``Softmax``), ``truths``
    the votes. The gradient is that of :class:`weaksup.nn.FSCrossEntropyLoss`
    with respect to the logits, ``(p - q) / n`` for soft labels ``q``
    (``normalize=False``: not divided by ``n``).

    Args:
        m: number of labeling functions.
        num_classes: number of classes ``k``.
        normalize: average over the batch instead of summing. Default: ``True``.
        from_logits: the guesses are logits. Default: ``False``.
        **options: the other arguments of :class:`weaksup.nn.FSCrossEntropyLoss`
            (``buffer_capacity``, ``update_frequency``, ``class_balance``, ...).

    Shape:
        - guesses: ``(n, k)`` probabilities (rows sum to 1).
        - truths: ``(n, m)`` votes in ``-1..k-1`` (``-1`` = abstain).
        - d_guesses: ``(n, k)``; loss: a float.

    Example:
        >>> import numpy as np
        >>> from weaksup.thinc import FSCrossEntropyLoss
        >>> loss_fn = FSCrossEntropyLoss(3, 2, update_frequency=1)
        >>> guesses = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]], dtype="f")
        >>> votes = np.array([[0, 0, -1], [1, 1, 0], [0, -1, 0]])
        >>> d_guesses, loss = loss_fn(guesses, votes)
        >>> d_guesses.shape
        (3, 2)
    """

    def __init__(
        self, m: int, num_classes: int, *, normalize: bool = True, from_logits: bool = False, **options: Any
    ) -> None:
        from .nn import FSCrossEntropyLoss as TorchFSCrossEntropyLoss

        reduction = "mean" if normalize else "sum"
        module = TorchFSCrossEntropyLoss(m, num_classes, reduction=reduction, **options)
        super().__init__(module, from_logits=from_logits)

    def _check_guesses(self, p: torch.Tensor) -> None:
        if p.dim() != 2:
            raise ValueError(f"guesses must have shape (n, k), one row of class probabilities per item, got {tuple(p.shape)}")
        _check_probabilities(p, "class probabilities")

    def _to_logits(self, p: torch.Tensor) -> torch.Tensor:
        # softmax(log p) = p / sum(p): the logits whose softmax is the guess
        return torch.log(p.clamp(min=torch.finfo(torch.float32).tiny))


@registry.losses("weaksup.FSLoss.v1")
def configure_FSLoss_v1(
    *,
    m: int,
    v: int = 1,
    task_deps: Sequence[Sequence[int]] = (),
    lf_task_deps: Sequence[Sequence[int]] = (),
    lf_deps: Sequence[Sequence[int]] = (),
    cb: Optional[Sequence[float]] = None,
    allow_abstentions: bool = True,
    buffer_capacity: int = 100,
    update_frequency: int = 10,
    clamp_vals: bool = False,
    pos_weight: Optional[Sequence[float]] = None,
    uncovered: str = "keep",
    solve_method: str = "triplet_mean",
    normalize: bool = True,
    from_logits: bool = False,
) -> FSLoss:
    """Config factory of :class:`FSLoss`: ``@losses = "weaksup.FSLoss.v1"``."""
    return FSLoss(
        m, v=v, task_deps=[tuple(e) for e in task_deps], lf_task_deps=[tuple(e) for e in lf_task_deps],
        lf_deps=[tuple(e) for e in lf_deps], cb=None if cb is None else list(cb),
        allow_abstentions=allow_abstentions, buffer_capacity=buffer_capacity,
        update_frequency=update_frequency, clamp_vals=clamp_vals,
        pos_weight=None if pos_weight is None else list(pos_weight), uncovered=uncovered,
        solve_method=solve_method, normalize=normalize, from_logits=from_logits,
    )


@registry.losses("weaksup.FSCrossEntropyLoss.v1")
def configure_FSCrossEntropyLoss_v1(
    *,
    m: int,
    num_classes: int,
    class_balance: Optional[Sequence[float]] = None,
    buffer_capacity: int = 100,
    update_frequency: int = 10,
    clamp_vals: bool = False,
    weight: Optional[Sequence[float]] = None,
    uncovered: str = "keep",
    model_options: Optional[Dict[str, Any]] = None,
    normalize: bool = True,
    from_logits: bool = False,
) -> FSCrossEntropyLoss:
    """Config factory of :class:`FSCrossEntropyLoss`:
    ``@losses = "weaksup.FSCrossEntropyLoss.v1"``."""
    return FSCrossEntropyLoss(
        m, num_classes, class_balance=None if class_balance is None else list(class_balance),
        buffer_capacity=buffer_capacity, update_frequency=update_frequency, clamp_vals=clamp_vals,
        weight=None if weight is None else list(weight), uncovered=uncovered,
        model_options=dict(model_options or {}), normalize=normalize, from_logits=from_logits,
    )


# ---------------------------------------------------------------------------
# The PyTorch wrapper
# ---------------------------------------------------------------------------
def _new_shim_id() -> int:
    with Shim.global_id_lock:
        Shim.global_id += 1
        return Shim.global_id


class WeaksupPyTorchShim(PyTorchShim):
    """Thinc's ``PyTorchShim`` with ``use_params``, dropout, resizing and
    parameter-only serialisation that work. Everything else (forward,
    backprop, ``finish_update``, mixed precision) is Thinc's."""

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
        _match_linear_shapes(self, state)
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


def _set_dropout(module: nn.Module, rate: float) -> None:
    for sub in module.modules():
        if isinstance(sub, nn.modules.dropout._DropoutNd):
            sub.p = rate


def _forward(model: Model, X: Any, is_train: bool) -> Tuple[Any, Callable]:
    rate = model.attrs.get("dropout_rate")
    if rate is not None:
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"dropout_rate == {rate}, must be in [0, 1)")
        _set_dropout(model.shims[0]._model, float(rate))
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


def _linears(module: nn.Module) -> List[Tuple[str, nn.Linear]]:
    return [(name, sub) for name, sub in module.named_modules() if isinstance(sub, nn.Linear)]


def _pick_linear(shim: PyTorchShim, layer: Optional[str], last: bool) -> Tuple[str, nn.Linear]:
    found = _linears(shim._model)
    if not found:
        raise ValueError(
            f"the wrapped {type(shim._model).__name__} has no torch.nn.Linear layer to resize"
        )
    if layer is None:
        return found[-1] if last else found[0]
    for name, lin in found:
        if name == layer:
            return name, lin
    names = ", ".join(repr(n) for n, _ in found)
    raise ValueError(f"layer {layer!r} is not a torch.nn.Linear of the wrapped model; its linear layers: {names}")


def _resized_linear(lin: nn.Linear, out_features: int, in_features: int) -> nn.Linear:
    new = nn.Linear(in_features, out_features, bias=lin.bias is not None,
                    device=lin.weight.device, dtype=lin.weight.dtype)
    o, i = min(out_features, lin.out_features), min(in_features, lin.in_features)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[:o, :i] = lin.weight[:o, :i]
        if lin.bias is not None:
            new.bias.zero_()
            new.bias[:o] = lin.bias[:o]
    new.train(lin.training)
    return new


def _replace_module(shim: PyTorchShim, name: str, new: nn.Module) -> None:
    if name == "":
        shim._model = new
        return
    parent_name, _, child = name.rpartition(".")
    parent = shim._model.get_submodule(parent_name) if parent_name else shim._model
    setattr(parent, child, new)


def _match_linear_shapes(shim: PyTorchShim, state: Dict[str, torch.Tensor]) -> None:
    """Resize the linear layers whose saved weights have another shape (a
    model that was resized before it was saved)."""
    changed = False
    for name, lin in _linears(shim._model):
        key = f"{name}.weight" if name else "weight"
        saved = state.get(key)
        if saved is None or tuple(saved.shape) == tuple(lin.weight.shape) or saved.dim() != 2:
            continue
        _replace_module(shim, name, _resized_linear(lin, int(saved.shape[0]), int(saved.shape[1])))
        changed = True
    if changed:
        shim.id = _new_shim_id()


def _check_size(new_size: Any, what: str) -> int:
    if isinstance(new_size, bool) or not isinstance(new_size, (int, np.integer)):
        raise TypeError(f"new_size must be an int, got {type(new_size).__name__} {new_size!r}")
    if new_size < 1:
        raise ValueError(f"new_size == {new_size}, must be >= 1 ({what})")
    return int(new_size)


def resize_output(model: "TorchModel", new_size: int, *, layer: Optional[str] = None) -> "TorchModel":
    """Give the output linear layer ``new_size`` neurons, in place; returns ``model``.

    The layer is the last ``torch.nn.Linear`` of the wrapped module (or the
    one named ``layer``, as in ``named_modules()``). Growing adds neurons
    whose weights and bias are zero (their logit is 0 for every input, and
    the existing outputs are unchanged); shrinking drops the last neurons.
    This is how a class is added to a trained model. The optimizer's state
    (moments, averages) for this model starts afresh: the shim gets a new id.
    """
    new_size = _check_size(new_size, "output neurons")
    shim = model.shims[0]
    name, lin = _pick_linear(shim, layer, last=True)
    if new_size != lin.out_features:
        _replace_module(shim, name, _resized_linear(lin, new_size, lin.in_features))
        shim.id = _new_shim_id()
    if layer is None or name == _linears(shim._model)[-1][0]:
        model.set_dim("nO", new_size, force=True)
    return model


def resize_input(model: "TorchModel", new_size: int, *, layer: Optional[str] = None) -> "TorchModel":
    """Give the input linear layer ``new_size`` inputs, in place; returns ``model``.

    The layer is the first ``torch.nn.Linear`` of the wrapped module (or the
    one named ``layer``). New inputs get zero weights (the output ignores them
    until training moves them); shrinking drops the last inputs. This is how a
    labeling function (a vote feature) is added to a trained model. The
    optimizer's state for this model starts afresh (the shim gets a new id).
    """
    new_size = _check_size(new_size, "input features")
    shim = model.shims[0]
    name, lin = _pick_linear(shim, layer, last=False)
    if new_size != lin.in_features:
        _replace_module(shim, name, _resized_linear(lin, lin.out_features, new_size))
        shim.id = _new_shim_id()
    if layer is None or name == _linears(shim._model)[0][0]:
        model.set_dim("nI", new_size, force=True)
    return model


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

    def resize_output(self, new_size: int, *, layer: Optional[str] = None) -> "TorchModel":
        """See :func:`resize_output`."""
        return resize_output(self, new_size, layer=layer)

    def resize_input(self, new_size: int, *, layer: Optional[str] = None) -> "TorchModel":
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
        # nI/nO mirror the first/last linear layer, which resizing and loading
        # change: a TorchModel has no Thinc parameters, so a change is safe.
        super().set_dim(name, value, force=True)

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
    if dropout is not None and not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout == {dropout}, must be in [0, 1) or None")
    from thinc.layers.pytorchwrapper import convert_pytorch_default_outputs

    shim = WeaksupPyTorchShim(
        pytorch_model, mixed_precision=mixed_precision, grad_scaler=grad_scaler, device=device,
    )
    linears = _linears(pytorch_model)
    model = TorchModel(
        "weaksup_pytorch",
        _forward,
        attrs={
            "convert_inputs": convert_inputs or convert_pytorch_inputs,
            "convert_outputs": convert_outputs or convert_pytorch_default_outputs,
            "dropout_rate": dropout,
            "resize_output": _resize_output_attr,
        },
        shims=[shim],
        dims={
            "nI": linears[0][1].in_features if linears else None,
            "nO": linears[-1][1].out_features if linears else None,
        },
    )
    return model

