"""Issue 9: one class-balance rule, whatever the entry point.

For any gold labels ``Y_dev``, every model and loss ends up with the balance
:func:`weaksup.class_balance.resolve_class_balance` gives: the models after
``fit``, the losses' models after a batch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from weaksup import FSCrossEntropyLoss, FSLoss, LabelModel, MajorityVote, MulticlassLabelModel
from weaksup.class_balance import resolve_class_balance


def snorkel_votes(n=60, m=5, k=2, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    L = np.where(rng.random((n, m)) < 0.75, y[:, None], rng.integers(0, k, (n, m)))
    return np.where(rng.random((n, m)) < 0.6, L, -1)


def to_flyingsquid(L):
    return np.where(L < 0, 0, 2 * L - 1)


gold = st.lists(st.integers(0, 2), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None)
@given(Y=gold)
def test_every_many_class_entry_point_uses_the_rule(Y):
    k = 3
    L = snorkel_votes(k=k)
    want = resolve_class_balance(None, Y, cardinality=k, convention="snorkel")
    assert torch.allclose(want.sum(), torch.tensor(1.0, dtype=want.dtype))
    got = {
        "MulticlassLabelModel": MulticlassLabelModel(k).fit(L, Y_dev=Y).class_balance_,
        "MajorityVote": MajorityVote(cardinality=k, convention="snorkel").fit(L, Y_dev=Y).class_balance_,
    }
    loss = FSCrossEntropyLoss(5, k, Y_dev=Y, buffer_capacity=100)
    loss(torch.zeros(len(L), k), L)
    got["FSCrossEntropyLoss"] = loss.label_model.class_balance_
    for name, balance in got.items():
        torch.testing.assert_close(torch.as_tensor(balance, dtype=torch.float64).cpu(), want, msg=name)


@settings(max_examples=25, deadline=None)
@given(Y=st.lists(st.sampled_from([-1, 1]), min_size=1, max_size=12))
def test_every_binary_entry_point_uses_the_rule(Y):
    L = to_flyingsquid(snorkel_votes(m=4))
    want = resolve_class_balance(None, Y, cardinality=2, convention="flyingsquid")
    got = {
        "LabelModel": LabelModel(4).fit(L, Y_dev=Y).class_balance_,
        "LabelModel(triplet_mean)": LabelModel(4).fit(L, Y_dev=Y, solve_method="triplet_mean").class_balance_,
        "MajorityVote": MajorityVote().fit(L, Y_dev=Y).class_balance_,
    }
    loss = FSLoss(4, Y_dev=Y, buffer_capacity=100)
    loss(torch.zeros(len(L)), L)
    got["FSLoss"] = loss.label_model.class_balance_
    for name, balance in got.items():
        torch.testing.assert_close(torch.as_tensor(balance, dtype=torch.float64).cpu(), want, msg=name)


@pytest.mark.parametrize("class_balance", [[0.2, 0.8], "uniform"])
def test_a_given_balance_wins_over_y_dev_everywhere(class_balance):
    L = snorkel_votes()
    want = resolve_class_balance(class_balance, None, cardinality=2, convention="snorkel")
    model = MulticlassLabelModel(2).fit(L, class_balance=class_balance, Y_dev=[0, 0, 0])
    loss = FSCrossEntropyLoss(5, 2, class_balance=class_balance, Y_dev=[0, 0, 0], buffer_capacity=100)
    loss(torch.zeros(len(L), 2), L)
    torch.testing.assert_close(torch.as_tensor(model.class_balance_).cpu(), want)
    torch.testing.assert_close(torch.as_tensor(loss.label_model.class_balance_).cpu(), want)
