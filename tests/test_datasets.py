"""Tests of weaksup.datasets: the WeakDataset container and the loaders."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch

from weaksup.datasets import (
    WeakDataset,
    load_flyingsquid_votes,
    load_wrench,
    load_wrench_splits,
    load_youtube,
    load_youtube_splits,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
YOUTUBE_FILES = ("train.json", "valid.json", "test.json", "label.json", "labeled_ids.json", "readme.txt")


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {'/'.join(parts)}")
    return path


def write_wrench(folder: Path, splits: dict, labels=None, labeled=None) -> Path:
    """Write a WRENCH-format folder; ``splits`` maps split -> {id: item}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "label.json").write_text(json.dumps(labels if labels is not None else {"0": "neg", "1": "pos"}))
    for split, items in splits.items():
        (folder / f"{split}.json").write_text(json.dumps(items))
    if labeled is not None:
        (folder / "labeled_ids.json").write_text(json.dumps(labeled))
    return folder


def item(votes, label=0, text="some text"):
    return {"data": {"text": text}, "label": label, "weak_labels": votes}


# -- bundled youtube -----------------------------------------------------------------


def test_bundled_youtube_shapes():
    splits = load_youtube_splits()
    assert list(splits) == ["train", "valid", "test"]
    sizes = {"train": 1686, "valid": 120, "test": 250}
    for split, ds in splits.items():
        assert ds.name == "youtube" and ds.split == split
        assert ds.L.shape == (sizes[split], 10) and ds.L.dtype == np.int64
        assert ds.Y.shape == (sizes[split],) and ds.Y.dtype == np.int64
        assert (ds.n_items, ds.n_lfs, ds.cardinality) == (sizes[split], 10, 2)
        assert ds.label_names == ["HAM", "SPAM"]
        assert len(ds.texts) == len(ds.ids) == sizes[split]
        assert len(set(ds.ids)) == sizes[split]
        assert set(np.unique(ds.L)) <= {-1, 0, 1}
        assert set(np.unique(ds.Y)) == {0, 1}
    assert load_youtube().L.shape == (1686, 10)  # default split is train


def test_bundled_youtube_first_item():
    ds = load_youtube("train")
    assert ds.ids[0] == "0"
    assert ds.Y[0] == 1
    assert ds.L[0].tolist() == [-1, -1, 1, -1, -1, -1, -1, -1, -1, -1]
    assert ds.texts[0].startswith("pls http://")


def test_bundled_youtube_labeled_ids():
    train = load_youtube("train")
    assert train.labeled_ids == [str(i) for i in range(1586, 1686)]
    assert train.lf_exemplar_ids == []
    mask = train.labeled_mask
    assert mask.shape == (1686,) and mask.dtype == bool
    assert mask.sum() == 100 and mask[1586:].all()
    # the labeled rows repeat earlier train items (same text, votes and label)
    first = {t: (tuple(r), y) for t, r, y in zip(train.texts[:1586], train.L[:1586], train.Y[:1586])}
    for i in np.flatnonzero(mask):
        assert first[train.texts[i]] == (tuple(train.L[i]), train.Y[i])
    rest = train.subset(~mask)
    assert rest.n_items == 1586 and rest.labeled_ids == [] and not rest.labeled_mask.any()
    for split in ("valid", "test"):
        ds = load_youtube(split)
        assert ds.labeled_ids == [] and not ds.labeled_mask.any()


def test_bundled_youtube_bad_split():
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'valid', 'test'\), got 'dev'"):
        load_youtube("dev")


def test_bundled_files_and_sources():
    root = resources.files("weaksup.datasets").joinpath("data").joinpath("youtube")
    for name in YOUTUBE_FILES + ("SOURCES.md",):
        assert root.joinpath(name).is_file(), name
    sources = root.joinpath("SOURCES.md").read_text(encoding="utf-8")
    for needle in ("Apache-2.0", "CC BY 4.0", "JieyuZ2/wrench", "UCI", "41902c324779157a272548a008a6e487f6d81acc"):
        assert needle in sources
    for local in ("/work", "shared/", "/tmp", "/home"):
        assert local not in sources


def test_bundled_youtube_equals_shared_copy():
    folder = shared("wrench", "youtube")
    root = resources.files("weaksup.datasets").joinpath("data").joinpath("youtube")
    for name in YOUTUBE_FILES:
        assert root.joinpath(name).read_bytes() == (folder / name).read_bytes(), name
    ours, theirs = load_youtube_splits(), load_wrench_splits(folder)
    assert list(ours) == list(theirs)
    for split in ours:
        a, b = ours[split], theirs[split]
        np.testing.assert_array_equal(a.L, b.L)
        np.testing.assert_array_equal(a.Y, b.Y)
        assert a.texts == b.texts and a.ids == b.ids and a.label_names == b.label_names
        assert a.labeled_ids == b.labeled_ids and a.name == b.name == "youtube"


