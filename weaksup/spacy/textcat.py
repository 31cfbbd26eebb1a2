"""``weak_textcat``: spaCy's single-label text classifier trained from the
votes of labeling functions through weaksup's online label model.

On each update :class:`WeakTextCategorizer` reads the LF votes of the batch,
feeds them to :class:`weaksup.nn.FSCrossEntropyLoss` (a ring buffer whose
label model is refit as training goes; wrapped as
:class:`weaksup.thinc.FSCrossEntropyLoss`) and trains towards the soft
labels, which spaCy's ``textcat`` refuses (E851). Gold ``doc.cats`` are used
for scoring only.

The factory ``"weak_textcat"`` is registered when this module is imported
(spaCy's ``Language.factory``), which is how the ``spacy_factories`` entry
point finds it.
"""

from __future__ import annotations

import io
import warnings
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import srsly
import torch
from spacy.language import Language
from spacy.pipeline.textcat import TextCategorizer, single_label_bow_config
from spacy.training import Example, validate_examples, validate_get_examples
from thinc.api import Config, Model

from ..class_balance import resolve_class_balance
from ..thinc import FSCrossEntropyLoss
from .lfs import labeling_functions_in
from .votes import votes_matrix

__all__ = ["DEFAULT_WEAK_TEXTCAT_MODEL", "WeakTextCategorizer", "make_weak_textcat"]


DEFAULT_WEAK_TEXTCAT_MODEL = Config().from_str(single_label_bow_config)["model"]


