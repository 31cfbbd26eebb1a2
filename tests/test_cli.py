"""The ``weaksup`` command line: demo, fit, analyze, --help and the error messages."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from weaksup.cli import main


@pytest.fixture
def votes(tmp_path):
    """Binary votes in both conventions and files of every format."""
    rng = np.random.default_rng(0)
    Y = rng.integers(0, 2, 300) * 2 - 1
    L = np.where(rng.random((300, 5)) < 0.7, np.where(rng.random((300, 5)) < 0.8, Y[:, None], -Y[:, None]), 0)
    snorkel = np.where(L == 0, -1, (L + 1) // 2)
    files = {
        "fs_npy": tmp_path / "fs.npy",
        "fs_csv": tmp_path / "fs.csv",
        "gold_npy": tmp_path / "gold.npy",
        "sn_jsonl": tmp_path / "sn.jsonl",
        "sn_csv": tmp_path / "sn.csv",
    }
    np.save(files["fs_npy"], L)
    np.save(files["gold_npy"], Y)
    np.savetxt(files["fs_csv"], L, fmt="%d", delimiter=",", header="a,b,c,d,e", comments="")
    np.savetxt(files["sn_csv"], snorkel, fmt="%d", delimiter=",")
    with open(files["sn_jsonl"], "w") as f:
        for row, y in zip(snorkel, Y):
            f.write(json.dumps({"weak_labels": row.tolist(), "label": int((y + 1) // 2)}) + "\n")
    return {k: str(v) for k, v in files.items()} | {"L": L, "Y": Y, "dir": tmp_path}


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# -- --help ------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [[], ["demo"], ["fit"], ["analyze"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv + ["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: weaksup")
    if argv != ["demo"]:
        assert "-1 = abstain" in text and "0 = abstain" in text  # the conventions, stated
    if not argv:
        assert all(name in text for name in ("demo", "fit", "analyze"))


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "weaksup.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "weaksup" in out.stdout


def test_no_command_is_an_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "required" in capsys.readouterr().err


# -- demo --------------------------------------------------------------------------
def test_demo(capsys):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        code, out, err = run(capsys, "demo", "--epochs", "1")
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    for text in ("1. Labeling functions", "keyword_subscribe", "est_acc", "emp_acc",
                 "2. Label model against majority vote", "3. End model trained online with FSLoss",
                 "4. Test accuracy"):
        assert text in out
    table = out[out.index("4. Test accuracy"):].splitlines()
    rows = {line.rsplit(None, 1)[0].strip(): float(line.rsplit(None, 1)[1]) for line in table[2:6]}
    assert list(rows) == ["majority vote", "label model", "end model (FSLoss)", "end model on gold labels (ceiling)"]
    assert all(0.5 < acc <= 1 for acc in rows.values())
    assert "FSLoss" in err and "batch" in err  # the progress bar, on stderr


def test_demo_refuses_zero_epochs(capsys):
    code, _, err = run(capsys, "demo", "--epochs", "0")
    assert code == 2 and "--epochs must be at least 1" in err


# -- fit ---------------------------------------------------------------------------
@pytest.mark.parametrize("source,convention", [("fs_npy", "flyingsquid"), ("fs_csv", "flyingsquid"),
                                               ("sn_jsonl", "snorkel"), ("sn_csv", "snorkel")])
@pytest.mark.parametrize("suffix", [".npy", ".csv", ".jsonl"])
def test_fit_every_format(votes, capsys, source, convention, suffix):
    out_path = votes["dir"] / f"probs{suffix}"
    code, out, _ = run(capsys, "fit", votes[source], "--convention", convention, "--out", str(out_path))
    assert code == 0 and "wrote 300 x 2 probabilities" in out
    if suffix == ".npy":
        probs = np.load(out_path)
    elif suffix == ".csv":
        lines = out_path.read_text().splitlines()
        assert lines[0] == ("p_-1,p_+1" if convention == "flyingsquid" else "p_0,p_1")
        probs = np.array([[float(x) for x in line.split(",")] for line in lines[1:]])
    else:
        probs = np.array([json.loads(line) for line in out_path.read_text().splitlines()])
    assert probs.shape == (300, 2)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-6)
    accuracy = np.mean(np.where(probs[:, 1] > 0.5, 1, -1) == votes["Y"])
    assert accuracy > 0.85


def test_fit_reads_snorkel_from_class_ids(tmp_path, capsys):
    rng = np.random.default_rng(1)
    L = rng.integers(-1, 3, (100, 4))
    np.save(tmp_path / "three.npy", L)
    code, out, _ = run(capsys, "fit", str(tmp_path / "three.npy"), "--out", str(tmp_path / "p.npy"))
    assert code == 0 and np.load(tmp_path / "p.npy").shape == (100, 3)


def test_fit_bundled(tmp_path, capsys):
    code, _, _ = run(capsys, "fit", "youtube", "--split", "valid", "--out", str(tmp_path / "p.csv"))
    assert code == 0
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == "HAM,SPAM"


# -- analyze -----------------------------------------------------------------------
def test_analyze_with_gold_and_plot(votes, capsys):
    png = votes["dir"] / "lfs.png"
    code, out, _ = run(capsys, "analyze", votes["fs_csv"], "--convention", "flyingsquid",
                       "--gold", votes["gold_npy"], "--plot", str(png))
    assert code == 0
    header = out.splitlines()[0].split()
    assert header[:8] == ["polarity", "coverage", "overlaps", "conflicts", "correct", "incorrect", "emp_acc", "est_acc"]
    assert header[8:] in ([], ["agree_acc"])  # the LF ranking by agreement, from pairwise-EM models
    assert [line.split()[0] for line in out.splitlines()[1:6]] == ["a", "b", "c", "d", "e"]  # CSV header names
    assert "label model" in out and "majority vote" in out
    assert re.search(r"rank correlation of est_acc with emp_acc \(Spearman\): -?[01]\.\d{3}", out)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_analyze_jsonl_gold_inside(votes, capsys):
    code, out, _ = run(capsys, "analyze", votes["sn_jsonl"], "--convention", "snorkel")
    assert code == 0 and "emp_acc" in out and "accuracy on the 300 gold-labelled items" in out


def test_analyze_bundled(capsys):
    code, out, _ = run(capsys, "analyze", "youtube", "--split", "test")
    assert code == 0 and "keyword_subscribe" in out and "accuracy on the 250 gold-labelled items" in out


# -- errors: the file, the line or column, what was expected -----------------------
def error(capsys, *argv):
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert err.startswith(f"weaksup {argv[0]}: error: ")
    return err


def test_error_ambiguous_convention(votes, capsys):
    err = error(capsys, "fit", votes["fs_npy"], "--out", str(votes["dir"] / "p.npy"))
    assert "fs.npy: cannot tell the vote convention" in err and "--convention flyingsquid" in err


def test_error_csv_bad_cell(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,0,1\n1,x,0\n")
    err = error(capsys, "fit", str(bad), "--convention", "flyingsquid", "--out", str(tmp_path / "p.npy"))
    assert "bad.csv: line 3, column 2: expected an integer vote, got 'x'" in err


def test_error_csv_short_row(tmp_path, capsys):
    bad = tmp_path / "short.csv"
    bad.write_text("1,0,1\n1,0,1\n\n1,0\n")
    err = error(capsys, "analyze", str(bad), "--convention", "flyingsquid")
    assert "short.csv: line 4 has 2 columns, expected 3" in err


def test_error_jsonl_votes(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("[1, 0, 1]\n[1, 0]\n")
    err = error(capsys, "fit", str(bad), "--convention", "flyingsquid", "--out", str(tmp_path / "p.npy"))
    assert "bad.jsonl: line 2: 2 votes, expected 3" in err
    bad.write_text("[1, 0, 1]\n{nope\n")
    err = error(capsys, "fit", str(bad), "--convention", "flyingsquid", "--out", str(tmp_path / "p.npy"))
    assert "bad.jsonl: line 2: not valid JSON" in err


@pytest.mark.parametrize("name,content,where", [
    ("v.csv", "a,b,c\n1,0,1\n1,0,5\n", "v.csv: line 3, column 3"),
    ("v.jsonl", "[1, 0, 1]\n\n[1, -3, 1]\n", "v.jsonl: line 3, column 2"),
    ("v.npy", None, "v.npy: row 2, column 3"),
])
def test_error_vote_outside_the_convention(tmp_path, capsys, name, content, where):
    path = tmp_path / name
    if content is None:
        np.save(path, np.array([[1, 0, 1], [1, 0, 7]]))
    else:
        path.write_text(content)
    err = error(capsys, "fit", str(path), "--convention", "flyingsquid", "--out", str(tmp_path / "p.npy"))
    assert where in err and "expected a FlyingSquid vote -1, 0 (abstain) or +1" in err


def test_error_vote_above_cardinality(tmp_path, capsys):
    path = tmp_path / "v.csv"
    path.write_text("0,1,-1\n2,1,3\n")
    err = error(capsys, "fit", str(path), "--cardinality", "3", "--out", str(tmp_path / "p.npy"))
    assert "v.csv: line 2, column 3: expected a Snorkel/WRENCH vote -1 (abstain) or a class id 0..2, got 3" in err


def test_error_gold(votes, capsys, tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("1\n{oops\n")
    err = error(capsys, "analyze", votes["fs_npy"], "--convention", "flyingsquid", "--gold", str(gold))
    assert "gold.jsonl: line 2: not valid JSON" in err
    gold.write_text('{"label": 1}\n{"y": 1}\n')
    err = error(capsys, "analyze", votes["fs_npy"], "--convention", "flyingsquid", "--gold", str(gold))
    assert "gold.jsonl: line 2: expected an integer label or an object with 'label'" in err
    # gold in the other convention: the first bad label, by line
    err = error(capsys, "analyze", votes["fs_csv"], "--convention", "flyingsquid", "--gold", votes["sn_jsonl"])
    first = int(np.flatnonzero(votes["Y"] == -1)[0]) + 1
    assert f"sn.jsonl: line {first}: expected a gold label -1 or +1" in err
    err = error(capsys, "analyze", votes["sn_csv"], "--convention", "snorkel", "--gold", votes["gold_npy"])
    assert f"gold.npy: row {first}: expected a gold class id 0..1" in err
    short = tmp_path / "short.npy"
    np.save(short, votes["Y"][:10])
    err = error(capsys, "analyze", votes["fs_npy"], "--convention", "flyingsquid", "--gold", str(short))
    assert "short.npy: 10 labels for 300 rows of votes in" in err


def test_error_files(votes, capsys, tmp_path):
    err = error(capsys, "fit", str(tmp_path / "missing.npy"), "--out", str(tmp_path / "p.npy"))
    assert "missing.npy: no such file" in err
    err = error(capsys, "fit", votes["fs_npy"], "--convention", "flyingsquid", "--out", str(tmp_path / "p.txt"))
    assert "p.txt: unknown output type '.txt'; expected one of .npy, .csv, .jsonl" in err
    err = error(capsys, "fit", votes["fs_npy"], "--convention", "flyingsquid", "--out", str(tmp_path / "no" / "p.npy"))
    assert "the folder" in err and "does not exist" in err
    err = error(capsys, "analyze", votes["fs_npy"], "--convention", "flyingsquid", "--gold", votes["gold_npy"],
                "--plot", str(tmp_path / "x.pdf"))
    assert "x.pdf: --plot writes a PNG image" in err


def test_read_labels_names_file_and_line(tmp_path):
    from weaksup.io import read_labels

    bad = tmp_path / "gold.jsonl"
    bad.write_text('{"label": 1}\n{"label": \n')
    with pytest.raises(ValueError, match=r"gold.jsonl: line 2: not valid JSON"):
        read_labels(bad)
    bad.write_text('{"label": 1}\n{"lbl": 0}\n')
    with pytest.raises(ValueError, match=r"gold.jsonl: line 2: expected an integer label"):
        read_labels(bad)
    good = tmp_path / "good.jsonl"
    good.write_text('{"label": 1}\n0\n')
    assert read_labels(good).tolist() == [1, 0]
