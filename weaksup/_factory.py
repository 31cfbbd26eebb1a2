"""The default label model for a vote convention (shared by the CLI and the adapters)."""

from __future__ import annotations

from typing import Any


def make_label_model(convention: str, cardinality: int, n_lfs: int) -> Any:
    """The default, unfitted label model for votes of this convention.

    Args:
        convention: ``"flyingsquid"`` (+1/-1, 0 = abstain: a binary
            :class:`~weaksup.LabelModel`) or ``"snorkel"`` (-1 = abstain,
            classes ``0..k-1``: a :class:`~weaksup.MulticlassLabelModel`).
        cardinality: the number of classes ``k`` (read for ``"snorkel"``).
        n_lfs: the number of labeling functions ``m`` (read for ``"flyingsquid"``).

    Example:
        >>> type(make_label_model("snorkel", 3, 5)).__name__
        'MulticlassLabelModel'
    """
    if convention == "flyingsquid":
        from .label_model import LabelModel

        return LabelModel(n_lfs)
    if convention == "snorkel":
        from .multiclass import MulticlassLabelModel

        return MulticlassLabelModel(cardinality)
    raise ValueError(f"`convention` must be 'flyingsquid' or 'snorkel', got {convention!r}")
