"""Prodigy recipes for weak supervision: ``weak.teach`` and ``weak.review``.

- ``weak.teach``: active learning for text classification. The stream is
  scored by the weak-supervision model (a label model over the labeling
  functions' votes and an end model trained on its probabilistic labels) and
  ordered by uncertainty. Every answered batch becomes gold: it sets the class
  balance of the label model and trains the end model.
- ``weak.review``: the items on which the labeling functions disagree most,
  with each LF's vote shown beside the class it voted for, for the annotator
  to resolve.

Prodigy is not on PyPI. This module imports it only to register the recipes
(when it is importable) and to hash tasks; everything the recipes do lives in
plain objects that run without it: :class:`WeakTextClassifier` (the model),
:class:`TeachLoop` and :class:`ReviewLoop` (the ``stream``, ``update`` and
``progress`` callbacks). Prodigy finds the recipes through the entry point
group ``prodigy_recipes``::

    [project.entry-points."prodigy_recipes"]
    "weak.teach" = "weaksup.prodigy:teach"
    "weak.review" = "weaksup.prodigy:review"

and then runs, for example::

    prodigy weak.teach spam_gold youtube
    prodigy weak.review spam_conflicts comments.jsonl --lf-names my,link,short

Votes follow the Snorkel/WRENCH convention: ``-1`` = abstain, classes
``0..k-1`` (see :mod:`weaksup.conventions`). A source is a bundled dataset
name (``youtube``), a WRENCH-format folder, or a ``.jsonl`` file with one
object per line: ``{"text": ..., "weak_labels": [one vote per LF]}``
(WRENCH's ``{"data": {"text": ...}}`` works too; a ``"label"`` is read as
gold and shown to nobody).
"""

from __future__ import annotations

import json
import math
import re
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .conventions import check_votes
from .datasets import WeakDataset
from .functional import fs_cross_entropy

__all__ = [
    "HashedNgramClassifier",
    "WeakTextClassifier",
    "TeachLoop",
    "ReviewLoop",
    "load_source",
    "teach",
    "review",
    "RECIPES",
]

_TOKEN = re.compile(r"[^\W_]+|[^\w\s]", re.UNICODE)


