"""Labeling functions in plain Python, and applying them to items.

A labeling function (LF) looks at one item and votes for a class or abstains.
weaksup's vote matrices follow Snorkel's convention: ``-1`` = abstain, classes
``0..k-1``.

An LF may return

- ``None`` or ``-1`` (:data:`ABSTAIN`): no vote;
- a class id ``0..k-1`` (a Python or NumPy integer);
- a class *name* (a string), resolved against the task's label list given to
  :func:`apply_lfs` as ``labels=[...]``. Names are looked up, never assumed
  to be in some order, so a label list in another order cannot flip votes:
  the vote is the position of the name in ``labels``.

Example:
    >>> from weaksup.lf import labeling_function, apply_lfs
    >>> @labeling_function()
    ... def has_link(text):
    ...     return "spam" if "http" in text else None
    >>> @labeling_function()
    ... def short(text):
    ...     return "ham" if len(text) < 15 else None
    >>> votes = apply_lfs([has_link, short], ["see http://x.co now!", "nice song"],
    ...                   labels=["ham", "spam"], progress=False)
    >>> votes
    Votes([[ 1, -1],
           [-1,  0]], lf_names=['has_link', 'short'], labels=['ham', 'spam'])
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

ABSTAIN = -1
"""The vote of an LF that does not vote (Snorkel's convention)."""

Preprocessor = Callable[[Any], Any]
Labels = Union[Sequence[str], int, None]


class LabelingFunction:
    """A named labeling function with optional pre-processors and resources.

    Calling it on an item runs the pre-processors in order (each maps an item
    to a new item; for example parsing a text once), then
    ``function(item, **resources)``, and returns what the function returned
    (``None``/``-1``, a class id or a class name; see :mod:`weaksup.lf`).
    :func:`apply_lfs` turns those values into votes.

    Args:
        name: unique name of the LF (the row name in :func:`weaksup.lf_summary`).
        function: ``function(item, **resources) -> vote``.
        pre: pre-processors ``item -> item``, applied in order before
            ``function``; a pre-processor must not return None.
            :func:`apply_lfs` runs a shared chain of pre-processors once per
            item. Default: none.
        resources: keyword arguments passed to ``function`` on every call
            (word lists, models, lookup tables). Default: none.

    Example:
        >>> lf = LabelingFunction("short", lambda text, limit: 0 if len(text) < limit else None,
        ...                       resources={"limit": 10})
        >>> lf("hi"), lf("a long comment here")
        (0, None)
    """

    def __init__(
        self,
        name: str,
        function: Callable[..., Any],
        *,
        pre: Sequence[Preprocessor] = (),
        resources: Optional[Mapping[str, Any]] = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"`name` must be a non-empty str, got {name!r}")
        if not callable(function):
            raise TypeError(f"`function` must be callable, got {type(function).__name__}")
        pre = tuple(pre)
        for i, p in enumerate(pre):
            if not callable(p):
                raise TypeError(f"`pre[{i}]` must be callable, got {type(p).__name__}")
        if resources is not None and not isinstance(resources, Mapping):
            raise TypeError(f"`resources` must be a mapping of keyword arguments, got {type(resources).__name__}")
        self.name = name
        self.function = function
        self.pre = pre
        self.resources = dict(resources or {})
        # a decorated module-level LF replaces its function under the same
        # name: pickle it by that name (needed by apply_lfs(n_jobs > 1))
        self.__module__ = getattr(function, "__module__", None) or __name__
        self.__qualname__ = getattr(function, "__qualname__", name)
        self.__doc__ = getattr(function, "__doc__", None)

    def preprocess(self, item: Any) -> Any:
        """``item`` after this LF's pre-processors."""
        for p in self.pre:
            item = p(item)
            if item is None:
                raise ValueError(f"the pre-processor {_callable_name(p)} of LF {self.name!r} returned None")
        return item

    def __call__(self, item: Any) -> Any:
        return self.function(self.preprocess(item), **self.resources)

    def __repr__(self) -> str:
        pre = f", pre=[{', '.join(_callable_name(p) for p in self.pre)}]" if self.pre else ""
        res = f", resources={sorted(self.resources)}" if self.resources else ""
        return f"LabelingFunction({self.name!r}{pre}{res})"

    def __reduce__(self):
        module = sys.modules.get(self.__module__)
        obj: Any = module
        for part in self.__qualname__.split("."):
            obj = getattr(obj, part, None)
        if obj is self:
            return self.__qualname__  # pickled by reference, like a function
        return (_rebuild, (self.name, self.function, self.pre, self.resources))


def _rebuild(name, function, pre, resources) -> LabelingFunction:
    return LabelingFunction(name, function, pre=pre, resources=resources)


def _callable_name(f: Any) -> str:
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def labeling_function(
    name: Optional[str] = None,
    *,
    pre: Sequence[Preprocessor] = (),
    resources: Optional[Mapping[str, Any]] = None,
) -> Callable[[Callable[..., Any]], LabelingFunction]:
    """Decorator: turn a function into a :class:`LabelingFunction`.

    Args:
        name: the LF's name. Default: the function's name.
        pre: pre-processors applied before the function. Default: none.
        resources: keyword arguments passed to the function. Default: none.

    ``@labeling_function`` without parentheses works too.

    Example:
        >>> @labeling_function(resources={"words": {"free", "win"}})
        ... def promo(text, words):
        ...     return "spam" if words & set(text.lower().split()) else None
        >>> promo.name, promo("WIN a prize")
        ('promo', 'spam')
    """
    if callable(name):  # used bare: @labeling_function
        return LabelingFunction(name.__name__, name)  # type: ignore[return-value]
    if name is not None and not isinstance(name, str):
        raise TypeError(f"`name` must be a str or None, got {type(name).__name__}")

    def decorate(function: Callable[..., Any]) -> LabelingFunction:
        return LabelingFunction(name or function.__name__, function, pre=pre, resources=resources)

    return decorate


class Votes(np.ndarray):
    """The ``(n, m)`` int64 vote matrix of :func:`apply_lfs`, with its LF names.

    A NumPy array (everything that takes votes takes it), plus

    - ``lf_names``: the ``m`` LF names, in column order;
    - ``labels``: the class names (``labels[c]`` is class ``c``) or None;
    - ``n_failures``: int64 ``(m,)``, per LF the items where it raised and
      was counted as abstaining (``errors="abstain"``), else zeros;
    - ``convention``: ``"snorkel"``, and ``cardinality``: ``len(labels)`` or
      None, so that readers need not guess them from the values.

    Row selections (``votes[:100]``, ``votes[mask]``) keep the names; column
    selections keep the matching names; arithmetic and comparisons return
    plain arrays.

    Shape:
        ``(n, m)``: ``n`` items, ``m`` LFs; ``-1`` = abstain, classes ``0..k-1``.
    """

    lf_names: Optional[List[str]]
    labels: Optional[List[str]]
    n_failures: Optional[np.ndarray]
    convention = "snorkel"
    """Always Snorkel's (``-1`` = abstain, classes ``0..k-1``), whatever the values."""

    @property
    def cardinality(self) -> Optional[int]:
        """``len(labels)`` when the labels are known, else None."""
        return len(self.labels) if self.labels is not None else None

    def __new__(cls, L: Any, lf_names: Sequence[str], labels: Optional[Sequence[str]] = None,
                n_failures: Optional[Any] = None) -> "Votes":
        arr = np.asarray(L, dtype=np.int64)
        if arr.ndim != 2:
            raise ValueError(f"`L` must be 2-D (items x LFs), got shape {arr.shape}")
        lf_names = [str(x) for x in lf_names]
        if len(lf_names) != arr.shape[1]:
            raise ValueError(f"`lf_names` must name the {arr.shape[1]} columns, got {len(lf_names)} names")
        obj = arr.view(cls)
        obj.lf_names = lf_names
        obj.labels = list(labels) if labels is not None else None
        obj.n_failures = (np.zeros(arr.shape[1], dtype=np.int64) if n_failures is None
                          else np.asarray(n_failures, dtype=np.int64).reshape(arr.shape[1]))
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        names = getattr(obj, "lf_names", None)
        keep = names is not None and self.ndim == 2 and self.shape[1] == len(names)
        self.lf_names = list(names) if keep else None
        self.labels = getattr(obj, "labels", None)
        failures = getattr(obj, "n_failures", None)
        self.n_failures = failures if keep else None

    def __array_wrap__(self, obj, context=None, return_scalar=False):
        out = obj.view(np.ndarray)
        return out[()] if return_scalar else out

    def __getitem__(self, key: Any) -> Any:
        out = super().__getitem__(key)
        if not isinstance(out, Votes):
            return out
        if out.ndim != 2:
            return out.view(np.ndarray)
        if isinstance(key, tuple) and len(key) == 2 and self.lf_names is not None:
            cols = np.arange(self.shape[1])[key[1]]
            out.lf_names = [self.lf_names[c] for c in np.atleast_1d(cols)]
            out.n_failures = None if self.n_failures is None else self.n_failures[cols]
        return out

    def __reduce__(self):
        base = super().__reduce__()
        return (base[0], base[1], (base[2], self.lf_names, self.labels, self.n_failures))

    def __setstate__(self, state):
        base, self.lf_names, self.labels, self.n_failures = state
        super().__setstate__(base)

    def __repr__(self) -> str:
        body = np.array2string(self.view(np.ndarray), prefix="Votes(", separator=", ")
        labels = f", labels={self.labels}" if self.labels is not None else ""
        return f"Votes({body}, lf_names={self.lf_names}{labels})"


class LabelingFunctionError(RuntimeError):
    """An LF raised on an item (``apply_lfs(errors="raise")``).

    Attributes:
        lf_name: the LF's name.
        index: the item's position (0-based) in the items given to
            :func:`apply_lfs`.
    The LF's own exception is the ``__cause__``.
    """

    def __init__(self, lf_name: str, index: int, error: Union[BaseException, str]) -> None:
        detail = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        super().__init__(f"labeling function {lf_name!r} raised on item {index}: {detail}")
        self.lf_name = lf_name
        self.index = index
        self._detail = detail

    def __reduce__(self):  # crosses process boundaries (n_jobs > 1)
        return (type(self), (self.lf_name, self.index, self._detail))


class _Row(dict):
    """A DataFrame row: ``row["text"]`` and ``row.text`` both work."""

    __slots__ = ()

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


def _as_items(items: Any) -> Iterable[Any]:
    """Rows of a pandas DataFrame as :class:`_Row`; any other iterable as is."""
    if type(items).__module__.startswith("pandas") and hasattr(items, "to_dict") and hasattr(items, "columns"):
        return [_Row(r) for r in items.to_dict("records")]
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise TypeError(f"`items` must be an iterable of items (a list, a DataFrame, a dataset column), "
                        f"got {type(items).__name__}")
    return items


def _check_labels(labels: Labels) -> Tuple[Optional[List[str]], Optional[int]]:
    if labels is None:
        return None, None
    if isinstance(labels, (int, np.integer)) and not isinstance(labels, bool):
        if labels < 1:
            raise ValueError(f"`labels` must be a list of class names or a number of classes >= 1, got {labels}")
        return None, int(labels)
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise TypeError(f"`labels` must be a list of class names or a number of classes, got {type(labels).__name__}")
    names = [str(x) for x in labels]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"`labels` must be non-empty class names, each once, got {names}")
    return names, len(names)