# -- shared WRENCH and FlyingSquid data ---------------------------------------------------


def test_trec_shapes():
    folder = shared("wrench", "trec")
    splits = load_wrench_splits(folder)
    sizes = {"train": 5033, "valid": 500, "test": 500}
    assert list(splits) == ["train", "valid", "test"]
    for split, ds in splits.items():
        assert ds.L.shape == (sizes[split], 68)
        assert ds.Y.shape == (sizes[split],)
        assert ds.cardinality == 6 and ds.name == "trec"
        assert ds.label_names == ["DESC", "ENTY", "HUM", "ABBR", "LOC", "NUM"]
        assert ds.L.min() >= -1 and ds.L.max() <= 5
    train = splits["train"]
    assert len(train.labeled_ids) == 68 and train.lf_exemplar_ids == train.labeled_ids
    # each exemplar is voted on by the labeling function it illustrates
    rows = [train.ids.index(i) for i in train.lf_exemplar_ids]
    assert (train.L[rows, np.arange(68)] != -1).all()
    valid = load_wrench(folder, "valid")
    np.testing.assert_array_equal(valid.L, splits["valid"].L)
    with pytest.raises(ValueError, match=r"needs a binary dataset \(2 classes\), but trec has 6 classes"):
        train.to_flyingsquid()


def test_flyingsquid_video():
    folder = shared("flyingsquid_video")
    votes = load_flyingsquid_votes(folder, "video")
    assert set(votes) == {"L_train", "L_dev", "Y_dev"}
    assert votes["L_train"].shape == (6959, 6)
    assert votes["L_dev"].shape == (746, 6)
    assert votes["Y_dev"].shape == (746,)
    for key in votes:  # returned unchanged
        raw = np.load(folder / f"{key}_video.npy")
        assert votes[key].dtype == raw.dtype
        np.testing.assert_array_equal(votes[key], raw)
    assert set(np.unique(votes["L_train"])) == {-1.0, 0.0, 1.0}
    assert set(np.unique(votes["Y_dev"])) == {-1, 1}
    inferred = load_flyingsquid_votes(str(folder))  # the only stem
    np.testing.assert_array_equal(inferred["L_train"], votes["L_train"])
    with pytest.raises(FileNotFoundError, match=r"L_train_audio\.npy' not found; stems present .*\['video'\]"):
        load_flyingsquid_votes(folder, "audio")


def test_flyingsquid_votes_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_flyingsquid_votes(tmp_path / "nowhere", "video")
    with pytest.raises(FileNotFoundError, match=r"no L_train_\*\.npy file"):
        load_flyingsquid_votes(tmp_path)
    np.save(tmp_path / "L_train_a.npy", np.array([[1, 0], [-1, 1]]))
    np.save(tmp_path / "L_train_b.npy", np.array([[1, 0], [-1, 1]]))
    with pytest.raises(ValueError, match=r"holds the stems \['a', 'b'\]; pass stem="):
        load_flyingsquid_votes(tmp_path)
    only_train = load_flyingsquid_votes(tmp_path, "a")
    assert only_train["L_dev"] is None and only_train["Y_dev"] is None
    np.save(tmp_path / "L_dev_a.npy", np.array([[1, 0]]))
    with pytest.raises(FileNotFoundError, match=r"Y_dev_a\.npy' not found, but L_dev_a\.npy exists"):
        load_flyingsquid_votes(tmp_path, "a")
    np.save(tmp_path / "Y_dev_a.npy", np.array([1, -1]))
    with pytest.raises(ValueError, match=r"Y_dev_a\.npy holds 2 labels, but L_dev_a\.npy has 1 rows"):
        load_flyingsquid_votes(tmp_path, "a")
    np.save(tmp_path / "L_train_b.npy", np.array([[2, 0], [-1, 1]]))
    with pytest.raises(ValueError, match=r"L_train_b\.npy must hold FlyingSquid votes .* got 2"):
        load_flyingsquid_votes(tmp_path, "b")


# -- WeakDataset ---------------------------------------------------------------------------


def test_to_flyingsquid_youtube():
    ds = load_youtube("test")
    L, Y = ds.to_flyingsquid()
    assert L.shape == ds.L.shape and L.dtype == np.int64 and Y.dtype == np.int64
    np.testing.assert_array_equal(L == 0, ds.L == -1)
    np.testing.assert_array_equal(L == 1, ds.L == 1)
    np.testing.assert_array_equal(L == -1, ds.L == 0)
    np.testing.assert_array_equal(Y, np.where(ds.Y == 1, 1, -1))


