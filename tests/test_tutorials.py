"""The tutorials run from top to bottom, and ship executed, without errors or local paths."""

import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
NOTEBOOKS = sorted(p.name for p in TUTORIALS.glob("*.ipynb"))
# optional frameworks: a tutorial that needs one is skipped without it
NEEDS = {"04_spacy.ipynb": ("spacy",), "05_thinc.ipynb": ("thinc",), "07_dask.ipynb": ("dask", "distributed")}
TIMEOUT = 300  # seconds per cell; each notebook takes well under a minute


def test_the_tutorials_are_there():
    assert all(re.fullmatch(r"0[1-9]_[a-z0-9_]+\.ipynb", name) for name in NOTEBOOKS), NOTEBOOKS
    assert {"01", "02", "03", "06"} <= {name[:2] for name in NOTEBOOKS}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_tutorial_is_saved_executed(name):
    nb = nbformat.read(TUTORIALS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), f"{name}: save it executed"
    assert nb.cells[0].cell_type == "markdown" and "?" in nb.cells[0].source.splitlines()[0], (
        f"{name}: the title asks the question the tutorial answers")
    text = nbformat.writes(nb)
    for c in code:
        assert not [o for o in c.outputs if o.output_type == "error"], f"{name}: saved with an error"
    assert not re.search(r"/(work|root|home|tmp|Users)/", text), f"{name}: a local path in the notebook"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_tutorial_runs(name, monkeypatch):
    for module in NEEDS.get(name, ()):
        pytest.importorskip(module, reason=f"{name} needs {module}: see the tutorial's first cell for the extra")
    # the kernel imports this checkout of weaksup; one thread keeps timings steady on shared machines
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + (os.pathsep + path if path else ""))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.read(TUTORIALS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(TUTORIALS)}}
    )
    client.execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not [o for o in cell.outputs if o.output_type == "error"]
