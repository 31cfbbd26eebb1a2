"""LabelModel: equal to upstream FlyingSquid where upstream is right, fixed where not."""

import numpy as np
import pytest
import torch

from _model_state import assert_same_state as _assert_same_state
from conftest import synthetic_votes
from weaksup import LabelModel, NotFittedError
from weaksup.statistics import accumulate
from weaksup.conventions import check_votes

SEQ = dict(m=6, v=3, y_edges=[(0, 1), (1, 2)], lambda_y_edges=[(i, i // 2) for i in range(6)])

PARITY_CASES = [
    ("independent", dict(m=6), {}),
    ("independent median", dict(m=6), dict(solve_method="triplet_median")),
    ("independent single triplets", dict(m=7), dict(solve_method="triplet")),
    ("independent single, seed 3", dict(m=8, triplet_seed=3), dict(solve_method="triplet")),
    ("no seed", dict(m=6, triplet_seed=None), dict(solve_method="triplet")),
    ("sequence", SEQ, {}),
    ("sequence median", SEQ, dict(solve_method="triplet_median")),
    ("one LF dependency", dict(m=6, lambda_edges=[(0, 1)]), {}),
    ("one LF dependency, median", dict(m=6, lambda_edges=[(0, 1)]), dict(solve_method="triplet_median")),
    ("one LF dependency, single", dict(m=6, lambda_edges=[(0, 1)]), dict(solve_method="triplet")),
    ("two LF dependencies", dict(m=7, lambda_edges=[(0, 1), (2, 3)]), {}),
    ("non-uniform balance", dict(m=5), dict(class_balance=np.array([0.3, 0.7]))),
    ("no flip, clamp", dict(m=6), dict(flip_negative=False)),
]


# Upstream assumes a uniform class balance and solves with the triplet mean;
# weaksup's defaults estimate the balance and use pairwise EM (issue 10), so
# parity runs pass upstream's settings explicitly.
UNIFORM = dict(class_balance="uniform", solve_method="triplet_mean")
TRIPLET = dict(solve_method="triplet_mean")


def _upstream_tables(fs):
    return {tuple(sorted(c)): np.asarray(f.values).ravel() for c, f in fs.clique_marginals}


@pytest.mark.parametrize("name,kwargs,fit_kwargs", PARITY_CASES, ids=[c[0] for c in PARITY_CASES])
def test_parameters_equal_upstream(upstream, name, kwargs, fit_kwargs):
    L, _ = synthetic_votes(n=2000, m=kwargs["m"], seed=len(name))
    fs = upstream(**kwargs)
    fs.fit(L, **fit_kwargs)
    ws = LabelModel(**kwargs).fit(L, **{**UNIFORM, **fit_kwargs})
    ours = ws.expectation_values
    for key, value in ours.items():
        assert value == pytest.approx(fs.expectation_values[key], abs=1e-9), key
    tables = _upstream_tables(fs)
    for clique, table in ws.clique_marginals_:
        np.testing.assert_allclose(table.numpy().ravel(), tables[clique.upstream_names()], atol=1e-9)
    np.testing.assert_allclose(ws.estimated_accuracies(), fs.estimated_accuracies(), atol=1e-9)


@pytest.mark.parametrize("name,kwargs,fit_kwargs", PARITY_CASES[:11], ids=[c[0] for c in PARITY_CASES[:11]])
def test_posteriors_equal_upstream_under_uniform_balance(upstream, name, kwargs, fit_kwargs):
    L, _ = synthetic_votes(n=600, m=kwargs["m"], seed=1)
    fs = upstream(**kwargs)
    fs.fit(L, **fit_kwargs)
    ws = LabelModel(**kwargs).fit(L, **{**UNIFORM, **fit_kwargs})
    np.testing.assert_allclose(ws.predict_proba(L), fs.predict_proba(L), atol=1e-9)
    np.testing.assert_allclose(ws.predict_proba_marginalized(L), fs.predict_proba_marginalized(L), atol=1e-9)
    np.testing.assert_array_equal(ws.predict(L), fs.predict(L))


def test_no_abstentions_matches_upstream(upstream):
    L, _ = synthetic_votes(n=1500, m=5, coverage=1.0, seed=4)
    fs = upstream(5, allow_abstentions=False)
    fs.fit(L)
    ws = LabelModel(5, allow_abstentions=False).fit(L, **UNIFORM)
    tables = _upstream_tables(fs)
    for clique, table in ws.clique_marginals_:
        np.testing.assert_allclose(table.numpy().ravel(), tables[clique.upstream_names()], atol=1e-9)
    np.testing.assert_allclose(ws.predict_proba(L), fs.predict_proba(L), atol=1e-9)
    # upstream returns [] here (a bug); ours reports P(l = Y)
    assert fs.estimated_accuracies() == []
    assert ws.estimated_accuracies().shape == (5,)
    with pytest.raises(ValueError, match="allow_abstentions=False"):
        ws.fit(synthetic_votes(n=100, m=5)[0])


# ---- where upstream is wrong ---------------------------------------------------
def test_class_prior_applied_once():
    L, _ = synthetic_votes(n=4000, m=5, balance=0.8, seed=2)
    model = LabelModel(5).fit(L, class_balance=np.array([0.2, 0.8]), **TRIPLET)
    all_abstain = np.zeros((1, 5), dtype=int)
    np.testing.assert_allclose(model.predict_proba(all_abstain), [[0.2, 0.8]], atol=1e-12)


def test_class_prior_once_raises_accuracy_on_imbalanced_data(upstream):
    L, Y = synthetic_votes(n=6000, m=5, balance=0.85, seed=5, acc_range=(0.6, 0.75))
    cb = np.array([0.15, 0.85])
    fs = upstream(5)
    fs.fit(L, class_balance=cb)
    ours = LabelModel(5).fit(L, class_balance=cb, **TRIPLET)
    acc_ours = np.mean(ours.predict(L)[:, 0] == Y)
    acc_fs = np.mean(fs.predict(L)[:, 0] == Y)
    assert acc_ours >= acc_fs


def test_always_abstaining_lf_does_not_drag_estimates():
    L, _ = synthetic_votes(n=3000, m=5, seed=6)
    with_silent = np.concatenate([L, np.zeros((len(L), 1), dtype=int)], 1)
    a = LabelModel(5).fit(L, **TRIPLET).accuracy_moments_
    b = LabelModel(6).fit(with_silent, **TRIPLET).accuracy_moments_
    np.testing.assert_allclose(b[:5], a, atol=1e-12)
    assert float(b[5]) == 0.0


def test_upstream_zero_denominator_drags_estimates(upstream):
    """The reference shows the bug the previous test guards against."""
    L, _ = synthetic_votes(n=3000, m=5, seed=6)
    with_silent = np.concatenate([L, np.zeros((len(L), 1), dtype=int)], 1)
    fs = upstream(6)
    fs.fit(with_silent)
    ours = LabelModel(6).fit(with_silent, **UNIFORM)
    assert fs.expectation_values[(("lambda_0", "Y_0"), ("0",))] < float(ours.accuracy_moments_[0]) - 0.05


def test_y_dev_one_dimensional_equals_two_dimensional():
    L, Y = synthetic_votes(n=1000, m=5, balance=0.7, seed=7)
    a = LabelModel(5).fit(L, Y_dev=Y[:200])
    b = LabelModel(5).fit(L, Y_dev=Y[:200].reshape(-1, 1))
    np.testing.assert_allclose(a.class_balance_, b.class_balance_)
    assert float(a.class_balance_[1]) == pytest.approx(np.mean(Y[:200] == 1))


def test_refit_with_another_solve_method():
    L, _ = synthetic_votes(n=1000, m=6, seed=8)
    model = LabelModel(6).fit(L, solve_method="triplet")
    model.fit(L, solve_method="triplet_mean")
    fresh = LabelModel(6).fit(L, **TRIPLET)
    np.testing.assert_allclose(model.accuracy_moments_, fresh.accuracy_moments_)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(m=4, v=2, lambda_y_edges=[(0, 0), (0, 1), (1, 0), (2, 1), (3, 1)]), "attached to 2 tasks"),
        (dict(m=4, v=2, y_edges=[(0, 1)], lambda_y_edges=[(0, 0), (1, 0), (2, 1), (3, 1)], lambda_edges=[(0, 2)]), "single task"),
        (dict(m=3, lambda_edges=[(0, 1)]), "no triplet"),
        (dict(m=2), "at least 3 labeling functions"),
        (dict(m=4, lambda_edges=[(0, 9)]), "LF indices run 0..3"),
        (dict(m=4, y_edges=[(0, 1)]), "task indices 0..0"),
        (dict(m=6, v=2, lambda_y_edges=[(i, i // 3) for i in range(6)]), "not connected to task 0"),
    ],
)
def test_graphs_the_method_cannot_handle_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LabelModel(**kwargs)


def test_degenerate_matrices_never_give_nan():
    cases = [
        np.zeros((10, 4), dtype=int),  # everyone abstains
        np.ones((10, 4), dtype=int),  # perfect agreement, no negatives
        np.array([[1, -1, 1, 0]] * 5 + [[0, 0, 0, 1]] * 5),
        np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]),  # no pair ever co-votes
    ]
    for L in cases:
        model = LabelModel(L.shape[1]).fit(L)
        p = model.predict_proba(L)
        assert np.isfinite(p).all() and np.allclose(p.sum(1), 1)
        assert np.isfinite(model.estimated_accuracies()).all()


def test_all_abstaining_matrix_gives_the_class_balance():
    L = np.zeros((20, 4), dtype=int)
    model = LabelModel(4).fit(L, class_balance=np.array([0.4, 0.6]))
    np.testing.assert_allclose(model.predict_proba(L), np.tile([0.4, 0.6], (20, 1)))
    np.testing.assert_allclose(model.accuracies_, 0.5)


# ---- additive statistics ----------------------------------------------------------
@pytest.mark.parametrize("kwargs", [dict(m=6), SEQ, dict(m=6, lambda_edges=[(0, 1)])])
def test_partial_fit_equals_fit(kwargs):
    L, _ = synthetic_votes(n=1000, m=kwargs["m"], seed=9)
    full = LabelModel(**kwargs).fit(L)
    chunked = LabelModel(**kwargs)
    for part in np.array_split(L, [1, 250, 251, 700]):
        if len(part):
            chunked.partial_fit(part)
    assert chunked.statistics_.equal(full.statistics_)
    np.testing.assert_allclose(chunked.predict_proba(L), full.predict_proba(L), atol=1e-12)


def test_statistics_add_and_subtract_exactly():
    L, _ = synthetic_votes(n=500, m=5, seed=10)
    codes = check_votes(L, convention="flyingsquid")
    a, b = accumulate(codes[:200], 2), accumulate(codes[200:], 2)
    assert (a + b).equal(accumulate(codes, 2))
    assert ((a + b) - a).equal(b)


# ---- array kinds ------------------------------------------------------------------
def test_torch_in_torch_out_numpy_in_numpy_out():
    L, _ = synthetic_votes(n=300, m=5, seed=11)
    model = LabelModel(5).fit(torch.from_numpy(L))
    out = model.predict_proba(torch.from_numpy(L))
    assert isinstance(out, torch.Tensor) and out.shape == (300, 2)
    out_np = model.predict_proba(L)
    assert isinstance(out_np, np.ndarray)
    np.testing.assert_allclose(out.numpy(), out_np)
    assert model.predict(L).shape == (300, 1)
    assert model.predict_proba_marginalized(L).shape == (300,)


def test_sequence_shapes():
    L, _ = synthetic_votes(n=50, m=6, seed=12)
    model = LabelModel(**SEQ).fit(L)
    assert model.predict_proba(L).shape == (50, 8)
    assert model.predict_proba_marginalized(L).shape == (150,)
    assert set(np.unique(model.predict(L))) <= {-1, 1}


# ---- bad input ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "L,match",
    [
        (np.zeros((5, 4), dtype=int), "must have 5 columns"),
        (np.full((5, 5), 2), "got 2.*Snorkel/WRENCH"),
        (np.array([[1.0, np.nan, 0, 1, 1]]), "NaN"),
        (np.array([[1.0, 0.5, 0, 1, 1]]), "non-integer value 0.5"),
        (np.zeros((0, 5), dtype=int), "empty"),
        (np.zeros(5, dtype=int), "2-D array"),
    ],
)
def test_bad_votes_get_clear_errors(L, match):
    with pytest.raises(ValueError, match=match):
        LabelModel(5).fit(L)


def test_bad_fit_options():
    L, _ = synthetic_votes(n=100, m=5)
    with pytest.raises(ValueError, match="solve_method must be one of"):
        LabelModel(5).fit(L, solve_method="independencies")
    with pytest.raises(ValueError, match="2\\*\\*v = 2 entries"):
        LabelModel(5).fit(L, class_balance=np.array([0.2, 0.3, 0.5]))
    with pytest.raises(ValueError, match="FlyingSquid labels -1/\\+1"):
        LabelModel(5).fit(L, Y_dev=np.array([0, 1, 1]))


def test_predict_before_fit():
    with pytest.raises(NotFittedError, match="call fit"):
        LabelModel(4).predict_proba(np.zeros((2, 4), dtype=int))


def test_empty_prediction_is_empty():
    L, _ = synthetic_votes(n=100, m=5)
    model = LabelModel(5).fit(L)
    assert model.predict_proba(np.zeros((0, 5), dtype=int)).shape == (0, 2)


# ---- accelerators (skipped without CUDA) ------------------------------------------------
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensors_stay_on_the_device():
    L, _ = synthetic_votes(n=2000, m=6, seed=13)
    cpu = LabelModel(6).fit(L)
    gpu = LabelModel(6).fit(torch.from_numpy(L).cuda())
    assert gpu.statistics_.device.type == "cuda"
    out = gpu.predict_proba(torch.from_numpy(L).cuda())
    assert out.device.type == "cuda"
    np.testing.assert_allclose(out.cpu().numpy(), cpu.predict_proba(L), atol=1e-9)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cupy_in_cupy_out():
    cupy = pytest.importorskip("cupy")
    L, _ = synthetic_votes(n=2000, m=6, seed=14)
    model = LabelModel(6).fit(cupy.asarray(L))
    out = model.predict_proba(cupy.asarray(L))
    assert isinstance(out, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(out), LabelModel(6).fit(L).predict_proba(L), atol=1e-9)


# ---- a call that raises changes nothing (issue 11) ---------------------------------------
def test_failed_partial_fit_keeps_statistics_and_options():
    """D1: a rejected class_balance used to add the batch to statistics_ anyway."""
    A, _ = synthetic_votes(n=50, m=5, seed=1)
    B, _ = synthetic_votes(n=30, m=5, seed=2)
    model, twin = LabelModel(5).fit(A), LabelModel(5).fit(A)
    with pytest.raises(ValueError, match="class_balance"):
        model.partial_fit(B, class_balance=[0.5, 0.6, 0.1])
    assert int(model.statistics_.n_items) == 50
    _assert_same_state(model, twin)
    model.partial_fit(B)  # a retry counts B once
    twin.partial_fit(B)
    assert int(model.statistics_.n_items) == 80
    np.testing.assert_array_equal(model.predict_proba(B), twin.predict_proba(B))


def test_failed_fit_does_not_remember_the_bad_option():
    """D1: after fit(B, Y_dev=[0, 1]) failed, every partial_fit raised the same error."""
    A, _ = synthetic_votes(n=50, m=5, seed=1)
    model = LabelModel(5).fit(A)
    with pytest.raises(ValueError, match="Y_dev"):
        model.fit(A, Y_dev=[0, 1])
    model.partial_fit(A)
    assert int(model.statistics_.n_items) == 100


@pytest.mark.parametrize(
    "call",
    [
        lambda m, L: m.fit(L, solve_method="nope"),
        lambda m, L: m.fit(L, class_balance=[np.nan, 1]),
        lambda m, L: m.fit(L, flip_negative="yes"),
        lambda m, L: m.fit(L[:, :4]),
        lambda m, L: m.partial_fit(L, Y_dev=[]),
        lambda m, L: m.partial_fit(L, unknown_option=1),
        lambda m, L: m.fit_statistics(accumulate(check_votes(L, convention="flyingsquid"), 2), sign_recovery="x"),
    ],
)
def test_rejected_calls_leave_the_fitted_model_bit_identical(call):
    L, _ = synthetic_votes(n=80, m=5, seed=3)
    model, twin = LabelModel(5).fit(L), LabelModel(5).fit(L)
    with pytest.raises((ValueError, TypeError)):
        call(model, L)
    _assert_same_state(model, twin)


def test_estimated_accuracies_stay_in_unit_interval():
    """D7: the triplet estimate gave 1.077 here (upstream too); it is clamped."""
    model = LabelModel(3).fit([[1, -1, 1], [1, -1, 0], [0, -1, 1]], class_balance="uniform", **TRIPLET)
    acc = model.estimated_accuracies()
    assert float(model._agreement.max()) > 1  # the raw estimate overshoots...
    assert ((acc >= 0) & (acc <= 1)).all()  # ...the reported one does not


def test_chain_all_abstain_row_gets_the_balance_as_the_chain_factorises_it():
    """D13: for v = 3 tasks in a chain, an all-abstain row gets P(Y0, Y1) P(Y1, Y2) / P(Y1)
    of the class balance (as the docstring says), which is the balance itself
    when it factorises along the chain."""
    L, _ = synthetic_votes(n=300, m=6, seed=3)
    cb = np.random.default_rng(0).random(8)
    cb /= cb.sum()
    model = LabelModel(**SEQ).fit(L, class_balance=cb)
    t = cb.reshape(2, 2, 2)
    chain = (t.sum(2)[:, :, None] * t.sum(0)[None, :, :] / t.sum((0, 2))[None, :, None]).ravel()
    abstain = np.zeros((1, 6), dtype=int)
    np.testing.assert_allclose(model.predict_proba(abstain)[0], chain, atol=1e-12)
    np.testing.assert_allclose(model.class_balance_, cb / cb.sum())
    markov = np.einsum("a,b,c->abc", [0.3, 0.7], [0.6, 0.4], [0.2, 0.8]).ravel()
    model.fit(L, class_balance=markov)
    np.testing.assert_allclose(model.predict_proba(abstain)[0], markov, atol=1e-12)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "float16", "float32"])
