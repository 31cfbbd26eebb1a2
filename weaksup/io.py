"""Reading vote and label files (.npy, .csv, .jsonl) and writing probabilities.

Formats:

- ``.npy``: a 2-D integer array ``(n, m)`` (labels: 1-D ``(n,)``).
- ``.csv``: one item per line, one integer per labeling function, separated by
  commas; a first line that is not numeric is read as a header (LF names).
- ``.jsonl``: one JSON value per line: a list of integers, or an object with a
  ``"weak_labels"`` list (WRENCH's field; ``"label"`` is then read as gold, and
  must then be on every line or on none).

Every error is a ``ValueError`` (``FileNotFoundError`` for a missing file)
whose message starts with the file's path and, where it applies, the line
(1-based) and column, and says what was expected. Folders, FIFOs, unreadable,
empty and binary files get a message of their own.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Optional, Tuple

import numpy as np

SUFFIXES = (".npy", ".csv", ".jsonl")
_NPY_MAGIC = b"\x93NUMPY"
_INT_LIMIT = 2 ** 62  # beyond: no vote or class id, and int64 arithmetic overflows


def _suffix(path: Path, what: str = "votes") -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: unknown file type {suffix!r} for {what}; expected one of {', '.join(SUFFIXES)}")
    return suffix


def check_input_file(path: Any, what: str = "votes") -> Path:
    """``path`` as a :class:`~pathlib.Path` if it is a regular file this process may read.

    Raises:
        FileNotFoundError: nothing at ``path``.
        ValueError: a folder, a FIFO or another non-regular file, or a file
            that cannot be read; the message starts with the path.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file (expected {what})") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot be read ({err.strerror or err})") from None
    if stat.S_ISDIR(mode):
        raise ValueError(f"{path}: is a folder, expected a file of {what}")
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "not a regular file"
        raise ValueError(f"{path}: is {kind}, expected a file of {what}")
    if not os.access(path, os.R_OK):
        raise ValueError(f"{path}: cannot be read (permission denied)")
    return path


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        raise ValueError(f"{path}: cannot be read ({err.strerror or err})") from None


def _read_text(path: Path, what: str) -> str:
    data = _read_bytes(path)
    if not data.strip():
        raise ValueError(f"{path}: empty file (expected {what})")
    try:
        if b"\x00" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\x00"), data.index(b"\x00") + 1, "NUL byte")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a text file (binary content at byte {err.start}); expected {what} "
                         f"as UTF-8 text") from None


def _load_npy(path: Path, what: str) -> np.ndarray:
    data = _read_bytes(path)
    if not data:
        raise ValueError(f"{path}: empty file (expected {what} as a NumPy .npy array)")
    if not data.startswith(_NPY_MAGIC):
        raise ValueError(f"{path}: not a NumPy .npy file (it does not start with the .npy header); "
                         f"expected {what} saved with numpy.save")
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise ValueError(f"{path}: holds Python objects (dtype object); expected an integer array "
                             f"of {what}") from None
        raise ValueError(f"{path}: not a readable .npy file ({err})") from None
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable .npy file, truncated or damaged ({err})") from None
    if arr.dtype.kind == "O":
        raise ValueError(f"{path}: holds Python objects (dtype object); expected an integer array of {what}")
    return arr


def _as_int_array(arr: np.ndarray, path: Path, what: str) -> np.ndarray:
    """An int64 copy of a numeric array, refusing fractions, NaN/inf and values beyond 2**62."""
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise ValueError(f"{path}: {what} must be integers; the array holds NaN, inf or fractions")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"{path}: {what} must be integers, got dtype {arr.dtype}")
    if arr.size and arr.dtype.kind != "b":
        big = np.abs(arr.astype(np.float64)) >= _INT_LIMIT
        if big.any():
            where = np.argwhere(big)[0]
            raise ValueError(f"{path}: {what} must be small integers, got {arr[tuple(where)]} at index "
                             f"{tuple(int(i) for i in where)}")
    return arr.astype(np.int64)


def _as_int(text: str, where: str, what: str = "vote") -> int:
    try:
        value = float(text)
    except (ValueError, TypeError):
        raise ValueError(f"{where}: expected an integer {what}, got {text!r}") from None
    if not np.isfinite(value) or value != int(value) or abs(value) >= _INT_LIMIT:
        raise ValueError(f"{where}: expected an integer {what}, got {text!r}")
    return int(value)


def _json_int(value: Any, where: str, what: str) -> int:
    if value is None:
        raise ValueError(f"{where}: expected an integer {what}, got null")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: expected an integer {what}, got {json.dumps(value)[:40]}")
    return _as_int(str(value), where, what)


