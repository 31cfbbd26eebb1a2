"""weaksup._validation: the shared parameter validators."""

import numpy as np
import pytest
import torch

from weaksup._validation import check_bool, check_choice, check_int, check_real


def test_check_int_accepts_python_numpy_and_torch_ints():
    assert check_int(3, "m") == 3
    assert check_int(np.int64(3), "m") == 3
    assert check_int(torch.tensor(3), "m") == 3
    assert type(check_int(np.int32(3), "m")) is int


@pytest.mark.parametrize("bad", [True, 1.0, "3", None, np.float64(2.0)])
def test_check_int_refuses_non_ints_naming_the_argument(bad):
    with pytest.raises(TypeError, match="n_iter must be an int"):
        check_int(bad, "n_iter")


def test_check_int_bounds_message():
    with pytest.raises(ValueError, match=r"^m must be an int >= 1, got 0$"):
        check_int(0, "m", minimum=1)
    with pytest.raises(ValueError, match=r"v must be an int >= 1 and <= 16, got 17"):
        check_int(17, "v", minimum=1, maximum=16)


def test_check_real_bounds_and_non_finite():
    assert check_real(1, "x") == 1.0
    assert check_real(np.float32(0.5), "x", low=0, high=1) == 0.5
    with pytest.raises(ValueError, match=r"x must be a number in \(0, 1\), got 1.0"):
        check_real(1.0, "x", low=0, high=1, low_open=True, high_open=True)
    with pytest.raises(ValueError, match="x must be a number >= 0, got -1.0"):
        check_real(-1, "x", low=0)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="x must be"):
            check_real(bad, "x")
    with pytest.raises(TypeError, match="x must be"):
        check_real(True, "x")
    with pytest.raises(TypeError, match="x must be"):
        check_real("0.5", "x")


def test_check_choice_and_bool():
    assert check_choice("a", "method", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"method must be one of \('a', 'b'\), got 'c'"):
        check_choice("c", "method", ("a", "b"))
    with pytest.raises(ValueError, match="method must be one of"):
        check_choice([1], "method", ("a", "b"))  # unhashable
    assert check_bool(np.bool_(True), "clamp") is True
    with pytest.raises(TypeError, match="clamp must be True or False"):
        check_bool(1, "clamp")


def test_docstring_examples_run():
    import doctest

    import weaksup._validation as module

    assert doctest.testmod(module).failed == 0
