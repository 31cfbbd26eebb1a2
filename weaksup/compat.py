"""Compatibility with upstream FlyingSquid.

FlyingSquid (PyPI ``flyingsquid``) imports ``pgmpy.models.MarkovModel``, a name
that pgmpy 1.0 renamed to ``DiscreteMarkovNetwork``. :func:`patch_pgmpy` puts
the old name back so that ``import flyingsquid.label_model`` works again::

    import weaksup.compat
    weaksup.compat.patch_pgmpy()
    from flyingsquid.label_model import LabelModel   # upstream, now importable

weaksup itself needs the patch only to build junction trees with pgmpy.
"""

from __future__ import annotations


PGMPY_NEEDED = (
    "LF dependency graphs and sequences (v > 1, lambda_edges) need pgmpy: pip install 'weaksup[graphs]'"
)


def patch_pgmpy() -> None:
    """Alias ``pgmpy.models.MarkovModel`` to ``DiscreteMarkovNetwork`` if missing.

    Raises ``ImportError`` saying how to install pgmpy when it is missing."""
    try:
        import pgmpy.models
    except ImportError as err:
        raise ImportError(PGMPY_NEEDED) from err

    if not hasattr(pgmpy.models, "MarkovModel"):
        pgmpy.models.MarkovModel = pgmpy.models.DiscreteMarkovNetwork
