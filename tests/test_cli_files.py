"""The CLI on the files users have (WRENCH folders, class balance, `apply`, plots),
and over bad files: one line naming the file, exit status 2, no traceback (issue 11 D8-D10)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from weaksup.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def refused(capsys, *argv, names=None):
    """Exit 2 with one line on stderr naming the file, no traceback."""
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"weaksup {argv[0]}: error: ")
    assert "Traceback" not in err
    if names is not None:
        assert str(names) in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def wrench(tmp_path):
    """A tiny WRENCH folder: 3 classes, 4 LFs."""
    rng = np.random.default_rng(0)
    root = tmp_path / "tiny"
    root.mkdir()
    (root / "label.json").write_text(json.dumps({"0": "a", "1": "b", "2": "c"}))
    for split, n in (("train", 200), ("valid", 40)):
        Y = rng.integers(0, 3, n)
        L = np.where(rng.random((n, 4)) < 0.6, np.where(rng.random((n, 4)) < 0.8, Y[:, None], (Y[:, None] + 1) % 3), -1)
        items = {str(i): {"data": {"text": f"item {i}"}, "label": int(Y[i]), "weak_labels": L[i].tolist()}
                 for i in range(n)}
        (root / f"{split}.json").write_text(json.dumps(items))
    return root


# -- WRENCH folders and files -----------------------------------------------------------
def test_analyze_a_wrench_folder(wrench, capsys):
    code, out, _ = run(capsys, "analyze", wrench)
    assert code == 0 and "emp_acc" in out and "accuracy on the 200 gold-labelled items" in out


def test_analyze_a_wrench_split_file_and_fit(wrench, capsys, tmp_path):
    code, out, _ = run(capsys, "analyze", wrench / "valid.json")
    assert code == 0 and "accuracy on the 40 gold-labelled items" in out
    code, _, _ = run(capsys, "fit", wrench, "--out", tmp_path / "p.csv")
    assert code == 0 and (tmp_path / "p.csv").read_text().splitlines()[0] == "a,b,c"


def test_wrench_folder_without_label_json(tmp_path, capsys):
    (tmp_path / "sms").mkdir()
    line = refused(capsys, "analyze", tmp_path / "sms")
    assert "label.json" in line


# -- class balance -------------------------------------------------------------------------
def test_class_balance_and_dev_labels_reach_the_model(wrench, capsys, tmp_path):
    means = {}
    for name, option in (("low", ["--class-balance", "0.8,0.1,0.1"]), ("high", ["--class-balance", "0.1,0.1,0.8"]),
                         ("uniform", ["--class-balance", "uniform"]), ("dev", ["--dev-labels", wrench / "valid.json"])):
        out = tmp_path / f"{name}.npy"
        code, _, err = run(capsys, "fit", wrench, *option, "--out", out)
        assert code == 0, err
        means[name] = np.load(out).mean(0)
    assert means["low"][0] > means["uniform"][0] > means["high"][0]
    np.save(tmp_path / "dev.npy", np.zeros(10, dtype=int))  # all class 0
    run(capsys, "fit", wrench, "--dev-labels", tmp_path / "dev.npy", "--out", tmp_path / "d0.npy")
    assert np.load(tmp_path / "d0.npy").mean(0)[0] > means["uniform"][0]


@pytest.mark.parametrize("option, match", [
    (["--class-balance", "0.5,0.5"], "--class-balance"),
    (["--class-balance", "abc"], "--class-balance: expected 'uniform' or 3 comma-separated numbers"),
    (["--class-balance", "nan,1,1"], "--class-balance"),
    (["--class-balance=-1,1,1"], "--class-balance"),
    (["--class-balance", "uniform", "--dev-labels", "x.npy"], "give one"),
])
def test_class_balance_errors(wrench, capsys, option, match):
    assert match in refused(capsys, "analyze", wrench, *option)


def test_dev_labels_outside_the_classes(wrench, capsys, tmp_path):
    np.save(tmp_path / "dev.npy", np.array([0, 1, 7]))
    refused(capsys, "analyze", wrench, "--dev-labels", tmp_path / "dev.npy", names=tmp_path / "dev.npy")


# -- --cardinality and huge class ids (D8) --------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-1", "1", "x", "1000000000000"])
def test_cardinality_is_validated(tmp_path, capsys, value):
    np.save(tmp_path / "v.npy", np.array([[0, 2], [1, -1]]))
    with pytest.raises(SystemExit) as info:
        main(["fit", str(tmp_path / "v.npy"), "--cardinality", value, "--out", str(tmp_path / "p.npy")])
    assert info.value.code == 2
    assert "--cardinality" in capsys.readouterr().err


@pytest.mark.parametrize("big", [3000, 10 ** 8, 10 ** 12])
def test_huge_class_ids_are_refused_fast_unless_cardinality_says_so(tmp_path, capsys, big):
    path = tmp_path / "v.csv"
    path.write_text(f"0,1,-1\n1,{big},0\n")
    line = refused(capsys, "analyze", path, names=path)
    assert f"largest class id is {big}" in line and f"--cardinality {big + 1}" in line


def test_a_large_cardinality_given_is_honoured(tmp_path, capsys):
    path = tmp_path / "v.csv"
    path.write_text("0,1,-1\n1,150,0\n150,150,-1\n")
    code, _, err = run(capsys, "fit", path, "--cardinality", "151", "--out", tmp_path / "p.npy")
    assert code == 0, err and np.load(tmp_path / "p.npy").shape == (3, 151)


def test_flyingsquid_with_another_cardinality(tmp_path, capsys):
    np.save(tmp_path / "v.npy", np.array([[1, -1], [0, 1]]))
    assert "2 classes" in refused(capsys, "fit", tmp_path / "v.npy", "--convention", "flyingsquid",
                                  "--cardinality", "3", "--out", tmp_path / "p.npy")


# -- bad files (D9, D10) ------------------------------------------------------------------------
def _make(tmp_path, kind):
    """A bad votes file of this kind; returns its path."""
    if kind == "dir":
        path = tmp_path / "votes.npy"
        path.mkdir()
        return path
    if kind == "fifo":
        path = tmp_path / "votes.csv"
        os.mkfifo(path)
        return path
    contents = {
        "empty.npy": b"", "empty.csv": b"", "empty.jsonl": b"", "blank.csv": b"\n\n",
        "header.csv": b"a,b,c\n",
        "ragged.csv": b"1,0,1\n0,1\n", "ragged.jsonl": b"[1, 0, 1]\n[0]\n",
        "binary.csv": bytes(range(256)) * 4, "binary.jsonl": b"\x00\x01\x02[1, 2]\n",
        "random.npy": os.urandom(512), "truncated.npy": None, "object.npy": None,
        "null_label.jsonl": b'{"weak_labels": [0, 2], "label": null}\n',
        "spam_label.jsonl": b'{"weak_labels": [0, 2], "label": 1}\n{"weak_labels": [1, 2], "label": "spam"}\n',
        "some_gold.jsonl": b'{"weak_labels": [0, 2], "label": 1}\n{"weak_labels": [1, 2]}\n',
        "some_gold2.jsonl": b'{"weak_labels": [0, 2]}\n{"weak_labels": [1, 2], "label": 0}\n',
        "null_vote.jsonl": b'[0, null]\n', "bool_vote.jsonl": b'[0, true]\n', "empty_list.jsonl": b'[]\n',
        "huge.jsonl": b'[0, 1e300]\n', "float.npy": None, "onedim.npy": None, "nocols.npy": None,
        "text.npy": b"not numpy at all\n", "bad.txt": b"1,2\n",
    }
    path = tmp_path / kind
    if kind == "truncated.npy":
        np.save(path, np.zeros((100, 5), dtype=np.int64))
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "object.npy":
        np.save(path, np.array([[1, "a"]], dtype=object), allow_pickle=True)
    elif kind == "float.npy":
        np.save(path, np.array([[0.5, 1.0]]))
    elif kind == "onedim.npy":
        np.save(path, np.array([0, 1, 2]))
    elif kind == "nocols.npy":
        np.save(path, np.zeros((3, 0), dtype=int))
    else:
        path.write_bytes(contents[kind])
    return path


BAD = {
    "empty.npy": "empty file", "empty.csv": "empty file", "empty.jsonl": "empty file", "blank.csv": "empty file",
    "header.csv": "no votes found (only a header line)", "ragged.csv": "line 2 has 2 columns, expected 3",
    "ragged.jsonl": "line 2: 1 votes, expected 3", "binary.csv": "not a text file", "binary.jsonl": "not a text file",
    "random.npy": "not a NumPy .npy file", "truncated.npy": "not a readable .npy file",
    "object.npy": "holds Python objects", "null_label.jsonl": "line 1: expected an integer gold label in 'label', got null",
    "spam_label.jsonl": "line 2: expected an integer gold label in 'label', got \"spam\"",
    "some_gold.jsonl": "line 2 has no 'label' but line 1 has one", "some_gold2.jsonl": "line 2 has a 'label' but line 1 has none",
    "null_vote.jsonl": "line 1, column 2: expected an integer vote, got null",
    "bool_vote.jsonl": "line 1, column 2: expected an integer vote, got true", "empty_list.jsonl": "empty list of votes",
    "huge.jsonl": "line 1, column 2: expected an integer vote", "float.npy": "NaN, inf or fractions",
    "onedim.npy": "expected a 2-D array", "nocols.npy": "no votes", "text.npy": "not a NumPy .npy file",
    "bad.txt": "unknown file type '.txt'", "dir": "is a folder", "fifo": "is a FIFO",
}


@pytest.mark.parametrize("command", ["analyze", "fit"])
@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_votes_file(tmp_path, capsys, kind, command):
    path = _make(tmp_path, kind)
    out = ["--out", tmp_path / "p.npy"] if command == "fit" else []
    line = refused(capsys, command, path, "--convention", "snorkel", *out, names=path)
    assert BAD[kind] in line
    assert not (tmp_path / "p.npy").exists()


@pytest.mark.parametrize("kind", ["empty.npy", "random.npy", "object.npy", "binary.csv", "dir", "fifo", "spam_label.jsonl"])
def test_bad_gold_file(tmp_path, capsys, kind):
    np.save(tmp_path / "v.npy", np.array([[0, 1], [1, 1]]))
    path = _make(tmp_path, kind)
    refused(capsys, "analyze", tmp_path / "v.npy", "--convention", "snorkel", "--gold", path, names=path)


def test_gold_null_line(tmp_path, capsys):
    np.save(tmp_path / "v.npy", np.array([[0, 1], [1, 1]]))
    (tmp_path / "g.jsonl").write_text("1\nnull\n")
    line = refused(capsys, "analyze", tmp_path / "v.npy", "--convention", "snorkel", "--gold", tmp_path / "g.jsonl")
    assert "g.jsonl: line 2: expected an integer gold label, got null" in line


def test_unreadable_file(tmp_path, capsys, monkeypatch):
    path = tmp_path / "v.csv"
    path.write_text("0,1\n1,0\n")
    monkeypatch.setattr(os, "access", lambda p, mode: False)
    assert "cannot be read (permission denied)" in refused(capsys, "analyze", path, "--convention", "snorkel",
                                                           names=path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_for_real(tmp_path, capsys):
    path = tmp_path / "v.csv"
    path.write_text("0,1\n1,0\n")
    path.chmod(0)
    refused(capsys, "analyze", path, "--convention", "snorkel", names=path)


def test_out_is_checked_before_the_work(tmp_path, capsys, monkeypatch):
    import weaksup.cli as cli

    np.save(tmp_path / "v.npy", np.array([[0, 1], [1, 1]]))
    (tmp_path / "out.npy").mkdir()
    monkeypatch.setattr(cli, "_load", lambda args: pytest.fail("the work started"))
    line = refused(capsys, "fit", tmp_path / "v.npy", "--out", tmp_path / "out.npy")
    assert "out.npy: is a folder" in line
    line = refused(capsys, "analyze", tmp_path / "v.npy", "--plot", tmp_path / "out.npy" / "x" / "p.png")
    assert "does not exist" in line


def test_plot_refused_up_front_without_matplotlib(tmp_path, capsys, monkeypatch):
    import importlib.util

    import weaksup.cli as cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    monkeypatch.setattr(cli, "_load", lambda args: pytest.fail("the work started"))
    line = refused(capsys, "analyze", "youtube", "--plot", tmp_path / "p.png")
    assert "pip install 'weaksup[plot]'" in line


def test_a_fifo_does_not_block_a_real_process(tmp_path):
    fifo = _make(tmp_path, "fifo")
    proc = subprocess.run([sys.executable, "-m", "weaksup.cli", "analyze", str(fifo)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and "is a FIFO" in proc.stderr and "Traceback" not in proc.stderr


# -- analyze --plot ------------------------------------------------------------------------------
def test_analyze_plot_without_gold_draws_the_lf_panel(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    np.save(tmp_path / "v.npy", rng.integers(-1, 3, (200, 6)))
    code, out, err = run(capsys, "analyze", tmp_path / "v.npy", "--plot", tmp_path / "p.png")
    assert code == 0, err and "plot written" in out
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


# -- apply -------------------------------------------------------------------------------------
LFS_PY = '''
from weaksup.lf import labeling_function

LABELS = ["ham", "spam"]


@labeling_function()
def has_link(x):
    return "spam" if "http" in x["text"] else None


@labeling_function()
def short(x):
    return "ham" if len(x.text) < 12 else None


@labeling_function()
def fragile(x):
    return 1 if x["text"].split()[1] == "free" else None
'''


@pytest.fixture
def lfs_file(tmp_path):
    (tmp_path / "lfs.py").write_text(LFS_PY)
    texts = ["see http://x.co now", "nice song", "win free stuff", "single", "ok then love it"]
    with open(tmp_path / "items.jsonl", "w") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    return tmp_path


@pytest.mark.parametrize("n_jobs", ["1", "2"])
def test_apply_writes_votes_with_names(lfs_file, capsys, n_jobs):
    out = lfs_file / "votes.csv"
    code, stdout, err = run(capsys, "apply", lfs_file / "lfs.py", lfs_file / "items.jsonl", "--out", out,
                            "--errors", "abstain", "--n-jobs", n_jobs)
    assert code == 0, err
    lines = out.read_text().splitlines()
    assert lines[0] == "has_link,short,fragile"
    assert [list(map(int, x.split(","))) for x in lines[1:]] == [
        [1, -1, -1], [-1, 0, -1], [-1, -1, 1], [-1, 0, -1], [-1, -1, -1]]
    assert "fragile: 1 failures" in stdout and "applying LFs" in err


def test_apply_npy_and_txt_items(lfs_file, capsys):
    (lfs_file / "items.txt").write_text("a b\nfree free\n")
    (lfs_file / "simple.py").write_text(
        "from weaksup import lf\nwords = lf.LabelingFunction('words', lambda t: 1 if 'free' in t else None)\n")
    code, _, err = run(capsys, "apply", lfs_file / "simple.py", lfs_file / "items.txt", "--out",
                       lfs_file / "v.npy", "--no-progress")
    assert code == 0, err and np.load(lfs_file / "v.npy").tolist() == [[-1], [1]]


def test_apply_an_lf_that_raises(lfs_file, capsys):
    line = refused(capsys, "apply", lfs_file / "lfs.py", lfs_file / "items.jsonl", "--out", lfs_file / "v.npy",
                   "--no-progress")
    assert "'fragile' raised on item 3: IndexError" in line


@pytest.mark.parametrize("source, match", [
    ("raise RuntimeError('boom')\n", "running the module raised RuntimeError (line 1): boom"),
    ("def f(:\n", "running the module raised SyntaxError (line 1)"),
    ("x = 1\n", "defines no labeling function"),
])
def test_apply_bad_lf_modules(tmp_path, capsys, source, match):
    (tmp_path / "bad.py").write_text(source)
    (tmp_path / "items.txt").write_text("a\n")
    line = refused(capsys, "apply", tmp_path / "bad.py", tmp_path / "items.txt", "--out", tmp_path / "v.npy",
                   names=tmp_path / "bad.py")
    assert match in line


def test_apply_bad_items_and_out(lfs_file, capsys):
    (lfs_file / "items.csv").write_bytes(b"\x00\xff" * 50)
    refused(capsys, "apply", lfs_file / "lfs.py", lfs_file / "items.csv", "--out", lfs_file / "v.npy",
            names=lfs_file / "items.csv")
    refused(capsys, "apply", lfs_file / "lfs.py", lfs_file / "items.jsonl", "--out", lfs_file,
            names=lfs_file)
    line = refused(capsys, "apply", lfs_file / "lfs.py", lfs_file / "items.jsonl", "--out", lfs_file / "v.npy",
                   "--labels", "ham,junk", "--errors", "abstain", "--no-progress")
    assert "'has_link' returned 'spam' on item 0" in line


# -- light import ------------------------------------------------------------------------------
def test_help_imports_no_torch_pandas_or_matplotlib():
    code = ("import sys, contextlib, io\nfrom weaksup.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('torch', 'pandas', 'matplotlib', 'tqdm', 'pgmpy') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_json_file_outside_a_wrench_folder(tmp_path, capsys):
    path = tmp_path / "votes.json"
    path.write_text("[[0, 1]]")
    assert "needs label.json" in refused(capsys, "analyze", path, names=path)


def test_a_model_that_cannot_fit_names_the_file(tmp_path, capsys):
    path = tmp_path / "one.npy"
    np.save(path, np.array([[1], [-1], [0]]))
    line = refused(capsys, "fit", path, "--convention", "flyingsquid", "--out", tmp_path / "p.npy", names=path)
    assert "cannot fit the label model" in line


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CELLS = st.sampled_from(["0", "1", "-1", "2", "x", "", "1.5", "nan", "-7", "99999999999", '"a"', "null", "true"])
_TEXT_FILES = st.lists(st.lists(_CELLS, min_size=0, max_size=4), max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.sampled_from([".npy", ".csv", ".jsonl"]), raw=st.binary(max_size=200), rows=_TEXT_FILES,
       as_text=st.booleans())
def test_any_file_ends_in_a_result_or_one_line(tmp_path, capsys, suffix, raw, rows, as_text):
    path = tmp_path / f"v{suffix}"
    if as_text and suffix == ".jsonl":
        path.write_text("\n".join("[" + ", ".join(r) + "]" for r in rows))
    elif as_text:
        path.write_text("\n".join(",".join(r) for r in rows))
    else:
        path.write_bytes((b"\x93NUMPY" if suffix == ".npy" and raw[:1] == b"\x01" else b"") + raw)
    code, _, err = run(capsys, "analyze", path, "--convention", "snorkel")
    assert code in (0, 2)
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and str(path) in err and "Traceback" not in err
