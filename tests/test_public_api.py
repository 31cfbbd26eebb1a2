"""The public API is what ``__all__`` says, and ``import weaksup`` stays light.

Like Thinc's ``test_import__all__``: a package ``__init__`` that re-exports
names lists exactly those names in ``__all__``, and every listed name exists.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "weaksup"
# adapters whose import needs their framework (installed by the test extra)
FRAMEWORK_MODULES = {"weaksup.thinc", "weaksup.spacy", "weaksup.prodigy", "weaksup.dask"}


def _package_inits():
    for init in sorted(PACKAGE_DIR.rglob("__init__.py")):
        parts = init.relative_to(PACKAGE_DIR.parent).parent.parts
        yield ".".join(parts), init


def _declared_all(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return None


def _top_level_reexports(tree: ast.Module):
    """Public names a package ``__init__`` imports at top level (its re-exports)."""
    names = set()
    body = list(tree.body)
    # a lazy facade (PEP 562) states its re-exports for type checkers under ``if TYPE_CHECKING:``
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            body.extend(node.body)
    for node in body:
        if isinstance(node, ast.ImportFrom) and node.module not in ("__future__", "typing"):
            for alias in node.names:
                name = alias.asname or alias.name
                if not name.startswith("_"):
                    names.add(name)
    return names


@pytest.mark.parametrize("package,init", list(_package_inits()), ids=[p for p, _ in _package_inits()])
def test_all_matches_the_reexports(package, init):
    tree = ast.parse(init.read_text(encoding="utf-8"))
    declared = _declared_all(tree)
    reexported = _top_level_reexports(tree)
    if declared is None:
        assert not reexported, f"{package} re-exports {sorted(reexported)} without an __all__"
        return
    assert len(declared) == len(set(declared)), f"{package}.__all__ lists a name twice"
    assert set(declared) == reexported, (
        f"{package}.__all__ and its imports differ: only in __all__ {sorted(set(declared) - reexported)}, "
        f"only imported {sorted(reexported - set(declared))}"
    )


@pytest.mark.parametrize("package,init", list(_package_inits()), ids=[p for p, _ in _package_inits()])
def test_every_name_in_all_exists(package, init):
    module = importlib.import_module(package)
    for name in getattr(module, "__all__", []):
        assert hasattr(module, name), f"{package}.__all__ lists {name!r}, which does not exist"


def test_the_lazy_facade_loads_every_name_from_its_module():
    import weaksup

    assert sorted(weaksup._EXPORTS) == sorted(weaksup.__all__)
    for name, module in weaksup._EXPORTS.items():
        assert getattr(weaksup, name) is getattr(importlib.import_module(module), name)
    assert set(weaksup.__all__) <= set(dir(weaksup))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        weaksup.not_a_name


def test_the_documented_entry_points_resolve():
    from importlib.metadata import entry_points

    groups = ("console_scripts", "thinc_losses", "thinc_layers", "spacy_factories", "prodigy_recipes")
    seen = 0
    for group in groups:
        for ep in entry_points(group=group):
            if ep.value.startswith("weaksup"):
                framework = ep.value.split(":")[0].split(".")[1]
                try:
                    target = ep.load()
                except ImportError as error:  # an adapter whose framework is not installed
                    if f"weaksup.{framework}" in FRAMEWORK_MODULES and framework in str(error):
                        continue
                    raise
                assert callable(target), f"{group} entry point {ep.name} = {ep.value} is not callable"
                seen += 1
    assert seen >= 5, "weaksup's entry points are not installed (pip install -e .)"


def test_import_weaksup_stays_light():
    """``import weaksup`` and its main names need only torch and numpy: the
    frameworks, pandas, pgmpy, tqdm, matplotlib and dask load where they are used."""
    heavy = ["pandas", "pgmpy", "tqdm", "matplotlib", "spacy", "thinc", "dask", "scipy", "sklearn", "prodigy"]
    # torch itself may import some of these (tqdm, in recent versions): only what weaksup adds counts
    code = (
        "import sys, torch\n"
        f"before = {{m for m in {heavy!r} if m in sys.modules}}\n"
        "import weaksup\n"
        "from weaksup import LabelModel, MulticlassLabelModel, MajorityVote, FSLoss, FSCrossEntropyLoss\n"
        "from weaksup import lf_summary, accumulate\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules and m not in before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import weaksup imported {out.stdout.strip()}"


def test_bare_import_loads_nothing_heavy():
    code = "import sys, weaksup\nprint(sorted(m for m in ('torch', 'numpy', 'pandas', 'tqdm', 'pgmpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
