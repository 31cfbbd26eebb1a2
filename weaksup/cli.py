"""The ``weaksup`` command line.

    weaksup demo                                        end to end on the bundled youtube data
    weaksup analyze VOTES [--gold LABELS] [--plot PNG]   the labeling-function table
    weaksup fit VOTES --out PROBS                       probabilistic labels

``VOTES`` is a file (.npy, .csv, .jsonl; see :mod:`weaksup.io`) or the name of
a bundled dataset (``youtube``). ``--convention`` says how to read the votes:
``flyingsquid`` (+1/-1, 0 = abstain) or ``snorkel`` (-1 = abstain, classes
0..k-1); without it the votes must make it plain (a class id of 2 or more).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

BUNDLED = ("youtube",)


def _data_lines(path: str, *, header_possible: bool) -> List[int]:
    """1-based line numbers of the data rows of a .csv/.jsonl file (blank lines
    and a non-numeric first line skipped, as :mod:`weaksup.io` reads them)."""
    lines = []
    with open(path, newline="") as f:
        for line_no, line in enumerate(f, start=1):
            text = line.strip()
            if not text:
                continue
            if line_no == 1 and header_possible and Path(path).suffix.lower() == ".csv":
                try:
                    [float(x) for x in text.split(",")]
                except ValueError:
                    continue
            lines.append(line_no)
    return lines


def _where(path: str, row: int, column: Optional[int] = None, *, header_possible: bool = True) -> str:
    """``"PATH: line L, column C"`` for text files, ``"PATH: row R, column C"`` for .npy (1-based)."""
    col = f", column {column + 1}" if column is not None else ""
    if Path(path).suffix.lower() == ".npy":
        return f"{path}: row {row + 1}{col}"
    lines = _data_lines(path, header_possible=header_possible)
    return f"{path}: line {lines[row] if row < len(lines) else row + 1}{col}"


def _read_gold(path: str) -> np.ndarray:
    """Gold labels through :func:`weaksup.io.read_labels`, with the file and line
    in every error."""
    from .io import read_labels

    try:
        return read_labels(path)
    except (json.JSONDecodeError, KeyError, TypeError):
        pass
    with open(path) as f:  # locate what read_labels tripped over
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}: line {line_no}: not valid JSON ({err.msg})") from None
            if isinstance(obj, dict) and "label" not in obj:
                raise ValueError(f"{path}: line {line_no}: expected an integer label or an object with 'label'")
            if not isinstance(obj, (int, dict)):
                raise ValueError(f"{path}: line {line_no}: expected an integer label, got {type(obj).__name__}")
    raise ValueError(f"{path}: expected one integer gold label per line")


def _check_votes_file(L: np.ndarray, path: str, convention: str, cardinality: Optional[int]) -> None:
    """Refuse votes outside the convention, naming the file, line and column."""
    if convention == "flyingsquid":
        bad = np.abs(L) > 1
        expected = "a FlyingSquid vote -1, 0 (abstain) or +1"
        hint = " (class ids of 2 or more: pass --convention snorkel)" if (L >= 2).any() else ""
    else:
        bad = (L < -1) | ((L >= cardinality) if cardinality else False)
        expected = "a Snorkel/WRENCH vote -1 (abstain)" + (f" or a class id 0..{cardinality - 1}" if cardinality else " or a class id >= 0")
        hint = ""
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"{_where(path, int(row), int(col))}: expected {expected}, got {int(L[row, col])}{hint}")


def _check_gold(Y: np.ndarray, path: str, convention: str, cardinality: int) -> None:
    if convention == "flyingsquid":
        bad, expected = (Y != 1) & (Y != -1), "a gold label -1 or +1 (FlyingSquid convention, as the votes)"
    else:
        bad, expected = (Y < 0) | (Y >= cardinality), f"a gold class id 0..{cardinality - 1} (Snorkel convention, as the votes)"
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{_where(path, row, header_possible=True)}: expected {expected}, got {int(Y[row])}")


def _load(args) -> dict:
    """Votes, gold, names and convention from a file or a bundled dataset."""
    if args.votes in BUNDLED:
        from .datasets import load_youtube
        from .demo import YOUTUBE_LF_NAMES

        train = load_youtube(args.split)
        return dict(L=train.L, Y=train.Y, lf_names=YOUTUBE_LF_NAMES, convention="snorkel",
                    cardinality=train.cardinality, label_names=train.label_names)
    from .io import read_votes

    L, names, gold = read_votes(args.votes)
    gold_path = args.votes
    if getattr(args, "gold", None):
        gold, gold_path = _read_gold(args.gold), args.gold
        if len(gold) != len(L):
            raise ValueError(f"{args.gold}: {len(gold)} labels for {len(L)} rows of votes in {args.votes}")
    convention = args.convention
    if convention is None:
        if L.size and int(L.max()) >= 2:
            convention = "snorkel"
        else:
            raise ValueError(
                f"{args.votes}: cannot tell the vote convention: the votes lie in {{-1, 0, 1}}, which reads "
                "as FlyingSquid's (+1/-1, 0 = abstain) and as Snorkel/WRENCH's (-1 = abstain, classes 0 and 1). "
                "Pass --convention flyingsquid or --convention snorkel."
            )
    _check_votes_file(L, args.votes, convention, args.cardinality)
    k = args.cardinality or (2 if convention == "flyingsquid" else max(2, int(L.max()) + 1))
    if gold is not None:
        if convention == "snorkel" and not args.cardinality and gold.size:
            k = max(k, int(gold.max()) + 1)  # a class that no LF votes for
        _check_gold(gold, gold_path, convention, k)
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
    if args.plot and data["Y"] is None:
        raise ValueError(f"--plot compares estimated with empirical accuracies: pass --gold LABELS for {args.votes}")
    if args.plot and Path(args.plot).suffix.lower() != ".png":
        raise ValueError(f"{args.plot}: --plot writes a PNG image; name it *.png")
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
    from .io import SUFFIXES, write_probabilities

    suffix = Path(args.out).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{args.out}: unknown output type {suffix!r}; expected one of {', '.join(SUFFIXES)}")
    if not Path(args.out).resolve().parent.is_dir():
        raise FileNotFoundError(f"{args.out}: the folder {Path(args.out).parent} does not exist")
    data = _load(args)
    model = _fit(data)
    probs = np.asarray(model.predict_proba(data["L"]))
    names = data["label_names"] or (["p_-1", "p_+1"] if data["convention"] == "flyingsquid" else None)
    write_probabilities(args.out, probs, names)
    print(f"wrote {probs.shape[0]} x {probs.shape[1]} probabilities to {args.out}")
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    run_demo(epochs=args.epochs, seed=args.seed, progress=not args.no_progress)
    return 0


CONVENTIONS_HELP = """vote conventions (--convention):
  flyingsquid  binary: +1 / -1, 0 = abstain; gold labels -1 / +1
  snorkel      Snorkel/WRENCH: -1 = abstain, classes 0..k-1; gold labels 0..k-1
