"""FlyingSquid's per-clique linear systems and the probabilities they read.

For a clique of ``c`` LFs and its task, upstream FlyingSquid solves ``B e = r``
for the clique's marginal table ``e``: ``r`` holds observable probabilities
(read from :class:`~weaksup.statistics.VoteStatistics` by :class:`Quantities`)
and triplet estimates of the unobservable moments ``E[l_S Y]``. These tables are
ported exactly: the order of the ``e`` and ``r`` vectors defines the marginal
tables of :class:`weaksup.LabelModel`. Votes read -1/+1 with 0 = abstain.
:func:`posterior_log_tables` turns the fitted tables into the log terms of the
junction-tree posterior.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ._backend import IMPOSSIBLE, TINY
from .graph import Clique, LabelGraph
from .statistics import VoteStatistics

__all__ = [
    "Quantities", "b_inverse", "clique_table", "conditional_accuracies", "e_vector", "expectation_key", "posterior_log_tables", "r_symbols", "solve_tables",
    "sorted_order",
]

@lru_cache(maxsize=None)
def e_vector(n_lfs: int, abstentions: bool) -> Tuple[Tuple[int, ...], ...]:
    """Assignments (lf values..., y) of a clique's marginal, in upstream's order."""
    e = [[1], [-1]]
    for _ in range(n_lfs):
        if abstentions:
            e = [[v] + x for x in e for v in (1, 0, -1)]
        else:
            e = [x + [v] for v in (1, -1) for x in e]
    return tuple(tuple(x) for x in e)


@lru_cache(maxsize=None)
def b_inverse(n_lfs: int, abstentions: bool) -> np.ndarray:
    """``B^-1`` of upstream's linear system ``B e = r`` for a clique of ``n_lfs`` LFs."""
    if not abstentions:
        base = np.array([[1, 1], [1, -1]])
        b = base
        for _ in range(n_lfs):
            b = np.kron(b, base)
        b[b < 0] = 0
        return np.linalg.inv(b)
    a_i, b_i = np.array([[1, 1], [1, 0]]), np.array([[0, 0], [0, 1]])
    c = np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0]])
    d = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]])
    for _ in range(n_lfs):
        a_i, b_i = np.kron(a_i, c) + np.kron(b_i, d), np.kron(a_i, d) + np.kron(b_i, c)
    return np.linalg.inv(a_i)


@lru_cache(maxsize=None)
def r_symbols(n_lfs: int, abstentions: bool) -> Tuple[Tuple, ...]:
    """What each entry of r is, for a clique of ``n_lfs`` LFs (positions 0..c-1)
    and its task. Each symbol is ``(kind, lf_positions_equal_one, y_in,
    lf_positions_zero)``:

    * ``one``: 1
    * ``estimated``: P(l_S * y = 1, l_Z = 0), from the triplet estimate
    * ``lf``: P(prod l_S = 1 | l_Z = 0) (upstream uses this conditional form)
    * ``y``: P(y = 1) * P(l_Z = 0) (or P(l_Z = 0), or P(y = 1))
    """
    symbols = []
    for e in e_vector(n_lfs, abstentions):
        lf_vals, y_val = e[:-1], e[-1]
        if abstentions:
            ones = tuple(p for p, x in enumerate(lf_vals) if x == 0)
            zeros = tuple(p for p, x in enumerate(lf_vals) if x == -1)
        else:
            ones = tuple(p for p, x in enumerate(lf_vals) if x == -1)
            zeros = ()
        y_in = y_val == -1
        if ones and y_in:
            kind = "estimated"
        elif ones:
            kind = "lf"
        elif y_in or zeros:
            kind = "y"
        else:
            kind = "one"
        symbols.append((kind, ones, y_in, zeros))
    return tuple(symbols)


@lru_cache(maxsize=None)
def sorted_order(n_lfs: int, abstentions: bool) -> np.ndarray:
    """Permutation from e-vector order to the table order (sorted tuples)."""
    e = e_vector(n_lfs, abstentions)
    return np.array(sorted(range(len(e)), key=lambda i: e[i]))


def expectation_key(lfs: Sequence[int], task: int, zeros: Sequence[int], abstentions: bool):
    """Upstream's dictionary key for an expectation (used for ordering and for
    the ``expectation_values`` view)."""
    names = tuple(sorted(f"lambda_{i}" for i in lfs)) + (f"Y_{task}",)
    if not abstentions:
        return names
    cond = tuple(sorted(f"lambda_{i}" for i in zeros)) if zeros else ("0",)
    return (names, cond)



