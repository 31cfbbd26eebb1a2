"""The label-model contract shared by weaksup's models and accepted by its losses.

:class:`LabelModelProtocol` is what :class:`~weaksup.LabelModel`,
:class:`~weaksup.MulticlassLabelModel` and :class:`~weaksup.MajorityVote`
implement, and what the losses' ``label_model=`` argument accepts: any object
with these members works, no type names are tested.

The flow is ``votes --accumulate--> VoteStatistics --fit_statistics-->
parameters --log_scores--> P(y | votes)``:

* ``accumulate(L)`` validates a vote matrix in the model's ``convention`` and
  counts its :class:`~weaksup.statistics.VoteStatistics` (tracking the LF
  ``groups`` the model needs);
* ``fit_statistics(stats, class_balance=None, Y_dev=None)`` fits from counts
  alone and returns the model; ``fit(L, ...)`` is ``accumulate`` then
  ``fit_statistics``, and ``partial_fit`` adds to the counts seen so far;
* ``log_scores(codes)`` scores validated *codes* ``(n, m)`` (``-1`` =
  abstain, ``0..k-1`` = class, whatever the convention) as an unnormalised
  log posterior ``(n, k)``; ``predict_proba(L)`` is its softmax over votes in
  the model's convention.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional, Protocol, Tuple, runtime_checkable

import torch

from .statistics import VoteStatistics

__all__ = ["LabelModelProtocol", "NotFittedError", "unchanged_on_error"]


class NotFittedError(RuntimeError):
    """Raised when a model is used before ``fit``; the message says which call to make."""


@runtime_checkable
class LabelModelProtocol(Protocol):
    """A label model: votes of ``m`` labeling functions in, ``P(y | votes)`` out.

    Attributes:
        cardinality: the number of classes ``k`` (2 for FlyingSquid votes;
            a FlyingSquid model of ``v`` tasks scores ``2**v`` label vectors).
        convention: ``"flyingsquid"`` (0 = abstain) or ``"snorkel"`` (-1 =
            abstain), the convention of ``L`` in ``fit``/``predict_proba``.
        groups: LF groups whose joint vote tables the statistics must count.
        class_balance_: ``(k,)`` float64, after a fit.
        n_lfs_: ``m``, after a fit.
    """

    cardinality: int
    convention: str

    @property
    def groups(self) -> Tuple[Tuple[int, ...], ...]:
        """LF groups whose joint vote tables :meth:`accumulate` counts."""

    def accumulate(self, L: Any) -> VoteStatistics:
        """Validate votes ``(n, m)`` in :attr:`convention`; count their statistics. Changes nothing."""

    def fit(self, L: Any, class_balance: Optional[Any] = None, Y_dev: Optional[Any] = None) -> Any:
        """Fit on votes ``L`` ``(n, m)``; returns the model."""

    def partial_fit(self, L: Any, class_balance: Optional[Any] = None, Y_dev: Optional[Any] = None) -> Any:
        """Add ``L``'s statistics to those seen so far and refit; returns the model."""

    def fit_statistics(
        self, stats: VoteStatistics, class_balance: Optional[Any] = None, Y_dev: Optional[Any] = None
    ) -> Any:
        """Fit from statistics alone (no pass over items); returns the model."""

    def log_scores(self, codes: torch.Tensor) -> torch.Tensor:
        """Unnormalised log posterior ``(n, k)`` of codes ``(n, m)`` (-1 = abstain, classes 0..k-1)."""

    def predict_proba(self, L: Any) -> Any:
        """``P(y | votes)`` ``(n, k)`` of votes in :attr:`convention`, rows summing to 1."""


@contextlib.contextmanager
def unchanged_on_error(model: Any) -> Iterator[None]:
    """Restore ``model``'s attributes if the block raises.

    The models validate every argument before they change state; this guard
    also covers what only the computation can find (a graph without a
    triplet, for example), so a call that raises leaves the model exactly as
    it was: the same fitted parameters, statistics and remembered options.
    Attributes are restored by reference (fitting replaces tensors, it does
    not write into them).
    """
    saved = dict(model.__dict__)
    try:
        yield
    except BaseException:
        model.__dict__.clear()
        model.__dict__.update(saved)
        raise