def read_votes(path) -> Tuple[np.ndarray, Optional[List[str]], Optional[np.ndarray]]:
    """Read a vote matrix.

    Returns:
        ``(L, lf_names, gold)``: ``L`` int64 ``(n, m)`` with ``n, m >= 1``;
        ``lf_names`` from a CSV header (else None); ``gold`` ``(n,)`` from
        JSONL ``"label"`` fields (else None).
    """
    path = check_input_file(path, f"votes as {', '.join(SUFFIXES)}")
    suffix = _suffix(path)
    if suffix == ".npy":
        arr = _load_npy(path, "votes")
        if arr.ndim != 2:
            raise ValueError(f"{path}: expected a 2-D array (items x labeling functions), got shape {arr.shape}")
        if arr.shape[0] == 0 or arr.shape[1] == 0:
            raise ValueError(f"{path}: no votes: the array has shape {arr.shape}")
        return _as_int_array(arr, path, "votes"), None, None
    if suffix == ".csv":
        return _read_csv(path)
    return _read_jsonl(path)


def _read_csv(path: Path):
    text = _read_text(path, "comma-separated integer votes")
    rows: List[List[int]] = []
    names = None
    for line_no, fields in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
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
        raise ValueError(f"{path}: no votes found" + (" (only a header line)" if names else ""))
    return np.array(rows, dtype=np.int64), names, None


def json_lines(lines: Iterable[str], source: Any) -> Iterator[Tuple[int, str, Any]]:
    """The values of a JSONL text, one per non-blank line.

    Yields ``(line_no, where, value)``: the 1-based line number, ``"<source>:
    line <line_no>"`` for error messages, and the parsed value. A line that is
    not valid JSON raises ValueError naming it.
    """
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}: line {line_no}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
        yield line_no, where, value


def check_row_width(votes: List[Any], rows: List[List[int]], where: str) -> None:
    """ValueError when a row of votes has another length than the rows read before it."""
    if rows and len(votes) != len(rows[0]):
        raise ValueError(f"{where}: {len(votes)} votes, expected {len(rows[0])} (one per labeling function)")


def _read_jsonl(path: Path):
    text = _read_text(path, "one JSON list of votes per line")
    rows: List[List[int]] = []
    gold: List[int] = []
    with_label: Optional[int] = None  # a line with a gold label
    without_label: Optional[int] = None  # a line without one
    for line_no, where, value in json_lines(text.splitlines(), path):
        if isinstance(value, dict):
            if "weak_labels" not in value:
                raise ValueError(f"{where}: expected a list of votes or an object with 'weak_labels'")
            if "label" in value:
                gold.append(_json_int(value["label"], where, "gold label in 'label'"))
                with_label = with_label or line_no
            else:
                without_label = without_label or line_no
            value = value["weak_labels"]
        else:
            without_label = without_label or line_no
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list of integer votes, got {type(value).__name__}")
        if not value:
            raise ValueError(f"{where}: an empty list of votes (expected one vote per labeling function)")
        check_row_width(value, rows, where)
        rows.append([_json_int(x, f"{where}, column {c + 1}", "vote") for c, x in enumerate(value)])
        if with_label and without_label:
            raise ValueError(f"{path}: line {max(with_label, without_label)} "
                             + ("has no 'label'" if without_label > with_label else "has a 'label'")
                             + f" but line {min(with_label, without_label)} "
                             + ("has one" if without_label > with_label else "has none")
                             + ": give gold labels on every line or on none")
    if not rows:
        raise ValueError(f"{path}: no votes found")
    labels = np.array(gold, dtype=np.int64) if gold else None
    return np.array(rows, dtype=np.int64), None, labels


def read_labels(path) -> np.ndarray:
    """Read gold labels: ``.npy`` ``(n,)``, a one-column ``.csv`` or ``.jsonl``
    of integers (or of objects with ``"label"``). Returns int64 ``(n,)``."""
    path = check_input_file(path, "gold labels")
    if _suffix(path, "gold labels") == ".npy":
        arr = _load_npy(path, "gold labels")
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr.reshape(-1)
        if arr.ndim != 1:
            raise ValueError(f"{path}: expected a 1-D array of gold labels, got shape {arr.shape}")
        return _as_int_array(arr, path, "gold labels")
    jsonl = path.suffix.lower() == ".jsonl"
    text = _read_text(path, "one integer gold label per line")
    values = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        raw = line.strip().strip(",")
        if not raw:
            continue
        where = f"{path}: line {line_no}"
        if jsonl:
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
            if isinstance(obj, dict) and "label" not in obj:
                raise ValueError(f"{where}: expected an integer label or an object with 'label'")
            values.append(_json_int(obj["label"] if isinstance(obj, dict) else obj, where, "gold label"))
            continue
        if "," in raw:
            raise ValueError(f"{where}: expected one gold label per line, got {len(raw.split(','))} columns")
        if line_no == 1 and not raw.lstrip("-").replace(".", "").isdigit():
            continue  # header
        values.append(_as_int(raw, where, "gold label"))
    if not values:
        raise ValueError(f"{path}: no gold labels found")
    return np.array(values, dtype=np.int64)


