"""The graphical model of a FlyingSquid label model: tasks, LFs and their edges.

Nodes are ``m`` labeling functions ``lambda_i`` and ``v`` tasks ``Y_t``. Edges:
``y_edges`` between tasks (a sequence is a chain), ``lambda_y_edges`` from each
LF to the one task it votes on (default: every LF on ``Y_0``) and
``lambda_edges`` between dependent LFs. This module derives, once per model,
everything the fit and the posterior need from the graph: the junction tree's
cliques and separators, which LF groups need joint count tables, and which LF
pairs a task separates (the triplet method's independence condition).

The common case (one task, independent LFs: a star around ``Y_0``) is built
directly; other graphs use pgmpy's junction tree, as upstream FlyingSquid does
(the optional dependency ``pip install 'weaksup[graphs]'``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ._validation import check_int

Edge = Tuple[int, int]


@dataclass(frozen=True)
class Clique:
    """A junction-tree clique or separator: sorted LF indices and task indices."""

    lfs: Tuple[int, ...]
    tasks: Tuple[int, ...]

    def upstream_names(self) -> Tuple[str, ...]:
        """The clique's node names as upstream FlyingSquid sorts them (``Y_t``, ``lambda_i``)."""
        return tuple(sorted([f"lambda_{i}" for i in self.lfs] + [f"Y_{t}" for t in self.tasks]))


def _check_edges(edges: Sequence, name: str, left: int, right: int, left_name: str, right_name: str) -> List[Edge]:
    out = []
    for edge in edges:
        try:
            a, b = (int(x) for x in edge)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a list of (int, int) pairs, got {edge!r}") from None
        if not (0 <= a < left) or not (0 <= b < right):
            raise ValueError(
                f"{name} contains {(a, b)}, but {left_name} indices run 0..{left - 1} "
                f"and {right_name} indices 0..{right - 1}"
            )
        out.append((a, b))
    return out


