"""Stateless loss functions against soft labels (the math under :mod:`weaksup.nn`).

Each function takes the end model's logits and soft targets (probabilities that
some label model produced) and returns a loss that has a gradient with respect
to the logits only: the targets are treated as constants. The modules in
:mod:`weaksup.nn` keep the state (vote buffer, statistics, label model) and call
these functions once per batch.

Conventions shared by every function here:

- ``reduction`` is ``'none' | 'mean' | 'sum'`` (as in :mod:`torch.nn.functional`).
- ``item_weight`` ``(n,)`` multiplies each item's loss (all of its tasks).
- ``valid`` ``(n,)`` bool marks the items that count; the others contribute 0
  and are left out of the ``'mean'`` denominator (like ``ignore_index``). With
  no valid item, ``'mean'`` and ``'sum'`` return 0 (never NaN), still attached
  to the graph so ``backward()`` works and gives zero gradients.
- ``'mean'`` divides by the number of counted elements, not by the sum of the
  weights (PyTorch's convention for ``weight``).
- Half-precision logits (float16, bfloat16) are reduced in float32 and the
  ``'mean'``/``'sum'`` result is float32: a float16 sum over many items would
  overflow to ``inf`` (65504 is float16's largest value).
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F

REDUCTIONS = ("none", "mean", "sum")

__all__ = [
    "REDUCTIONS",
    "check_reduction",
    "fs_loss",
    "fs_cross_entropy",
    "majority_vote_proba",
    "majority_vote_targets",
]


def check_reduction(reduction: str) -> str:
    """Return ``reduction`` if it is one of ``'none' | 'mean' | 'sum'``, else raise."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"reduction must be one of {', '.join(repr(r) for r in REDUCTIONS)}, got {reduction!r}"
        )
    return reduction


_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _as(t: Optional[torch.Tensor], ref: torch.Tensor) -> Optional[torch.Tensor]:
    """``t`` as ``ref``'s dtype and device (no copy, no op when it already is)."""
    if t is None:
        return None
    if not isinstance(t, torch.Tensor):
        t = torch.as_tensor(t)
    if t.dtype != ref.dtype or t.device != ref.device:
        t = t.to(dtype=ref.dtype, device=ref.device)
    return t


def _check_item_vector(t: Optional[torch.Tensor], n: int, name: str, ref: torch.Tensor) -> Optional[torch.Tensor]:
    if t is None:
        return None
    t = torch.as_tensor(t, device=ref.device)
    if t.dim() != 1 or t.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) (one entry per item), got shape {tuple(t.shape)}")
    return t


def _check_same_shape(input: torch.Tensor, target: torch.Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"target must have the same shape as input, got input {tuple(input.shape)} "
            f"and target {tuple(target.shape)}"
        )


def _prepare(input: torch.Tensor, target: torch.Tensor, item_weight, valid, reduction: str):
    """The checked per-item vectors, ``input`` in float32 when a half-precision
    loss is reduced (the gradient flows back through the cast), and ``target``
    detached, in ``input``'s dtype and device."""
    n = input.shape[0]
    item_weight = _check_item_vector(item_weight, n, "item_weight", input)
    valid = _check_item_vector(valid, n, "valid", input)
    if input.dtype in _LOW_PRECISION and reduction != "none":
        input = input.float()
    return input, _as(target.detach(), input), item_weight, valid


def _reduce(loss: torch.Tensor, item_weight, valid, reduction: str) -> torch.Tensor:
    """Apply per-item weights and the valid mask to ``loss`` ``(n, ...)``, then reduce."""
    n = loss.shape[0]
    per_item = math.prod(loss.shape[1:])
    expand = (n,) + (1,) * (loss.dim() - 1)
    if item_weight is not None:
        loss = loss * item_weight.to(loss.dtype).reshape(expand)
    if valid is not None:
        valid = valid.to(torch.bool).reshape(expand)
        loss = torch.where(valid, loss, torch.zeros_like(loss))
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    if valid is None:
        count = torch.tensor(float(loss.numel()), dtype=loss.dtype, device=loss.device)
    else:
        count = valid.sum().to(loss.dtype) * per_item
    # an empty batch or one without a valid item gives 0, not 0/0
    return total / count.clamp(min=1)


