"""The synthetic generators: shapes, seeding, and that the votes follow the
parameters they return.

Tolerances: empirical rates are compared with the true ones within 4 binomial
standard errors (plus 0.005), which a correct sampler passes with probability
above 0.9999 per check.
"""

import numpy as np
import pytest

from weaksup import synthetic as S

GENERATORS = [
    (S.symmetric, {}),
    (S.symmetric, {"k": 3}),
    (S.one_sided, {}),
    (S.one_sided, {"k": 4, "m": 12}),
    (S.sparse, {}),
    (S.many_classes, {}),
    (S.many_classes, {"m": 170, "k": 10, "n": 4000}),
    (S.adversarial, {}),
    (S.low_coverage, {}),
    (S.spam_like, {}),
    (S.many_one_sided, {"k": 3, "m": 72}),
    (S.sparse_classes, {"k": 10, "m": 40}),
    (S.sparse_classes, {"k": 9, "m": 30, "noisy": True}),
    (S.duplicates, {}),
]


def _tol(p, n):
    return 4 * np.sqrt(np.maximum(p * (1 - p), 1e-4) / np.maximum(n, 1)) + 0.005


@pytest.mark.parametrize("gen,kw", GENERATORS)
def test_shapes_and_conventions(gen, kw):
    L, Y, p = gen(seed=3, **kw)
    n, m = L.shape
    k = p.cardinality
    assert Y.shape == (n,) and L.dtype == np.int64 and Y.dtype == np.int64
    assert p.confusion.shape == (m, k + 1, k) and p.class_balance.shape == (k,)
    assert L.min() >= -1 and L.max() < k and Y.min() >= 0 and Y.max() < k
    np.testing.assert_allclose(p.confusion.sum(1), 1.0, atol=1e-12)
    assert (p.confusion >= 0).all()
    np.testing.assert_allclose(p.class_balance.sum(), 1.0)


@pytest.mark.parametrize("gen,kw", GENERATORS)
def test_seeded(gen, kw):
    a = gen(seed=11, **kw)
    b = gen(seed=11, **kw)
    c = gen(seed=12, **kw)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.array_equal(a[2].confusion, b[2].confusion)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("gen,kw", GENERATORS)
def test_votes_follow_the_parameters(gen, kw):
    """Coverage and accuracy of every LF, and the class frequencies, match the truth."""
    L, Y, p = gen(seed=5, **kw)
    n = len(Y)
    np.testing.assert_array_less(np.abs(np.bincount(Y, minlength=p.cardinality) / n - p.class_balance),
                                 _tol(p.class_balance, n))
    voted = L >= 0
    cov = voted.mean(0)
    assert (np.abs(cov - p.coverage) < _tol(p.coverage, n)).all()
    n_votes = voted.sum(0)
    right = ((L == Y[:, None]) & voted).sum(0)
    acc = np.where(n_votes > 0, right / np.maximum(n_votes, 1), p.accuracies)
    # the normal approximation of the tolerance needs enough votes (sparse LFs cast a dozen)
    enough = n_votes >= 50
    assert (np.abs(acc - p.accuracies) < _tol(p.accuracies, n_votes))[enough].all()


def test_class_conditional_rates():
    """Each response's rate within each class matches ``confusion``."""
    L, Y, p = S.one_sided(n=20000, m=6, k=3, seed=2)
    for y in range(3):
        rows = L[Y == y]
        for r in range(4):
            emp = (rows == r - 1).mean(0)
            assert (np.abs(emp - p.confusion[:, r, y]) < _tol(p.confusion[:, r, y], len(rows))).all()


def test_one_sided_lfs_vote_one_class():
    L, _, p = S.one_sided(m=8, k=2, seed=0)
    for i in range(8):
        assert set(np.unique(L[:, i])) <= {-1, int(p.targets[i])}
    assert set(p.targets) == {0, 1}  # both sides present (youtube-like)


def test_sparse_regime():
    L, Y, p = S.sparse(seed=0)
    assert L.shape[1] == 70
    assert (p.coverage < 0.05).all()
    assert abs(Y.mean() - 0.13) < 0.01
    both = (L[:, :, None] >= 0) & (L[:, None, :] >= 0)
    co = both.sum(0)[np.triu_indices(70, 1)]
    assert (co == 0).mean() > 0.5  # most pairs never vote on the same item


