"""Datasets shipped inside the package (read through ``importlib.resources``)."""

from __future__ import annotations

from importlib import resources
from typing import Dict

from ._dataset import WeakDataset
from ._wrench import SPLITS, _load

# The labeling functions of the youtube data, in column order of its votes
# (the list in ``readme.txt`` beside the data).
YOUTUBE_LF_NAMES = (
    "keyword_my", "keyword_subscribe", "keyword_link", "keyword_please", "keyword_song",
    "regex_check_out", "short_comment", "has_person_nlp", "textblob_polarity", "textblob_subjectivity",
)


def _youtube_root():
    return resources.files(__package__).joinpath("data").joinpath("youtube")


def load_youtube(split: str = "train") -> WeakDataset:
    """The YouTube spam dataset of the WRENCH benchmark, bundled with weaksup.

    1,956 YouTube comments, 2 classes (0 = ``"HAM"``, 1 = ``"SPAM"``) and 10
    labeling functions (keywords, regular expressions, comment length,
    sentiment; named in :data:`YOUTUBE_LF_NAMES`, described in ``readme.txt``
    beside the data). Sizes: train 1,686,
    valid 120, test 250. The last 100 train rows (ids ``"1586"`` ..
    ``"1685"``, :attr:`WeakDataset.labeled_ids`) repeat earlier train items;
    ``ds.subset(~ds.labeled_mask)`` keeps each item once. Texts: YouTube
    Spam Collection (CC BY 4.0); votes and splits: WRENCH (Apache-2.0); see
    ``SOURCES.md`` beside the data.

    Args:
        split: ``"train"``, ``"valid"`` or ``"test"``. Default: ``"train"``.

    Returns:
        A :class:`WeakDataset`: ``L`` int64 of shape ``(n, 10)`` with ``-1`` =
        abstain, gold labels ``Y`` of shape ``(n,)``, texts and ids.

    Example:
        >>> ds = load_youtube("valid")
        >>> ds.L.shape, ds.label_names
        ((120, 10), ['HAM', 'SPAM'])
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return _load(_youtube_root(), "youtube (bundled with weaksup)", split, "youtube")


def load_youtube_splits() -> Dict[str, WeakDataset]:
    """All three splits of :func:`load_youtube`: ``{"train", "valid", "test"}``."""
    return {split: load_youtube(split) for split in SPLITS}
