"""Label-model benchmark: weaksup against FlyingSquid, Snorkel and majority vote.

Fits and predicts on seeded synthetic votes for every (n, m) of a grid, with
every method on the same vote matrix in one run, and prints a markdown table
of fit / predict / total seconds, accuracies against the hidden truth, time
ratios, and whether the performance targets are met.

Synthetic data (binary, FlyingSquid convention): the hidden truth ``y`` is
+1/-1 with P(+1) = 0.5; LF ``j`` votes on an item with probability
``coverage_j ~ U[0.3, 0.9]`` and, when it votes, is right with probability
``accuracy_j ~ U[0.55, 0.95]``, independently given ``y``; an abstention is 0.
Votes are an ``(n, m)`` int8 numpy array (``--dtype int64`` for NumPy's default
integer); every method gets the same array.

Methods:

* ``weaksup``: ``LabelModel(m).fit(L, solve_method="triplet_mean",
  class_balance="uniform")`` then ``predict_proba_marginalized(L)``: upstream's
  method and default balance, so the two are the same model (``--model
  default`` runs weaksup's own defaults: pairwise EM, a balance estimated from
  the votes).
* ``flyingsquid`` (upstream, importable after ``weaksup.compat.patch_pgmpy()``):
  the same two calls. Its prediction is a per-row Python loop, so where a full
  run is estimated to take longer than ``--upstream-budget-s`` it is timed on
  two leading slices of the rows and extrapolated linearly (``a + b * n``);
  such times are marked ``*`` and the accuracy is then measured on the larger
  slice only (marked ``†``). The fit gets the same treatment (it rarely needs it).
* ``snorkel``: ``snorkel.labeling.model.LabelModel(cardinality=2)``,
  ``fit(L_snorkel, n_epochs=100, seed=...)`` then ``predict_proba``; the votes
  are converted beforehand (not timed) with
  ``weaksup.convert_votes(L, source='flyingsquid', target='snorkel')``.
* ``mv``: majority vote in numpy (sign of the row sum); it has no fit.

Model construction counts as fit time. Each timing is the median of
``--repeats`` runs (``time.perf_counter``; the machine may be shared, so the
load average is printed with the table); a method stops repeating once the
runs of one phase have used its time cap. Peak resident memory (growth over
the level before the call) is reported for the first run of each phase. Accuracy: a predicted P(Y=+1) above
0.5 means +1, below means -1, and a tie (|P - 0.5| < 1e-9, e.g. a row on which
every LF abstains) counts half.

Run ``python benchmarks/bench_label_model.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import sys
import threading
import time
import warnings
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

# Run from a source checkout without installing.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import weaksup  # noqa: E402
from weaksup import LabelModel, convert_votes  # noqa: E402

PEERS = ("weaksup", "flyingsquid", "snorkel", "mv")
LABELS = {"weaksup": "weaksup", "flyingsquid": "FlyingSquid", "snorkel": "Snorkel", "mv": "MV"}
TIE_EPS = 1e-9
PILOT_ROWS = (2_000, 10_000)  # slices timed to extrapolate upstream FlyingSquid
OTHER_CAP_S = 120.0  # time cap per phase for the fast methods (repeats stop beyond it)


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------
def make_votes(n: int, m: int, seed: int, dtype=np.int8) -> Tuple[np.ndarray, np.ndarray, Dict[str, np.ndarray]]:
    """Seeded synthetic votes ``(n, m)`` in {-1, 0, +1} and the hidden truth ``(n,)``."""
    rng = np.random.default_rng([seed, n, m])
    accuracy = rng.uniform(0.55, 0.95, m)
    coverage = rng.uniform(0.3, 0.9, m)
    y = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int64)
    L = np.empty((n, m), dtype=dtype)
    for j in range(m):  # column by column: bounded temporary memory
        votes = rng.random(n) < coverage[j]
        right = rng.random(n) < accuracy[j]
        L[:, j] = np.where(votes, np.where(right, y, -y), 0)
    return L, y, {"accuracy": accuracy, "coverage": coverage}


def accuracy_of(p_pos: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of P(Y=+1) against the truth (+1/-1); ties count half."""
    p_pos = np.asarray(p_pos, dtype=np.float64)
    tie = np.abs(p_pos - 0.5) < TIE_EPS
    right = ((p_pos > 0.5) == (y > 0)) & ~tie
    return float((right.sum() + 0.5 * tie.sum()) / len(y))


