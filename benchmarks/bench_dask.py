"""weaksup.dask benchmark: fit + predict from vote chunk files on disk.

Writes a seeded synthetic vote matrix (default 10M items x 20 LFs, binary,
Snorkel convention: -1 = abstain, classes 0/1, int8) as ``--files`` ``.npy``
chunk files into a scratch folder, then fits ``MulticlassLabelModel(2)`` and
computes every posterior three ways, each in a fresh Python process so that
peak memory is that mode's own:

* ``in-memory``: all chunk files read into one array, ``model.fit(L)``,
  ``model.predict_proba(L)`` (the posteriors stay in memory);
* ``1 process``: ``weaksup.dask.fit`` / ``predict_proba`` over
  ``weaksup.dask.read_votes(folder)`` on Dask's synchronous scheduler (one
  thread, one partition in memory at a time), posteriors written to disk with
  ``dask.array.to_npy_stack``;
* ``LocalCluster``: the same calls on a ``dask.distributed.LocalCluster`` of
  ``--workers`` worker processes (1 thread each) on 127.0.0.1.

Reported per mode: fit seconds (reading the votes included), predict seconds
(posteriors computed and stored; the cluster is started and its workers have
imported weaksup before the clock starts, that start-up time is printed
below the table), peak resident memory of the process that
did the work (``ru_maxrss``; for the cluster, of each worker, and of the
client process), and the resident memory after ``import weaksup.dask, torch``
(the floor every process pays). Checks printed below the table (MET / NOT
MET): the statistics of the three modes are equal bit for bit, the posteriors
agree (max |difference| <= 1e-12), and the out-of-core modes' peak memory
stays below the in-memory fit's.

Run from the repository root: ``python benchmarks/bench_dask.py`` (the full
size takes a few minutes on 2 cores), ``--n 200000`` for a smoke run.
The scratch folder is deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    """Current resident memory of this process, MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KB


def _warm_up() -> None:
    import importlib

    importlib.import_module("torch").set_num_threads(1)
    for module in ("weaksup.dask", "weaksup.multiclass", "weaksup.statistics"):
        importlib.import_module(module)


def write_chunks(folder: Path, n: int, m: int, files: int, seed: int) -> None:
    """Conditionally independent binary LFs: coverage U[0.3, 0.9], accuracy U[0.55, 0.95]."""
    rng = np.random.default_rng(seed)
    coverage, accuracy = rng.uniform(0.3, 0.9, m), rng.uniform(0.55, 0.95, m)
    rows = -(-n // files)
    for i, start in enumerate(range(0, n, rows)):
        size = min(rows, n - start)
        y = (rng.random(size) < 0.5).astype(np.int8)
        right = rng.random((size, m)) < accuracy
        votes = np.where(right, y[:, None], 1 - y[:, None]).astype(np.int8)
        votes[rng.random((size, m)) >= coverage] = -1
        np.save(folder / f"votes-{i:04d}.npy", votes)


# ---------------------------------------------------------------------------
# one mode, in its own process
# ---------------------------------------------------------------------------
def run_mode(mode: str, folder: Path, out: Path, workers: int) -> dict:
    import dask
    import dask.array as da
    import torch

    import weaksup.dask as wd
    from weaksup import MulticlassLabelModel

    torch.set_num_threads(1)
    floor = _rss_mb()
    result = {"mode": mode, "floor_mb": floor}
    if mode == "in-memory":
        t0 = time.perf_counter()
        L = np.concatenate([np.load(p) for p in sorted(folder.glob("votes-*.npy"))])
        model = MulticlassLabelModel(2).fit(L)
        t1 = time.perf_counter()
        proba = model.predict_proba(L)
        t2 = time.perf_counter()
        np.save(out / "proba-in-memory.npy", proba)
    else:
        client = cluster = None
        if mode == "cluster":
            from distributed import Client, LocalCluster

            t_start = time.perf_counter()
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, env={"OMP_NUM_THREADS": "1"}, memory_limit=0,
            )
            client = Client(cluster)
            client.run(_warm_up)  # the imports a first task would pay, outside the timed region
            result["start_s"] = time.perf_counter() - t_start
            result["worker_floor_mb"] = list(client.run(_rss_mb).values())
            config = dask.config.set()
        else:
            config = dask.config.set(scheduler="sync")
        with config:
            t0 = time.perf_counter()
            votes = wd.read_votes(folder)
            model = wd.fit(MulticlassLabelModel(2), votes)
            t1 = time.perf_counter()
            da.to_npy_stack(str(out / f"proba-{mode}"), wd.predict_proba(model, votes), axis=0)
            t2 = time.perf_counter()
        if client is not None:
            result["worker_peak_mb"] = list(client.run(_peak_mb).values())
            client.close()
            cluster.close()
    stats = model.statistics_
    np.savez(out / f"stats-{mode}.npz", **{k: v.cpu().numpy() for k, v in stats.tensors().items()})
    result.update(fit_s=t1 - t0, predict_s=t2 - t1, peak_mb=_peak_mb(), n_items=int(stats.n_items))
    return result


