"""notebooks/gold_vs_weak.ipynb ships executed: its table and learning curve, no error, no local path.
(Running it takes a few minutes and the shared WRENCH data; it is re-executed by hand.)"""

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "gold_vs_weak.ipynb"


def test_saved_executed_with_table_and_plot():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = nbformat.writes(nb)
    assert not re.search(r"/(work|root|home|tmp|Users)/", text)
    assert "weak labels + 100 gold" in text and "gold only, n = 1000" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)
