"""weaksup: train models from the votes of labeling functions.

The label model estimates how accurate each labeling function (LF) is without
gold labels (FlyingSquid's closed-form triplet method) and turns votes into
probabilistic labels; the losses feed those labels to a PyTorch training loop.
Vote conventions are described in :mod:`weaksup.conventions`.
"""

from .analysis import conflict_matrix, lf_summary, overlap_matrix
from .baselines import MajorityVote
from .conventions import check_votes, convert_votes, infer_convention
from .label_model import LabelModel, NotFittedError
from .multiclass import MulticlassLabelModel
from .nn import FSCrossEntropyLoss, FSLoss, MajorityVoteLoss
from .statistics import VoteStatistics, accumulate

__all__ = [
    "FSCrossEntropyLoss",
    "FSLoss",
    "LabelModel",
    "MajorityVoteLoss",
    "MulticlassLabelModel",
    "MajorityVote",
    "conflict_matrix",
    "lf_summary",
    "overlap_matrix",
    "NotFittedError",
    "VoteStatistics",
    "accumulate",
    "check_votes",
    "convert_votes",
    "infer_convention",
]
__version__ = "0.1.0"
