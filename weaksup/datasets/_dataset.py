"""The :class:`WeakDataset` container."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

from ..conventions import check_labels, check_votes, convert_votes


@dataclass(eq=False, repr=False)
class WeakDataset:
    """Labeling-function votes of one data split, with optional gold labels.

    Votes follow the Snorkel/WRENCH convention: ``-1`` = abstain, ``c`` = a
    vote for class ``c`` in ``0..k-1``. Use :meth:`to_flyingsquid` for the
    +1/-1 (0 = abstain) convention of FlyingSquid.

    Attributes:
        L: votes, numpy int64 of shape ``(n, m)`` (``n`` items, ``m`` labeling
            functions); ``-1`` = abstain.
        Y: gold labels, numpy int64 of shape ``(n,)`` with values ``0..k-1``,
            or ``None`` when the split has no gold labels.
        texts: the ``n`` item texts, or ``None`` for non-text data.
        ids: the ``n`` item ids (strings, in file order). Default: ``"0"`` ..
            ``"n-1"``.
        label_names: the ``k`` class names; class ``c`` is ``label_names[c]``.
            Default: ``"0"`` .. ``"k-1"`` with ``k`` read off ``L`` and ``Y``
            (at least 2).
        name: the dataset's name (for example ``"youtube"``).
        split: the split's name (``"train"``, ``"valid"``, ``"test"``) or ``None``.
        labeled_ids: ids of this split that the dataset marks as a small
            labeled set (WRENCH-format ``labeled_ids.json``; train split only,
            empty otherwise). See :attr:`labeled_mask`.
        lf_exemplar_ids: ids of items given as exemplars of the labeling
            functions (``lf_exemplar_ids`` in ``labeled_ids.json``), if any.

    Shape:
        - ``L``: ``(n, m)``, int64, ``-1`` = abstain, classes ``0..k-1``.
        - ``Y``: ``(n,)``, int64, classes ``0..k-1``.

    Example:
        >>> import numpy as np
        >>> ds = WeakDataset(np.array([[0, -1], [1, 1], [-1, 0]]), Y=np.array([0, 1, 0]),
        ...                  label_names=["ham", "spam"], name="toy")
        >>> ds
        WeakDataset(name='toy', n_items=3, n_lfs=2, cardinality=2, label_names=['ham', 'spam'], gold=True)
        >>> ds.to_flyingsquid()[0].tolist()
        [[-1, 0], [1, 1], [0, -1]]
    """

    L: np.ndarray
    Y: Optional[np.ndarray] = None
    texts: Optional[List[str]] = None
    ids: Optional[List[str]] = None
    label_names: Optional[List[str]] = None
    name: str = ""
    split: Optional[str] = None
    labeled_ids: List[str] = field(default_factory=list)
    lf_exemplar_ids: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        L = np.asarray(self.L)
        codes = check_votes(L, convention="snorkel", name="L", allow_empty=True)
        self.L = codes.numpy() if L.dtype != np.int64 else L
        n = self.L.shape[0]
        vote_max = int(self.L.max()) if self.L.size else -1

        y_max = -1
        if self.Y is not None:
            Y = np.asarray(self.Y)
            if Y.ndim != 1 or Y.shape[0] != n:
                raise ValueError(
                    f"Y must have shape ({n},), one gold label per row of L, got shape {Y.shape}"
                )
            y = check_labels(Y, convention="snorkel", cardinality=np.iinfo(np.int64).max, name="Y")
            y_max = int(y.max()) if y.numel() else -1
        if self.label_names is None:
            k = max(2, vote_max + 1, y_max + 1)
            self.label_names = [str(c) for c in range(k)]
        else:
            self.label_names = [str(s) for s in self.label_names]
            if not self.label_names:
                raise ValueError("label_names must name at least one class, got an empty list")
        k = len(self.label_names)
        if vote_max >= k:
            raise ValueError(
                f"L votes for class {vote_max}, but label_names names {k} classes "
                f"(0..{k - 1}; -1 = abstain)"
            )
        if self.Y is not None:
            if y_max >= k:
                raise ValueError(
                    f"Y holds the class {y_max}, but label_names names {k} classes (0..{k - 1})"
                )
            self.Y = y.numpy() if Y.dtype != np.int64 else Y

        if self.texts is not None:
            self.texts = list(self.texts)
            if len(self.texts) != n:
                raise ValueError(f"texts must hold {n} strings (one per row of L), got {len(self.texts)}")
        if self.ids is None:
            self.ids = [str(i) for i in range(n)]
        else:
            self.ids = [str(i) for i in self.ids]
            if len(self.ids) != n:
                raise ValueError(f"ids must hold {n} ids (one per row of L), got {len(self.ids)}")
        self.labeled_ids = [str(i) for i in self.labeled_ids]
        self.lf_exemplar_ids = [str(i) for i in self.lf_exemplar_ids]
        if self.labeled_ids or self.lf_exemplar_ids:
            known = set(self.ids)
            for attr in ("labeled_ids", "lf_exemplar_ids"):
                missing = [i for i in getattr(self, attr) if i not in known]
                if missing:
                    raise ValueError(
                        f"{attr} names the id {missing[0]!r}, which is not an item of this split "
                        f"({len(missing)} unknown id(s) in all)"
                    )

    # -- sizes ---------------------------------------------------------------
    @property
    def n_items(self) -> int:
        """Number of items ``n`` (rows of ``L``)."""
        return int(self.L.shape[0])

    @property
    def n_lfs(self) -> int:
        """Number of labeling functions ``m`` (columns of ``L``)."""
        return int(self.L.shape[1])

    @property
    def cardinality(self) -> int:
        """Number of classes ``k`` (``len(label_names)``)."""
        return len(self.label_names)

    @property
    def labeled_mask(self) -> np.ndarray:
        """Boolean array of shape ``(n,)``: True for the rows in :attr:`labeled_ids`.

        In the WRENCH-format youtube and trec copies these rows were appended
        to WRENCH's train split and repeat earlier train items; drop them with
        ``ds.subset(~ds.labeled_mask)`` to keep each item once.
        """
        if not self.labeled_ids:
            return np.zeros(self.n_items, dtype=bool)
        wanted = set(self.labeled_ids)
        return np.fromiter((i in wanted for i in self.ids), dtype=bool, count=self.n_items)

    # -- transforms ----------------------------------------------------------
    def subset(self, rows) -> "WeakDataset":
        """A new dataset with the given rows (a boolean mask of shape ``(n,)`` or
        integer positions); ``labeled_ids`` keeps the ids that remain."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (self.n_items,):
                raise ValueError(
                    f"a boolean row mask must have shape ({self.n_items},), got {rows.shape}"
                )
            rows = np.flatnonzero(rows)
        elif rows.size == 0:
            rows = np.zeros(0, dtype=np.int64)
        elif rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer):
            raise TypeError(
                "rows must be a boolean mask or 1-D integer positions, "
                f"got dtype {rows.dtype}, shape {rows.shape}"
            )
        ids = [self.ids[i] for i in rows.tolist()]
        kept = set(ids)
        return WeakDataset(
            L=self.L[rows],
            Y=None if self.Y is None else self.Y[rows],
            texts=None if self.texts is None else [self.texts[i] for i in rows.tolist()],
            ids=ids,
            label_names=list(self.label_names),
            name=self.name,
            split=self.split,
            labeled_ids=[i for i in self.labeled_ids if i in kept],
            lf_exemplar_ids=[i for i in self.lf_exemplar_ids if i in kept],
        )

    def to_flyingsquid(self) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Votes and labels in FlyingSquid's convention (binary datasets only).

        Class 1 (``label_names[1]``) becomes ``+1``, class 0 becomes ``-1`` and
        an abstain (``-1``) becomes ``0``.

        Returns:
            ``(L, Y)``: ``L`` int64 of shape ``(n, m)`` in {-1, 0, +1}
            (0 = abstain); ``Y`` int64 of shape ``(n,)`` in {-1, +1}, or
            ``None`` when the dataset has no gold labels.

        Raises:
            ValueError: the dataset does not have exactly 2 classes.
        """
        k = self.cardinality
        if k != 2:
            shown = ", ".join(self.label_names[:8]) + (", ..." if k > 8 else "")
            raise ValueError(
                f"to_flyingsquid() needs a binary dataset (2 classes), but "
                f"{self.name or 'this dataset'!s} has {k} classes ({shown}). FlyingSquid's "
                "+1/-1 convention holds two classes only: use the Snorkel/WRENCH votes in "
                ".L (-1 = abstain, classes 0..k-1) with a multi-class label model, or "
                "binarise one class against the rest first."
            )
        L = np.asarray(convert_votes(self.L, source="snorkel", target="flyingsquid"), dtype=np.int64)
        Y = None if self.Y is None else np.where(self.Y == 1, 1, -1).astype(np.int64)
        return L, Y

    def __repr__(self) -> str:
        names = self.label_names
        shown = repr(names) if len(names) <= 6 else repr(names[:5])[:-1] + ", ...]"
        split = f", split={self.split!r}" if self.split is not None else ""
        return (
            f"WeakDataset(name={self.name!r}{split}, n_items={self.n_items}, "
            f"n_lfs={self.n_lfs}, cardinality={self.cardinality}, label_names={shown}, "
            f"gold={self.Y is not None})"
        )