class LabelGraph:
    """Structure of a label model (see the module docstring).

    Attributes:
        n_lfs, n_tasks: ``m`` and ``v``.
        lf_task: ``(m,)`` the task each LF votes on.
        independent: no ``lambda_edges`` (FlyingSquid's "fully independent case").
        cliques: junction-tree cliques (LF cliques have exactly one task).
        separator_edges: separator -> number of junction-tree edges it labels.
        groups: LF groups (size >= 3) whose joint vote tables the fit reads.
    """

    def __init__(
        self,
        m: int,
        v: int = 1,
        y_edges: Sequence = (),
        lambda_y_edges: Sequence = (),
        lambda_edges: Sequence = (),
    ) -> None:
        m = check_int(m, "m")
        v = check_int(v, "v", minimum=1)
        if m < 3:
            raise ValueError(
                f"the triplet method needs at least 3 labeling functions, got m={m}: "
                "each LF's accuracy is solved from its agreements with two others"
            )
        self.n_lfs, self.n_tasks = int(m), int(v)
        self.y_edges = _check_edges(y_edges, "y_edges", v, v, "task", "task")
        lambda_y = _check_edges(lambda_y_edges, "lambda_y_edges", m, v, "LF", "task")
        if not lambda_y:
            lambda_y = [(i, 0) for i in range(m)]
        self.lambda_y_edges = lambda_y
        self.lambda_edges = _check_edges(lambda_edges, "lambda_edges", m, m, "LF", "LF")
        if any(a == b for a, b in self.lambda_edges) or any(a == b for a, b in self.y_edges):
            raise ValueError("an edge cannot join a node to itself")

        tasks_of = [[] for _ in range(m)]
        for i, t in lambda_y:
            if t not in tasks_of[i]:
                tasks_of[i].append(t)
        for i, ts in enumerate(tasks_of):
            if len(ts) != 1:
                raise ValueError(
                    f"labeling function {i} is attached to {len(ts)} tasks {ts} in lambda_y_edges; "
                    "the triplet method needs every LF to vote on exactly one task"
                )
        self.lf_task = np.array([ts[0] for ts in tasks_of], dtype=np.int64)
        self.independent = not self.lambda_edges

        self._adjacency = self._build_adjacency()
        self._check_connected()
        if self.independent and v == 1:
            self.cliques = [Clique((i,), (0,)) for i in range(m)]
            self.separator_edges: Dict[Clique, int] = {Clique((), (0,)): m - 1} if m > 1 else {}
        else:
            self.cliques, self.separator_edges = self._junction_tree()
        self._check_solvable()
        self.groups = self._stat_groups()

    # ---- graph helpers ---------------------------------------------------
    def _build_adjacency(self) -> Dict[str, set]:
        adj: Dict[str, set] = {f"lambda_{i}": set() for i in range(self.n_lfs)}
        adj.update({f"Y_{t}": set() for t in range(self.n_tasks)})
        edges = (
            [(f"Y_{a}", f"Y_{b}") for a, b in self.y_edges]
            + [(f"lambda_{a}", f"Y_{b}") for a, b in self.lambda_y_edges]
            + [(f"lambda_{a}", f"lambda_{b}") for a, b in self.lambda_edges]
        )
        for a, b in edges:
            adj[a].add(b)
            adj[b].add(a)
        return adj

    def _check_connected(self) -> None:
        seen, stack = {"Y_0"}, ["Y_0"]
        while stack:
            for nb in self._adjacency[stack.pop()]:
                if nb not in seen:
                    seen.add(nb)
                    stack.append(nb)
        apart = sorted(t for t in range(self.n_tasks) if f"Y_{t}" not in seen)
        if apart:
            raise ValueError(
                f"tasks {apart} are not connected to task 0 by y_edges: a model of several tasks "
                "needs them joined (e.g. a chain y_edges=[(0, 1), (1, 2), ...]); for unrelated "
                "tasks fit one LabelModel per task"
            )

    def lf_components(self, task: int) -> np.ndarray:
        """``(m,)`` component id of each LF in the graph with task ``task`` removed:
        two LF sets are independent given ``Y_task`` iff their ids differ."""
        cache = self.__dict__.setdefault("_components", {})
        if task not in cache:
            removed = f"Y_{task}"
            comp: Dict[str, int] = {}
            for start in self._adjacency:
                if start == removed or start in comp:
                    continue
                stack = [start]
                comp[start] = len(comp)
                label = comp[start]
                while stack:
                    node = stack.pop()
                    for nb in self._adjacency[node]:
                        if nb != removed and nb not in comp:
                            comp[nb] = label
                            stack.append(nb)
            cache[task] = np.array([comp[f"lambda_{i}"] for i in range(self.n_lfs)])
        return cache[task]

    def separated(self, lfs_a: Sequence[int], lfs_b: Sequence[int], task: int) -> bool:
        """True iff ``Y_task`` separates LF set ``a`` from LF set ``b`` (disjoint)."""
        if set(lfs_a) & set(lfs_b):
            return False
        comp = self.lf_components(task)
        return not (set(comp[list(lfs_a)]) & set(comp[list(lfs_b)]))

    def _junction_tree(self):
        from .compat import patch_pgmpy

        patch_pgmpy()  # raises an ImportError naming weaksup[graphs] without pgmpy
        from pgmpy.models import DiscreteMarkovNetwork

        G = DiscreteMarkovNetwork()
        G.add_nodes_from([f"lambda_{i}" for i in range(self.n_lfs)])
        G.add_nodes_from([f"Y_{t}" for t in range(self.n_tasks)])
        G.add_edges_from([(f"Y_{a}", f"Y_{b}") for a, b in self.y_edges])
        G.add_edges_from([(f"lambda_{a}", f"Y_{b}") for a, b in self.lambda_y_edges])
        G.add_edges_from([(f"lambda_{a}", f"lambda_{b}") for a, b in self.lambda_edges])
        tree = G.to_junction_tree()

        def as_clique(nodes) -> Clique:
            lfs = tuple(sorted(int(x.split("_")[1]) for x in nodes if x.startswith("lambda_")))
            tasks = tuple(sorted(int(x.split("_")[1]) for x in nodes if x.startswith("Y_")))
            return Clique(lfs, tasks)

        cliques = sorted((as_clique(c) for c in tree.nodes), key=lambda c: c.upstream_names())
        separators: Counter = Counter()
        for a, b in tree.edges:
            separators[as_clique(set(a) & set(b))] += 1
        return cliques, dict(separators)

    def _check_solvable(self) -> None:
        for c in list(self.cliques) + list(self.separator_edges):
            if c.lfs and len(c.tasks) > 1:
                raise ValueError(
                    f"the graph puts labeling functions {list(c.lfs)} in one clique with tasks "
                    f"{list(c.tasks)}; the triplet method can only estimate cliques with a single "
                    "task (remove the LF dependency edges that join several tasks)"
                )
            if c.lfs and not c.tasks:
                raise ValueError(
                    f"labeling functions {list(c.lfs)} form a clique without a task; "
                    "attach every LF to its task in lambda_y_edges"
                )
        for c in self.cliques:
            if c.lfs and not self.triplet_partners(c.lfs, c.tasks[0]).any():
                raise ValueError(
                    f"no triplet for labeling functions {list(c.lfs)}: the triplet method needs two "
                    f"other LFs that task Y_{c.tasks[0]} separates from them and from each other; "
                    "remove dependency edges or add labeling functions"
                )

    def triplet_partners(self, lfs: Sequence[int], task: int) -> np.ndarray:
        """``(m, m)`` bool: ``[j, k]`` true for ``j < k`` when ``Y_task`` separates
        ``lfs``, ``{j}`` and ``{k}`` from each other (a valid triplet)."""
        comp = self.lf_components(task)
        m = self.n_lfs
        own = set(comp[list(lfs)])
        ok = np.array([c not in own for c in comp]) & ~np.isin(np.arange(m), list(lfs))
        pairs = ok[:, None] & ok[None, :] & (comp[:, None] != comp[None, :])
        return np.triu(pairs, 1)

    def _stat_groups(self) -> List[Tuple[int, ...]]:
        """LF groups of 3+ whose joint tables are needed: every dependent clique
        (and separator) with each possible triplet partner added."""
        groups = set()
        for c in list(self.cliques) + list(self.separator_edges):
            if len(c.lfs) >= 2:
                groups.add(c.lfs)
                for j in range(self.n_lfs):
                    if j not in c.lfs:
                        groups.add(tuple(sorted(c.lfs + (j,))))
        # keep only maximal groups; smaller ones are read by marginalising
        maximal = [g for g in groups if not any(set(g) < set(h) for h in groups)]
        return sorted(g for g in maximal if len(g) >= 3)
