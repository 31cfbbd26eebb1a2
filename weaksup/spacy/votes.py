"""Votes of labeling functions on spaCy docs.

A labeling-function component writes its vote on a doc to
``doc.spans[<component name>]``: a span group holding one span over the
whole doc, whose label is the vote; an empty group means the LF abstained
(as skweak does). Span groups travel with ``DocBin``, so voted docs can be
saved; :func:`get_vote` and :func:`votes_matrix` read them back, the matrix in
the Snorkel/WRENCH convention (``-1`` = abstain, classes ``0..k-1``).
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np
from spacy.tokens import Doc, Span, SpanGroup

__all__ = ["ABSTAIN", "get_vote", "set_vote", "votes_matrix"]

ABSTAIN = -1


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