def test_every_numeric_dtype_of_votes_fits(dtype):
    """D6: uint16/32/64 failed inside torch ("aminmax_cpu" not implemented for 'UInt32')."""
    L, _ = synthetic_votes(n=100, m=5, seed=4)
    L = np.abs(L)  # 0/1 votes: representable by unsigned dtypes
    ref = LabelModel(5).fit(L).predict_proba(L)
    np.testing.assert_allclose(LabelModel(5).fit(L.astype(dtype)).predict_proba(L.astype(dtype)), ref)


@pytest.mark.parametrize("bad", [np.array([["1", "0", "1", "0", "1"]] * 4), [[1, 0, 1, 0, 1], [1, 0]], "10101"])
def test_non_numeric_votes_get_an_error_naming_the_argument(bad):
    """D6: string arrays and ragged lists gave torch/numpy messages."""
    with pytest.raises(TypeError, match="L_train"):
        LabelModel(5).fit(bad)


def test_verbose_is_accepted_and_ignored(capsys):
    L, _ = synthetic_votes(n=60, m=5, seed=5)
    model = LabelModel(5).fit(L, verbose=True)
    model.predict_proba(L, verbose=True)
    assert capsys.readouterr() == ("", "")


def test_label_model_implements_the_protocol():
    from weaksup.base import LabelModelProtocol

    L, _ = synthetic_votes(n=60, m=5, seed=5)
    model = LabelModel(5).fit(L)
    assert isinstance(model, LabelModelProtocol)
    assert model.n_lfs_ == 5 and model.groups == []
    codes = check_votes(L, convention="flyingsquid")
    np.testing.assert_allclose(torch.softmax(model.log_scores(codes), 1).numpy(), model.predict_proba(L))


