"""The online losses inside a training step: overhead, operators, host syncs, refit cost.

Targets (issue 12), m = 10 LFs, batch 256, buffer 10,000, refit every step
(``update_frequency = 256``), one thread, FSLoss as FlyingSquid's
(``solve_method='triplet_mean'``, uniform balance, uncovered items kept: the
loss the targets were set on; a row also times FSLoss with its defaults):

1. ``FSLoss`` forward + backward costs at most 0.15 ms more than
   ``BCEWithLogitsLoss`` forward + backward on the same logits;
2. at most 100 aten operators per ``FSLoss`` step (forward + backward),
   counted with ``torch.profiler``;
3. no host synchronisation in the steady state on CUDA
   (``torch.cuda.set_sync_debug_mode("error")`` raises nothing after warm-up;
   the votes come from the host, as a DataLoader gives them). Without CUDA
   the row reports the CPU stand-in: the same step on the ``meta`` device,
   where any read of a device value raises;
4. ``FSCrossEntropyLoss`` with m = 73 LFs, k = 2 and its default model:
   one refit at most 1 ms;
5. a whole training step of a 300-256-1 MLP (forward, loss, backward, Adam)
   under ``FSLoss`` at most 1.25x the same step under ``BCEWithLogitsLoss``.

Both losses start from a full buffer (the steady state: every step adds 256
items, pushes 256 out and refits). Timed loops interleave the contenders in
rounds so that a change in machine load hits all of them; medians are
reported, with the machine's load average beside them. Time is the process's
CPU time on the CPU (``--clock cpu``, default: other work on a shared machine
does not count) and wall time with CUDA synchronisation on a GPU.

Usage::

    python benchmarks/bench_fsloss.py                 # CPU, the table
    python benchmarks/bench_fsloss.py --upstream      # + upstream FlyingSquid's FSLoss
    python benchmarks/bench_fsloss.py --device cuda   # GPU: + a ResNet-18-sized step
    python benchmarks/bench_fsloss.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from weaksup.nn import FSCrossEntropyLoss, FSLoss  # noqa: E402


def synthetic(n: int, m: int, d: int, seed: int = 0):
    """Votes (-1/0/+1) of m conditionally independent LFs, gold labels, features."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.5, 1, -1)
    acc = rng.uniform(0.6, 0.9, m)
    right = rng.random((n, m)) < acc
    votes = np.where(right, y[:, None], -y[:, None]) * (rng.random((n, m)) < 0.7)
    centers = rng.normal(size=(2, d))
    X = centers[(y + 1) // 2] + rng.normal(scale=3.0, size=(n, d))
    return (
        torch.as_tensor(votes, dtype=torch.int64),
        torch.as_tensor((y + 1) // 2, dtype=torch.float32),
        torch.as_tensor(X, dtype=torch.float32),
    )


def load() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"load {one:.2f}/{five:.2f} (1/5 min) on {os.cpu_count()} CPUs"
    except OSError:
        return f"{os.cpu_count()} CPUs"


class Clock:
    def __init__(self, kind: str, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.read = time.process_time if kind == "cpu" and not self.cuda else time.perf_counter

    def __call__(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
        return self.read()


# FlyingSquid's loss (the triplet mean, uniform balance, uncovered items kept): the one the targets were set on
FLYINGSQUID = dict(solve_method="triplet_mean", estimate_balance=False, uncovered="keep")


def full_loss(L: torch.Tensor, args, device, **options) -> FSLoss:
    options = {**FLYINGSQUID, **options}
    loss = FSLoss(args.m, buffer_capacity=args.buffer, update_frequency=args.batch, device=device, **options)
    loss(torch.zeros(args.buffer, device=device), L[: args.buffer])  # fill the buffer: one batch, one refit
    return loss


def loss_overhead(args, device) -> dict:
    """Targets 1 and 2: forward + backward of the losses alone on the same logits."""
    L, Y, _ = synthetic(args.buffer + 64 * args.batch, args.m, 1)
    fs = full_loss(L, args, device)
    bce = torch.nn.BCEWithLogitsLoss()
    n_batches = (len(L) - args.buffer) // args.batch
    logits = torch.randn(args.batch, device=device, requires_grad=True)
    gold = Y[: args.batch].to(device)

    def batch(i):
        start = args.buffer + (i % n_batches) * args.batch
        return L[start : start + args.batch]  # host votes, as a DataLoader yields them

    def step_fs(i):
        fs(logits, batch(i)).backward()

    def step_bce(i):
        bce(logits, gold).backward()

    clock = Clock(args.clock, device)
    for i in range(30):
        step_fs(i)
        step_bce(i)
    times = {"bce": [], "fsloss": []}
    i = 0
    for _ in range(args.rounds):
        for name, fn in (("bce", step_bce), ("fsloss", step_fs)):
            start = clock()
            for _ in range(args.steps):
                fn(i)
                i += 1
            times[name].append((clock() - start) / args.steps * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}

    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        step_fs(i + 1)
    events = [e for e in prof.events() if e.name.startswith("aten::")]
    top = [e for e in events if e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")]
    with profile(activities=activities) as prof:
        step_bce(i + 2)
    bce_top = [e for e in prof.events() if e.name.startswith("aten::")
               and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::"))]
    default = full_loss(L, args, device, solve_method=None, estimate_balance=None, uncovered="ignore")
    start = clock()
    for j in range(args.steps):
        default(logits, batch(j)).backward()
    default_ms = (clock() - start) / args.steps * 1e3
    return {
        "default_fsloss_ms": default_ms,
        "bce_ms": med["bce"], "fsloss_ms": med["fsloss"], "overhead_ms": med["fsloss"] - med["bce"],
        "aten_ops": len(events), "aten_ops_top_level": len(top), "bce_aten_ops_top_level": len(bce_top),
        "sync_check": sync_check(fs, logits, batch, device),
    }


def sync_check(fs: FSLoss, logits, batch, device) -> str:
    """Target 3: steady-state steps under ``set_sync_debug_mode('error')`` on
    CUDA; on the CPU, the same steps with the loss on the meta device."""
    if device.type == "cuda":
        torch.cuda.set_sync_debug_mode("error")
        try:
            for i in range(20):
                fs(logits, batch(i)).backward()
            result = "0 syncs in 20 steps"
        except RuntimeError as err:
            result = f"sync: {str(err).splitlines()[0][:80]}"
        finally:
            torch.cuda.set_sync_debug_mode(0)
        return result
    meta = FSLoss(fs.m, buffer_capacity=fs.buffer_capacity, update_frequency=fs.update_frequency, **FLYINGSQUID)
    meta.load_state_dict(fs.state_dict())
    meta.to("meta")
    x = torch.zeros(logits.shape, device="meta", requires_grad=True)
    try:
        for i in range(5):
            meta(x, batch(i)).backward()
        return "meta: 0 host reads in 5 steps"
    except (RuntimeError, NotImplementedError) as err:
        return f"meta: host read: {str(err).splitlines()[0][:80]}"


def refit_multiclass(args, device, **options) -> dict:
    """Target 4: one refit of FSCrossEntropyLoss(73, 2) with its default model
    (warm-started refits, the default; ``warm_start=False``: every refit from scratch;
    the buffer moves between refits)."""
    rng = np.random.default_rng(1)
    m, n = 73, 2000
    y = rng.integers(0, 2, n)
    right = rng.random((n, m)) < rng.uniform(0.6, 0.9, m)
    votes = np.where(right, y[:, None], 1 - y[:, None])
    votes = np.where(rng.random((n, m)) < 0.3, votes, -1)
    loss = FSCrossEntropyLoss(m, 2, buffer_capacity=n - 640, update_frequency=64, device=device, **options)
    loss(torch.zeros(n - 640, 2, device=device), votes[: n - 640])
    clock = Clock(args.clock, device)
    times = []
    for i in range(10):  # each batch of 64 moves the buffer and refits once
        batch = votes[n - 640 + 64 * i :][:64]
        loss._prepare(torch.zeros(64, 2, device=device), batch, None, None)  # validation outside the timing
        start = clock()
        loss(torch.zeros(64, 2, device=device), batch)
        times.append((clock() - start) * 1e3)
    return {"refit_ms": statistics.median(times)}


def mlp_step(args, device) -> dict:
    """Target 5: a whole training step of a 300-256-1 MLP."""
    L, Y, X = synthetic(args.buffer + 64 * args.batch, args.m, 300)
    X, Y = X.to(device), Y.to(device)
    n_batches = (len(L) - args.buffer) // args.batch

    def runner(kind):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(300, 256), torch.nn.ReLU(), torch.nn.Linear(256, 1)).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss = torch.nn.BCEWithLogitsLoss() if kind == "bce" else full_loss(L, args, device)

        def step(i):
            start = args.buffer + (i % n_batches) * args.batch
            sl = slice(start, start + args.batch)
            opt.zero_grad()
            logits = model(X[sl])[:, 0]
            out = loss(logits, Y[sl]) if kind == "bce" else loss(logits, L[sl])
            out.backward()
            opt.step()

        return step

    steps = {"bce": runner("bce"), "fsloss": runner("fsloss")}
    clock = Clock(args.clock, device)
    for i in range(20):
        for fn in steps.values():
            fn(i)
    times = {k: [] for k in steps}
    i = 0
    for _ in range(args.rounds):
        for name, fn in steps.items():
            start = clock()
            for _ in range(args.steps):
                fn(i)
                i += 1
            times[name].append((clock() - start) / args.steps * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"bce_step_ms": med["bce"], "fsloss_step_ms": med["fsloss"], "ratio": med["fsloss"] / med["bce"]}


def upstream_ratio(args) -> dict:
    """Optional (``--upstream``): upstream FlyingSquid's ``FSLoss`` forward +
    backward against weaksup's, same settings (its constructor's name bug
    patched here only); the FSLoss issue asked for at least 100x."""
    from weaksup.compat import patch_pgmpy

    patch_pgmpy()
    import flyingsquid.pytorch_loss as upstream

    upstream.WSLoss = upstream.FSLoss
    L, _, _ = synthetic(args.buffer + 8 * args.batch, args.m, 1)
    theirs = upstream.FSLoss(args.m, buffer_capacity=args.buffer, update_frequency=args.batch)
    theirs.lf_buffer[:] = L[: args.buffer]  # a full buffer, as if `buffer` items had been seen
    theirs.buffer_size[:] = args.buffer
    theirs.lm.fit(L[: args.buffer].numpy())
    ours = full_loss(L, args, torch.device("cpu"))
    logits = torch.zeros(args.batch, requires_grad=True)
    clock = Clock(args.clock, torch.device("cpu"))
    out = {}
    for name, loss, steps in (("upstream", theirs, 2), ("weaksup", ours, 50)):
        start = clock()
        for i in range(steps):
            loss(logits, L[args.buffer + i % 8 * args.batch :][: args.batch]).backward()
        out[name] = (clock() - start) / steps * 1e3
    return {"upstream_ms": out["upstream"], "weaksup_ms": out["weaksup"], "ratio": out["upstream"] / out["weaksup"]}


def resnet_step(args, device) -> dict:
    """GPU only: the loss inside a ResNet-18-sized training step (32 x 3 x 64 x 64)."""
    import torchvision  # noqa: F401 - optional, GPU runs only

    model = torchvision.models.resnet18(num_classes=1).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    L, Y, _ = synthetic(args.buffer + 64 * args.batch, args.m, 1)
    fs = full_loss(L, args, device)
    bce = torch.nn.BCEWithLogitsLoss()
    x = torch.randn(args.batch, 3, 64, 64, device=device)
    gold = Y[: args.batch].to(device)
    clock = Clock("wall", device)
    out = {}
    for name in ("bce", "fsloss", "bce", "fsloss"):
        start = clock()
        for i in range(args.steps):
            opt.zero_grad()
            logits = model(x)[:, 0]
            (bce(logits, gold) if name == "bce" else fs(logits, L[args.buffer + (i % 60) * args.batch:][: args.batch])).backward()
            opt.step()
        out[name] = (clock() - start) / args.steps * 1e3
    return {"resnet_bce_ms": out["bce"], "resnet_fsloss_ms": out["fsloss"],
            "resnet_overhead_pct": 100 * (out["fsloss"] - out["bce"]) / out["bce"]}


def table(res: dict) -> str:
    o, mc, mlp = res["overhead"], res["multiclass"], res["mlp"]

    def met(ok):
        return "MET" if ok else "NOT MET"

    rows = [
        "| target | measured | limit | |",
        "|---|---:|---:|---|",
        f"| FSLoss fwd+bwd over BCE fwd+bwd (ms) | {o['overhead_ms']:.3f} "
        f"(FSLoss {o['fsloss_ms']:.3f}, BCE {o['bce_ms']:.3f}) | 0.15 | {met(o['overhead_ms'] <= 0.15)} |",
        f"| aten operators per FSLoss step | {o['aten_ops']} (top-level {o['aten_ops_top_level']}; "
        f"BCE {o['bce_aten_ops_top_level']}) | 100 | {met(o['aten_ops'] <= 100)} |",
        f"| host syncs in the steady state | {o['sync_check']} | 0 | "
        f"{met(o['sync_check'].startswith(('0 syncs', 'meta: 0')))}"
        f"{'' if res['config']['device'] == 'cuda' else ' (CPU stand-in)'} |",
        f"| FSCrossEntropyLoss(73, 2) step with a refit, default (warm) (ms) | {mc['refit_ms']:.2f} | 1 | "
        f"{met(mc['refit_ms'] <= 1)} |",
        f"| the same, warm_start=False (every refit from scratch) | {res['multiclass_cold']['refit_ms']:.2f} | 1 | "
        f"{met(res['multiclass_cold']['refit_ms'] <= 1)} |",
        f"| 300-256-1 MLP step, FSLoss / BCE | {mlp['ratio']:.2f} ({mlp['fsloss_step_ms']:.3f} / "
        f"{mlp['bce_step_ms']:.3f} ms) | 1.25 | {met(mlp['ratio'] <= 1.25)} |",
    ]
    rows.append(f"| FSLoss with its defaults (pairwise EM, estimated balance) fwd+bwd (ms) | "
                f"{o['default_fsloss_ms']:.2f} | | (for reference) |")
    if "upstream" in res:
        u = res["upstream"]
        rows.append(f"| upstream FSLoss fwd+bwd / weaksup's | {u['ratio']:.0f}x ({u['upstream_ms']:.1f} / "
                    f"{u['weaksup_ms']:.3f} ms) | >= 100 | {met(u['ratio'] >= 100)} |")
    if "resnet_overhead_pct" in res.get("gpu", {}):
        g = res["gpu"]
        rows.append(f"| ResNet-18 step (ms): BCE {g['resnet_bce_ms']:.2f}, FSLoss {g['resnet_fsloss_ms']:.2f} | "
                     f"{g['resnet_overhead_pct']:.1f}% | | |")
    cfg = res["config"]
    note = (f"\nm = {cfg['m']}, batch {cfg['batch']}, buffer {cfg['buffer']}, refit every step, device "
            f"{cfg['device']}, {cfg['threads']} thread(s), {cfg['clock']} time, torch {cfg['torch']}, "
            f"{cfg['machine']}; {cfg['load']}")
    return "\n".join(rows) + note


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--m", type=int, default=10)
    p.add_argument("--buffer", type=int, default=10_000)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="CPU time of the process or elapsed time")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=50, help="steps per contender per round")
    p.add_argument("--upstream", action="store_true", help="also time upstream FlyingSquid's FSLoss")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    res = {
        "config": {
            "batch": args.batch, "m": args.m, "buffer": args.buffer, "device": device.type,
            "threads": args.threads, "clock": args.clock if device.type == "cpu" else "wall",
            "torch": torch.__version__, "machine": platform.processor() or platform.machine(), "load": load(),
        },
        "overhead": loss_overhead(args, device),
        "multiclass": refit_multiclass(args, device),
        "multiclass_cold": refit_multiclass(args, device, warm_start=False),
        "mlp": mlp_step(args, device),
    }
    if args.upstream:
        res["upstream"] = upstream_ratio(args)
    if device.type == "cuda":
        try:
            res["gpu"] = resnet_step(args, device)
        except ImportError:
            res["gpu"] = {"note": "torchvision not installed: no ResNet-18 step"}
    res["config"]["load_after"] = load()
    print(table(res))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    return res


if __name__ == "__main__":
    main()
