"""Reader for the ``.npy`` vote files of FlyingSquid's tutorials."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Optional, Union

import numpy as np

from ..conventions import check_labels, check_votes

PathLike = Union[str, "os.PathLike[str]"]


def _stems(root: Path) -> list:
    return sorted(p.name[len("L_train_"):-len(".npy")] for p in root.glob("L_train_*.npy"))


def _load_npy(file: Path) -> np.ndarray:
    try:
        return np.load(file, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{str(file)!r} is not a plain numeric .npy array: {exc}") from None


def load_flyingsquid_votes(path: PathLike, stem: Optional[str] = None) -> Dict[str, Optional[np.ndarray]]:
    """Read FlyingSquid's tutorial vote files ``L_train_{stem}.npy``,
    ``L_dev_{stem}.npy`` and ``Y_dev_{stem}.npy`` from a folder.

    The arrays come back exactly as stored (FlyingSquid's tutorial files keep
    the votes as float64): FlyingSquid convention, votes ``+1`` / ``-1`` and
    ``0`` = abstain, gold labels ``-1`` / ``+1``. They are checked, not
    converted; use :func:`weaksup.conventions.convert_votes` for the
    Snorkel/WRENCH convention.

    Args:
        path: the folder holding the files.
        stem: the name between ``L_train_`` and ``.npy`` (``"video"`` for
            ``L_train_video.npy``). Default: the only stem in the folder.

    Returns:
        ``{"L_train": (n, m), "L_dev": (n_dev, m) or None, "Y_dev": (n_dev,)
        or None}``; the dev entries are ``None`` when both dev files are absent.

    Raises:
        FileNotFoundError: the folder or ``L_train_{stem}.npy`` is missing, or
            only one of the two dev files exists.
        ValueError: ``stem`` is None and the folder holds several stems; the
            arrays have inconsistent shapes or values outside {-1, 0, +1}.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(
            f"FlyingSquid vote folder {str(path)!r} does not exist; it should hold "
            "L_train_{stem}.npy and, optionally, L_dev_{stem}.npy and Y_dev_{stem}.npy"
        )
    if stem is None:
        stems = _stems(root)
        if len(stems) != 1:
            found = f"the stems {stems}" if stems else "no L_train_*.npy file"
            raise (ValueError if stems else FileNotFoundError)(
                f"{str(path)!r} holds {found}; pass stem= to choose "
                "(e.g. stem='video' for L_train_video.npy)"
            )
        stem = stems[0]
    files = {key: root / f"{key}_{stem}.npy" for key in ("L_train", "L_dev", "Y_dev")}
    if not files["L_train"].is_file():
        raise FileNotFoundError(
            f"{str(files['L_train'])!r} not found; stems present in {str(path)!r}: "
            f"{_stems(root) or 'none'}"
        )
    has_dev = [files[k].is_file() for k in ("L_dev", "Y_dev")]
    if any(has_dev) and not all(has_dev):
        present, absent = ("L_dev", "Y_dev") if has_dev[0] else ("Y_dev", "L_dev")
        raise FileNotFoundError(
            f"{str(files[absent])!r} not found, but {files[present].name} exists: "
            "the dev votes and dev labels come as a pair"
        )

    out: Dict[str, Optional[np.ndarray]] = {"L_train": _load_npy(files["L_train"]), "L_dev": None, "Y_dev": None}
    check_votes(out["L_train"], convention="flyingsquid", name=files["L_train"].name)
    if all(has_dev):
        out["L_dev"] = L_dev = _load_npy(files["L_dev"])
        out["Y_dev"] = Y_dev = _load_npy(files["Y_dev"])
        m = out["L_train"].shape[1]
        check_votes(L_dev, convention="flyingsquid", n_lfs=m, name=files["L_dev"].name, allow_empty=True)
        check_labels(Y_dev, convention="flyingsquid", name=files["Y_dev"].name)
        n_y = Y_dev.shape[0] if Y_dev.ndim else 0
        if n_y != L_dev.shape[0]:
            raise ValueError(
                f"{files['Y_dev'].name} holds {n_y} labels, but {files['L_dev'].name} has "
                f"{L_dev.shape[0]} rows: one gold label per dev item is needed"
            )
    return out