class _Resolver:
    """Turns what an LF returned into a vote (int), or raises ValueError."""

    def __init__(self, names: Optional[List[str]], k: Optional[int]) -> None:
        self.k = k
        self.names = names
        self.index = {name: c for c, name in enumerate(names)} if names else {}

    def __call__(self, value: Any, lf_name: str, i: int) -> int:
        if value is None:
            return ABSTAIN
        if isinstance(value, str):
            if value in self.index:
                return self.index[value]
            if self.names is None:
                raise ValueError(f"labeling function {lf_name!r} returned the class name {value!r} on item {i}: "
                                 "pass labels=[...] (the class names, in class-id order) to resolve names")
            raise ValueError(f"labeling function {lf_name!r} returned {value!r} on item {i}, which is not one of "
                             f"the labels {self.names}")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"labeling function {lf_name!r} returned {value!r} ({type(value).__name__}) on item "
                             f"{i}: expected None or -1 (abstain), a class id or a class name")
        value = int(value)
        if value < -1 or (self.k is not None and value >= self.k):
            bound = f"0..{self.k - 1}" if self.k is not None else ">= 0"
            raise ValueError(f"labeling function {lf_name!r} returned {value} on item {i}: expected -1 (abstain) "
                             f"or a class id {bound}")
        return value


