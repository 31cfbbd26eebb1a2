"""FSLoss under torch.distributed: two gloo processes on 127.0.0.1 against one
process that sees the same items."""

import socket

import pytest
import torch
import torch.multiprocessing as mp

from conftest import synthetic_votes
from weaksup.nn import FSLoss

M, B, C, UF, STEPS, WORLD = 6, 24, 72, 36, 8, 2
# FlyingSquid's loss: the rank-averaged loss equals the single-process mean only when every item counts
FS_EXACT = dict(solve_method="triplet_mean", estimate_balance=False, uncovered="keep")


def data():
    L, _ = synthetic_votes(n=WORLD * B * STEPS, m=M, seed=21)
    logits = torch.linspace(-2, 2, len(L))
    # step s, rank r gets rows [(s * WORLD + r) * B, ... + B)
    return torch.as_tensor(L), logits


def rank_slice(step, rank):
    start = (step * WORLD + rank) * B
    return slice(start, start + B)


def worker(rank, port, out_dir):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD)
    try:
        L, logits = data()
        crit = FSLoss(M, lf_deps=[(0, 1)], buffer_capacity=C, update_frequency=UF, **FS_EXACT)
        default = FSLoss(M, buffer_capacity=C, update_frequency=UF)  # pairwise EM, warm-started refits
        losses, targets, refits, default_targets = [], [], [], []
        for step in range(STEPS):
            sl = rank_slice(step, rank)
            losses.append(crit(logits[sl], L[sl]).detach())
            targets.append(crit.last_targets.clone())
            refits.append(int(crit.refits))
            default(logits[sl], L[sl])
            default_targets.append(default.last_targets.clone())
        first = crit.synced_statistics()
        second = crit.synced_statistics()
        torch.save(
            {
                "losses": torch.stack(losses),
                "targets": targets,
                "refits": refits,
                "local": crit.statistics.tensors(),
                "synced": first.tensors(),
                "synced_again": second.tensors(),
                "buffer": crit.buffer_votes(),
                "default_targets": default_targets,
                "default_init": default.model_init.clone(),
                "default_init_set": int(default.model_init_set),
            },
            f"{out_dir}/rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_workers(target, out, timeout, what):
    """Start WORLD spawned ranks of ``target(rank, port, out)`` on 127.0.0.1 and wait;
    a rank still alive after ``timeout`` seconds fails the test (``what`` says when)."""
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    ctx = mp.get_context("spawn")
    port = free_port()
    procs = [ctx.Process(target=target, args=(r, port, str(out))) for r in range(WORLD)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=timeout)
    for p in procs:
        if p.is_alive():
            p.kill()
            pytest.fail(f"a distributed worker hung{what}")
        assert p.exitcode == 0, f"a distributed worker failed with exit code {p.exitcode}"


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    run_workers(worker, out, 180, "")
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]


@pytest.fixture(scope="module")
def single():
    """One process, one loss, the union of the ranks' items: per-rank capacity
    and refit interval scale with the world size."""
    L, logits = data()
    crit = FSLoss(M, lf_deps=[(0, 1)], buffer_capacity=WORLD * C, update_frequency=WORLD * UF, reduction="none",
                  **FS_EXACT)
    out = {"losses": [], "targets": [], "refits": []}
    for step in range(STEPS):
        sl = slice(step * WORLD * B, (step + 1) * WORLD * B)
        out["losses"].append(crit(logits[sl], L[sl]).detach())
        out["targets"].append(crit.last_targets.clone())
        out["refits"].append(int(crit.refits))
    out["stats"] = crit.statistics.tensors()
    default = FSLoss(M, buffer_capacity=WORLD * C, update_frequency=WORLD * UF)
    out["default_targets"] = []
    for step in range(STEPS):
        sl = slice(step * WORLD * B, (step + 1) * WORLD * B)
        default(logits[sl], L[sl])
        out["default_targets"].append(default.last_targets.clone())
    out["default_init"] = default.model_init.clone()
    return out


def test_every_rank_fits_the_single_process_model(ranks, single):
    for step in range(STEPS):
        for r in range(WORLD):
            torch.testing.assert_close(
                ranks[r]["targets"][step], single["targets"][step][r * B : (r + 1) * B], rtol=0, atol=1e-12
            )
    assert ranks[0]["refits"] == ranks[1]["refits"] == single["refits"]


def test_warm_started_default_model_is_the_same_on_every_rank(ranks, single):
    """FSLoss's default (pairwise EM, warm-started refits): every rank refits
    from the same synced statistics and the same start, as one process does."""
    assert ranks[0]["default_init_set"] == ranks[1]["default_init_set"] == 1
    for r in range(WORLD):
        assert torch.equal(ranks[r]["default_init"], single["default_init"])
        for step in range(STEPS):
            torch.testing.assert_close(
                ranks[r]["default_targets"][step], single["default_targets"][step][r * B : (r + 1) * B],
                rtol=0, atol=1e-12,
            )


