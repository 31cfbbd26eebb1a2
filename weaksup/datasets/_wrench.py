"""Readers for WRENCH-format folders (one JSON file per split)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Protocol, Tuple, Union

import numpy as np

from ._dataset import WeakDataset

PathLike = Union[str, "os.PathLike[str]"]
SPLITS = ("train", "valid", "test")
_FOLDER_HINT = (
    "a WRENCH dataset folder holds one file per split (train.json, valid.json, test.json, "
    'each {id: {"data": {"text": ...}, "label": int, "weak_labels": [...]}}) and '
    "label.json (class id -> class name)"
)


class _Resource(Protocol):
    """What both ``pathlib.Path`` and ``importlib.resources`` traversables offer."""

    name: str

    def joinpath(self, *parts: str) -> "_Resource": ...

    def is_file(self) -> bool: ...

    def is_dir(self) -> bool: ...

    def iterdir(self) -> Any: ...

    def read_bytes(self) -> bytes: ...


def _read_json(res: _Resource, source: str) -> Any:
    try:
        return json.loads(res.read_bytes())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source} is not valid JSON: {exc}") from None


def _json_files(root: _Resource) -> List[str]:
    try:
        return sorted(p.name for p in root.iterdir() if p.name.endswith(".json"))
    except OSError:
        return []


def _read_label_names(root: _Resource, where: str) -> List[str]:
    res = root.joinpath("label.json")
    if not res.is_file():
        raise FileNotFoundError(
            f"{where}/label.json not found; {_FOLDER_HINT}. "
            f"JSON files there: {_json_files(root) or 'none'}"
        )
    obj = _read_json(res, f"{where}/label.json")
    if not isinstance(obj, dict) or not obj:
        raise ValueError(
            f"{where}/label.json must map class ids to names, like "
            f'{{"0": "HAM", "1": "SPAM"}}, got {type(obj).__name__} {str(obj)[:60]}'
        )
    try:
        by_id = {int(key): str(value) for key, value in obj.items()}
    except ValueError:
        bad = next(key for key in obj if not str(key).lstrip("-").isdigit())
        raise ValueError(
            f"{where}/label.json must map class ids 0..k-1 to names, got the key {bad!r}"
        ) from None
    if sorted(by_id) != list(range(len(by_id))):
        raise ValueError(
            f"{where}/label.json must name the classes 0..{len(by_id) - 1} once each, "
            f"got the ids {sorted(by_id)}"
        )
    return [by_id[c] for c in range(len(by_id))]


def _first_bad(ids: List[str], items: List[Any], ok) -> str:
    for item_id, item in zip(ids, items):
        if not ok(item):
            return item_id
    return ids[0]  # unreachable when called after a failure


def _integer_array(values: Any, what: str, ids: List[str], source: str) -> np.ndarray:
    try:
        arr = np.asarray(values)
    except ValueError:
        arr = np.asarray(values, dtype=object)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise ValueError(f"item {ids[row]!r} in {source} has a non-integer {what}")
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        for item_id, value in zip(ids, values):
            vals = value if isinstance(value, list) else [value]
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in vals):
                raise ValueError(
                    f"item {item_id!r} in {source} has a {what} that is not an integer: {value!r}"
                )
        raise ValueError(f"{source}: every {what} must be an integer")
    return arr.astype(np.int64, copy=False)


def _parse_split(
    obj: Any, source: str, cardinality: int
) -> Tuple[List[str], np.ndarray, Optional[np.ndarray], Optional[List[str]]]:
    """Turn one parsed split file into ``(ids, L, Y, texts)``."""
    if not isinstance(obj, dict):
        raise ValueError(
            f"{source} must hold a JSON object mapping item ids to items, got {type(obj).__name__}"
        )
    if not obj:
        raise ValueError(f"{source} holds no items")
    ids = [str(key) for key in obj]
    items = list(obj.values())

    try:
        weak = [item["weak_labels"] for item in items]
    except (KeyError, TypeError):
        bad = _first_bad(ids, items, lambda it: isinstance(it, dict) and "weak_labels" in it)
        raise ValueError(
            f"item {bad!r} in {source} has no 'weak_labels' (the list of votes, one per "
            "labeling function, -1 = abstain)"
        ) from None
    try:
        counts = np.fromiter(map(len, weak), dtype=np.int64, count=len(weak))
    except TypeError:
        bad = _first_bad(ids, weak, lambda w: isinstance(w, list))
        raise ValueError(
            f"item {bad!r} in {source}: 'weak_labels' must be a list of votes"
        ) from None
    if (counts != counts[0]).any():
        row = int(np.argmax(counts != counts[0]))
        raise ValueError(
            f"item {ids[row]!r} in {source} has {counts[row]} votes, but item {ids[0]!r} has "
            f"{counts[0]}: every item needs one vote per labeling function (-1 = abstain)"
        )
    if counts[0] == 0:
        raise ValueError(f"the items in {source} have empty 'weak_labels': there are no labeling functions")
    L = _integer_array(weak, "vote", ids, source)
    bad = (L < -1) | (L >= cardinality)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(
            f"item {ids[row]!r} in {source} has the vote {L[row, col]} from labeling function "
            f"{col}; votes must be -1 (abstain) or a class id 0..{cardinality - 1} of label.json"
        )

    labels = [item.get("label") for item in items]
    missing = [label is None for label in labels]
    if all(missing):
        Y = None
    elif any(missing):
        bad_id = ids[missing.index(True)]
        raise ValueError(
            f"item {bad_id!r} in {source} has no 'label', but other items do: give every item "
            "a gold label or none"
        )
    else:
        Y = _integer_array(labels, "label", ids, source)
        bad = (Y < 0) | (Y >= cardinality)
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(
                f"item {ids[row]!r} in {source} has the label {Y[row]}; labels must be class "
                f"ids 0..{cardinality - 1} of label.json"
            )

    datas = [item.get("data") for item in items]
    texts: Optional[List[str]] = [d.get("text") if isinstance(d, dict) else None for d in datas]
    if not all(isinstance(t, str) for t in texts):
        texts = None
    return ids, L, Y, texts


def _read_labeled_ids(root: _Resource, where: str) -> Dict[str, List[str]]:
    res = root.joinpath("labeled_ids.json")
    if not res.is_file():
        return {}
    obj = _read_json(res, f"{where}/labeled_ids.json")
    if isinstance(obj, list):  # a bare list of ids
        obj = {"labeled_ids": obj}
    if not isinstance(obj, dict):
        raise ValueError(
            f"{where}/labeled_ids.json must hold {{'labeled_ids': [...]}}, got {type(obj).__name__}"
        )
    out = {}
    for key in ("labeled_ids", "lf_exemplar_ids"):
        value = obj.get(key, [])
        if not isinstance(value, list):
            raise ValueError(f"{where}/labeled_ids.json: {key!r} must be a list of item ids")
        out[key] = [str(v) for v in value]
    return out


def _load(root: _Resource, where: str, split: str, name: str) -> WeakDataset:
    label_names = _read_label_names(root, where)
    res = root.joinpath(f"{split}.json")
    if not res.is_file():
        raise FileNotFoundError(
            f"{where}/{split}.json not found; {_FOLDER_HINT}. "
            f"JSON files there: {_json_files(root) or 'none'}"
        )
    source = f"{where}/{split}.json"
    ids, L, Y, texts = _parse_split(_read_json(res, source), source, len(label_names))
    extra = _read_labeled_ids(root, where) if split == "train" else {}
    known = set(ids)
    for key, listed in extra.items():
        unknown = [i for i in listed if i not in known]
        if unknown:
            raise ValueError(
                f"{where}/labeled_ids.json lists the id {unknown[0]!r} under {key!r}, but "
                f"{split}.json has no such item ({len(unknown)} unknown id(s) in all)"
            )
    return WeakDataset(
        L=L,
        Y=Y,
        texts=texts,
        ids=ids,
        label_names=label_names,
        name=name,
        split=split,
        labeled_ids=extra.get("labeled_ids", []),
        lf_exemplar_ids=extra.get("lf_exemplar_ids", []),
    )


def _folder(path: PathLike) -> Path:
    root = Path(path)
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise FileNotFoundError(f"WRENCH dataset folder {str(root)!r} {what}; {_FOLDER_HINT}")
    return root


def load_wrench(path: PathLike, split: str = "train", *, name: Optional[str] = None) -> WeakDataset:
    """Read one split of a WRENCH-format dataset folder.

    Reads ``{path}/{split}.json`` (``{id: {"data": {"text": ...}, "label": int,
    "weak_labels": [...]}}``) and ``{path}/label.json`` (class id -> name). For
    the train split, the optional ``{path}/labeled_ids.json`` fills
    :attr:`WeakDataset.labeled_ids` and :attr:`WeakDataset.lf_exemplar_ids`.

    Args:
        path: the dataset folder.
        split: the split's file name without ``.json``. Default: ``"train"``.
        name: the dataset's name. Default: the folder's name.

    Returns:
        A :class:`WeakDataset` with votes ``L`` of shape ``(n, m)`` (``-1`` =
        abstain, classes ``0..k-1``), gold labels ``Y`` of shape ``(n,)`` (or
        ``None`` when no item has a ``"label"``), texts (or ``None`` when the
        items carry no ``data.text``) and ids in file order.

    Raises:
        FileNotFoundError: the folder, the split file or ``label.json`` is missing.
        ValueError: the files are malformed; the message names the item id
            (rows with different vote counts, votes or labels outside the
            classes of ``label.json``, ...).
    """
    root = _folder(path)
    if name is None:
        name = root.resolve().name
    return _load(root, str(path).rstrip("/\\") or str(path), split, name)


def load_wrench_splits(path: PathLike, *, name: Optional[str] = None) -> Dict[str, WeakDataset]:
    """Read every split of a WRENCH-format folder that exists.

    Returns:
        A dict ``{"train": ..., "valid": ..., "test": ...}`` of
        :class:`WeakDataset`, holding only the splits whose file exists (in
        that order).

    Raises:
        FileNotFoundError: the folder holds none of ``train.json``,
            ``valid.json``, ``test.json``, or lacks ``label.json``.
    """
    root = _folder(path)
    present = [s for s in SPLITS if (root / f"{s}.json").is_file()]
    if not present:
        raise FileNotFoundError(
            f"WRENCH dataset folder {str(path)!r} holds none of train.json, valid.json, "
            f"test.json; {_FOLDER_HINT}. JSON files there: {_json_files(root) or 'none'}"
        )
    return {split: load_wrench(path, split, name=name) for split in present}
