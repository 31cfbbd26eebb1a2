"""weaksup.models: the hashed n-gram text classifier, an end model for weak labels."""

import zlib

import numpy as np
import pytest
import torch

from weaksup import FSCrossEntropyLoss
from weaksup.models import HashedNgramClassifier


def test_tokens_and_stable_hashes():
    model = HashedNgramClassifier(2, n_features=1000, ngram=3)
    assert model.tokens("Hi, you!") == ["hi", ",", "you", "!", "hi ,", ", you", "you !", "hi , you", ", you !"]
    # CRC32: the same buckets in every process (Python's hash() is salted per process)
    assert model.hash("Hi") == [zlib.crc32(b"hi") % 1000]
    assert model.hash("") == []


def test_logits_are_the_mean_of_the_buckets_plus_the_bias():
    model = HashedNgramClassifier(3, n_features=50, ngram=1)
    with torch.no_grad():
        model.bag.weight.copy_(torch.randn(51, 3, generator=torch.Generator().manual_seed(0)))
    texts = ["a b b", ""]
    logits = model(*model.encode(texts))
    buckets = model.hash("a b b")
    expected = model.bag.weight[buckets].mean(0) + model.bag.weight[model.bias_index]
    torch.testing.assert_close(logits[0], expected)
    torch.testing.assert_close(logits[1], model.bag.weight[model.bias_index])  # no token: the bias alone
    indices, offsets, weights = model.encode(texts)
    assert offsets.tolist() == [0, 4] and indices[-1] == model.bias_index
    for got, want in zip(model.pack([model.hash(t) for t in texts]), (indices, offsets, weights)):
        torch.testing.assert_close(got, want)


def test_starts_at_zero_and_leaves_torchs_random_state_alone():
    state = torch.random.get_rng_state()
    model = HashedNgramClassifier(4, n_features=128)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert not model.bag.weight.any() and model.cardinality == 4
    assert model(*model.encode(["anything"])).softmax(1).tolist() == [[0.25] * 4]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"cardinality": 1}, ValueError, "cardinality must be an int >= 2, got 1"),
    ({"cardinality": 2.0}, TypeError, "cardinality must be an int"),
    ({"cardinality": 2, "n_features": 0}, ValueError, "n_features must be an int >= 1, got 0"),
    ({"cardinality": 2, "ngram": 0}, ValueError, "ngram must be an int >= 1, got 0"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        HashedNgramClassifier(**kwargs)


def test_a_single_string_is_refused():
    with pytest.raises(TypeError, match="a single str"):
        HashedNgramClassifier(2).encode("one text")


def test_the_documented_training_loop_learns_from_votes():
    """The loop of the module docstring: texts + votes -> a classifier, no gold label."""
    rng = np.random.default_rng(0)
    spam = ["check out my channel", "subscribe to my page", "visit my site http", "free gift check out"]
    ham = ["great song", "love this song", "the best video", "nice voice in this song"]
    texts = [spam[i % 4] if i % 2 else ham[i % 4] for i in range(64)]
    Y = np.array([i % 2 for i in range(64)])
    L = np.full((64, 3), -1)
    L[:, 0] = np.where((Y == 1) & (rng.random(64) < 0.8), 1, -1)  # "my"/"check": SPAM
    L[:, 1] = np.where((Y == 0) & (rng.random(64) < 0.8), 0, -1)  # "song": HAM
    L[:, 2] = np.where(rng.random(64) < 0.85, Y, 1 - Y)  # a noisy LF that always votes

    model = HashedNgramClassifier(cardinality=2, n_features=1024)
    loss_fn = FSCrossEntropyLoss(3, 2, buffer_capacity=64, update_frequency=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(10):
        for start in range(0, 64, 16):
            loss = loss_fn(model(*model.encode(texts[start:start + 16])), L[start:start + 16])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        predicted = model(*model.encode(texts)).argmax(1).numpy()
    assert np.mean(predicted == Y) == 1.0