class WeakTextCategorizer(TextCategorizer):
    """spaCy's single-label ``TextCategorizer`` trained from labeling-function
    votes (factory ``"weak_textcat"``).

    ``update`` reads each training doc's votes (``doc.spans[lf]`` for every
    LF in ``lfs``; on ``eg.predicted``, where ``annotating_components`` put
    them, else on ``eg.reference``), passes them with the scores to
    :class:`weaksup.thinc.FSCrossEntropyLoss` (``normalize=False``) and
    backpropagates ``scores - soft_labels``: the gradient spaCy's
    ``textcat`` uses with hard labels. Prediction, ``doc.cats``, scoring,
    ``add_label`` and serialisation are ``textcat``'s; the label model's
    online state (buffer, statistics) is saved beside the weights, in
    ``label_model``.

    Attributes:
        lfs: the LF component names whose votes it learns from (``cfg["lfs"]``).
        loss: the :class:`weaksup.thinc.FSCrossEntropyLoss`, once initialised.
    """

    def __init__(
        self,
        vocab,
        model: Model,
        name: str = "weak_textcat",
        *,
        lfs: Sequence[str] = (),
        threshold: float = 0.0,
        buffer_capacity: int = 4096,
        update_frequency: int = 64,
        uncovered: str = "keep",
        class_balance: Optional[Sequence[float]] = None,
        scorer: Optional[Callable] = None,
    ) -> None:
        super().__init__(vocab, model, name, threshold=threshold, scorer=scorer)
        self.cfg["lfs"] = list(lfs)
        self.cfg["buffer_capacity"] = int(buffer_capacity)
        self.cfg["update_frequency"] = int(update_frequency)
        self.cfg["uncovered"] = uncovered
        self.cfg["class_balance"] = None if class_balance is None else [float(x) for x in class_balance]
        self.loss: Optional[FSCrossEntropyLoss] = None
        self._loss_state: Optional[bytes] = None

    @property
    def lfs(self) -> List[str]:
        return list(self.cfg.get("lfs", []))

    # -- votes ------------------------------------------------------------
    def _example_votes(self, examples: Sequence[Example]) -> np.ndarray:
        lfs, labels = self.lfs, list(self.labels)
        docs = []
        for eg in examples:
            doc = eg.predicted
            if not all(lf in doc.spans for lf in lfs) and all(lf in eg.reference.spans for lf in lfs):
                doc = eg.reference
            docs.append(doc)
        try:
            return votes_matrix(docs, lfs, labels, component=self.name)
        except KeyError as err:
            raise ValueError(
                f"{self.name!r} ({type(self).__name__}) learns from the votes of the labeling "
                f"functions {lfs}, but a training doc has none from one of them. {err.args[0]} "
                f"In your own loop, pass nlp.update(examples, annotates={lfs})."
            ) from None

    def _build_loss(self) -> FSCrossEntropyLoss:
        cb = self.cfg.get("class_balance")
        if cb is not None and len(cb) != len(self.labels):
            raise ValueError(
                f"{self.name!r}: class_balance has {len(cb)} entries but the component has "
                f"{len(self.labels)} labels {list(self.labels)}; give one probability per label"
            )
        return FSCrossEntropyLoss(
            len(self.lfs), len(self.labels), normalize=False,
            buffer_capacity=self.cfg["buffer_capacity"], update_frequency=self.cfg["update_frequency"],
            uncovered=self.cfg["uncovered"], class_balance=cb,
        )

    def _ensure_loss(self) -> FSCrossEntropyLoss:
        if not self.lfs:
            raise ValueError(
                f"{self.name!r} ({type(self).__name__}) has no labeling functions to learn from: "
                "add LF components (made with weaksup.spacy.labeling_function) to the pipeline "
                f"before {self.name!r} and initialise it (nlp.initialize() / spacy train), or "
                f"name them in [components.{self.name}] lfs"
            )
        if len(self.labels) < 2:
            raise ValueError(
                f"{self.name!r} needs at least 2 labels, has {list(self.labels)}: declare them "
                f"on the LFs (@labeling_function(labels=[...])) or in "
                f"[initialize.components.{self.name}] labels"
            )
        if self.loss is None:
            self.loss = self._build_loss()
            if self._loss_state is not None:
                state = torch.load(io.BytesIO(self._loss_state), map_location="cpu", weights_only=True)
                self._loss_state = None
                try:
                    self.loss.module.load_state_dict(state)
                except RuntimeError as err:
                    self.loss = None
                    raise ValueError(
                        f"{self.name!r}: the saved label-model state does not fit the component "
                        f"({len(self.lfs)} labeling functions {self.lfs}, {len(self.labels)} labels, "
                        f"buffer_capacity {self.cfg['buffer_capacity']}). Keep the LFs the pipeline was "
                        f"trained with, or re-initialise the component. PyTorch says: {err}"
                    ) from err
        return self.loss

    # -- training -----------------------------------------------------------
    def get_loss(self, examples: Iterable[Example], scores) -> Tuple[float, Any]:
        """The loss and gradient of ``scores`` ``(n, k)`` against the soft labels
        the online label model gives the batch's votes. Advances the label
        model's buffer (one step per call)."""
        examples = list(examples)
        validate_examples(examples, "WeakTextCategorizer.get_loss")
        votes = self._example_votes(examples)
        loss_fn = self._ensure_loss()
        if votes.shape[0] != scores.shape[0]:
            raise ValueError(
                f"{self.name!r}: {scores.shape[0]} rows of scores but votes for {votes.shape[0]} docs"
            )
        d_scores, loss = loss_fn(scores, votes)
        return float(loss), d_scores

    def _validate_categories(self, examples: Iterable[Example]) -> None:
        # Training docs carry votes, not cats; gold cats (if any) only score.
        pass

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Iterable[str]] = None,
        positive_label: Optional[str] = None,
    ) -> None:
        """Find the LF components, set the labels, initialise the model and
        start a fresh label model.

        LFs: ``[components.NAME] lfs`` if given, else every LF component
        before this one in ``nlp``. Labels: ``labels`` (from
        ``[initialize.components.NAME]``) if given, else the labels of the
        examples' gold ``cats`` together with the labels the LFs declare.
        """
        validate_get_examples(get_examples, "WeakTextCategorizer.initialize")
        self._resolve_lfs(nlp)
        examples = list(islice(get_examples(), 200))
        if not examples:
            raise ValueError(f"{self.name!r}: get_examples returned no examples to initialise from")
        if labels is None:
            found = {cat for eg in examples for cat in eg.reference.cats}
            if nlp is not None:
                for lf in self.lfs:
                    found.update(getattr(nlp.get_pipe(lf), "labels", ()))
            labels = sorted(found)
        for label in labels:
            self.add_label(label)
        if len(self.labels) < 2:
            raise ValueError(
                f"{self.name!r} needs at least 2 labels, found {list(self.labels)}: declare them on "
                f"the LFs (@labeling_function(labels=[...])) or in [initialize.components.{self.name}] labels"
            )
        if positive_label is not None and positive_label not in self.labels:
            raise ValueError(f"{self.name!r}: positive_label {positive_label!r} is not one of the labels {list(self.labels)}")
        self.cfg["positive_label"] = positive_label
        if nlp is not None:
            self._check_votes_reach_training(nlp, examples)
        subbatch = examples[:10]
        doc_sample = [eg.reference for eg in subbatch]
        label_sample, _ = self._examples_to_truth(subbatch)
        self._require_labels()
        self.model.initialize(X=doc_sample, Y=label_sample)
        self.loss = None
        self._loss_state = None
        self._ensure_loss()

    def _resolve_lfs(self, nlp: Optional[Language]) -> None:
        lfs = self.lfs
        if nlp is None:
            if not lfs:
                raise ValueError(
                    f"{self.name!r}: initialize() needs nlp=... to find the labeling-function "
                    f"components, or name them in [components.{self.name}] lfs"
                )
            return
        if not lfs:
            lfs = labeling_functions_in(nlp, before=self.name)
            if not lfs:
                raise ValueError(
                    f"{self.name!r} ({type(self).__name__}) learns from labeling functions, but the "
                    f"pipeline {nlp.pipe_names} has no labeling-function component before it. Add "
                    "them (nlp.add_pipe(name) for each @labeling_function, or a [components.NAME] "
                    "block with factory = NAME in the config, placed before the classifier in "
                    "[nlp] pipeline)."
                )
        order = nlp.pipe_names
        for lf in lfs:
            if lf not in order:
                raise ValueError(
                    f"{self.name!r} is configured to learn from the labeling function {lf!r}, which is "
                    f"not in the pipeline {order}: add it before {self.name!r}, or remove it from "
                    f"[components.{self.name}] lfs"
                )
            if self.name in order and order.index(lf) > order.index(self.name):
                raise ValueError(
                    f"the labeling function {lf!r} comes after {self.name!r} in the pipeline; put the "
                    f"LF components first so that their votes exist when {self.name!r} trains"
                )
        self.cfg["lfs"] = list(lfs)

    def _check_votes_reach_training(self, nlp: Language, examples: Sequence[Example]) -> None:
        """Warn early when the votes may never reach the training docs."""
        try:
            annotating = list(nlp.config["training"]["annotating_components"] or [])
        except (KeyError, TypeError):
            annotating = []
        missing = [lf for lf in self.lfs if lf not in annotating]
        if not missing:
            return
        if all(lf in eg.reference.spans or lf in eg.predicted.spans for eg in examples for lf in missing):
            return  # the corpus carries the votes already
        warnings.warn(
            f"{self.name!r} learns from the labeling functions {missing}, but they are not in "
            f"[training] annotating_components and the training docs carry no votes from them. "
            f"Under spacy train, add them to the config: annotating_components = "
            f"{list(dict.fromkeys(annotating + missing))}; in your own loop, pass "
            f"nlp.update(..., annotates={missing}).",
            stacklevel=3,
        )

    def add_label(self, label: str) -> int:
        """Add a class; returns 1 if it was added, 0 if the component had it.

        On a trained component the output layer grows (the new class starts at
        zero weight, as in spaCy's ``textcat``) and the label model gets the
        class through the loss's own ``add_class``: the votes in its buffer
        and its statistics are kept, and no item is counted (``items_seen``
        and the refit schedule stay where they were). A component with a
        ``class_balance`` needs one more entry for the new label: set
        ``cfg["class_balance"]`` to ``k + 1`` probabilities (the new label
        last) first; it is checked before anything changes.
        """
        if not isinstance(label, str) or label in self.labels:
            return super().add_label(label)  # spaCy's error for a non-string, 0 for a known label
        if self.loss is None and self._loss_state:
            self._ensure_loss()  # bring back the saved label-model state before the classes change
        balance = self._balance_for(len(self.labels) + 1) if self.loss is not None else None
        n_before = len(self.labels)
        added = super().add_label(label)
        if added:
            self._open_new_outputs(n_before)
            if self.loss is not None:
                self.loss.module.add_class(class_balance=balance)
        return added

    def _balance_for(self, k: int) -> Optional[List[float]]:
        """The configured class balance, checked to have ``k`` valid entries (``None`` if unset)."""
        cb = self.cfg.get("class_balance")
        if cb is None:
            return None
        if len(cb) != k:
            raise ValueError(
                f"{self.name!r} has a class_balance of {len(cb)} entries, and a new label needs {k}: set "
                f"nlp.get_pipe({self.name!r}).cfg['class_balance'] to {k} probabilities (one per label, "
                f"in label order, the new label last) before add_label"
            )
        resolve_class_balance(cb, None, cardinality=k, convention="snorkel")  # refuses NaN, negatives, ...
        return list(cb)

    def _open_new_outputs(self, n_before: int) -> None:
        """spaCy's resizable textcat layers give a new class the bias -5000 so
        that it never fires; behind a softmax or sigmoid that also means it can
        never learn (its gradient is 0). Start new classes at zero instead."""
        if not self.model.has_ref("output_layer"):
            return
        out = self.model.get_ref("output_layer")
        if not out.has_param("b") or out.get_param("b") is None:
            return
        b = out.get_param("b").copy()
        if b.shape[-1] > n_before and float(b[..., n_before:].min()) <= -1000:
            b[..., n_before:] = 0
            out.set_param("b", b)

    # -- serialisation: cfg and model as textcat, plus the label model state --
    def _loss_bytes(self) -> Optional[bytes]:
        if self.loss is None:
            return self._loss_state
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in self.loss.module.state_dict().items()}, buf)
        return buf.getvalue()

    def _set_loss_bytes(self, data: Optional[bytes]) -> None:
        self.loss = None
        self._loss_state = data or None

    def to_bytes(self, *, exclude=tuple()) -> bytes:
        msg = srsly.msgpack_loads(super().to_bytes(exclude=exclude))
        if "label_model" not in exclude:
            msg["label_model"] = self._loss_bytes() or b""
        return srsly.msgpack_dumps(msg)

    def from_bytes(self, bytes_data: bytes, *, exclude=tuple()) -> "WeakTextCategorizer":
        msg = srsly.msgpack_loads(bytes_data)
        state = msg.pop("label_model", None)
        super().from_bytes(srsly.msgpack_dumps(msg), exclude=exclude)
        if "label_model" not in exclude:
            self._set_loss_bytes(state)
        return self

    def to_disk(self, path, *, exclude=tuple()) -> None:
        super().to_disk(path, exclude=exclude)
        data = self._loss_bytes()
        if "label_model" not in exclude and data:
            (Path(path) / "label_model").write_bytes(data)

    def from_disk(self, path, *, exclude=tuple()) -> "WeakTextCategorizer":
        super().from_disk(path, exclude=exclude)
        file = Path(path) / "label_model"
        if "label_model" not in exclude:
            self._set_loss_bytes(file.read_bytes() if file.exists() else None)
        return self