# ---------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------
def _same_stats(out: Path, a: str, b: str) -> bool:
    x, y = np.load(out / f"stats-{a}.npz"), np.load(out / f"stats-{b}.npz")
    return set(x.files) == set(y.files) and all(np.array_equal(x[k], y[k]) for k in x.files)


def _max_proba_diff(out: Path, mode: str) -> float:
    import dask.array as da

    reference = np.load(out / "proba-in-memory.npy", mmap_mode="r")
    stack = da.from_npy_stack(str(out / f"proba-{mode}"))
    worst, start = 0.0, 0
    for block in stack.blocks:  # one stored chunk at a time
        values = block.compute(scheduler="sync")
        worst = max(worst, float(np.abs(values - reference[start : start + len(values)]).max(initial=0)))
        start += len(values)
    return worst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="items (default 10M)")
    parser.add_argument("--m", type=int, default=20, help="labeling functions (default 20)")
    parser.add_argument("--files", type=int, default=20, help="chunk files (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scratch", default=None, help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--mode", default=None, help=argparse.SUPPRESS)  # internal: one mode in a subprocess
    args = parser.parse_args(argv)

    if args.mode:  # child process
        scratch = Path(args.scratch)
        print(json.dumps(run_mode(args.mode, scratch / "votes", scratch / "out", args.workers)))
        return 0

    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="weaksup-bench-dask-"))
    (scratch / "votes").mkdir(parents=True, exist_ok=True)
    (scratch / "out").mkdir(exist_ok=True)
    try:
        t0 = time.perf_counter()
        write_chunks(scratch / "votes", args.n, args.m, args.files, args.seed)
        size_mb = sum(p.stat().st_size for p in (scratch / "votes").iterdir()) / 2**20
        print(f"wrote {args.n:,} x {args.m} votes (int8) as {args.files} chunk files, {size_mb:.0f} MB, "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        results = []
        for mode in ("in-memory", "1-process", "cluster"):
            load_before = os.getloadavg()[0]
            proc = subprocess.run(
                [sys.executable, __file__, "--mode", mode, "--scratch", str(scratch), "--workers", str(args.workers)],
                env=env, capture_output=True, text=True,
            )
            if proc.returncode:
                print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
                raise SystemExit(f"mode {mode} failed")
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            result["load"] = (load_before, os.getloadavg()[0])
            results.append(result)
            print(f"  {mode}: done", flush=True)
        report(results, args, scratch / "out")
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


def report(results, args, out: Path) -> None:
    names = {"in-memory": "in-memory fit (1 process)", "1-process": "weaksup.dask, 1 process (sync)",
             "cluster": f"weaksup.dask, LocalCluster {args.workers} workers"}
    print(f"\n{args.n:,} items x {args.m} LFs, MulticlassLabelModel(2), {args.files} chunk files; "
          f"{os.cpu_count()} CPUs\n")
    print("| mode | fit s | predict s | total s | peak RSS MB (per process) | RSS after imports MB | load avg (before, after) |")
    print("|---|---:|---:|---:|---|---:|---|")
    for r in results:
        if "worker_peak_mb" in r:
            peak = ", ".join(f"{p:.0f}" for p in r["worker_peak_mb"]) + f" (workers); {r['peak_mb']:.0f} (client)"
            floor = f"{np.mean(r['worker_floor_mb']):.0f}"
        else:
            peak, floor = f"{r['peak_mb']:.0f}", f"{r['floor_mb']:.0f}"
        total = r["fit_s"] + r["predict_s"]
        print(f"| {names[r['mode']]} | {r['fit_s']:.1f} | {r['predict_s']:.1f} | {total:.1f} | {peak} | {floor} | "
              f"{r['load'][0]:.1f}, {r['load'][1]:.1f} |")
    by = {r["mode"]: r for r in results}
    print(f"\nLocalCluster start-up (workers started, weaksup imported on each), not in the table: "
          f"{by['cluster']['start_s']:.1f} s")
    same = all(_same_stats(out, "in-memory", mode) for mode in ("1-process", "cluster"))
    diff = max(_max_proba_diff(out, mode) for mode in ("1-process", "cluster"))
    ooc_peak = max([by["1-process"]["peak_mb"]] + by["cluster"]["worker_peak_mb"])
    print()
    print(f"- statistics equal bit for bit in all three modes: {'MET' if same else 'NOT MET'}")
    print(f"- posteriors agree with the in-memory fit (max |diff| {diff:.1e} <= 1e-12): {'MET' if diff <= 1e-12 else 'NOT MET'}")
    print(f"- out-of-core peak RSS per process below the in-memory fit's ({ooc_peak:.0f} MB vs "
          f"{by['in-memory']['peak_mb']:.0f} MB): {'MET' if ooc_peak < by['in-memory']['peak_mb'] else 'NOT MET'}")


if __name__ == "__main__":
    sys.exit(main())
