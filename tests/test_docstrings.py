"""The examples in the public docstrings run and print what they show."""

import doctest
import importlib
import pkgutil

import pytest

import weaksup

# packages whose modules need a framework (matched by prefix: weaksup.thinc.losses too)
OPTIONAL = {"weaksup.spacy": "spacy", "weaksup.thinc": "thinc"}
MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(weaksup.__path__, "weaksup.")
    if not name.rsplit(".", 1)[-1].startswith("_")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    package = ".".join(name.split(".")[:2])
    if package in OPTIONAL:
        pytest.importorskip(OPTIONAL[package])
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"
