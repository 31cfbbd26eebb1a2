"""MulticlassLabelModel: interface contract, conventions, exactness of the
statistics path, FlyingSquid parity, and recovery of known parameters.

Recovery tolerances (stated per test) were set at about twice the largest
error seen over seeds 0-4 of each generator; the parameter-recovery tests fit
with ``prior_strength=0, prior_items=0, pair_tolerance=None`` (the plain
composite-likelihood estimator, which is consistent), the quality tests use
the defaults (which shrink sparse LFs towards majority vote).
"""

import numpy as np
import pytest
import torch

from weaksup import LabelModel, NotFittedError, synthetic
from weaksup.conventions import convert_votes
from weaksup.multiclass import METHODS, MulticlassLabelModel, one_vs_rest_statistics
from weaksup.statistics import VoteStatistics, accumulate
from weaksup.class_balance import estimate_class_balance, resolve_class_balance
from _model_state import assert_same_state

MLE = dict(prior_strength=0, prior_items=0, pair_tolerance=None)


def votes(n=600, m=5, k=3, seed=0, coverage=0.7):
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, k, n)
    acc = rng.uniform(0.6, 0.9, m)
    right = rng.random((n, m)) < acc
    wrong = (Y[:, None] + rng.integers(1, k, (n, m))) % k
    L = np.where(right, Y[:, None], wrong)
    return np.where(rng.random((n, m)) < coverage, L, -1).astype(np.int64), Y


# ---------------------------------------------------------------------------
# the interface contract
# ---------------------------------------------------------------------------
class TestContract:
    def test_init_only_stores(self):
        model = MulticlassLabelModel(3, method="nonsense", n_iter=-4)
        assert model.cardinality == 3 and model.method == "nonsense" and model.n_iter == -4
        assert model.convention == "snorkel" and model.groups == ()
        with pytest.raises(ValueError, match="method must be one of"):
            model.fit(votes()[0])

    def test_default_method(self):
        assert MulticlassLabelModel().method == "pairwise_em" and MulticlassLabelModel().cardinality == 2
        assert set(METHODS) == {"pairwise_em", "flyingsquid"}

    @pytest.mark.parametrize(
        "params,match",
        [
            ({"cardinality": 1}, "cardinality must be an int >= 2"),
            ({"cardinality": 2.5}, "cardinality must be an int >= 2"),
            ({"n_iter": -1}, "n_iter must be an int >= 0"),
            ({"prior_accuracy": 1.0}, r"prior_accuracy must be a number in \(0, 1\)"),
            ({"prior_strength": -1}, "prior_strength must be a number >= 0"),
            ({"prior_items": float("nan")}, "prior_items must be a number >= 0"),
            ({"pair_tolerance": 0}, "pair_tolerance must be a number > 0 or None"),
            ({"abstain_weight": 2}, r"abstain_weight must be a number in \[0, 1\]"),
        ],
    )
    def test_parameters_checked_at_fit(self, params, match):
        model = MulticlassLabelModel(3).set_params(**params)
        with pytest.raises(ValueError, match=match):
            model.fit(votes()[0])

    def test_get_set_params_and_repr(self):
        model = MulticlassLabelModel(4, n_iter=10)
        params = model.get_params()
        assert params["cardinality"] == 4 and params["n_iter"] == 10 and "method" in params
        assert repr(model) == "MulticlassLabelModel(cardinality=4, n_iter=10)"
        assert model.set_params(n_iter=5) is model and model.n_iter == 5
        with pytest.raises(ValueError, match="invalid parameter 'bogus'"):
            model.set_params(bogus=1)
        with pytest.raises(TypeError):
            MulticlassLabelModel(3, "flyingsquid")  # options are keyword-only

    @pytest.mark.parametrize("method", METHODS)
    def test_shapes_and_attributes(self, method):
        L, _ = votes(k=3)
        model = MulticlassLabelModel(3, method=method)
        assert model.fit(L, class_balance=[0.2, 0.3, 0.5]) is model
        n, m = L.shape
        proba = model.predict_proba(L)
        assert isinstance(proba, np.ndarray) and proba.shape == (n, 3)
        np.testing.assert_allclose(proba.sum(1), 1.0)
        pred = model.predict(L)
        assert pred.shape == (n,) and set(np.unique(pred)) <= {0, 1, 2}
        assert np.array_equal(pred, proba.argmax(1))
        assert model.n_lfs_ == m
        assert np.asarray(model.accuracies_).shape == (m,)
        assert ((np.asarray(model.accuracies_) >= 0) & (np.asarray(model.accuracies_) <= 1)).all()
        np.testing.assert_allclose(np.asarray(model.class_balance_), [0.2, 0.3, 0.5])
        assert isinstance(model.statistics_, VoteStatistics)
        scores = model.log_scores(torch.as_tensor(L))
        assert scores.shape == (n, 3) and scores.dtype == torch.float64
        torch.testing.assert_close(torch.softmax(scores, 1), torch.as_tensor(proba))
        if method == "pairwise_em":
            assert model.confusion_.shape == (m, 4, 3)
            torch.testing.assert_close(model.confusion_.sum(1), torch.ones(m, 3, dtype=torch.float64))

    def test_not_fitted(self):
        with pytest.raises(NotFittedError, match="call fit"):
            MulticlassLabelModel(3).predict_proba(votes()[0])

    def test_array_kinds(self):
        L, _ = votes()
        model = MulticlassLabelModel(3).fit(L)
        t = model.predict_proba(torch.as_tensor(L))
        assert isinstance(t, torch.Tensor) and t.shape == (len(L), 3)
        assert isinstance(model.predict(torch.as_tensor(L)), torch.Tensor)
        assert isinstance(model.predict_proba(L.tolist()), np.ndarray)
        np.testing.assert_allclose(t.numpy(), model.predict_proba(L))
        empty = model.predict_proba(np.zeros((0, L.shape[1]), dtype=np.int64))
        assert empty.shape == (0, 3)


