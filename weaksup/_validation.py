"""Parameter validators shared by every weaksup class and function.

In the spirit of scikit-learn's ``_param_validation``: one function per kind
of parameter, each returning the value in its plain Python type and raising a
``ValueError``/``TypeError`` whose message names the parameter, says what was
expected and what came, e.g. ``"n_iter must be an int >= 0, got -1"``.

A value of the wrong type raises :class:`InvalidParameterError`, which is both
a ``TypeError`` and a ``ValueError`` (as in scikit-learn), so callers may catch
either. Booleans are never accepted where a number is expected (``True`` is an ``int``
in Python, but ``n_iter=True`` is a mistake), and numpy/torch scalars are
accepted where their Python counterpart is.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence

__all__ = ["InvalidParameterError", "check_bool", "check_choice", "check_int", "check_real"]


class InvalidParameterError(ValueError, TypeError):
    """A parameter of the wrong type: both a ``ValueError`` and a ``TypeError``."""


def _scalar(value: Any) -> Any:
    """A 0-d numpy array or torch tensor as its Python scalar, else ``value``."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", None) == 0:
        return item()
    return value


def check_int(value: Any, name: str, *, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """Return ``value`` as an ``int``; refuse bools, floats and out-of-range values.

    >>> check_int(3, "m", minimum=1)
    3
    >>> check_int(0, "m", minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: m must be an int >= 1, got 0
    """
    value = _scalar(value)
    bounds = []
    if minimum is not None:
        bounds.append(f">= {minimum}")
    if maximum is not None:
        bounds.append(f"<= {maximum}")
    expected = "an int" + (" " + " and ".join(bounds) if bounds else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {expected}, got {value}")
    return value


def check_real(
    value: Any,
    name: str,
    *,
    low: Optional[float] = None,
    high: Optional[float] = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> Optional[float]:
    """Return ``value`` as a finite ``float`` within the given bounds.

    ``low_open``/``high_open`` exclude the bound itself; ``allow_none`` lets
    ``None`` through (returned as is). NaN and inf are refused.

    >>> check_real(0.5, "prior_accuracy", low=0, high=1, low_open=True, high_open=True)
    0.5
    >>> check_real(1.0, "prior_accuracy", low=0, high=1, low_open=True, high_open=True)
    Traceback (most recent call last):
    ...
    ValueError: prior_accuracy must be a number in (0, 1), got 1.0
    """
    value = _scalar(value)
    if low is not None and high is not None:
        expected = f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    elif low is not None:
        expected = f"a number {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        expected = f"a number {'<' if high_open else '<='} {high:g}"
    else:
        expected = "a finite number"
    if allow_none:
        if value is None:
            return None
        expected += " or None"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be {expected}, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{name} must be {expected}, got {value}")
    return value


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``.

    >>> check_choice("snorkel", "convention", ("flyingsquid", "snorkel"))
    'snorkel'
    """
    try:
        ok = value in tuple(choices)
    except TypeError:  # an unhashable or incomparable value
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as a ``bool``; only ``True``/``False`` (numpy's too) are accepted.

    >>> check_bool(True, "clamp")
    True
    """
    value = _scalar(value)
    if not isinstance(value, (bool,)) and type(value).__name__ != "bool_":
        raise InvalidParameterError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)
