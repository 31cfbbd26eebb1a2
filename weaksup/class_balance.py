"""The class balance: one rule for every weaksup model and loss.

A label model needs the class balance ``P(Y)``. It comes, in this order of
precedence, from:

1. ``class_balance`` given by the caller: an array of ``k`` non-negative
   numbers (normalised here), or the string ``"uniform"``;
2. ``Y_dev``: gold labels, counted. The balance is the **plain relative
   frequency** of each class (``counts / n_dev``, no smoothing), exactly as
   upstream FlyingSquid counts its ``Y_dev``; a class absent from ``Y_dev``
   gets probability 0;
3. neither: :func:`resolve_class_balance` returns ``None`` and the model
   estimates the balance from the votes with :func:`estimate_class_balance`.

Every model and loss calls :func:`resolve_class_balance` once per fit (the
losses once, at construction), so the same arguments give the same balance
everywhere: ``MulticlassLabelModel(k).fit(L, Y_dev=Y).class_balance_`` is the
balance of ``FSCrossEntropyLoss(m, k, Y_dev=Y)``.

For FlyingSquid's ``v`` tasks the balance is over the ``2**v`` label vectors,
ordered lexicographically (entry 0 is all -1, the last all +1), and ``Y_dev``
has shape ``(n_dev, v)`` (or ``(n_dev,)`` for ``v = 1``) with labels -1/+1.
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from ._backend import ArrayLike, as_tensor
from ._balance_estimation import estimate_class_balance
from ._validation import check_int
from .conventions import check_convention, check_labels

__all__ = ["resolve_class_balance", "estimate_class_balance", "UNIFORM"]

UNIFORM = "uniform"


def resolve_class_balance(
    class_balance: Optional[Any],
    Y_dev: Optional[ArrayLike],
    *,
    cardinality: int,
    convention: str,
    v: int = 1,
) -> Optional[torch.Tensor]:
    """The class balance the caller asked for, or ``None`` to estimate it.

    Args:
        class_balance: ``None``, ``"uniform"``, or an array of ``n`` numbers
            (any shape with ``n`` entries), finite, non-negative, not all zero.
        Y_dev: ``None`` or gold labels: ``0..k-1`` for ``convention="snorkel"``;
            -1/+1 for ``"flyingsquid"``, shape ``(n_dev, v)`` or ``(n_dev,)``
            when ``v = 1``. Used only when ``class_balance`` is ``None``.
        cardinality: the number of classes ``k`` (2 for FlyingSquid votes).
        convention: ``"flyingsquid"`` or ``"snorkel"`` (how ``Y_dev`` reads).
        v: number of FlyingSquid tasks; the balance then has ``n = 2**v``
            entries. Must be 1 for the Snorkel convention.

    Returns:
        ``(n,)`` float64 probabilities summing to 1, where ``n = cardinality``
        (or ``2**v``), on the CPU, or on the device of a ``class_balance``
        tensor that already lives on an accelerator (its values are then not
        read back, which would block on the device); ``None`` when both
        ``class_balance`` and ``Y_dev`` are ``None``.

    Raises:
        ValueError / TypeError naming ``class_balance`` or ``Y_dev``: a wrong
        number of entries, NaN/inf, negative or all-zero values, an unknown
        string, labels outside the convention, an empty ``Y_dev``.

    Example:
        >>> resolve_class_balance(None, [0, 0, 0, 1], cardinality=2, convention="snorkel").tolist()
        [0.75, 0.25]
        >>> resolve_class_balance("uniform", None, cardinality=4, convention="snorkel").tolist()
        [0.25, 0.25, 0.25, 0.25]
        >>> resolve_class_balance(None, None, cardinality=2, convention="snorkel") is None
        True
    """
    check_convention(convention)
    k = check_int(cardinality, "cardinality", minimum=2)
    v = check_int(v, "v", minimum=1)
    if convention == "snorkel" and v != 1:
        raise ValueError(f"v (number of tasks) must be 1 for Snorkel votes, got {v}")
    if convention == "flyingsquid" and k != 2:
        raise ValueError(f"cardinality must be 2 for FlyingSquid votes, got {k}")
    n = 2 ** v if convention == "flyingsquid" else k
    what = f"2**v = {n}" if convention == "flyingsquid" else f"cardinality = {n}"
    if class_balance is not None:
        return _given_balance(class_balance, n, what)
    if Y_dev is not None:
        return _counted_balance(Y_dev, k, convention, v)
    return None


def _given_balance(class_balance: Any, n: int, what: str) -> torch.Tensor:
    if isinstance(class_balance, str):
        if class_balance != UNIFORM:
            raise ValueError(
                f"class_balance must be {what} probabilities or the string 'uniform', got {class_balance!r}"
            )
        return torch.full((n,), 1.0 / n, dtype=torch.float64)
    cb, _ = as_tensor(class_balance, name="class_balance")
    if cb.dtype == torch.bool or cb.is_complex():
        raise TypeError(f"class_balance must hold real numbers, got dtype {cb.dtype}")
    cb = cb.detach().reshape(-1)
    if cb.numel() != n:
        raise ValueError(f"class_balance must have {what} entries, got {cb.numel()} (one probability per class)")
    cb = cb.to(torch.float64)
    if cb.device.type != "cpu":  # trusted: reading values back would block on the device
        return cb / cb.sum()
    if not bool(torch.isfinite(cb).all()) or bool((cb < 0).any()) or float(cb.sum()) <= 0:
        raise ValueError(
            f"class_balance must be finite, non-negative and not all zero, got {[round(x, 6) for x in cb.tolist()]}"
        )
    return cb / cb.sum()


def _counted_balance(Y_dev: ArrayLike, k: int, convention: str, v: int) -> torch.Tensor:
    y, _ = as_tensor(Y_dev, name="Y_dev")
    y = y.detach().cpu()
    if convention == "snorkel" or v == 1:
        labels = check_labels(y, convention=convention, cardinality=k, name="Y_dev")
    else:
        if y.dim() != 2 or y.shape[1] != v:
            raise ValueError(f"Y_dev must have shape (n_dev, v={v}), got {tuple(y.shape)}")
        bits = torch.stack([check_labels(y[:, t], convention=convention, name="Y_dev") for t in range(v)], 1)
        labels = (bits * 2 ** torch.arange(v - 1, -1, -1)).sum(1)  # lexicographic index of each label vector
        k = 2 ** v
    if labels.numel() == 0:
        raise ValueError("Y_dev is empty (0 labels): pass gold labels, or leave Y_dev=None to estimate the balance")
    counts = torch.bincount(labels, minlength=k).to(torch.float64)
    return counts / counts.sum()
