"""Label quality without gold labels (issue 10): the class balance estimated
from the votes, the default model against majority vote on the regimes of
:mod:`weaksup.synthetic` where defaults broke, and LF accuracy estimates that
rank the LFs.

Majority vote is scored as WRENCH scores it (ties and all-abstain rows are a
uniform guess), by its expected accuracy: a row whose top classes tie counts
``1 / (number tied)`` when the gold class is among them.
"""

import numpy as np
import pytest
import torch

from weaksup import MulticlassLabelModel
from weaksup import synthetic as S
from weaksup._balance_estimation import estimate_class_balance
from weaksup._agreement import agreement_accuracies, rank_correlation
from weaksup.statistics import accumulate


def mv_expected_accuracy(L, Y, k):
    counts = np.stack([(L == c).sum(1) for c in range(k)], 1)
    top = counts == counts.max(1, keepdims=True)  # an all-abstain row: every class ties
    return float((top[np.arange(len(Y)), Y] / top.sum(1)).mean())


def empirical_accuracies(L, Y):
    voted = L >= 0
    return np.array([(L[voted[:, i], i] == Y[voted[:, i]]).mean() if voted[:, i].any() else np.nan
                     for i in range(L.shape[1])])


def one_sided_votes(pi, m=12, n=20000, fp=0.005, seed=0):
    """One-sided LFs, LF i votes class i % k on a share `recall` of its class
    and on a share `fp * recall` of the other items."""
    rng = np.random.default_rng(seed)
    k = len(pi)
    targets = np.arange(m) % k
    recall = rng.uniform(0.1, 0.4, m)
    conf = np.zeros((m, k + 1, k))
    for i, c in enumerate(targets):
        conf[i, c + 1, :] = fp * recall[i] * rng.random()
        conf[i, c + 1, c] = recall[i]
        conf[i, 0, :] = 1 - conf[i, c + 1, :]
    return S.sample_votes(conf, np.asarray(pi), n, seed=seed + 1)


# ---------------------------------------------------------------------------
# class balance
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("pi", [
    [0.99, 0.01], [0.95, 0.05], [0.8, 0.2], [0.5, 0.5],
    [0.98, 0.01, 0.01], [0.9, 0.05, 0.05], [0.34, 0.33, 0.33],
])
def test_balance_recovered_from_votes(pi):
    """1% to 50% minority: within 30% (relative) + 0.005 of the truth."""
    L, Y = one_sided_votes(pi)
    est = estimate_class_balance(accumulate(torch.as_tensor(L), len(pi))).numpy()
    truth = np.bincount(Y, minlength=len(pi)) / len(Y)
    assert est.shape == (len(pi),) and est.dtype == np.float64
    assert abs(est.sum() - 1) < 1e-12
    np.testing.assert_array_less(np.abs(est - truth), 0.3 * truth + 0.005)


def test_balance_counts_copies_once():
    L, _ = one_sided_votes([0.8, 0.2], m=8, n=5000)
    copies = np.concatenate([L] + [L[:, [1]]] * 5, 1)  # five copies of a minority LF
    a = estimate_class_balance(accumulate(torch.as_tensor(L), 2)).numpy()
    b = estimate_class_balance(accumulate(torch.as_tensor(copies), 2)).numpy()
    naive = np.array([(copies == c).sum() for c in range(2)]) / (copies >= 0).sum()
    assert abs(b[1] - a[1]) < 0.4 * abs(naive[1] - a[1])  # the plain vote share moves 2.5x as far


def test_balance_edge_cases():
    k = 3
    none = accumulate(torch.full((5, 4), -1), k)
    np.testing.assert_allclose(estimate_class_balance(none).numpy(), np.full(k, 1 / k))
    one_class = accumulate(torch.tensor([[0, -1], [0, 0], [-1, -1]]), k)
    est = estimate_class_balance(one_class)
    assert float(est.min()) > 0 and abs(float(est.sum()) - 1) < 1e-12 and int(est.argmax()) == 0
    stats = accumulate(torch.as_tensor(one_sided_votes([0.7, 0.3], n=500)[0]), 2)
    big = stats.__class__(stats.n_items * 100, stats.co_votes * 100)
    torch.testing.assert_close(estimate_class_balance(stats), estimate_class_balance(big))


