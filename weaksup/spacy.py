"""spaCy integration: labeling functions as pipeline components, and a text
classifier trained from their votes through weaksup's online label model.

Needs spaCy 3.8: ``pip install weaksup[spacy]``. Importing :mod:`weaksup`
never imports spaCy; importing this module does (and registers the factories
below, as the ``spacy_factories`` entry points do for ``spacy train``).

**Labeling functions.** :func:`labeling_function` turns ``f(doc) -> label |
None`` into a registered pipeline component. When it runs, the component
writes its vote to ``doc.spans[<component name>]``: a span group holding one
span over the whole doc, whose label is the vote; an empty group means the
LF abstained (as skweak does). Span groups travel with ``DocBin``, so voted
docs can be saved, and :func:`get_vote` / :func:`votes_matrix` read them back.

**weak_textcat.** A single-label text classifier (spaCy's ``textcat``
with its own loss): on each update it reads the LF votes of the batch,
feeds them to :class:`weaksup.nn.FSCrossEntropyLoss` (a ring buffer whose
label model is refit as training goes) and trains towards the soft labels,
which spaCy's ``textcat`` refuses (E851). Gold ``doc.cats`` are used for
scoring only. Under ``python -m spacy train`` list the LF components in
``[training] annotating_components`` so that they vote on the training docs
(see ``examples/spacy_youtube`` in the repository)::

    [nlp]
    pipeline = ["keyword_my", "short_comment", ..., "textcat"]

    [components.textcat]
    factory = "weak_textcat"

    [training]
    annotating_components = ["keyword_my", "short_comment", ...]

``textcat.add_label("NEW")`` on a trained pipeline grows the output layer
(the new class starts with zero weights) and the label model's classes.
"""

from __future__ import annotations

import io
import warnings
from itertools import islice
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

try:
    import spacy  # noqa: F401
    import srsly
    from spacy.language import Language
    from spacy.pipeline.textcat import TextCategorizer, single_label_bow_config
    from spacy.tokens import Doc, Span, SpanGroup
    from spacy.training import Example, validate_examples, validate_get_examples
    from thinc.api import Config, Model
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"weaksup.spacy needs spaCy 3.8, which is not installed ({err}). "
        "Install it with: pip install weaksup[spacy]"
    ) from err

import numpy as np
import torch

from . import thinc as _wthinc

__all__ = [
    "LabelingFunction",
    "WeakTextCategorizer",
    "get_vote",
    "labeling_function",
    "labeling_functions_in",
    "make_weak_textcat",
    "set_vote",
    "votes_matrix",
]

ABSTAIN = -1

# ---------------------------------------------------------------------------
# Votes on docs
# ---------------------------------------------------------------------------


def set_vote(doc: Doc, lf_name: str, label: Optional[str]) -> None:
    """Write the vote of LF ``lf_name`` on ``doc``: ``doc.spans[lf_name]`` gets
    one span over the whole doc labelled ``label``, or no span (``None`` =
    abstain)."""
    spans = [] if label is None else [Span(doc, 0, len(doc), label=label)]
    doc.spans[lf_name] = SpanGroup(doc, name=lf_name, spans=spans)


def get_vote(doc: Doc, lf_name: str, *, component: str = "") -> Optional[str]:
    """The label LF ``lf_name`` voted on ``doc``, or ``None`` if it abstained.

    Raises:
        KeyError: the LF has not run on this doc (``doc.spans`` has no group
            ``lf_name``); the message says how to make it vote.
        ValueError: the group holds more than one span.
    """
    if lf_name not in doc.spans:
        who = f"{component}: " if component else ""
        raise KeyError(
            f"{who}the doc has no vote of the labeling function {lf_name!r} "
            f"(doc.spans[{lf_name!r}] is missing; the doc has vote groups "
            f"{sorted(doc.spans.keys())}). Run the LF component on the docs: add it to the "
            f"pipeline before the classifier and, under spacy train, list it in "
            f"[training] annotating_components."
        )
    group = doc.spans[lf_name]
    if len(group) > 1:
        raise ValueError(
            f"doc.spans[{lf_name!r}] holds {len(group)} spans, but a labeling function "
            "votes once per doc: one span over the doc (its label is the vote) or none (abstain)"
        )
    return group[0].label_ if len(group) else None


