"""Snapshot a model's state as plain values, to check that a rejected call changed nothing."""

import numpy as np
import torch


def snapshot(value, _depth=0):
    """Tensors become numpy copies; lists, dicts and objects are walked."""
    if _depth > 8:
        return repr(value)
    if isinstance(value, torch.Tensor):
        return ("tensor", str(value.dtype), value.detach().cpu().numpy().copy())
    if isinstance(value, np.ndarray):
        return ("ndarray", value.copy())
    if isinstance(value, (list, tuple)):
        return type(value).__name__, [snapshot(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        return "dict", {repr(k): snapshot(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (int, float, str, bool, type(None))):
        return value
    if hasattr(value, "__dict__"):
        return type(value).__name__, snapshot(vars(value), _depth + 1)
    return repr(value)


def assert_same_state(a, b):
    """``a`` and ``b`` (two models) hold equal attributes, bit for bit."""
    np.testing.assert_equal(snapshot(vars(a)), snapshot(vars(b)))