ITEM_SUFFIXES = (".jsonl", ".csv", ".txt", ".json")


def read_items(path) -> List[Any]:
    """Read items for labeling functions.

    - ``.jsonl``: one JSON value per line; objects become mappings that also
      allow attribute access (``x["text"]``, ``x.text``);
    - ``.csv``: rows under a header line, as such mappings (values are strings);
    - ``.txt``: one text per line (blank lines kept as empty texts, a final
      newline is not an item);
    - ``.json``: a WRENCH split file (``{id: {"data": {...}, ...}}``): each
      item's ``"data"`` mapping (``x["text"]``, ``x.text``), in file order.
    """
    from .lf import _Row

    path = check_input_file(path, f"items as {', '.join(ITEM_SUFFIXES)}")
    suffix = path.suffix.lower()
    if suffix not in ITEM_SUFFIXES:
        raise ValueError(f"{path}: unknown file type {suffix!r} for items; expected one of {', '.join(ITEM_SUFFIXES)}")
    data = _read_bytes(path)
    if not data:
        return []
    text = _read_text(path, "items")
    if suffix == ".txt":
        return text.splitlines()
    if suffix == ".json":
        return _wrench_items(path, text)
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        items = []
        for row in reader:
            if None in row:
                raise ValueError(f"{path}: line {reader.line_num} has more columns than the header")
            items.append(_Row(row))
        return items
    return [_Row(value) if isinstance(value, dict) else value for _, _, value in json_lines(text.splitlines(), path)]


def _wrench_items(path: Path, text: str) -> List[Any]:
    from .lf import _Row

    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a WRENCH split, a JSON object {{id: {{\"data\": {{...}}}}}}, "
                         f"got {type(obj).__name__}")
    items = []
    for key, item in obj.items():
        if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
            raise ValueError(f"{path}: item {key!r} has no \"data\" object (WRENCH items are "
                             '{"data": {"text": ...}, "label": ..., "weak_labels": [...]})')
        items.append(_Row(item["data"]))
    return items


def check_output_file(path: Any) -> Path:
    """``path`` as a :class:`~pathlib.Path` if a result can be written there: a
    known suffix, not a folder, in a folder that exists and is writable.
    Called before any work, so that a long run does not end in a failed write."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: unknown output type {suffix!r}; expected one of {', '.join(SUFFIXES)}")
    check_writable(path)
    return path


def check_writable(path: Path) -> None:
    """Refuse a folder, a missing or read-only parent folder (message starts with the path)."""
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a file name to write")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise ValueError(f"{path}: the folder {path.parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"{path}: cannot be written (permission denied)")


def write_probabilities(path, probs: np.ndarray, class_names: Optional[List[str]] = None) -> None:
    """Write ``(n, k)`` probabilities in the format the suffix names."""
    write_matrix(path, np.asarray(probs, dtype=np.float64), class_names or
                 [f"p_{c}" for c in range(np.asarray(probs).shape[1])])


def write_matrix(path, values: np.ndarray, column_names: Optional[List[str]] = None) -> None:
    """Write an ``(n, c)`` matrix (ints or floats) as .npy, .csv (with a header
    of ``column_names``) or .jsonl (one list per line)."""
    path = Path(path)
    suffix = _suffix(path, "output")
    values = np.asarray(values)
    floats = values.dtype.kind == "f"
    fmt = (lambda x: f"{x:.8g}") if floats else str
    try:
        if suffix == ".npy":
            np.save(path, values)
        elif suffix == ".csv":
            with open(path, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(column_names or [f"c_{c}" for c in range(values.shape[1])])
                writer.writerows([[fmt(x) for x in row] for row in values.tolist()])
        else:
            with open(path, "w") as f:
                for row in values.tolist():
                    f.write(json.dumps([float(f"{x:.8g}") for x in row] if floats else row) + "\n")
    except OSError as err:
        raise ValueError(f"{path}: cannot be written ({err.strerror or err})") from None