# ---------------------------------------------------------------------------
# timing and memory
# ---------------------------------------------------------------------------
class PeakRSS:
    """Peak resident memory above the starting level while the block runs,
    sampled from /proc every few milliseconds by a background thread (Linux;
    elsewhere it reports None). Memory the allocator reuses without growing
    the process is not seen, so this is a lower bound of what a call needs."""

    def __init__(self, enabled: bool, interval_s: float = 0.005) -> None:
        self.enabled = enabled and os.path.exists("/proc/self/statm")
        self.interval_s = interval_s
        self.delta_mb: Optional[float] = None

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, self._rss())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> "PeakRSS":
        if self.enabled:
            gc.collect()
            self._start = self._peak = self._rss()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, self._rss())
            self.delta_mb = (self._peak - self._start) / 2**20


def median_of(fn: Callable[[], object], repeats: int, cap_s: float, memory: bool = False):
    """Run ``fn`` up to ``repeats`` times (at least once, fewer once ``cap_s``
    would be exceeded); return (median seconds, last result, runs, peak RSS MB
    of the first run or None)."""
    times, out, spent, runs, mem = [], None, 0.0, 0, None
    while runs < repeats:
        gc.collect()
        with PeakRSS(memory and runs == 0) as rss:
            t0 = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t0
        if runs == 0:
            mem = rss.delta_mb
        times.append(dt)
        spent, runs = spent + dt, runs + 1
        if spent + dt > cap_s:
            break
    return float(np.median(times)), out, runs, mem


def pilot_time(fn: Callable[[], object], repeats: int) -> Tuple[float, object]:
    t, out, _, _ = median_of(fn, min(repeats, 2), float("inf"))
    return t, out


# ---------------------------------------------------------------------------
# methods
# ---------------------------------------------------------------------------
def run_weaksup(L: np.ndarray, m: int, args) -> Dict:
    options = dict(solve_method="triplet_mean", class_balance="uniform") if args.model == "upstream" else {}
    t_fit, model, r_fit, mem_fit = median_of(lambda: LabelModel(m).fit(L, **options), args.repeats,
                                             OTHER_CAP_S, args.memory)
    t_pred, p, r_pred, mem_pred = median_of(lambda: model.predict_proba_marginalized(L), args.repeats, OTHER_CAP_S, args.memory)
    return dict(fit=t_fit, predict=t_pred, p=np.asarray(p), rows=len(L), runs=(r_fit, r_pred),
                mem=(mem_fit, mem_pred))


def import_flyingsquid():
    import weaksup.compat

    weaksup.compat.patch_pgmpy()
    from flyingsquid.label_model import LabelModel as FSLabelModel

    return FSLabelModel


def _upstream_phase(fn_rows: Callable[[int], object], n: int, args) -> Dict:
    """Time ``fn_rows(k)`` (the phase on the first ``k`` rows) in full when it is
    estimated to fit the budget, else extrapolate from two leading slices."""
    budget = args.upstream_budget_s
    small, large = PILOT_ROWS
    if n > large:
        t1, _ = pilot_time(lambda: fn_rows(small), args.repeats)
        t2, out2 = pilot_time(lambda: fn_rows(large), args.repeats)
        slope = max(t2 - t1, 0.0) / (large - small)
        intercept = max(t2 - slope * large, 0.0)
        estimate = intercept + slope * n
        if estimate > budget:
            return dict(seconds=estimate, out=out2, rows=large, extrapolated=True, runs=0, mem=None,
                        pilot=(t1, t2))
    t, out, runs, mem = median_of(lambda: fn_rows(n), args.repeats, budget, args.memory)
    return dict(seconds=t, out=out, rows=n, extrapolated=False, runs=runs, mem=mem, pilot=None)