def fs_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: Optional[torch.Tensor] = None,
    pos_weight: Optional[torch.Tensor] = None,
    reduction: str = "mean",
    item_weight: Optional[torch.Tensor] = None,
    valid: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    r"""Binary cross-entropy with logits against soft labels.

    .. math::
        \ell_{it} = -w_{it}\,[\,p_t\, q_{it} \log\sigma(x_{it})
                    + (1 - q_{it}) \log(1 - \sigma(x_{it}))\,]

    for logit :math:`x_{it}` and soft label :math:`q_{it} = P(Y_{it} = +1 \mid
    \text{votes})` of item ``i``, task ``t``. The gradient flows into ``input``
    only; ``target`` is detached. See :class:`weaksup.nn.FSLoss`.

    Args:
        input: logits. Must be finite.
        target: soft labels in [0, 1], same shape as ``input``.
        weight: rescaling weight broadcast against ``input`` (as in
            :func:`torch.nn.functional.binary_cross_entropy_with_logits`).
            Default: ``None``.
        pos_weight: weight of the positive class, broadcast against the last
            dimension (one per task). Default: ``None``.
        reduction: ``'none' | 'mean' | 'sum'``. Default: ``'mean'``.
        item_weight: ``(n,)`` per-item weight. Default: ``None``.
        valid: ``(n,)`` bool, items that count (see the module docstring).
            Default: ``None`` (all).

    Shape:
        - input: ``(n,)`` or ``(n, v)``, ``n`` items, ``v`` tasks.
        - target: same as input.
        - output: scalar; ``'none'``: same as input.

    Example:
        >>> import torch
        >>> from weaksup.functional import fs_loss
        >>> logits = torch.tensor([2.0, -1.0, 0.0], requires_grad=True)
        >>> soft = torch.tensor([0.9, 0.2, 0.5])
        >>> loss = fs_loss(logits, soft)
        >>> loss.backward()
        >>> round(loss.item(), 4)
        0.5111
    """
    check_reduction(reduction)
    _check_same_shape(input, target)
    if input.dim() not in (1, 2):
        raise ValueError(f"input must have shape (n,) or (n, v), got {tuple(input.shape)}")
    n = input.shape[0]
    input, target, item_weight, valid = _prepare(input, target, item_weight, valid, reduction)
    weight, pos_weight = _as(weight, input), _as(pos_weight, input)
    if item_weight is None and valid is None and n > 0:  # PyTorch's own reduction
        return F.binary_cross_entropy_with_logits(
            input, target, weight=weight, pos_weight=pos_weight, reduction=reduction
        )
    loss = F.binary_cross_entropy_with_logits(
        input, target, weight=weight, pos_weight=pos_weight, reduction="none"
    )
    return _reduce(loss, item_weight, valid, reduction)


def fs_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: Optional[torch.Tensor] = None,
    reduction: str = "mean",
    item_weight: Optional[torch.Tensor] = None,
    valid: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    r"""Cross-entropy of logits against soft class labels.

    .. math::
        \ell_i = -\sum_c w_c\, q_{ic} \log \operatorname{softmax}(x_i)_c

    with :math:`q_{ic} = P(Y_i = c \mid \text{votes})`. The gradient flows into
    ``input`` only. See :class:`weaksup.nn.FSCrossEntropyLoss`.

    Args:
        input: logits, finite.
        target: soft labels, rows summing to 1.
        weight: ``(k,)`` per-class weight (as in
            :func:`torch.nn.functional.cross_entropy`). Default: ``None``.
        reduction: ``'none' | 'mean' | 'sum'``. Default: ``'mean'``.
        item_weight: ``(n,)`` per-item weight. Default: ``None``.
        valid: ``(n,)`` bool, items that count. Default: ``None`` (all).

    Shape:
        - input: ``(n, k)``, ``k`` classes.
        - target: ``(n, k)``.
        - output: scalar; ``'none'``: ``(n,)``.

    Example:
        >>> import torch
        >>> from weaksup.functional import fs_cross_entropy
        >>> logits = torch.zeros(2, 3, requires_grad=True)
        >>> soft = torch.tensor([[0.8, 0.1, 0.1], [0.0, 0.5, 0.5]])
        >>> round(fs_cross_entropy(logits, soft).item(), 4)
        1.0986
    """
    check_reduction(reduction)
    if input.dim() != 2:
        raise ValueError(f"input must have shape (n, k), got {tuple(input.shape)}")
    _check_same_shape(input, target)
    n = input.shape[0]
    input, target, item_weight, valid = _prepare(input, target, item_weight, valid, reduction)
    weight = _as(weight, input)
    if n == 0:
        loss = input.sum(1) * 0.0
    elif item_weight is None and valid is None:  # PyTorch's own reduction
        return F.cross_entropy(input, target, weight=weight, reduction=reduction)
    else:
        loss = F.cross_entropy(input, target, weight=weight, reduction="none")
    return _reduce(loss, item_weight, valid, reduction)


