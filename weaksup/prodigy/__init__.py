"""Prodigy recipes for weak supervision: ``weak.teach`` and ``weak.review``.

- ``weak.teach``: active learning for text classification. The stream is
  scored by the weak-supervision model (a label model over the labeling
  functions' votes and an end model trained on its probabilistic labels) and
  ordered by uncertainty. Every answered batch becomes gold: it replaces those
  items' labels and trains the end model.
- ``weak.review``: the items on which the labeling functions disagree most,
  with each LF's vote shown beside the class it voted for, for the annotator
  to resolve.

Prodigy is not on PyPI, and nothing here needs it to run: the recipes return
plain objects. The package is split by concern:

- :mod:`weaksup.prodigy.recipes`: :func:`teach`, :func:`review` and the
  entry points Prodigy loads (light: no torch until a recipe runs);
- :mod:`weaksup.prodigy.loops`: :class:`TeachLoop` and :class:`ReviewLoop`,
  the ``stream``, ``update`` and ``progress`` callbacks;
- :mod:`weaksup.prodigy.classifier`: :class:`WeakTextClassifier`, label model +
  end model (:class:`weaksup.models.HashedNgramClassifier`) + gold answers;
- :mod:`weaksup.prodigy.sources`: :func:`load_source`, the recipes' input.

Prodigy finds the recipes through the entry point group ``prodigy_recipes``
(see :mod:`weaksup.prodigy.recipes`) and then runs, for example::

    prodigy weak.teach spam_gold youtube
    prodigy weak.review spam_conflicts comments.jsonl --lf-names my,link,short

Votes follow the Snorkel/WRENCH convention: ``-1`` = abstain, classes
``0..k-1`` (see :mod:`weaksup.conventions`). A source is a bundled dataset
name (``youtube``), a WRENCH-format folder, or a ``.jsonl`` file with one
object per line: ``{"text": ..., "weak_labels": [one vote per LF]}``
(WRENCH's ``{"data": {"text": ...}}`` works too; a ``"label"`` is read as
gold and shown to nobody).

Importing this package imports neither torch nor Prodigy and registers
nothing; the classes load on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

from .recipes import RECIPES, register, review, teach

# public name -> the submodule that defines it (loaded on first use: these need torch)
_LAZY: Dict[str, str] = {
    "WeakTextClassifier": "weaksup.prodigy.classifier",
    "ReviewLoop": "weaksup.prodigy.loops",
    "TeachLoop": "weaksup.prodigy.loops",
    "disagreement": "weaksup.prodigy.loops",
    "load_source": "weaksup.prodigy.sources",
    "split_names": "weaksup.prodigy.sources",
}

__all__ = [
    "RECIPES",
    "ReviewLoop",
    "TeachLoop",
    "WeakTextClassifier",
    "disagreement",
    "load_source",
    "register",
    "review",
    "split_names",
    "teach",
]

if TYPE_CHECKING:
    from .classifier import WeakTextClassifier
    from .loops import ReviewLoop, TeachLoop, disagreement
    from .sources import load_source, split_names


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
