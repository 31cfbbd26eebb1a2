"""The Prodigy components of ``weak.teach`` and ``weak.review``, as plain objects.

:class:`TeachLoop` and :class:`ReviewLoop` hold the ``stream``, ``update``,
``progress`` (and ``on_exit``) callbacks a Prodigy recipe returns, around a
:class:`~weaksup.prodigy.classifier.WeakTextClassifier`. They run without
Prodigy (the tests drive them with a simulated annotator); when Prodigy is
importable its ``set_hashes`` hashes the tasks, else a stable CRC32 does.

Every task carries the key ``"_weaksup_index"``: the item's index in the
pool, which is how ``update`` finds the item an answer is about.
"""

from __future__ import annotations

import json
import math
import zlib
from functools import lru_cache
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .._validation import check_int
from ..conventions import check_votes
from .classifier import WeakTextClassifier

__all__ = ["ReviewLoop", "TeachLoop", "disagreement"]


# ---------------------------------------------------------------------------
# Tasks and answers
# ---------------------------------------------------------------------------
_INDEX_KEY = "_weaksup_index"


def _hash(*parts: Any) -> int:
    return zlib.crc32(json.dumps(parts, sort_keys=True).encode("utf-8")) - (1 << 31)


@lru_cache(maxsize=1)
def _prodigy_set_hashes() -> Optional[Callable[..., Dict[str, Any]]]:
    try:
        from prodigy import set_hashes  # type: ignore
    except ImportError:
        return None
    return set_hashes


def _set_hashes(task: Dict[str, Any], task_keys: Tuple[str, ...]) -> Dict[str, Any]:
    """Prodigy's ``set_hashes`` when Prodigy is importable, else stable CRC32 hashes."""
    set_hashes = _prodigy_set_hashes()
    if set_hashes is None:
        task["_input_hash"] = _hash(task["text"])
        task["_task_hash"] = _hash(task["text"], *[task.get(k) for k in task_keys])
        return task
    return set_hashes(task, input_keys=("text",), task_keys=task_keys, overwrite=True)


def _answered(answers: Iterable[Dict[str, Any]]) -> Iterator[Tuple[int, Dict[str, Any]]]:
    for eg in answers:
        if _INDEX_KEY not in eg:
            raise ValueError(
                f"an answer has no {_INDEX_KEY!r} key: update() takes the tasks this recipe's "
                "stream sent, with Prodigy's 'answer' added"
            )
        yield int(eg[_INDEX_KEY]), eg


def _components(loop: Any, config: Dict[str, Any], **more: Any) -> Dict[str, Any]:
    """A recipe's components for Prodigy from a loop: its ``view_id``, a fresh
    ``stream()``, ``update`` and ``progress``, the ``more`` given, and
    ``config`` with the loop's ``batch_size`` added."""
    return {
        "view_id": loop.view_id,
        "stream": loop.stream(),
        "update": loop.update,
        "progress": loop.progress,
        **more,
        "config": {**config, "batch_size": loop.batch_size},
    }


