"""weaksup.io: readers and writers, called directly (the CLI suite covers the bad files end to end)."""

import json

import numpy as np
import pytest

from weaksup import io as wio


def test_read_votes_formats(tmp_path):
    np.save(tmp_path / "v.npy", np.array([[0, 1], [1, -1]], dtype=np.int16))
    (tmp_path / "v.csv").write_text("a,b\n0,1\n1,-1\n")
    (tmp_path / "v.jsonl").write_text('{"weak_labels": [0, 1], "label": 0}\n\n{"weak_labels": [1, -1], "label": 1}\n')
    for name in ("v.npy", "v.csv", "v.jsonl"):
        L, names, gold = wio.read_votes(tmp_path / name)
        assert L.dtype == np.int64 and L.tolist() == [[0, 1], [1, -1]]
    assert wio.read_votes(tmp_path / "v.csv")[1] == ["a", "b"]
    assert wio.read_votes(tmp_path / "v.jsonl")[2].tolist() == [0, 1]


def test_read_labels_formats(tmp_path):
    np.save(tmp_path / "y.npy", np.array([[1], [0]]))
    (tmp_path / "y.csv").write_text("label\n1\n0\n")
    (tmp_path / "y.jsonl").write_text('{"label": 1}\n0\n')
    for name in ("y.npy", "y.csv", "y.jsonl"):
        assert wio.read_labels(tmp_path / name).tolist() == [1, 0]
    (tmp_path / "two.csv").write_text("1,0\n")
    with pytest.raises(ValueError, match="two.csv: line 1: expected one gold label per line"):
        wio.read_labels(tmp_path / "two.csv")


def test_read_items(tmp_path):
    (tmp_path / "i.jsonl").write_text('{"text": "a"}\n"plain"\n')
    items = wio.read_items(tmp_path / "i.jsonl")
    assert items[0].text == "a" and items[0]["text"] == "a" and items[1] == "plain"
    (tmp_path / "i.csv").write_text("text,n\nhello,1\n")
    assert wio.read_items(tmp_path / "i.csv")[0].n == "1"
    (tmp_path / "i.txt").write_text("one\n\nthree\n")
    assert wio.read_items(tmp_path / "i.txt") == ["one", "", "three"]
    (tmp_path / "e.txt").write_text("")
    assert wio.read_items(tmp_path / "e.txt") == []
    (tmp_path / "r.csv").write_text("a\n1,2\n")
    with pytest.raises(ValueError, match="r.csv: line 2 has more columns"):
        wio.read_items(tmp_path / "r.csv")


def test_write_matrix_round_trips(tmp_path):
    votes = np.array([[0, -1], [1, 1]])
    wio.write_matrix(tmp_path / "v.csv", votes, ["a", "b"])
    assert wio.read_votes(tmp_path / "v.csv")[0].tolist() == votes.tolist()
    wio.write_matrix(tmp_path / "v.jsonl", votes)
    assert [json.loads(x) for x in (tmp_path / "v.jsonl").read_text().splitlines()] == votes.tolist()
    wio.write_probabilities(tmp_path / "p.csv", np.array([[0.25, 0.75]]))
    assert (tmp_path / "p.csv").read_text().splitlines() == ["p_0,p_1", "0.25,0.75"]


def test_output_checks(tmp_path):
    (tmp_path / "x.npy").mkdir()
    with pytest.raises(ValueError, match="x.npy: is a folder"):
        wio.check_output_file(tmp_path / "x.npy")
    with pytest.raises(ValueError, match="unknown output type '.txt'"):
        wio.check_output_file(tmp_path / "x.txt")
    assert wio.check_output_file(tmp_path / "ok.csv").name == "ok.csv"


def test_input_checks(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npy: no such file"):
        wio.check_input_file(tmp_path / "nope.npy")
    with pytest.raises(ValueError, match="is a folder"):
        wio.check_input_file(tmp_path)


def test_values_beyond_int64_arithmetic_are_refused(tmp_path):
    np.save(tmp_path / "v.npy", np.array([[0, 2 ** 63 - 1]], dtype=np.int64))
    with pytest.raises(ValueError, match="small integers"):
        wio.read_votes(tmp_path / "v.npy")
    np.save(tmp_path / "u.npy", np.array([[0, 2 ** 64 - 1]], dtype=np.uint64))
    with pytest.raises(ValueError, match="small integers"):
        wio.read_votes(tmp_path / "u.npy")


def test_read_items_from_a_wrench_split(tmp_path):
    (tmp_path / "train.json").write_text(json.dumps({"7": {"data": {"text": "hi"}, "label": 1, "weak_labels": [0]},
                                                     "3": {"data": {"text": "yo"}, "label": 0, "weak_labels": [1]}}))
    items = wio.read_items(tmp_path / "train.json")
    assert [x.text for x in items] == ["hi", "yo"]
    (tmp_path / "bad.json").write_text(json.dumps({"1": {"text": "no data"}}))
    with pytest.raises(ValueError, match="bad.json: item '1' has no \"data\" object"):
        wio.read_items(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="list.json: expected a WRENCH split"):
        wio.read_items(tmp_path / "list.json")
