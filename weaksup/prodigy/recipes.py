"""The Prodigy recipes ``weak.teach`` and ``weak.review``: light entry points.

This module imports nothing heavy (no torch, no numpy, no Prodigy): the
recipe functions import the loops of :mod:`weaksup.prodigy.loops` when they
run. So Prodigy can list and load weaksup's recipes, through the entry point
group ``prodigy_recipes``, without paying for torch on every ``prodigy``
command::

    [project.entry-points."prodigy_recipes"]
    "weak.teach" = "weaksup.prodigy.recipes:teach_recipe"
    "weak.review" = "weaksup.prodigy.recipes:review_recipe"

Prodigy's registry resolves an entry point by loading it and calling what it
gets with its command-line parsing, so the entry point must be the function
*as Prodigy's* ``@prodigy.recipe`` *decorator returns it*. The attributes
``teach_recipe`` and ``review_recipe`` are exactly that: on first access they
decorate :func:`teach` / :func:`review` with ``prodigy.recipe(name,
**RECIPES[name][1])`` (cached). Importing this module (or
:mod:`weaksup.prodigy`) registers nothing; Prodigy registers the recipe when
it asks for it. :func:`register` registers both recipes explicitly.

:func:`teach` and :func:`review` stay plain functions returning Prodigy's
components dict, callable from Python without Prodigy.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

__all__ = ["RECIPES", "register", "review", "teach"]


def _model_for(source: str, label_names, lf_names, seed: int, **options: Any):
    from .classifier import WeakTextClassifier
    from .sources import load_source

    ds, lf_names = load_source(source, label_names=label_names, lf_names=lf_names)
    return WeakTextClassifier(ds.texts, ds.L, label_names=ds.label_names, lf_names=lf_names, seed=seed, **options)


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

    The stream is scored by a :class:`~weaksup.prodigy.classifier.WeakTextClassifier`
    (a label model over the LF votes and an end model trained on its
    probabilistic labels) and ordered by uncertainty; every answered batch
    becomes gold: it replaces those items' labels and trains the end model
    (see :class:`~weaksup.prodigy.loops.TeachLoop`).

    Args:
        dataset: Prodigy dataset to save the answers to.
        source: ``youtube``, a WRENCH folder or a ``.jsonl`` file (see
            :func:`weaksup.prodigy.sources.load_source`).
        label: comma-separated class names to ask about. Default: class 1
            (binary), else all.
        label_names: comma-separated names of classes 0..k-1. Default: the source's.
        lf_names: comma-separated LF names. Default: the source's, else lf_0...
        batch_size: tasks per round (and answers per ``update``). Default: 10.
        seed: seed of the end model's training. Default: 0.

    Returns:
        Prodigy's components: ``dataset``, ``exclude``, ``view_id``,
        ``stream``, ``update``, ``progress``, ``config``.
    """
    from .loops import TeachLoop
    from .sources import split_names

    model = _model_for(source, label_names, lf_names, seed)
    loop = TeachLoop(model, labels=split_names(label), batch_size=batch_size)
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

    Each task shows an item the LFs disagree on, each class beside the LFs
    that voted for it; the chosen class becomes gold for the label model
    (see :class:`~weaksup.prodigy.loops.ReviewLoop`). Args as in
    :func:`teach` (no ``label``).
    """
    from .loops import ReviewLoop

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
    """Register both recipes with Prodigy (``prodigy_module.recipe``); False
    when Prodigy is not importable. Prodigy finds the recipes through the
    entry points without this; it is for a Prodigy that does not read them."""
    if prodigy_module is None:
        try:
            import prodigy as prodigy_module  # type: ignore
        except ImportError:
            return False
    for name, (func, arguments) in RECIPES.items():
        prodigy_module.recipe(name, **arguments)(func)
    return True


# entry-point attribute -> recipe name; the decorated recipes, made on first access
_ENTRY_POINTS = {"teach_recipe": "weak.teach", "review_recipe": "weak.review"}
_DECORATED: Dict[str, Callable[..., Any]] = {}


def __getattr__(name: str) -> Any:
    recipe = _ENTRY_POINTS.get(name)
    if recipe is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if recipe not in _DECORATED:
        try:
            import prodigy  # type: ignore
        except ImportError as err:
            raise ImportError(
                f"{__name__}.{name} is the Prodigy recipe {recipe!r}; loading it needs Prodigy, which is "
                f"not importable ({err}). Without Prodigy, call weaksup.prodigy.{RECIPES[recipe][0].__name__}() "
                "for the recipe's components."
            ) from err
        func, arguments = RECIPES[recipe]
        _DECORATED[recipe] = prodigy.recipe(recipe, **arguments)(func)
    return _DECORATED[recipe]
