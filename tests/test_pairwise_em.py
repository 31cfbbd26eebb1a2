"""The active-response pairwise EM equals the dense solver, and its posterior
terms equal the dense log table's, on the synthetic regimes; its numpy loop
for small problems equals its torch loop."""

import pytest
import torch

import _dense_pairwise_em as dense
import weaksup._pairwise_em as pairwise_em
from weaksup import synthetic
from weaksup._pairwise_em import abstain_fit_active, fit_pairwise_active, posterior_terms
from weaksup.posterior import independent_log_scores, log_table_deltas
from weaksup.statistics import accumulate

REGIMES = {
    "one_sided": lambda: synthetic.one_sided(n=1500, m=6, seed=1),
    "many_classes": lambda: synthetic.many_classes(n=2000, seed=2),
    "sparse": lambda: synthetic.sparse(n=2000, seed=3),
    "adversarial": lambda: synthetic.adversarial(n=1500, seed=4),
    "symmetric": lambda: synthetic.symmetric(n=1500, m=8, k=4, seed=5),
}


@pytest.mark.parametrize("regime", sorted(REGIMES))
@pytest.mark.parametrize("estimate_pi", [False, True])
@pytest.mark.parametrize("pair_tolerance", [0.01, None])
def test_active_em_equals_the_dense_solver(regime, estimate_pi, pair_tolerance):
    L, _, params = REGIMES[regime]()
    k = params.confusion.shape[2]
    stats = accumulate(torch.as_tensor(L), k)
    pi = None if estimate_pi else torch.full((k,), 1.0 / k, dtype=torch.float64)
    options = dict(n_iter=30, prior_accuracy=0.9, prior_strength=10.0, prior_items=10.0, pair_tolerance=pair_tolerance)
    C, pi_dense = dense.fit_pairwise(stats.co_votes, stats.n_items, pi, **options)
    for layout in (stats, stats.to_compact()):
        A, pi_active = fit_pairwise_active(layout, pi, **options)
        torch.testing.assert_close(A.dense(), C, rtol=0, atol=1e-10)
        torch.testing.assert_close(pi_active, pi_dense, rtol=0, atol=1e-12)
        fit_dense = dense.abstain_fit(stats.co_votes, stats.n_items, C, pi_dense, pair_tolerance=pair_tolerance)
        fit_active = abstain_fit_active(layout, A, pi_active, pair_tolerance=pair_tolerance)
        torch.testing.assert_close(fit_active, fit_dense, rtol=0, atol=1e-10)


def test_posterior_terms_equal_the_dense_log_table():
    L, _, params = synthetic.many_classes(n=2000, seed=7)
    k = params.confusion.shape[2]
    codes = torch.as_tensor(L)
    stats = accumulate(codes, k)
    C, pi = fit_pairwise_active(stats, None, n_iter=20)
    weight = abstain_fit_active(stats, C, pi) * 0.75
    table = C.dense().clamp(min=1e-300).log()
    table[:, 0] *= weight[:, None]
    base, deltas = log_table_deltas(table)
    unseen = codes.clone()
    unseen[:20, 0] = (unseen[:20, 0] + 1) % k  # votes for classes an LF never gave in the fit
    expected = independent_log_scores(unseen, base + pi.log(), deltas)
    got = independent_log_scores(unseen, **posterior_terms(C, pi.log(), weight))
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-9)


def test_many_classes_never_build_dense_tables():
    """k = 2000 classes, LFs voting two classes each: the fit runs on a few
    hundred responses (a dense (m, k + 1, k) confusion would hold 4e8 numbers)."""
    gen = torch.Generator().manual_seed(0)
    n, m, k = 3000, 100, 2000
    y = torch.randint(0, k, (n,), generator=gen)
    targets = torch.randint(0, k, (m, 2), generator=gen)
    fire = torch.rand((n, m), generator=gen) < 0.05
    pick = targets[torch.arange(m), torch.randint(0, 2, (n, m), generator=gen)]
    codes = torch.where(fire, pick, -1)
    stats = accumulate(codes, k)
    assert stats.is_compact
    C, pi = fit_pairwise_active(stats, torch.full((k,), 1.0 / k, dtype=torch.float64), n_iter=5)
    assert C.votes.shape == (len(stats.responses), k) and C.abstain.shape == (m, k)
    total = C.abstain.index_add(0, C.lf, C.votes)
    torch.testing.assert_close(total, torch.ones_like(total))
    scores = independent_log_scores(codes, **posterior_terms(C, pi.log(), torch.ones(m, dtype=torch.float64)))
    assert scores.shape == (n, k) and bool(torch.isfinite(scores).all())


