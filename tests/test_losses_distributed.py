"""FSLoss under torch.distributed: two gloo processes on 127.0.0.1 against one
process that sees the same items."""

import socket

import pytest
import torch
import torch.multiprocessing as mp

from conftest import synthetic_votes
from weaksup.nn import FSLoss

M, B, C, UF, STEPS, WORLD = 6, 24, 72, 36, 8, 2


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
        crit = FSLoss(M, lf_deps=[(0, 1)], buffer_capacity=C, update_frequency=UF)
        losses, targets, refits = [], [], []
        for step in range(STEPS):
            sl = rank_slice(step, rank)
            losses.append(crit(logits[sl], L[sl]).detach())
            targets.append(crit.last_targets.clone())
            refits.append(int(crit.refits))
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
            },
            f"{out_dir}/rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    out = tmp_path_factory.mktemp("ddp")
    ctx = mp.get_context("spawn")
    port = free_port()
    procs = [ctx.Process(target=worker, args=(r, port, str(out))) for r in range(WORLD)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=180)
    for p in procs:
        if p.is_alive():
            p.kill()
            pytest.fail("a distributed worker hung")
        assert p.exitcode == 0, f"a distributed worker failed with exit code {p.exitcode}"
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]


@pytest.fixture(scope="module")
def single():
    """One process, one loss, the union of the ranks' items: per-rank capacity
    and refit interval scale with the world size."""
    L, logits = data()
    crit = FSLoss(M, lf_deps=[(0, 1)], buffer_capacity=WORLD * C, update_frequency=WORLD * UF, reduction="none")
    out = {"losses": [], "targets": [], "refits": []}
    for step in range(STEPS):
        sl = slice(step * WORLD * B, (step + 1) * WORLD * B)
        out["losses"].append(crit(logits[sl], L[sl]).detach())
        out["targets"].append(crit.last_targets.clone())
        out["refits"].append(int(crit.refits))
    out["stats"] = crit.statistics.tensors()
    return out


def test_every_rank_fits_the_single_process_model(ranks, single):
    for step in range(STEPS):
        for r in range(WORLD):
            torch.testing.assert_close(
                ranks[r]["targets"][step], single["targets"][step][r * B : (r + 1) * B], rtol=0, atol=1e-12
            )
    assert ranks[0]["refits"] == ranks[1]["refits"] == single["refits"]


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
    crit = FSLoss(M, buffer_capacity=C, distributed=False)
    crit(logits[:B], L[:B])
    assert crit.synced_statistics().equal(crit.statistics)
    with pytest.raises(RuntimeError, match="not initialised"):
        FSLoss(M, distributed=True)(logits[:B], L[:B])