def test_bad_triplets_are_refused_at_construction():
    with pytest.raises(ValueError, match="triplets"):
        LabelModel(3, triplets=[(0, 1, 5)])
    with pytest.raises(ValueError, match="triplets"):
        LabelModel(4, triplets=[(0, 1)])


@pytest.mark.parametrize("solve_method", ["triplet_mean", "triplet", "pairwise_em"])
def test_a_class_the_balance_rules_out_gets_probability_zero(solve_method):
    """Y_dev with positives only: the separators divided by P(y = -1) = 0 used to
    send every item to -1 with probability 1."""
    L, _ = synthetic_votes(n=200, m=5, seed=1)
    model = LabelModel(5).fit(L, Y_dev=[1, 1], solve_method=solve_method)
    np.testing.assert_array_equal(model.predict_proba(L)[:, 1], 1.0)
    assert (model.predict(L) == 1).all()


# ---------------------------------------------------------------------------
# warm start of solve_method='pairwise_em' (refits of a loss whose buffer moves)
# ---------------------------------------------------------------------------
def test_pairwise_em_warm_start_continues_the_previous_em_run():
    """With the class balance fixed, a warm refit of one step (tol so large that
    EM stops after its first step) is exactly one more step: 100 + 1 steps equal
    101 cold steps."""
    from weaksup._class_conditional import DEFAULT_OPTIONS, fit_class_conditional

    L, _ = synthetic_votes(n=500, m=6, seed=2)
    model = LabelModel(6).fit(L, class_balance=[0.4, 0.6], solve_method="pairwise_em")
    assert model.confusion_.shape == (6, 3, 2)
    stats = model.statistics_
    cold = fit_class_conditional(stats, torch.tensor([0.4, 0.6], dtype=torch.float64), **{**DEFAULT_OPTIONS, "n_iter": 101})
    model.fit_statistics(stats, class_balance=[0.4, 0.6], init=model.confusion_, tol=1.0)
    np.testing.assert_allclose(model.confusion_.numpy(), cold.confusion.numpy(), atol=1e-12)
    active = LabelModel(6).fit_statistics(stats, class_balance=[0.4, 0.6], init=cold.active, tol=1.0)
    assert active.confusion_.shape == (6, 3, 2)  # an ActiveConfusion is an init too


