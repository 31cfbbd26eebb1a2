"""WeakLabelDataset and collate: inputs with their votes, batched."""

import numpy as np
import pytest
import torch

from weaksup.data import WeakLabelDataset, collate
from weaksup.lf import Votes


def test_items_are_input_and_votes_row():
    votes = Votes(np.array([[0, -1], [1, 1], [-1, -1]]), ["a", "b"])
    ds = WeakLabelDataset(["x", "y", "z"], votes)
    assert len(ds) == 3 and ds.lf_names == ["a", "b"]
    text, row = ds[1]
    assert text == "y" and row.dtype == torch.int64 and row.tolist() == [1, 1]


def test_transform_applies_on_read():
    ds = WeakLabelDataset(["ab", "c"], np.zeros((2, 1), dtype=np.int8), transform=len)
    assert ds[0][0] == 2 and ds[0][1].dtype == torch.int64


def test_collate_strings_stay_a_list():
    x, v = collate([("a", torch.tensor([0, 1])), ("b", torch.tensor([-1, 1]))])
    assert x == ["a", "b"] and v.tolist() == [[0, 1], [-1, 1]]


def test_collate_equal_shapes_stack():
    x, _ = collate([(np.ones(3), [0]), (np.zeros(3), [1])])
    assert x.shape == (2, 3)


@pytest.mark.parametrize("ragged", ["pad", "offsets", "list"])
def test_collate_variable_length_token_ids(ragged):
    batch = [([5, 6, 7], [0]), (torch.tensor([8]), [1]), (np.array([9, 10]), [-1])]
    x, v = collate(batch, ragged=ragged, padding_value=-100)
    if ragged == "pad":
        assert x.tolist() == [[5, 6, 7], [8, -100, -100], [9, 10, -100]]
    elif ragged == "offsets":
        flat, offsets = x
        assert flat.tolist() == [5, 6, 7, 8, 9, 10] and offsets.tolist() == [0, 3, 4]
        bag = torch.nn.EmbeddingBag(20, 2)
        assert bag(flat, offsets).shape == (3, 2)
    else:
        assert [t.tolist() for t in x] == [[5, 6, 7], [8], [9, 10]]
    assert v.shape == (3, 1)


def test_collate_refuses_ragged_2d_and_bad_mode():
    with pytest.raises(ValueError, match="1-D sequences"):
        collate([(np.ones((2, 2)), [0]), (np.ones((3, 2)), [1])])
    with pytest.raises(ValueError, match="`ragged`"):
        collate([("a", [0])], ragged="zip")


def test_loader_with_an_end_model_trains_on_fsloss():
    from weaksup.models import HashedNgramClassifier
    from weaksup.nn import FSCrossEntropyLoss

    texts = ["free money http://x", "nice song", "win free prize", "i love it"] * 10
    votes = np.array([[1, -1], [-1, 0], [1, 1], [0, -1]] * 10)
    model = HashedNgramClassifier(2, n_features=1024)
    loss_fn = FSCrossEntropyLoss(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    loader = WeakLabelDataset(texts, votes).loader(batch_size=8, shuffle=True, inputs=model.encode,
                                                   generator=torch.Generator().manual_seed(0))
    for _ in range(3):
        for x, v in loader:
            assert v.shape[1] == 2
            loss = loss_fn(model(*x), v)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        pred = model(*model.encode(["free prize", "love song"])).argmax(1).tolist()
    assert pred == [1, 0]


@pytest.mark.parametrize("votes, error, match", [
    (np.zeros(3), ValueError, "2-D"),
    (np.zeros((2, 1)), ValueError, "3 inputs, 2 rows"),
    (np.full((3, 1), 0.5), TypeError, "integer votes"),
    (np.array([["a"], ["b"], ["c"]]), TypeError, "`votes`"),
])
def test_bad_votes_are_refused(votes, error, match):
    with pytest.raises(error, match=match):
        WeakLabelDataset(["a", "b", "c"], votes)


def test_bad_inputs_and_options():
    with pytest.raises(TypeError, match="`inputs`"):
        WeakLabelDataset(iter(["a"]), [[0]])
    with pytest.raises(TypeError, match="`transform`"):
        WeakLabelDataset(["a"], [[0]], transform=3)
    with pytest.raises(ValueError, match="`ragged`"):
        WeakLabelDataset(["a"], [[0]]).loader(ragged="nope")