# ---------------------------------------------------------------------------
# conventions and validation
# ---------------------------------------------------------------------------
class TestConventions:
    def test_out_of_range_vote(self):
        L, _ = votes(k=3)
        L[0, 0] = 3
        with pytest.raises(ValueError, match="votes for class 3, but cardinality is 3"):
            MulticlassLabelModel(3).fit(L)

    def test_below_abstain(self):
        L, _ = votes(k=3)
        L[0, 0] = -2
        with pytest.raises(ValueError, match="-1 = abstain"):
            MulticlassLabelModel(3).fit(L)

    def test_flyingsquid_votes_need_explicit_conversion(self):
        """FlyingSquid votes (0 = abstain) are refused when they cannot be Snorkel
        votes, and the converter gives the Snorkel reading."""
        fs = np.array([[1, -1, 0], [1, 1, 1], [-1, -1, 0], [0, 1, -1]])
        snorkel = convert_votes(fs, source="flyingsquid", target="snorkel")
        assert snorkel.tolist() == [[1, 0, -1], [1, 1, 1], [0, 0, -1], [-1, 1, 0]]
        with pytest.raises(ValueError, match="cardinality is 2"):
            MulticlassLabelModel(2).fit(fs + 1)  # 0/1/2 would be read as classes: refused for k = 2

    def test_m_fixed_by_first_call(self):
        L, _ = votes(m=5)
        model = MulticlassLabelModel(3).fit(L)
        with pytest.raises(ValueError, match="must have 5 columns"):
            model.predict_proba(L[:, :4])
        with pytest.raises(ValueError, match="must have 5 columns"):
            model.partial_fit(L[:, :4])
        model.fit(L[:, :4])  # a new fit may change m
        assert model.n_lfs_ == 4

    def test_statistics_checked(self):
        model = MulticlassLabelModel(3)
        with pytest.raises(ValueError, match="statistics of 4 classes"):
            model.fit_statistics(accumulate(torch.as_tensor(votes(k=4)[0]), 4))
        with pytest.raises(TypeError, match="VoteStatistics"):
            model.fit_statistics(votes()[0])

    def test_class_balance_arguments(self):
        L, _ = votes(k=3)
        model = MulticlassLabelModel(3)
        with pytest.raises(ValueError, match="3 entries, got 2"):
            model.fit(L, class_balance=[0.5, 0.5])
        with pytest.raises(ValueError, match="non-negative"):
            model.fit(L, class_balance=[0.5, -0.5, 1.0])
        model.fit(L, class_balance=[2, 1, 1])
        np.testing.assert_allclose(np.asarray(model.class_balance_), [0.5, 0.25, 0.25])
        model.fit(L, Y_dev=[0, 0, 1])  # plain frequencies: weaksup.class_balance's one rule (issue 9)
        np.testing.assert_allclose(np.asarray(model.class_balance_), [2 / 3, 1 / 3, 0])
        with pytest.raises(ValueError, match="class ids 0..2"):
            model.fit(L, Y_dev=[0, 3])
        model.fit(L, class_balance="uniform")
        np.testing.assert_allclose(np.asarray(model.class_balance_), [1 / 3] * 3)
        model.fit(L)  # neither given: estimated from the votes (issue 10)
        np.testing.assert_allclose(np.asarray(model.class_balance_), estimate_class_balance(model.statistics_))