def test_warm_start_and_tolerance():
    """A refit started from a previous fit continues its iterations exactly;
    with a tolerance it stops where nothing moves; a response the previous
    fit never saw starts from the prior."""
    L, _, params = synthetic.many_classes(n=2000, seed=11)
    k = params.confusion.shape[2]
    codes = torch.as_tensor(L)
    stats = accumulate(codes, k)
    pi = torch.full((k,), 1.0 / k, dtype=torch.float64)
    options = dict(prior_strength=10.0, prior_items=10.0)
    first, _ = fit_pairwise_active(stats, pi, n_iter=40, **options)
    longer, _ = fit_pairwise_active(stats, pi, n_iter=41, **options)
    resumed, _ = fit_pairwise_active(stats, pi, n_iter=1, init=first, **options)
    torch.testing.assert_close(resumed.dense(), longer.dense(), rtol=0, atol=1e-12)
    converged, _ = fit_pairwise_active(stats, pi, n_iter=400, **options)
    stopped, _ = fit_pairwise_active(stats, pi, n_iter=400, init=converged, tol=1e-8, **options)
    torch.testing.assert_close(stopped.dense(), converged.dense(), rtol=0, atol=1e-6)
    shifted = codes.clone()
    shifted[:50, 0] = (shifted[:50, 0].clamp(min=0) + 1) % k
    C, _ = fit_pairwise_active(accumulate(shifted, k), pi, n_iter=5, init=converged, **options)
    total = C.abstain.index_add(0, C.lf, C.votes)
    torch.testing.assert_close(total, torch.ones_like(total))
    with pytest.raises(ValueError, match="init must be a confusion"):
        fit_pairwise_active(accumulate(codes[:, :3], k), pi, init=converged)


@pytest.mark.parametrize("regime", sorted(REGIMES))
@pytest.mark.parametrize("estimate_pi", [False, True])
@pytest.mark.parametrize("pair_tolerance", [0.01, None])
def test_numpy_loop_equals_the_torch_loop(regime, estimate_pi, pair_tolerance, monkeypatch):
    """Small problems on the CPU run the EM in numpy: the same fit, warm
    start and tolerance stop, and abstention factors as the torch loop."""
    L, _, params = REGIMES[regime]()
    k = params.confusion.shape[2]
    stats = accumulate(torch.as_tensor(L), k)
    pi = None if estimate_pi else torch.full((k,), 1.0 / k, dtype=torch.float64)
    options = dict(n_iter=60, prior_strength=10.0, prior_items=10.0, pair_tolerance=pair_tolerance)
    calls = []
    numpy_loop = pairwise_em._em_numpy
    monkeypatch.setattr(pairwise_em, "_em_numpy", lambda *a: calls.append(1) or numpy_loop(*a))
    results = []
    for limit in (10**9, 0):  # numpy, torch
        monkeypatch.setattr(pairwise_em, "NUMPY_MAX_RESPONSES", limit)
        C, pi_fit = fit_pairwise_active(stats, pi, **options)
        warm, pi_warm = fit_pairwise_active(stats, pi, init=C, tol=1e-9, **{**options, "n_iter": 200})
        fit = abstain_fit_active(stats, C, pi_fit, pair_tolerance=pair_tolerance)
        results.append((C.dense(), pi_fit, warm.dense(), pi_warm, fit))
    assert len(calls) == 2  # the two fits under the first limit
    for got, expected in zip(*results):
        assert got.dtype == expected.dtype == torch.float64
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
