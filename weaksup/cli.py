"""The ``weaksup`` command line.

    weaksup demo                                        end to end on the bundled youtube data
    weaksup analyze VOTES [--gold LABELS] [--plot PNG]   the labeling-function table (and pictures)
    weaksup fit VOTES --out PROBS                       probabilistic labels
    weaksup apply LFS.py ITEMS --out VOTES              run a module of labeling functions over a file

``VOTES`` is a file (.npy, .csv, .jsonl; see :mod:`weaksup.io`), a WRENCH
dataset folder or split file (``path/to/sms``, ``path/to/sms/train.json``),
or the name of a bundled dataset (``youtube``). ``--convention`` says how to
read the votes: ``flyingsquid`` (+1/-1, 0 = abstain) or ``snorkel`` (-1 =
abstain, classes 0..k-1); without it the votes must make it plain (a class id
of 2 or more). Errors are one line naming the file, exit status 2.

The module imports nothing heavy: torch, pandas and matplotlib load inside
the commands, so ``weaksup --help`` is quick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, List, Optional

BUNDLED = ("youtube",)
MAX_CLASSES = 100  # more classes than this, read off the votes, need --cardinality
MAX_CARDINALITY = 100_000


def _where(path: str, row: int, column: Optional[int] = None) -> str:
    """``"PATH: line L, column C"`` for text files, ``"PATH: row R, column C"`` otherwise (1-based)."""
    col = f", column {column + 1}" if column is not None else ""
    if Path(path).suffix.lower() not in (".csv", ".jsonl"):
        return f"{path}: row {row + 1}{col}"
    lines = []
    header_possible = Path(path).suffix.lower() == ".csv"
    with open(path, newline="", encoding="utf-8-sig") as f:  # the file was read before: it is text
        for line_no, line in enumerate(f, start=1):
            text = line.strip()
            if not text:
                continue
            if line_no == 1 and header_possible:
                try:
                    [float(x) for x in text.split(",")]
                except ValueError:
                    continue
            lines.append(line_no)
    return f"{path}: line {lines[row] if row < len(lines) else row + 1}{col}"


def _check_votes(L, path: str, convention: str, cardinality: Optional[int]) -> None:
    """Refuse votes outside the convention, naming the file, line and column."""
    import numpy as np

    if convention == "flyingsquid":
        bad = np.abs(L) > 1
        expected = "a FlyingSquid vote -1, 0 (abstain) or +1"
        hint = " (class ids of 2 or more: pass --convention snorkel)" if (L >= 2).any() else ""
    else:
        bad = (L < -1) | ((L >= cardinality) if cardinality else False)
        expected = "a Snorkel/WRENCH vote -1 (abstain)" + (
            f" or a class id 0..{cardinality - 1}" if cardinality else " or a class id >= 0")
        hint = ""
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"{_where(path, int(row), int(col))}: expected {expected}, got {int(L[row, col])}{hint}")


def _check_gold(Y, path: str, convention: str, cardinality: int) -> None:
    import numpy as np

    if convention == "flyingsquid":
        bad, expected = (Y != 1) & (Y != -1), "a gold label -1 or +1 (FlyingSquid convention, as the votes)"
    else:
        bad, expected = (Y < 0) | (Y >= cardinality), \
            f"a gold class id 0..{cardinality - 1} (Snorkel convention, as the votes)"
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{_where(path, row)}: expected {expected}, got {int(Y[row])}")


def _read_wrench(path: str, split: str):
    """A WRENCH folder (its ``split``) or split file, as a WeakDataset; None for other paths."""
    from .datasets import load_wrench

    p = Path(path)
    if p.is_dir():
        if not (p / "label.json").is_file():
            raise ValueError(f"{path}: is a folder without label.json: expected a votes file "
                             "(.npy, .csv, .jsonl) or a WRENCH dataset folder (label.json, train.json, ...)")
        return load_wrench(p, split)
    if p.suffix.lower() == ".json":
        from .io import check_input_file

        check_input_file(p, "a WRENCH split file")
        if not (p.parent / "label.json").is_file():
            raise ValueError(f"{path}: a .json file is read as a WRENCH split, which needs label.json (class id -> "
                             f"name) beside it, in {p.parent}; for a plain votes file use .npy, .csv or .jsonl")
        return load_wrench(p.parent, p.stem)
    return None


def _read_gold(path: str, split: str):
    from .io import read_labels

    wrench = _read_wrench(path, split)
    if wrench is not None:
        if wrench.Y is None:
            raise ValueError(f"{path}: the WRENCH data has no gold labels")
        return wrench.Y
    return read_labels(path)


def _cardinality(L, Y, path: str, args) -> int:
    """The number of classes: --cardinality, else the largest class id + 1, refused beyond MAX_CLASSES."""
    if args.cardinality:
        return args.cardinality
    largest = max(int(L.max()) if L.size else 1, int(Y.max()) if Y is not None and Y.size else 1)
    if largest >= MAX_CLASSES:
        raise ValueError(f"{path}: the largest class id is {largest}, which makes {largest + 1} classes; more than "
                         f"{MAX_CLASSES} classes read off the votes is refused as a likely error: if it is right, "
                         f"pass --cardinality {largest + 1}")
    return max(2, largest + 1)


def _load(args) -> dict:
    """Votes, gold, names and convention from a file, a WRENCH folder or a bundled dataset."""
    source = args.votes
    if source in BUNDLED and not Path(source).exists():
        from .datasets import YOUTUBE_LF_NAMES, load_youtube

        ds, names = load_youtube(args.split), YOUTUBE_LF_NAMES
    else:
        ds, names = _read_wrench(source, args.split), None
    if ds is not None:
        L, gold, label_names, convention = ds.L, ds.Y, ds.label_names, "snorkel"
        if args.convention == "flyingsquid":
            raise ValueError(f"{source}: WRENCH data uses the snorkel convention (-1 = abstain); drop --convention")
        if args.cardinality and args.cardinality != ds.cardinality:
            raise ValueError(f"{source}: --cardinality {args.cardinality} disagrees with the dataset's "
                             f"{ds.cardinality} classes {ds.label_names}")
        k = ds.cardinality
    else:
        from .io import read_votes

        L, names, gold = read_votes(source)
        label_names, convention = None, args.convention
        if convention is None:
            if int(L.max()) >= 2:
                convention = "snorkel"
            else:
                raise ValueError(
                    f"{source}: cannot tell the vote convention: the votes lie in {{-1, 0, 1}}, which reads as "
                    "FlyingSquid's (+1/-1, 0 = abstain) and as Snorkel/WRENCH's (-1 = abstain, classes 0 and 1). "
                    "Pass --convention flyingsquid or --convention snorkel.")
        if convention == "flyingsquid" and args.cardinality not in (None, 2):
            raise ValueError(f"--cardinality {args.cardinality}: FlyingSquid votes (+1/-1) have 2 classes")
        k = 2 if convention == "flyingsquid" else None
    gold_path = source
    if getattr(args, "gold", None):
        gold, gold_path = _read_gold(args.gold, args.split), args.gold
        if len(gold) != len(L):
            raise ValueError(f"{args.gold}: {len(gold)} labels for {len(L)} rows of votes in {source}")
    if k is None:
        k = _cardinality(L, gold, source, args)
    _check_votes(L, source, convention, k)
    if gold is not None:
        _check_gold(gold, gold_path, convention, k)
    return dict(L=L, Y=gold, lf_names=names, convention=convention, cardinality=k, label_names=label_names,
                class_balance=_class_balance(args, convention, k))


def _class_balance(args, convention: str, k: int):
    """--class-balance / --dev-labels through the one class-balance rule; None = estimate."""
    text, dev_path = getattr(args, "class_balance", None), getattr(args, "dev_labels", None)
    if text is None and dev_path is None:
        return None
    from .class_balance import resolve_class_balance

    balance: Any = None
    if text is not None:
        if text.strip().lower() == "uniform":
            balance = "uniform"
        else:
            try:
                balance = [float(x) for x in text.split(",")]
            except ValueError:
                raise ValueError(f"--class-balance: expected 'uniform' or {k} comma-separated numbers "
                                 f"(for example {','.join(['0.5'] * 2)}), got {text!r}") from None
        if dev_path is not None:
            raise ValueError("--class-balance and --dev-labels both set the class balance: give one")
    Y_dev = None
    if dev_path is not None:
        Y_dev = _read_gold(dev_path, "valid")
        _check_gold(Y_dev, dev_path, convention, k)
    try:
        return resolve_class_balance(balance, Y_dev, cardinality=k, convention=convention)
    except (ValueError, TypeError) as err:
        option = "--class-balance" if text is not None else f"--dev-labels {dev_path}"
        raise ValueError(f"{option}: {err}") from None


def _fit(data: dict, source: str):
    from ._factory import make_label_model

    try:
        model = make_label_model(data["convention"], data["cardinality"], data["L"].shape[1])
        model.fit(data["L"], class_balance=data["class_balance"])
    except (ValueError, TypeError) as err:
        raise ValueError(f"{source}: cannot fit the label model on these votes: {err}") from None
    return model


def _as_classes(pred, convention: str):
    import numpy as np

    pred = np.asarray(pred).reshape(len(pred), -1)[:, 0]
    return (pred + 1) // 2 if convention == "flyingsquid" else pred


def _check_plot_path(path: Optional[str]) -> None:
    """Before any work: the plot file can be written and matplotlib is there."""
    if not path:
        return
    import importlib.util

    from .io import check_writable

    if Path(path).suffix.lower() != ".png":
        raise ValueError(f"{path}: --plot writes a PNG image; name it *.png")
    check_writable(Path(path))
    if importlib.util.find_spec("matplotlib") is None:
        raise ValueError("--plot needs matplotlib: pip install 'weaksup[plot]'")


def cmd_analyze(args) -> int:
    _check_plot_path(args.plot)
    data = _load(args)
    import numpy as np
    import pandas as pd

    from .analysis import lf_summary

    model = _fit(data, args.votes)
    table = lf_summary(data["L"], Y=data["Y"], model=model, convention=data["convention"],
                       cardinality=data["cardinality"], lf_names=data["lf_names"])
    with pd.option_context("display.width", 120, "display.max_rows", 500, "display.precision", 3):
        print(table.to_string())
    if data["Y"] is not None:
        from .baselines import MajorityVote
        from .conventions import check_labels

        gold = check_labels(data["Y"], convention=data["convention"], cardinality=data["cardinality"]).numpy()
        mv = MajorityVote(cardinality=data["cardinality"], convention=data["convention"]).fit(data["L"])
        lm_pred = _as_classes(model.predict(data["L"]), data["convention"])
        mv_pred = _as_classes(mv.predict(data["L"]), data["convention"])
        print(f"\naccuracy on the {len(gold)} gold-labelled items: "
              f"label model {np.mean(lm_pred == gold):.3f}, majority vote {np.mean(mv_pred == gold):.3f}")
        # how well the estimates rank the LFs: what finds the bad LF (issue 10.4)
        for key, column in (("agreement_rank_correlation", "agree_acc"), ("accuracy_rank_correlation", "est_acc")):
            if key in table.attrs:
                print(f"rank correlation of {column} with emp_acc (Spearman): {table.attrs[key]:.3f}")
    if args.plot:
        from .plot import plot_report

        fig = plot_report(data["L"], Y=data["Y"], model=model, convention=data["convention"],
                          cardinality=data["cardinality"], lf_names=list(table.index))
        try:
            fig.savefig(args.plot, dpi=110)
        except OSError as err:
            raise ValueError(f"{args.plot}: cannot be written ({err.strerror or err})") from None
        print(f"plot written to {args.plot}")
    return 0


def cmd_fit(args) -> int:
    from .io import check_output_file, write_probabilities

    check_output_file(args.out)
    data = _load(args)
    import numpy as np

    model = _fit(data, args.votes)
    probs = np.asarray(model.predict_proba(data["L"]))
    names = data["label_names"] or (["p_-1", "p_+1"] if data["convention"] == "flyingsquid" else None)
    write_probabilities(args.out, probs, names)
    print(f"wrote {probs.shape[0]} x {probs.shape[1]} probabilities to {args.out}")
    return 0


def cmd_apply(args) -> int:
    from .io import check_output_file, read_items, write_matrix
    from .lf import apply_lfs, load_lfs

    check_output_file(args.out)
    lfs, module_labels = load_lfs(args.lfs)
    labels = [x.strip() for x in args.labels.split(",")] if args.labels else module_labels
    items = read_items(args.items)
    import numpy as np

    votes = apply_lfs(lfs, items, labels=labels, n_jobs=args.n_jobs, progress=not args.no_progress,
                      errors=args.errors)
    write_matrix(args.out, np.asarray(votes), votes.lf_names)
    failed = "".join(f", {name}: {n} failures" for name, n in zip(votes.lf_names, votes.n_failures) if n)
    print(f"wrote {votes.shape[0]} x {votes.shape[1]} votes to {args.out} "
          f"(LFs: {', '.join(votes.lf_names)}{failed})")
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


def _int_at_least(minimum: int, maximum: Optional[int] = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be an integer <= {maximum}, got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="weaksup", description="Weak supervision from labeling-function votes.",
        epilog="examples:\n  weaksup demo\n  weaksup analyze youtube --plot lfs.png\n  weaksup analyze path/to/sms\n"
               "  weaksup fit votes.npy --convention flyingsquid --out probs.csv\n"
               "  weaksup apply lfs.py comments.jsonl --out votes.npy\n\n" + CONVENTIONS_HELP,
        formatter_class=fmt,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{demo,analyze,fit,apply}")

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
                       help="votes file (.npy, .csv, .jsonl; one row per item, one column per LF), a WRENCH "
                            f"folder or split .json file, or a bundled dataset: {', '.join(BUNDLED)}")
        p.add_argument("--convention", choices=("flyingsquid", "snorkel"),
                       help="flyingsquid: +1/-1 with 0 = abstain; snorkel: -1 = abstain, classes 0..k-1")
        p.add_argument("--cardinality", type=_int_at_least(2, MAX_CARDINALITY),
                       help=f"number of classes (snorkel convention); default: largest class id + 1, "
                            f"refused above {MAX_CLASSES} classes")
        p.add_argument("--split", default="train", help="split of a WRENCH folder or bundled dataset (default: train)")
        p.add_argument("--class-balance", metavar="P",
                       help="class priors: 'uniform' or k comma-separated numbers (normalised); "
                            "default: estimated from the votes")
        p.add_argument("--dev-labels", metavar="LABELS",
                       help="gold labels of a labelled sample (.npy, .csv, .jsonl, WRENCH .json), whose class "
                            "frequencies set the class balance")

    p = sub.add_parser("analyze", help="fit the label model and print the labeling-function table",
                       epilog=CONVENTIONS_HELP, formatter_class=fmt)
    votes_args(p)
    p.add_argument("--gold", metavar="LABELS",
                   help="gold labels (.npy, .csv, .jsonl, WRENCH .json; one per item, in the votes' convention), "
                        "for empirical accuracies")
    p.add_argument("--plot", metavar="PNG",
                   help="write pictures: coverage/overlap/conflict; with gold also estimated vs empirical "
                        "accuracy and a calibration diagram (needs weaksup[plot])")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("fit", help="fit the label model and write probabilistic labels",
                       epilog=CONVENTIONS_HELP, formatter_class=fmt)
    votes_args(p)
    p.add_argument("--out", metavar="PROBS", required=True, help="output file (.npy, .csv or .jsonl), one row per item")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser(
        "apply", help="run a module of labeling functions over a file of items and write the votes",
        description="Imports LFS.py, collects its labeling functions (weaksup.lf.LabelingFunction objects, "
                    "for example made with @labeling_function, in the order they are defined) and runs them "
                    "over ITEMS: .jsonl (one JSON value per line), .csv (rows with a header), .txt (one text "
                    "per line), .json (a WRENCH split: each item's \"data\"). A list LABELS = [...] in the module names the classes (LFs may return names). "
                    "Votes: -1 = abstain, classes 0..k-1 (snorkel convention).", formatter_class=fmt)
    p.add_argument("lfs", metavar="LFS.py", help="Python file defining the labeling functions")
    p.add_argument("items", metavar="ITEMS", help="items file (.jsonl, .csv, .txt, WRENCH .json)")
    p.add_argument("--out", metavar="VOTES", required=True,
                   help="output file: .npy, .csv (header: LF names) or .jsonl")
    p.add_argument("--labels", metavar="NAMES", help="comma-separated class names (default: LABELS in LFS.py)")
    p.add_argument("--n-jobs", type=_int_at_least(1), default=1, help="processes (default: 1)")
    p.add_argument("--errors", choices=("raise", "abstain"), default="raise",
                   help="an LF that raises: stop (raise, the default) or count it as an abstain")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_apply)
    return parser


def _one_line(err: BaseException) -> str:
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        return f"{err.filename}: {err.strerror}"
    text = " ".join(str(err).split())
    return text or type(err).__name__


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .lf import LabelingFunctionError

    try:
        return args.func(args)
    except (ValueError, TypeError, OSError, LabelingFunctionError, MemoryError) as err:
        print(f"weaksup {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"weaksup {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
