"""weaksup.class_balance: the one class-balance rule."""

import numpy as np
import pytest
import torch

from weaksup.class_balance import estimate_class_balance, resolve_class_balance


def _resolve(cb=None, Y=None, k=2, convention="snorkel", v=1):
    return resolve_class_balance(cb, Y, cardinality=k, convention=convention, v=v)


def test_neither_given_means_estimate():
    assert _resolve() is None


def test_given_balance_is_normalised_float64_cpu():
    out = _resolve([1, 3])
    assert out.dtype == torch.float64 and out.device.type == "cpu"
    assert out.tolist() == [0.25, 0.75]


def test_uniform_string():
    assert _resolve("uniform", k=3).tolist() == pytest.approx([1 / 3] * 3)
    assert _resolve("uniform", convention="flyingsquid", v=2).tolist() == [0.25] * 4
    with pytest.raises(ValueError, match="class_balance must be .* or the string 'uniform'"):
        _resolve("balanced")


def test_given_balance_wins_over_y_dev():
    assert _resolve([1, 1], [0, 0, 0]).tolist() == [0.5, 0.5]


def test_y_dev_plain_frequencies_as_upstream_flyingsquid():
    assert _resolve(None, [0, 0, 0, 1]).tolist() == [0.75, 0.25]
    assert _resolve(None, [-1, -1, -1, 1], convention="flyingsquid").tolist() == [0.75, 0.25]
    # a class absent from Y_dev gets 0
    assert _resolve(None, [0, 0], k=3).tolist() == [1.0, 0.0, 0.0]


def test_y_dev_label_vectors_for_v_tasks_are_lexicographic():
    Y = np.array([[-1, -1], [-1, 1], [1, 1], [1, 1]])
    assert _resolve(None, Y, convention="flyingsquid", v=2).tolist() == [0.25, 0.25, 0.0, 0.5]
    with pytest.raises(ValueError, match="Y_dev must have shape"):
        _resolve(None, [1, -1], convention="flyingsquid", v=2)


@pytest.mark.parametrize(
    "bad",
    [[0.5, 0.6, 0.1], [np.nan, 1], [np.inf, 1], [-0.5, 1.5], [0, 0], [1], []],
)
def test_bad_class_balance_is_refused_naming_it(bad):
    with pytest.raises(ValueError, match="class_balance"):
        _resolve(bad)


@pytest.mark.parametrize("bad", [["a", "b"], [[1], [1, 2]], [True, False], {"a": 1}])
def test_non_numeric_class_balance_is_a_type_error(bad):
    with pytest.raises(TypeError, match="class_balance"):
        _resolve(bad)


@pytest.mark.parametrize("bad", [[], [0, 2], [0.5, 1], [np.nan], ["a"], [[0, 1], [1]]])
def test_bad_y_dev_is_refused_naming_it(bad):
    with pytest.raises((ValueError, TypeError), match="Y_dev"):
        _resolve(None, bad)


def test_flyingsquid_needs_two_classes_and_snorkel_one_task():
    with pytest.raises(ValueError, match="cardinality"):
        _resolve([1, 1, 1], k=3, convention="flyingsquid")
    with pytest.raises(ValueError, match="v"):
        _resolve(None, None, v=2)


def test_estimate_class_balance_is_reexported_and_sums_to_one():
    from weaksup import accumulate

    stats = accumulate(torch.tensor([[0, 1], [0, -1], [1, 1]]), 2)
    out = estimate_class_balance(stats)
    assert out.shape == (2,) and float(out.sum()) == pytest.approx(1.0)
