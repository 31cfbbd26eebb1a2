"""Invariants held over many generated vote matrices (hypothesis)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from weaksup import LabelModel
from weaksup.baselines import MajorityVote

# random matrices dominated by one value can look like votes in the other convention
pytestmark = pytest.mark.filterwarnings("ignore:.*looks like.*convention:UserWarning")

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def vote_matrices(draw, min_lfs=3, max_lfs=7):
    n = draw(st.integers(1, 60))
    m = draw(st.integers(min_lfs, max_lfs))
    return draw(arrays(np.int64, (n, m), elements=st.sampled_from([-1, 0, 1])))


@SETTINGS
@given(vote_matrices(), st.sampled_from(["triplet_mean", "triplet_median", "triplet"]))
def test_probabilities_are_distributions(L, solve_method):
    model = LabelModel(L.shape[1]).fit(L, solve_method=solve_method)
    p = model.predict_proba(L)
    assert np.isfinite(p).all()
    assert (p >= 0).all() and (p <= 1).all()
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-9)
    acc = model.accuracies_.numpy()
    assert np.isfinite(acc).all() and (acc >= 0).all() and (acc <= 1).all()


@SETTINGS
@given(vote_matrices(), st.randoms(use_true_random=False))
def test_permuting_lfs_permutes_estimates(L, rnd):
    perm = list(range(L.shape[1]))
    rnd.shuffle(perm)
    a = LabelModel(L.shape[1]).fit(L)
    b = LabelModel(L.shape[1]).fit(L[:, perm])
    np.testing.assert_allclose(b.accuracy_moments_.numpy(), a.accuracy_moments_.numpy()[perm], atol=1e-9)
    np.testing.assert_allclose(b.predict_proba(L[:, perm]), a.predict_proba(L), atol=1e-9)


@SETTINGS
@given(vote_matrices(), st.lists(st.integers(0, 60), max_size=4))
def test_partial_fit_over_any_chunking_equals_fit(L, cuts):
    full = LabelModel(L.shape[1]).fit(L)
    chunked = LabelModel(L.shape[1])
    for part in np.split(L, sorted(c % (len(L) + 1) for c in cuts)):
        if len(part):
            chunked.partial_fit(part)
    assert chunked.statistics_.equal(full.statistics_)
    np.testing.assert_allclose(chunked.predict_proba(L), full.predict_proba(L), atol=1e-12)


@SETTINGS
@given(vote_matrices(min_lfs=1))
def test_majority_vote_is_a_distribution(L):
    p = MajorityVote().fit(L).predict_proba(L)
    np.testing.assert_allclose(p.sum(1), 1)
    voted = (L != 0).any(1)
    pred = MajorityVote().fit(L, class_balance="uniform").predict(L)
    pos, neg = (L == 1).sum(1), (L == -1).sum(1)
    # a tie goes to the lower class (-1) under the uniform balance
    assert ((pred == 1) == (pos > neg))[voted].all()