votes with a class id of 2 or more are read as snorkel; otherwise say which."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="weaksup", description="Weak supervision from labeling-function votes.",
        epilog="examples:\n  weaksup demo\n  weaksup analyze youtube\n"
               "  weaksup fit votes.npy --convention flyingsquid --out probs.csv\n\n" + CONVENTIONS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{demo,analyze,fit}")

    p = sub.add_parser(
        "demo", help="end to end on the bundled youtube data: LF table, label model, end model (offline, CPU)",
        description="On the bundled YouTube spam data: the labeling-function table, the label model against "
                    "majority vote, an end model trained online with FSLoss, and a table of test accuracies "
                    "(the same end model on gold labels as the ceiling). Offline, CPU.",
    )
    p.add_argument("--epochs", type=int, default=5, help="passes of the end model over the data (default: 5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)

    def votes_args(p):
        p.add_argument("votes", metavar="VOTES",
                       help="votes file (.npy, .csv, .jsonl; one row per item, one column per LF) "
                            f"or a bundled dataset: {', '.join(BUNDLED)}")
        p.add_argument("--convention", choices=("flyingsquid", "snorkel"),
                       help="flyingsquid: +1/-1 with 0 = abstain; snorkel: -1 = abstain, classes 0..k-1")
        p.add_argument("--cardinality", type=int, help="number of classes (snorkel convention); default: largest vote + 1")
        p.add_argument("--split", default="train", help="split of a bundled dataset (default: train)")

    p = sub.add_parser("analyze", help="fit the label model and print the labeling-function table",
                       epilog=CONVENTIONS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    votes_args(p)
    p.add_argument("--gold", metavar="LABELS",
                   help="gold labels (.npy, .csv, .jsonl; one per item, in the votes' convention), for empirical accuracies")
    p.add_argument("--plot", metavar="PNG", help="write a plot of estimated vs empirical accuracies")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("fit", help="fit the label model and write probabilistic labels",
                       epilog=CONVENTIONS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
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
