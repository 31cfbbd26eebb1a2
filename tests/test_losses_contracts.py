"""Contracts of the online losses (issues 9, 11, 12): configuration checked at
construction, a call that raises changes nothing, the fused FSLoss step equals
the label model, classes added without counting, no host reads in the step."""

import copy

import numpy as np
import pytest
import torch

from conftest import synthetic_votes
from weaksup import LabelModel
from weaksup.conventions import check_votes
from weaksup.multiclass import MulticlassLabelModel
from weaksup.nn import FSCrossEntropyLoss, FSLoss, MajorityVoteLoss, OnlineLabelLoss
from weaksup.statistics import accumulate


# FlyingSquid's loss (the fused host path): the triplet mean, uncovered items kept
FS_EXACT = dict(solve_method="triplet_mean", estimate_balance=False, uncovered="keep")


def snapshot(crit):
    """Everything a loss holds: its state dict and its host counters."""
    state = {k: v.clone() for k, v in crit.state_dict().items()}
    return state, (crit._size, crit._index, crit._seen, crit._refits)


def assert_unchanged(crit, before):
    state, counters = before
    after = crit.state_dict()
    assert state.keys() == after.keys()
    assert all(torch.equal(state[k], after[k]) for k in state)
    assert counters == (crit._size, crit._index, crit._seen, crit._refits)


