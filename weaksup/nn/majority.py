"""Majority vote as a loss: :class:`MajorityVoteLoss`, the stateless baseline."""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn as nn

from .. import functional as WF
from .._backend import as_tensor
from .._validation import check_choice
from ..conventions import check_votes
from ._batch import item_weight as check_item_weight
from ._batch import optional_float_buffer
from ._online import UNCOVERED

__all__ = ["MajorityVoteLoss"]


class MajorityVoteLoss(nn.Module):
    r"""Majority vote as a loss (a baseline): BCE with logits against the vote share.

    A fixed drop-in for ``flyingsquid.pytorch_loss.MajorityVoteLoss`` (which
    fails on a missing import). Votes are FlyingSquid's (``+1``/``-1``, ``0`` =
    abstain). The target is P(+1) of :func:`weaksup.functional.majority_vote_proba`:
    1 when more LFs vote +1 than -1, 0 when fewer, 0.5 on a tie and on an item
    without votes (upstream gave both 0: a bias towards the negative class).
    Stateless.

    Args:
        device: kept for upstream compatibility (the loss follows its inputs).
            Default: ``'cpu'``.
        pos_weight: weight of positive examples. Default: ``None``.
        reduction: ``'none' | 'mean' | 'sum'``. Default: ``'mean'``.
        uncovered: items on which every LF abstains: ``'keep'`` (target 0.5)
            or ``'ignore'``. Default: ``'keep'``.

    Shape:
        - predictions: ``(n,)`` or ``(n, 1)`` logits.
        - weak_labels: ``(n, m)`` votes in {-1, 0, +1}.
        - weight (forward): ``(n,)`` finite per-item weights. Optional.
        - output: scalar; ``'none'``: the shape of ``predictions``.

    Example:
        >>> import torch
        >>> from weaksup.nn import MajorityVoteLoss
        >>> loss = MajorityVoteLoss()(torch.zeros(2), torch.tensor([[1, 1, -1], [0, 0, 0]]))
        >>> round(loss.item(), 4)
        0.6931
    """

    def __init__(
        self, device: Any = "cpu", pos_weight: Any = None, *, reduction: str = "mean", uncovered: str = "keep"
    ) -> None:
        super().__init__()
        self.reduction = WF.check_reduction(reduction)
        self.uncovered = check_choice(uncovered, "uncovered", UNCOVERED)
        self.register_buffer("pos_weight", optional_float_buffer(pos_weight, "pos_weight"))
        self.to(device)

    def forward(
        self,
        predictions: torch.Tensor,
        weak_labels: Any,
        update_frequency: Optional[int] = None,
        *,
        weight: Any = None,
    ) -> torch.Tensor:
        """Loss of ``predictions`` against the majority vote of ``weak_labels``
        (``update_frequency`` is accepted and ignored, as upstream)."""
        if not isinstance(predictions, torch.Tensor) or not predictions.is_floating_point():
            raise TypeError("predictions must be a floating-point tensor of logits")
        votes, _ = as_tensor(weak_labels, name="weak_labels")
        if votes.device != predictions.device:
            if isinstance(weak_labels, torch.Tensor):
                raise ValueError(f"weak_labels are on {votes.device} but predictions on {predictions.device}")
            votes = votes.to(predictions.device)
        codes = check_votes(votes, convention="flyingsquid", name="weak_labels", allow_empty=True)
        n = codes.shape[0]
        if predictions.shape not in ((n,), (n, 1)):
            raise ValueError(
                f"predictions must have shape ({n},) or ({n}, 1) for {n} items, got {tuple(predictions.shape)}"
            )
        if n and not bool(torch.isfinite(predictions.detach()).all()):
            raise ValueError("predictions contain NaN or infinite logits; the loss would be NaN")
        item_weight = check_item_weight(weight, n, predictions)
        target = WF.majority_vote_proba(codes, 2)[:, 1].reshape(predictions.shape)
        valid = (codes >= 0).any(1) if self.uncovered == "ignore" else None
        return WF.fs_loss(predictions, target.to(predictions.dtype), pos_weight=self.pos_weight,
                          reduction=self.reduction, item_weight=item_weight, valid=valid)