class Quantities:
    """Probabilities and moments read from statistics (all float64 tensors)."""

    def __init__(self, stats: VoteStatistics) -> None:
        self.stats = stats
        self.n = stats.n_items.to(torch.float64)
        self.moments = stats.binary_moments()
        self.co_coverage = stats.co_coverage_counts()
        counts = stats.vote_counts().to(torch.float64)
        self.p_pos = counts[:, 1] / self.n
        self.p_zero = 1 - counts.sum(1) / self.n

    def _joint(self, lfs: Tuple[int, ...]) -> torch.Tensor:
        """Joint distribution of ``lfs`` with values (0 abstain, -1, +1) per axis."""
        return self.stats.group_joint(lfs).to(torch.float64) / self.n

    @staticmethod
    def _value_grid(n_axes: int, device) -> torch.Tensor:
        vals = torch.tensor([0.0, -1.0, 1.0], dtype=torch.float64, device=device)
        grid = torch.ones((3,) * n_axes, dtype=torch.float64, device=device)
        for ax in range(n_axes):
            shape = [1] * n_axes
            shape[ax] = 3
            grid = grid * vals.reshape(shape)
        return grid

    def moment(self, lfs: Tuple[int, ...]) -> torch.Tensor:
        """E[prod l_S] over all items."""
        if len(lfs) == 2:
            return self.moments[lfs[0], lfs[1]]
        joint = self._joint(lfs)
        return (joint * self._value_grid(len(lfs), joint.device)).sum()

    def moments_with(self, lfs: Tuple[int, ...]) -> torch.Tensor:
        """``(m,)`` E[l_S l_j] for every LF j (0 for j in S)."""
        if len(lfs) == 1:
            out = self.moments[lfs[0]].clone()
            out[lfs[0]] = 0
            return out
        vals = [self.moment(lfs + (j,)) if j not in lfs else torch.zeros((), dtype=torch.float64, device=self.n.device)
                for j in range(self.moments.shape[0])]
        return torch.stack(vals)

    def p_product_one(self, lfs, zeros) -> torch.Tensor:
        """P(prod l_S = 1 | l_Z = 0); 0 when the condition never holds."""
        group = tuple(lfs) + tuple(zeros)
        joint = self._joint(group)
        prod = self._value_grid(len(lfs), joint.device)
        sel = [slice(None)] * len(lfs) + [0] * len(zeros)
        cond = joint[tuple(sel)]
        num = (cond * (prod == 1)).sum()
        den = cond.sum() if zeros else torch.ones((), dtype=torch.float64, device=joint.device)
        return torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(num))

    def p_all_zero(self, zeros) -> torch.Tensor:
        """P(every LF of ``zeros`` abstains)."""
        joint = self._joint(tuple(zeros))
        return joint[(0,) * len(zeros)]

    def p_any_zero(self, lfs) -> torch.Tensor:
        """P(at least one LF of ``lfs`` abstains)."""
        return 1 - self._joint(tuple(lfs))[(slice(1, None),) * len(lfs)].sum()


