from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def synthetic_votes(n=3000, m=6, seed=0, coverage=0.7, balance=0.5, acc_range=(0.6, 0.9)):
    """Binary votes (-1/0/+1) of conditionally independent LFs, with the truth."""
    rng = np.random.default_rng(seed)
    Y = np.where(rng.random(n) < balance, 1, -1)
    acc = rng.uniform(*acc_range, m)
    correct = rng.random((n, m)) < acc
    votes = np.where(correct, Y[:, None], -Y[:, None])
    L = votes * (rng.random((n, m)) < coverage)
    return L.astype(np.int64), Y


@pytest.fixture
def votes():
    return synthetic_votes()


@pytest.fixture(scope="session")
def upstream():
    """Upstream FlyingSquid's LabelModel class (the reference)."""
    pytest.importorskip("flyingsquid")
    from weaksup.compat import patch_pgmpy

    patch_pgmpy()
    from flyingsquid.label_model import LabelModel

    return LabelModel


cuda = pytest.mark.skipif(
    not __import__("torch").cuda.is_available(), reason="needs a CUDA device"
)
