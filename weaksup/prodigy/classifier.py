"""The model behind the Prodigy recipes: label model + end model + gold answers.

:class:`WeakTextClassifier` holds a pool of texts with their labeling-function
votes. The label model turns the votes into probabilistic labels; the end
model (:class:`weaksup.models.HashedNgramClassifier` by default) is trained on
them; every gold answer replaces an item's soft label (and, with
``balance_from_gold=True``, moves the label model's class balance). It runs without Prodigy: the recipes' loops
(:mod:`weaksup.prodigy.loops`) only call its public methods.

Votes follow the Snorkel/WRENCH convention: ``-1`` = abstain, classes
``0..k-1`` (see :mod:`weaksup.conventions`).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch

from .._factory import make_label_model
from .._validation import check_bool, check_int, check_real
from ..conventions import check_votes
from ..functional import fs_cross_entropy
from ..models import HashedNgramClassifier

__all__ = ["WeakTextClassifier"]


class WeakTextClassifier:
    """Label model and end model over a pool of texts with LF votes, plus gold.

    The label model turns the votes into probabilistic labels, with the class
    balance it estimates from the votes (or, with ``balance_from_gold=True``,
    one set from the gold answers: see :meth:`class_balance`). The end model is trained
    on the probabilistic labels of the pool (full-batch Adam with weight
    decay), each gold item's label replacing its soft one and counting
    ``gold_weight`` times (a "reject" of class ``c`` for ``k > 2`` classes
    pushes P(``c``) down).

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
        balance_from_gold: refit the label model with a class balance set from
            the gold answers (see :meth:`class_balance`) whenever they change.
            Default: False: the label model keeps the balance of weaksup's one
            rule (:func:`weaksup.class_balance.resolve_class_balance`: estimated
            from the votes), and gold only replaces the answered items' labels.
            Answers chosen for being uncertain or disputed are no sample of the
            classes; on youtube the balance they give lowers the label model's
            accuracy on the items nobody answered.
        seed: seed of the random numbers drawn while the end model trains
            (dropout of a custom end model, for example). Training runs on a
            forked copy of torch's CPU random state, so the caller's random
            stream is left as it was. The default end model starts at zero
            and trains full batch: it draws none. Default: 0.

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
        balance_from_gold: bool = False,
        seed: int = 0,
    ) -> None:
        gold_weight = check_real(gold_weight, "gold_weight", low=0.0, low_open=True)
        lr = check_real(lr, "lr", low=0.0, low_open=True)
        weight_decay = check_real(weight_decay, "weight_decay", low=0.0)
        fit_steps = check_int(fit_steps, "fit_steps", minimum=0)
        update_steps = check_int(update_steps, "update_steps", minimum=0)
        balance_from_gold = check_bool(balance_from_gold, "balance_from_gold")
        seed = check_int(seed, "seed", minimum=0)
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, got a single str")
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
        self.label_model = label_model if label_model is not None else make_label_model("snorkel", k, m)
        self.end_model = end_model if end_model is not None else HashedNgramClassifier(k)
        self.gold_weight = gold_weight
        self.balance_from_gold = balance_from_gold
        self.lr = lr
        self.fit_steps = fit_steps
        self.update_steps = update_steps
        self.seed = seed
        self.gold: Dict[int, int] = {}  # pool index -> class
        self.rejected: Dict[int, set] = {}  # pool index -> classes ruled out (k > 2)
        self._encoded = self.end_model.encode(self.texts)
        self._optimizer = torch.optim.Adam(self.end_model.parameters(), lr=lr, weight_decay=weight_decay)
        self._rounds = 0  # end-model training rounds so far: each draws from its own seed
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
    @property
    def label_model_fitted(self) -> bool:
        """True once the label model has been fitted on the pool."""
        return self._soft is not None

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

    def sync_label_model(self) -> bool:
        """Refit the label model if the gold answers that set its class balance
        changed since its last fit (or it was never fitted); True if it refit."""
        if self._soft is not None and self._gold_key() == self._balance_key:
            return False
        self.fit_label_model()
        return True

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
        with torch.random.fork_rng(devices=[]):  # the caller's CPU random state is restored after
            torch.random.default_generator.manual_seed(self.seed + self._rounds)
            for _ in range(steps):
                self._optimizer.zero_grad()
                loss = self._objective(self.end_model(*self._encoded), target)
                loss.backward()
                self._optimizer.step()
        self._rounds += 1
        self.end_model.eval()
        return float(loss.detach())

    def fit(self) -> "WeakTextClassifier":
        """Fit the label model, then train the end model ``fit_steps`` steps."""
        self.fit_label_model()
        self.train_end_model(self.fit_steps)
        return self

    def update(self) -> float:
        """After new gold: refit the label model if its class balance moved
        (``balance_from_gold=True``), then train the end model
        ``update_steps`` steps; returns the loss."""
        if self._soft is None:
            self.fit()
        self.sync_label_model()
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