def test_weak_dataset_defaults_and_repr():
    ds = WeakDataset(np.array([[0, -1], [2, 1]], dtype=np.int32), Y=[1, 2])
    assert ds.L.dtype == np.int64 and ds.Y.dtype == np.int64
    assert ds.ids == ["0", "1"] and ds.label_names == ["0", "1", "2"]
    assert (ds.n_items, ds.n_lfs, ds.cardinality) == (2, 2, 3)
    assert ds.texts is None and ds.labeled_ids == []
    assert repr(ds) == (
        "WeakDataset(name='', n_items=2, n_lfs=2, cardinality=3, label_names=['0', '1', '2'], gold=True)"
    )
    big = WeakDataset(np.zeros((3, 2), dtype=np.int64), label_names=[f"c{i}" for i in range(50)], name="many")
    assert len(repr(big)) < 160 and "\n" not in repr(big) and "..." in repr(big)
    torch_ds = WeakDataset(torch.tensor([[1, -1]]))
    assert torch_ds.L.tolist() == [[1, -1]] and torch_ds.Y is None
    with pytest.raises(ValueError, match="needs a binary dataset"):
        ds.to_flyingsquid()
    L, Y = WeakDataset(np.array([[0, -1, 1]])).to_flyingsquid()
    assert L.tolist() == [[-1, 0, 1]] and Y is None


def test_weak_dataset_subset():
    ds = WeakDataset(np.array([[0], [1], [-1]]), Y=[0, 1, 1], texts=["a", "b", "c"], ids=["x", "y", "z"],
                     labeled_ids=["y"], name="toy")
    sub = ds.subset([2, 1])
    assert sub.ids == ["z", "y"] and sub.texts == ["c", "b"] and sub.L[:, 0].tolist() == [-1, 1]
    assert sub.Y.tolist() == [1, 1] and sub.labeled_ids == ["y"] and sub.name == "toy"
    assert ds.subset(np.array([True, False, True])).ids == ["x", "z"]
    assert ds.subset([]).n_items == 0
    with pytest.raises(ValueError, match=r"boolean row mask must have shape \(3,\), got \(2,\)"):
        ds.subset(np.array([True, False]))
    with pytest.raises(TypeError, match="boolean mask or 1-D integer positions"):
        ds.subset([0.5])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(L=np.array([0, 1])), ValueError, r"L must be a 2-D array of shape \(n_items, n_lfs\), got shape \(2,\)"),
        (dict(L=np.array([[0, -2]])), ValueError, "got -2"),
        (dict(L=np.array([[0, 1]]), Y=[0, 1]), ValueError, r"Y must have shape \(1,\), one gold label per row of L, got shape \(2,\)"),
        (dict(L=np.array([[0, 1]]), Y=[-1]), ValueError, "Y must hold class ids"),
        (dict(L=np.array([[0, 1]]), Y=[2], label_names=["a", "b"]), ValueError, "Y holds the class 2, but label_names names 2 classes"),
        (dict(L=np.array([[0, 3]]), label_names=["a", "b"]), ValueError, r"L votes for class 3, but label_names names 2 classes \(0..1; -1 = abstain\)"),
        (dict(L=np.array([[0, 1]]), ids=["a", "b"]), ValueError, r"ids must hold 1 ids \(one per row of L\), got 2"),
        (dict(L=np.array([[0, 1]]), texts=[]), ValueError, r"texts must hold 1 strings \(one per row of L\), got 0"),
        (dict(L=np.array([[0, 1]]), labeled_ids=["7"]), ValueError, "labeled_ids names the id '7', which is not an item"),
        (dict(L=np.array([[0, 1]]), label_names=[]), ValueError, "label_names must name at least one class"),
    ],
)
def test_weak_dataset_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        WeakDataset(**kwargs)


# -- WRENCH reader on small folders --------------------------------------------------------


def test_load_wrench_small(tmp_path):
    folder = write_wrench(
        tmp_path / "toy",
        {
            "train": {"10": item([0, -1], 0, "a"), "11": item([1, 1], 1, "b"), "12": item([-1, -1], 1, "c")},
            "test": {"0": item([1, 0], 1, "d")},
        },
        labeled={"labeled_ids": ["11"], "lf_exemplar_ids": []},
    )
    ds = load_wrench(folder, "train")
    assert ds.name == "toy" and ds.split == "train"
    assert ds.ids == ["10", "11", "12"] and ds.texts == ["a", "b", "c"]
    assert ds.L.tolist() == [[0, -1], [1, 1], [-1, -1]] and ds.Y.tolist() == [0, 1, 1]
    assert ds.label_names == ["neg", "pos"] and ds.labeled_ids == ["11"]
    assert ds.labeled_mask.tolist() == [False, True, False]
    splits = load_wrench_splits(str(folder), name="renamed")
    assert list(splits) == ["train", "test"] and splits["test"].name == "renamed"
    assert splits["test"].labeled_ids == []  # labeled_ids.json is about train


