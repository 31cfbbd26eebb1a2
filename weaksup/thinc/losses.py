"""Thinc losses over weaksup's online PyTorch losses.

``thinc.loss.Loss`` contract: ``loss(guesses, votes) -> (d_guesses, loss)``,
``get_grad``, ``get_loss``.

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

The registry names are registered when this module is imported (Thinc's
``registry.losses`` decorator), which is how Thinc's entry points
``thinc_losses`` find them.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from thinc.api import registry
from thinc.loss import Loss

from .._backend import as_tensor
from .._validation import check_bool, check_choice
from ..nn import FSCrossEntropyLoss as TorchFSCrossEntropyLoss
from ..nn import FSLoss as TorchFSLoss

__all__ = [
    "FSCrossEntropyLoss",
    "FSLoss",
    "OnlineLoss",
    "configure_FSCrossEntropyLoss_v1",
    "configure_FSLoss_v1",
]

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(normalize: Optional[bool], reduction: Optional[str]) -> str:
    """The module's ``reduction`` from Thinc's ``normalize`` and/or torch's ``reduction``."""
    if normalize is not None:
        normalize = check_bool(normalize, "normalize")
    if reduction is None:
        return "sum" if normalize is False else "mean"
    reduction = check_choice(reduction, "reduction", _REDUCTIONS)
    if normalize is not None and normalize != (reduction == "mean"):
        raise ValueError(
            f"normalize={normalize} and reduction={reduction!r} disagree: normalize=True is "
            "reduction='mean', normalize=False is 'sum' (or 'none'); give one of them"
        )
    return reduction


