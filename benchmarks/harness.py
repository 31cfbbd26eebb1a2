"""Label-model quality harness: weaksup against its peers on real votes.

One run fits every method on the same splits and scores it with WRENCH's
protocol:

* class balance = (gold counts of the valid split + 1), normalised;
* every label model is fitted on the *train* votes (WRENCH's train split may
  hold the valid ids, as WRENCH does), scored on the *test* split;
* accuracy for youtube, trec and tennis; F1 of the positive class (class 1)
  for imbalanced binary sets (``--metric f1``);
* tennis (FlyingSquid's video tutorial data): fitted on ``L_train_video``,
  scored on the dev set, the class balance counted from the dev labels;
* calibration: expected calibration error (ECE) of the top-label confidence,
  10 equal-width bins, in points (x 100).

Peers, each as WRENCH runs it:

* majority vote, twice: WRENCH's ``MajorityVoting`` (class counts per row,
  ties shared, an all-abstain row uniform: this reproduces the anchors' 84.0
  on youtube and 60.8 on trec) and ``weaksup.baselines.MajorityVote`` when the
  package has it (an all-abstain row gets the class balance);
* Dawid-Skene with abstain as its own category, initialised from majority
  vote, EM to convergence (:class:`DawidSkene`);
* Snorkel 0.10 ``LabelModel`` with its default optimiser settings and the
  class balance, mean and std over ``--seeds`` seeds (5 by default);
* upstream FlyingSquid (``flyingsquid.label_model.LabelModel`` behind weaksup's
  pgmpy shim), one-vs-all beyond two classes, as WRENCH does.

Predictions are ``argmax`` of the probabilities; a tie goes to Snorkel's
deterministic hash policy (``snorkel.utils.probs_to_preds``, as WRENCH's
metrics do), the same for every method.

weaksup's rows: ``MulticlassLabelModel()`` (the default) and
``MulticlassLabelModel(method="flyingsquid")`` (FlyingSquid's triplet method
without upstream's bugs, one-vs-all beyond two classes). All methods run with
one torch thread (``--threads``), so fit times compare like with like.

Without gold (``--no-gold``), the setting of most users: no method gets a
class balance (weaksup estimates it from the votes, majority vote gives an
all-abstain row a uniform guess, Dawid-Skene estimates it in its EM, Snorkel
and FlyingSquid assume it uniform, their default), and every dataset is also
scored on the split the models are fitted on (``-train``; tennis has no
training labels, so ``tennis-dev`` is fitted and scored on the dev votes).
``--synthetic`` adds the default-breaking regimes of
:data:`weaksup.synthetic.REGIMES` (fitted and scored on the same items).

Usage::

    python benchmarks/harness.py                       # youtube, trec, tennis
    python benchmarks/harness.py --no-gold --synthetic # no class balance for anyone
    python benchmarks/harness.py --transductive        # + youtube/trec scored on train
    python benchmarks/harness.py --wrench path/to/sms --metric f1
    python benchmarks/harness.py --json results.json --markdown

The functions are importable (the notebook ``notebooks/label_quality.ipynb``
calls :func:`run`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data"
N_BINS = 10


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------
@dataclass
class Task:
    """One benchmark: votes in the Snorkel/WRENCH convention (-1 = abstain)."""

    name: str
    L_train: np.ndarray
    L_test: np.ndarray
    Y_test: np.ndarray
    class_balance: np.ndarray
    cardinality: int
    metric: str = "acc"  # "acc" or "f1" (positive class 1)
    note: str = ""
    extra: Dict = field(default_factory=dict)


def wrench_balance(Y_valid: np.ndarray, k: int) -> np.ndarray:
    """WRENCH's class balance: (gold counts + 1), normalised."""
    counts = np.bincount(np.asarray(Y_valid, dtype=np.int64), minlength=k) + 1.0
    return counts / counts.sum()