def run_flyingsquid(L: np.ndarray, m: int, args) -> Dict:
    FSLabelModel = import_flyingsquid()
    n = len(L)
    L = L.astype(np.int64, copy=False)  # numpy products of int8 votes would overflow upstream (not timed)

    def fit_rows(k: int):
        model = FSLabelModel(m)
        model.fit(L[:k])  # returns None upstream
        return model

    fit = _upstream_phase(fit_rows, n, args)
    model = fit["out"]  # fitted on all rows, or on the larger slice when the fit was extrapolated
    pred = _upstream_phase(lambda k: model.predict_proba_marginalized(L[:k]), n, args)
    return dict(fit=fit["seconds"], predict=pred["seconds"], p=np.asarray(pred["out"]), rows=pred["rows"],
                fit_extrapolated=fit["extrapolated"], fit_rows=fit["rows"],
                predict_extrapolated=pred["extrapolated"], runs=(fit["runs"], pred["runs"]),
                mem=(fit["mem"], pred["mem"]), pilot=pred["pilot"])


def run_snorkel(L: np.ndarray, m: int, args) -> Dict:
    from snorkel.labeling.model import LabelModel as SnorkelLabelModel

    L_snorkel = np.asarray(convert_votes(L.astype(np.int64, copy=False), source="flyingsquid", target="snorkel"))

    def fit():
        model = SnorkelLabelModel(cardinality=2, verbose=False)
        model.fit(L_snorkel, n_epochs=args.snorkel_epochs, seed=args.seed, progress_bar=False)
        return model

    t_fit, model, r_fit, mem_fit = median_of(fit, args.repeats, OTHER_CAP_S, args.memory)
    t_pred, proba, r_pred, mem_pred = median_of(lambda: model.predict_proba(L_snorkel), args.repeats, OTHER_CAP_S, args.memory)
    return dict(fit=t_fit, predict=t_pred, p=np.asarray(proba)[:, 1], rows=len(L), runs=(r_fit, r_pred),
                mem=(mem_fit, mem_pred))


def majority_vote(L: np.ndarray) -> np.ndarray:
    s = L.sum(axis=1)
    return np.where(s > 0, 1.0, np.where(s < 0, 0.0, 0.5))


def run_mv(L: np.ndarray, m: int, args) -> Dict:
    t_pred, p, r_pred, mem_pred = median_of(lambda: majority_vote(L), args.repeats, OTHER_CAP_S, args.memory)
    return dict(fit=0.0, predict=t_pred, p=p, rows=len(L), runs=(0, r_pred), mem=(None, mem_pred))


RUNNERS = {"weaksup": run_weaksup, "flyingsquid": run_flyingsquid, "snorkel": run_snorkel, "mv": run_mv}


def warm_up(peers: List[str], args) -> None:
    """One tiny run per method so imports and first-call costs stay out of the table."""
    L, _, _ = make_votes(500, 5, args.seed + 1)
    quiet = argparse.Namespace(**{**vars(args), "repeats": 1, "memory": False})
    for peer in peers:
        RUNNERS[peer](L, 5, quiet)


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
def fmt_s(t: Optional[float], star: bool = False) -> str:
    if t is None:
        return "—"
    s = f"{t:.3f}" if t >= 0.0995 else f"{t:.2g}" if t >= 0.001 else f"{t:.1e}"
    return s + ("*" if star else "")


def fmt_ratio(a: Optional[float], b: Optional[float], star: bool = False) -> str:
    if a is None or b is None or b <= 0:
        return "—"
    r = a / b
    s = f"{r:,.0f}" if r >= 100 else f"{r:.1f}" if r >= 10 else f"{r:.2f}"
    return s + "x" + ("*" if star else "")


