import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from weaksup import LabelModel, MulticlassLabelModel, check_votes, convert_votes, infer_convention
from weaksup.baselines import MajorityVote
from weaksup.conventions import check_labels, warn_if_convention_misread
from weaksup.datasets import load_wrench, load_youtube


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


# ---- votes handed over in the wrong convention warn (issue 10.5) ---------------------------
TREC = Path(__file__).resolve().parents[2] / "shared" / "data" / "wrench" / "trec"
MISREAD = r"convention=.*convert_votes"


def _misread_warnings(record):
    return [w for w in record if issubclass(w.category, UserWarning) and "convert_votes" in str(w.message)]


@pytest.fixture(scope="module")
def youtube_votes():
    return np.asarray(load_youtube("train").L)


@pytest.fixture(scope="module")
def trec_votes():
    if not TREC.is_dir():
        pytest.skip("WRENCH trec is not available")
    return np.asarray(load_wrench(TREC, "train").L)


@pytest.mark.parametrize(
    "make",
    [lambda: LabelModel(10), lambda: MajorityVote(), lambda: MajorityVote(m=10, convention="flyingsquid")],
    ids=["LabelModel", "MajorityVote", "MajorityVote(flyingsquid)"],
)
def test_wrench_youtube_read_as_flyingsquid_warns_once(youtube_votes, make):
    model = make()
    with pytest.warns(UserWarning, match=MISREAD) as record:
        model.fit(youtube_votes)
        model.fit(youtube_votes)
        model.partial_fit(youtube_votes)
    assert len(_misread_warnings(record)) == 1  # once per model


@pytest.mark.parametrize(
    "make",
    [lambda: MulticlassLabelModel(2, n_iter=5), lambda: MajorityVote(cardinality=2, convention="snorkel")],
    ids=["MulticlassLabelModel", "MajorityVote(snorkel)"],
)
def test_flyingsquid_youtube_read_as_snorkel_warns(youtube_votes, make):
    fs_votes = convert_votes(youtube_votes, source="snorkel", target="flyingsquid")
    with pytest.warns(UserWarning, match=MISREAD):
        make().fit(fs_votes)


@pytest.mark.parametrize(
    "model,L",
    [
        (lambda: LabelModel(10), lambda L: convert_votes(L, source="snorkel", target="flyingsquid")),
        (lambda: MajorityVote(), lambda L: convert_votes(L, source="snorkel", target="flyingsquid")),
        (lambda: MulticlassLabelModel(2, n_iter=5), lambda L: L),
        (lambda: MajorityVote(cardinality=2, convention="snorkel"), lambda L: L),
    ],
    ids=["LabelModel", "MajorityVote", "MulticlassLabelModel", "MajorityVote(snorkel)"],
)
def test_youtube_the_right_way_does_not_warn(youtube_votes, model, L):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model().fit(L(youtube_votes))


def test_wrench_trec_read_as_flyingsquid_is_refused_with_the_hint(trec_votes):
    for model in (LabelModel(trec_votes.shape[1]), MajorityVote()):
        with pytest.raises(ValueError, match="Snorkel/WRENCH"):
            model.fit(trec_votes)


@pytest.mark.parametrize(
    "make",
    [
        lambda k: MulticlassLabelModel(k, n_iter=5),
        lambda k: MajorityVote(cardinality=k, convention="snorkel"),
    ],
    ids=["MulticlassLabelModel", "MajorityVote"],
)
def test_wrench_trec_with_zero_as_abstain_warns(trec_votes, make):
    """trec's votes coded 0 = abstain, classes 1..6 (a common mistake) read as Snorkel votes."""
    with pytest.warns(UserWarning, match=MISREAD):
        make(7).fit(trec_votes + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make(6).fit(trec_votes)  # the right way


def test_misread_detector_thresholds():
    n = 100
    dense = torch.zeros((n, 3), dtype=torch.int64)  # FlyingSquid votes, all -1, no abstention
    assert not warn_if_convention_misread(dense, "flyingsquid")
    tiny = torch.zeros((5, 3), dtype=torch.int64)  # too few entries to tell
    tiny[0, 0] = -1
    assert not warn_if_convention_misread(tiny, "snorkel")
    codes = torch.zeros((n, 3), dtype=torch.int64)
    codes[:10, 0] = -1
    with pytest.warns(UserWarning, match="convention='flyingsquid'"):
        assert warn_if_convention_misread(codes, "snorkel")
    balanced = torch.randint(-1, 2, (n, 3), generator=torch.Generator().manual_seed(0))
    assert not warn_if_convention_misread(balanced, "snorkel")


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "uint64"])
def test_unsigned_votes_are_read_not_rejected_by_torch(dtype):
    """D6: uint16/32/64 failed with '"aminmax_cpu" not implemented for UInt32'."""
    L = np.array([[0, 1, 2], [2, 1, 0]], dtype=dtype)
    assert check_votes(L, convention="snorkel", cardinality=3).tolist() == [[0, 1, 2], [2, 1, 0]]
    assert check_labels(np.array([0, 2], dtype=dtype), convention="snorkel", cardinality=3).tolist() == [0, 2]


def test_huge_unsigned_votes_are_refused_not_wrapped():
    with pytest.raises(ValueError, match="L holds the value"):
        check_votes(np.array([[2**63 + 5]], dtype=np.uint64), convention="snorkel")


@pytest.mark.parametrize("bad", [np.array([["0", "1"]]), [[0, 1], [1]], "01", [[None, 1]]])
def test_non_numeric_votes_name_the_argument(bad):
    """D6: string arrays and ragged lists gave numpy/torch messages without the argument."""
    with pytest.raises(TypeError, match="votes_of_lfs must be a numeric array"):
        check_votes(bad, convention="snorkel", name="votes_of_lfs")
    with pytest.raises(TypeError, match="Y_dev must be a numeric array"):
        check_labels(bad, convention="snorkel", name="Y_dev")


def test_lf_summary_warns_on_youtube_read_as_flyingsquid(youtube_votes):
    from weaksup import lf_summary

    with pytest.warns(UserWarning, match=MISREAD):
        lf_summary(youtube_votes, convention="flyingsquid")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lf_summary(youtube_votes, convention="snorkel")
