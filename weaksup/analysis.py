"""Labeling-function analysis: the per-LF summary table and pairwise matrices.

All functions take a vote matrix ``L`` of shape ``(n, m)`` (``n`` items, ``m``
labeling functions) as numpy, torch, cupy or nested lists, in either vote
convention (see :mod:`weaksup.conventions`):

- ``"snorkel"``: ``-1`` = abstain, classes ``0..k-1``;
- ``"flyingsquid"``: ``0`` = abstain, ``-1`` / ``+1``.

When ``convention`` is not given (and no model carries one), it is read off
``L``; a matrix with values in {-1, 0, 1} alone is ambiguous and refused.

Coverage, overlaps and conflicts are fractions of all ``n`` items. Everything
is counted exactly, in integers: the pairwise matrices from the
:class:`~weaksup.statistics.VoteStatistics` of ``L``, the per-LF table in
blocks of rows (no loop over items).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ._backend import ArrayLike
from ._agreement import rank_correlation
from ._validation import check_int
from .conventions import check_convention, check_labels, check_votes, infer_convention, warn_if_convention_misread
from .statistics import VoteStatistics, accumulate

if TYPE_CHECKING:  # pandas loads when a table is built, not on import weaksup
    import pandas as pd

__all__ = ["lf_summary", "overlap_matrix", "conflict_matrix"]

# Largest number of elements one block of indicator matrices may hold.
_BLOCK_ELEMENTS = 1 << 24
# Largest number of classes read off the votes when cardinality is not given.
_MAX_INFERRED_CLASSES = 10_000


def _resolve_convention(L: ArrayLike, convention: Optional[str], model: Any) -> str:
    """``convention``, else the model's, else the one ``L`` carries (a
    :class:`weaksup.lf.Votes`), else read off ``L``'s values."""
    model_convention = getattr(model, "convention", None) if model is not None else None
    if convention is not None:
        check_convention(convention)
        if model_convention is not None and model_convention != convention:
            raise ValueError(
                f"convention={convention!r} contradicts the model's convention "
                f"{model_convention!r}: leave convention=None to use the model's"
            )
        return convention
    if model_convention is not None:
        return check_convention(model_convention)
    return infer_convention(L)  # honours L.convention


def _lf_names(lf_names: Optional[Sequence[str]], m: int) -> List[str]:
    if lf_names is None:
        return [f"lf_{j}" for j in range(m)]
    names = [str(s) for s in lf_names]
    if len(names) != m:
        raise ValueError(
            f"lf_names must hold {m} names (one per column of L), got {len(names)}"
        )
    seen = set()
    for s in names:
        if s in seen:
            raise ValueError(f"lf_names must be unique, but {s!r} appears more than once")
        seen.add(s)
    return names


def _prepare(
    L: ArrayLike,
    convention: Optional[str],
    cardinality: Optional[int],
    lf_names: Optional[Sequence[str]],
    model: Any = None,
) -> Tuple[torch.Tensor, str, int, List[str]]:
    """Codes ``(n, m)`` (-1 abstain), the convention, ``k`` and the LF names.

    A :class:`weaksup.lf.Votes` brings its own ``convention``, ``cardinality``
    and ``lf_names``; arguments given explicitly win."""
    if cardinality is None:
        cardinality = getattr(L, "cardinality", None)
    if lf_names is None:
        lf_names = getattr(L, "lf_names", None)
    convention = _resolve_convention(L, convention, model)
    if cardinality is not None:
        cardinality = check_int(cardinality, "cardinality", minimum=1)
    codes = check_votes(L, convention=convention, cardinality=cardinality, name="L")
    warn_if_convention_misread(codes, convention, name="L")
    k = 2 if convention == "flyingsquid" else int(cardinality or 0)
    largest = int(codes.max()) + 1 if codes.numel() else 1
    if cardinality is None and largest > _MAX_INFERRED_CLASSES:
        raise ValueError(
            f"L votes for class {largest - 1}: more than {_MAX_INFERRED_CLASSES} classes is read as a "
            "mistake (the tables grow with the number of classes); pass cardinality= to allow it"
        )
    k = max(k, largest, 1)
    return codes, convention, k, _lf_names(lf_names, codes.shape[1])