@Language.factory(
    "weak_textcat",
    assigns=["doc.cats"],
    default_config={
        "threshold": 0.0,
        "model": DEFAULT_WEAK_TEXTCAT_MODEL,
        "lfs": [],
        "buffer_capacity": 4096,
        "update_frequency": 64,
        "uncovered": "keep",
        "class_balance": None,
        "scorer": {"@scorers": "spacy.textcat_scorer.v2"},
    },
    default_score_weights={
        "cats_score": 1.0,
        "cats_score_desc": None,
        "cats_micro_p": None,
        "cats_micro_r": None,
        "cats_micro_f": None,
        "cats_macro_p": None,
        "cats_macro_r": None,
        "cats_macro_f": None,
        "cats_macro_auc": None,
        "cats_f_per_type": None,
    },
)
def make_weak_textcat(
    nlp: Language,
    name: str,
    model: Model,
    lfs: List[str],
    threshold: float,
    buffer_capacity: int,
    update_frequency: int,
    uncovered: str,
    class_balance: Optional[List[float]],
    scorer: Optional[Callable],
) -> WeakTextCategorizer:
    """Factory of :class:`WeakTextCategorizer` (``factory = "weak_textcat"``).

    Args:
        model: a single-label textcat architecture (exclusive classes; its
            output is a probability per label). Default: ``spacy.TextCatBOW.v3``.
        lfs: the LF component names to learn from. Default: ``[]`` (every LF
            component before this one, found at initialisation).
        threshold: unused (single label), as in ``textcat``.
        buffer_capacity: votes the label model's ring buffer keeps. Default: 4096.
        update_frequency: refit the label model every this many docs. Default: 64.
        uncovered: docs on which every LF abstains: ``"keep"`` (target = the
            label model's answer for no votes) or ``"ignore"`` (no loss).
            Default: ``"keep"``.
        class_balance: one probability per label (in label order), or ``None``
            (the label model's default). Default: ``None``.
    """
    return WeakTextCategorizer(
        nlp.vocab, model, name, lfs=lfs, threshold=threshold, buffer_capacity=buffer_capacity,
        update_frequency=update_frequency, uncovered=uncovered, class_balance=class_balance, scorer=scorer,
    )