def test_load_wrench_without_labels_or_texts(tmp_path):
    items = {"0": {"weak_labels": [0, 1], "data": {"feature": [0.1]}}, "1": {"weak_labels": [1, -1], "data": {}}}
    ds = load_wrench(write_wrench(tmp_path, {"train": items}), "train")
    assert ds.Y is None and ds.texts is None and ds.L.shape == (2, 2)


def test_load_wrench_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"WRENCH dataset folder .*nowhere' does not exist; a WRENCH dataset folder holds .*label\.json"):
        load_wrench(tmp_path / "nowhere", "train")
    (tmp_path / "file.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="is a file, not a folder"):
        load_wrench(tmp_path / "file.json")
    folder = write_wrench(tmp_path / "toy", {"train": {"0": item([0])}})
    with pytest.raises(FileNotFoundError, match=r"toy/valid\.json not found; .* JSON files there: \['label\.json', 'train\.json'\]"):
        load_wrench(folder, "valid")
    (folder / "label.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"toy/label\.json not found"):
        load_wrench(folder, "train")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="holds none of train.json, valid.json, test.json"):
        load_wrench_splits(empty)


@pytest.mark.parametrize(
    "items, labels, match",
    [
        ({"a": item([0, 1]), "b": item([0, 1, -1])}, None, r"item 'b' in .*train\.json has 3 votes, but item 'a' has 2: every item needs one vote per labeling function"),
        ({"a": item([0, 1]), "b": item([0, 2])}, None, r"item 'b' in .*train\.json has the vote 2 from labeling function 1; votes must be -1 \(abstain\) or a class id 0..1"),
        ({"a": item([0, -3])}, None, r"item 'a' .* has the vote -3"),
        ({"a": item([0, 1], label=5)}, None, r"item 'a' in .* has the label 5; labels must be class ids 0..1"),
        ({"a": item([0, 1]), "b": {"weak_labels": [1, 1], "data": {"text": "x"}}}, None, "item 'b' in .* has no 'label', but other items do"),
        ({"a": item([0, 1]), "b": {"label": 0}}, None, "item 'b' in .* has no 'weak_labels'"),
        ({"a": item([0, 1]), "b": item(3)}, None, "item 'b' in .*: 'weak_labels' must be a list of votes"),
        ({"a": item([0, 0.5])}, None, "item 'a' in .* has a non-integer vote"),
        ({"a": item([0, "1"])}, None, "item 'a' in .* has a vote that is not an integer"),
        ({}, None, r"train\.json holds no items"),
        ({"a": item([0])}, {"0": "x", "2": "y"}, r"label\.json must name the classes 0..1 once each, got the ids \[0, 2\]"),
        ({"a": item([0])}, {"zero": "x"}, r"label\.json must map class ids 0..k-1 to names, got the key 'zero'"),
        ({"a": item([0])}, ["x", "y"], r"label\.json must map class ids to names"),
    ],
)
def test_load_wrench_malformed(tmp_path, items, labels, match):
    folder = write_wrench(tmp_path, {"train": items}, labels=labels)
    with pytest.raises(ValueError, match=match):
        load_wrench(folder, "train")


def test_load_wrench_bad_json_and_labeled_ids(tmp_path):
    folder = write_wrench(tmp_path, {"train": {"0": item([0])}}, labeled={"labeled_ids": ["0", "9"]})
    with pytest.raises(ValueError, match=r"labeled_ids\.json lists the id '9' under 'labeled_ids', but train\.json has no such item"):
        load_wrench(folder, "train")
    (folder / "labeled_ids.json").unlink()
    (folder / "train.json").write_text('{"0": {"weak_labels": [0]')
    with pytest.raises(ValueError, match=r"train\.json is not valid JSON"):
        load_wrench(folder, "train")
    (folder / "train.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"must hold a JSON object mapping item ids to items, got list"):
        load_wrench(folder, "train")


def test_youtube_lf_names_follow_the_readme():
    from weaksup.datasets import YOUTUBE_LF_NAMES

    readme = (Path(__file__).resolve().parents[1] / "weaksup" / "datasets" / "data" / "youtube" / "readme.txt").read_text()
    listed = readme.split("Labeling functions list:")[1].split("\n\n")[1]
    assert list(YOUTUBE_LF_NAMES) == [name.strip().rstrip(",") for name in listed.split("\n") if name.strip()]
    assert len(YOUTUBE_LF_NAMES) == load_youtube("valid").n_lfs
