"""The examples in the public docstrings run and print what they show."""

import doctest
import importlib
import pkgutil

import pytest

import weaksup

OPTIONAL = {"weaksup.spacy": "spacy", "weaksup.thinc": "thinc"}
MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(weaksup.__path__, "weaksup.")
    if not name.rsplit(".", 1)[-1].startswith("_")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"