def votes_matrix(
    docs: Iterable[Doc], lfs: Sequence[str], labels: Sequence[str], *, component: str = ""
) -> np.ndarray:
    """The vote matrix of ``docs`` in the Snorkel/WRENCH convention.

    Args:
        docs: docs the LF components have run on.
        lfs: the LF component names (the columns).
        labels: the class names; class ``c`` is ``labels[c]``.

    Returns:
        ``(n, m)`` int64: ``L[i, j]`` = index in ``labels`` of LF ``j``'s vote on
        doc ``i``, or ``-1`` (abstain). Feed it to any weaksup label model.

    Raises:
        KeyError: a doc lacks the votes of an LF.
        ValueError: an LF voted a label that is not in ``labels``.
    """
    index = {label: c for c, label in enumerate(labels)}
    rows = []
    for doc in docs:
        row = []
        for lf in lfs:
            vote = get_vote(doc, lf, component=component)
            if vote is None:
                row.append(ABSTAIN)
                continue
            if vote not in index:
                who = f"{component!r} " if component else ""
                raise ValueError(
                    f"the labeling function {lf!r} voted {vote!r}, a label that the component "
                    f"{who}does not know (its labels: {list(labels)}). Fix the LF, or add the "
                    f"label: nlp.get_pipe(...).add_label({vote!r}), or list it in "
                    f"[initialize.components.<name>] labels."
                )
            row.append(index[vote])
        rows.append(row)
    return np.asarray(rows, dtype=np.int64).reshape(len(rows), len(lfs))


# ---------------------------------------------------------------------------
# Labeling functions as components
# ---------------------------------------------------------------------------
_LF_FUNCTIONS: Dict[str, Callable[[Doc], Optional[str]]] = {}


class LabelingFunction:
    """The pipeline component of a labeling function (made by
    :func:`labeling_function`). Calling it on a doc runs the function and
    writes the vote to ``doc.spans[self.name]`` (see :func:`set_vote`).

    Attributes:
        name: the component's name in the pipeline (the ``doc.spans`` key).
        func: ``f(doc) -> label | None``.
        labels: the labels the function may return; empty = any label.
    """

    def __init__(self, name: str, func: Callable[[Doc], Optional[str]], labels: Optional[Sequence[str]] = None):
        self.name = name
        self.func = func
        self.labels: Tuple[str, ...] = tuple(labels or ())

    def __call__(self, doc: Doc) -> Doc:
        vote = self.func(doc)
        if vote is not None and not isinstance(vote, str):
            raise TypeError(
                f"labeling function {self.name!r} returned {vote!r} ({type(vote).__name__}); "
                "a labeling function returns a label string, or None to abstain"
            )
        if vote is not None and self.labels and vote not in self.labels:
            raise ValueError(
                f"labeling function {self.name!r} returned {vote!r}, which is not one of the labels "
                f"it declares {list(self.labels)}; fix the function or add the label to "
                f"@labeling_function(labels=[...])"
            )
        set_vote(doc, self.name, vote)
        return doc

    def __repr__(self) -> str:
        return f"LabelingFunction(name={self.name!r}, labels={self.labels!r})"


def _factory_for(func: Callable[[Doc], Optional[str]], labels: Optional[List[str]]):
    def make_labeling_function(nlp: Language, name: str) -> LabelingFunction:
        return LabelingFunction(name, func, labels)

    return make_labeling_function


def _same_function(a: Callable, b: Callable) -> bool:
    return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
        getattr(b, "__module__", None),
        getattr(b, "__qualname__", None),
    )


