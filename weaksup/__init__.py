"""weaksup: train models from the votes of labeling functions.

The label model estimates how accurate each labeling function (LF) is without
gold labels (FlyingSquid's closed-form triplet method, or weaksup's pairwise
EM) and turns votes into probabilistic labels; the losses feed those labels to
a PyTorch training loop. Vote conventions are described in
:mod:`weaksup.conventions`.

The names below load on first use (PEP 562), so ``import weaksup`` is cheap
and a light entry point (a Prodigy recipe, ``weaksup --help``) does not pay for
torch until it needs it: ``from weaksup import LabelModel`` works as always.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: Dict[str, str] = {
    "LabelModel": "weaksup.label_model",
    "MulticlassLabelModel": "weaksup.multiclass",
    "MajorityVote": "weaksup.baselines",
    "NotFittedError": "weaksup.base",
    "FSLoss": "weaksup.nn",
    "FSCrossEntropyLoss": "weaksup.nn",
    "MajorityVoteLoss": "weaksup.nn",
    "VoteStatistics": "weaksup.statistics",
    "accumulate": "weaksup.statistics",
    "check_votes": "weaksup.conventions",
    "convert_votes": "weaksup.conventions",
    "infer_convention": "weaksup.conventions",
    "lf_summary": "weaksup.analysis",
    "overlap_matrix": "weaksup.analysis",
    "conflict_matrix": "weaksup.analysis",
    "LabelingFunction": "weaksup.lf",
    "labeling_function": "weaksup.lf",
    "apply_lfs": "weaksup.lf",
    "Votes": "weaksup.lf",
    "WeakLabelDataset": "weaksup.data",
}

__all__ = [
    "accumulate",
    "apply_lfs",
    "check_votes",
    "conflict_matrix",
    "convert_votes",
    "FSCrossEntropyLoss",
    "FSLoss",
    "infer_convention",
    "labeling_function",
    "LabelingFunction",
    "LabelModel",
    "lf_summary",
    "MajorityVote",
    "MajorityVoteLoss",
    "MulticlassLabelModel",
    "NotFittedError",
    "overlap_matrix",
    "Votes",
    "VoteStatistics",
    "WeakLabelDataset",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'weaksup' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what static type checkers and IDEs see
    from .analysis import conflict_matrix, lf_summary, overlap_matrix
    from .baselines import MajorityVote
    from .data import WeakLabelDataset
    from .conventions import check_votes, convert_votes, infer_convention
    from .base import NotFittedError
    from .label_model import LabelModel
    from .lf import LabelingFunction, Votes, apply_lfs, labeling_function
    from .multiclass import MulticlassLabelModel
    from .nn import FSCrossEntropyLoss, FSLoss, MajorityVoteLoss
    from .statistics import VoteStatistics, accumulate
