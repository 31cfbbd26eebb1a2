"""Reading vote and label files (.npy, .csv, .jsonl) and writing probabilities.

Formats:

- ``.npy``: a 2-D integer array ``(n, m)`` (labels: 1-D ``(n,)``).
- ``.csv``: one item per line, one integer per labeling function, separated by
  commas; a first line that is not numeric is read as a header (LF names).
- ``.jsonl``: one JSON value per line: a list of integers, or an object with a
  ``"weak_labels"`` list (WRENCH's field; ``"label"`` is then read as gold).

Errors name the file, the line (1-based) and the column, and what was expected.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

SUFFIXES = (".npy", ".csv", ".jsonl")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: unknown file type {suffix!r}; expected one of {', '.join(SUFFIXES)}")
    return suffix


def _as_int(text: str, where: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: expected an integer vote, got {text!r}") from None
    if not np.isfinite(value) or value != int(value):
        raise ValueError(f"{where}: expected an integer vote, got {text!r}")
    return int(value)


def read_votes(path) -> Tuple[np.ndarray, Optional[List[str]], Optional[np.ndarray]]:
    """Read a vote matrix.

    Returns:
        ``(L, lf_names, gold)``: ``L`` int64 ``(n, m)``; ``lf_names`` from a CSV
        header (else None); ``gold`` ``(n,)`` from JSONL ``"label"`` fields (else None).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected votes as {', '.join(SUFFIXES)})")
    suffix = _suffix(path)
    if suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
        if arr.ndim != 2:
            raise ValueError(f"{path}: expected a 2-D array (items x labeling functions), got shape {arr.shape}")
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
                raise ValueError(f"{path}: votes must be integers; the array holds NaN, inf or fractions")
        elif arr.dtype.kind not in "iub":
            raise ValueError(f"{path}: votes must be integers, got dtype {arr.dtype}")
        return arr.astype(np.int64), None, None
    if suffix == ".csv":
        return _read_csv(path)
    return _read_jsonl(path)


def _read_csv(path: Path):
    rows: List[List[int]] = []
    names = None
    with open(path, newline="") as f:
        for line_no, fields in enumerate(csv.reader(f), start=1):
            if not fields or all(not x.strip() for x in fields):
                continue
            if line_no == 1:
                try:
                    [float(x) for x in fields]
                except ValueError:
                    names = [x.strip() for x in fields]
                    continue
            width = len(names) if names else (len(rows[0]) if rows else len(fields))
            if len(fields) != width:
                raise ValueError(f"{path}: line {line_no} has {len(fields)} columns, expected {width}")
            rows.append([_as_int(x.strip(), f"{path}: line {line_no}, column {c + 1}") for c, x in enumerate(fields)])
    if not rows:
        raise ValueError(f"{path}: no votes found")
    return np.array(rows, dtype=np.int64), names, None


def _read_jsonl(path: Path):
    rows, gold = [], []
    with open(path) as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}: line {line_no}"
            try:
                value = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
            if isinstance(value, dict):
                if "weak_labels" not in value:
                    raise ValueError(f"{where}: expected a list of votes or an object with 'weak_labels'")
                if "label" in value:
                    gold.append(value["label"])
                value = value["weak_labels"]
            if not isinstance(value, list):
                raise ValueError(f"{where}: expected a list of integer votes, got {type(value).__name__}")
            if rows and len(value) != len(rows[0]):
                raise ValueError(f"{where}: {len(value)} votes, expected {len(rows[0])} (one per labeling function)")
            rows.append([_as_int(str(x), f"{where}, column {c + 1}") for c, x in enumerate(value)])
    if not rows:
        raise ValueError(f"{path}: no votes found")
    labels = np.array(gold, dtype=np.int64) if len(gold) == len(rows) else None
    return np.array(rows, dtype=np.int64), None, labels


def read_labels(path) -> np.ndarray:
    """Read gold labels: ``.npy`` ``(n,)``, a one-column ``.csv`` or ``.jsonl`` of integers."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected gold labels)")
    if _suffix(path) == ".npy":
        arr = np.load(path, allow_pickle=False)
        return arr.reshape(-1).astype(np.int64) if arr.ndim == 2 and arr.shape[1] == 1 else arr.astype(np.int64)
    values = []
    with open(path) as f:
        for line_no, line in enumerate(f, start=1):
            text = line.strip().strip(",")
            if not text:
                continue
            if path.suffix.lower() == ".jsonl":
                where = f"{path}: line {line_no}"
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
                if isinstance(obj, dict) and "label" not in obj:
                    raise ValueError(f"{where}: expected an integer label or an object with 'label'")
                text = str(obj["label"] if isinstance(obj, dict) else obj)
            if line_no == 1 and not text.lstrip("-").replace(".", "").isdigit():
                continue  # header
            values.append(_as_int(text, f"{path}: line {line_no}"))
    return np.array(values, dtype=np.int64)


def write_probabilities(path, probs: np.ndarray, class_names: Optional[List[str]] = None) -> None:
    """Write ``(n, k)`` probabilities in the format the suffix names."""
    path = Path(path)
    suffix = _suffix(path)
    probs = np.asarray(probs, dtype=np.float64)
    if suffix == ".npy":
        np.save(path, probs)
    elif suffix == ".csv":
        names = class_names or [f"p_{c}" for c in range(probs.shape[1])]
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(names)
            writer.writerows([[f"{x:.8g}" for x in row] for row in probs])
    else:
        with open(path, "w") as f:
            for row in probs:
                f.write(json.dumps([float(f"{x:.8g}") for x in row]) + "\n")
