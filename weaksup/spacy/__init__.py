"""spaCy integration: labeling functions as pipeline components, and a text
classifier trained from their votes through weaksup's online label model.

Needs spaCy 3.8: ``pip install weaksup[spacy]``. Importing :mod:`weaksup`
never imports spaCy; importing this package does, and registers the
``weak_textcat`` factory (spaCy's own mechanism: the ``spacy_factories``
entry point imports this package for ``spacy train``).

The package, by concern: :mod:`weaksup.spacy.votes` (votes on docs),
:mod:`weaksup.spacy.lfs` (labeling functions as components; an LF is
:class:`weaksup.lf.LabelingFunction`, re-exported here, the same object as
plain-Python LFs),
:mod:`weaksup.spacy.textcat` (``weak_textcat``).

**Labeling functions.** :func:`labeling_function` turns ``f(doc) -> label |
None`` into a :class:`weaksup.lf.LabelingFunction` and registers a pipeline
component for it (so the same LF also runs with :func:`weaksup.lf.apply_lfs`
over docs). When it runs, the component writes its vote to ``doc.spans[<component name>]``: a span group holding one
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

try:
    import spacy  # noqa: F401
    import srsly  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"weaksup.spacy needs spaCy 3.8, which is not installed ({err}). "
        "Install it with: pip install weaksup[spacy]"
    ) from err

from .lfs import LabelingFunction, LabelingFunctionComponent, labeling_function, labeling_functions_in
from .textcat import WeakTextCategorizer, make_weak_textcat
from .votes import ABSTAIN, get_vote, set_vote, votes_matrix

__all__ = [
    "ABSTAIN",
    "LabelingFunction",
    "LabelingFunctionComponent",
    "WeakTextCategorizer",
    "get_vote",
    "labeling_function",
    "labeling_functions_in",
    "make_weak_textcat",
    "set_vote",
    "votes_matrix",
]