def evaluate_cell(n: int, m: int, args, peers: List[str], log) -> Dict:
    t0 = time.perf_counter()
    L, y, truth = make_votes(n, m, args.seed, np.dtype(args.dtype))
    cell: Dict = {"n": n, "m": m, "gen_s": time.perf_counter() - t0, "methods": {}, "input_mb": L.nbytes / 2**20}
    for peer in peers:
        t0 = time.perf_counter()
        res = RUNNERS[peer](L, m, args)
        rows = res["rows"]
        res["accuracy"] = accuracy_of(res["p"], y[:rows])
        res["total"] = res["fit"] + res["predict"]
        res["wall_s"] = time.perf_counter() - t0
        cell["methods"][peer] = res
        log(f"  {LABELS[peer]:<11} n={n:>9,} m={m:>3}: fit {res['fit']:.4f} s, predict {res['predict']:.4f} s"
            f"{' (extrapolated)' if res.get('predict_extrapolated') else ''}, accuracy {res['accuracy']:.4f}"
            f"{f' on {rows:,} rows' if rows < n else ''}  [{res['wall_s']:.1f} s wall, runs {res['runs']}]")
    ws, fs = cell["methods"].get("weaksup"), cell["methods"].get("flyingsquid")
    if ws is not None and fs is not None:
        rows = fs["rows"]
        cell["agreement"] = dict(
            rows=rows,
            max_abs_dp=float(np.max(np.abs(ws["p"][:rows] - fs["p"]))) if rows else float("nan"),
            acc_weaksup=accuracy_of(ws["p"][:rows], y[:rows]),
            acc_flyingsquid=fs["accuracy"],
        )
    for res in cell["methods"].values():
        res.pop("p", None)
    del L, y
    gc.collect()
    return cell