@pytest.mark.parametrize("seed", range(6))
def test_class_balance_from_y_dev_is_plain_frequency(seed):
    """The model side of "one class-balance rule": for any Y, the balance of
    MulticlassLabelModel(k).fit(L, Y_dev=Y) is resolve_class_balance's (the
    losses assert the same numbers for FSCrossEntropyLoss)."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 5))
    Y = rng.integers(0, k, size=int(rng.integers(1, 30)))
    L, _ = votes(k=k)
    model = MulticlassLabelModel(k).fit(L, Y_dev=Y)
    expected = np.bincount(Y, minlength=k) / len(Y)
    np.testing.assert_allclose(np.asarray(model.class_balance_), expected, rtol=0, atol=0)
    np.testing.assert_array_equal(
        np.asarray(model.class_balance_), resolve_class_balance(None, Y, cardinality=k, convention="snorkel").numpy()
    )


# ---------------------------------------------------------------------------
# statistics: partial_fit == fit, fit_statistics == fit
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_partial_fit_equals_fit(method):
    L, _ = votes(n=900, k=3)
    full = MulticlassLabelModel(3, method=method).fit(L, class_balance=[0.3, 0.3, 0.4])
    part = MulticlassLabelModel(3, method=method)
    for chunk in np.array_split(L, [100, 101, 500]):
        part.partial_fit(chunk, class_balance=[0.3, 0.3, 0.4])
    assert part.statistics_.equal(full.statistics_)
    np.testing.assert_array_equal(part.predict_proba(L), full.predict_proba(L))
    np.testing.assert_array_equal(np.asarray(part.accuracies_), np.asarray(full.accuracies_))


def test_partial_fit_remembers_balance():
    L, _ = votes(n=400, k=3)
    model = MulticlassLabelModel(3).partial_fit(L[:200], class_balance=[0.1, 0.1, 0.8])
    model.partial_fit(L[200:])
    np.testing.assert_allclose(np.asarray(model.class_balance_), [0.1, 0.1, 0.8])


def test_fit_statistics_equals_fit_and_adds():
    L, _ = votes(n=500, k=4, m=6)
    model = MulticlassLabelModel(4)
    a, b = model.accumulate(L[:300]), model.accumulate(L[300:])
    via_stats = MulticlassLabelModel(4).fit_statistics(a + b, class_balance=[0.1, 0.2, 0.3, 0.4])
    direct = MulticlassLabelModel(4).fit(L, class_balance=[0.1, 0.2, 0.3, 0.4])
    torch.testing.assert_close(via_stats.confusion_, direct.confusion_, rtol=0, atol=0)
    # subtracting what falls out of a buffer gives the model of what stays
    rest = MulticlassLabelModel(4).fit_statistics((a + b) - a, class_balance=[0.1, 0.2, 0.3, 0.4])
    torch.testing.assert_close(rest.confusion_, MulticlassLabelModel(4).fit(L[300:], class_balance=[0.1, 0.2, 0.3, 0.4]).confusion_)


def test_model_is_a_function_of_the_counts():
    """Without pseudo-counts the estimate depends on the co-vote *rates* only:
    the same rates over 1000 times the items give the same model."""
    L, _ = votes(n=300, k=3)
    stats = MulticlassLabelModel(3).accumulate(L)
    big = VoteStatistics(stats.n_items * 1000, stats.co_votes * 1000)
    opts = dict(prior_strength=0, prior_items=0)
    m1 = MulticlassLabelModel(3, **opts).fit_statistics(stats)
    m2 = MulticlassLabelModel(3, **opts).fit_statistics(big)
    torch.testing.assert_close(m1.confusion_, m2.confusion_, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# degenerate inputs: never NaN
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_degenerate_inputs_never_nan(method):
    L, _ = votes(n=200, m=5, k=3)
    L[:, 2] = -1  # an LF that never votes
    L[:20] = -1  # all-abstain rows
    L[:, 4] = np.where(L[:, 4] >= 0, 1, -1)  # an LF that only ever votes class 1
    for cb in (None, [0.0, 0.5, 0.5], [1e-9, 0.5, 0.5]):
        model = MulticlassLabelModel(3, method=method).fit(L, class_balance=cb)
        p = model.predict_proba(L)
        assert np.isfinite(p).all() and np.allclose(p.sum(1), 1.0)
        assert np.isfinite(np.asarray(model.accuracies_)).all()
    # a vote never seen in training carries no information
    model = MulticlassLabelModel(3, method=method).fit(L)
    odd = L[20:25].copy()
    odd[:, 2] = 0
    assert np.isfinite(model.predict_proba(odd)).all()


def test_tiny_inputs():
    p = MulticlassLabelModel(3).fit([[0], [1], [2], [-1]]).predict_proba([[0], [-1]])
    assert np.isfinite(p).all() and p[0].argmax() == 0
    p = MulticlassLabelModel(2).fit([[-1, -1], [-1, -1]]).predict_proba([[-1, -1]])
    np.testing.assert_allclose(p, [[0.5, 0.5]])
    with pytest.raises(ValueError, match="at least 3 LFs"):
        MulticlassLabelModel(2, method="flyingsquid").fit([[0, 1], [1, 1]])


def test_all_abstain_rows():
    """abstain_weight=0 or the FlyingSquid method: an all-abstain row gets the
    class balance; by default it gets P(Y | no LF voted), each LF's abstention
    tempered by ``abstain_weight`` times its ``abstain_fit``."""
    import _dense_pairwise_em as solvers

    L, Y, _ = synthetic.one_sided(n=3000, m=6, seed=0)
    cb = [0.3, 0.7]
    none = np.full((1, 6), -1)
    for model in (MulticlassLabelModel(abstain_weight=0), MulticlassLabelModel(method="flyingsquid")):
        np.testing.assert_allclose(model.fit(L, class_balance=cb).predict_proba(none), [cb])
    for opts in ({}, {"pair_tolerance": None}):
        model = MulticlassLabelModel(**opts).fit(L, class_balance=cb)
        C, st = model.confusion_, model.statistics_
        fit = solvers.abstain_fit(st.co_votes, st.n_items, C, model.class_balance_, pair_tolerance=model.pair_tolerance)
        assert (fit > 0).any() and (opts or (fit < 1).any())
        expected = torch.as_tensor(cb, dtype=torch.float64) * (C[:, 0, :] ** (model.abstain_weight * fit)[:, None]).prod(0)
        np.testing.assert_allclose(model.predict_proba(none)[0], (expected / expected.sum()).numpy())


def test_abstain_fit_finds_lfs_that_abstain_together():
    """``abstain_fit`` (how far an LF's abstentions are independent evidence):
    close to 1 for every LF of data drawn from the model, close to 0 for exact
    copies of an LF (they abstain together), the others unaffected; ones when
    pair weighting is off or there is a single LF; never NaN."""
    import _dense_pairwise_em as solvers

    L, _, p = synthetic.one_sided(n=20000, m=10, seed=0)
    for LL, copies in ((L, 0), (np.concatenate([L, L[:, :1], L[:, :1], L[:, :1]], 1), 3)):
        model = MulticlassLabelModel(2).fit(LL, class_balance=p.class_balance)
        st = model.statistics_
        fit = solvers.abstain_fit(st.co_votes, st.n_items, model.confusion_, model.class_balance_).numpy()
        assert fit.shape == (LL.shape[1],) and np.isfinite(fit).all() and ((fit >= 0) & (fit <= 1)).all()
        assert (fit[1:10] > 0.9).all(), fit
        if copies:
            assert fit[0] < 0.1 and (fit[10:] < 0.1).all(), fit
        else:
            assert fit[0] > 0.9, fit
        ones = solvers.abstain_fit(st.co_votes, st.n_items, model.confusion_, model.class_balance_, pair_tolerance=None)
        np.testing.assert_array_equal(ones.numpy(), np.ones(LL.shape[1]))
    single = MulticlassLabelModel(3).fit([[0], [1], [2], [-1]])
    st = single.statistics_
    np.testing.assert_array_equal(solvers.abstain_fit(st.co_votes, st.n_items, single.confusion_, single.class_balance_).numpy(), [1.0])
    D, _ = votes(n=200, m=5, k=3)
    D[:, 2] = -1
    D[:20] = -1
    model = MulticlassLabelModel(3).fit(D)
    st = model.statistics_
    assert torch.isfinite(solvers.abstain_fit(st.co_votes, st.n_items, model.confusion_, model.class_balance_)).all()


# ---------------------------------------------------------------------------
# FlyingSquid parity
# ---------------------------------------------------------------------------
def test_flyingsquid_binary_is_label_model():
    L_fs, _ = synthetic_fs()
    L = np.asarray(convert_votes(L_fs, source="flyingsquid", target="snorkel"))
    ours = MulticlassLabelModel(2, method="flyingsquid").fit(L, class_balance=[0.4, 0.6])
    ref = LabelModel(L.shape[1]).fit(L_fs, class_balance=np.array([0.4, 0.6]), solve_method="triplet_mean")
    np.testing.assert_allclose(ours.predict_proba(L), ref.predict_proba(L_fs), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(ours.accuracies_), np.asarray(ref.accuracies_), atol=1e-12)


def synthetic_fs(n=2000, m=6, seed=0):
    rng = np.random.default_rng(seed)
    Y = np.where(rng.random(n) < 0.6, 1, -1)
    acc = rng.uniform(0.6, 0.9, m)
    L = np.where(rng.random((n, m)) < acc, Y[:, None], -Y[:, None]) * (rng.random((n, m)) < 0.7)
    return L.astype(np.int64), Y


def test_flyingsquid_one_vs_all_is_per_class_label_models():
    """k > 2: one weaksup.LabelModel per class on "votes c" (+1) vs "votes
    another class" (-1), normalised; the binary statistics come from the
    many-class counts."""
    L, _ = votes(n=800, m=6, k=4, seed=2)
    cb = np.array([0.1, 0.2, 0.3, 0.4])
    ours = MulticlassLabelModel(4, method="flyingsquid").fit(L, class_balance=cb)
    cols = []
    for c in range(4):
        Lc = np.where(L < 0, 0, np.where(L == c, 1, -1))
        stats_c = one_vs_rest_statistics(accumulate(torch.as_tensor(L), 4), c)
        assert stats_c.equal(accumulate(torch.as_tensor(np.where(L < 0, -1, (L == c).astype(np.int64))), 2))
        ref_c = LabelModel(6).fit(Lc, class_balance=np.array([1 - cb[c], cb[c]]), solve_method="triplet_mean")
        cols.append(ref_c.predict_proba_marginalized(Lc))
    ref = np.stack(cols, 1)
    np.testing.assert_allclose(ours.predict_proba(L), ref / ref.sum(1, keepdims=True), atol=1e-10)


# ---------------------------------------------------------------------------
# recovery of known parameters (composite-likelihood estimator, no prior)
# ---------------------------------------------------------------------------
def _big_lfs(L, at_least=1000):
    return (L >= 0).sum(0) >= at_least


@pytest.mark.parametrize(
    "gen,kw,tol_conf,tol_acc",
    [
        (synthetic.symmetric, dict(n=20000), 0.03, 0.02),
        (synthetic.symmetric, dict(n=20000, k=3), 0.03, 0.02),
        (synthetic.one_sided, dict(n=20000), 0.03, 0.04),
        (synthetic.one_sided, dict(n=20000, k=3, m=9), 0.03, 0.03),
        (synthetic.adversarial, dict(n=20000), 0.03, 0.03),
        (synthetic.adversarial, dict(n=20000, k=3, bad_accuracy=(0.05, 0.2)), 0.04, 0.03),
        (synthetic.many_classes, dict(n=20000), 0.12, 0.18),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_recovers_parameters(gen, kw, tol_conf, tol_acc, seed):
    """Every confusion entry within ``tol_conf`` and every accuracy within
    ``tol_acc`` of the truth, for each LF with at least 1000 votes."""
    L, Y, p = gen(seed=seed, **kw)
    model = MulticlassLabelModel(p.cardinality, **MLE).fit(L, class_balance=p.class_balance)
    big = _big_lfs(L)
    assert big.sum() >= 5
    conf_err = np.abs(model.confusion_.numpy() - p.confusion).max(axis=(1, 2))[big]
    acc_err = np.abs(np.asarray(model.accuracies_) - p.accuracies)[big]
    assert conf_err.max() < tol_conf, conf_err
    assert acc_err.max() < tol_acc, acc_err


@pytest.mark.parametrize("k", [2, 3])
def test_recovers_the_sign_of_bad_lfs(k):
    """LFs worse than random come out worse than random (no abs()) and their
    votes count against the class they name. The default's prior (LFs are
    trusted like majority vote does) pulls them towards chance: it still ranks
    them below every good LF and below 0.5, within 0.2 of the truth."""
    L, Y, p = synthetic.adversarial(n=8000, k=k, n_bad=3, bad_accuracy=(0.1, 0.25), seed=4)
    only_bad = np.full((1, L.shape[1]), -1)
    only_bad[0, 0] = 0
    for opts, tol in ((MLE, 0.03), ({}, 0.2)):  # the default's prior trusts LFs: a looser bound
        model = MulticlassLabelModel(k, **opts).fit(L, class_balance=p.class_balance)
        acc = np.asarray(model.accuracies_)
        assert (acc[:3] < 0.5).all() and (acc[3:] > 0.6).all(), acc
        assert np.abs(acc - p.accuracies).max() < tol, acc - p.accuracies
        if opts is MLE:
            # its vote for class 0 lowers P(Y = 0) below the class balance
            assert model.predict_proba(only_bad)[0, 0] < p.class_balance[0]
            assert (acc[:3] < 1 / k).all()


def test_one_sided_lfs_are_told_apart():
    """Same-side LFs always agree, yet their different precisions are found:
    the most and least precise LF of each side come out in the right order."""
    L, Y, p = synthetic.one_sided(n=20000, m=10, seed=3)
    model = MulticlassLabelModel(2, **MLE).fit(L, class_balance=p.class_balance)
    est, true = np.asarray(model.accuracies_), p.accuracies
    for side in (0, 1):
        idx = np.flatnonzero(p.targets == side)
        assert np.argmax(est[idx]) == np.argmax(true[idx]) and np.argmin(est[idx]) == np.argmin(true[idx])
    assert np.corrcoef(est, true)[0, 1] > 0.95


# ---------------------------------------------------------------------------
# quality: the defaults against majority vote and the Bayes posterior
# ---------------------------------------------------------------------------
def _mv(L, k):
    counts = np.stack([(L == c).sum(1) for c in range(k)], 1)
    return counts.argmax(1)


def _f1(pred, Y):
    tp = ((pred == 1) & (Y == 1)).sum()
    return 2 * tp / max(1, (pred == 1).sum() + (Y == 1).sum())


@pytest.mark.parametrize(
    "gen,kw,metric,max_gap",
    [
        (synthetic.symmetric, dict(), "acc", 0.02),
        (synthetic.one_sided, dict(), "acc", 0.02),
        (synthetic.one_sided, dict(k=4, m=16), "acc", 0.02),
        (synthetic.sparse, dict(), "f1", 0.08),
        (synthetic.many_classes, dict(), "acc", 0.04),
        (synthetic.many_classes, dict(m=170, k=10), "acc", 0.04),
        (synthetic.adversarial, dict(), "acc", 0.05),
    ],
)
def test_default_quality(gen, kw, metric, max_gap):
    """On fresh items from the same model: the default is at most ``max_gap``
    below the Bayes posterior with the true parameters, and above majority vote."""
    L, _, p = gen(seed=0, **kw)
    L_test, Y_test = synthetic.sample_votes(p.confusion, p.class_balance, 4000, seed=99)
    model = MulticlassLabelModel(p.cardinality).fit(L, class_balance=p.class_balance)
    pred = model.predict(L_test)
    oracle = p.log_posterior(L_test).argmax(1)
    if metric == "acc":
        ours, best, mv = (pred == Y_test).mean(), (oracle == Y_test).mean(), (_mv(L_test, p.cardinality) == Y_test).mean()
    else:
        ours, best, mv = _f1(pred, Y_test), _f1(oracle, Y_test), _f1(_mv(L_test, 2), Y_test)
    assert ours >= best - max_gap, (ours, best)
    assert ours > mv, (ours, mv)


def test_fit_is_fast():
    """trec-sized input (5000 x 68, 6 classes) fits well under a second."""
    import time

    L, _, p = synthetic.many_classes(n=5000, m=68, k=6, seed=0)
    model = MulticlassLabelModel(6)
    stats = model.accumulate(L)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: threads only add contention on a busy machine
    try:
        start = time.perf_counter()
        model.fit_statistics(stats, class_balance=p.class_balance)
        elapsed = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    assert elapsed < 2.0  # typically ~0.1 s


# ---------------------------------------------------------------------------
# devices
# ---------------------------------------------------------------------------
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
def test_cuda_stays_on_device_without_sync():
    import _dense_pairwise_em as solvers

    L, _ = votes(n=500, k=3)
    model = MulticlassLabelModel(3)
    stats = model.accumulate(torch.as_tensor(L, device="cuda"))
    cb = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64, device="cuda")
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        model.fit_statistics(stats, class_balance=cb)
        scores = model.log_scores(torch.as_tensor(L, device="cuda"))
        fit = solvers.abstain_fit(stats.co_votes, stats.n_items, model.confusion_, cb)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert scores.is_cuda and model.confusion_.is_cuda and model.class_balance_.is_cuda and fit.is_cuda
    cpu = MulticlassLabelModel(3).fit(L, class_balance=[0.2, 0.3, 0.5])
    torch.testing.assert_close(model.confusion_.cpu(), cpu.confusion_, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------
# a call that raises changes nothing (issue 11)
# ---------------------------------------------------------------------------
def test_failed_fit_keeps_a_fitted_model_fitted():
    """D2: a vote for class 7 with cardinality=3 used to un-fit the model."""
    L, _ = votes(k=3)
    model, twin = MulticlassLabelModel(3).fit(L), MulticlassLabelModel(3).fit(L)
    with pytest.raises(ValueError, match="class 7"):
        model.fit(np.array([[0, 7, 1]] * 5))
    assert_same_state(model, twin)
    np.testing.assert_array_equal(model.predict_proba(L), twin.predict_proba(L))


@pytest.mark.parametrize(
    "call",
    [
        lambda m, L: m.fit(L, class_balance=[np.inf, 1, 1]),
        lambda m, L: m.fit(L, Y_dev=[]),
        lambda m, L: m.partial_fit(L, Y_dev=[0, 5]),
        lambda m, L: m.partial_fit(L[:, :2]),
        lambda m, L: m.set_params(n_iter=-1).fit(L),
        lambda m, L: m.fit_statistics(accumulate(torch.as_tensor(L), 4)),
        lambda m, L: m.fit(np.array([["a", "b"]])),
    ],
)
def test_rejected_calls_leave_the_fitted_model_bit_identical(call):
    L, _ = votes(k=3)
    model, twin = MulticlassLabelModel(3).fit(L), MulticlassLabelModel(3).fit(L)
    with pytest.raises((ValueError, TypeError)):
        call(model, L)
    model.set_params(n_iter=twin.n_iter)
    assert_same_state(model, twin)


def test_empty_y_dev_is_refused():
    """D5: an empty Y_dev silently meant a uniform balance."""
    L, _ = votes(k=3)
    with pytest.raises(ValueError, match="Y_dev is empty"):
        MulticlassLabelModel(3).fit(L, Y_dev=np.array([], dtype=int))


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "uint64", "int16", "float16", "float64"])
def test_every_numeric_dtype_of_votes_fits(dtype):
    """D6: uint16/32/64 votes failed inside torch ("aminmax_cpu" not implemented)."""
    L, _ = votes(k=3, coverage=1.0)  # no abstentions: unsigned dtypes hold every vote
    ref = MulticlassLabelModel(3).fit(L).predict_proba(L)
    np.testing.assert_allclose(MulticlassLabelModel(3).fit(L.astype(dtype)).predict_proba(L.astype(dtype)), ref)


def test_multiclass_implements_the_protocol():
    from weaksup.base import LabelModelProtocol

    L, _ = votes(k=3)
    model = MulticlassLabelModel(3).fit(L)
    assert isinstance(model, LabelModelProtocol)
    codes = torch.as_tensor(L)
    np.testing.assert_allclose(torch.softmax(model.log_scores(codes), 1).numpy(), model.predict_proba(L))


def test_set_params_takes_effect_at_the_next_fit_only():
    L, _ = votes(k=3)
    model = MulticlassLabelModel(3).fit(L)
    before = model.predict_proba(L)
    model.set_params(method="flyingsquid", cardinality=4)
    np.testing.assert_array_equal(model.predict_proba(L), before)  # still the fitted model
    model.fit(L)
    assert model.predict_proba(L).shape == (len(L), 4)


@pytest.mark.parametrize("method", METHODS)
def test_a_class_the_balance_rules_out_gets_probability_zero(method):
    L, _ = votes(k=3)
    model = MulticlassLabelModel(3, method=method).fit(L, Y_dev=[0, 0, 1])  # class 2 never seen
    p = model.predict_proba(L)
    assert (p[:, 2] == 0).all() and np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(1), 1)


def test_many_classes_fit_without_dense_tables():
    """k = 600 classes, LFs voting a few each: compact statistics, the confusion
    over the responses given, the per-response posterior (issue 12)."""
    rng = np.random.default_rng(0)
    n, m, k = 400, 12, 600
    Y = rng.integers(0, 20, n)  # the items use 20 of the 600 classes
    L = np.where(rng.random((n, m)) < 0.5, Y[:, None], -1)
    model = MulticlassLabelModel(k, n_iter=20).fit(L)
    assert model.statistics_.is_compact and model.confusion_ is None
    assert model.confusion_active_.votes.shape[1] == k
    p = model.predict_proba(L)
    assert p.shape == (n, k) and np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(1), 1)
    covered = (L >= 0).any(1)
    assert (p.argmax(1) == Y)[covered].mean() > 0.95


# ---------------------------------------------------------------------------
# warm start (refits of a loss whose buffer moves)
# ---------------------------------------------------------------------------
def test_warm_start_continues_the_previous_em_run():
    """With the class balance fixed, a warm refit of n_iter=1 on the same statistics
    is exactly one more EM step: 10 + 1 steps equal 11 cold steps."""
    L, _ = votes(k=3)
    cold = MulticlassLabelModel(3, n_iter=11).fit(L, class_balance="uniform")
    warm = MulticlassLabelModel(3, n_iter=10, warm_start=True).fit(L, class_balance="uniform")
    warm.set_params(n_iter=1).fit(L, class_balance="uniform")
    np.testing.assert_allclose(warm.confusion_.numpy(), cold.confusion_.numpy(), atol=1e-12)
    np.testing.assert_allclose(warm.predict_proba(L), cold.predict_proba(L), atol=1e-12)


@pytest.mark.parametrize("as_dense", [False, True])
def test_fit_statistics_init_is_explicit_and_checkpointable(as_dense):
    """A loss keeps the confusion (a buffer) and passes it as init: same result as warm_start."""
    L, _ = votes(k=3)
    first = MulticlassLabelModel(3, n_iter=10).fit(L, class_balance="uniform")
    init = first.confusion_ if as_dense else first.confusion_active_
    stats = accumulate(torch.as_tensor(L[:400]), 3)
    explicit = MulticlassLabelModel(3, n_iter=3).fit_statistics(stats, class_balance="uniform", init=init)
    implicit = MulticlassLabelModel(3, n_iter=10, warm_start=True).fit(L, class_balance="uniform")
    implicit.set_params(n_iter=3).fit_statistics(stats, class_balance="uniform")
    np.testing.assert_allclose(explicit.confusion_.numpy(), implicit.confusion_.numpy(), atol=1e-12)


def test_warm_refits_stay_close_to_cold_fits():
    L, _ = votes(n=1200, k=3)
    model = MulticlassLabelModel(3, warm_start=True, tol=1e-6)
    model.fit(L[:600])
    model.fit(L)  # statistics moved: warm start from the first fit
    cold = MulticlassLabelModel(3).fit(L)
    np.testing.assert_allclose(model.predict_proba(L), cold.predict_proba(L), atol=1e-3)


@pytest.mark.parametrize(
    "init,error",
    [(torch.zeros(5, 3, 3), ValueError), ("previous", TypeError), (torch.full((5, 4, 3), float("nan")), ValueError)],
)
def test_bad_init_is_refused_and_changes_nothing(init, error):
    L, _ = votes(k=3)
    model, twin = MulticlassLabelModel(3).fit(L), MulticlassLabelModel(3).fit(L)
    with pytest.raises(error, match="init"):
        model.fit_statistics(accumulate(torch.as_tensor(L), 3), init=init)
    assert_same_state(model, twin)


@pytest.mark.parametrize("params,match", [({"tol": 0}, "tol must be"), ({"warm_start": 1}, "warm_start must be")])
def test_warm_start_options_are_checked(params, match):
    L, _ = votes(k=3)
    with pytest.raises(ValueError, match=match):
        MulticlassLabelModel(3, **params).fit(L)


def test_fit_statistics_tol_overrides_the_models_for_one_call():
    """A loss passes tol for its warm refits only: tol=1.0 stops after one step."""
    L, _ = votes(k=3)
    stats = accumulate(torch.as_tensor(L), 3)
    one_step = MulticlassLabelModel(3, n_iter=1).fit_statistics(stats, class_balance="uniform")
    model = MulticlassLabelModel(3).fit_statistics(stats, class_balance="uniform", tol=1.0)
    np.testing.assert_allclose(model.confusion_.numpy(), one_step.confusion_.numpy(), atol=1e-12)
    assert model.tol is None  # the model's own option is unchanged
    twin = MulticlassLabelModel(3).fit_statistics(stats, class_balance="uniform", tol=1.0)
    with pytest.raises(ValueError, match="tol"):
        model.fit_statistics(stats, tol=-1.0)
    assert_same_state(model, twin)


def test_agreement_accuracies_are_read_from_the_fits_counts():
    """Computed on first read, from a copy of the counts: a loss's buffer that
    changes in place after the fit does not change them."""
    from weaksup._agreement import agreement_accuracies

    L, _ = votes(k=3)
    stats = accumulate(torch.as_tensor(L), 3)
    want = agreement_accuracies(stats.co_votes.clone()).clamp(0.0, 1.0)
    model = MulticlassLabelModel(3).fit_statistics(stats)
    stats.co_votes.zero_()
    torch.testing.assert_close(model.agreement_accuracies_, want, rtol=0, atol=0)
    assert MulticlassLabelModel(3, method="flyingsquid").fit(L).agreement_accuracies_ is None
