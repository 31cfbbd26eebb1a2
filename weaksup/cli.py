"""The ``weaksup`` command line.

    weaksup analyze VOTES [--gold LABELS] [--plot PNG]   the labeling-function table
    weaksup fit VOTES --out PROBS                       probabilistic labels

``VOTES`` is a file (.npy, .csv, .jsonl; see :mod:`weaksup.io`) or the name of
a bundled dataset (``youtube``). ``--convention`` says how to read the votes:
``flyingsquid`` (+1/-1, 0 = abstain) or ``snorkel`` (-1 = abstain, classes
0..k-1); without it the votes must make it plain (a class id of 2 or more).
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

import numpy as np

BUNDLED = ("youtube",)


def _load(args) -> dict:
    """Votes, gold, names and convention from a file or a bundled dataset."""
    if args.votes in BUNDLED:
        from .datasets import load_youtube

        train = load_youtube(args.split)
        return dict(L=train.L, Y=train.Y, lf_names=None, convention="snorkel",
                    cardinality=train.cardinality, label_names=train.label_names)
    from .conventions import infer_convention
    from .io import read_labels, read_votes

    L, names, gold = read_votes(args.votes)
    if getattr(args, "gold", None):
        gold = read_labels(args.gold)
        if len(gold) != len(L):
            raise ValueError(f"{args.gold}: {len(gold)} labels for {len(L)} rows of votes in {args.votes}")
    convention = args.convention or infer_convention(L)
    k = args.cardinality or (2 if convention == "flyingsquid" else max(2, int(L.max()) + 1))
    return dict(L=L, Y=gold, lf_names=names, convention=convention, cardinality=k, label_names=None)


def make_model(convention: str, cardinality: int, n_lfs: int):
    """The default label model for votes of this convention and cardinality."""
    if convention == "flyingsquid":
        from .label_model import LabelModel

        return LabelModel(n_lfs)
    from .multiclass import MulticlassLabelModel

    return MulticlassLabelModel(cardinality)


def _fit(data: dict, class_balance=None):
    model = make_model(data["convention"], data["cardinality"], data["L"].shape[1])
    model.fit(data["L"], class_balance=class_balance)
    return model


def cmd_analyze(args) -> int:
    import pandas as pd

    from .analysis import lf_summary

    data = _load(args)
    model = _fit(data)
    table = lf_summary(data["L"], Y=data["Y"], model=model, convention=data["convention"],
                       cardinality=data["cardinality"], lf_names=data["lf_names"])
    with pd.option_context("display.width", 120, "display.max_rows", 500, "display.precision", 3):
        print(table.to_string())
    if data["Y"] is not None:
        from .baselines import MajorityVote
        from .conventions import check_labels

        gold = check_labels(data["Y"], convention=data["convention"], cardinality=data["cardinality"]).numpy()
        mv = MajorityVote(cardinality=data["cardinality"], convention=data["convention"]).fit(data["L"])
        lm_pred = np.asarray(_as_classes(model.predict(data["L"]), data["convention"]))
        mv_pred = np.asarray(_as_classes(mv.predict(data["L"]), data["convention"]))
        print(f"\naccuracy on the {len(gold)} gold-labelled items: "
              f"label model {np.mean(lm_pred == gold):.3f}, majority vote {np.mean(mv_pred == gold):.3f}")
    if args.plot:
        _plot(table, args.plot)
        print(f"plot written to {args.plot}")
    return 0


def _as_classes(pred, convention: str) -> np.ndarray:
    pred = np.asarray(pred).reshape(len(pred), -1)[:, 0]
    return (pred + 1) // 2 if convention == "flyingsquid" else pred


def _plot(table, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install matplotlib") from None
    if "emp_acc" not in table:
        raise SystemExit("--plot compares estimated with empirical accuracies: pass --gold LABELS")
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    emp = table["emp_acc"].astype(float)
    ax.scatter(emp, table["est_acc"], s=20 + 400 * table["coverage"])
    for name, x, y in zip(table.index, emp, table["est_acc"]):
        ax.annotate(name, (x, y), fontsize=7)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.set_xlabel("empirical accuracy (gold)")
    ax.set_ylabel("estimated accuracy (label model)")
    ax.set_title("labeling functions (size = coverage)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def cmd_fit(args) -> int:
    from .io import write_probabilities

    data = _load(args)
    model = _fit(data)
    probs = np.asarray(model.predict_proba(data["L"]))
    write_probabilities(args.out, probs, data["label_names"])
    print(f"wrote {probs.shape[0]} x {probs.shape[1]} probabilities to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="weaksup", description="Weak supervision from labeling-function votes.")
    sub = parser.add_subparsers(dest="command", required=True)

    def votes_args(p):
        p.add_argument("votes", metavar="VOTES",
                       help="votes file (.npy, .csv, .jsonl; one row per item, one column per LF) "
                            f"or a bundled dataset: {', '.join(BUNDLED)}")
        p.add_argument("--convention", choices=("flyingsquid", "snorkel"),
                       help="flyingsquid: +1/-1 with 0 = abstain; snorkel: -1 = abstain, classes 0..k-1")
        p.add_argument("--cardinality", type=int, help="number of classes (snorkel convention); default: largest vote + 1")
        p.add_argument("--split", default="train", help="split of a bundled dataset (default: train)")

    p = sub.add_parser("analyze", help="fit the label model and print the labeling-function table")
    votes_args(p)
    p.add_argument("--gold", metavar="LABELS", help="gold labels file, for empirical accuracies")
    p.add_argument("--plot", metavar="PNG", help="write a plot of estimated vs empirical accuracies")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("fit", help="fit the label model and write probabilistic labels")
    votes_args(p)
    p.add_argument("--out", metavar="PROBS", required=True, help="output file (.npy, .csv or .jsonl), one row per item")
    p.set_defaults(func=cmd_fit)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"weaksup {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
