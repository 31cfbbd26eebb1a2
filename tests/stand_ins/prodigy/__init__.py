"""A stand-in for Prodigy, for weaksup's tests: the parts a recipe meets.

Prodigy is not on PyPI. Like Prodigy 1.x, this keeps recipes in a
``catalogue`` registry that also reads the ``prodigy_recipes`` entry points,
and ``recipe(name, **annotations)`` (annotations in plac's form: help, kind,
shorthand, type) returns the proxy that the command line calls with
``use_plac=True`` and the raw arguments. An entry point that names a plain
function, instead of a function decorated this way, fails there.
"""

from __future__ import annotations

import argparse
import functools
import json
import zlib
from typing import Any, Callable, Dict, List

import catalogue

recipes = catalogue.create("prodigy", "recipes", entry_points=True)


def _parse(annotations: Dict[str, tuple], argv: List[str]) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(prog="prodigy")
    for name, (help_text, kind, shorthand, kind_type) in annotations.items():
        if kind == "positional":
            parser.add_argument(name, help=help_text, type=kind_type)
            continue
        flags = [f"--{name.replace('_', '-')}"] + ([f"-{shorthand}"] if shorthand else [])
        if kind == "flag":
            parser.add_argument(*flags, dest=name, help=help_text, action="store_true")
        else:
            parser.add_argument(*flags, dest=name, help=help_text, type=kind_type, default=argparse.SUPPRESS)
    return vars(parser.parse_args(argv))


def recipe(name: str, **annotations: tuple) -> Callable[[Callable], Callable]:
    """Register a recipe function under ``name``; returns the recipe proxy."""

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def recipe_proxy(*args: Any, use_plac: bool = False, **kwargs: Any) -> Dict[str, Any]:
            if use_plac:  # called from the command line: parse the raw arguments
                return func(**_parse(annotations, [str(a) for a in args]))
            return func(*args, **kwargs)

        recipe_proxy.recipe_name = name
        recipes.register(name, func=recipe_proxy)
        return recipe_proxy

    return decorate


def get_recipe(name: str) -> Callable:
    """The recipe registered (or declared through an entry point) as ``name``."""
    return recipes.get(name)


def set_hashes(task: Dict[str, Any], input_keys=("text",), task_keys=(), overwrite: bool = False) -> Dict[str, Any]:
    def digest(keys) -> int:
        return zlib.crc32(json.dumps([task.get(k) for k in keys], sort_keys=True).encode("utf-8"))

    if overwrite or "_input_hash" not in task:
        task["_input_hash"] = digest(input_keys)
    if overwrite or "_task_hash" not in task:
        task["_task_hash"] = digest(list(input_keys) + list(task_keys))
    return task