def load_wrench_task(path, metric: str = "acc", name: Optional[str] = None) -> Task:
    """A WRENCH folder (train/valid/test json): fit on train, score on test."""
    from weaksup.datasets import load_wrench_splits

    splits = load_wrench_splits(path, name=name)
    train, valid, test = splits["train"], splits["valid"], splits["test"]
    k = len(train.label_names)
    return Task(
        name=name or Path(path).name,
        L_train=np.asarray(train.L),
        L_test=np.asarray(test.L),
        Y_test=np.asarray(test.Y),
        class_balance=wrench_balance(valid.Y, k),
        cardinality=k,
        metric=metric,
        note=f"train {train.L.shape[0]} / test {test.L.shape[0]}, {train.L.shape[1]} LFs, {k} classes",
    )


def load_tennis_task(path=DATA / "flyingsquid_video") -> Task:
    """FlyingSquid's tennis rallies: fit on L_train_video, score on the dev set."""
    from weaksup.conventions import convert_votes
    from weaksup.datasets import load_flyingsquid_votes

    d = load_flyingsquid_votes(path, stem="video")
    L_train = np.asarray(convert_votes(d["L_train"].astype(np.int64), source="flyingsquid", target="snorkel"))
    L_dev = np.asarray(convert_votes(d["L_dev"].astype(np.int64), source="flyingsquid", target="snorkel"))
    Y_dev = (np.asarray(d["Y_dev"]).astype(np.int64) + 1) // 2
    return Task(
        name="tennis",
        L_train=L_train,
        L_test=L_dev,
        Y_test=Y_dev,
        class_balance=wrench_balance(Y_dev, 2),
        cardinality=2,
        metric="acc",
        note=f"train {L_train.shape[0]} / dev {L_dev.shape[0]}, {L_train.shape[1]} LFs, 2 classes (single frame)",
    )


def default_tasks() -> List[Task]:
    return [
        load_wrench_task(DATA / "wrench" / "youtube", "acc", "youtube"),
        load_wrench_task(DATA / "wrench" / "trec", "acc", "trec"),
        load_tennis_task(),
    ]


# ---------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------
def predictions(proba: np.ndarray) -> np.ndarray:
    """argmax with Snorkel's deterministic tie-break (what WRENCH's metrics use)."""
    from snorkel.utils import probs_to_preds

    return probs_to_preds(np.asarray(proba, dtype=np.float64))


def score(metric: str, Y: np.ndarray, proba: np.ndarray) -> float:
    """Accuracy or positive-class F1, in points (x 100)."""
    pred = predictions(proba)
    if metric == "acc":
        return 100.0 * float((pred == Y).mean())
    if metric == "f1":
        tp = float(((pred == 1) & (Y == 1)).sum())
        fp = float(((pred == 1) & (Y != 1)).sum())
        fn = float(((pred != 1) & (Y == 1)).sum())
        return 100.0 * (2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0)
    raise ValueError(f"metric must be 'acc' or 'f1', got {metric!r}")