def test_many_classes_regime():
    L, Y, p = S.many_classes(m=120, k=8, seed=0)
    assert L.shape[1] == 120 and p.cardinality == 8
    one = p.targets >= 0
    assert one.mean() > 0.7
    for i in np.flatnonzero(one)[:20]:
        assert set(np.unique(L[:, i])) <= {-1, int(p.targets[i])}


def test_adversarial_regime():
    _, _, p = S.adversarial(n_bad=3, k=3, bad_accuracy=(0.05, 0.2), seed=0)
    assert (p.accuracies[:3] < 1 / 3).all() and (p.accuracies[3:] > 0.5).all()


def test_precision_and_posterior():
    L, Y, p = S.one_sided(seed=1)
    prec = p.precision
    np.testing.assert_allclose(prec.sum(2), 1.0)
    i = 0
    c = p.targets[i]
    emp = (Y[L[:, i] == c] == c).mean()
    assert abs(emp - prec[i, c, c]) < _tol(prec[i, c, c], (L[:, i] == c).sum())
    logp = p.log_posterior(L)
    np.testing.assert_allclose(np.exp(logp).sum(1), 1.0)
    # the Bayes posterior beats guessing the majority class
    assert (logp.argmax(1) == Y).mean() > max(np.bincount(Y)) / len(Y) + 0.1


def test_from_precision_refuses_impossible_lfs():
    with pytest.raises(ValueError, match=r"needs P\(vote \| y\)"):
        S.from_precision([0.9, 0.1], [1], [0.5], [0.9])  # votes class 1 on half the items at 90%: impossible
    conf = S.from_precision([0.5, 0.5], [1, 0], [0.2, 0.3], [0.9, 0.25])
    np.testing.assert_allclose(conf.sum(1), 1.0)
    # precision below the class balance: the vote is evidence against the class
    assert conf[1, 1, 0] < conf[1, 1, 1]


def test_sample_votes_checks_its_input():
    with pytest.raises(ValueError, match=r"shape \(m, k \+ 1, k\)"):
        S.sample_votes(np.ones((2, 2, 2)) / 2, [0.5, 0.5], 10)
    with pytest.raises(ValueError, match="probability distribution"):
        S.sample_votes(np.ones((2, 3, 2)), [0.5, 0.5], 10)


@pytest.mark.parametrize("name", list(S.REGIMES))
def test_regimes_look_like_their_names(name):
    """The default-breaking regimes: coverage, balance and LF counts as documented."""
    generator, options = S.REGIMES[name]
    L, Y, p = generator(**dict(options, seed=0))
    uncovered = (L < 0).all(1).mean()
    balance = np.bincount(Y, minlength=p.cardinality) / len(Y)
    cover = (L >= 0).mean(0)
    if name.startswith("low_coverage"):
        assert 0.5 <= uncovered <= 0.75 and 0.04 <= balance.min() <= 0.15
    if name == "spam_like":
        assert L.shape[1] == 73 and 0.55 <= uncovered <= 0.65 and abs(balance[1] - 0.135) < 0.02
    if name.startswith("many_one_sided"):
        assert L.shape[1] >= 70 and np.mean(p.targets == 0) >= 0.75
    if name.startswith("sparse_classes"):
        assert p.cardinality in (9, 10) and 25 <= L.shape[1] <= 165
        assert np.median(cover) >= 0.008 and np.median(cover) <= 0.03
    if name == "duplicates":
        assert np.array_equal(L[:, 0] >= 0, L[:, 0] >= 0)
        assert np.mean(L[:, -1] == L[:, 1]) > 0.9  # the last column is a noisy copy of LF 1


def test_topic_votes_are_dependent_given_the_class():
    """LFs of one topic fire together more than independence allows."""
    L, Y, p = S.topic_votes(20000, [0.5, 0.5], [2, 2], [(1, 0), (1, 0), (1, 1)], [0.6, 0.6, 0.6], [0.01] * 3, seed=0)
    spam = Y == 1
    a, b, c = (L[spam] >= 0).T
    assert np.mean(a & b) > 1.5 * np.mean(a) * np.mean(b)  # same topic
    assert np.mean(a & c) < 0.5 * np.mean(a) * np.mean(c)  # different topics of one class
