"""Majority vote: the baseline every label model has to beat.

``MajorityVote`` has the label models' API (``fit``, ``partial_fit``,
``predict_proba``, ``predict``, ``predict_proba_marginalized``,
``estimated_accuracies``) so comparing against it is a one-line change.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
import torch

from ._backend import TINY, ArrayLike, as_tensor
from ._validation import check_int
from .base import NotFittedError, unchanged_on_error
from .class_balance import estimate_class_balance, resolve_class_balance
from .conventions import check_convention, check_votes, warn_if_convention_misread
from .functional import majority_vote_proba
from .statistics import VoteStatistics, accumulate

__all__ = ["MajorityVote"]


class MajorityVote:
    """Each item's label is the class most LFs voted for.

    ``predict_proba`` returns the share of votes each class got; a tie splits
    the probability evenly between the tied classes, and an item on which every
    LF abstains gets the class balance (``class_balance`` or ``Y_dev`` given
    to ``fit``, else estimated from the votes; see :mod:`weaksup.class_balance`). ``predict`` breaks ties towards the class
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
        self.m = None if m is None else check_int(m, "m", minimum=1)
        self.cardinality = check_int(cardinality, "cardinality", minimum=2)
        self.convention = check_convention(convention)
        if convention == "flyingsquid" and cardinality != 2:
            raise ValueError("FlyingSquid votes are binary: use convention='snorkel' for cardinality > 2")

    @property
    def groups(self) -> Tuple:
        """LF groups the statistics must track: none (only the vote counts are read)."""
        return ()

    def _codes(self, L: ArrayLike, allow_empty: bool = False) -> torch.Tensor:
        return check_votes(
            L, convention=self.convention, n_lfs=getattr(self, "n_lfs_", self.m),
            cardinality=self.cardinality, allow_empty=allow_empty, name="L",
        )

    def accumulate(self, L: ArrayLike) -> VoteStatistics:
        """Validate votes ``(n, m)`` in the model's convention and count their statistics."""
        return accumulate(self._codes(L), self.cardinality)

    def fit(
        self, L: ArrayLike, class_balance: Optional[ArrayLike] = None, Y_dev: Optional[ArrayLike] = None, **_ignored: Any
    ) -> "MajorityVote":
        """Record ``m`` and the class balance (for all-abstain rows and ties).

        The class balance follows :mod:`weaksup.class_balance`: ``class_balance``
        (or ``"uniform"``), else ``Y_dev`` counted, else estimated from the
        votes. Other keyword arguments (a label model's fit options) are
        accepted and ignored, so a comparison is a one-line change. Warns once
        when ``L`` looks misread (:func:`~weaksup.conventions.warn_if_convention_misread`).
        """
        stats = self.accumulate(L)
        self.fit_statistics(stats, class_balance=class_balance, Y_dev=Y_dev)
        warn_if_convention_misread(stats, self.convention, owner=self, name="L")
        return self

    def partial_fit(
        self, L: ArrayLike, class_balance: Optional[ArrayLike] = None, Y_dev: Optional[ArrayLike] = None, **_ignored: Any
    ) -> "MajorityVote":
        """Add ``L``'s statistics to those seen so far; the balance is re-resolved on all of them."""
        batch = self.accumulate(L)
        previous = getattr(self, "statistics_", None)
        stats = batch if previous is None else previous + batch
        if class_balance is None and Y_dev is None:
            class_balance, Y_dev = getattr(self, "_balance_args", (None, None))
        self.fit_statistics(stats, class_balance=class_balance, Y_dev=Y_dev)
        warn_if_convention_misread(batch, self.convention, owner=self, name="L")
        return self

    def fit_statistics(
        self, stats: VoteStatistics, class_balance: Optional[ArrayLike] = None, Y_dev: Optional[ArrayLike] = None
    ) -> "MajorityVote":
        """Set ``n_lfs_`` and ``class_balance_`` from statistics; returns ``self``."""
        if not isinstance(stats, VoteStatistics):
            raise TypeError(f"stats must be VoteStatistics (from accumulate), got {type(stats).__name__}")
        if stats.cardinality != self.cardinality:
            raise ValueError(f"stats: statistics of {stats.cardinality} classes do not fit cardinality={self.cardinality}")
        m_known = getattr(self, "n_lfs_", self.m)
        if m_known is not None and stats.n_lfs != m_known:
            raise ValueError(f"stats: statistics of {stats.n_lfs} LFs do not fit a model of {m_known} LFs")
        pi = resolve_class_balance(class_balance, Y_dev, cardinality=self.cardinality, convention=self.convention)
        with unchanged_on_error(self):
            self.class_balance_ = (estimate_class_balance(stats) if pi is None else pi).cpu()
            self._balance_args = (class_balance, Y_dev)
            self.statistics_ = stats
            self.n_lfs_ = stats.n_lfs
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "class_balance_"):
            raise NotFittedError("this MajorityVote is not fitted yet; call fit(L) first")

    def log_scores(self, codes: torch.Tensor) -> torch.Tensor:
        """``(n, k)`` log of :meth:`predict_proba`'s probabilities for codes (-1 = abstain)."""
        self._check_fitted()
        return majority_vote_proba(codes, self.cardinality, self.class_balance_).clamp(min=TINY).log()

    def predict_proba(self, L: ArrayLike, **_ignored: Any) -> ArrayLike:
        """``(n, k)`` :func:`weaksup.functional.majority_vote_proba` of ``L``."""
        self._check_fitted()
        t, back = as_tensor(L, name="L")
        codes = self._codes(t, allow_empty=True)
        return back(majority_vote_proba(codes, self.cardinality, self.class_balance_))

    def predict_proba_marginalized(self, L: ArrayLike, **_ignored: Any) -> ArrayLike:
        """P(class 1) for binary votes: ``(n,)``."""
        probs, back = as_tensor(self.predict_proba(L))
        return back(probs[:, 1])

    def predict(self, L: ArrayLike, **_ignored: Any) -> ArrayLike:
        """``(n,)`` the class with the most votes, in the convention (FlyingSquid: -1/+1)."""
        self._check_fitted()
        t, back = as_tensor(L, name="L")
        codes = self._codes(t, allow_empty=True)
        probs = majority_vote_proba(codes, self.cardinality, self.class_balance_)
        # ties (and all-abstain rows): the larger class balance first, then the lower index.
        # A winner's share is at least 1/k, so k (k + 1) * share outweighs any rank (< k).
        k = self.cardinality
        rank = torch.argsort(torch.argsort(-self.class_balance_, stable=True)).to(probs.device)
        best = (probs * (k * (k + 1)) - rank).argmax(1)
        if self.convention == "flyingsquid":
            best = 2 * best - 1
        return back(best)

    def estimated_accuracies(self) -> np.ndarray:
        """Majority vote has no accuracy estimates: all LFs are trusted alike."""
        raise NotImplementedError("majority vote does not estimate LF accuracies")
