"""``weaksup demo``: weak supervision end to end on the bundled YouTube data.

1. The labeling-function table (:func:`weaksup.analysis.lf_summary`), with the
   label model's estimated accuracies beside the empirical ones.
2. The label model against majority vote, on the test split.
3. An end model (a linear classifier over hashed word n-grams) trained online
   with :class:`weaksup.nn.FSLoss`: the loss refits the label model from a
   buffer of votes as training goes; no gold label is used.
4. The final table of test accuracies, with the same end model trained on the
   gold labels as the ceiling.

Offline and on CPU: the data ships with weaksup. Deterministic for a seed.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Dict, Optional, TextIO

import numpy as np
import pandas as pd
import torch

from .datasets import YOUTUBE_LF_NAMES



def _print(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")
    out.flush()


def _train_end_model(
    texts, targets, *, votes=None, epochs: int, batch_size: int, seed: int, lr: float,
    progress: bool, desc: str,
) -> Any:
    """Train a :class:`~weaksup.models.HashedNgramClassifier` (2 classes) with
    minibatch Adam: against ``FSLoss`` on ``votes`` (FlyingSquid convention), or
    against gold ``targets`` (0/1) when ``votes`` is None. The model starts at
    zero; ``seed`` drives the shuffling through its own generator."""
    from tqdm.auto import tqdm

    from .models import HashedNgramClassifier
    from .multiclass import MulticlassLabelModel
    from .nn import FSLoss

    generator = torch.Generator().manual_seed(seed)
    model = HashedNgramClassifier(2)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    n = len(texts)
    if votes is not None:
        # the buffer holds the whole training set; the class-conditional label
        # model reads one-sided LFs (youtube's) that FlyingSquid's cannot; items
        # no LF votes on carry no label information and stay out of the loss
        criterion = FSLoss(votes.shape[1], buffer_capacity=n, update_frequency=64,
                           label_model=MulticlassLabelModel(cardinality=2), uncovered="ignore")
        votes = torch.as_tensor(votes)
    hashed = [model.hash(t) for t in texts]  # each text hashed once, packed per batch
    steps = epochs * ((n + batch_size - 1) // batch_size)
    bar = tqdm(total=steps, desc=desc, unit="batch", disable=not progress, leave=True, file=sys.stderr)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            logits = model(*model.pack([hashed[i] for i in batch.tolist()]))
            logit = logits[:, 1] - logits[:, 0]  # log-odds of class 1 (SPAM)
            if votes is None:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, targets[batch])
            else:
                loss = criterion(logit, votes[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    bar.close()
    model.eval()
    return model


def _accuracy(model, texts, Y) -> float:
    with torch.no_grad():
        return float(np.mean(model(*model.encode(texts)).argmax(1).numpy() == Y))


def run_demo(
    *, epochs: int = 5, batch_size: int = 32, lr: float = 0.05, seed: int = 0,
    progress: bool = True, out: Optional[TextIO] = None,
) -> pd.DataFrame:
    """Run the demo, printing as it goes; returns the final table.

    Args:
        epochs: passes of the end model over the training comments. Default: 5.
        batch_size: items per step (and per call of ``FSLoss``). Default: 32.
        lr: Adam's learning rate. Default: 0.05.
        seed: seed of the shuffling (a generator of its own: torch's global
            random state is left alone). Default: 0.
        progress: show a progress bar while the end models train. Default: True.
        out: where to print. Default: ``sys.stdout``.

    Returns:
        A DataFrame indexed by method with the column ``test accuracy``.
    """
    from .analysis import lf_summary
    from .baselines import MajorityVote
    from .datasets import load_youtube_splits
    from .multiclass import MulticlassLabelModel

    out = out or sys.stdout
    started = time.perf_counter()
    splits = load_youtube_splits()
    train = splits["train"]
    train = train.subset(~train.labeled_mask)  # the last 100 rows repeat earlier items
    test = splits["test"]
    _print(out, f"YouTube spam (bundled): {train.n_items} training comments, {test.n_items} test comments, "
                f"{train.n_lfs} labeling functions, classes {train.label_names}.")
    _print(out, "Votes: -1 = abstain, 0 = HAM, 1 = SPAM. No gold label is used for training "
                "(gold only scores).\n")

    # 1. the LF table
    label_model = MulticlassLabelModel(cardinality=2).fit(train.L)
    table = lf_summary(train.L, Y=train.Y, model=label_model, lf_names=YOUTUBE_LF_NAMES)
    table = table.drop(columns=["correct", "incorrect"])
    _print(out, "1. Labeling functions (training split; emp_acc from gold, est_acc from the label model alone)")
    with pd.option_context("display.width", 120, "display.precision", 3):
        _print(out, table.to_string())

    # 2. label model against majority vote
    majority = MajorityVote(cardinality=2, convention="snorkel").fit(train.L)
    results: Dict[str, float] = {
        "majority vote": float(np.mean(np.asarray(majority.predict(test.L)) == test.Y)),
        "label model": float(np.mean(np.asarray(label_model.predict(test.L)) == test.Y)),
    }
    _print(out, "\n2. Label model against majority vote (test accuracy)")
    _print(out, f"   majority vote {results['majority vote']:.3f}   label model {results['label model']:.3f}")

    # 3. the end model, online with FSLoss
    _print(out, "\n3. End model trained online with FSLoss (votes in, soft labels refit as it trains)")
    votes, _ = train.to_flyingsquid()
    end_model = _train_end_model(train.texts, None, votes=votes, epochs=epochs, batch_size=batch_size,
                                 seed=seed, lr=lr, progress=progress, desc="FSLoss")
    results["end model (FSLoss)"] = _accuracy(end_model, test.texts, test.Y)
    gold = torch.as_tensor(train.Y, dtype=torch.float32)
    ceiling = _train_end_model(train.texts, gold, epochs=epochs, batch_size=batch_size, seed=seed,
                               lr=lr, progress=progress, desc="gold labels")
    results["end model on gold labels (ceiling)"] = _accuracy(ceiling, test.texts, test.Y)

    final = pd.Series(results, name="test accuracy").to_frame()
    _print(out, f"\n4. Test accuracy ({test.n_items} comments)")
    _print(out, final.to_string(float_format=lambda x: f"{x:.3f}"))
    _print(out, f"\ndone in {time.perf_counter() - started:.1f} s")
    return final
