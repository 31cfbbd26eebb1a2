"""The package's architecture, kept by tests.

weaksup is built in layers; a module may import its own layer and the ones
below it, never one above:

    0 core          conventions, statistics, class balance, the label models, analysis, LFs, datasets, ...
    1 nn            the online PyTorch losses
    2 adapters      thinc, spacy, prodigy, dask
    3 applications  cli, demo

Every ``import`` is read from the source (imports inside functions included;
``if TYPE_CHECKING:`` blocks excluded, they never run), so a cycle cannot hide
behind a lazy import. These tests fail on an import cycle, on a lower layer
importing a higher one, and on a module longer than the size a reader can hold.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "weaksup"
MAX_MODULE_LINES = 600

# First matching prefix wins; a module not listed here is core.
LAYERS = {
    "weaksup.nn": 1,
    "weaksup.distributed": 1,
    "weaksup.thinc": 2,
    "weaksup.spacy": 2,
    "weaksup.prodigy": 2,
    "weaksup.dask": 2,
    "weaksup.cli": 3,
    "weaksup.demo": 3,
    "weaksup.__main__": 3,
}
LAYER_NAMES = {0: "core", 1: "nn", 2: "adapters", 3: "applications"}
# The package's own __init__ is the public facade: it re-exports core and nn.
FACADE = "weaksup"


def layer_of(module: str) -> int:
    if module == FACADE:
        return 1
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return 0


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def all_modules() -> Dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST):
    """Import nodes that can run: every one except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(module: str, path: Path, modules: Dict[str, Path]) -> Set[str]:
    """The weaksup modules ``module`` imports (resolved to module names)."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: Set[str] = set()
    for node in _runtime_imports(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base_parts = module.split(".") if is_package else module.split(".")[:-1]
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in modules else base)
        for target in targets:
            # the nearest enclosing weaksup module (``weaksup.nn.losses.X`` -> ``weaksup.nn.losses``)
            parts = target.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts and parts[0] == "weaksup":
                name = ".".join(parts)
                if name != module:
                    found.add(name)
    return found


def import_graph() -> Dict[str, Set[str]]:
    modules = all_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One import cycle as a list of modules (first == last), or ``[]``.

    A package's ``__init__`` importing its own submodules is how packages
    re-export; it is a cycle only if a submodule imports the package back."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {node: WHITE for node in graph}
    parent: Dict[str, str] = {}

    def visit(node: str) -> List[str]:
        colour[node] = GREY
        for nxt in sorted(graph[node]):
            if colour.get(nxt, BLACK) == GREY:
                cycle = [nxt, node]
                while cycle[-1] != nxt:
                    cycle.append(parent[cycle[-1]])
                return cycle[::-1]
            if colour.get(nxt) == WHITE:
                parent[nxt] = node
                found = visit(nxt)
                if found:
                    return found
        colour[node] = BLACK
        return []

    for node in sorted(graph):
        if colour[node] == WHITE:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_the_import_graph_is_read_from_every_module():
    graph = import_graph()
    assert "weaksup.label_model" in graph and "weaksup.cli" in graph
    # the reader sees imports inside functions: the CLI imports its work lazily
    assert any(dep.startswith("weaksup.") for dep in graph["weaksup.cli"])


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_no_lower_layer_imports_a_higher_one():
    bad = [
        f"{mod} ({LAYER_NAMES[layer_of(mod)]}) imports {dep} ({LAYER_NAMES[layer_of(dep)]})"
        for mod, deps in import_graph().items()
        for dep in sorted(deps)
        if layer_of(dep) > layer_of(mod)
    ]
    assert not bad, "layering violated:\n" + "\n".join(bad)


def test_the_library_never_imports_an_application():
    users = {
        mod: sorted(dep for dep in deps if layer_of(dep) == 3)
        for mod, deps in import_graph().items()
        if layer_of(mod) < 3
    }
    assert not {mod: deps for mod, deps in users.items() if deps}


@pytest.mark.parametrize("module", sorted(all_modules()))
def test_module_size(module):
    n_lines = len(all_modules()[module].read_text(encoding="utf-8").splitlines())
    assert n_lines <= MAX_MODULE_LINES, f"{module} has {n_lines} lines (at most {MAX_MODULE_LINES}): split it by concern"


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_the_reader_resolves_relative_and_lazy_imports(tmp_path):
    source = (
        "from typing import TYPE_CHECKING\n"
        "from .statistics import accumulate\n"
        "if TYPE_CHECKING:\n"
        "    from .cli import main\n"
        "def f():\n"
        "    from . import functional as F\n"
        "    import weaksup.label_model\n"
    )
    path = tmp_path / "probe.py"
    path.write_text(source)
    modules = {"weaksup.statistics": None, "weaksup.functional": None, "weaksup.label_model": None,
               "weaksup.cli": None, "weaksup": None, "weaksup.probe": None}
    found = imports_of("weaksup.probe", path, modules)
    assert found == {"weaksup.statistics", "weaksup.functional", "weaksup.label_model"}
