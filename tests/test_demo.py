"""weaksup.demo: end to end on the bundled youtube data, deterministic, no global seeding."""

import io

import numpy as np
import pytest
import torch

from weaksup import demo
from weaksup.datasets import YOUTUBE_LF_NAMES, load_youtube


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_lf_names_come_from_the_dataset():
    assert demo.YOUTUBE_LF_NAMES is YOUTUBE_LF_NAMES


def test_end_model_training_is_seeded_locally():
    ds = load_youtube("valid")
    votes, _ = ds.to_flyingsquid()
    state = torch.random.get_rng_state()
    runs = [
        demo._train_end_model(ds.texts, None, votes=votes, epochs=1, batch_size=16, seed=seed, lr=0.05,
                              progress=False, desc="test")
        for seed in (3, 3, 4)
    ]
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's random stream is untouched
    weights = [model.bag.weight.detach() for model in runs]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


def test_run_demo_prints_and_returns_the_table():
    out = io.StringIO()
    table = demo.run_demo(epochs=1, progress=False, out=out)
    text = out.getvalue()
    assert list(table.index) == ["majority vote", "label model", "end model (FSLoss)",
                                 "end model on gold labels (ceiling)"]
    accuracy = table["test accuracy"]
    assert accuracy.between(0, 1).all() and accuracy["end model (FSLoss)"] > 0.7
    assert "1. Labeling functions" in text and all(name in text for name in YOUTUBE_LF_NAMES)
    assert np.isfinite(accuracy.to_numpy()).all()
