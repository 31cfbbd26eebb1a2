"""weaksup.baselines.MajorityVote: the baseline, on the label-model contract."""

import numpy as np
import pytest
import torch

from _model_state import assert_same_state
from weaksup import MajorityVote
from weaksup.base import LabelModelProtocol, NotFittedError
from weaksup.class_balance import estimate_class_balance
from weaksup.conventions import check_votes
from weaksup.functional import majority_vote_proba

L_SNORKEL = np.array([[0, 0, 2], [1, -1, -1], [-1, -1, -1], [2, 2, 0], [0, 1, -1]])


def test_predict_proba_is_functional_majority_vote_proba():
    mv = MajorityVote(convention="snorkel", cardinality=3).fit(L_SNORKEL, class_balance=[0.2, 0.3, 0.5])
    expected = majority_vote_proba(torch.as_tensor(L_SNORKEL), 3, torch.tensor([0.2, 0.3, 0.5]))
    np.testing.assert_allclose(mv.predict_proba(L_SNORKEL), expected.numpy())
    # the all-abstain row gets the class balance, the tie splits evenly
    np.testing.assert_allclose(mv.predict_proba(L_SNORKEL)[2], [0.2, 0.3, 0.5])
    np.testing.assert_allclose(mv.predict_proba(L_SNORKEL)[4], [0.5, 0.5, 0])


def test_class_balance_rule():
    mv = MajorityVote(convention="snorkel", cardinality=3)
    np.testing.assert_allclose(mv.fit(L_SNORKEL, Y_dev=[0, 0, 1, 2]).class_balance_, [0.5, 0.25, 0.25])
    np.testing.assert_allclose(mv.fit(L_SNORKEL, class_balance="uniform").class_balance_, [1 / 3] * 3)
    mv.fit(L_SNORKEL)
    np.testing.assert_allclose(mv.class_balance_, estimate_class_balance(mv.statistics_))


@pytest.mark.parametrize("bad", [[np.nan, 1], [np.inf, 1], [-1, 2], [0, 0], [1, 2, 3]])
def test_bad_class_balance_is_refused(bad):
    """D5: [nan, 1] and [inf, 1] were accepted and all-abstain rows got [nan, nan]."""
    mv = MajorityVote()
    with pytest.raises(ValueError, match="class_balance"):
        mv.fit(np.array([[1, 0, -1]]), class_balance=bad)


def test_empty_y_dev_is_refused():
    """D5: an empty Y_dev gave a NaN balance."""
    with pytest.raises(ValueError, match="Y_dev is empty"):
        MajorityVote().fit(np.array([[1, 0, -1]]), Y_dev=[])


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.fit(L_SNORKEL, class_balance=[np.nan, 1, 1]),
        lambda m: m.fit(L_SNORKEL[:, :2]),
        lambda m: m.partial_fit(L_SNORKEL, Y_dev=[]),
        lambda m: m.fit([[0, 1], [2]]),
        lambda m: m.fit(np.array([[0, 5, 1]])),
    ],
)
def test_rejected_calls_leave_the_model_bit_identical(call):
    mv = MajorityVote(convention="snorkel", cardinality=3).fit(L_SNORKEL, Y_dev=[0, 1, 2])
    twin = MajorityVote(convention="snorkel", cardinality=3).fit(L_SNORKEL, Y_dev=[0, 1, 2])
    with pytest.raises((ValueError, TypeError)):
        call(mv)
    assert_same_state(mv, twin)


def test_partial_fit_accumulates_statistics():
    mv = MajorityVote(convention="snorkel", cardinality=3)
    mv.partial_fit(L_SNORKEL[:2]).partial_fit(L_SNORKEL[2:])
    full = MajorityVote(convention="snorkel", cardinality=3).fit(L_SNORKEL)
    assert mv.statistics_.equal(full.statistics_)
    np.testing.assert_allclose(mv.class_balance_, full.class_balance_)


def test_flyingsquid_convention_and_predict():
    L = np.array([[1, 1, -1], [-1, -1, 0], [0, 0, 0], [1, -1, 0]])
    mv = MajorityVote().fit(L, class_balance=[0.3, 0.7])
    np.testing.assert_array_equal(mv.predict(L), [1, -1, 1, 1])  # ties: the larger balance (+1)
    np.testing.assert_allclose(mv.predict_proba_marginalized(L), [1, 0, 0.7, 0.5])


def test_protocol_and_log_scores():
    mv = MajorityVote(convention="snorkel", cardinality=3).fit(L_SNORKEL)
    assert isinstance(mv, LabelModelProtocol)
    assert mv.n_lfs_ == 3 and mv.groups == ()
    codes = check_votes(L_SNORKEL, convention="snorkel")
    np.testing.assert_allclose(torch.softmax(mv.log_scores(codes), 1).numpy(), mv.predict_proba(L_SNORKEL), atol=1e-12)


def test_constructor_checks():
    with pytest.raises(ValueError, match="cardinality must be an int >= 2"):
        MajorityVote(cardinality=1, convention="snorkel")
    with pytest.raises(ValueError, match="binary"):
        MajorityVote(cardinality=3)
    with pytest.raises(ValueError, match="convention must be one of"):
        MajorityVote(convention="wrench")
    with pytest.raises(NotFittedError, match="call fit"):
        MajorityVote().predict_proba([[1, 0]])
    with pytest.raises(NotImplementedError):
        MajorityVote().fit([[1, 0, -1]]).estimated_accuracies()
