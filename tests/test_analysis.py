"""Tests of weaksup.analysis: lf_summary, overlap_matrix, conflict_matrix."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from weaksup import analysis
from weaksup.analysis import conflict_matrix, lf_summary, overlap_matrix

# A hand-checked example: 5 items, 4 LFs (lf_3 never votes), Snorkel votes, k = 3.
L_HAND = np.array(
    [
        [0, 0, -1, -1],
        [1, 0, 2, -1],
        [-1, 2, 2, -1],
        [0, -1, -1, -1],
        [-1, -1, 1, -1],
    ]
)
Y_HAND = np.array([0, 1, 2, 1, 0])


# -- brute-force reference: one Python loop per item ------------------------------------------


def reference(L, Y=None, abstain=-1):
    """Per-LF statistics counted item by item (raw labels, abstain value given)."""
    n, m = len(L), len(L[0])
    out = []
    for j in range(m):
        cov = ovl = con = cor = inc = 0
        labels = set()
        for i in range(n):
            v = L[i][j]
            if v == abstain:
                continue
            labels.add(int(v))
            cov += 1
            others = [L[i][l] for l in range(m) if l != j and L[i][l] != abstain]
            ovl += bool(others)
            con += any(o != v for o in others)
            if Y is not None:
                cor += v == Y[i]
                inc += v != Y[i]
        out.append(
            dict(polarity=sorted(labels), coverage=cov / n, overlaps=ovl / n, conflicts=con / n,
                 correct=cor, incorrect=inc, emp_acc=(cor / (cor + inc)) if cor + inc else None)
        )
    return out


def reference_pairs(L, abstain=-1):
    n, m = len(L), len(L[0])
    both = np.zeros((m, m))
    clash = np.zeros((m, m))
    for i in range(n):
        for j in range(m):
            for l in range(m):
                a, b = L[i][j], L[i][l]
                if a != abstain and b != abstain:
                    both[j, l] += 1
                    clash[j, l] += a != b
    return both / n, clash / n


def assert_matches_reference(frame, L, Y, abstain):
    ref = reference(L.tolist(), None if Y is None else Y.tolist(), abstain)
    assert list(frame["polarity"]) == [r["polarity"] for r in ref]
    for col in ("coverage", "overlaps", "conflicts"):
        np.testing.assert_allclose(frame[col].to_numpy(), [r[col] for r in ref], rtol=0, atol=1e-15)
    if Y is not None:
        assert frame["correct"].tolist() == [r["correct"] for r in ref]
        assert frame["incorrect"].tolist() == [r["incorrect"] for r in ref]
        for got, want in zip(frame["emp_acc"], (r["emp_acc"] for r in ref)):
            if want is None:
                assert got is pd.NA
            else:
                assert got == pytest.approx(want, abs=1e-15)


# -- hand-computed values ----------------------------------------------------------------


def test_lf_summary_hand_example():
    frame = lf_summary(L_HAND, Y_HAND)  # values >= 2: the convention is read off L
    assert list(frame.index) == ["lf_0", "lf_1", "lf_2", "lf_3"]
    assert list(frame.columns) == ["polarity", "coverage", "overlaps", "conflicts", "correct", "incorrect", "emp_acc"]
    assert frame["polarity"].tolist() == [[0, 1], [0, 2], [1, 2], []]
    assert frame["coverage"].tolist() == [0.6, 0.6, 0.6, 0.0]
    assert frame["overlaps"].tolist() == [0.4, 0.6, 0.4, 0.0]
    assert frame["conflicts"].tolist() == [0.2, 0.2, 0.2, 0.0]
    assert frame["correct"].tolist() == [2, 2, 1, 0]
    assert frame["incorrect"].tolist() == [1, 1, 2, 0]
    assert frame["correct"].dtype == np.int64
    assert str(frame["emp_acc"].dtype) == "Float64"
    assert frame["emp_acc"].iloc[0] == 2 / 3 and frame["emp_acc"].iloc[2] == 1 / 3
    assert frame["emp_acc"].iloc[3] is pd.NA  # never votes: missing, not NaN
    assert frame["emp_acc"].isna().tolist() == [False, False, False, True]


def test_lf_summary_without_labels():
    frame = lf_summary(L_HAND)
    assert list(frame.columns) == ["polarity", "coverage", "overlaps", "conflicts"]


def test_lf_summary_flyingsquid_hand_example():
    L = np.array([[1, 1, 0], [-1, 1, 1], [0, 0, -1]])
    frame = lf_summary(L, Y=[1, -1, -1], convention="flyingsquid", lf_names=["a", "b", "c"])
    assert list(frame.index) == ["a", "b", "c"]
    assert frame["polarity"].tolist() == [[-1, 1], [1], [-1, 1]]
    assert frame["coverage"].tolist() == [2 / 3, 2 / 3, 2 / 3]
    assert frame["overlaps"].tolist() == [2 / 3, 2 / 3, 1 / 3]
    assert frame["conflicts"].tolist() == [1 / 3, 1 / 3, 1 / 3]
    assert frame["correct"].tolist() == [2, 1, 1]
    assert frame["incorrect"].tolist() == [0, 1, 1]
    assert frame["emp_acc"].tolist() == [1.0, 0.5, 0.5]


def test_pairwise_hand_example():
    names = ["a", "b", "c", "d"]
    ovl = overlap_matrix(L_HAND, lf_names=names)
    con = conflict_matrix(L_HAND, lf_names=names)
    assert list(ovl.index) == list(ovl.columns) == names == list(con.index) == list(con.columns)
    np.testing.assert_array_equal(
        ovl.to_numpy() * 5,
        [[3, 2, 1, 0], [2, 3, 2, 0], [1, 2, 3, 0], [0, 0, 0, 0]],
    )
    np.testing.assert_array_equal(
        con.to_numpy() * 5,
        [[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]],
    )
    assert ovl.loc["a", "b"] == 0.4 and con.loc["b", "c"] == 0.2


# -- against the brute-force reference ---------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [2, 3, 7, 25])
def test_snorkel_random_against_reference(seed, k):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 60), rng.integers(1, 9)
    L = rng.integers(0, k, size=(n, m))
    L[rng.random((n, m)) < rng.uniform(0.2, 0.9)] = -1
    if m > 1:
        L[:, rng.integers(m)] = -1  # an LF that never votes
    Y = rng.integers(0, k, size=n)
    frame = lf_summary(L, Y, convention="snorkel", cardinality=k)
    assert_matches_reference(frame, L, Y, abstain=-1)
    both, clash = reference_pairs(L.tolist(), abstain=-1)
    np.testing.assert_allclose(overlap_matrix(L, convention="snorkel").to_numpy(), both, rtol=0, atol=1e-15)
    np.testing.assert_allclose(conflict_matrix(L, convention="snorkel").to_numpy(), clash, rtol=0, atol=1e-15)


@pytest.mark.parametrize("seed", range(6))
def test_flyingsquid_random_against_reference(seed):
    rng = np.random.default_rng(100 + seed)
    n, m = rng.integers(1, 60), rng.integers(1, 9)
    L = rng.choice([-1, 0, 1], size=(n, m))
    Y = rng.choice([-1, 1], size=n)
    frame = lf_summary(L, Y, convention="flyingsquid")
    assert_matches_reference(frame, L, Y, abstain=0)
    both, clash = reference_pairs(L.tolist(), abstain=0)
    np.testing.assert_allclose(overlap_matrix(L, convention="flyingsquid").to_numpy(), both, rtol=0, atol=1e-15)
    np.testing.assert_allclose(conflict_matrix(L, convention="flyingsquid").to_numpy(), clash, rtol=0, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    L=hnp.arrays(np.int64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=7),
                 elements=st.integers(-1, 4)),
    data=st.data(),
)
def test_property_against_reference(L, data):
    Y = data.draw(hnp.arrays(np.int64, L.shape[0], elements=st.integers(0, 4)))
    frame = lf_summary(L, Y, convention="snorkel", cardinality=5)
    assert_matches_reference(frame, L, Y, abstain=-1)
    both, clash = reference_pairs(L.tolist(), abstain=-1)
    ovl = overlap_matrix(L, convention="snorkel").to_numpy()
    con = conflict_matrix(L, convention="snorkel").to_numpy()
    np.testing.assert_allclose(ovl, both, rtol=0, atol=1e-15)
    np.testing.assert_allclose(con, clash, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(ovl, ovl.T)
    np.testing.assert_array_equal(np.diag(ovl), frame["coverage"].to_numpy())
    assert (np.diag(con) == 0).all()


@pytest.mark.parametrize("k", [3, 30])
def test_row_blocks_give_the_same_result(monkeypatch, k):
    rng = np.random.default_rng(7)
    L = rng.integers(-1, k, size=(200, 6))
    full = (lf_summary(L, convention="snorkel"), conflict_matrix(L, convention="snorkel"))
    monkeypatch.setattr(analysis, "_BLOCK_ELEMENTS", 50)  # many small row blocks
    blocked = (lf_summary(L, convention="snorkel"), conflict_matrix(L, convention="snorkel"))
    pd.testing.assert_frame_equal(full[0], blocked[0])
    pd.testing.assert_frame_equal(full[1], blocked[1])


# -- inputs, models, conventions ---------------------------------------------------------------


def test_array_kinds_agree():
    base = lf_summary(L_HAND, Y_HAND)
    for L, Y in [
        (torch.tensor(L_HAND), torch.tensor(Y_HAND)),
        (L_HAND.tolist(), Y_HAND.tolist()),
        (L_HAND.astype(np.float32), Y_HAND.astype(np.int32)),
    ]:
        pd.testing.assert_frame_equal(lf_summary(L, Y), base)
    pd.testing.assert_frame_equal(overlap_matrix(torch.tensor(L_HAND)), overlap_matrix(L_HAND))
    pd.testing.assert_frame_equal(conflict_matrix(L_HAND.tolist()), conflict_matrix(L_HAND))


def test_gold_class_no_lf_votes_for():
    frame = lf_summary([[0, 2], [1, -1]], Y=[3, 1])  # class 3 is never voted
    assert frame["correct"].tolist() == [1, 0] and frame["incorrect"].tolist() == [1, 1]
    with pytest.raises(ValueError, match=r"Y must hold class ids 0..2, got 3"):
        lf_summary([[0, 2], [1, -1]], Y=[3, 1], cardinality=3)


def test_model_estimated_accuracies():
    L = np.array([[1, 1, 0], [-1, 1, 1], [0, 0, -1]])
    model = SimpleNamespace(convention="flyingsquid", accuracies_=np.array([0.9, 0.8, 0.7]))
    frame = lf_summary(L, model=model)  # ambiguous values, but the model tells the convention
    assert frame["est_acc"].tolist() == [0.9, 0.8, 0.7]
    assert frame["polarity"].tolist() == [[-1, 1], [1], [-1, 1]]
    torch_model = SimpleNamespace(
        convention="flyingsquid", accuracies_=torch.tensor([0.9, 0.8, 0.7], dtype=torch.float64, requires_grad=True)
    )
    frame = lf_summary(L, [1, -1, -1], torch_model)
    assert frame["est_acc"].tolist() == [0.9, 0.8, 0.7]
    assert list(frame.columns)[-2:] == ["emp_acc", "est_acc"]
    no_convention = SimpleNamespace(accuracies_=[0.5, 0.5, 0.5])
    assert lf_summary(L, model=no_convention, convention="snorkel")["polarity"].tolist() == [[0, 1]] * 3


def test_model_errors():
    L = np.array([[1, 1, 0], [-1, 1, 1]])
    with pytest.raises(ValueError, match="contradicts the model's convention 'flyingsquid'"):
        lf_summary(L, model=SimpleNamespace(convention="flyingsquid", accuracies_=np.ones(3)), convention="snorkel")
    with pytest.raises(ValueError, match="has no accuracies_: fit it first"):
        lf_summary(L, model=SimpleNamespace(convention="flyingsquid"))
    with pytest.raises(ValueError, match=r"accuracies_ must have shape \(3,\), one per column of L, got shape \(4,\)"):
        lf_summary(L, model=SimpleNamespace(convention="flyingsquid", accuracies_=np.ones(4)))
    with pytest.raises(ValueError, match="convention must be one of"):
        lf_summary(L, model=SimpleNamespace(convention="other", accuracies_=np.ones(3)))


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("func", [lf_summary, overlap_matrix, conflict_matrix])
def test_common_errors(func):
    with pytest.raises(ValueError, match="cannot tell the vote convention of L"):
        func(np.array([[1, 0], [-1, 1]]))
    with pytest.raises(ValueError, match=r"L must be a 2-D array of shape \(n_items, n_lfs\), got shape \(3,\)"):
        func(np.array([0, 1, 2]), convention="snorkel")
    with pytest.raises(ValueError, match=r"lf_names must hold 3 names \(one per column of L\), got 2"):
        func(L_HAND[:, :3], lf_names=["a", "b"])
    with pytest.raises(ValueError, match="lf_names must be unique, but 'a' appears more than once"):
        func(L_HAND[:, :3], lf_names=["a", "b", "a"])
    with pytest.raises(ValueError, match="convention must be one of"):
        func(L_HAND, convention="wrench")
    with pytest.raises(ValueError, match=r"L votes for class 2, but cardinality is 2"):
        func(L_HAND, cardinality=2)
    with pytest.raises(ValueError, match="cardinality must be an int >= 1, got 0"):
        func(L_HAND, cardinality=0)
    with pytest.raises(ValueError, match="must hold FlyingSquid votes"):
        func(L_HAND, convention="flyingsquid")
    with pytest.raises(ValueError, match=r"L is empty \(0 rows\)"):
        func(np.zeros((0, 3), dtype=np.int64), convention="snorkel")
    with pytest.raises(ValueError, match="must hold integer votes, got the non-integer value 0.5"):
        func(np.array([[0.5, 2.0]]))


def test_label_errors():
    with pytest.raises(ValueError, match=r"Y has 4 labels, but L has 5 rows: one gold label per item is needed"):
        lf_summary(L_HAND, Y_HAND[:4])
    with pytest.raises(ValueError, match=r"Y must be 1-D \(one gold label per item\), got shape \(5, 2\)"):
        lf_summary(L_HAND, np.zeros((5, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="Y must hold FlyingSquid labels -1/\\+1, got 0"):
        lf_summary([[1, 0]], Y=[0], convention="flyingsquid")
    with pytest.raises(ValueError, match="Y must hold class ids"):
        lf_summary(L_HAND, Y=[0, 1, 2, -1, 0])


# -- real data -------------------------------------------------------------------------------


def test_youtube_summary():
    from weaksup.datasets import load_youtube

    ds = load_youtube("train")
    frame = lf_summary(ds.L, ds.Y, convention="snorkel", lf_names=[f"f{j}" for j in range(10)])
    np.testing.assert_allclose(frame["coverage"].to_numpy(), (ds.L != -1).mean(0))
    assert (frame["correct"] + frame["incorrect"]).tolist() == (ds.L != -1).sum(0).tolist()
    # half of youtube's LFs only vote spam (1), half only ham (0)
    assert sorted(map(tuple, frame["polarity"])) == [(0,)] * 5 + [(1,)] * 5
    small = lf_summary(ds.L[:300], ds.Y[:300], convention="snorkel")
    assert_matches_reference(small, ds.L[:300], ds.Y[:300], abstain=-1)


@pytest.mark.parametrize("top_class", [2, 2999])  # dense and compact statistics layouts
def test_pairwise_matrices_equal_brute_force(top_class):
    rng = np.random.default_rng(0)
    L = rng.integers(-1, 3, (50, 4))
    L[0, 0] = top_class
    voted = L >= 0
    both = voted[:, :, None] & voted[:, None, :]
    differ = both & (L[:, :, None] != L[:, None, :])
    np.testing.assert_allclose(overlap_matrix(L, convention="snorkel").values, both.mean(0))
    np.testing.assert_allclose(conflict_matrix(L, convention="snorkel").values, differ.mean(0))


def test_class_ids_beyond_the_bound_need_a_cardinality():
    L = np.array([[0, 10**8], [1, -1]])
    with pytest.raises(ValueError, match="pass cardinality="):
        lf_summary(L, convention="snorkel")


def test_votes_from_apply_lfs_bring_their_names_and_failures():
    from weaksup.lf import apply_lfs, labeling_function

    @labeling_function()
    def long_text(x):
        return 1 if x > 1 else -1

    @labeling_function()
    def fragile(x):
        if x == 3:
            raise RuntimeError("boom")
        return 0

    votes = apply_lfs([long_text, fragile], [1, 2, 3, 4], labels=2, progress=False, errors="abstain")
    table = lf_summary(votes, convention="snorkel")
    assert list(table.index) == ["long_text", "fragile"]
    assert table["failures"].tolist() == [0, 1]
    assert "failures" not in lf_summary(np.asarray(votes), convention="snorkel")


def test_votes_bring_their_convention_and_cardinality():
    """README's loop: lf_summary(apply_lfs(...)) on binary votes needs no convention=."""
    from weaksup.lf import apply_lfs, labeling_function

    @labeling_function()
    def has_link(x):
        return 1 if "http" in x else -1

    @labeling_function()
    def short(x):
        return 0 if len(x) < 6 else -1

    votes = apply_lfs([has_link, short], ["hi", "see http://x", "ok", "long text here"], labels=["ham", "spam"],
                      progress=False)
    table = lf_summary(votes)
    assert list(table.index) == ["has_link", "short"]
    assert table["polarity"].tolist() == [[1], [0]]
    assert list(overlap_matrix(votes).index) == ["has_link", "short"]
    assert conflict_matrix(votes).shape == (2, 2)


def test_lf_table_reports_whether_it_finds_the_bad_lf():
    """Issue 10.4: with gold and a model, the table reports the rank correlation
    of estimated and empirical accuracies; estimates stay in [0, 1]."""
    from weaksup import MulticlassLabelModel
    from weaksup.datasets import load_youtube

    data = load_youtube("train")
    model = MulticlassLabelModel(2).fit(data.L)
    table = lf_summary(data.L, data.Y, model=model, convention="snorkel")
    for column in ("est_acc", "agree_acc"):
        assert table[column].between(0, 1).all()
    assert table.attrs["agreement_rank_correlation"] >= 0.6
    assert -1 <= table.attrs["accuracy_rank_correlation"] <= 1
    assert "agree_acc" not in lf_summary(data.L, model=MulticlassLabelModel(2, method="flyingsquid").fit(data.L))