class OnlineLoss(Loss):
    """A Thinc loss over one of weaksup's online PyTorch losses.

    Each call adds the batch's votes to the module's buffer (refitting the
    label model when due, see :mod:`weaksup.nn`) and returns the gradient of
    the module's loss with respect to the logits, computed by autograd. The
    module's state is the loss's state: ``loss.module.state_dict()``
    checkpoints it, ``loss.module.last_targets`` holds the last soft labels.

    With ``reduction='none'`` the loss is one value per item (an array of
    the guesses' kind, the shape the module returns) and the gradient is that
    of their sum: each item's own gradient, not divided by ``n``.

    Because every call advances the online state, compute both parts with
    one ``loss(guesses, votes)``. ``get_grad`` and ``get_loss`` also stand
    alone (each makes one step); called with the very same ``guesses`` and
    ``votes`` objects as the call just before, they return that call's
    result instead of stepping again.

    Args:
        module: a :class:`weaksup.nn.FSLoss` or
            :class:`weaksup.nn.FSCrossEntropyLoss` (any ``reduction``:
            ``'mean'``, ``'sum'`` or ``'none'``).
        from_logits: the guesses are logits instead of probabilities.
            Default: ``False`` (Thinc's convention: the output of ``Softmax`` /
            ``Sigmoid``).
    """

    def __init__(self, module: nn.Module, *, from_logits: bool = False) -> None:
        if getattr(module, "reduction", None) not in _REDUCTIONS:
            raise ValueError(
                f"module must be one of weaksup.nn's online losses, with reduction 'mean', 'sum' or "
                f"'none'; got {type(module).__name__} with reduction {getattr(module, 'reduction', None)!r}"
            )
        self.module = module
        self.from_logits = check_bool(from_logits, "from_logits")
        self._last: Optional[Tuple[Any, Any, Any, Any]] = None

    @property
    def normalize(self) -> bool:
        """True when the loss (and gradient) is averaged over the batch."""
        return self.module.reduction == "mean"

    # -- Thinc's contract -----------------------------------------------
    def __call__(self, guesses: Any, truths: Any) -> Tuple[Any, Any]:
        grad, loss = self._step(guesses, truths)
        self._last = (guesses, truths, grad, loss)
        return grad, loss

    def get_grad(self, guesses: Any, truths: Any) -> Any:
        return self._cached(guesses, truths)[0]

    def get_loss(self, guesses: Any, truths: Any) -> Any:
        return self._cached(guesses, truths)[1]

    def _cached(self, guesses: Any, truths: Any) -> Tuple[Any, Any]:
        last = self._last
        if last is not None and last[0] is guesses and last[1] is truths:
            return last[2], last[3]
        return self(guesses, truths)

    # -- the one conversion ---------------------------------------------
    def _to_logits(self, p: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _check_guesses(self, p: torch.Tensor) -> None:
        pass

    def _step(self, guesses: Any, truths: Any) -> Tuple[Any, Any]:
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
        (grad,) = torch.autograd.grad(loss.sum() if loss.dim() else loss, logits)
        d_guesses = back(grad.to(g.dtype).reshape(g.shape))
        if loss.dim():  # reduction='none': one loss per item
            return d_guesses, back(loss.detach().to(g.dtype))
        return d_guesses, float(loss.detach())

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
            summing (``'sum'``). Default: ``True``.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (one loss per item), as
            in :class:`weaksup.nn.FSLoss`; an alternative to ``normalize``
            (giving both is fine when they agree). Default: from ``normalize``.
        from_logits: the guesses are logits. Default: ``False``.
        **options: the other arguments of :class:`weaksup.nn.FSLoss`
            (``buffer_capacity``, ``update_frequency``, ``cb``, ``v``, ...).

    Shape:
        - guesses: ``(n,)``, ``(n, 1)`` or ``(n, v)`` probabilities.
        - truths: ``(n, m)`` votes in {-1, 0, +1} (0 = abstain).
        - d_guesses: the shape of ``guesses``; loss: a float (``reduction='none'``:
          one value per item).

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

    def __init__(
        self,
        m: int,
        *,
        normalize: Optional[bool] = None,
        reduction: Optional[str] = None,
        from_logits: bool = False,
        **options: Any,
    ) -> None:
        module = TorchFSLoss(m, reduction=_reduction(normalize, reduction), **options)
        super().__init__(module, from_logits=from_logits)

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
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (one loss per item); an
            alternative to ``normalize``. Default: from ``normalize``.
        from_logits: the guesses are logits. Default: ``False``.
        **options: the other arguments of :class:`weaksup.nn.FSCrossEntropyLoss`
            (``buffer_capacity``, ``update_frequency``, ``class_balance``, ...).

    Shape:
        - guesses: ``(n, k)`` probabilities (rows sum to 1).
        - truths: ``(n, m)`` votes in ``-1..k-1`` (``-1`` = abstain).
        - d_guesses: ``(n, k)``; loss: a float (``reduction='none'``: ``(n,)``).

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
        self,
        m: int,
        num_classes: int,
        *,
        normalize: Optional[bool] = None,
        reduction: Optional[str] = None,
        from_logits: bool = False,
        **options: Any,
    ) -> None:
        module = TorchFSCrossEntropyLoss(m, num_classes, reduction=_reduction(normalize, reduction), **options)
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
    normalize: Optional[bool] = None,
    reduction: Optional[str] = None,
    from_logits: bool = False,
) -> FSLoss:
    """Config factory of :class:`FSLoss`: ``@losses = "weaksup.FSLoss.v1"``."""
    return FSLoss(
        m, v=v, task_deps=[tuple(e) for e in task_deps], lf_task_deps=[tuple(e) for e in lf_task_deps],
        lf_deps=[tuple(e) for e in lf_deps], cb=None if cb is None else list(cb),
        allow_abstentions=allow_abstentions, buffer_capacity=buffer_capacity,
        update_frequency=update_frequency, clamp_vals=clamp_vals,
        pos_weight=None if pos_weight is None else list(pos_weight), uncovered=uncovered,
        solve_method=solve_method, normalize=normalize, reduction=reduction, from_logits=from_logits,
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
    normalize: Optional[bool] = None,
    reduction: Optional[str] = None,
    from_logits: bool = False,
) -> FSCrossEntropyLoss:
    """Config factory of :class:`FSCrossEntropyLoss`:
    ``@losses = "weaksup.FSCrossEntropyLoss.v1"``."""
    return FSCrossEntropyLoss(
        m, num_classes, class_balance=None if class_balance is None else list(class_balance),
        buffer_capacity=buffer_capacity, update_frequency=update_frequency, clamp_vals=clamp_vals,
        weight=None if weight is None else list(weight), uncovered=uncovered,
        model_options=dict(model_options or {}), normalize=normalize, reduction=reduction, from_logits=from_logits,
    )