def ece(Y: np.ndarray, proba: np.ndarray, n_bins: int = N_BINS) -> float:
    """Expected calibration error of the top-label confidence, in points."""
    proba = np.asarray(proba, dtype=np.float64)
    conf = proba.max(1)
    correct = (predictions(proba) == Y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        sel = which == b
        if sel.any():
            total += sel.mean() * abs(conf[sel].mean() - correct[sel].mean())
    return 100.0 * total


# ---------------------------------------------------------------------------
# peers
# ---------------------------------------------------------------------------
def majority_vote_proba(L: np.ndarray, k: int, class_balance: np.ndarray) -> np.ndarray:
    """Majority vote: tied classes share the row, an all-abstain row gets ``class_balance``."""
    L = np.asarray(L)
    counts = np.stack([(L == c).sum(1) for c in range(k)], 1).astype(np.float64)
    top = counts.max(1, keepdims=True)
    proba = ((counts == top) & (top > 0)).astype(np.float64)
    empty = top[:, 0] == 0
    proba[empty] = class_balance
    return proba / proba.sum(1, keepdims=True)


class _LocalMV:
    """Majority vote; ``uniform_empty``: an all-abstain row is uniform (WRENCH's
    ``MajorityVoting``, which reproduces the anchors' 84.0 / 60.8), else it gets
    the class balance."""

    def __init__(self, k, uniform_empty: bool = False):
        self.k, self.uniform_empty = k, uniform_empty

    def fit(self, L, class_balance):
        if class_balance is None:  # no gold: majority vote has no balance to give empty rows
            class_balance = np.full(self.k, 1.0 / self.k)
        self.class_balance = np.asarray(class_balance, dtype=np.float64)
        if self.uniform_empty:
            self.class_balance = np.full(self.k, 1.0 / self.k)
        return self

    def predict_proba(self, L):
        return majority_vote_proba(L, self.k, self.class_balance)


def _majority_vote(k: int):
    """``weaksup.baselines.MajorityVote`` when present, else the local one."""
    try:
        from weaksup.baselines import MajorityVote  # the lead's
    except ImportError:
        return _LocalMV(k), "local"
    return MajorityVote(cardinality=k, convention="snorkel"), "weaksup.baselines"


class DawidSkene:
    """Dawid-Skene as WRENCH runs it: abstain is one more response category.

    Each LF ``j`` has a confusion table ``P(response r | y)`` over ``k + 1``
    responses (abstain first); class marginals are re-estimated; EM starts from
    majority vote's soft labels and stops when both parameter changes fall
    below ``tol`` (L1) or after ``max_iter`` rounds.
    """

    def __init__(self, k: int, max_iter: int = 10000, tol: float = 1e-5):
        self.k, self.max_iter, self.tol = k, max_iter, tol

    def _onehot(self, L):
        L = np.asarray(L)
        n, m = L.shape
        out = np.zeros((n, m, self.k + 1))
        out[np.arange(n)[:, None], np.arange(m)[None, :], L + 1] = 1.0
        return out

    def fit(self, L, class_balance=None):
        X = self._onehot(L)
        counts = X[:, :, 1:].sum(1)
        post = counts / np.where(counts.sum(1, keepdims=True) > 0, counts.sum(1, keepdims=True), 1)
        post[counts.sum(1) == 0] = 1.0 / self.k
        old = None
        for it in range(self.max_iter):
            marg = post.mean(0)
            err = np.einsum("ny,nmr->myr", post, X)
            err = err / np.where(err.sum(2, keepdims=True) > 0, err.sum(2, keepdims=True), 1)
            post = self._posterior(X, marg, err)
            if old is not None:
                if np.abs(marg - old[0]).sum() < self.tol and np.abs(err - old[1]).sum() < self.tol:
                    break
            old = (marg, err)
        self.marginals_, self.error_rates_, self.n_iter_ = marg, err, it + 1
        return self

    @staticmethod
    def _posterior(X, marg, err):
        with np.errstate(divide="ignore"):
            log_err = np.log(err)
        log_err = np.where(np.isfinite(log_err), log_err, -1e9)
        logp = np.log(np.maximum(marg, 1e-300))[None] + np.einsum("nmr,myr->ny", X, log_err)
        logp -= logp.max(1, keepdims=True)
        p = np.exp(logp)
        return p / p.sum(1, keepdims=True)

    def predict_proba(self, L):
        return self._posterior(self._onehot(L), self.marginals_, self.error_rates_)


class SnorkelPeer:
    """Snorkel 0.10's ``LabelModel`` with its default optimiser, WRENCH style."""

    def __init__(self, k: int, seed: int = 0):
        self.k, self.seed = k, seed

    def fit(self, L, class_balance):
        from snorkel.labeling.model import LabelModel as SnorkelLabelModel

        self.model = SnorkelLabelModel(cardinality=self.k, verbose=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cb = None if class_balance is None else np.asarray(class_balance)
            self.model.fit(np.asarray(L), class_balance=cb, seed=self.seed, progress_bar=False)
        return self

    def predict_proba(self, L):
        return self.model.predict_proba(np.asarray(L))


class FlyingSquidPeer:
    """Upstream FlyingSquid, one-vs-all beyond two classes (WRENCH's wrapper)."""

    def __init__(self, k: int):
        self.k = k

    @staticmethod
    def _upstream():
        from weaksup.compat import patch_pgmpy

        patch_pgmpy()
        from flyingsquid.label_model import LabelModel as Upstream

        return Upstream

    @staticmethod
    def _binary(L, target):
        L = np.asarray(L)
        out = np.where(L == target, 1, -1)
        return np.where(L < 0, 0, out)

    def fit(self, L, class_balance):
        Upstream = self._upstream()
        m = np.asarray(L).shape[1]
        cb = None if class_balance is None else np.asarray(class_balance, dtype=np.float64)
        targets = [1] if self.k == 2 else list(range(self.k))
        self.models = []
        for c in targets:
            model = Upstream(m)
            balance = cb if self.k == 2 or cb is None else np.array([1 - cb[c], cb[c]])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(self._binary(L, c), class_balance=balance)
            self.models.append(model)
        return self

    def predict_proba(self, L):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.k == 2:
                p = np.asarray(self.models[0].predict_proba_marginalized(self._binary(L, 1)), dtype=np.float64)
                p = np.nan_to_num(p, nan=0.5)
                return np.stack([1 - p, p], 1)
            cols = [
                np.asarray(model.predict_proba_marginalized(self._binary(L, c)), dtype=np.float64)
                for c, model in enumerate(self.models)
            ]
        p = np.nan_to_num(np.stack(cols, 1), nan=-np.inf)  # WRENCH: softmax of the marginals
        p = np.exp(p - np.max(np.where(np.isfinite(p), p, -1e300), 1, keepdims=True))
        return p / p.sum(1, keepdims=True)


class WeaksupPeer:
    """weaksup's ``MulticlassLabelModel`` with the given options."""

    def __init__(self, k: int, **options):
        self.k, self.options = k, options

    def fit(self, L, class_balance):
        from weaksup.multiclass import MulticlassLabelModel

        self.model = MulticlassLabelModel(self.k, **self.options).fit(L, class_balance=class_balance)
        return self

    def predict_proba(self, L):
        return np.asarray(self.model.predict_proba(np.asarray(L)), dtype=np.float64)


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------
@dataclass
class Method:
    """A named method: ``make(k, seed)`` builds an object with
    ``fit(L, class_balance)`` and ``predict_proba(L)``."""

    name: str
    make: Callable
    seeds: int = 1  # > 1: randomised, reported as mean and std


def default_methods(seeds: int = 5, weaksup_variants: Optional[Dict[str, Dict]] = None) -> List[Method]:
    """weaksup's model(s), then the peers. ``weaksup_variants`` maps a row name
    to ``MulticlassLabelModel`` options (default: the default model and the
    FlyingSquid method)."""
    if weaksup_variants is None:
        weaksup_variants = {"weaksup (default)": {}, "weaksup (method='flyingsquid')": {"method": "flyingsquid"}}
    methods = [Method(name, (lambda opts: lambda k, seed: WeaksupPeer(k, **opts))(opts))
               for name, opts in weaksup_variants.items()]
    methods.append(Method("majority vote (WRENCH)", lambda k, seed: _LocalMV(k, uniform_empty=True)))
    if _majority_vote(2)[1] == "weaksup.baselines":
        methods.append(Method("majority vote (weaksup.baselines)", lambda k, seed: _majority_vote(k)[0]))
    methods += [
        Method("Dawid-Skene", lambda k, seed: DawidSkene(k)),
        Method("Snorkel", lambda k, seed: SnorkelPeer(k, seed), seeds=seeds),
        Method("FlyingSquid (upstream)", lambda k, seed: FlyingSquidPeer(k)),
    ]
    return methods


def evaluate(task: Task, method: Method, keep: Optional[Dict] = None, no_gold: bool = False) -> Dict:
    """Fit ``method`` ``method.seeds`` times on ``task``; one table row.
    ``keep``, if given, receives the test probabilities of the first seed
    under ``(task.name, method.name)``. ``no_gold``: the method gets no
    class balance (``None``)."""
    scores, eces, times = [], [], []
    for seed in range(method.seeds):
        model = method.make(task.cardinality, seed)
        start = time.perf_counter()
        model.fit(task.L_train, None if no_gold else task.class_balance)
        times.append(time.perf_counter() - start)
        proba = np.asarray(model.predict_proba(task.L_test), dtype=np.float64)
        if proba.shape != (task.L_test.shape[0], task.cardinality) or not np.isfinite(proba).all():
            raise RuntimeError(f"{method.name} returned bad probabilities on {task.name}")
        if keep is not None and seed == 0:
            keep[(task.name, method.name)] = proba
        scores.append(score(task.metric, task.Y_test, proba))
        eces.append(ece(task.Y_test, proba))
    return {
        "dataset": task.name,
        "metric": task.metric,
        "method": method.name,
        "score": float(np.mean(scores)),
        "score_std": float(np.std(scores)) if len(scores) > 1 else 0.0,
        "ece": float(np.mean(eces)),
        "fit_s": float(np.median(times)),
        "seeds": method.seeds,
        "regime": "no gold" if no_gold else "gold balance",
    }


def run(tasks: Optional[Sequence[Task]] = None, methods: Optional[Sequence[Method]] = None,
        verbose: bool = False, keep: Optional[Dict] = None, no_gold: bool = False):
    """Evaluate every method on every task; return a pandas DataFrame.
    ``keep``: a dict that receives every method's test probabilities;
    ``no_gold``: no method gets a class balance."""
    import pandas as pd

    tasks = default_tasks() if tasks is None else tasks
    methods = default_methods() if methods is None else methods
    rows = []
    for task in tasks:
        for method in methods:
            row = evaluate(task, method, keep, no_gold=no_gold)
            rows.append(row)
            if verbose:
                print(f"{row['dataset']:10s} {row['method']:34s} {row['score']:6.2f} ±{row['score_std']:4.2f}"
                      f"  ECE {row['ece']:5.2f}  fit {row['fit_s']:.3f}s", flush=True)
    return pd.DataFrame(rows)


def paired_bootstrap(task: Task, proba_a: np.ndarray, proba_b: np.ndarray, n_boot: int = 2000, seed: int = 0):
    """Score of ``a`` minus score of ``b`` on resamples of the test items:
    ``(difference, low, high)``, the 95% percentile interval, in points."""
    rng = np.random.default_rng(seed)
    pa, pb = predictions(proba_a), predictions(proba_b)
    n = len(task.Y_test)
    diffs = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        y = task.Y_test[idx]
        diffs.append(_score_pred(task.metric, y, pa[idx]) - _score_pred(task.metric, y, pb[idx]))
    point = _score_pred(task.metric, task.Y_test, pa) - _score_pred(task.metric, task.Y_test, pb)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(point), float(low), float(high)


def _score_pred(metric, Y, pred):
    if metric == "acc":
        return 100.0 * float((pred == Y).mean())
    tp = float(((pred == 1) & (Y == 1)).sum())
    return 100.0 * 2 * tp / max(1.0, float((pred == 1).sum() + (Y == 1).sum()))


def transductive_tasks() -> List[Task]:
    """youtube and trec scored on their *train* split's gold labels (the label
    models never see labels, so the split they are fitted on is a fair and
    much larger test: 1,686 and 5,033 items against 250 and 500)."""
    from weaksup.datasets import load_wrench_splits

    tasks = []
    for name in ("youtube", "trec"):
        splits = load_wrench_splits(DATA / "wrench" / name)
        train, valid = splits["train"], splits["valid"]
        k = len(train.label_names)
        tasks.append(Task(
            name=f"{name}-train", L_train=np.asarray(train.L), L_test=np.asarray(train.L), Y_test=np.asarray(train.Y),
            class_balance=wrench_balance(valid.Y, k), cardinality=k, metric="acc",
            note=f"fitted and scored on train ({train.L.shape[0]} items)",
        ))
    tennis = load_tennis_task()
    tasks.append(Task(
        name="tennis-dev", L_train=tennis.L_test, L_test=tennis.L_test, Y_test=tennis.Y_test,
        class_balance=tennis.class_balance, cardinality=2, metric="acc",
        note=f"fitted and scored on dev ({tennis.L_test.shape[0]} items; the training votes have no labels)",
    ))
    return tasks


def synthetic_tasks(n: Optional[int] = None, seed: int = 0) -> List[Task]:
    """The regimes of :data:`weaksup.synthetic.REGIMES`, fitted and scored on
    the same items; the gold balance is the generator's."""
    from weaksup.synthetic import REGIMES

    tasks = []
    for name, (generator, options) in REGIMES.items():
        options = dict(options, seed=seed, **({} if n is None else {"n": n}))
        L, Y, params = generator(**options)
        uncovered = float((L < 0).all(1).mean())
        tasks.append(Task(
            name=name, L_train=L, L_test=L, Y_test=Y, class_balance=params.class_balance,
            cardinality=params.cardinality, metric="acc",
            note=f"{L.shape[0]} items, {L.shape[1]} LFs, {params.cardinality} classes, {uncovered:.0%} without a vote",
        ))
    return tasks


def pivot_markdown(df, reference: str = "majority vote (WRENCH)") -> str:
    """One row per dataset, one column per method, then weaksup's default
    minus majority vote and minus the best peer (points)."""
    methods = list(dict.fromkeys(df["method"]))
    peers = [m for m in methods if not m.startswith("weaksup")]
    head = "| dataset | " + " | ".join(methods) + " | default - MV | default - best peer |"
    lines = [head, "|" + "---|" * (len(methods) + 3)]
    for name in dict.fromkeys(df["dataset"]):
        sub = df[df["dataset"] == name].set_index("method")["score"]
        best_peer = max(sub[m] for m in peers)
        cells = []
        for m in methods:
            text = f"{sub[m]:.2f}"
            cells.append(f"**{text}**" if sub[m] >= max(sub) - 1e-9 else text)
        default = sub["weaksup (default)"]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {default - sub[reference]:+.2f} | {default - best_peer:+.2f} |")
    return "\n".join(lines)


def markdown(df) -> str:
    """The table: one row per dataset and method."""
    lines = ["| dataset (metric) | method | score | ECE | fit (s) |", "|---|---|---|---|---|"]
    for _, r in df.iterrows():
        spread = f" ± {r['score_std']:.2f} ({r['seeds']} seeds)" if r["seeds"] > 1 else ""
        lines.append(f"| {r['dataset']} ({r['metric']}) | {r['method']} | {r['score']:.2f}{spread} | "
                     f"{r['ece']:.2f} | {r['fit_s']:.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wrench", action="append", default=[], help="a WRENCH dataset folder (repeatable)")
    parser.add_argument("--metric", action="append", default=[], help="acc or f1, one per --wrench (default acc)")
    parser.add_argument("--no-defaults", action="store_true", help="skip youtube, trec and tennis")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of randomised methods (Snorkel)")
    parser.add_argument("--json", help="write the rows to this file")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table at the end")
    parser.add_argument("--transductive", action="store_true", help="also score youtube and trec on their train split")
    parser.add_argument("--no-gold", action="store_true",
                        help="no method gets a class balance; also score every dataset on its fitting split")
    parser.add_argument("--synthetic", action="store_true", help="add the regimes of weaksup.synthetic.REGIMES")
    parser.add_argument("--synthetic-n", type=int, default=None, help="items per synthetic regime (default: theirs)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for every method (default 1: label models work on small matrices)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    tasks = [] if args.no_defaults else default_tasks()
    metrics = args.metric + ["acc"] * (len(args.wrench) - len(args.metric))
    tasks += [load_wrench_task(p, m) for p, m in zip(args.wrench, metrics)]
    if args.transductive or args.no_gold:
        tasks += transductive_tasks()
    if args.synthetic:
        tasks += synthetic_tasks(args.synthetic_n)
    df = run(tasks, default_methods(args.seeds), verbose=True, no_gold=args.no_gold)
    if args.json:
        Path(args.json).write_text(json.dumps(df.to_dict("records"), indent=1))
    if args.markdown:
        print(markdown(df))
        print()
        print(pivot_markdown(df))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