# --- the worker (module level, so that processes can run it) -------------------------------

_STATE: Dict[str, Any] = {}


def _init_worker(lfs, resolver, errors) -> None:
    _STATE.update(lfs=lfs, resolver=resolver, errors=errors)


def _apply_chunk(args: Tuple[int, List[Any]]) -> Tuple[np.ndarray, np.ndarray]:
    start, chunk = args
    return _apply(chunk, start, _STATE["lfs"], _STATE["resolver"], _STATE["errors"])


def _apply(items: Sequence[Any], start: int, lfs: Sequence[LabelingFunction], resolver: _Resolver,
           errors: str) -> Tuple[np.ndarray, np.ndarray]:
    """Votes ``(len(items), m)`` and per-LF failure counts ``(m,)``."""
    out = np.empty((len(items), len(lfs)), dtype=np.int64)
    failures = np.zeros(len(lfs), dtype=np.int64)
    top = resolver.k if resolver.k is not None else float("inf")
    plain = [not lf.pre and not lf.resources for lf in lfs]
    for r, item in enumerate(items):
        cache: Dict[Tuple[int, ...], Any] = {}  # a shared chain of pre-processors runs once per item
        row = out[r]
        for j, lf in enumerate(lfs):
            try:
                if plain[j]:
                    value = lf.function(item)
                else:
                    value = lf.function(_preprocessed(item, lf, cache), **lf.resources)
            except Exception as err:
                if errors == "raise":
                    raise LabelingFunctionError(lf.name, start + r, err) from err
                failures[j] += 1
                value = None
            if type(value) is int and -1 <= value < top:  # the common case, checked inline
                row[j] = value
            else:
                row[j] = resolver(value, lf.name, start + r)
    return out, failures


