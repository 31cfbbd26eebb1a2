"""Tests of the online weak-supervision losses (weaksup.nn)."""

import io
import math
from collections import deque

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import cuda, synthetic_votes
from weaksup import LabelModel
from weaksup.nn import FSCrossEntropyLoss, FSLoss, MajorityVoteLoss


def FlyingSquidLoss(*args, **options):
    """FSLoss as FlyingSquid's (the reference semantics these tests check):
    the triplet mean, a uniform class balance, uncovered items kept."""
    return FSLoss(*args, **{"solve_method": "triplet_mean", "estimate_balance": False, "uncovered": "keep", **options})


def CrossEntropyLoss(*args, **options):
    """FSCrossEntropyLoss with a uniform class balance and uncovered items kept."""
    return FSCrossEntropyLoss(*args, **{"estimate_balance": False, "uncovered": "keep", **options})
from weaksup.statistics import VoteStatistics, accumulate


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def batches(L, sizes):
    """Split the rows of L into consecutive batches of the given sizes."""
    out, start = [], 0
    for size in sizes:
        out.append(L[start : start + size])
        start += size
    return out


class ReferenceOnline:
    """The documented semantics, written plainly: a Python deque as the buffer,
    a fresh LabelModel fitted on its contents at every refit point (as
    FlyingSquid's: uniform class balance, the triplet mean)."""

    def __init__(self, make_model, capacity, update_frequency, predict, class_balance="uniform", **fit_options):
        self.make_model = make_model
        self.buffer = deque(maxlen=capacity)
        self.uf = update_frequency
        self.seen = 0
        self.model = None
        self.predict = predict
        self.class_balance = class_balance
        self.fit_options = fit_options

    def step(self, votes):
        n = len(votes)
        first = self.seen
        self.buffer.extend(np.asarray(votes))
        self.seen += n
        due = n > 0 and (self.model is None or any(t % self.uf == 0 for t in range(first, first + n)))
        if due:
            self.model = self.make_model().fit(np.array(self.buffer), class_balance=self.class_balance, **self.fit_options)
        return self.predict(self.model, np.asarray(votes))


def binary_predict(v):
    return lambda model, votes: torch.as_tensor(
        np.asarray(model.predict_proba_marginalized(votes)).reshape(len(votes), v)
    )


def run_loss(criterion, batch_list, logits_fn=None, **kw):
    losses, targets = [], []
    for i, votes in enumerate(batch_list):
        n = len(votes)
        shape = (n,) if getattr(criterion, "v", 1) == 1 else (n, criterion.v)
        logits = torch.linspace(-2, 2, max(n, 1))[:n] if logits_fn is None else logits_fn(i, n)
        logits = logits.reshape(shape) if logits_fn is None else logits
        losses.append(criterion(logits, torch.as_tensor(votes), **kw))
        targets.append(criterion.last_targets.clone())
    return losses, targets


@pytest.fixture(scope="module")
def votes6():
    L, Y = synthetic_votes(n=1200, m=6, seed=3)
    return L, Y