def _label_of(code: int, convention: str) -> int:
    return 2 * code - 1 if convention == "flyingsquid" else code


def _row_blocks(n: int, per_row: int):
    """Slices over ``n`` rows, each block holding at most ~``_BLOCK_ELEMENTS``
    elements when a row costs ``per_row`` of them."""
    step = max(1, _BLOCK_ELEMENTS // max(1, per_row))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def _agreement_counts(stats: VoteStatistics) -> torch.Tensor:
    """``(m, m)``: number of items where LFs ``j`` and ``l`` both vote the same class."""
    if not stats.is_compact:
        return stats.co_votes.diagonal(dim1=1, dim2=3).sum(-1)
    k = stats.cardinality
    lf, cls = stats.responses // k, stats.responses % k  # the compact layout: responses that occur
    same = torch.where(cls[:, None] == cls[None, :], stats.pair_counts, torch.zeros_like(stats.pair_counts))
    out = torch.zeros((stats.n_lfs, stats.n_lfs), dtype=torch.int64, device=stats.device)
    return out.index_put_((lf[:, None].expand_as(same), lf[None, :].expand_as(same)), same, accumulate=True)


def _accuracies(model: Any, m: int, attribute: str = "accuracies_") -> Optional[np.ndarray]:
    """The model's ``(m,)`` LF accuracy estimates ``attribute`` as float64 numpy
    (``None`` when an optional attribute is absent)."""
    if not hasattr(model, "accuracies_"):
        raise ValueError(
            f"model {type(model).__name__} has no accuracies_: fit it first (model.fit(L)), "
            "or leave model=None"
        )
    acc = getattr(model, attribute, None)
    if acc is None:
        return None
    if isinstance(acc, torch.Tensor):
        acc = acc.detach().cpu()
    elif type(acc).__module__.split(".")[0] == "cupy":
        acc = acc.get()
    acc = np.asarray(acc, dtype=np.float64)
    if acc.shape != (m,):
        raise ValueError(
            f"model.{attribute} must have shape ({m},), one per column of L, got shape {acc.shape}: "
            "was the model fitted on votes of other labeling functions?"
        )
    return acc


def lf_summary(
    L: ArrayLike,
    Y: Optional[ArrayLike] = None,
    model: Any = None,
    *,
    convention: Optional[str] = None,
    cardinality: Optional[int] = None,
    lf_names: Optional[Sequence[str]] = None,
) -> "pd.DataFrame":
    """One row per labeling function: what it votes, how often, with whom it clashes.

    Args:
        L: votes, shape ``(n, m)``.
        Y: gold labels, shape ``(n,)``, in ``L``'s convention (``0..k-1`` for
            Snorkel votes, ``-1``/``+1`` for FlyingSquid votes). Adds the
            columns ``correct``, ``incorrect`` and ``emp_acc``. Default: None.
        model: a fitted label model; adds ``est_acc`` (shape ``(m,)``, the
            estimated probability that an LF's vote is right when it votes). Its ``convention``
            attribute, if any, sets the convention. Default: None.
        convention: ``"snorkel"`` or ``"flyingsquid"``. Default: the model's,
            else read off ``L`` (ambiguous matrices are refused).
        cardinality: the number of classes ``k`` (Snorkel convention); votes
            and labels must be below it. Default: read off the data.
        lf_names: ``m`` unique row names. Default: ``L.lf_names`` when ``L`` is
            a :class:`weaksup.lf.Votes`, else ``"lf_0"`` .. ``"lf_{m-1}"``.

    Returns:
        A DataFrame indexed by LF name with the columns

        - ``polarity``: sorted list of the labels the LF emits, in ``L``'s
          convention (an empty list if it never votes);
        - ``coverage``: fraction of items where it votes;
        - ``overlaps``: fraction of items where it votes and at least one
          other LF votes;
        - ``conflicts``: fraction of items where it votes and at least one
          other LF votes a different label;
        - with ``Y``: ``correct`` and ``incorrect`` (int counts over the items
          where it votes) and ``emp_acc`` = correct / (correct + incorrect),
          dtype ``Float64``: an LF that never votes gets ``pd.NA`` there (a
          missing value, not NaN);
        - with ``model``: ``est_acc`` (float64, ``model.accuracies_``) and,
          for models that have them, ``agree_acc`` (``agreement_accuracies_``:
          read from agreement with the other LFs, rougher values that rank
          the LFs better); with ``Y`` too, ``frame.attrs`` holds the Spearman
          rank correlations with ``emp_acc``: ``"accuracy_rank_correlation"``
          (of ``est_acc``) and ``"agreement_rank_correlation"`` (of
          ``agree_acc``), i.e. can the table find the bad LF;
        - when ``L`` is a :class:`weaksup.lf.Votes` whose LFs raised on some
          items (counted as abstentions): ``failures`` (int, per LF).

    Shape:
        - ``L``: ``(n, m)``; ``Y``: ``(n,)``; ``model.accuracies_``: ``(m,)``.
        - Output: ``m`` rows.

    Example:
        >>> L = [[0, 0, -1], [1, 0, 2], [-1, 2, 2], [0, -1, -1]]
        >>> lf_summary(L, Y=[0, 1, 2, 1])
             polarity  coverage  overlaps  conflicts  correct  incorrect   emp_acc
        lf_0   [0, 1]      0.75      0.50       0.25        2          1  0.666667
        lf_1   [0, 2]      0.75      0.75       0.25        2          1  0.666667
        lf_2      [2]      0.50      0.50       0.25        1          1       0.5
    """
    failures = getattr(L, "n_failures", None)
    codes, convention, k, names = _prepare(L, convention, cardinality, lf_names, model)
    n, m = codes.shape
    device = codes.device
    if Y is not None:
        # without an explicit cardinality, a gold class that no LF votes for is fine
        bound = cardinality if cardinality is not None else np.iinfo(np.int64).max
        y = check_labels(Y, convention=convention, cardinality=bound)
        if y.shape[0] != n:
            raise ValueError(
                f"Y has {y.shape[0]} labels, but L has {n} rows: one gold label per item is needed"
            )
        y = y.to(device)
    if model is not None:
        est_acc = _accuracies(model, m)
        agree_acc = _accuracies(model, m, "agreement_accuracies_")

    coverage = torch.zeros(m, dtype=torch.int64, device=device)
    overlaps = torch.zeros_like(coverage)
    conflicts = torch.zeros_like(coverage)
    emitted = torch.zeros((m, k), dtype=torch.int64, device=device)  # votes per LF and class
    for rows in _row_blocks(n, k + m):
        block = codes[rows]
        index = block.clamp(min=0)
        voted = block >= 0
        voted_i = voted.to(torch.int64)
        # per item: how many LFs vote, and how many vote each class
        n_voting = voted_i.sum(1, keepdim=True)  # (r, 1)
        per_class = torch.zeros((block.shape[0], k), dtype=torch.int64, device=device)
        per_class.scatter_add_(1, index, voted_i)
        same = per_class.gather(1, index)  # (r, m): LFs voting j's class, j included
        coverage += voted_i.sum(0)
        overlaps += (voted & (n_voting >= 2)).sum(0)
        conflicts += (voted & (n_voting > same)).sum(0)
        emitted.scatter_add_(1, index.T, voted_i.T)

    # which classes each LF emits: (m, k) counts
    emits = emitted.gt(0).cpu().numpy()
    polarity = [[_label_of(int(c), convention) for c in np.flatnonzero(row)] for row in emits]

    import pandas as pd

    frame = pd.DataFrame(
        {
            "polarity": polarity,
            "coverage": coverage.cpu().numpy() / n,
            "overlaps": overlaps.cpu().numpy() / n,
            "conflicts": conflicts.cpu().numpy() / n,
        },
        index=pd.Index(names),
    )

    if Y is not None:
        correct = ((codes >= 0) & (codes == y.unsqueeze(1))).sum(0).cpu().numpy()
        incorrect = coverage.cpu().numpy() - correct
        total = correct + incorrect
        emp = pd.array(correct / np.maximum(total, 1), dtype="Float64")
        emp[total == 0] = pd.NA
        frame["correct"] = correct.astype(np.int64)
        frame["incorrect"] = incorrect.astype(np.int64)
        frame["emp_acc"] = emp
    if model is not None:
        frame["est_acc"] = est_acc
        if agree_acc is not None:
            frame["agree_acc"] = agree_acc
        if Y is not None:  # can the table find the bad LF?
            emp_acc = frame["emp_acc"].to_numpy(np.float64, na_value=np.nan)
            frame.attrs["accuracy_rank_correlation"] = rank_correlation(est_acc, emp_acc)
            if agree_acc is not None:
                frame.attrs["agreement_rank_correlation"] = rank_correlation(agree_acc, emp_acc)
    if failures is not None and np.asarray(failures).shape == (m,) and np.asarray(failures).any():
        frame["failures"] = np.asarray(failures, dtype=np.int64)
    return frame


def overlap_matrix(
    L: ArrayLike,
    *,
    convention: Optional[str] = None,
    cardinality: Optional[int] = None,
    lf_names: Optional[Sequence[str]] = None,
) -> "pd.DataFrame":
    """Pairwise overlaps: fraction of items where LFs ``j`` and ``l`` both vote.

    The diagonal is each LF's coverage. Arguments as in :func:`lf_summary`.

    Shape:
        - ``L``: ``(n, m)``.
        - Output: ``(m, m)`` DataFrame, symmetric, index and columns the LF names.

    Example:
        >>> overlap_matrix([[1, 1, 0], [-1, 1, 1], [0, 0, -1]], convention="flyingsquid")
                  lf_0      lf_1      lf_2
        lf_0  0.666667  0.666667  0.333333
        lf_1  0.666667  0.666667  0.333333
        lf_2  0.333333  0.333333  0.666667
    """
    return _pair_shares(L, convention, cardinality, lf_names, VoteStatistics.co_coverage_counts)


def conflict_matrix(
    L: ArrayLike,
    *,
    convention: Optional[str] = None,
    cardinality: Optional[int] = None,
    lf_names: Optional[Sequence[str]] = None,
) -> "pd.DataFrame":
    """Pairwise conflicts: fraction of items where LFs ``j`` and ``l`` both vote
    and vote different labels.

    The diagonal is 0. Arguments as in :func:`lf_summary`.

    Shape:
        - ``L``: ``(n, m)``.
        - Output: ``(m, m)`` DataFrame, symmetric, index and columns the LF names.

    Example:
        >>> conflict_matrix([[1, 1, 0], [-1, 1, 1], [0, 0, -1]], convention="flyingsquid")
                  lf_0      lf_1      lf_2
        lf_0  0.000000  0.333333  0.333333
        lf_1  0.333333  0.000000  0.000000
        lf_2  0.333333  0.000000  0.000000
    """
    return _pair_shares(
        L, convention, cardinality, lf_names, lambda stats: stats.co_coverage_counts() - _agreement_counts(stats)
    )


def _pair_shares(L, convention, cardinality, lf_names, pair_counts) -> "pd.DataFrame":
    """``(m, m)`` DataFrame of ``pair_counts(statistics of L)`` divided by the
    number of items, index and columns the LF names."""
    codes, _, k, names = _prepare(L, convention, cardinality, lf_names)
    counts = pair_counts(accumulate(codes, k)).cpu().numpy()
    import pandas as pd

    return pd.DataFrame(counts / codes.shape[0], index=pd.Index(names), columns=pd.Index(names))
