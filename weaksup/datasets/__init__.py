"""Weak supervision datasets: votes of labeling functions, gold labels, texts.

Everything here speaks the Snorkel/WRENCH vote convention (``-1`` = abstain,
classes ``0..k-1``) except :func:`load_flyingsquid_votes`, which returns
FlyingSquid's files unchanged (+1/-1, ``0`` = abstain).

- :class:`WeakDataset`: one split (votes ``L`` ``(n, m)``, gold ``Y`` ``(n,)``,
  texts, ids, class names), with :meth:`WeakDataset.to_flyingsquid`.
- :func:`load_wrench`, :func:`load_wrench_splits`: WRENCH-format folders.
- :func:`load_flyingsquid_votes`: FlyingSquid's tutorial ``.npy`` files.
- :func:`load_youtube`, :func:`load_youtube_splits`: WRENCH's YouTube spam
  data, shipped with weaksup (no download); :data:`YOUTUBE_LF_NAMES` names its
  ten labeling functions in column order.
"""

from ._bundled import YOUTUBE_LF_NAMES, load_youtube, load_youtube_splits
from ._dataset import WeakDataset
from ._flyingsquid import load_flyingsquid_votes
from ._wrench import load_wrench, load_wrench_splits

__all__ = [
    "YOUTUBE_LF_NAMES",
    "WeakDataset",
    "load_flyingsquid_votes",
    "load_wrench",
    "load_wrench_splits",
    "load_youtube",
    "load_youtube_splits",
]