def _preprocessed(item: Any, lf: LabelingFunction, cache: Dict[Tuple[int, ...], Any]) -> Any:
    x = item
    for depth in range(1, len(lf.pre) + 1):
        key = tuple(id(p) for p in lf.pre[:depth])
        if key not in cache:
            cache[key] = lf.pre[depth - 1](x)
            if cache[key] is None:
                raise ValueError(f"the pre-processor {_callable_name(lf.pre[depth - 1])} returned None")
        x = cache[key]
    return x


def apply_lfs(
    lfs: Sequence[Union[LabelingFunction, Callable[[Any], Any]]],
    items: Any,
    *,
    labels: Labels = None,
    n_jobs: int = 1,
    progress: bool = True,
    errors: str = "raise",
    chunk_size: int = 256,
) -> Votes:
    """Apply labeling functions to items: the vote matrix, with the LF names.

    Args:
        lfs: the ``m`` labeling functions (:class:`LabelingFunction`, or plain
            callables, named after their ``__name__``); names must be unique.
        items: the ``n`` items: any iterable (a list of texts or records, a
            dataset column), or a pandas DataFrame, whose rows the LFs get as
            mappings that also allow attribute access (``x["text"]``,
            ``x.text``).
        labels: the class names in class-id order (``labels[c]`` is class
            ``c``): LFs may return names, and ids must be below
            ``len(labels)``. Or the number of classes ``k``. Default: None
            (class ids >= 0 accepted, names refused).
        n_jobs: processes to use; ``1`` runs in this process. With more, the
            LFs must be picklable (defined at module level) and the order of
            the rows is the order of the items. Default: 1.
        progress: show a progress bar (needs ``tqdm``; none without it).
            Default: True.
        errors: ``"raise"``: an LF that raises stops everything with a
            :class:`LabelingFunctionError` naming the LF and the item index;
            ``"abstain"``: the failure counts as an abstain, and the counts
            per LF are in ``votes.n_failures``. Default: ``"raise"``.
        chunk_size: items per task sent to a process. Default: 256.

    Returns:
        :class:`Votes`: int64 ``(n, m)``, ``-1`` = abstain, classes ``0..k-1``,
        with ``lf_names``, ``labels`` and ``n_failures``.

    Raises:
        LabelingFunctionError: an LF raised (``errors="raise"``).
        ValueError: an LF returned something that is not a vote (a class id
            out of range, a name not in ``labels``, a float, a bool), named
            with the LF and the item index, whatever ``errors`` says.

    Shape:
        - ``items``: ``n`` items; ``lfs``: ``m`` functions.
        - Output: ``(n, m)``.
    """
    lfs = [lf if isinstance(lf, LabelingFunction) else _wrap(lf, j) for j, lf in enumerate(lfs)]
    names = [lf.name for lf in lfs]
    if len(set(names)) != len(names):
        dup = sorted({x for x in names if names.count(x) > 1})
        raise ValueError(f"`lfs` must have unique names, got {dup} more than once")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"`n_jobs` must be an int >= 1, got {n_jobs!r}")
    if errors not in ("raise", "abstain"):
        raise ValueError(f"`errors` must be 'raise' or 'abstain', got {errors!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"`chunk_size` must be an int >= 1, got {chunk_size!r}")
    label_names, k = _check_labels(labels)
    resolver = _Resolver(label_names, k)
    items = _as_items(items)
    total = len(items) if hasattr(items, "__len__") else None
    bar = _progress_bar(total, progress)
    parts: List[np.ndarray] = []
    failures = np.zeros(len(lfs), dtype=np.int64)
    try:
        if n_jobs == 1:
            for start, chunk in _chunks(items, chunk_size):
                votes, failed = _apply(chunk, start, lfs, resolver, errors)
                parts.append(votes)
                failures += failed
                bar.update(len(chunk))
        else:
            context = multiprocessing.get_context(
                "fork" if "fork" in multiprocessing.get_all_start_methods() else None)
            with context.Pool(int(n_jobs), initializer=_init_worker, initargs=(lfs, resolver, errors)) as pool:
                for votes, failed in pool.imap(_apply_chunk, _chunks(items, chunk_size)):
                    parts.append(votes)
                    failures += failed
                    bar.update(len(votes))
    finally:
        bar.close()
    L = np.concatenate(parts) if parts else np.empty((0, len(lfs)), dtype=np.int64)
    return Votes(L, names, label_names, failures)


def _wrap(f: Any, j: int) -> LabelingFunction:
    if not callable(f):
        raise TypeError(f"`lfs[{j}]` must be a LabelingFunction or a callable, got {type(f).__name__}")
    return LabelingFunction(getattr(f, "__name__", f"lf_{j}"), f)


def _chunks(items: Iterable[Any], size: int):
    chunk: List[Any] = []
    start = 0
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield start, chunk
            start += size
            chunk = []
    if chunk:
        yield start, chunk


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: Optional[int], progress: bool):
    if not progress:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc="applying LFs", unit="item", file=sys.stderr)