def test_pairwise_em_warm_refit_stays_close_to_a_cold_fit():
    L, _ = synthetic_votes(n=1200, m=6, seed=3)
    first = LabelModel(6).fit(L[:600])
    warm = LabelModel(6).fit_statistics(LabelModel(6).accumulate(L), init=first.confusion_, tol=1e-6)
    cold = LabelModel(6).fit(L)
    np.testing.assert_allclose(warm.predict_proba(L), cold.predict_proba(L), atol=1e-3)


@pytest.mark.parametrize(
    "options,error",
    [
        (dict(init=torch.zeros(6, 3, 3)), ValueError),  # wrong shape
        (dict(init=np.zeros((6, 3, 2))), TypeError),  # not a confusion
        (dict(init=torch.full((6, 3, 2), float("nan"))), ValueError),
        (dict(init=torch.zeros(6, 3, 2)), ValueError),  # no probability anywhere
        (dict(init="previous", solve_method="triplet_mean"), ValueError),  # a triplet method has no EM
        (dict(tol=0.0), ValueError),
    ],
)
def test_bad_warm_start_is_refused_and_changes_nothing(options, error):
    L, _ = synthetic_votes(n=300, m=6, seed=4)
    model, twin = LabelModel(6).fit(L), LabelModel(6).fit(L)
    if isinstance(options.get("init"), str):
        options = {**options, "init": model.confusion_}
    name = "tol" if "tol" in options else "init"
    with pytest.raises(error, match=name):
        model.fit_statistics(model.statistics_, **options)
    _assert_same_state(model, twin)
