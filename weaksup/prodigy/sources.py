"""Where the Prodigy recipes read their pool: texts, votes and (optional) gold.

A source is a bundled dataset name (``youtube``), a WRENCH-format folder, or a
``.jsonl`` file with one object per line: ``{"text": ..., "weak_labels": [one
vote per LF]}`` (WRENCH's ``{"data": {"text": ...}}`` works too; a ``"label"``
is read as gold). Votes follow the Snorkel/WRENCH convention: ``-1`` =
abstain, classes ``0..k-1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from ..datasets import YOUTUBE_LF_NAMES, WeakDataset, load_wrench, load_youtube
from ..io import check_row_width, json_lines

__all__ = ["load_source", "split_names"]


def split_names(value: Union[None, str, Sequence[str]]) -> Optional[List[str]]:
    """``"a, b,c"`` -> ``["a", "b", "c"]`` (Prodigy passes lists as comma-separated
    strings); a list or tuple is kept as a list, ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [str(s) for s in value]
    return [s.strip() for s in str(value).split(",") if s.strip()]


def load_source(source: str, *, split: str = "train", label_names=None, lf_names=None) -> Tuple[WeakDataset, Optional[List[str]]]:
    """Texts, votes (and gold, if present) of a recipe source.

    ``source`` is ``"youtube"`` (bundled; train without its repeated rows), a
    WRENCH-format folder (``split`` chosen), or a ``.jsonl`` file of objects
    ``{"text": ..., "weak_labels": [...]}`` (or WRENCH's ``{"data": {"text": ...}}``),
    with an optional ``"label"`` (class id: on every line or on none). Returns
    ``(dataset, lf_names)``.
    """
    label_names = split_names(label_names)
    lf_names = split_names(lf_names)
    if source == "youtube":
        ds = load_youtube(split)
        ds = ds.subset(~ds.labeled_mask)
        return ds, lf_names or list(YOUTUBE_LF_NAMES)
    path = Path(source)
    if path.is_dir():
        ds = load_wrench(path, split)
        return ds, lf_names
    if not path.is_file():
        raise FileNotFoundError(f"{source}: no such file or folder (expected 'youtube', a WRENCH folder or a .jsonl file)")
    if path.suffix.lower() != ".jsonl":
        raise ValueError(f"{source}: expected a .jsonl file of {{\"text\": ..., \"weak_labels\": [...]}} objects")
    texts, rows, gold = [], [], []
    with open(path, encoding="utf-8") as f:
        for line_no, where, obj in json_lines(f, source):
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: expected an object with 'text' and 'weak_labels', got {type(obj).__name__}")
            text = obj.get("text", (obj.get("data") or {}).get("text") if isinstance(obj.get("data"), dict) else None)
            if not isinstance(text, str):
                raise ValueError(f"{where}: expected a string 'text' (or 'data': {{'text': ...}})")
            votes = obj.get("weak_labels")
            if not isinstance(votes, list) or not votes:
                raise ValueError(f"{where}: expected 'weak_labels', a list with one integer vote per labeling function")
            check_row_width(votes, rows, where)
            for c, v in enumerate(votes):
                if isinstance(v, bool) or not isinstance(v, int) or v < -1:
                    raise ValueError(f"{where}, column {c + 1}: expected a vote -1 (abstain) or a class id 0..k-1, got {v!r}")
            label = obj.get("label")
            if label is not None and (isinstance(label, bool) or not isinstance(label, int) or label < 0):
                raise ValueError(f"{where}: expected 'label' to be a class id 0..k-1 (or absent), got {label!r}")
            texts.append(text)
            rows.append(votes)
            gold.append((line_no, label))
    if not rows:
        raise ValueError(f"{source}: no items found")
    with_label = [line for line, label in gold if label is not None]
    without_label = [line for line, label in gold if label is None]
    if with_label and without_label:
        raise ValueError(
            f"{source}: line {with_label[0]} has a gold 'label' but line {without_label[0]} has none: "
            "give a label on every line or on none"
        )
    Y = np.array([label for _, label in gold], dtype=np.int64) if with_label else None
    ds = WeakDataset(np.array(rows, dtype=np.int64), Y=Y, texts=texts, label_names=label_names, name=path.stem)
    return ds, lf_names