# ---------------------------------------------------------------------------
# The end model: a linear classifier over hashed word n-grams
# ---------------------------------------------------------------------------
class HashedNgramClassifier(torch.nn.Module):
    """A linear text classifier over hashed word n-grams (no vocabulary, no
    downloads): lower-cased words and punctuation, their n-grams up to
    ``ngram``, each hashed (CRC32, stable across runs) into ``n_features``
    buckets; the logits are the mean of the buckets' weights plus a bias.

    Args:
        cardinality: number of classes ``k``.
        n_features: hash buckets. Default: ``2**16``.
        ngram: longest n-gram. Default: 2 (words and word pairs).

    Shape:
        - ``encode(texts)``: ``(indices, offsets)`` for ``n`` texts.
        - ``forward(indices, offsets)``: logits ``(n, k)``.

    Example:
        >>> model = HashedNgramClassifier(2, n_features=1024)
        >>> model(*model.encode(["check out my channel", "great song"])).shape
        torch.Size([2, 2])
    """

    def __init__(self, cardinality: int, n_features: int = 1 << 16, ngram: int = 2) -> None:
        super().__init__()
        if cardinality < 2:
            raise ValueError(f"cardinality must be >= 2, got {cardinality}")
        self.cardinality = cardinality
        self.n_features = n_features
        self.ngram = ngram
        self.weight = torch.nn.EmbeddingBag(n_features, cardinality, mode="mean")
        torch.nn.init.zeros_(self.weight.weight)
        self.bias = torch.nn.Parameter(torch.zeros(cardinality))

    def tokens(self, text: str) -> List[str]:
        words = [w.lower() for w in _TOKEN.findall(text)]
        grams = list(words)
        for size in range(2, self.ngram + 1):
            grams += [" ".join(words[i:i + size]) for i in range(len(words) - size + 1)]
        return grams

    def encode(self, texts: Sequence[str]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Hash ``texts`` into the ``(indices, offsets)`` of :class:`torch.nn.EmbeddingBag`."""
        indices: List[int] = []
        offsets: List[int] = []
        for text in texts:
            offsets.append(len(indices))
            indices.extend(zlib.crc32(g.encode("utf-8")) % self.n_features for g in self.tokens(str(text)))
        return torch.tensor(indices, dtype=torch.int64), torch.tensor(offsets, dtype=torch.int64)

    def forward(self, indices: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.weight(indices, offsets) + self.bias


# ---------------------------------------------------------------------------
# The weak-supervision model: label model + end model + gold answers
# ---------------------------------------------------------------------------
def _default_label_model(cardinality: int, n_lfs: int):
    """The default label model for Snorkel-convention votes (as ``weaksup fit``)."""
    from .cli import make_model

    return make_model("snorkel", cardinality, n_lfs)


class WeakTextClassifier:
    """Label model and end model over a pool of texts with LF votes, plus gold.

    The label model turns the votes into probabilistic labels; the gold answers
    set its class balance (see :meth:`class_balance`). The end model
    (:class:`HashedNgramClassifier` by default) is trained on the probabilistic
    labels of the pool (full-batch Adam with weight decay), each gold item's
    label replacing its soft one and counting ``gold_weight`` times (a
    "reject" of class ``c`` for ``k > 2`` classes pushes P(``c``) down).

    Args:
        texts: the ``n`` texts of the pool.
        L: votes ``(n, m)``, ``-1`` = abstain, classes ``0..k-1``.
        label_names: the ``k`` class names. Default: ``"0"`` .. ``"k-1"``.
        lf_names: the ``m`` LF names. Default: ``"lf_0"`` ...
        label_model: an unfitted label model with ``fit(L, class_balance=)`` and
            ``predict_proba(L) -> (n, k)`` in the Snorkel convention. Default:
            the default of ``weaksup fit`` for these votes
            (:class:`~weaksup.multiclass.MulticlassLabelModel`).
        end_model: a module with ``encode(texts)`` and ``forward(*encoded) ->
            (n, k)`` logits. Default: ``HashedNgramClassifier(k)``.
        gold_weight: weight of a gold item against an item with a soft
            label. Default: 5.
        lr: Adam learning rate of the end model. Default: 0.05.
        fit_steps: full-batch steps of the first fit. Default: 200.
        update_steps: steps after each batch of answers. Default: 30.
        weight_decay: Adam's L2 penalty. Default: 1e-4.
        balance_from_gold: set the label model's class balance from the gold
            answers (see :meth:`class_balance`). Default: True.
        seed: torch seed for the end model. Default: 0.

    Shape:
        - ``L``: ``(n, m)``; ``predict_proba()``: ``(n, k)``; ``targets()``: ``(n, k)``.

    Example:
        >>> texts = ["check out my channel", "great song", "subscribe to me", "love this song"]
        >>> L = [[1, -1, 1], [-1, 0, -1], [1, -1, -1], [-1, 0, 0]]
        >>> model = WeakTextClassifier(texts, L, label_names=["HAM", "SPAM"], fit_steps=20).fit()
        >>> model.predict_proba().shape
        (4, 2)
        >>> model.add_gold(1, 0)
        >>> loss = model.update()
        >>> model.targets()[1].tolist()
        [1.0, 0.0]
    """

    def __init__(
        self,
        texts: Sequence[str],
        L,
        *,
        label_names: Optional[Sequence[str]] = None,
        lf_names: Optional[Sequence[str]] = None,
        label_model: Any = None,
        end_model: Optional[torch.nn.Module] = None,
        gold_weight: float = 5.0,
        lr: float = 0.05,
        fit_steps: int = 200,
        update_steps: int = 30,
        weight_decay: float = 1e-4,
        balance_from_gold: bool = True,
        seed: int = 0,
    ) -> None:
        self.texts = [str(t) for t in texts]
        codes = check_votes(np.asarray(L), convention="snorkel", name="L")
        self.L = codes.numpy()
        n, m = self.L.shape
        if len(self.texts) != n:
            raise ValueError(f"texts holds {len(self.texts)} texts, but L has {n} rows: one text per row is needed")
        k = len(label_names) if label_names is not None else max(2, int(self.L.max()) + 1)
        if int(self.L.max()) >= k:
            raise ValueError(f"L votes for class {int(self.L.max())}, but label_names names {k} classes")
        self.label_names = [str(s) for s in label_names] if label_names is not None else [str(c) for c in range(k)]
        self.lf_names = [str(s) for s in lf_names] if lf_names is not None else [f"lf_{j}" for j in range(m)]
        if len(self.lf_names) != m:
            raise ValueError(f"lf_names holds {len(self.lf_names)} names, but L has {m} columns (one per LF)")
        self.cardinality = k
        self.label_model = label_model if label_model is not None else _default_label_model(k, m)
        torch.manual_seed(seed)
        self.end_model = end_model if end_model is not None else HashedNgramClassifier(k)
        self.gold_weight = gold_weight
        self.balance_from_gold = balance_from_gold
        self.lr = lr
        self.fit_steps = fit_steps
        self.update_steps = update_steps
        self.gold: Dict[int, int] = {}  # pool index -> class
        self.rejected: Dict[int, set] = {}  # pool index -> classes ruled out (k > 2)
        self._encoded = self.end_model.encode(self.texts)
        self._optimizer = torch.optim.Adam(self.end_model.parameters(), lr=lr, weight_decay=weight_decay)
        self._soft: Optional[torch.Tensor] = None
        self._first_soft: Optional[torch.Tensor] = None  # the label model's labels without gold
        self._balance_key: Optional[frozenset] = None

    # -- gold ------------------------------------------------------------------
    def add_gold(self, index: int, label: int) -> None:
        """Item ``index`` of the pool has class ``label``."""
        self._check_index(index)
        if not 0 <= int(label) < self.cardinality:
            raise ValueError(f"label must be a class id 0..{self.cardinality - 1}, got {label}")
        self.gold[int(index)] = int(label)
        self.rejected.pop(int(index), None)

    def add_rejection(self, index: int, label: int) -> None:
        """Item ``index`` is not of class ``label`` (binary: it is the other class)."""
        self._check_index(index)
        if self.cardinality == 2:
            self.add_gold(index, 1 - int(label))
        elif int(index) not in self.gold:
            self.rejected.setdefault(int(index), set()).add(int(label))

    def _check_index(self, index: int) -> None:
        if not 0 <= int(index) < len(self.texts):
            raise ValueError(f"index {index} is outside the pool of {len(self.texts)} items")

    def class_balance(self) -> Optional[np.ndarray]:
        """``(k,)`` the pool's expected class shares: the gold answers' classes
        where there are answers, the first label model's probabilities elsewhere.

        Answered items are chosen for being uncertain (or disputed), so their
        own class counts are no sample of the classes; replacing the label
        model's guesses by the answers in the whole pool's average is. None
        before the first answer (or with ``balance_from_gold=False``).
        """
        if not self.gold or not self.balance_from_gold:
            return None
        shares = self._first_soft.clone()  # not the refitted model's: no feedback loop
        rows = torch.tensor(list(self.gold), dtype=torch.int64)
        shares[rows] = torch.nn.functional.one_hot(torch.tensor(list(self.gold.values())), self.cardinality).to(shares.dtype)
        balance = shares.double().mean(0).numpy()
        return balance / balance.sum()

    # -- fitting ---------------------------------------------------------------
    def fit_label_model(self) -> "WeakTextClassifier":
        """(Re)fit the label model, with :meth:`class_balance` once there is gold."""
        balance = self.class_balance() if self._soft is not None else None
        self.label_model.fit(self.L, class_balance=balance)
        soft = np.asarray(self.label_model.predict_proba(self.L), dtype=np.float64)
        self._soft = torch.as_tensor(soft, dtype=torch.float32)
        if balance is None and self._first_soft is None:
            self._first_soft = self._soft
        self._balance_key = self._gold_key()
        return self

    def _gold_key(self) -> Optional[frozenset]:
        """What :meth:`class_balance` depends on: the gold answers."""
        if not self.gold or not self.balance_from_gold:
            return None
        return frozenset(self.gold.items())

    def targets(self) -> torch.Tensor:
        """``(n, k)`` training labels: the label model's, gold rows one-hot."""
        if self._soft is None:
            self.fit_label_model()
        target = self._soft.clone()
        if self.gold:
            rows = torch.tensor(list(self.gold), dtype=torch.int64)
            target[rows] = torch.nn.functional.one_hot(
                torch.tensor(list(self.gold.values())), self.cardinality
            ).to(target.dtype)
        return target

    def _objective(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        n = logits.shape[0]
        weight = torch.ones(n, dtype=logits.dtype)
        if self.gold:
            weight[list(self.gold)] = self.gold_weight
        total = fs_cross_entropy(logits, target, item_weight=weight, reduction="sum")
        if self.rejected:
            rows = [i for i, classes in self.rejected.items() for _ in classes]
            cols = [c for classes in self.rejected.values() for c in classes]
            p = logits.softmax(1)[rows, cols]
            total = total - self.gold_weight * torch.log1p(-p.clamp(max=1 - 1e-6)).sum()
        return total / weight.sum()

    def train_end_model(self, steps: Optional[int] = None) -> float:
        """Full-batch Adam steps on the pool; returns the last step's loss."""
        steps = self.update_steps if steps is None else steps
        target = self.targets()
        self.end_model.train()
        loss = torch.tensor(float("nan"))
        for _ in range(steps):
            self._optimizer.zero_grad()
            loss = self._objective(self.end_model(*self._encoded), target)
            loss.backward()
            self._optimizer.step()
        self.end_model.eval()
        return float(loss.detach())

    def fit(self) -> "WeakTextClassifier":
        """Fit the label model, then train the end model ``fit_steps`` steps."""
        self.fit_label_model()
        self.train_end_model(self.fit_steps)
        return self

    def update(self) -> float:
        """After new gold: refit the label model (its class balance moved), then
        train the end model ``update_steps`` steps; returns the loss."""
        if self._soft is None:
            self.fit()
        if self._gold_key() != self._balance_key:
            self.fit_label_model()
        return self.train_end_model()

    # -- prediction ------------------------------------------------------------
    @torch.no_grad()
    def predict_proba(self, texts: Optional[Sequence[str]] = None) -> np.ndarray:
        """End-model probabilities ``(n, k)`` of ``texts`` (default: the pool)."""
        encoded = self._encoded if texts is None else self.end_model.encode(list(texts))
        self.end_model.eval()
        return self.end_model(*encoded).softmax(1).double().numpy()

    def label_model_proba(self) -> np.ndarray:
        """The label model's probabilities ``(n, k)`` for the pool."""
        if self._soft is None:
            self.fit_label_model()
        return self._soft.double().numpy()

    def accuracy(self, texts: Sequence[str], Y) -> float:
        """End-model accuracy on ``texts`` with gold classes ``Y`` ``(n,)``."""
        return float(np.mean(self.predict_proba(texts).argmax(1) == np.asarray(Y)))

    def votes_of(self, index: int) -> Dict[str, str]:
        """``{lf name: class name}`` of the LFs that vote on item ``index``."""
        row = self.L[index]
        return {self.lf_names[j]: self.label_names[int(c)] for j, c in enumerate(row) if c >= 0}


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


class TeachLoop:
    """The components of ``weak.teach``: an uncertainty-ordered stream, ``update``
    and ``progress``.

    Each round scores every item not yet sent with the end model and sends the
    ``batch_size`` most uncertain (score nearest 0.5, Prodigy's
    ``prefer_uncertain``). A task asks whether a text has one class: for two
    classes always ``label`` (default: class 1), for more the most probable
    class among ``labels``. ``update`` reads the answers (accept: gold class;
    reject: not that class; ignore: skipped), refits the label model's class
    balance and trains the end model.

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
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.sent: set = set()
        self.n_answered = 0
        self.losses: List[float] = []
        if model._soft is None:
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
        return {
            "view_id": self.view_id,
            "stream": self.stream(),
            "update": self.update,
            "progress": self.progress,
            "config": {"labels": list(self.model.label_names), "batch_size": self.batch_size},
        }


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
    replaces the label model's label for that item and enters the class
    balance, so the training labels (:meth:`WeakTextClassifier.targets`) get
    better with every resolved conflict. The end model is left alone: the
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
        self.batch_size = batch_size
        h = disagreement(model.L, model.cardinality)
        n_votes = (model.L >= 0).sum(1)
        order = np.lexsort((np.arange(len(h)), -n_votes, -h))
        self.order = [int(i) for i in order if h[i] > 0]
        self.scores = h
        self.resolved: Dict[int, int] = {}
        self.losses: List[float] = []
        if model._soft is None:
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
        if self.model._gold_key() != self.model._balance_key:
            self.model.fit_label_model()
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
        return {
            "view_id": self.view_id,
            "stream": self.stream(),
            "update": self.update,
            "progress": self.progress,
            "on_exit": self.on_exit,
            "config": {"choice_style": "single", "choice_auto_accept": True, "batch_size": self.batch_size},
        }


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------
def _split_names(value: Optional[str]) -> Optional[List[str]]:
    if value is None or isinstance(value, (list, tuple)):
        return value
    return [s.strip() for s in str(value).split(",") if s.strip()]


def load_source(source: str, *, split: str = "train", label_names=None, lf_names=None) -> Tuple[WeakDataset, Optional[List[str]]]:
    """Texts, votes (and gold, if present) of a recipe source.

    ``source`` is ``"youtube"`` (bundled; train without its repeated rows), a
    WRENCH-format folder (``split`` chosen), or a ``.jsonl`` file of objects
    ``{"text": ..., "weak_labels": [...]}`` (or WRENCH's ``{"data": {"text": ...}}``),
    with an optional ``"label"`` (class id). Returns ``(dataset, lf_names)``.
    """
    label_names = _split_names(label_names)
    lf_names = _split_names(lf_names)
    if source == "youtube":
        from .datasets import load_youtube

        ds = load_youtube(split)
        ds = ds.subset(~ds.labeled_mask)
        readme_names = ["keyword_my", "keyword_subscribe", "keyword_link", "keyword_please", "keyword_song",
                        "regex_check_out", "short_comment", "has_person_nlp", "textblob_polarity",
                        "textblob_subjectivity"]
        return ds, lf_names or readme_names
    path = Path(source)
    if path.is_dir():
        from .datasets import load_wrench

        ds = load_wrench(path, split)
        return ds, lf_names
    if not path.is_file():
        raise FileNotFoundError(f"{source}: no such file or folder (expected 'youtube', a WRENCH folder or a .jsonl file)")
    if path.suffix.lower() != ".jsonl":
        raise ValueError(f"{source}: expected a .jsonl file of {{\"text\": ..., \"weak_labels\": [...]}} objects")
    texts, rows, gold = [], [], []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{source}: line {line_no}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: expected an object with 'text' and 'weak_labels', got {type(obj).__name__}")
            text = obj.get("text", (obj.get("data") or {}).get("text") if isinstance(obj.get("data"), dict) else None)
            if not isinstance(text, str):
                raise ValueError(f"{where}: expected a string 'text' (or 'data': {{'text': ...}})")
            votes = obj.get("weak_labels")
            if not isinstance(votes, list) or not votes:
                raise ValueError(f"{where}: expected 'weak_labels', a list with one integer vote per labeling function")
            if rows and len(votes) != len(rows[0]):
                raise ValueError(f"{where}: {len(votes)} votes, expected {len(rows[0])} (one per labeling function)")
            for c, v in enumerate(votes):
                if isinstance(v, bool) or not isinstance(v, int) or v < -1:
                    raise ValueError(f"{where}, column {c + 1}: expected a vote -1 (abstain) or a class id 0..k-1, got {v!r}")
            texts.append(text)
            rows.append(votes)
            gold.append(obj.get("label"))
    if not rows:
        raise ValueError(f"{source}: no items found")
    Y = np.array(gold, dtype=np.int64) if all(isinstance(g, int) for g in gold) else None
    ds = WeakDataset(np.array(rows, dtype=np.int64), Y=Y, texts=texts, label_names=label_names, name=path.stem)
    return ds, lf_names


def _model_for(source: str, label_names, lf_names, seed: int, **options: Any) -> WeakTextClassifier:
    ds, lf_names = load_source(source, label_names=label_names, lf_names=lf_names)
    return WeakTextClassifier(ds.texts, ds.L, label_names=ds.label_names, lf_names=lf_names, seed=seed, **options)


# ---------------------------------------------------------------------------
# The recipes (plain functions; registered with Prodigy when it is importable)
# ---------------------------------------------------------------------------
def teach(
    dataset: str,
    source: str,
    label: Optional[str] = None,
    label_names: Optional[str] = None,
    lf_names: Optional[str] = None,
    batch_size: int = 10,
    seed: int = 0,
) -> Dict[str, Any]:
    """``weak.teach``: active learning with the weak-supervision model.

    Args:
        dataset: Prodigy dataset to save the answers to.
        source: ``youtube``, a WRENCH folder or a ``.jsonl`` file (see :func:`load_source`).
        label: comma-separated class names to ask about. Default: class 1
            (binary), else all.
        label_names: comma-separated names of classes 0..k-1. Default: the source's.
        lf_names: comma-separated LF names. Default: the source's, else lf_0...
        batch_size: tasks per round (and answers per ``update``). Default: 10.
        seed: seed of the end model. Default: 0.
    """
    model = _model_for(source, label_names, lf_names, seed)
    loop = TeachLoop(model, labels=_split_names(label), batch_size=batch_size)
    return {"dataset": dataset, "exclude": [dataset], **loop.components()}


def review(
    dataset: str,
    source: str,
    label_names: Optional[str] = None,
    lf_names: Optional[str] = None,
    batch_size: int = 10,
    seed: int = 0,
) -> Dict[str, Any]:
    """``weak.review``: resolve the items the labeling functions disagree on most.

    Args as in :func:`teach` (no ``label``).
    """
    model = _model_for(source, label_names, lf_names, seed)
    loop = ReviewLoop(model, batch_size=batch_size)
    return {"dataset": dataset, "exclude": [dataset], **loop.components()}


# name -> (function, Prodigy's argument annotations: help, kind, shorthand, type)
_SOURCE_HELP = "'youtube', a WRENCH folder or a .jsonl file of {text, weak_labels}"
RECIPES: Dict[str, Tuple[Callable[..., Dict[str, Any]], Dict[str, tuple]]] = {
    "weak.teach": (teach, {
        "dataset": ("Dataset to save answers to", "positional", None, str),
        "source": (_SOURCE_HELP, "positional", None, str),
        "label": ("Comma-separated class names to ask about", "option", "l", str),
        "label_names": ("Comma-separated names of classes 0..k-1", "option", "L", str),
        "lf_names": ("Comma-separated labeling-function names", "option", "F", str),
        "batch_size": ("Tasks per round", "option", "b", int),
        "seed": ("Random seed of the end model", "option", "s", int),
    }),
    "weak.review": (review, {
        "dataset": ("Dataset to save answers to", "positional", None, str),
        "source": (_SOURCE_HELP, "positional", None, str),
        "label_names": ("Comma-separated names of classes 0..k-1", "option", "L", str),
        "lf_names": ("Comma-separated labeling-function names", "option", "F", str),
        "batch_size": ("Answers per update", "option", "b", int),
        "seed": ("Random seed of the end model", "option", "s", int),
    }),
}


def register(prodigy_module: Any = None) -> bool:
    """Register the recipes with Prodigy; False when Prodigy is not importable."""
    if prodigy_module is None:
        try:
            import prodigy as prodigy_module  # type: ignore
        except ImportError:
            return False
    for name, (func, arguments) in RECIPES.items():
        prodigy_module.recipe(name, **arguments)(func)
    return True


register()