def multiclass_votes(n=400, m=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    right = rng.random((n, m)) < 0.75
    L = np.where(right, y[:, None], (y[:, None] + rng.integers(1, k, (n, m))) % k)
    return np.where(rng.random((n, m)) < 0.7, L, -1).astype(np.int64), y


# ---------------------------------------------------------------------------
# D3: configuration errors at construction
# ---------------------------------------------------------------------------
class TestD3ConfigurationAtConstruction:
    def test_pairwise_em_with_two_tasks(self):
        with pytest.raises(ValueError, match="pairwise_em"):
            FSLoss(4, v=2, task_deps=[(0, 1)], lf_task_deps=[(0, 0), (1, 0), (2, 1), (3, 1)],
                   solve_method="pairwise_em")

    def test_flyingsquid_method_with_two_lfs(self):
        with pytest.raises(ValueError, match="at least 3 LFs"):
            FSCrossEntropyLoss(2, 3, model_options={"method": "flyingsquid"})

    def test_negative_n_iter(self):
        with pytest.raises(ValueError, match="n_iter must be an int >= 0, got -1"):
            FSCrossEntropyLoss(4, 3, model_options={"n_iter": -1})

    def test_unknown_model_option(self):
        with pytest.raises(TypeError, match="model_options"):
            FSCrossEntropyLoss(4, 3, model_options={"n_iterations": 5})

    def test_triplet_naming_a_missing_lf(self):
        with pytest.raises(ValueError, match=r"triplets.*\(0, 1, 5\)"):
            FSLoss(3, triplets=[(0, 1, 5)], solve_method="triplet")

    def test_label_model_of_the_wrong_size(self):
        with pytest.raises(ValueError, match=r"2\*\*v = 4"):
            FSLoss(6, v=2, task_deps=[(0, 1)], lf_task_deps=[(i, i % 2) for i in range(6)],
                   label_model=MulticlassLabelModel(2))

    def test_valid_configurations_still_build(self):
        FSLoss(4, v=2, task_deps=[(0, 1)], lf_task_deps=[(0, 0), (1, 0), (2, 1), (3, 1)])
        FSLoss(3, triplets=[(0, 1, 2)], solve_method="triplet")
        FSCrossEntropyLoss(3, 3, model_options={"method": "flyingsquid", "n_iter": 0})


# ---------------------------------------------------------------------------
# D4: per-item weights
# ---------------------------------------------------------------------------
BAD_WEIGHTS = [
    (np.array([1.0, np.nan, 1.0]), ValueError, "weight must be finite"),
    (torch.tensor([1.0, float("inf"), 1.0]), ValueError, "weight must be finite"),
    (["a", "b", "c"], TypeError, "weight must be a numeric array"),
    (np.array([True, False, True]), TypeError, "weight must hold real numbers"),
    (np.ones(4), ValueError, r"weight must have shape \(3,\)"),
]


class TestD4ItemWeights:
    @pytest.mark.parametrize("weight,error,match", BAD_WEIGHTS)
    def test_fsloss_refuses_before_any_state_change(self, weight, error, match):
        crit = FSLoss(3, buffer_capacity=20, update_frequency=1)
        crit(torch.zeros(4), np.array([[1, 0, -1], [1, 1, 1], [-1, -1, 0], [0, 1, 1]]))
        before = snapshot(crit)
        with pytest.raises(error, match=match):
            crit(torch.zeros(3), np.array([[1, 1, 0], [-1, 0, 1], [1, 1, 1]]), weight=weight)
        assert_unchanged(crit, before)

    @pytest.mark.parametrize("weight,error,match", BAD_WEIGHTS)
    def test_cross_entropy_refuses_before_any_state_change(self, weight, error, match):
        L, _ = multiclass_votes(n=40)
        crit = FSCrossEntropyLoss(5, 3, buffer_capacity=30)
        crit(torch.zeros(10, 3), L[:10])
        before = snapshot(crit)
        with pytest.raises(error, match=match):
            crit(torch.zeros(3, 3), L[10:13], weight=weight)
        assert_unchanged(crit, before)

    @pytest.mark.parametrize("weight,error,match", BAD_WEIGHTS)
    def test_majority_vote_refuses(self, weight, error, match):
        with pytest.raises(error, match=match):
            MajorityVoteLoss()(torch.zeros(3), np.array([[1, 1, 0], [-1, 0, 1], [1, 1, 1]]), weight=weight)

    def test_integer_weights_are_fine(self):
        out = FSLoss(3, reduction="none")(torch.zeros(3), np.array([[1, 1, 0], [-1, 0, 1], [1, 1, 1]]),
                                          weight=np.array([1, 2, 0]))
        assert out[2] == 0 and torch.isfinite(out).all()


# ---------------------------------------------------------------------------
# D12: half-precision sums; D14 (torch side): reduction='none'
# ---------------------------------------------------------------------------
class TestD12D14Reductions:
    def test_d12_float16_sum_over_200k_items_is_finite(self):
        n = 200_000
        votes, _ = synthetic_votes(n=n, m=3, seed=0)
        logits = torch.full((n,), 4.0, dtype=torch.float16, requires_grad=True)
        crit = FSLoss(3, buffer_capacity=1000, reduction="sum")
        loss = crit(logits, votes)
        assert loss.dtype == torch.float32 and torch.isfinite(loss) and loss.item() > 65504
        loss.backward()
        assert logits.grad.dtype == torch.float16 and torch.isfinite(logits.grad).all()

    def test_d12_float16_cross_entropy_sum(self):
        n = 200_000
        L = np.tile(np.array([[0, -1, 1], [1, 1, -1], [-1, 0, 0]]), (n // 3 + 1, 1))[:n]
        logits = torch.zeros((n, 2), dtype=torch.float16)
        loss = FSCrossEntropyLoss(3, 2, buffer_capacity=100, reduction="sum")(logits, L)
        assert torch.isfinite(loss) and loss.item() > 65504

    @pytest.mark.parametrize("cls,args,shape", [(FSLoss, (3,), (4,)), (FSCrossEntropyLoss, (3, 2), (4, 2))])
    def test_d14_reduction_none(self, cls, args, shape):
        votes = np.array([[1, 1, 0], [-1, 0, 1], [1, 1, 1], [0, 0, 0]])
        if cls is FSCrossEntropyLoss:
            votes = np.where(votes == 0, -1, (votes + 1) // 2)
        out = cls(*args, reduction="none")(torch.zeros(shape), votes)
        assert out.shape == (4,)


# ---------------------------------------------------------------------------
# a forward that raises changes nothing
# ---------------------------------------------------------------------------
class FailingModel:
    """A label model (the protocol, no base class) whose fits fail on demand."""

    cardinality = 2
    convention = "snorkel"
    groups = ()

    def __init__(self):
        self.fail = False
        self.inner = MulticlassLabelModel(2)

    def accumulate(self, L):
        return self.inner.accumulate(L)

    def fit(self, L, class_balance=None, Y_dev=None):
        return self.fit_statistics(self.accumulate(L), class_balance, Y_dev)

    def partial_fit(self, L, class_balance=None, Y_dev=None):
        return self.fit(L, class_balance, Y_dev)

    def fit_statistics(self, stats, class_balance=None, Y_dev=None):
        if self.fail:
            raise FloatingPointError("the solver diverged")
        self.inner.fit_statistics(stats, class_balance=class_balance)
        return self

    def log_scores(self, codes):
        return self.inner.log_scores(codes)

    def predict_proba(self, L):
        return self.inner.predict_proba(L)


class TestRaisingCallChangesNothing:
    @pytest.mark.parametrize("capacity", [50, 500])
    def test_failing_refit_rolls_back_buffer_counts_and_model(self, capacity):
        L, _ = multiclass_votes(n=300, k=2)
        model = FailingModel()
        crit = FSCrossEntropyLoss(5, 2, label_model=model, buffer_capacity=capacity, update_frequency=40)
        for start in range(0, 120, 40):
            crit(torch.zeros(40, 2), L[start : start + 40])
        before = snapshot(crit)
        probe = crit.predict_proba(L[200:230]).clone()
        model.fail = True
        with pytest.raises(FloatingPointError):
            crit(torch.zeros(40, 2), L[120:160])
        assert_unchanged(crit, before)
        model.fail = False
        torch.testing.assert_close(crit.predict_proba(L[200:230]), probe, rtol=0, atol=0)
        # and training goes on exactly as if the failed call never happened
        twin = FSCrossEntropyLoss(5, 2, label_model=FailingModel(), buffer_capacity=capacity, update_frequency=40)
        for start in range(0, 160, 40):
            twin(torch.zeros(40, 2), L[start : start + 40])
        crit(torch.zeros(40, 2), L[120:160])
        assert crit.statistics.equal(twin.statistics)
        torch.testing.assert_close(crit.last_targets, twin.last_targets, rtol=0, atol=0)

    @pytest.mark.parametrize("bad", [
        dict(logits=torch.tensor([0.0, float("nan"), 0.0])),
        dict(votes=np.array([[1, 1, 0], [2, 0, 1], [1, 1, 1]])),
        dict(votes=np.array([[1, 1, 0], [0.5, 0, 1], [1, 1, 1]])),
        dict(update_frequency=0),
        dict(weight=np.array([1.0, np.inf, 1.0])),
    ])
    def test_fused_fsloss_bad_call(self, bad):
        crit = FSLoss(3, buffer_capacity=10, update_frequency=2, **FS_EXACT)
        crit(torch.zeros(7), np.array([[1, 0, -1], [1, 1, 1], [-1, -1, 0], [0, 1, 1]] * 2)[:7])
        before = snapshot(crit)
        kwargs = {k: v for k, v in bad.items() if k in ("update_frequency", "weight")}
        with pytest.raises((ValueError, TypeError)):
            crit(bad.get("logits", torch.zeros(3)), bad.get("votes", np.array([[1, 1, 0], [-1, 0, 1], [1, 1, 1]])),
                 **kwargs)
        assert_unchanged(crit, before)


# ---------------------------------------------------------------------------
# the fused FSLoss step is FlyingSquid's model
# ---------------------------------------------------------------------------
class TestFusedStep:
    @pytest.mark.parametrize("cb", [None, [0.3, 0.7]])
    def test_equals_the_label_model(self, cb):
        L, _ = synthetic_votes(n=900, m=7, seed=4, coverage=0.5)
        crit = FSLoss(7, cb=cb, buffer_capacity=300, update_frequency=100, **FS_EXACT)
        for start in range(0, 900, 150):
            votes = L[start : start + 150]
            crit(torch.zeros(150), votes)
            buffer = crit.buffer_votes().numpy()
            ref = LabelModel(7).fit(buffer, class_balance=cb if cb is not None else "uniform", solve_method="triplet_mean")
            want = torch.as_tensor(ref.predict_proba_marginalized(votes)).reshape(-1, 1)
            torch.testing.assert_close(crit.last_targets, want, rtol=0, atol=1e-12)
        # the label model object is fitted on the same statistics when read
        torch.testing.assert_close(
            torch.as_tensor(crit.label_model.predict_proba_marginalized(L[:50])),
            crit.predict_proba(L[:50])[:, 0], rtol=0, atol=1e-12,
        )

    @pytest.mark.parametrize("m", [3, 4, 10])
    @pytest.mark.parametrize("coverage", [1.0, 0.7])
    def test_host_triplet_mean_equals_the_torch_one(self, m, coverage):
        from weaksup.nn._triplet_path import HostTripletPath
        from weaksup.triplets import all_pairs_accuracies

        rng = np.random.default_rng(m)
        moments = rng.uniform(-0.5, 0.5, (m, m))
        moments = (moments + moments.T) / 2
        moments[0, 1] = moments[1, 0] = 0.0  # a zero denominator
        np.fill_diagonal(moments, 0.7)
        covoted = rng.random((m, m)) < coverage
        covoted = covoted | covoted.T
        for cov in (covoted, np.ones((m, m), dtype=bool)):
            for mom in (moments, np.where(moments == 0, 0.1, moments)):  # with and without a zero moment
                want = all_pairs_accuracies(torch.tensor(mom), torch.tensor(cov.astype(np.int64)), "mean").numpy()
                np.testing.assert_allclose(HostTripletPath(m)._triplet_mean(mom, cov), want, rtol=0, atol=1e-15)

    def test_estimated_balance_equals_the_label_model(self):
        L, _ = synthetic_votes(n=600, m=6, seed=8, balance=0.3)
        crit = FSLoss(6, buffer_capacity=600, update_frequency=600, solve_method="triplet_mean", uncovered="keep")
        crit(torch.zeros(600), L)
        ref = LabelModel(6).fit(L, solve_method="triplet_mean")  # no balance given: estimated from the votes
        want = torch.as_tensor(ref.predict_proba_marginalized(L[:40])).reshape(-1, 1)
        torch.testing.assert_close(crit.last_targets[:40], want, rtol=0, atol=1e-12)

    def test_host_and_device_votes_mix(self):
        """Votes given as numpy and as tensors go through the same state."""
        L, _ = synthetic_votes(n=400, m=5, seed=2)
        a = FSLoss(5, buffer_capacity=150, update_frequency=50, **FS_EXACT)
        b = FSLoss(5, buffer_capacity=150, update_frequency=50, **FS_EXACT)
        for i, start in enumerate(range(0, 400, 50)):
            a(torch.zeros(50), L[start : start + 50])
            votes = torch.as_tensor(L[start : start + 50])
            b(torch.zeros(50), votes.to(torch.float32) if i % 2 else votes)  # floats take the careful path
            torch.testing.assert_close(a.last_targets, b.last_targets, rtol=0, atol=1e-12)
        assert a.statistics.equal(b.statistics)

    def test_meta_device_step_reads_nothing_back(self):
        """The CPU stand-in for 'no host sync on CUDA': with the state on the meta
        device (where reading any value raises) and the votes on the host, steps
        run, refits included."""
        L, _ = synthetic_votes(n=600, m=10, seed=1)
        crit = FSLoss(10, buffer_capacity=300, update_frequency=64, **FS_EXACT)
        crit(torch.zeros(300), L[:300])
        crit.to("meta")
        x = torch.zeros(64, device="meta", requires_grad=True)
        for start in range(300, 556, 64):
            crit(x, L[start : start + 64]).backward()
        assert int(crit._refits) == 5

    @pytest.mark.gpu
    @pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
    def test_cuda_steady_state_has_no_host_sync(self):
        L, _ = synthetic_votes(n=3000, m=10, seed=1)
        votes = torch.as_tensor(L)
        crit = FSLoss(10, buffer_capacity=1000, update_frequency=256, device="cuda", **FS_EXACT)
        x = torch.zeros(256, device="cuda", requires_grad=True)
        for start in range(0, 1024, 256):  # warm-up
            crit(x, votes[start : start + 256]).backward()
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            for start in range(1024, 2816, 256):
                crit(x, votes[start : start + 256]).backward()
        finally:
            torch.cuda.set_sync_debug_mode(0)
        cpu = FSLoss(10, buffer_capacity=1000, update_frequency=256, **FS_EXACT)
        for start in range(0, 2816, 256):
            cpu(torch.zeros(256), votes[start : start + 256])
        torch.testing.assert_close(crit.last_targets.cpu(), cpu.last_targets, rtol=0, atol=1e-12)
        assert crit.statistics.to("cpu").equal(cpu.statistics)


class TestDefaults:
    """Issue 10's defaults (measured by the quality work): pairwise EM for one
    task, the class balance estimated, uncovered items left out."""

    def test_fsloss_defaults(self):
        crit = FSLoss(5)
        assert crit.solve_method == "pairwise_em" and crit.estimate_balance and crit.uncovered == "ignore"
        seq = FSLoss(4, v=2, task_deps=[(0, 1)], lf_task_deps=[(0, 0), (1, 0), (2, 1), (3, 1)])
        assert seq.solve_method == "triplet_mean" and not seq.estimate_balance
        assert FSLoss(4, lf_deps=[(0, 1)]).solve_method == "triplet_mean"
        assert FSLoss(3, triplets=[(0, 1, 2)]).solve_method == "triplet"

    def test_cross_entropy_defaults(self):
        crit = FSCrossEntropyLoss(4, 3)
        assert crit.estimate_balance and crit.uncovered == "ignore"

    def test_default_fsloss_is_the_pairwise_em_model(self):
        L, _ = synthetic_votes(n=400, m=5, seed=6, balance=0.3)
        crit = FSLoss(5, buffer_capacity=400, update_frequency=400, reduction="none")
        out = crit(torch.zeros(400), L)
        ref = LabelModel(5).fit(L, solve_method="pairwise_em")  # the balance estimated from the votes
        want = torch.as_tensor(ref.predict_proba_marginalized(L)).reshape(-1, 1)
        torch.testing.assert_close(crit.last_targets, want, rtol=0, atol=1e-10)
        uncovered = torch.as_tensor((L == 0).all(1))
        assert uncovered.any() and torch.equal(out[uncovered], torch.zeros(int(uncovered.sum())))


# ---------------------------------------------------------------------------
# issue 9: one class-balance rule; adding a class
# ---------------------------------------------------------------------------
class TestClassBalanceRule:
    @pytest.mark.parametrize("Y", [[0, 0, 0, 1], [1, 1, 0], [0, 1, 1, 1, 1, 0, 0]])
    def test_cross_entropy_loss_and_model_agree(self, Y):
        L, _ = multiclass_votes(n=60, k=2)
        model = MulticlassLabelModel(2).fit(L, Y_dev=Y)
        crit = FSCrossEntropyLoss(5, 2, Y_dev=Y, buffer_capacity=100)
        crit(torch.zeros(60, 2), L)
        torch.testing.assert_close(crit.label_model.class_balance_, model.class_balance_)

    @pytest.mark.parametrize("Y", [[-1, -1, -1, 1], [1, 1, -1]])
    def test_fsloss_and_model_agree(self, Y):
        L, _ = synthetic_votes(n=60, m=4, seed=0)
        model = LabelModel(4).fit(L, Y_dev=Y)
        crit = FSLoss(4, Y_dev=Y, buffer_capacity=100)
        crit(torch.zeros(60), L)
        torch.testing.assert_close(crit.label_model.class_balance_, model.class_balance_)


class TestAddClass:
    def test_add_class_migrates_without_counting(self):
        L, _ = multiclass_votes(n=300, k=3)
        crit = FSCrossEntropyLoss(5, 3, buffer_capacity=200, update_frequency=50)
        for start in range(0, 300, 100):
            crit(torch.zeros(100, 3), L[start : start + 100])
        seen, refits = int(crit.items_seen), int(crit.refits)
        crit.add_class()
        assert crit.num_classes == 4 and int(crit.items_seen) == seen and int(crit.refits) == refits
        buffer = crit.buffer_votes()
        assert crit.statistics.equal(accumulate(buffer, 4))
        assert crit.predict_proba(L[:10]).shape == (10, 4)
        votes = L[:50].copy()
        votes[:5, 0] = 3  # the new class is voted from now on
        assert torch.isfinite(crit(torch.zeros(50, 4), votes))
        assert int(crit.items_seen) == seen + 50

    def test_resize_checks_first(self):
        L, _ = multiclass_votes(n=100, k=3)
        crit = FSCrossEntropyLoss(5, 3, class_balance=[0.2, 0.3, 0.5], buffer_capacity=100)
        crit(torch.zeros(100, 3), L)
        before = snapshot(crit)
        with pytest.raises(ValueError, match="class_balance"):
            crit.add_class()
        with pytest.raises(ValueError, match="class_balance must have cardinality = 4"):
            crit.resize(4, class_balance=[0.5, 0.5])
        with pytest.raises(ValueError, match="num_classes must be an int >= 3"):
            crit.resize(2)
        assert_unchanged(crit, before)
        assert crit.num_classes == 3
        crit.resize(4, class_balance=[0.1, 0.2, 0.3, 0.4])
        torch.testing.assert_close(crit.class_balance, torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64))

    def test_state_dict_round_trip_after_resize(self):
        L, _ = multiclass_votes(n=100, k=3)
        a = FSCrossEntropyLoss(5, 3, buffer_capacity=100)
        a(torch.zeros(100, 3), L)
        a.add_class()
        b = FSCrossEntropyLoss(5, 4, buffer_capacity=100)
        b.load_state_dict(copy.deepcopy(a.state_dict()))
        torch.testing.assert_close(b.predict_proba(L[:20]), a.predict_proba(L[:20]), rtol=0, atol=1e-12)


class TestConventionMisread:
    def test_snorkel_votes_given_to_fsloss_warn_once(self):
        rng = np.random.default_rng(0)
        L = np.where(rng.random((300, 5)) < 0.83, -1, rng.integers(0, 2, (300, 5)))
        crit = FSLoss(5)
        with pytest.warns(UserWarning, match="convention='snorkel'"):
            crit(torch.zeros(300), L)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            crit(torch.zeros(300), L)  # once per loss

    def test_plain_votes_do_not_warn(self):
        import warnings

        L, _ = synthetic_votes(n=300, m=5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            FSLoss(5)(torch.zeros(300), L)


def _warm_case(kind, n=900):
    """(make a loss, its votes, logits of n items) for one of the two online losses."""
    if kind == "fsloss":
        L, _ = synthetic_votes(n=n, m=6, seed=3)
        return (lambda **o: FSLoss(6, buffer_capacity=300, update_frequency=100, **o)), torch.as_tensor(L), (n,)
    L, _ = multiclass_votes(n=n, m=6, k=3, seed=3)
    return (lambda **o: FSCrossEntropyLoss(6, 3, buffer_capacity=300, update_frequency=100, **o)), L, (n, 3)


class TestWarmStart:
    """Warm-started refits are the default of both losses' default models."""

    def test_warm_start_is_the_default_where_it_applies(self):
        assert FSLoss(6).warm_start and FSCrossEntropyLoss(6, 3).warm_start
        assert "model_init" in FSLoss(6).state_dict() and "model_init" in FSCrossEntropyLoss(6, 3).state_dict()
        assert not FSLoss(6, solve_method="triplet_mean").warm_start  # the fused FlyingSquid path: no EM
        assert not FSLoss(6, label_model=MulticlassLabelModel(2)).warm_start
        assert not FSCrossEntropyLoss(6, 3, label_model=MulticlassLabelModel(3)).warm_start
        assert not FSCrossEntropyLoss(6, 3, model_options={"method": "flyingsquid"}).warm_start
        assert not FSLoss(6, warm_start=False).warm_start and "model_init" not in FSLoss(6, warm_start=False).state_dict()

    @pytest.mark.parametrize("kind", ["fsloss", "fscrossentropy"])
    def test_warm_refits_are_close_to_cold_ones_and_checkpoints_stay_exact(self, kind):
        make, L, shape = _warm_case(kind)
        warm, cold = make(), make(warm_start=False)
        for start in range(0, 600, 100):
            x = torch.zeros((100,) + shape[1:])
            warm(x, L[start : start + 100])
            cold(x, L[start : start + 100])
            if start == 0:  # the first fit is a fresh one
                torch.testing.assert_close(warm.last_targets, cold.last_targets, rtol=0, atol=1e-12)
        assert bool(warm.model_init_set) and int(warm.refits) == 6
        torch.testing.assert_close(warm.predict_proba(L[:200]), cold.predict_proba(L[:200]), rtol=0, atol=0.05)
        twin = make()
        twin.load_state_dict(copy.deepcopy(warm.state_dict()))
        for start in range(600, 900, 100):
            x = torch.randn((100,) + shape[1:], generator=torch.Generator().manual_seed(start))
            assert torch.equal(warm(x, L[start : start + 100]), twin(x, L[start : start + 100]))
            assert torch.equal(warm.last_targets, twin.last_targets)

    @pytest.mark.parametrize("kind", ["fsloss", "fscrossentropy"])
    def test_checkpoints_load_across_the_warm_start_setting(self, kind):
        """A checkpoint saved with cold refits loads into a warm-starting loss
        (no start yet: its next refit is a fresh fit) and the other way round."""
        make, L, shape = _warm_case(kind, n=400)
        cold, warm = make(warm_start=False), make()
        for start in range(0, 400, 100):
            cold(torch.zeros((100,) + shape[1:]), L[start : start + 100])
            warm(torch.zeros((100,) + shape[1:]), L[start : start + 100])
        into_warm, into_cold = make(), make(warm_start=False)
        into_warm.load_state_dict(copy.deepcopy(cold.state_dict()))
        into_cold.load_state_dict(copy.deepcopy(warm.state_dict()))
        assert not bool(into_warm.model_init_set)
        torch.testing.assert_close(into_warm.predict_proba(L), cold.predict_proba(L), rtol=0, atol=1e-12)

    @pytest.mark.parametrize(
        "make",
        [
            lambda: FSCrossEntropyLoss(3, 2, label_model=MulticlassLabelModel(2), warm_start=True),
            lambda: FSLoss(3, label_model=MulticlassLabelModel(2), warm_start=True),
            lambda: FSLoss(3, solve_method="triplet_mean", warm_start=True),
            lambda: FSLoss(3, warm_start=1),
        ],
    )
    def test_warm_start_is_for_the_default_pairwise_em_model(self, make):
        with pytest.raises(ValueError, match="warm_start"):
            make()


# ---------------------------------------------------------------------------
# issue 9: the base class is a real base
# ---------------------------------------------------------------------------
class ShareLoss(OnlineLabelLoss):
    """A loss written on the base's hooks alone: the soft label of every item is
    each class's (smoothed) share of the votes in the buffer."""

    def __init__(self, m, k, **options):
        super().__init__(m, k, **options)
        self.share = None

    def _votes_to_codes(self, votes):
        return check_votes(votes, convention="snorkel", n_lfs=self._n_lfs, cardinality=self._k,
                           name="weak_labels", allow_empty=True)

    def _vote_range(self):
        return -1, self._k - 1

    def _integer_votes_to_codes(self, votes):
        return votes.to(torch.int64)

    def _codes_to_votes(self, codes):
        return codes

    def _check_prediction_shape(self, predictions, n):
        if predictions.shape != (n, self._k):
            raise ValueError(f"predictions must have shape ({n}, {self._k})")

    def _fit(self, stats):
        counts = stats.vote_counts().sum(0).to(torch.float64) + 1
        self.share = counts / counts.sum()

    def _reset_model(self):
        self.share = None

    def _soft_labels(self, batch):
        return self.share.expand(batch.n, -1) if batch.n else torch.zeros((0, self._k), dtype=torch.float64)

    def _loss(self, predictions, targets, batch):
        return torch.nn.functional.cross_entropy(predictions, targets.to(predictions.dtype))


class TestBaseClass:
    def test_a_loss_on_the_hooks_alone(self):
        L, _ = multiclass_votes(n=300, k=3)
        crit = ShareLoss(5, 3, buffer_capacity=100, update_frequency=50)
        for start in range(0, 300, 60):
            crit(torch.zeros(60, 3), L[start : start + 60])
        buffer = crit.buffer_votes()
        assert crit.statistics.equal(accumulate(buffer, 3))
        assert int(crit.refits) == 5 and int(crit.items_seen) == 300
        counts = torch.stack([(buffer == c).sum() for c in range(3)]).double() + 1
        # the model was last fitted at item 250 (batch 240..299): on the buffer as it is now
        torch.testing.assert_close(crit.share, counts / counts.sum())
        with pytest.raises(ValueError, match="cardinality is 3"):
            crit(torch.zeros(1, 3), np.array([[0, 1, 2, 3, -1]]))

    def test_hooks_are_abstract(self):
        with pytest.raises(NotImplementedError):
            OnlineLabelLoss(3, 2)(torch.zeros(2, 2), np.zeros((2, 3), dtype=np.int64))

    def test_state_declared_with_its_sync(self):
        crit = FSLoss(4, lf_deps=[(0, 1)])
        assert crit._sync["stats_co_votes"] == "sum" and crit._sync["vote_codes"] == "local"
        assert set(crit._sync) <= set(dict(crit.named_buffers()))
