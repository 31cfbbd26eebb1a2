"""Prepare the YouTube data, train with ``spacy train``, score on the test split.

    python run.py --output runs/youtube

1. ``prepare``: DocBins from the youtube data bundled with weaksup:
   ``train.spacy`` (the 1,586 distinct train comments, *texts only*: no
   labels, no votes), ``dev.spacy`` and ``test.spacy`` (with the gold
   ``cats``, used only for scoring).
2. ``train``: ``python -m spacy train config.cfg --code labeling_functions.py``;
   the labeling functions vote on the training docs as annotating components
   and ``weak_textcat`` learns from their votes.
3. ``score``: test accuracy of the trained pipeline (``model-last``: no gold
   label chose it), next to the label models fitted on the same votes of the
   train split (weaksup's ``MulticlassLabelModel`` and FlyingSquid
   ``LabelModel``) and majority vote.

Results go to ``<output>/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import spacy  # noqa: E402
from spacy.tokens import DocBin  # noqa: E402

import labeling_functions as lfs  # noqa: E402  (registers the LF factories)
import weaksup.spacy  # noqa: E402,F401  (registers weak_textcat)
from weaksup.datasets import load_youtube_splits  # noqa: E402
from weaksup.spacy import votes_matrix  # noqa: E402

LABELS = lfs.LABELS  # ["HAM", "SPAM"]: class 0 and 1, as in the bundled data


def prepare(corpus: Path) -> dict:
    """Write train/dev/test DocBins; return the splits (WeakDatasets)."""
    corpus.mkdir(parents=True, exist_ok=True)
    splits = load_youtube_splits()
    splits["train"] = splits["train"].subset(~splits["train"].labeled_mask)  # each comment once
    nlp = spacy.blank("en")
    for name, ds in splits.items():
        db = DocBin()
        for text, y in zip(ds.texts, ds.Y):
            doc = nlp.make_doc(text)
            if name != "train":  # gold labels only where they score
                doc.cats = {label: float(c == y) for c, label in enumerate(ds.label_names)}
            db.add(doc)
        db.to_disk(corpus / f"{'dev' if name == 'valid' else name}.spacy")
    return splits


def train(corpus: Path, output: Path, overrides: list) -> float:
    cmd = [
        sys.executable, "-m", "spacy", "train", str(HERE / "config.cfg"),
        "--code", str(HERE / "labeling_functions.py"), "--output", str(output),
        "--paths.train", str(corpus / "train.spacy"), "--paths.dev", str(corpus / "dev.spacy"),
        *overrides,
    ]
    start = time.perf_counter()
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")  # tiny tensors: one thread is fastest
    subprocess.run(cmd, check=True, env=env)
    return time.perf_counter() - start


def accuracy(proba: np.ndarray, y: np.ndarray) -> float:
    return float((np.asarray(proba).argmax(1) == y).mean())


def score(model_dir: Path, splits: dict) -> dict:
    test = splits["test"]
    # the classifier predicts from the text alone: the LF components are not needed
    clf = spacy.load(model_dir, exclude=lfs.LF_NAMES + ["entity_ruler"])
    cats = [doc.cats for doc in clf.pipe(test.texts)]
    proba = np.array([[c[label] for label in LABELS] for c in cats])
    # the LF part of the same pipeline: votes for the label-model baselines
    voters = spacy.load(model_dir, exclude=["textcat"])
    L_train = votes_matrix(voters.pipe(splits["train"].texts), lfs.LF_NAMES, LABELS)
    L_test = votes_matrix(voters.pipe(test.texts), lfs.LF_NAMES, LABELS)
    return {
        "spacy_pipeline": accuracy(proba, test.Y),
        "label_models": label_model_scores(L_train, L_test, test.Y),
    }


def label_model_scores(L_train: np.ndarray, L_test: np.ndarray, y: np.ndarray) -> dict:
    """Test accuracy of label models fitted on the train votes (no gold)."""
    from weaksup import LabelModel, convert_votes
    from weaksup.baselines import MajorityVote

    out = {}
    try:
        from weaksup.multiclass import MulticlassLabelModel

        mc = MulticlassLabelModel(cardinality=len(LABELS))
        mc.fit(L_train)
        out["MulticlassLabelModel"] = accuracy(mc.predict_proba(L_test), y)
    except ImportError:
        pass
    fs = LabelModel(L_train.shape[1]).fit(convert_votes(L_train, source="snorkel", target="flyingsquid"))
    out["LabelModel"] = accuracy(fs.predict_proba(convert_votes(L_test, source="snorkel", target="flyingsquid")), y)
    mv = MajorityVote(cardinality=len(LABELS), convention="snorkel").fit(L_train)
    out["MajorityVote"] = float((mv.predict(L_test) == y).mean())
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=HERE / "runs")
    parser.add_argument("--max-steps", type=int, default=None, help="override [training] max_steps")
    parser.add_argument("--seed", type=int, default=None, help="override [system] seed")
    args = parser.parse_args(argv)
    overrides = []
    if args.max_steps is not None:
        overrides += ["--training.max_steps", str(args.max_steps)]
    if args.seed is not None:
        overrides += ["--system.seed", str(args.seed)]
    corpus, model = args.output / "corpus", args.output / "model"
    splits = prepare(corpus)
    seconds = train(corpus, model, overrides)
    results = {"train_seconds": round(seconds, 1), **score(model / "model-last", splits)}
    results["model_best_note"] = "model-best was chosen on the gold dev split; model-last is scored above"
    (args.output / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