def test_losses_average_to_the_single_process_loss(ranks, single):
    mean_of_ranks = (ranks[0]["losses"] + ranks[1]["losses"]) / WORLD
    torch.testing.assert_close(mean_of_ranks, torch.stack([x.mean() for x in single["losses"]]))


def test_synced_statistics_are_the_union_and_never_double_count(ranks, single):
    for r in range(WORLD):
        for key, t in single["stats"].items():
            assert torch.equal(ranks[r]["synced"][key], t)
            assert torch.equal(ranks[r]["synced_again"][key], t)  # a second sync adds nothing
    # each rank's local statistics hold its own items only
    for key in single["stats"]:
        assert torch.equal(ranks[0]["local"][key] + ranks[1]["local"][key], single["stats"][key])
    assert int(ranks[0]["local"]["n_items"]) == C and ranks[0]["buffer"].shape == (C, M)


def test_without_process_group_sync_is_local():
    L, logits = data()
    crit = FSLoss(M, buffer_capacity=C, distributed=False, **FS_EXACT)
    crit(logits[:B], L[:B])
    assert crit.synced_statistics().equal(crit.statistics)
    with pytest.raises(RuntimeError, match="not initialised"):
        FSLoss(M, distributed=True)(logits[:B], L[:B])


# ---------------------------------------------------------------------------
# D11: a bad or empty batch on one rank raises on every rank, nothing out of step
# ---------------------------------------------------------------------------
FAULT_STEP = 3
FAULTS = ("bad_vote", "nan_logit", "empty", "bad_weight")


def faulty_batch(kind, logits, votes):
    if kind == "bad_vote":
        votes = votes.clone()
        votes[0, 0] = 5
    elif kind == "nan_logit":
        logits = logits.clone()
        logits[0] = float("nan")
    elif kind == "empty":
        logits, votes = logits[:0], votes[:0]
    return logits, votes


def fault_worker(rank, port, out_dir):
    import datetime
    import time

    import torch.distributed as dist

    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD,
        timeout=datetime.timedelta(seconds=60),
    )
    try:
        L, logits = data()
        out = {}
        for kind in FAULTS:
            crit = FSLoss(M, buffer_capacity=C, update_frequency=UF, **FS_EXACT)
            errors, targets = [], []
            for step in range(STEPS):
                sl = rank_slice(step, rank)
                x, votes, weight = logits[sl], L[sl], None
                if step == FAULT_STEP and rank == 1:
                    if kind == "bad_weight":
                        weight = torch.full((B,), float("inf"))
                    else:
                        x, votes = faulty_batch(kind, x, votes)
                start = time.monotonic()
                try:
                    crit(x, votes, weight=weight)
                except (ValueError, RuntimeError) as err:
                    errors.append((step, type(err).__name__, str(err), time.monotonic() - start))
                    continue
                targets.append(crit.last_targets.clone())
            out[kind] = {"errors": errors, "targets": targets, "synced": crit.synced_statistics().tensors(),
                         "refits": int(crit.refits), "seen": int(crit.items_seen)}
        torch.save(out, f"{out_dir}/fault{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp_faults")
    run_workers(fault_worker, out, 240, " after a bad batch")
    return [torch.load(out / f"fault{r}.pt", weights_only=False) for r in range(WORLD)]


@pytest.mark.parametrize("kind", FAULTS)
def test_bad_batch_on_one_rank_raises_on_every_rank(faults, kind):
    for rank in range(WORLD):
        errors = faults[rank][kind]["errors"]
        assert [e[0] for e in errors] == [FAULT_STEP], errors  # that step only, on every rank
        assert errors[0][3] < 10.0  # within seconds, not the process group's timeout
    bad, good = faults[1][kind]["errors"][0], faults[0][kind]["errors"][0]
    if kind == "empty":
        assert bad[1] == good[1] == "ValueError" and "differ in size" in good[2]
    else:
        assert bad[1] == "ValueError" and good[1] == "RuntimeError" and "rank(s) [1] rejected" in good[2]


@pytest.mark.parametrize("kind", FAULTS)
def test_nothing_is_summed_out_of_step(faults, kind):
    """After the rejected step every rank trains on in step: the same as one
    process that never saw that step's items."""
    L, logits = data()
    crit = FSLoss(M, buffer_capacity=WORLD * C, update_frequency=WORLD * UF, **FS_EXACT)
    want = []
    for step in range(STEPS):
        if step == FAULT_STEP:
            continue
        sl = slice(step * WORLD * B, (step + 1) * WORLD * B)
        crit(logits[sl], L[sl])
        want.append(crit.last_targets.clone())
    for rank in range(WORLD):
        got = faults[rank][kind]
        assert got["seen"] == (STEPS - 1) * B
        for key, t in crit.statistics.tensors().items():
            assert torch.equal(got["synced"][key], t)
        for step, targets in enumerate(got["targets"]):
            torch.testing.assert_close(targets, want[step][rank * B : (rank + 1) * B], rtol=0, atol=1e-12)
