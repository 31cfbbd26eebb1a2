"""Vote conventions and input validation, stated once.

weaksup speaks two vote conventions:

``"flyingsquid"`` (binary, and the FlyingSquid drop-in ``LabelModel``/``FSLoss``)
    votes in {-1, 0, +1}: ``+1`` positive, ``-1`` negative, ``0`` = abstain.
    Gold labels are -1/+1.

``"snorkel"`` (Snorkel and WRENCH, any number of classes ``k``)
    votes in {-1, 0, ..., k-1}: ``-1`` = abstain, ``c`` = class ``c``.
    Gold labels are 0..k-1.

Internally every vote matrix is turned into *codes*: an integer tensor with
``-1`` = abstain and ``0..k-1`` = the class voted, where for the FlyingSquid
convention class 0 is the negative (-1) and class 1 the positive (+1) label.

A matrix whose values lie in {-1, 0, 1} reads differently in the two
conventions (0 is "abstain" in one and "class 0" in the other), so weaksup
never guesses: :func:`infer_convention` refuses such a matrix and asks for an
explicit ``convention=``. It does notice when a matrix declared in one
convention has the statistics of the other (:func:`warn_if_convention_misread`)
and warns.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import torch

from ._backend import ArrayLike, as_tensor
from ._validation import check_choice

CONVENTIONS = ("flyingsquid", "snorkel")
ABSTAIN_CODE = -1


def check_convention(convention: str) -> str:
    """Return ``convention`` if it is ``"flyingsquid"`` or ``"snorkel"``, else raise ``ValueError``."""
    return check_choice(convention, "convention", CONVENTIONS)


def infer_convention(L: ArrayLike) -> str:
    """Return the convention of ``L`` when it carries one or its values decide it, else raise.

    A vote matrix that says its convention (``L.convention``, as
    :class:`weaksup.lf.Votes` does) is taken at its word. Values outside {-1,
    0, 1} (a class id >= 2) can only be the Snorkel/WRENCH convention. A
    matrix with values in {-1, 0, 1} alone is ambiguous and is refused with a
    message naming both readings.
    """
    carried = getattr(L, "convention", None)
    if isinstance(carried, str):
        return check_convention(carried)
    t, _ = as_tensor(L, name="L")
    _check_numeric_2d(t, "L")
    t = _widen_unsigned(t, "L")
    if t.numel() and int(t.max()) >= 2:
        return "snorkel"
    raise ValueError(
        "cannot tell the vote convention of L: its values lie in {-1, 0, 1}, which "
        "reads as FlyingSquid's (+1/-1, 0 = abstain) and as Snorkel/WRENCH's "
        "(-1 = abstain, classes 0 and 1). Pass convention='flyingsquid' or "
        "convention='snorkel'."
    )


def _check_numeric_2d(t: torch.Tensor, name: str) -> None:
    if t.dim() != 2:
        hint = " (one row per item: use L.reshape(-1, 1) for a single labeling function)" if t.dim() == 1 else ""
        raise ValueError(f"{name} must be a 2-D array of shape (n_items, n_lfs), got shape {tuple(t.shape)}{hint}")
    if t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer votes, got booleans")
    if t.is_floating_point():
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} contains NaN or inf; votes must be integers (abstain is a value, not NaN)")
        if not bool((t == t.round()).all()):
            bad = t[t != t.round()][0].item()
            raise ValueError(f"{name} must hold integer votes, got the non-integer value {bad}")
    elif t.is_complex():
        raise TypeError(f"{name} must hold integer votes, got complex numbers")


# Unsigned dtypes torch supports for storage but not for min/max or comparisons.
_WIDE_UNSIGNED = tuple(getattr(torch, name) for name in ("uint16", "uint32", "uint64") if hasattr(torch, name))


def _widen_unsigned(t: torch.Tensor, name: str) -> torch.Tensor:
    """uint16/32/64 values as int64 (values beyond int64 are refused, not wrapped)."""
    if t.dtype not in _WIDE_UNSIGNED:
        return t
    if t.numel() and t.dtype == _WIDE_UNSIGNED[-1]:
        big = float(t.to(torch.float64).max())
        if big >= 2.0 ** 62:
            raise ValueError(f"{name} holds the value {big:.0f}, far beyond any class id")
    return t.to(torch.int64)


def check_votes(
    L: ArrayLike,
    *,
    convention: str,
    n_lfs: Optional[int] = None,
    cardinality: Optional[int] = None,
    name: str = "L",
    allow_empty: bool = False,
    compact: bool = False,
    raw: bool = False,
) -> torch.Tensor:
    """Validate a vote matrix and return its codes (int64 tensor, -1 = abstain).

    Args:
        L: votes, shape ``(n, m)``: numpy, torch or cupy, ints or integral floats.
        convention: ``"flyingsquid"`` or ``"snorkel"`` (see the module docstring).
        n_lfs: the expected number of columns ``m``, if known.
        cardinality: the number of classes ``k`` (Snorkel convention); votes must
            be below it. Ignored for FlyingSquid votes (always 2).
        name: the argument name used in error messages.
        allow_empty: accept a matrix with zero rows (prediction) instead of raising.
        compact: return the smallest integer dtype that holds the codes (int8 for
            fewer than 128 classes) instead of int64: less memory and faster
            passes for the statistics and the posterior.
        raw: validate only and return the votes themselves, not codes: an
            integer tensor is returned as is (no copy; floats and unsigned
            dtypes become int64). FlyingSquid votes then stay -1/0/+1, which
            :func:`~weaksup.statistics.accumulate` and
            :func:`~weaksup.posterior.independent_log_scores` read directly
            with ``class_values=(-1, 1)``, saving a pass over the matrix.

    Returns:
        Tensor of shape ``(n, m)``, dtype int64 (or compact), on ``L``'s device:
        ``-1`` abstain, ``0..k-1`` classes (FlyingSquid: 0 = negative, 1 = positive);
        with ``raw``, the validated votes in ``L``'s convention.
    """
    check_convention(convention)
    t, _ = as_tensor(L, name=name)
    _check_numeric_2d(t, name)
    n, m = t.shape
    if n_lfs is not None and m != n_lfs:
        raise ValueError(
            f"{name} must have {n_lfs} columns (one per labeling function), got {m}"
        )
    if m == 0:
        raise ValueError(f"{name} has no columns: it needs one column per labeling function")
    if n == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (0 rows): there is nothing to fit")
    t = _widen_unsigned(t, name)
    if t.is_floating_point() or t.dtype == torch.uint8:
        t = t.to(torch.int64)
    if n == 0:
        return t if raw else t.to(torch.int8 if compact else torch.int64)
    lo, hi = (int(x) for x in torch.aminmax(t))
    target = torch.int64
    if compact:
        for target in (torch.int8, torch.int16, torch.int32, torch.int64):
            if hi <= torch.iinfo(target).max:
                break
    if convention == "flyingsquid":
        if lo < -1 or hi > 1:
            bad = lo if lo < -1 else hi
            hint = (
                " These look like Snorkel/WRENCH votes (-1 = abstain, classes 0..k-1): "
                "use MulticlassLabelModel or convention='snorkel'."
                if bad >= 2 else ""
            )
            raise ValueError(
                f"{name} must hold FlyingSquid votes in {{-1, 0, +1}} (0 = abstain), got {bad}.{hint}"
            )
        if raw:
            return t
        # -1 -> class 0, +1 -> class 1, 0 -> abstain (-1); written into preallocated
        # integer outputs (comparisons producing booleans are far slower for int8)
        codes = torch.empty(t.shape, dtype=target, device=t.device)
        torch.gt(t, 0, out=codes)
        zero = torch.empty_like(codes)
        torch.eq(t, 0, out=zero)
        return codes.sub_(zero)
    if lo < -1:
        raise ValueError(
            f"{name} must hold Snorkel/WRENCH votes (-1 = abstain, classes 0..k-1), got {lo}"
        )
    if cardinality is not None and hi >= cardinality:
        raise ValueError(
            f"{name} votes for class {hi}, but cardinality is {cardinality} "
            f"(classes 0..{cardinality - 1}, -1 = abstain)"
        )
    return t if raw else t.to(target)


def check_labels(
    Y: ArrayLike, *, convention: str, cardinality: int = 2, name: str = "Y"
) -> torch.Tensor:
    """Validate gold labels; return class indices 0..k-1 as an int64 1-D tensor.

    FlyingSquid labels are -1/+1 (-1 -> class 0); Snorkel labels are 0..k-1.
    A column vector ``(n, 1)`` is accepted as 1-D.
    """
    check_convention(convention)
    t, _ = as_tensor(Y, name=name)
    if t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{name} must hold integer labels, got dtype {t.dtype}")
    t = _widen_unsigned(t, name)
    if t.dim() == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.dim() != 1:
        raise ValueError(f"{name} must be 1-D (one gold label per item), got shape {tuple(t.shape)}")
    if t.is_floating_point():
        if not bool(torch.isfinite(t).all()) or not bool((t == t.round()).all()):
            raise ValueError(f"{name} must hold integer labels; it contains NaN, inf or fractions")
    t = t.to(torch.int64)
    if t.numel() == 0:
        return t
    if convention == "flyingsquid":
        bad = t[(t != 1) & (t != -1)]
        if bad.numel():
            raise ValueError(f"{name} must hold FlyingSquid labels -1/+1, got {int(bad[0])}")
        return (t + 1) // 2
    bad = t[(t < 0) | (t >= cardinality)]
    if bad.numel():
        raise ValueError(f"{name} must hold class ids 0..{cardinality - 1}, got {int(bad[0])}")
    return t


def convert_votes(L: ArrayLike, *, source: str, target: str) -> ArrayLike:
    """Convert binary votes between conventions; returns the input's array kind.

    ``flyingsquid -> snorkel``: -1 -> 0, +1 -> 1, 0 (abstain) -> -1, and back.
    """
    check_convention(source)
    check_convention(target)
    t, back = as_tensor(L)
    codes = check_votes(t, convention=source, cardinality=2 if source == "snorkel" else None, allow_empty=True)
    if target == "snorkel":
        out = codes
    else:
        out = torch.where(codes < 0, torch.zeros_like(codes), 2 * codes - 1)
    return back(out)


# A matrix "looks misread" when the other convention's abstain code takes at
# least this share of all entries ...
_MISREAD_DOMINANT = 0.6
# ... and at least this many times the share of the declared abstain code and
# of every other vote value ...
_MISREAD_RATIO = 4.0
# ... in a matrix of at least this many entries (a handful of votes says nothing).
_MISREAD_MIN_ENTRIES = 200


def misread_shares(codes_or_stats: Any) -> tuple:
    """``(declared_abstain, other_abstain, largest_other_vote)`` shares of all entries.

    Reads codes ``(n, m)`` (``-1`` = the declared abstain) or anything with
    ``n_items`` and ``vote_counts()`` ``(m, k)`` (a
    :class:`~weaksup.statistics.VoteStatistics`). Code 0 is the value the other
    convention reads as abstain: raw ``-1`` under ``"flyingsquid"`` (0 =
    abstain), raw ``0`` under ``"snorkel"`` (-1 = abstain), in both cases code 0.
    """
    if isinstance(codes_or_stats, torch.Tensor):
        entries = codes_or_stats.numel()
        if entries < _MISREAD_MIN_ENTRIES:
            return 0.0, 0.0, 0.0
        per_value = torch.bincount(codes_or_stats.reshape(-1).to(torch.int64) + 1)  # abstain, class 0, 1, ...
        per_class = per_value[1:].to(torch.float64) / entries
    else:
        counts = codes_or_stats.vote_counts()
        entries = int(codes_or_stats.n_items) * counts.shape[0]
        if entries < _MISREAD_MIN_ENTRIES:
            return 0.0, 0.0, 0.0
        per_class = counts.sum(0).to(torch.float64) / entries
    if per_class.numel() == 0:
        return 1.0, 0.0, 0.0
    declared = 1.0 - float(per_class.sum())
    other = float(per_class[0])
    rest = float(per_class[1:].max()) if per_class.numel() > 1 else 0.0
    return declared, other, rest


def warn_if_convention_misread(codes_or_stats: Any, convention: str, *, owner: Any = None, name: str = "L") -> bool:
    """Warn when votes declared in ``convention`` have the other convention's statistics.

    The sign of a misread: the declared abstain code is far rarer than a vote
    code while the other convention's abstain code dominates (WRENCH votes,
    83% ``-1``, handed over as FlyingSquid votes read ``-1`` as a negative vote
    on 83% of the entries). Precisely: the value the other convention calls
    abstain (code 0) takes at least 60% of the entries and at least 4 times
    the share of the declared abstain value and of any other vote value, in
    a matrix of at least 200 entries. A FlyingSquid matrix without any
    abstention (dense votes, as with ``allow_abstentions=False``) never warns.

    Warns with a ``UserWarning`` naming ``convention=`` and ``convert_votes``,
    at most once per ``owner`` (a model or loss; it gets the attribute
    ``_convention_warned``), and returns whether the statistics look misread.
    Reads a few counts back from the device: call it on statistics or one
    batch, not on every step.

    Args:
        codes_or_stats: validated codes ``(n, m)`` or their VoteStatistics.
        convention: the declared convention.
        owner: the object that warns once; ``None`` warns every time.
        name: the argument named in the message.
    """
    check_convention(convention)
    if owner is not None and getattr(owner, "_convention_warned", False):
        return False
    declared, other, rest = misread_shares(codes_or_stats)
    misread = other >= _MISREAD_DOMINANT and other >= _MISREAD_RATIO * max(declared, rest)
    if convention == "flyingsquid" and declared == 0:
        misread = False  # no abstention at all: dense FlyingSquid votes (allow_abstentions=False)
    if not misread:
        return False
    if convention == "flyingsquid":
        message = (
            f"{name} looks like Snorkel/WRENCH votes (-1 = abstain) read in the FlyingSquid convention "
            f"(0 = abstain, -1/+1 votes): {other:.0%} of its entries are -1 votes and only {declared:.0%} "
            "are abstentions. If -1 means abstain, pass convention='snorkel' (MulticlassLabelModel, "
            "MajorityVote(convention='snorkel')) or convert with "
            "weaksup.convert_votes(L, source='snorkel', target='flyingsquid')."
        )
    else:
        message = (
            f"{name} looks like votes with 0 = abstain (FlyingSquid's convention) read in the "
            f"Snorkel/WRENCH convention (-1 = abstain): {other:.0%} of its entries are votes for class 0 "
            f"and only {declared:.0%} are abstentions. If 0 means abstain, pass convention='flyingsquid' "
            "(LabelModel, MajorityVote(convention='flyingsquid')) or convert with "
            "weaksup.convert_votes(L, source='flyingsquid', target='snorkel') (classes 1..k: subtract 1)."
        )
    warnings.warn(message, UserWarning, stacklevel=3)
    if owner is not None:
        owner._convention_warned = True
    return True