def labeling_function(
    name: Optional[Any] = None, *, labels: Optional[Sequence[str]] = None
) -> Any:
    """Register ``f(doc) -> label | None`` as a spaCy pipeline component.

    Use as ``@labeling_function`` or ``@labeling_function("name", labels=[...])``.
    The component's factory is ``name`` (default: the function's name), so
    ``nlp.add_pipe("name")`` and ``factory = "name"`` in a config both work once
    the defining module is imported (``spacy train ... --code lfs.py``). The
    function itself is returned unchanged, so it can still be called on a doc.

    Args:
        name: the factory name. Default: the function's ``__name__``.
        labels: the labels the function may return; any other return value
            raises a clear error when the component runs, and a classifier
            without configured labels takes its labels from these.
            Default: ``None`` (any string).

    Example:
        >>> import spacy
        >>> from weaksup.spacy import labeling_function, get_vote
        >>> @labeling_function("doctest_keyword_link", labels=["SPAM"])
        ... def keyword_link(doc):
        ...     return "SPAM" if "http" in doc.text.lower() else None
        >>> nlp = spacy.blank("en")
        >>> _ = nlp.add_pipe("doctest_keyword_link")
        >>> get_vote(nlp("see http://x.y"), "doctest_keyword_link")
        'SPAM'
    """
    if callable(name) and labels is None:  # bare @labeling_function
        return labeling_function(None)(name)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string (the component's factory name), got {type(name).__name__}")
    if labels is not None:
        if isinstance(labels, str) or not all(isinstance(x, str) for x in labels):
            raise TypeError(f"labels must be a list of label strings, got {labels!r}")
        if not labels:
            raise ValueError("labels must name at least one label; leave it out (None) to allow any label")

    def decorate(func: Callable[[Doc], Optional[str]]) -> Callable[[Doc], Optional[str]]:
        if not callable(func):
            raise TypeError(f"@labeling_function decorates a function f(doc) -> label | None, got {func!r}")
        factory_name = name or func.__name__
        known = _LF_FUNCTIONS.get(factory_name)
        if known is not None and not _same_function(known, func):
            raise ValueError(
                f"a labeling function named {factory_name!r} is already registered "
                f"({known.__module__}.{known.__qualname__}); give this one another name: "
                f"@labeling_function('another_name')"
            )
        if known is None and Language.has_factory(factory_name):
            raise ValueError(
                f"{factory_name!r} is already the name of a spaCy component factory; give the "
                f"labeling function another name: @labeling_function('another_name')"
            )
        Language.factory(
            factory_name, assigns=["doc.spans"], func=_factory_for(func, None if labels is None else list(labels))
        )
        _LF_FUNCTIONS[factory_name] = func
        return func

    return decorate


def labeling_functions_in(nlp: Language, *, before: Optional[str] = None) -> List[str]:
    """Names of the labeling-function components of ``nlp``, in pipeline order
    (only those before the component ``before``, if given)."""
    names = []
    for pipe_name, pipe in nlp.pipeline:
        if pipe_name == before:
            break
        if isinstance(pipe, LabelingFunction):
            names.append(pipe_name)
    return names


# ---------------------------------------------------------------------------
# weak_textcat
# ---------------------------------------------------------------------------
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
        self.loss: Optional[_wthinc.FSCrossEntropyLoss] = None
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

    def _build_loss(self) -> _wthinc.FSCrossEntropyLoss:
        cb = self.cfg.get("class_balance")
        if cb is not None and len(cb) != len(self.labels):
            raise ValueError(
                f"{self.name!r}: class_balance has {len(cb)} entries but the component has "
                f"{len(self.labels)} labels {list(self.labels)}; give one probability per label"
            )
        return _wthinc.FSCrossEntropyLoss(
            len(self.lfs), len(self.labels), normalize=False,
            buffer_capacity=self.cfg["buffer_capacity"], update_frequency=self.cfg["update_frequency"],
            uncovered=self.cfg["uncovered"], class_balance=cb,
        )

    def _ensure_loss(self) -> _wthinc.FSCrossEntropyLoss:
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
                    saved = tuple(state["lf_buffer"].shape) if "lf_buffer" in state else "?"
                    self.loss = None
                    raise ValueError(
                        f"{self.name!r}: the saved label-model state does not fit the component "
                        f"({len(self.lfs)} labeling functions {self.lfs}, {len(self.labels)} labels; "
                        f"saved buffer of shape {saved}: buffer_capacity x number of LFs). Keep the "
                        f"LFs the pipeline was trained with, or re-initialise the component."
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
        """Add a class. On a trained component the output layer grows (the new
        class starts at zero weight, as in spaCy's ``textcat``) and the label
        model gets the class too, keeping the votes already in its buffer."""
        if isinstance(label, str) and label not in self.labels and self.loss is None and self._loss_state:
            self._ensure_loss()  # bring back the saved label-model state before the classes change
        n_before = len(self.labels)
        added = super().add_label(label)
        if added:
            self._open_new_outputs(n_before)
        if added and self.loss is not None:
            old = self.loss.module
            votes = old.buffer_votes() if old.fitted else None
            self.loss = None
            new = self._ensure_loss()
            if votes is not None and votes.shape[0]:
                with torch.no_grad():  # refill the buffer (and refit) under k + 1 classes
                    new.module(torch.zeros(votes.shape[0], len(self.labels), dtype=torch.float64, device=votes.device), votes)
        return added

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
        from pathlib import Path

        super().to_disk(path, exclude=exclude)
        data = self._loss_bytes()
        if "label_model" not in exclude and data:
            (Path(path) / "label_model").write_bytes(data)

    def from_disk(self, path, *, exclude=tuple()) -> "WeakTextCategorizer":
        from pathlib import Path

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