@lru_cache(maxsize=None)
def _solve_constants(n_lfs: int, abstentions: bool, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    b_inv_t = torch.as_tensor(b_inverse(n_lfs, abstentions).T.copy(), dtype=torch.float64, device=device)
    return b_inv_t, torch.as_tensor(sorted_order(n_lfs, abstentions), device=device)


def solve_tables(r: torch.Tensor, n_lfs: int, abstentions: bool, flip_negative: bool, clamp: bool) -> torch.Tensor:
    """Solve ``B e = r`` for a batch of cliques ``r`` ``(batch, len(e))``; return
    the normalised tables ``(batch, len(e))`` in sorted order. ``flip_negative``
    takes ``|e|`` (upstream's default); else ``clamp`` lifts negatives to 1e-8."""
    b_inv_t, order = _solve_constants(n_lfs, abstentions, r.device)
    e = (r @ b_inv_t)[:, order]
    if flip_negative:
        e = e.abs()
    elif clamp:
        e = torch.where(e < 0, torch.full_like(e, 1e-8), e)
    total = e.sum(1, keepdim=True)
    return e / torch.where(total == 0, torch.ones_like(total), total)


def clique_table(
    c: Clique, q: Quantities, moments: Dict, p_y: torch.Tensor, abstentions: bool, flip_negative: bool, clamp: bool
) -> torch.Tensor:
    """The marginal table of a clique of 2+ dependent LFs and its task:
    ``(states,) * len(c.lfs) + (2,)``, read from the quantities ``q``, the
    triplet estimates ``moments`` (keyed ``(lfs, zeros, task)``) and ``p_y`` =
    P(Y_task = +1)."""
    task = c.tasks[0]
    r = []
    for kind, ones, y_in, zeros in r_symbols(len(c.lfs), abstentions):
        S = tuple(c.lfs[p] for p in ones)
        Z = tuple(c.lfs[p] for p in zeros)
        if kind == "one":
            r.append(torch.ones((), dtype=torch.float64, device=p_y.device))
        elif kind == "lf":
            r.append(q.p_product_one(S, Z))
        elif kind == "y":
            r.append((p_y if y_in else 1.0) * (q.p_all_zero(Z) if Z else 1.0))
        else:
            est = moments[(S, Z, task)]
            base = 0.5 * (1 + est - q.p_any_zero(S)) if abstentions else 0.5 * (1 + est)
            r.append(base * (q.p_all_zero(Z) if Z else 1.0))
    r_vec = torch.stack([torch.as_tensor(x, dtype=torch.float64, device=p_y.device) for x in r])[None]
    table = solve_tables(r_vec, len(c.lfs), abstentions, flip_negative, clamp)[0]
    return table.reshape((3 if abstentions else 2,) * len(c.lfs) + (2,))


def conditional_accuracies(
    clique_marginals: List[Tuple[Clique, torch.Tensor]],
    single_index: Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    m: int,
) -> torch.Tensor:
    """``(m,)`` P(l_i = Y | l_i votes) read from the fitted clique tables (so it
    always lies in [0, 1]); 0.5 for an LF that never votes."""
    device = clique_marginals[0][1].device if clique_marginals else None
    out = torch.full((m,), 0.5, dtype=torch.float64, device=device)
    if single_index is not None:
        lfs, _tasks, t = single_index  # (s, states, 2)
        right = t[:, 0, 0] + t[:, -1, 1]
        voted = t[:, 0].sum(-1) + t[:, -1].sum(-1)
        out[lfs] = torch.where(voted > 0, right / voted.clamp(min=TINY), out[lfs])
    for c, table in clique_marginals:
        if len(c.lfs) < 2:
            continue
        for pos, i in enumerate(c.lfs):
            drop = tuple(ax for ax in range(len(c.lfs)) if ax != pos)
            t = table.sum(dim=drop) if drop else table  # (states, 2)
            right = t[0, 0] + t[-1, 1]
            voted = t[0].sum() + t[-1].sum()
            out[i] = torch.where(voted > 0, right / voted.clamp(min=TINY), out[i])
    return out


def posterior_log_tables(
    graph: LabelGraph,
    clique_marginals: List[Tuple[Clique, torch.Tensor]],
    single_index: Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    class_balance: torch.Tensor,
    abstentions: bool,
) -> Tuple[torch.Tensor, List[Tuple[Tuple[int, ...], torch.Tensor]], torch.Tensor]:
    """The log terms of ``log P(votes, y)``: cliques' log marginals minus each
    separator's, once per junction-tree edge.

    Returns ``(single, multi, const)``: ``single`` ``(m, states, 2**v)`` the log
    marginal of each single-LF clique per LF state (-1, 0, +1, or -1, +1
    without abstentions) and label vector; ``multi`` a list of ``(lfs,
    (states**len(lfs), 2**v))`` tables of dependent LF cliques and LF
    separators (signed); ``const`` ``(2**v,)`` the task-only cliques and
    separators (for one task, ``-(m - 1) log P(y)``), and :data:`~weaksup._backend.IMPOSSIBLE`
    for a label vector whose class balance is 0.
    """
    m, v = graph.n_lfs, graph.n_tasks
    n_vec = 2 ** v
    device = class_balance.device
    configs = torch.tensor(list(itertools.product((0, 1), repeat=v)), device=device)  # (2**v, v) label bits
    n_states = 3 if abstentions else 2
    single = torch.zeros((m, n_states, n_vec), dtype=torch.float64, device=device)
    multi = []
    if single_index is not None:
        lfs, tasks, tables = single_index  # (s,), (s,), (s, states, 2)
        ycol = configs[:, tasks].T  # (s, 2**v): the label of each LF's task in each label vector
        log_t = tables.clamp(min=TINY).log()
        single[lfs] = torch.gather(log_t, 2, ycol[:, None, :].expand(-1, n_states, -1))
    for c, table in clique_marginals:
        if len(c.lfs) >= 2:
            multi.append((c.lfs, table.clamp(min=TINY).log().reshape(-1, 2)[:, configs[:, c.tasks[0]]]))
    const = torch.zeros(n_vec, dtype=torch.float64, device=device)
    cb = class_balance.reshape((2,) * v)
    for c in graph.cliques:
        if not c.lfs:
            const += _task_log_marginal(cb, c.tasks, configs)
    tables: Dict[Clique, torch.Tensor] = dict(clique_marginals)
    for sep, n_edges in graph.separator_edges.items():
        if not sep.lfs:
            const -= n_edges * _task_log_marginal(cb, sep.tasks, configs)
            continue
        # an LF separator: marginalise a clique that contains it
        host = next(c for c in graph.cliques if set(sep.lfs) <= set(c.lfs) and c.tasks == sep.tasks)
        drop = tuple(ax for ax, i in enumerate(host.lfs) if i not in sep.lfs)
        sep_table = tables[host].sum(dim=drop) if drop else tables[host]
        log_t = sep_table.clamp(min=TINY).log().reshape(-1, 2)[:, configs[:, sep.tasks[0]]]
        multi.append((sep.lfs, -n_edges * log_t))
    # a label vector the class balance rules out keeps probability 0 (its tables,
    # divided by a zero separator, would otherwise dominate)
    const = torch.where(class_balance.reshape(-1) > 0, const, torch.full_like(const, IMPOSSIBLE))
    return single, multi, const


def _task_log_marginal(cb: torch.Tensor, tasks: Tuple[int, ...], configs: torch.Tensor) -> torch.Tensor:
    """``(2**v,)`` log P(Y_tasks) of every label vector, from the balance ``cb`` ``(2,)*v``."""
    drop = tuple(t for t in range(cb.dim()) if t not in tasks)
    marg = cb.sum(dim=drop) if drop else cb
    return marg.clamp(min=TINY).log()[tuple(configs[:, t] for t in tasks)]