def majority_vote_proba(
    codes: torch.Tensor, k: int, class_balance: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """Soft majority vote: THE majority-vote rule of weaksup.

    Each item's probability is split evenly among the classes with the most
    votes (a two-way tie gives ``0.5`` to each winner, the other classes 0).
    An item on which every LF abstains gets ``class_balance`` (the uniform
    distribution when it is ``None``). :class:`weaksup.baselines.MajorityVote`
    and :class:`weaksup.nn.MajorityVoteLoss` both use this function.

    Args:
        codes: validated vote codes, ``-1`` = abstain, ``0..k-1`` = class
            (see :mod:`weaksup.conventions`).
        k: number of classes (``>= 1``).
        class_balance: ``(k,)`` probabilities for all-abstain rows, already
            validated (as :func:`weaksup.class_balance.resolve_class_balance`
            returns them). Default: ``None`` (uniform).

    Shape:
        - codes: ``(n, m)`` integer.
        - output: ``(n, k)`` float64 on ``codes``' device, rows sum to 1.

    Example:
        >>> import torch
        >>> from weaksup.functional import majority_vote_proba
        >>> codes = torch.tensor([[1, 1, 0], [0, 1, -1], [-1, -1, -1]])
        >>> majority_vote_proba(codes, 2).tolist()
        [[0.0, 1.0], [0.5, 0.5], [0.5, 0.5]]
        >>> majority_vote_proba(codes, 2, torch.tensor([0.75, 0.25]))[2].tolist()
        [0.75, 0.25]
    """
    if codes.dim() != 2:
        raise ValueError(f"codes must have shape (n, m), got shape {tuple(codes.shape)}")
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be an int >= 1, got {k}")
    n = codes.shape[0]
    codes = codes.to(torch.int64)
    voted = codes >= 0
    counts = torch.zeros((n, k), dtype=torch.float64, device=codes.device)
    counts.scatter_add_(1, codes.clamp(min=0), voted.to(torch.float64))
    top = counts.amax(1, keepdim=True) if n else counts[:, :1]
    winners = (counts == top).to(torch.float64)
    probs = winners / winners.sum(1, keepdim=True)
    if class_balance is None:
        balance = torch.full((k,), 1.0 / k, dtype=torch.float64, device=codes.device)
    else:
        balance = torch.as_tensor(class_balance, dtype=torch.float64).to(codes.device).reshape(-1)
        if balance.shape[0] != k:
            raise ValueError(f"class_balance must have k = {k} entries, got {balance.shape[0]}")
    # an all-abstain row has top == 0: every class "wins" a zero count, replace it by the balance
    uncovered = top == 0
    return torch.where(uncovered, balance.expand(n, k), probs)


def majority_vote_targets(codes: torch.Tensor, cardinality: int = 2) -> torch.Tensor:
    """:func:`majority_vote_proba` with a uniform balance, as float32 (kept for
    existing callers).

    Shape:
        - codes: ``(n, m)`` int.
        - output: ``(n, k)`` float32, rows sum to 1.

    Example:
        >>> import torch
        >>> majority_vote_targets(torch.tensor([[1, 1, 0], [0, 1, -1], [-1, -1, -1]])).tolist()
        [[0.0, 1.0], [0.5, 0.5], [0.5, 0.5]]
    """
    return majority_vote_proba(codes, cardinality).to(torch.float32)
