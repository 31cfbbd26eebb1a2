"""Labeling functions as spaCy pipeline components.

:func:`labeling_function` registers ``f(doc) -> label | None`` as a component
factory; the component (:class:`LabelingFunction`) runs the function on each
doc and writes the vote with :func:`weaksup.spacy.votes.set_vote`.
:func:`labeling_functions_in` lists the LF components of a pipeline, which is
how ``weak_textcat`` finds the LFs it learns from.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc

from .votes import set_vote

__all__ = ["LabelingFunction", "labeling_function", "labeling_functions_in"]

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