class TeachLoop:
    """The components of ``weak.teach``: an uncertainty-ordered stream, ``update``
    and ``progress``.

    Each round scores every item not yet sent with the end model and sends the
    ``batch_size`` most uncertain (score nearest 0.5, Prodigy's
    ``prefer_uncertain``). A task asks whether a text has one class: for two
    classes always ``label`` (default: class 1), for more the most probable
    class among ``labels``. ``update`` reads the answers (accept: gold class;
    reject: not that class; ignore: skipped) as gold and trains the end model
    (see :meth:`WeakTextClassifier.update`).

    Args:
        model: a :class:`WeakTextClassifier` (fitted here if it is not).
        labels: class names that may be asked about. Default: class 1 for
            binary tasks, else all.
        batch_size: tasks per round. Default: 10.

    Example:
        >>> texts = ["check out my channel", "great song", "subscribe to me", "love this song"]
        >>> model = WeakTextClassifier(texts, [[1, -1, 1], [-1, 0, -1], [1, -1, -1], [-1, 0, 0]],
        ...                            label_names=["HAM", "SPAM"], fit_steps=20)
        >>> loop = TeachLoop(model, batch_size=2)
        >>> tasks = [next(loop.stream()) for _ in range(2)]
        >>> [t["label"] for t in tasks]
        ['SPAM', 'SPAM']
        >>> loss = loop.update([{**tasks[0], "answer": "reject"}, {**tasks[1], "answer": "accept"}])
        >>> loop.progress()
        0.5
    """

    view_id = "classification"

    def __init__(self, model: WeakTextClassifier, *, labels: Optional[Sequence[str]] = None, batch_size: int = 10) -> None:
        self.model = model
        names = model.label_names
        if labels is None:
            labels = [names[1]] if model.cardinality == 2 else list(names)
        unknown = [x for x in labels if x not in names]
        if unknown or not labels:
            raise ValueError(f"labels must be class names out of {names}, got {list(labels)}")
        self.asked = [names.index(x) for x in labels]
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.sent: set = set()
        self.n_answered = 0
        self.losses: List[float] = []
        if not model.label_model_fitted:
            model.fit()

    def scores(self, probs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The class each item would be asked about and its probability, ``(n,)`` each."""
        asked = np.array(self.asked)
        classes = asked[probs[:, asked].argmax(1)]
        return classes, probs[np.arange(len(probs)), classes]

    def _task(self, index: int, label: int, score: float) -> Dict[str, Any]:
        meta = {"score": round(float(score), 3)}
        meta.update(self.model.votes_of(index))
        task = {"text": self.model.texts[index], "label": self.model.label_names[label], "meta": meta, _INDEX_KEY: index}
        return _set_hashes(task, ("label",))

    def stream(self) -> Iterator[Dict[str, Any]]:
        """Tasks, most uncertain first, rescored with the latest model each round."""
        n = len(self.model.texts)
        while len(self.sent) < n:
            todo = np.array([i for i in range(n) if i not in self.sent])
            classes, scores = self.scores(self.model.predict_proba()[todo])
            order = np.argsort(np.abs(scores - 0.5), kind="stable")[: self.batch_size]
            for j in order:
                self.sent.add(int(todo[j]))
                yield self._task(int(todo[j]), int(classes[j]), scores[j])

    def update(self, answers: List[Dict[str, Any]]) -> float:
        """Learn from answered tasks; returns the end model's training loss."""
        names = self.model.label_names
        for index, eg in _answered(answers):
            answer = eg.get("answer")
            if answer not in ("accept", "reject", "ignore"):
                raise ValueError(f"answer must be 'accept', 'reject' or 'ignore', got {answer!r} (item {index})")
            self.sent.add(index)
            if answer == "ignore":
                continue
            self.n_answered += 1
            label = names.index(eg["label"])
            if answer == "accept":
                self.model.add_gold(index, label)
            else:
                self.model.add_rejection(index, label)
        loss = self.model.update()
        self.losses.append(loss)
        return loss

    def progress(self, *args: Any, **kwargs: Any) -> float:
        """Share of the pool answered (accept or reject), in [0, 1]."""
        return self.n_answered / max(1, len(self.model.texts))

    def components(self) -> Dict[str, Any]:
        """``stream``, ``update``, ``progress``, ``view_id`` and ``config`` for Prodigy."""
        return _components(self, {"labels": list(self.model.label_names)})


def disagreement(L, cardinality: int) -> np.ndarray:
    """Entropy (bits) of each item's votes over the classes, abstentions left out.

    0 where the voting LFs agree (or fewer than two vote); 1 for a 1-1 (or
    2-2...) split between two classes.

    Shape:
        - ``L``: ``(n, m)``, ``-1`` = abstain; output ``(n,)``.

    Example:
        >>> disagreement(np.array([[0, 1, -1], [1, 1, -1], [0, 0, 1]]), 2).round(3).tolist()
        [1.0, 0.0, 0.918]
    """
    codes = check_votes(np.asarray(L), convention="snorkel", cardinality=cardinality, allow_empty=True).numpy()
    counts = np.stack([(codes == c).sum(1) for c in range(cardinality)], 1).astype(np.float64)
    total = counts.sum(1, keepdims=True)
    p = counts / np.maximum(total, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(p), 0.0).sum(1)
    return np.abs(h)


class ReviewLoop:
    """The components of ``weak.review``: the items whose LFs disagree most.

    Items are sent by :func:`disagreement`, highest first (ties: more voting
    LFs first, then pool order); items on which the voting LFs agree are not
    sent. Each task is a single choice between the classes, each option naming
    the LFs that voted for it. ``update`` takes the chosen class as gold: it
    replaces the label model's label for that item (and, with
    ``balance_from_gold=True``, enters the class balance), so the training
    labels (:meth:`WeakTextClassifier.targets`) get better with every
    resolved conflict. The end model is left alone: the
    disputed items are far from a sample of the data (on youtube most are
    spam), and ``weak.teach`` trains it.

    Args:
        model: a :class:`WeakTextClassifier` (its label model is fitted here).
        batch_size: tasks per batch. Default: 10.

    Example:
        >>> texts = ["check out my song", "great song", "subscribe to me", "love this song"]
        >>> model = WeakTextClassifier(texts, [[1, 0, -1], [-1, 0, -1], [1, -1, -1], [-1, 0, 0]],
        ...                            label_names=["HAM", "SPAM"])
        >>> loop = ReviewLoop(model)
        >>> task = next(loop.stream())
        >>> task["_weaksup_index"], [o["text"] for o in task["options"]]
        (0, ['HAM: lf_1', 'SPAM: lf_0'])
    """

    view_id = "choice"

    def __init__(self, model: WeakTextClassifier, *, batch_size: int = 10) -> None:
        self.model = model
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        h = disagreement(model.L, model.cardinality)
        n_votes = (model.L >= 0).sum(1)
        order = np.lexsort((np.arange(len(h)), -n_votes, -h))
        self.order = [int(i) for i in order if h[i] > 0]
        self.scores = h
        self.resolved: Dict[int, int] = {}
        self.losses: List[float] = []
        if not model.label_model_fitted:
            model.fit_label_model()

    def _task(self, index: int) -> Dict[str, Any]:
        m = self.model
        row = m.L[index]
        lm = m.label_model_proba()[index]
        options = []
        for c, name in enumerate(m.label_names):
            voters = [m.lf_names[j] for j in np.flatnonzero(row == c)]
            text = f"{name}: {', '.join(voters)}" if voters else name
            options.append({"id": c, "text": text})
        meta = {
            "disagreement": round(float(self.scores[index]), 3),
            "label model": f"{m.label_names[int(lm.argmax())]} {lm.max():.2f}",
        }
        task = {"text": m.texts[index], "options": options, "meta": meta, _INDEX_KEY: index}
        return _set_hashes(task, ("options",))

    def stream(self) -> Iterator[Dict[str, Any]]:
        for index in self.order:
            yield self._task(index)

    def update(self, answers: List[Dict[str, Any]]) -> float:
        """Resolved items become gold; returns the label model's cross-entropy
        on them (before they were resolved): how wrong it was."""
        losses = []
        first = self.model.label_model_proba()
        for index, eg in _answered(answers):
            if eg.get("answer") != "accept":
                continue
            chosen = eg.get("accept") or []
            if len(chosen) != 1:
                raise ValueError(f"item {index}: expected one chosen class in 'accept', got {chosen!r}")
            label = int(chosen[0])
            self.resolved[index] = label
            self.model.add_gold(index, label)
            losses.append(-math.log(max(float(first[index, label]), 1e-12)))
        self.model.sync_label_model()
        loss = float(np.mean(losses)) if losses else 0.0
        self.losses.append(loss)
        return loss

    def progress(self, *args: Any, **kwargs: Any) -> float:
        """Share of the conflicting items resolved, in [0, 1]."""
        return len(self.resolved) / max(1, len(self.order))

    def lf_accuracies(self) -> Dict[str, float]:
        """Each LF's accuracy on the resolved items it voted on (NaN: none)."""
        out = {}
        rows = np.array(list(self.resolved), dtype=np.int64)
        gold = np.array(list(self.resolved.values()), dtype=np.int64)
        for j, name in enumerate(self.model.lf_names):
            votes = self.model.L[rows, j] if len(rows) else np.zeros(0, dtype=np.int64)
            voted = votes >= 0
            out[name] = float(np.mean(votes[voted] == gold[voted])) if voted.any() else float("nan")
        return out

    def on_exit(self, *args: Any, **kwargs: Any) -> None:
        """Print each LF's accuracy on the resolved items."""
        if not self.resolved:
            return
        print(f"LF accuracy on the {len(self.resolved)} resolved items:")
        for name, acc in self.lf_accuracies().items():
            print(f"  {name:<24} {'-' if math.isnan(acc) else f'{acc:.3f}'}")

    def components(self) -> Dict[str, Any]:
        """``stream``, ``update``, ``progress``, ``on_exit``, ``view_id`` and ``config`` for Prodigy."""
        return _components(self, {"choice_style": "single", "choice_auto_accept": True}, on_exit=self.on_exit)