def table(cells: List[Dict], peers: List[str], memory: bool) -> str:
    head = ["n", "m"]
    for peer in peers:
        name = LABELS[peer]
        if peer != "mv":
            head.append(f"{name} fit s")
        head += [f"{name} predict s"]
        if peer != "mv":
            head.append(f"{name} total s")
        head.append(f"{name} acc")
    if "weaksup" in peers and "flyingsquid" in peers:
        head.append("FlyingSquid / weaksup")
    if "weaksup" in peers and "snorkel" in peers:
        head.append("Snorkel / weaksup")
    if "weaksup" in peers and "flyingsquid" in peers:
        head.append("max abs dP(Y=1) weaksup vs FS (rows)")
    if memory:
        head += [f"{LABELS[p]} peak RSS MB (fit/predict)" for p in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in cells:
        row = [f"{c['n']:,}", str(c["m"])]
        for peer in peers:
            r = c["methods"][peer]
            fit_star, pred_star = r.get("fit_extrapolated", False), r.get("predict_extrapolated", False)
            if peer != "mv":
                row.append(fmt_s(r["fit"], fit_star))
            row.append(fmt_s(r["predict"], pred_star))
            if peer != "mv":
                row.append(fmt_s(r["total"], fit_star or pred_star))
            dagger = "†" if r["rows"] < c["n"] else ""
            row.append(f"{r['accuracy']:.4f}{dagger}")
        ws = c["methods"].get("weaksup")
        if ws is not None and "flyingsquid" in peers:
            fs = c["methods"]["flyingsquid"]
            star = fs.get("fit_extrapolated", False) or fs.get("predict_extrapolated", False)
            row.append(fmt_ratio(fs["total"], ws["total"], star))
        if ws is not None and "snorkel" in peers:
            row.append(fmt_ratio(c["methods"]["snorkel"]["total"], ws["total"]))
        if "agreement" in c:
            a = c["agreement"]
            row.append(f"{a['max_abs_dp']:.1e} ({a['rows']:,})")
        if memory:
            for peer in peers:
                mf, mp = c["methods"][peer]["mem"]
                row.append(f"{'—' if mf is None else f'{mf:.0f}'} / {'—' if mp is None else f'{mp:.0f}'}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def targets(cells: List[Dict], peers: List[str]) -> List[str]:
    """One MET / NOT MET line per performance target (issue 12 and the earlier ones)."""
    by = {(c["n"], c["m"]): c for c in cells}
    out = []
    if "weaksup" not in peers:
        return ["targets: not evaluated (weaksup not run)"]

    def verdict(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    # 1. n = 100k, m = 5: >= 100x upstream on fit + predict with equal accuracy
    c = by.get((100_000, 5))
    if c is None or "flyingsquid" not in c["methods"]:
        out.append("- n = 100,000, m = 5, >= 100x FlyingSquid with equal accuracy: not measured in this run")
    else:
        ws, fs, a = c["methods"]["weaksup"], c["methods"]["flyingsquid"], c["agreement"]
        ratio = fs["total"] / ws["total"]
        dacc = abs(a["acc_weaksup"] - a["acc_flyingsquid"])
        star = " (upstream time extrapolated)" if fs.get("predict_extrapolated") or fs.get("fit_extrapolated") else ""
        out.append(
            f"- n = 100,000, m = 5, fit + predict >= 100x FlyingSquid with equal accuracy: "
            f"{verdict(ratio >= 100 and dacc <= 1e-4)}: {ratio:,.0f}x ({fs['total']:.3f} s vs {ws['total']:.4f} s)"
            f"{star}; accuracy {a['acc_weaksup']:.4f} vs {a['acc_flyingsquid']:.4f} on {a['rows']:,} rows "
            f"(|diff| {dacc:.1e}, max |dP| {a['max_abs_dp']:.1e})"
        )
    # 2. n = 1M, m = 100: predict <= 3x one numpy pass (majority vote), fit <= 0.5 s, memory
    c = by.get((1_000_000, 100))
    if c is None:
        out.append("- n = 1,000,000, m = 100 (predict <= 3x majority vote, fit <= 0.5 s): not measured in this run")
    else:
        ws = c["methods"]["weaksup"]
        mv = c["methods"].get("mv")
        if mv is None:
            out.append("- n = 1,000,000, m = 100, predict <= 3x a numpy majority vote: not measured (mv not run)")
        else:
            r = ws["predict"] / mv["predict"]
            out.append(f"- n = 1,000,000, m = 100, predict <= 3x one numpy pass (majority vote): {verdict(r <= 3)}: "
                       f"{r:.2f}x ({ws['predict']:.3f} s vs {mv['predict']:.3f} s)")
        out.append(f"- n = 1,000,000, m = 100, fit <= 0.5 s: {verdict(ws['fit'] <= 0.5)}: {ws['fit']:.3f} s")
        mem_fit = ws["mem"][0]
        if mem_fit is not None:
            ratio = mem_fit / c["input_mb"]
            out.append(f"- n = 1,000,000, m = 100, fit (statistics) peak memory <= 3x the input: {verdict(ratio <= 3)}: "
                       f"{mem_fit:.0f} MB over {c['input_mb']:.0f} MB of votes ({ratio:.2f}x)")
    # 3. n = 1M, m = 20: fit + predict <= 0.15 s
    c = by.get((1_000_000, 20))
    if c is None:
        out.append("- n = 1,000,000, m = 20, weaksup fit + predict <= 0.15 s: not measured in this run")
    else:
        ws = c["methods"]["weaksup"]
        out.append(
            f"- n = 1,000,000, m = 20, weaksup fit + predict <= 0.15 s: {verdict(ws['total'] <= 0.15)}: "
            f"{ws['total']:.3f} s (fit {ws['fit']:.3f} s + predict {ws['predict']:.3f} s)"
        )
    return out


def source_revision() -> str:
    """Commit of the checkout the benchmark imported weaksup from, '+local edits'
    when weaksup's files differ from it; 'unknown' outside a git checkout."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=_ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "weaksup"], cwd=_ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + (" +local edits" if dirty else "")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="numbers of items")
    parser.add_argument("--m", type=int, nargs="+", default=[5, 20, 100], help="numbers of LFs")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per phase (the median is reported)")
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=PEERS, help="methods to run")
    parser.add_argument("--quick", action="store_true",
                        help="small smoke run: n in {2000, 20000}, m in {5, 20}, 1 repeat, 5 s upstream budget")
    parser.add_argument("--upstream-budget-s", type=float, default=60.0,
                        help="longest full FlyingSquid fit or predict to run; longer ones are extrapolated from slices")
    parser.add_argument("--snorkel-epochs", type=int, default=100, help="Snorkel LabelModel n_epochs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data and of Snorkel")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: the CPUs this process may use)")
    parser.add_argument("--no-memory", dest="memory", action="store_false",
                        help="skip the peak RSS growth of each method's first fit and predict run (reported by default)")
    parser.add_argument("--dtype", default="int8", choices=["int8", "int64"], help="dtype of the vote matrix")
    parser.add_argument("--model", default="upstream", choices=["upstream", "default"],
                        help="weaksup's fit: upstream's model (triplet_mean, uniform balance) or weaksup's defaults")
    parser.add_argument("--json", default=None, help="also write the raw results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.m, args.repeats = [2_000, 20_000], [5, 20], 1
        args.upstream_budget_s = min(args.upstream_budget_s, 5.0)
    peers = [p for p in PEERS if p in args.peers]

    threads = args.threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    torch.set_num_threads(threads)
    logging.getLogger().setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    versions = {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
                "weaksup": weaksup.__version__}
    if "snorkel" in peers:
        import snorkel

        versions["snorkel"] = snorkel.__version__
    if "flyingsquid" in peers:
        import_flyingsquid()
        from importlib.metadata import version

        versions["flyingsquid"] = version("flyingsquid")
    versions["weaksup source"] = source_revision()
    load0 = os.getloadavg() if hasattr(os, "getloadavg") else None
    log(f"warming up {', '.join(peers)} ...")
    warm_up(peers, args)

    t_start = time.perf_counter()
    cells = []
    for n in args.n:
        for m in args.m:
            log(f"n = {n:,}, m = {m}")
            cells.append(evaluate_cell(n, m, args, peers, log))
    wall = time.perf_counter() - t_start
    load1 = os.getloadavg() if hasattr(os, "getloadavg") else None

    print("## Label model: fit + predict on synthetic votes\n")
    load = f"load average {load0[0]:.2f} at start, {load1[0]:.2f} at end; " if load0 else ""
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {threads}; "
          + ", ".join(f"{k} {v}" for k, v in versions.items())
          + f"; median of {args.repeats}; votes {args.dtype}; weaksup model {args.model}; seed {args.seed}; Snorkel n_epochs {args.snorkel_epochs}; "
          f"upstream budget {args.upstream_budget_s:g} s; {load}benchmark wall time {wall:.0f} s.\n")
    cpus = os.cpu_count() or 1
    if load0 and max(load0[0], load1[0]) > cpus:
        print(f"**Warning: the machine was busy (load average up to {max(load0[0], load1[0]):.1f} on {cpus} CPUs); "
              + ("multi-threaded timings (torch, here weaksup and Snorkel) suffer most when other processes "
                 "compete for the cores. Compare with a run at `--threads 1` or on an idle machine.**\n"
                 if threads > 1 else "timings include waiting for the CPU.**\n"))
    print(table(cells, peers, args.memory))
    print()
    print("Times in seconds (fit includes constructing the model). `*`: FlyingSquid time extrapolated "
          f"linearly from its runs on the first {PILOT_ROWS[0]:,} and {PILOT_ROWS[1]:,} rows (a full run was "
          f"estimated above the {args.upstream_budget_s:g} s budget). `†`: accuracy on those first "
          f"{PILOT_ROWS[1]:,} rows only. Ratios are on total (fit + predict) time. Accuracy against the hidden "
          "truth, ties count half. max abs dP: largest |P_weaksup(Y=1) - P_FlyingSquid(Y=1)| over the rows both "
          "predicted.\n")
    print("Targets:")
    for line in targets(cells, peers):
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "versions": versions, "cells": cells}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
