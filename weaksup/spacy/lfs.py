"""Labeling functions as spaCy pipeline components.

A labeling function here is weaksup's own :class:`weaksup.lf.LabelingFunction`
(name, function, pre-processors, resources), the same object plain-Python
LFs use: :func:`labeling_function` makes one from ``f(doc) -> label | None``
and also registers a spaCy component factory for it. So one LF works both
ways: as a pipeline component (:class:`LabelingFunctionComponent` runs it on
each doc and writes the vote with :func:`weaksup.spacy.votes.set_vote`) and
with :func:`weaksup.lf.apply_lfs` over docs (``labels=[...]`` resolves the
label strings). :func:`labeling_functions_in` lists the LF components of a
pipeline, which is how ``weak_textcat`` finds the LFs it learns from.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from ..lf import ABSTAIN, LabelingFunction, Preprocessor
from .votes import set_vote

__all__ = ["LabelingFunction", "LabelingFunctionComponent", "labeling_function", "labeling_functions_in"]

# factory name -> the function registered under it (to tell a re-registration from a clash)
_REGISTERED: Dict[str, Callable[..., Any]] = {}


class LabelingFunctionComponent:
    """The pipeline component of a labeling function (its factory is made by
    :func:`labeling_function`). Calling it on a doc runs the LF and writes the
    vote to ``doc.spans[self.name]`` (see :func:`weaksup.spacy.votes.set_vote`).

    The LF returns a label string, or ``None`` / ``-1`` (:data:`weaksup.lf.ABSTAIN`)
    to abstain. Class ids are refused here: a doc's vote is a label name.

    Attributes:
        name: the component's name in the pipeline (the ``doc.spans`` key).
        lf: the :class:`weaksup.lf.LabelingFunction` it runs.
        labels: the labels the LF may return; empty = any label.
    """

    def __init__(self, name: str, lf: LabelingFunction, labels: Optional[Sequence[str]] = None):
        if not isinstance(lf, LabelingFunction):
            raise TypeError(f"lf must be a weaksup.lf.LabelingFunction, got {type(lf).__name__}")
        self.name = name
        self.lf = lf
        self.labels: Tuple[str, ...] = tuple(labels or ())

    def __call__(self, doc: Doc) -> Doc:
        vote = self.lf(doc)
        if _is_abstain(vote):
            vote = None
        if vote is not None and not isinstance(vote, str):
            raise TypeError(
                f"labeling function {self.name!r} returned {vote!r} ({type(vote).__name__}); "
                "a labeling function component returns a label string, or None to abstain (-1 also abstains)"
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
        return f"LabelingFunctionComponent(name={self.name!r}, lf={self.lf!r}, labels={self.labels!r})"


def _is_abstain(vote: Any) -> bool:
    if vote is None:
        return True
    return isinstance(vote, (int, np.integer)) and not isinstance(vote, bool) and int(vote) == ABSTAIN


def _factory_for(lf: LabelingFunction, labels: Optional[List[str]]):
    def make_labeling_function(nlp: Language, name: str) -> LabelingFunctionComponent:
        return LabelingFunctionComponent(name, lf, labels)

    return make_labeling_function


def _same_function(a: Callable, b: Callable) -> bool:
    return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
        getattr(b, "__module__", None),
        getattr(b, "__qualname__", None),
    )


def labeling_function(
    name: Optional[Any] = None,
    *,
    labels: Optional[Sequence[str]] = None,
    pre: Sequence[Preprocessor] = (),
    resources: Optional[Mapping[str, Any]] = None,
) -> Any:
    """Make ``f(doc) -> label | None`` a labeling function and a spaCy component factory.

    Use as ``@labeling_function`` or ``@labeling_function("name", labels=[...])``.
    The component's factory is ``name`` (default: the function's name), so
    ``nlp.add_pipe("name")`` and ``factory = "name"`` in a config both work once
    the defining module is imported (``spacy train ... --code lfs.py``).
    Returns the :class:`weaksup.lf.LabelingFunction`: callable on a doc (it
    returns the vote) and usable with :func:`weaksup.lf.apply_lfs`.

    Args:
        name: the LF's name and factory name. Default: the function's ``__name__``.
        labels: the labels the function may return; any other return value
            raises a clear error when the component runs, and a classifier
            without configured labels takes its labels from these.
            Default: ``None`` (any string).
        pre: pre-processors ``doc -> doc`` run before the function, as in
            :class:`weaksup.lf.LabelingFunction`. Default: none.
        resources: keyword arguments passed to the function. Default: none.

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
        >>> keyword_link.name, keyword_link(nlp.make_doc("http://a.b"))
        ('doctest_keyword_link', 'SPAM')
    """
    if callable(name) and labels is None:  # bare @labeling_function
        return labeling_function(None, pre=pre, resources=resources)(name)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string (the component's factory name), got {type(name).__name__}")
    if labels is not None:
        if isinstance(labels, str) or not all(isinstance(x, str) for x in labels):
            raise TypeError(f"labels must be a list of label strings, got {labels!r}")
        if not labels:
            raise ValueError("labels must name at least one label; leave it out (None) to allow any label")

    def decorate(func: Callable[..., Any]) -> LabelingFunction:
        if isinstance(func, LabelingFunction):  # an LF made elsewhere: keep its parts
            lf = LabelingFunction(name or func.name, func.function, pre=tuple(func.pre) + tuple(pre),
                                  resources={**func.resources, **dict(resources or {})})
        elif callable(func):
            lf = LabelingFunction(name or func.__name__, func, pre=pre, resources=resources)
        else:
            raise TypeError(f"@labeling_function decorates a function f(doc) -> label | None, got {func!r}")
        factory_name = lf.name
        known = _REGISTERED.get(factory_name)
        if known is not None and not _same_function(known, lf.function):
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
            factory_name, assigns=["doc.spans"], func=_factory_for(lf, None if labels is None else list(labels))
        )
        _REGISTERED[factory_name] = lf.function
        return lf

    return decorate


def labeling_functions_in(nlp: Language, *, before: Optional[str] = None) -> List[str]:
    """Names of the labeling-function components of ``nlp``, in pipeline order
    (only those before the component ``before``, if given)."""
    names = []
    for pipe_name, pipe in nlp.pipeline:
        if pipe_name == before:
            break
        if isinstance(pipe, LabelingFunctionComponent):
            names.append(pipe_name)
    return names