# ---------------------------------------------------------------------------
# the default model without gold, on the regimes where defaults broke
# ---------------------------------------------------------------------------
FAST_N = {"sparse_classes_9": 2500}


@pytest.mark.parametrize("regime", list(S.REGIMES))
def test_default_never_below_majority_vote_without_gold(regime):
    generator, options = S.REGIMES[regime]
    L, Y, params = generator(**dict(options, n=FAST_N.get(regime, 2000), seed=0))
    k = params.cardinality
    model = MulticlassLabelModel(k).fit(L)  # no class_balance, no Y_dev
    acc = float((np.asarray(model.predict(L)) == Y).mean())
    assert acc >= mv_expected_accuracy(L, Y, k) - 0.01


@pytest.mark.parametrize("regime", ["spam_like", "low_coverage", "low_coverage_5pct"])
def test_uncovered_items_get_no_confident_wrong_label(regime):
    """Items no LF votes on: the minority class stays a minority guess (the
    uniform balance gave every such item P(spam) = 0.626 on a spam set)."""
    generator, options = S.REGIMES[regime]
    L, Y, _ = generator(**dict(options, n=3000, seed=0))
    model = MulticlassLabelModel(2).fit(L)
    empty = (L < 0).all(1)
    proba = np.asarray(model.predict_proba(L))
    assert empty.mean() > 0.5
    assert proba[empty, 1].max() < 0.5
    assert np.asarray(model.predict(L)).mean() < 2 * Y.mean()


# ---------------------------------------------------------------------------
# LF accuracies that rank the LFs
# ---------------------------------------------------------------------------
def test_rank_correlation():
    assert rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert rank_correlation([1, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486832980505138)
    assert rank_correlation([1, np.nan, 2, 3], [1, 5, 2, 3]) == pytest.approx(1.0)
    assert np.isnan(rank_correlation([1, 2], [1, 2])) and np.isnan(rank_correlation([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="same length"):
        rank_correlation([1, 2, 3], [1, 2])


def test_agreement_accuracies_rank_youtube():
    from weaksup.datasets import load_youtube

    ds = load_youtube("train")
    est = agreement_accuracies(accumulate(torch.as_tensor(ds.L), 2).co_votes)
    assert est.shape == (ds.L.shape[1],) and float(est.min()) >= 0 and float(est.max()) <= 1
    assert rank_correlation(est.numpy(), empirical_accuracies(ds.L, ds.Y)) >= 0.6


@pytest.mark.parametrize("regime", ["many_one_sided", "duplicates", "low_coverage_5pct"])
def test_agreement_accuracies_rank_synthetic(regime):
    generator, options = S.REGIMES[regime]
    L, Y, params = generator(**dict(options, n=3000, seed=0))
    est = agreement_accuracies(accumulate(torch.as_tensor(L), params.cardinality).co_votes)
    assert rank_correlation(est.numpy(), empirical_accuracies(L, Y)) >= 0.6


def test_agreement_accuracies_find_a_bad_lf():
    L, Y, _ = S.adversarial(n=4000, m=8, n_bad=1, seed=0)
    est = agreement_accuracies(accumulate(torch.as_tensor(L), 2).co_votes)
    assert int(est.argmin()) == 0


# ---------------------------------------------------------------------------
# online refits: a warm start gives the labels of a fresh fit
# ---------------------------------------------------------------------------
def test_warm_started_refits_match_fresh_fits():
    """A ring buffer of 256 items moving by 64 per step (a loss's refits):
    warm-started EM with ``tol=1e-4`` gives the labels of a cold fit on the
    same statistics, probabilities within 0.01."""
    from weaksup.datasets import load_youtube

    L = load_youtube("train").L[np.random.default_rng(0).permutation(1686)]
    warm = MulticlassLabelModel(2, warm_start=True, tol=1e-4)
    for start in range(0, 12 * 64, 64):
        batch = L[start : start + 64]
        stats = warm.accumulate(L[max(0, start + 64 - 256) : start + 64])
        warm.fit_statistics(stats)
        cold = MulticlassLabelModel(2).fit_statistics(stats)
        p_warm, p_cold = np.asarray(warm.predict_proba(batch)), np.asarray(cold.predict_proba(batch))
        assert np.array_equal(p_warm.argmax(1), p_cold.argmax(1))
        assert np.abs(p_warm - p_cold).max() < 0.01