def load_lfs(path: Any) -> Tuple[List[LabelingFunction], Optional[List[str]]]:
    """The labeling functions of a Python file, and its ``LABELS`` list if any.

    Runs the file as a module (it stays importable as ``weaksup_lfs_<stem>``,
    so ``apply_lfs(n_jobs > 1)`` can pickle its LFs) and collects the
    module-level :class:`LabelingFunction` objects in definition order.

    Raises:
        ValueError: not a readable ``.py`` file, the module raised while
            running, it defines no LF, or ``LABELS`` is not a list of names;
            the message starts with the path.
    """
    path = Path(path)
    if path.suffix.lower() != ".py":
        raise ValueError(f"{path}: expected a Python file (.py) defining labeling functions")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected a Python file defining labeling functions)")
    name = "weaksup_lfs_" + "".join(c if c.isalnum() else "_" for c in path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        line = ""
        tb = err.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == str(path):
                line = f" (line {tb.tb_lineno})"
            tb = tb.tb_next
        if isinstance(err, SyntaxError):
            line = f" (line {err.lineno})"
        raise ValueError(f"{path}: running the module raised {type(err).__name__}{line}: {err}") from None
    lfs = [v for v in vars(module).values() if isinstance(v, LabelingFunction)]
    if not lfs:
        raise ValueError(f"{path}: defines no labeling function (decorate functions with "
                         "@weaksup.labeling_function)")
    labels = getattr(module, "LABELS", None)
    if labels is not None and (isinstance(labels, str) or not isinstance(labels, Sequence)
                               or not all(isinstance(x, str) for x in labels)):
        raise ValueError(f"{path}: LABELS must be a list of class names, got {labels!r}")
    return lfs, (list(labels) if labels is not None else None)
