"""Old name of :mod:`weaksup._agreement`, kept until its last importer moves."""

from ._agreement import agreement_accuracies, rank_correlation  # noqa: F401
