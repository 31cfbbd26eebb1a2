"""Majority vote: the baseline every label model has to beat.

``MajorityVote`` has the label models' API (``fit``, ``partial_fit``,
``predict_proba``, ``predict``, ``predict_proba_marginalized``,
``estimated_accuracies``) so comparing against it is a one-line change.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from ._backend import ArrayLike, as_tensor
from .conventions import check_convention, check_labels, check_votes
from .label_model import NotFittedError


class MajorityVote:
    """Each item's label is the class most LFs voted for.

    ``predict_proba`` returns the share of votes each class got; a tie splits
    the probability evenly between the tied classes, and an item on which every
    LF abstains gets the class balance (uniform unless ``class_balance`` or
    ``Y_dev`` was given to ``fit``). ``predict`` breaks ties towards the class
    with the larger class balance, then the lower class index: deterministic.

    Args:
        m: number of LFs (checked when given). Default: taken from the first fit.
        cardinality: number of classes ``k``. Default: 2.
        convention: ``"flyingsquid"`` (votes -1/0/+1, 0 = abstain; binary only)
            or ``"snorkel"`` (-1 = abstain, classes 0..k-1). Default: FlyingSquid,
            like :class:`~weaksup.LabelModel`.

    Shape:
        - ``L``: ``(n, m)``.
        - ``predict_proba(L)``: ``(n, k)``, columns in class order (FlyingSquid:
          column 0 is -1, column 1 is +1).
        - ``predict(L)``: ``(n,)`` labels in the convention (FlyingSquid: -1/+1).

    Example:
        >>> import numpy as np
        >>> from weaksup.baselines import MajorityVote
        >>> MajorityVote(convention="snorkel", cardinality=3).fit([[0, 0, 2], [1, -1, -1]]).predict([[0, 0, 2], [1, -1, -1]])
        array([0, 1])
    """

    def __init__(self, m: Optional[int] = None, cardinality: int = 2, convention: str = "flyingsquid") -> None:
        self.m = m
        self.cardinality = cardinality
        self.convention = check_convention(convention)
        if convention == "flyingsquid" and cardinality != 2:
            raise ValueError("FlyingSquid votes are binary: use convention='snorkel' for cardinality > 2")
        if not isinstance(cardinality, int) or cardinality < 2:
            raise ValueError(f"cardinality must be an int >= 2, got {cardinality!r}")

    def _codes(self, L: ArrayLike, allow_empty: bool = False) -> torch.Tensor:
        return check_votes(
            L, convention=self.convention, n_lfs=getattr(self, "n_lfs_", self.m),
            cardinality=self.cardinality, allow_empty=allow_empty,
        )

    def fit(self, L: ArrayLike, class_balance: Optional[ArrayLike] = None, Y_dev: Optional[ArrayLike] = None, **_ignored) -> "MajorityVote":
        """Record ``m`` and the class balance (for all-abstain rows and ties)."""
        codes = self._codes(L)
        self.n_lfs_ = codes.shape[1]
        k = self.cardinality
        if class_balance is not None:
            cb, _ = as_tensor(class_balance)
            cb = cb.to(torch.float64).reshape(-1).cpu()
            if cb.numel() != k or bool((cb < 0).any()) or float(cb.sum()) <= 0:
                raise ValueError(f"class_balance must be {k} non-negative numbers, not all zero")
            self.class_balance_ = cb / cb.sum()
        elif Y_dev is not None:
            y = check_labels(Y_dev, convention=self.convention, cardinality=k, name="Y_dev").cpu()
            counts = torch.bincount(y, minlength=k).to(torch.float64)
            self.class_balance_ = counts / counts.sum()
        else:
            self.class_balance_ = torch.full((k,), 1.0 / k, dtype=torch.float64)
        return self

    partial_fit = fit

    def _check_fitted(self) -> None:
        if not hasattr(self, "class_balance_"):
            raise NotFittedError("this MajorityVote is not fitted yet; call fit(L) first")

    def vote_counts(self, codes: torch.Tensor) -> torch.Tensor:
        """``(n, k)`` number of votes per class of validated codes."""
        k = self.cardinality
        counts = torch.zeros((codes.shape[0], k), dtype=torch.float64, device=codes.device)
        return counts.scatter_add_(1, codes.clamp(min=0), (codes >= 0).to(torch.float64))

    def predict_proba(self, L: ArrayLike, **_ignored) -> ArrayLike:
        self._check_fitted()
        t, back = as_tensor(L)
        codes = self._codes(t, allow_empty=True)
        counts = self.vote_counts(codes)
        top = counts.max(1, keepdim=True).values
        winners = (counts == top) & (top > 0)
        probs = winners.to(torch.float64) / winners.sum(1, keepdim=True).clamp(min=1)
        none = top[:, 0] == 0
        probs[none] = self.class_balance_.to(probs.device)
        return back(probs)

    def predict_proba_marginalized(self, L: ArrayLike, **_ignored) -> ArrayLike:
        """P(class 1) for binary votes: ``(n,)``."""
        probs, back = as_tensor(self.predict_proba(L))
        return back(probs[:, 1])

    def predict(self, L: ArrayLike, **_ignored) -> ArrayLike:
        self._check_fitted()
        t, back = as_tensor(L)
        codes = self._codes(t, allow_empty=True)
        counts = self.vote_counts(codes)
        # ties: larger class balance first, then lower index (a tiny, exact tie-breaker)
        k = self.cardinality
        rank = torch.argsort(torch.argsort(-self.class_balance_, stable=True)).to(counts.device)
        best = (counts * (k + 1) - rank).argmax(1)
        if self.convention == "flyingsquid":
            best = 2 * best - 1
        return back(best)

    def estimated_accuracies(self) -> np.ndarray:
        """Majority vote has no accuracy estimates: all LFs are trusted alike."""
        raise NotImplementedError("majority vote does not estimate LF accuracies")
