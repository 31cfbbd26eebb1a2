"""Many-class benchmark: MulticlassLabelModel time and memory at k = 100 and k = 1,000.

Every cell runs in a fresh Python process (so its peak resident memory is its
own) on seeded synthetic votes, and the table reports, for weaksup: counting
the statistics (``model.accumulate``), fitting from them
(``model.fit_statistics``), predicting (``model.predict_proba``), their total,
the number ``R`` of (LF, class) responses in use, the peak resident memory of
the process above its level once the votes exist, and accuracy against the
hidden truth next to majority vote's. Snorkel's ``LabelModel`` runs on the
smaller cells (its one-hot matrix is ``n x m k`` floats); each cell says which
peers ran.

Synthetic votes, "sparse LFs" (how keyword / pattern LFs look with many
classes): ``y`` uniform over ``k`` classes; LF ``j`` targets a set ``T_j`` of
1-3 classes. On an item of a class in ``T_j`` it votes that class with
probability 0.6 (and another class of ``T_j`` with probability 0.05); on any
other item it fires with probability ``false_rate`` (default 0.01) on a class
of ``T_j`` (a wrong vote). Votes are an ``(n, m)`` int16 array, -1 = abstain
(Snorkel/WRENCH convention). "dense LFs" (``--regime dense``): every LF may
vote any class (FlyingSquid's symmetric regime: right with probability 0.7
when it votes, coverage 0.3, errors spread evenly), which makes every one of
the ``m k`` responses occur.

Targets (issue 12): k = 100, m = 100, n = 50,000 fits (count + fit) in at most
10 s with at most 1 GB peak memory; k = 1,000 with sparse LFs fits at all.

Run ``python benchmarks/bench_multiclass.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

# (name, n, m, k, regime, peers); Snorkel runs once per cell, in its own process
DEFAULT_CELLS = [
    ("k=10", 50_000, 50, 10, "sparse", ("weaksup", "mv", "snorkel")),
    ("k=100 small", 5_000, 100, 100, "sparse", ("weaksup", "mv", "snorkel")),
    ("k=100 target", 50_000, 100, 100, "sparse", ("weaksup", "mv")),
    ("k=1000", 50_000, 300, 1_000, "sparse", ("weaksup", "mv")),
]


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------
def make_votes(n: int, m: int, k: int, regime: str, seed: int, false_rate: float = 0.01):
    """Seeded votes ``(n, m)`` int16 (-1 = abstain) and the truth ``(n,)``."""
    rng = np.random.default_rng([seed, n, m, k])
    y = rng.integers(0, k, n)
    L = np.full((n, m), -1, dtype=np.int16)
    if regime == "dense":
        for j in range(m):
            votes = rng.random(n) < 0.3
            right = rng.random(n) < 0.7
            wrong = (y + rng.integers(1, k, n)) % k
            L[:, j] = np.where(votes, np.where(right, y, wrong), -1)
        return L, y
    for j in range(m):
        targets = rng.choice(k, size=rng.integers(1, 4), replace=False)
        hit = np.isin(y, targets)
        r = rng.random(n)
        pick = targets[rng.integers(0, len(targets), n)]
        vote = np.where(hit & (r < 0.6), y, -1)
        vote = np.where(hit & (r >= 0.6) & (r < 0.65), pick, vote)
        vote = np.where(~hit & (r < false_rate), pick, vote)
        L[:, j] = vote
    return L, y


def majority_vote(L: np.ndarray, k: int) -> np.ndarray:
    """Most voted class per row (ties: lowest class; no vote: class 0)."""
    n, m = L.shape
    counts = np.zeros((n, k), dtype=np.int32)
    rows = np.repeat(np.arange(n), m)
    flat = L.reshape(-1).astype(np.int64)
    voted = flat >= 0
    np.add.at(counts, (rows[voted], flat[voted]), 1)
    return counts.argmax(1)


# ---------------------------------------------------------------------------
# one cell (runs in a child process)
# ---------------------------------------------------------------------------
def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakSampler:
    """Largest RSS seen while running (sampled every 2 ms by a thread)."""

    def __init__(self) -> None:
        self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb())
            self._stop.wait(0.002)

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def run_cell(spec: Dict) -> Dict:
    import torch

    from weaksup import MulticlassLabelModel

    torch.set_num_threads(spec["threads"])
    n, m, k = spec["n"], spec["m"], spec["k"]
    L, y = make_votes(n, m, k, spec["regime"], spec["seed"])
    out: Dict = {"input_mb": L.nbytes / 2**20, "votes_per_item": float((L >= 0).sum(1).mean())}
    # warm-up on a slice (imports, first-call costs)
    MulticlassLabelModel(k).fit(L[:500])
    base = _rss_mb()
    out["base_mb"] = base
    if "weaksup" in spec["peers"]:
        res: Dict = {}
        model = MulticlassLabelModel(k)
        with PeakSampler() as peak:
            t0 = time.perf_counter()
            stats = model.accumulate(L)
            t1 = time.perf_counter()
            model.fit_statistics(stats)
            t2 = time.perf_counter()
        res["count_s"], res["fit_s"] = t1 - t0, t2 - t1
        res["fit_peak_mb"] = peak.peak - base
        res["responses"] = int(len(stats.responses)) if stats.is_compact else int((stats.vote_counts() > 0).sum())
        res["layout"] = "compact" if stats.is_compact else "dense"
        with PeakSampler() as peak:
            t0 = time.perf_counter()
            proba = np.asarray(model.predict_proba(L))
            res["predict_s"] = time.perf_counter() - t0
        res["predict_peak_mb"] = peak.peak - base
        res["accuracy"] = float((proba.argmax(1) == y).mean())
        out["weaksup"] = res
        del model, stats, proba
    if "mv" in spec["peers"]:
        t0 = time.perf_counter()
        pred = majority_vote(L, k)
        out["mv"] = {"predict_s": time.perf_counter() - t0, "accuracy": float((pred == y).mean())}
    if "snorkel" in spec["peers"]:
        from snorkel.labeling.model import LabelModel as SnorkelLabelModel

        Ls = L.astype(np.int64)
        before = _rss_mb()
        with PeakSampler() as peak:
            t0 = time.perf_counter()
            sk = SnorkelLabelModel(cardinality=k, verbose=False)
            sk.fit(Ls, n_epochs=100, seed=spec["seed"], progress_bar=False)
            t1 = time.perf_counter()
            proba = sk.predict_proba(Ls)
            t2 = time.perf_counter()
        out["snorkel"] = {"fit_s": t1 - t0, "predict_s": t2 - t1, "peak_mb": peak.peak - before,
                          "accuracy": float((proba.argmax(1) == y).mean())}
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------
def run_in_child(spec: Dict, timeout_s: float) -> Dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)]
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt(x: Optional[float], digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def median_cell(runs: List[Dict]) -> Dict:
    """Median over repeats of every timing (memory: the largest)."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    out = json.loads(json.dumps(ok[0]))
    for peer in ("weaksup", "mv"):
        if peer not in out:
            continue
        for key, value in out[peer].items():
            if key.endswith("_s"):
                out[peer][key] = float(np.median([r[peer][key] for r in ok]))
            elif key.endswith("_mb"):
                out[peer][key] = float(max(r[peer][key] for r in ok))
    out["repeats"] = len(ok)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell (fresh processes; the median is reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout-s", type=float, default=600.0, help="limit per cell run")
    parser.add_argument("--cells", nargs="+", default=None,
                        help="custom cells NAME:n:m:k:regime:peer+peer (default: the issue-12 grid)")
    parser.add_argument("--quick", action="store_true", help="small cells only, one repeat")
    parser.add_argument("--json", default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_cell(json.loads(args.child))))
        return 0
    cells = DEFAULT_CELLS
    if args.cells:
        cells = []
        for text in args.cells:
            name, n, m, k, regime, peers = text.split(":")
            cells.append((name, int(n), int(m), int(k), regime, tuple(peers.split("+"))))
    if args.quick:
        cells = [("quick k=100", 5_000, 100, 100, "sparse", ("weaksup", "mv")),
                 ("quick k=1000", 5_000, 300, 1_000, "sparse", ("weaksup", "mv"))]
        args.repeats = 1
    import torch

    load0 = os.getloadavg()
    results = []
    for name, n, m, k, regime, peers in cells:
        spec = dict(n=n, m=m, k=k, regime=regime, peers=[p for p in peers if p != "snorkel"], seed=args.seed,
                    threads=args.threads)
        runs = []
        for _ in range(args.repeats):
            runs.append(run_in_child(spec, args.timeout_s))
            print(f"{name}: {json.dumps(runs[-1])}", file=sys.stderr, flush=True)
            if "error" in runs[-1]:
                break
        cell = median_cell(runs)
        if "snorkel" in peers and "error" not in cell:  # once, in its own process (minutes at k = 100)
            other = run_in_child(dict(spec, peers=["snorkel"]), args.timeout_s)
            print(f"{name} (Snorkel): {json.dumps(other)}", file=sys.stderr, flush=True)
            cell["snorkel"] = other.get("snorkel", {"error": other.get("error")})
        results.append((name, spec, cell, os.getloadavg()[0]))
    load1 = os.getloadavg()

    print("## MulticlassLabelModel: many classes\n")
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, torch threads {args.threads}, "
          f"median of {args.repeats} fresh processes per cell (Snorkel: one); load average {load0[0]:.2f} at start, "
          f"{load1[0]:.2f} at end.\n")
    head = ["cell", "n", "m", "k", "regime", "votes/item", "R", "count s", "fit s", "count+fit s", "predict s",
            "peak MB (fit / predict)", "acc", "MV acc", "Snorkel fit+predict s", "Snorkel peak MB", "Snorkel acc",
            "runs", "load"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, spec, res, load in results:
        if "error" in res:
            print(f"| {name} | {spec['n']:,} | {spec['m']} | {spec['k']} | {spec['regime']} | " +
                  " | ".join(["—"] * (len(head) - 6)) + f" |  <!-- {res['error']} -->")
            print(f"\n{name}: {res['error']}\n")
            continue
        ws, mv, sk = res.get("weaksup", {}), res.get("mv", {}), res.get("snorkel")
        row = [name, f"{spec['n']:,}", str(spec["m"]), str(spec["k"]), spec["regime"], fmt(res["votes_per_item"], 1),
               str(ws.get("responses", "—")), fmt(ws.get("count_s")), fmt(ws.get("fit_s")),
               fmt((ws.get("count_s") or 0) + (ws.get("fit_s") or 0)), fmt(ws.get("predict_s")),
               f"{fmt(ws.get('fit_peak_mb'), 0)} / {fmt(ws.get('predict_peak_mb'), 0)}",
               fmt(ws.get("accuracy"), 4), fmt(mv.get("accuracy"), 4),
               fmt(sk["fit_s"] + sk["predict_s"]) if sk and "error" not in sk else "—",
               fmt(sk["peak_mb"], 0) if sk and "error" not in sk else "—",
               fmt(sk["accuracy"], 4) if sk and "error" not in sk else "—", str(res.get("repeats", 1)), f"{load:.1f}"]
        if sk and "error" in sk:
            row[-5:-2] = [f"not measured ({sk['error']})", "—", "—"]
        print("| " + " | ".join(row) + " |")
    print("\nTimes in seconds, wall clock. Peak MB: the process's largest resident memory during the phase minus "
          "its level once the votes existed (sampled every 2 ms). R: (LF, class) responses in use.\n")
    print("Targets:")
    by = {name: (spec, res) for name, spec, res, _ in results}
    target = by.get("k=100 target")
    if target and "weaksup" in target[1]:
        ws = target[1]["weaksup"]
        total = ws["count_s"] + ws["fit_s"]
        ok = total <= 10 and ws["fit_peak_mb"] <= 1024
        print(f"- k = 100, m = 100, n = 50,000: count + fit <= 10 s with <= 1 GB: {'MET' if ok else 'NOT MET'}: "
              f"{total:.2f} s, peak {ws['fit_peak_mb']:.0f} MB")
    elif target:
        print(f"- k = 100, m = 100, n = 50,000: NOT MET: {target[1].get('error')}")
    big = by.get("k=1000")
    if big and "weaksup" in big[1]:
        ws = big[1]["weaksup"]
        print(f"- k = 1,000, sparse LFs, fits at all: MET: count + fit {ws['count_s'] + ws['fit_s']:.2f} s, "
              f"predict {ws['predict_s']:.2f} s, peak {max(ws['fit_peak_mb'], ws['predict_peak_mb']):.0f} MB")
    elif big:
        print(f"- k = 1,000, sparse LFs, fits at all: NOT MET: {big[1].get('error')}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"name": name, "spec": spec, "result": res} for name, spec, res, _ in results], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
