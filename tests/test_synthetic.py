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
    assert (np.abs(acc - p.accuracies) < _tol(p.accuracies, n_votes)).all()


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
