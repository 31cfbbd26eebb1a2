import numpy as np
import pytest
import torch

from weaksup import check_votes, convert_votes, infer_convention
from weaksup.baselines import MajorityVote
from weaksup.conventions import check_labels


def test_flyingsquid_codes():
    codes = check_votes(np.array([[1, 0, -1]]), convention="flyingsquid")
    assert codes.tolist() == [[1, -1, 0]]


def test_snorkel_codes_pass_through_and_check_cardinality():
    assert check_votes([[2, -1, 0]], convention="snorkel").tolist() == [[2, -1, 0]]
    with pytest.raises(ValueError, match="votes for class 3, but cardinality is 3"):
        check_votes([[3, -1, 0]], convention="snorkel", cardinality=3)
    with pytest.raises(ValueError, match="got -2"):
        check_votes([[-2, -1, 0]], convention="snorkel")


def test_ambiguous_matrices_are_refused_not_guessed():
    with pytest.raises(ValueError, match="cannot tell the vote convention"):
        infer_convention(np.array([[1, 0, -1]]))
    assert infer_convention(np.array([[2, 0, -1]])) == "snorkel"


def test_convert_round_trip():
    L = np.array([[1, 0, -1], [0, 0, 1]])
    s = convert_votes(L, source="flyingsquid", target="snorkel")
    assert s.tolist() == [[1, -1, 0], [-1, -1, 1]]
    np.testing.assert_array_equal(convert_votes(s, source="snorkel", target="flyingsquid"), L)
    assert isinstance(convert_votes(torch.tensor(L), source="flyingsquid", target="snorkel"), torch.Tensor)


def test_labels():
    assert check_labels(np.array([-1, 1, 1]), convention="flyingsquid").tolist() == [0, 1, 1]
    assert check_labels(np.array([[2], [0]]), convention="snorkel", cardinality=3).tolist() == [2, 0]
    with pytest.raises(ValueError, match="class ids 0..1"):
        check_labels([0, 2], convention="snorkel", cardinality=2)
    with pytest.raises(ValueError, match="unknown|must be one of"):
        check_votes([[0]], convention="wrench")


def test_majority_vote_ties_and_abstains():
    mv = MajorityVote(convention="snorkel", cardinality=3).fit([[0, 1, 2]], class_balance=[0.2, 0.5, 0.3])
    p = mv.predict_proba(np.array([[0, 1, -1], [-1, -1, -1], [2, 2, 0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5, 0], [0.2, 0.5, 0.3], [0, 0, 1]])
    assert mv.predict(np.array([[0, 1, -1], [-1, -1, -1]])).tolist() == [1, 1]
    fs = MajorityVote().fit(np.array([[1, -1, 0]]))
    assert fs.predict(np.array([[1, 1, -1], [0, 0, 0]])).tolist() == [1, -1]