# ---------------------------------------------------------------------------
# FSLoss against the reference semantics
# ---------------------------------------------------------------------------
class TestReference:
    @pytest.mark.parametrize(
        "capacity,uf,sizes",
        [
            (100, 10, [32] * 12),              # several refit points per batch
            (250, 64, [64] * 10),              # refit every batch, capacity not a multiple
            (300, 100, [17, 40, 1, 0, 90, 64, 200, 5, 33]),  # ragged, an empty batch
            (50, 7, [64, 80, 3, 120]),         # batches larger than the buffer
        ],
    )
    def test_soft_labels_and_loss_match_fresh_fits(self, votes6, capacity, uf, sizes):
        L, _ = votes6
        crit = FlyingSquidLoss(6, buffer_capacity=capacity, update_frequency=uf, reduction="none")
        ref = ReferenceOnline(lambda: LabelModel(6), capacity, uf, binary_predict(1), solve_method="triplet_mean")
        for votes in batches(L, sizes):
            n = len(votes)
            logits = torch.linspace(-3, 3, n) if n else torch.zeros(0)
            loss = crit(logits, torch.as_tensor(votes))
            want = ref.step(votes) if n else None
            if n == 0:
                assert loss.shape == (0,)
                continue
            torch.testing.assert_close(crit.last_targets, want, rtol=0, atol=1e-12)
            torch.testing.assert_close(
                loss, F.binary_cross_entropy_with_logits(logits, want[:, 0].float(), reduction="none")
            )
            assert crit.statistics.equal(LabelModel(6).accumulate(np.array(ref.buffer)))
            assert int(crit.items_seen) == ref.seen

    def test_sequence_chain(self):
        v, per = 3, 3
        m = v * per
        rng = np.random.default_rng(5)
        n = 600
        Y = np.where(rng.random((n, 1)) < 0.5, 1, -1).repeat(v, 1)
        flip = rng.random((n, v)) < 0.15
        Y = np.where(flip, -Y, Y)  # a sticky chain
        lf_task = [(i + per * t, t) for t in range(v) for i in range(per)]
        acc = rng.uniform(0.65, 0.9, m)
        L = np.zeros((n, m), dtype=np.int64)
        for i, t in lf_task:
            right = rng.random(n) < acc[i]
            L[:, i] = np.where(right, Y[:, t], -Y[:, t]) * (rng.random(n) < 0.8)
        deps = [(t, t + 1) for t in range(v - 1)]
        crit = FlyingSquidLoss(m, v, deps, lf_task, [], buffer_capacity=200, update_frequency=50)
        ref = ReferenceOnline(lambda: LabelModel(m, v, deps, lf_task), 200, 50, binary_predict(v), solve_method="triplet_mean")
        for votes in batches(L, [50] * 8):
            logits = torch.zeros(len(votes), v)
            loss = crit(logits, torch.as_tensor(votes))
            torch.testing.assert_close(crit.last_targets, ref.step(votes), rtol=0, atol=1e-10)
            assert loss.shape == () and math.isfinite(loss.item())

    def test_dependent_lfs_keep_group_tables_exact(self, votes6):
        L, _ = votes6
        deps = [(0, 1)]
        crit = FlyingSquidLoss(6, lf_deps=deps, buffer_capacity=150, update_frequency=40)
        assert crit.label_model.graph.groups  # joint tables are tracked
        ref = ReferenceOnline(lambda: LabelModel(6, lambda_edges=deps), 150, 40, binary_predict(1), solve_method="triplet_mean")
        for votes in batches(L, [40] * 10):
            crit(torch.zeros(len(votes)), torch.as_tensor(votes))
            torch.testing.assert_close(crit.last_targets, ref.step(votes), rtol=0, atol=1e-10)
        assert crit.statistics.equal(LabelModel(6, lambda_edges=deps).accumulate(np.array(ref.buffer)))

    def test_batches_of_one_match_upstream(self):
        """With one item per call, weaksup's schedule is upstream's per-item loop."""
        pytest.importorskip("flyingsquid")
        from weaksup.compat import patch_pgmpy

        patch_pgmpy()
        import flyingsquid.pytorch_loss as upstream_loss

        upstream_loss.WSLoss = upstream_loss.FSLoss  # the name bug, patched here only
        L, _ = synthetic_votes(n=160, m=5, seed=11, coverage=0.8, acc_range=(0.85, 0.95))
        theirs = upstream_loss.FSLoss(5, buffer_capacity=60, update_frequency=10)
        ours = FlyingSquidLoss(5, buffer_capacity=60, update_frequency=10)
        logits = torch.linspace(-2, 2, len(L))
        for t in range(len(L)):
            x = logits[t : t + 1]
            a = theirs(x.clone(), torch.as_tensor(L[t : t + 1]))
            b = ours(x.clone(), torch.as_tensor(L[t : t + 1]))
            # once no moment is zero and every LF has abstained in the buffer (upstream gives
            # 0.5 to a row that abstains where the buffer never did), the two agree exactly
            if t >= 40:
                torch.testing.assert_close(b.double(), a.double(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# the buffer and its statistics
# ---------------------------------------------------------------------------
class TestBuffer:
    @settings(max_examples=20, deadline=None)
    @given(
        capacity=st.integers(1, 40),
        sizes=st.lists(st.integers(0, 60), min_size=1, max_size=8),
        seed=st.integers(0, 1000),
    )
    def test_statistics_equal_buffer_contents(self, capacity, sizes, seed):
        rng = np.random.default_rng(seed)
        crit = FlyingSquidLoss(3, buffer_capacity=capacity, update_frequency=1000)
        kept = deque(maxlen=capacity)
        for size in sizes:
            votes = rng.integers(-1, 2, (size, 3))
            crit(torch.zeros(size), torch.as_tensor(votes))
            kept.extend(votes)
            contents = crit.buffer_votes()
            assert contents.tolist() == [list(r) for r in kept]
            codes = torch.as_tensor(np.array(kept, dtype=np.int64).reshape(-1, 3))
            codes = torch.where(codes == 0, -1, (codes + 1) // 2)
            assert crit.statistics.equal(accumulate(codes, 2))
        assert int(crit.items_seen) == sum(sizes)
        assert int(crit.statistics.n_items) == min(capacity, sum(sizes))

    def test_refit_reads_only_statistics(self, votes6):
        L, _ = votes6
        crit = FlyingSquidLoss(6, buffer_capacity=500, update_frequency=10_000)
        crit(torch.zeros(400), torch.as_tensor(L[:400]))
        before = crit.predict_proba(L[400:500])
        crit.vote_codes.fill_(1)  # the buffer is garbage now; the statistics are not
        crit.refit()
        torch.testing.assert_close(crit.predict_proba(L[400:500]), before, rtol=0, atol=0)

    def test_large_capacity_refit_uses_statistics(self, votes6):
        L, _ = votes6
        big = FlyingSquidLoss(6, buffer_capacity=1_000_000, update_frequency=100)
        small = FlyingSquidLoss(6, buffer_capacity=1200, update_frequency=100)
        for votes in batches(L, [100] * 12):
            big(torch.zeros(100), torch.as_tensor(votes))
            small(torch.zeros(100), torch.as_tensor(votes))
        assert big.statistics.equal(small.statistics)
        torch.testing.assert_close(big.last_targets, small.last_targets, rtol=0, atol=0)

    def test_refit_schedule(self, votes6):
        L, _ = votes6
        crit = FlyingSquidLoss(6, buffer_capacity=100, update_frequency=50)
        refits = []
        for votes in batches(L, [30] * 6):  # items 0..179: multiples of 50 in batches 0, 1, 3, 5
            crit(torch.zeros(30), torch.as_tensor(votes))
            refits.append(int(crit.refits))
        assert refits == [1, 2, 2, 3, 3, 4]
        crit(torch.zeros(30), torch.as_tensor(L[180:210]), update_frequency=1)
        assert int(crit.refits) == 5

    def test_reset(self, votes6):
        L, _ = votes6
        crit = FlyingSquidLoss(6, buffer_capacity=50)
        crit(torch.zeros(60), torch.as_tensor(L[:60]))
        crit.reset()
        assert int(crit.items_seen) == 0 and not crit.fitted
        assert crit.statistics.equal(VoteStatistics.zeros(6, 2))
        crit(torch.zeros(10), torch.as_tensor(L[:10]))
        assert crit.fitted and int(crit.statistics.n_items) == 10


# ---------------------------------------------------------------------------
# PyTorch conventions
# ---------------------------------------------------------------------------
class TestConventions:
    def test_upstream_constructor_positional(self):
        crit = FlyingSquidLoss(4, 1, [], [], [], None, None, True, "cpu", 100, 10, False, None, None)
        assert crit.lf_task_deps == [(i, 0) for i in range(4)] and crit.lm is crit.label_model

    def test_reduction_checked_at_construction(self):
        with pytest.raises(ValueError, match="reduction must be one of 'none', 'mean', 'sum', got 'avg'"):
            FlyingSquidLoss(3, reduction="avg")
        with pytest.raises(ValueError, match=r"uncovered must be one of \('keep', 'ignore'\), got 'drop'"):
            FlyingSquidLoss(3, uncovered="drop")
        with pytest.raises(ValueError, match="buffer_capacity must be an int >= 1, got 0"):
            FlyingSquidLoss(3, buffer_capacity=0)
        with pytest.raises(TypeError, match="update_frequency must be an int"):
            FlyingSquidLoss(3, update_frequency=2.5)

    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    def test_reductions_and_weights(self, votes6, reduction):
        L, _ = votes6
        votes = torch.as_tensor(L[:64])
        x = torch.randn(64, generator=torch.Generator().manual_seed(0))
        w = torch.rand(64, generator=torch.Generator().manual_seed(1))
        crit = FlyingSquidLoss(6, buffer_capacity=100, pos_weight=2.0, reduction=reduction)
        out = crit(x, votes, weight=w)
        q = crit.last_targets[:, 0].float()
        ref = F.binary_cross_entropy_with_logits(x, q, pos_weight=torch.tensor(2.0), reduction="none") * w
        want = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
        torch.testing.assert_close(out, want)

    def test_predictions_column_shape_kept(self, votes6):
        L, _ = votes6
        out = FlyingSquidLoss(6, reduction="none")(torch.zeros(8, 1), torch.as_tensor(L[:8]))
        assert out.shape == (8, 1)

    def test_gradient_only_into_predictions(self, votes6):
        L, _ = votes6
        crit = FlyingSquidLoss(6, buffer_capacity=200, update_frequency=10_000)
        crit(torch.zeros(100), torch.as_tensor(L[:100]))
        votes = torch.as_tensor(L[100:110])
        x = torch.randn(10, dtype=torch.float64, requires_grad=True)
        # with no refit due, forward is a pure function of the logits
        assert torch.autograd.gradcheck(lambda a: crit(a, votes), (x,))
        loss = crit(x, votes)
        loss.backward()
        assert not crit.last_targets.requires_grad
        assert all(not b.requires_grad for b in crit.buffers())

    def test_uncovered_items(self, votes6):
        L, _ = votes6
        votes = np.array(L[:40])
        votes[:5] = 0  # every LF abstains on the first five items
        keep = FlyingSquidLoss(6, cb=[0.3, 0.7], reduction="none")
        out = keep(torch.zeros(40), torch.as_tensor(votes))
        torch.testing.assert_close(keep.last_targets[:5, 0], torch.full((5,), 0.7, dtype=torch.float64))
        ignore = FlyingSquidLoss(6, cb=[0.3, 0.7], uncovered="ignore", reduction="none")
        out_i = ignore(torch.zeros(40), torch.as_tensor(votes))
        assert torch.equal(out_i[:5], torch.zeros(5)) and torch.equal(out_i[5:], out[5:])
        mean = FlyingSquidLoss(6, cb=[0.3, 0.7], uncovered="ignore")(torch.zeros(40), torch.as_tensor(votes))
        torch.testing.assert_close(mean, out[5:].mean())
        assert int(ignore.statistics.n_items) == 40  # they still enter the buffer
        all_abstain = FlyingSquidLoss(6, uncovered="ignore")
        x = torch.zeros(4, requires_grad=True)
        loss = all_abstain(x, torch.zeros(4, 6, dtype=torch.long))
        assert loss.item() == 0.0 and not math.isnan(loss.item())
        loss.backward()

    def test_clamp_vals_and_options(self, votes6):
        L, Y = votes6
        crit = FlyingSquidLoss(6, clamp_vals=True, Y_dev=Y[:100], pos_weight=torch.tensor([1.5]))
        crit(torch.zeros(64), torch.as_tensor(L[:64]))
        assert set(crit.last_targets.unique().tolist()) <= {0.0, 1.0}
        counted = (np.bincount((Y[:100] + 1) // 2, minlength=2) / 100)
        torch.testing.assert_close(crit.class_balance, torch.as_tensor(counted))
        trip = FlyingSquidLoss(6, triplets=[(0, 1, 2), (3, 4, 5)], solve_method="triplet")
        trip(torch.zeros(64), torch.as_tensor(L[:64]))
        assert torch.isfinite(trip.last_targets).all()

    def test_allow_abstentions_false(self):
        L, _ = synthetic_votes(n=100, m=4, coverage=1.0)
        crit = FlyingSquidLoss(4, allow_abstentions=False)
        crit(torch.zeros(50), torch.as_tensor(L[:50]))
        with pytest.raises(ValueError, match="allow_abstentions=False"):
            crit(torch.zeros(2), torch.tensor([[1, 0, 1, 1], [1, 1, 1, 1]]))

    def test_deterministic(self, votes6):
        L, _ = votes6
        runs = []
        for _ in range(2):
            crit = FlyingSquidLoss(6, buffer_capacity=300, update_frequency=64)
            runs.append([crit(torch.linspace(-1, 1, 64), torch.as_tensor(v)) for v in batches(L, [64] * 8)])
        assert all(torch.equal(a, b) for a, b in zip(*runs))

    def test_numpy_votes(self, votes6):
        L, _ = votes6
        a = FlyingSquidLoss(6)(torch.zeros(32), L[:32])
        b = FlyingSquidLoss(6)(torch.zeros(32), torch.as_tensor(L[:32]))
        assert torch.equal(a, b)


# ---------------------------------------------------------------------------
# bad input: a clear error and an untouched state
# ---------------------------------------------------------------------------
class TestBadInput:
    @pytest.fixture
    def warm(self, votes6):
        L, _ = votes6
        crit = FlyingSquidLoss(6, buffer_capacity=100, update_frequency=10)
        crit(torch.zeros(50), torch.as_tensor(L[:50]))
        return crit

    def state(self, crit):
        return {k: v.clone() for k, v in crit.state_dict().items()}

    @pytest.mark.parametrize(
        "logits,votes,error,match",
        [
            (torch.zeros(4), torch.zeros(4, 5, dtype=torch.long), ValueError, r"shape \(n, m=6\).*got shape \(4, 5\)"),
            (torch.zeros(4), torch.zeros(6, dtype=torch.long), ValueError, r"reshape\(1, -1\)"),
            (torch.zeros(3), torch.zeros(4, 6, dtype=torch.long), ValueError, r"shape \(4,\) or \(4, 1\).*got shape \(3,\)"),
            (torch.zeros(4, 2), torch.zeros(4, 6, dtype=torch.long), ValueError, r"v=1 task"),
            (torch.zeros(2), torch.tensor([[1, 0, 2, 0, 0, 1], [0] * 6]), ValueError, r"\{-1, 0, \+1\}.*got 2"),
            (torch.zeros(2), torch.tensor([[1, 0, -2, 0, 0, 1], [0] * 6]), ValueError, r"got -2"),
            (torch.zeros(2), torch.tensor([[1.5, 0, 1, 0, 0, 1], [0] * 6]), ValueError, r"non-integer"),
            (torch.tensor([0.0, float("nan")]), torch.zeros(2, 6, dtype=torch.long), ValueError, r"NaN or infinite"),
            (torch.tensor([0.0, float("inf")]), torch.zeros(2, 6, dtype=torch.long), ValueError, r"NaN or infinite"),
            (torch.zeros(2, dtype=torch.long), torch.zeros(2, 6, dtype=torch.long), TypeError, r"floating-point"),
            (torch.zeros(2), torch.zeros(2, 6, dtype=torch.long, device="meta"), ValueError, r"weak_labels is on meta"),
            (torch.zeros(2, device="meta"), torch.zeros(2, 6, dtype=torch.long), ValueError, r"predictions is on meta"),
        ],
    )
    def test_clear_error_and_state_untouched(self, warm, logits, votes, error, match):
        before = self.state(warm)
        with pytest.raises(error, match=match):
            warm(logits, votes)
        after = warm.state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before)

    def test_bad_update_frequency_in_call(self, warm):
        before = self.state(warm)
        with pytest.raises(ValueError, match="update_frequency must be an int >= 1, got 0"):
            warm(torch.zeros(3), torch.zeros(3, 6, dtype=torch.long), update_frequency=0)
        assert all(torch.equal(before[k], v) for k, v in warm.state_dict().items())

    def test_per_item_weight_shape(self, warm):
        with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
            warm(torch.zeros(3), torch.zeros(3, 6, dtype=torch.long), weight=torch.ones(4))

    def test_empty_batch(self, warm):
        before = self.state(warm)
        x = torch.zeros(0, requires_grad=True)
        loss = warm(x, torch.zeros(0, 6, dtype=torch.long))
        assert loss.item() == 0.0
        loss.backward()
        assert all(torch.equal(before[k], v) for k, v in warm.state_dict().items())
        assert FlyingSquidLoss(6, reduction="none")(torch.zeros(0), torch.zeros(0, 6)).shape == (0,)

    def test_empty_batch_before_any_fit(self):
        crit = FlyingSquidLoss(3)
        assert crit(torch.zeros(0), torch.zeros(0, 3, dtype=torch.long)).item() == 0.0
        assert not crit.fitted

    def test_too_few_lfs(self):
        with pytest.raises(ValueError, match="at least 3 labeling functions"):
            FlyingSquidLoss(2)

    def test_bad_class_balance(self):
        with pytest.raises(ValueError, match="2\\*\\*v = 2 entries"):
            FlyingSquidLoss(3, cb=[0.2, 0.3, 0.5])
        with pytest.raises(ValueError, match="Y_dev must hold FlyingSquid labels"):
            FlyingSquidLoss(3, Y_dev=[0, 1, 1])

    def test_predict_before_fit(self):
        with pytest.raises(RuntimeError, match="call it on a batch first"):
            FlyingSquidLoss(3).predict_proba(np.zeros((2, 3)))

    def test_never_nan_on_degenerate_votes(self):
        crit = FlyingSquidLoss(4, buffer_capacity=20, update_frequency=1)
        cases = [np.zeros((5, 4)), np.ones((5, 4)), -np.ones((5, 4)), np.array([[1, -1, 1, -1]] * 5)]
        for votes in cases:
            loss = crit(torch.zeros(5), torch.as_tensor(votes, dtype=torch.long))
            assert math.isfinite(loss.item())
            assert torch.isfinite(crit.last_targets).all()


# ---------------------------------------------------------------------------
# checkpoints and devices
# ---------------------------------------------------------------------------
class TestCheckpoint:
    @staticmethod
    def train(L, steps, resume_at=None, seed=0):
        torch.manual_seed(seed)
        X = torch.as_tensor(L, dtype=torch.float32) + 0.1 * torch.randn(len(L), L.shape[1])

        def fresh():
            model = torch.nn.Sequential(torch.nn.Linear(L.shape[1], 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
            crit = FlyingSquidLoss(L.shape[1], buffer_capacity=150, update_frequency=48)
            return model, torch.optim.Adam(model.parameters(), lr=0.01), crit

        model, opt, crit = fresh()
        losses = []
        for step in range(steps):
            if step == resume_at:
                blob = io.BytesIO()
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "loss": crit.state_dict(),
                            "rng": torch.get_rng_state()}, blob)
                blob.seek(0)
                saved = torch.load(blob, weights_only=True)
                model, opt, crit = fresh()
                model.load_state_dict(saved["model"])
                opt.load_state_dict(saved["opt"])
                crit.load_state_dict(saved["loss"])
                torch.set_rng_state(saved["rng"])
            idx = torch.randperm(len(L))[:32]
            opt.zero_grad()
            loss = crit(model(X[idx])[:, 0], torch.as_tensor(L)[idx])
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        return losses

    def test_save_and_reload_midway_gives_same_losses(self, votes6):
        L, _ = votes6
        straight = self.train(L[:600], 12)
        resumed = self.train(L[:600], 12, resume_at=7)
        assert all(torch.equal(a, b) for a, b in zip(straight, resumed))

    def test_state_dict_contents(self, votes6):
        L, _ = votes6
        crit = FlyingSquidLoss(6, lf_deps=[(0, 1)], pos_weight=2.0)
        keys = set(crit.state_dict())
        assert {"vote_codes", "buffer_size", "buffer_index", "items_seen", "refits",
                "stats_n_items", "stats_co_votes", "model_stats_n_items", "model_stats_co_votes", "pos_weight"} <= keys
        assert any(k.startswith("stats_group_") for k in keys) and any(k.startswith("model_stats_group_") for k in keys)
        assert "class_balance" not in keys and "weight" not in keys  # None buffers stay out

    def test_load_rebuilds_model(self, votes6):
        L, _ = votes6
        a = FlyingSquidLoss(6, buffer_capacity=200)
        a(torch.zeros(100), torch.as_tensor(L[:100]))
        b = FlyingSquidLoss(6, buffer_capacity=200)
        b.load_state_dict(a.state_dict())
        assert b.fitted and int(b.items_seen) == 100
        torch.testing.assert_close(b.predict_proba(L[100:150]), a.predict_proba(L[100:150]), rtol=0, atol=0)

    def test_to_device_keeps_state(self, votes6):
        L, _ = votes6
        crit = FlyingSquidLoss(6)
        crit(torch.zeros(30), torch.as_tensor(L[:30]))
        before = crit.predict_proba(L[30:40])
        crit.to("cpu")
        torch.testing.assert_close(crit.predict_proba(L[30:40]), before)

    def test_refit_makes_no_host_reads(self, votes6):
        """A refit reads only statistics, on their device: on the meta device,
        where any read of a value back to the host raises, it still runs."""
        L, _ = votes6
        crit = FlyingSquidLoss(6, buffer_capacity=100)
        crit(torch.zeros(100), torch.as_tensor(L[:100]))
        crit.to("meta")
        crit.refit()
        assert crit.label_model.class_balance_.device.type == "meta"
        assert crit._targets(torch.zeros(3, 6, dtype=torch.long, device="meta")).shape == (3, 1)

    def test_refit_with_class_balance_makes_no_host_reads(self, votes6):
        L, _ = votes6
        crit = FlyingSquidLoss(6, buffer_capacity=100, cb=[0.4, 0.6])
        crit(torch.zeros(100), torch.as_tensor(L[:100]))
        crit.to("meta")
        crit.refit()

    @cuda
    def test_cuda_matches_cpu(self, votes6):
        L, _ = votes6
        cpu = FlyingSquidLoss(6, buffer_capacity=200, update_frequency=64)
        gpu = FlyingSquidLoss(6, buffer_capacity=200, update_frequency=64, device="cuda")
        assert all(b.is_cuda for b in gpu.buffers())
        for votes in batches(L, [64] * 6):
            a = cpu(torch.linspace(-1, 1, 64), torch.as_tensor(votes))
            b = gpu(torch.linspace(-1, 1, 64, device="cuda"), torch.as_tensor(votes, device="cuda"))
            torch.testing.assert_close(b.cpu(), a, rtol=1e-5, atol=1e-6)
        assert gpu.statistics.equal(cpu.statistics)
        assert gpu.label_model.class_balance_.is_cuda

    @cuda
    def test_cuda_votes_on_cpu_raise(self):
        crit = FlyingSquidLoss(3, device="cuda")
        with pytest.raises(ValueError, match="weak_labels is on cpu"):
            crit(torch.zeros(2, device="cuda"), torch.zeros(2, 3, dtype=torch.long))

    @cuda
    def test_cuda_round_trip_of_state(self, votes6):
        L, _ = votes6
        crit = FlyingSquidLoss(6)
        crit(torch.zeros(30), torch.as_tensor(L[:30]))
        before = crit.predict_proba(L[30:40])
        crit.cuda()
        after = crit.predict_proba(torch.as_tensor(L[30:40], device="cuda"))
        torch.testing.assert_close(after.cpu(), before)


# ---------------------------------------------------------------------------
# MajorityVoteLoss
# ---------------------------------------------------------------------------
class TestMajorityVote:
    def test_targets_and_loss(self):
        votes = torch.tensor([[1, 1, -1], [-1, -1, 0], [1, -1, 0], [0, 0, 0]])
        x = torch.tensor([0.5, -0.5, 1.0, 2.0])
        q = torch.tensor([1.0, 0.0, 0.5, 0.5])
        torch.testing.assert_close(MajorityVoteLoss()(x, votes), F.binary_cross_entropy_with_logits(x, q))
        ignore = MajorityVoteLoss(uncovered="ignore", reduction="none")(x, votes)
        assert ignore[3] == 0

    def test_upstream_arguments(self):
        loss = MajorityVoteLoss("cpu", torch.tensor(3.0))(torch.zeros(2, 1), torch.tensor([[1, 1, 0], [1, -1, -1]]), 10)
        assert math.isfinite(loss.item())

    def test_bad_input(self):
        with pytest.raises(ValueError, match="NaN or infinite"):
            MajorityVoteLoss()(torch.tensor([float("nan")]), torch.tensor([[1, 1, 1]]))
        with pytest.raises(ValueError, match=r"shape \(2,\)"):
            MajorityVoteLoss()(torch.zeros(3), torch.tensor([[1, 1, 1], [1, 1, 1]]))
        with pytest.raises(ValueError, match="reduction must be one of"):
            MajorityVoteLoss(reduction="batchmean")


# ---------------------------------------------------------------------------
# FSCrossEntropyLoss (many classes, Snorkel votes)
# ---------------------------------------------------------------------------
class CountingModel:
    """A tiny stand-in with the label-model interface: scores from vote counts."""

    groups = []

    def __init__(self, cardinality):
        self.k = cardinality

    def accumulate(self, L):
        return accumulate(torch.as_tensor(np.asarray(L), dtype=torch.int64), self.k)

    def fit(self, L, class_balance=None):
        return self.fit_statistics(self.accumulate(L))

    def fit_statistics(self, stats, class_balance=None):
        counts = stats.vote_counts().to(torch.float64)  # (m, k)
        self.table_ = torch.log1p(counts) - torch.log1p(counts.sum(1, keepdim=True))
        return self

    def log_scores(self, codes):
        onehot = (codes.unsqueeze(-1) == torch.arange(self.k, device=codes.device)).to(torch.float64)
        return torch.einsum("nmk,mk->nk", onehot, self.table_.to(codes.device))


def multiclass_votes(n=900, m=5, k=4, seed=0, coverage=0.7):
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, k, n)
    acc = rng.uniform(0.55, 0.85, m)
    right = rng.random((n, m)) < acc
    wrong = (Y[:, None] + rng.integers(1, k, (n, m))) % k
    L = np.where(right, Y[:, None], wrong)
    return np.where(rng.random((n, m)) < coverage, L, -1).astype(np.int64), Y


class TestCrossEntropy:
    def test_reference_with_stand_in_model(self):
        L, _ = multiclass_votes()
        crit = CrossEntropyLoss(5, 4, buffer_capacity=200, update_frequency=50, label_model=CountingModel(4),
                                  reduction="none")

        def predict(model, votes):
            return torch.softmax(model.log_scores(torch.as_tensor(votes)), 1)

        ref = ReferenceOnline(lambda: CountingModel(4), 200, 50, predict)
        for votes in batches(L, [64, 64, 300, 10, 0, 64]):
            n = len(votes)
            x = torch.randn(n, 4, generator=torch.Generator().manual_seed(n))
            out = crit(x, torch.as_tensor(votes))
            if n == 0:
                assert out.shape == (0,)
                continue
            want = ref.step(votes)
            torch.testing.assert_close(crit.last_targets, want, rtol=0, atol=1e-12)
            torch.testing.assert_close(out, F.cross_entropy(x, want.float(), reduction="none"))
            assert crit.statistics.equal(accumulate(torch.as_tensor(np.array(ref.buffer)), 4))

    def test_conventions_and_errors(self):
        crit = CrossEntropyLoss(5, 4, label_model=CountingModel(4), weight=[1.0, 2.0, 1.0, 1.0])
        L, _ = multiclass_votes(n=40)
        x = torch.zeros(40, 4, requires_grad=True)
        crit(x, torch.as_tensor(L)).backward()
        assert x.grad is not None and not crit.last_targets.requires_grad
        with pytest.raises(ValueError, match="cardinality is 4"):
            crit(torch.zeros(2, 4), torch.tensor([[0, 1, 4, -1, 0], [0] * 5]))
        with pytest.raises(ValueError, match=r"shape \(2, 4\)"):
            crit(torch.zeros(2, 3), torch.zeros(2, 5, dtype=torch.long))
        with pytest.raises(ValueError, match="reduction must be one of"):
            CrossEntropyLoss(5, 4, label_model=CountingModel(4), reduction="avg")
        with pytest.raises(ValueError, match="num_classes must be an int >= 2"):
            CrossEntropyLoss(5, 1, label_model=CountingModel(1))

    def test_clamp_and_ignore(self):
        L, _ = multiclass_votes(n=60)
        L[:3] = -1
        crit = CrossEntropyLoss(5, 4, label_model=CountingModel(4), clamp_vals=True, uncovered="ignore",
                                  reduction="none")
        out = crit(torch.zeros(60, 4), torch.as_tensor(L))
        assert torch.equal(out[:3], torch.zeros(3))
        assert torch.equal(crit.last_targets.sum(1), torch.ones(60, dtype=torch.float64))
        assert set(crit.last_targets.unique().tolist()) == {0.0, 1.0}

    def test_checkpoint(self):
        L, _ = multiclass_votes(n=300)
        a = CrossEntropyLoss(5, 4, label_model=CountingModel(4), buffer_capacity=100, update_frequency=40)
        b = CrossEntropyLoss(5, 4, label_model=CountingModel(4), buffer_capacity=100, update_frequency=40)
        for votes in batches(L, [30] * 5):
            a(torch.zeros(30, 4), torch.as_tensor(votes))
        b.load_state_dict(a.state_dict())
        for votes in batches(L[150:], [30] * 5):
            x = torch.randn(30, 4, generator=torch.Generator().manual_seed(1))
            assert torch.equal(a(x, torch.as_tensor(votes)), b(x, torch.as_tensor(votes)))

    def test_fsloss_with_another_label_model(self, votes6):
        multiclass = pytest.importorskip("weaksup.multiclass")
        L, _ = votes6
        fs = FlyingSquidLoss(6, label_model=multiclass.MulticlassLabelModel(2), buffer_capacity=300, update_frequency=150,
                    cb=[0.4, 0.6])
        codes = np.where(L == 0, -1, (L + 1) // 2)  # the same items in Snorkel's convention
        # cold refits on both sides (the default model's warm start is the loss's, not the model's)
        ce = CrossEntropyLoss(6, 2, class_balance=[0.4, 0.6], buffer_capacity=300, update_frequency=150,
                              warm_start=False)
        for votes, snorkel in zip(batches(L, [150, 100]), batches(codes, [150, 100])):
            fs(torch.zeros(len(votes)), torch.as_tensor(votes))
            ce(torch.zeros(len(votes), 2), torch.as_tensor(snorkel))
            torch.testing.assert_close(fs.last_targets[:, 0], ce.last_targets[:, 1], rtol=0, atol=1e-12)
        assert fs.statistics.equal(ce.statistics)
        with pytest.raises(ValueError, match="2\\*\\*v = 4"):
            FlyingSquidLoss(6, v=2, task_deps=[(0, 1)], lf_task_deps=[(i, i % 2) for i in range(6)],
                   label_model=multiclass.MulticlassLabelModel(2))(torch.zeros(100, 2), torch.as_tensor(L[:100]))

    def test_with_multiclass_label_model(self):
        multiclass = pytest.importorskip("weaksup.multiclass")
        L, _ = multiclass_votes(n=600)
        # the reference refits a fresh model each time: cold refits (the default warm-starts them)
        crit = CrossEntropyLoss(5, 4, buffer_capacity=300, update_frequency=200, warm_start=False)
        assert isinstance(crit.label_model, multiclass.MulticlassLabelModel)

        def predict(model, votes):
            return torch.softmax(model.log_scores(torch.as_tensor(votes)).to(torch.float64), 1)

        ref = ReferenceOnline(lambda: _FitWrapper(multiclass.MulticlassLabelModel(cardinality=4)), 300, 200, predict)
        for votes in batches(L, [100] * 4):  # refits in batches 0 and 2
            crit(torch.zeros(100, 4), torch.as_tensor(votes))
            want = ref.step(votes)
            torch.testing.assert_close(crit.last_targets, want, rtol=1e-9, atol=1e-9)


class _FitWrapper:
    """Fit a model through its statistics interface (``accumulate`` + ``fit_statistics``)."""

    def __init__(self, model):
        self.model = model

    def fit(self, L, class_balance=None):
        self.model.fit_statistics(self.model.accumulate(L), class_balance=class_balance)
        return self

    def log_scores(self, codes):
        return self.model.log_scores(codes)
