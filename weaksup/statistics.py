"""Sufficient statistics of a vote matrix: integer counts that add and subtract.

Everything a weaksup label model learns from is a sum over items, so fitting on
chunks, refitting from a ring buffer (add the new batch, subtract what falls
out) and all-reducing across data-parallel ranks are the same operation, exact
in integer counts, and a refit costs O(m^2 k^2) whatever the number of items.

Shapes use ``n`` items, ``m`` labeling functions (LFs), ``k`` classes. Votes are
*codes* (see :mod:`weaksup.conventions`): ``-1`` = abstain, ``0..k-1`` = class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, Tuple

import torch

Group = Tuple[int, ...]

# Rows per chunk of the one-hot product. float32 sums of 0/1 products are exact
# up to 2**24, far above this, and the chunk bounds the temporary memory.
_CHUNK_ROWS = 1 << 16


@dataclass
class VoteStatistics:
    """Counts over items of one vote matrix (or a union of matrices).

    Attributes:
        n_items: number of items counted, int64 scalar tensor.
        co_votes: ``(m, k, m, k)`` int64: ``co_votes[i, a, j, b]`` = number of
            items on which LF ``i`` voted ``a`` and LF ``j`` voted ``b``. Its
            diagonal ``co_votes[i, a, i, a]`` is the number of ``a`` votes of ``i``.
        group_tables: joint vote tables of small LF groups (needed by graphs with
            dependencies between LFs): ``group -> (k+1)**len(group)`` int64 counts,
            where each LF's state is ``code + 1`` (0 = abstain) and the first LF
            of the group is the most significant digit.

    ``a + b`` and ``a - b`` combine statistics of disjoint / nested item sets.
    """

    n_items: torch.Tensor
    co_votes: torch.Tensor
    group_tables: Dict[Group, torch.Tensor] = field(default_factory=dict)

    # ---- construction -------------------------------------------------
    @classmethod
    def zeros(
        cls, n_lfs: int, cardinality: int, groups: Iterable[Group] = (), device=None
    ) -> "VoteStatistics":
        """Statistics of zero items."""
        return cls(
            n_items=torch.zeros((), dtype=torch.int64, device=device),
            co_votes=torch.zeros(
                (n_lfs, cardinality, n_lfs, cardinality), dtype=torch.int64, device=device
            ),
            group_tables={
                tuple(g): torch.zeros((cardinality + 1) ** len(g), dtype=torch.int64, device=device)
                for g in groups
            },
        )

    # ---- shape ----------------------------------------------------------
    @property
    def n_lfs(self) -> int:
        return self.co_votes.shape[0]

    @property
    def cardinality(self) -> int:
        return self.co_votes.shape[1]

    @property
    def device(self) -> torch.device:
        return self.co_votes.device

    # ---- algebra --------------------------------------------------------
    def _combine(self, other: "VoteStatistics", sign: int) -> "VoteStatistics":
        if not isinstance(other, VoteStatistics):
            return NotImplemented
        if other.co_votes.shape != self.co_votes.shape:
            raise ValueError(
                f"cannot combine statistics of {self.n_lfs} LFs x {self.cardinality} classes "
                f"with statistics of {other.n_lfs} LFs x {other.cardinality} classes"
            )
        if set(other.group_tables) != set(self.group_tables):
            raise ValueError("cannot combine statistics that track different LF groups")
        return VoteStatistics(
            n_items=self.n_items + sign * other.n_items,
            co_votes=self.co_votes + sign * other.co_votes,
            group_tables={g: t + sign * other.group_tables[g] for g, t in self.group_tables.items()},
        )

    def __add__(self, other: "VoteStatistics") -> "VoteStatistics":
        return self._combine(other, +1)

    def __sub__(self, other: "VoteStatistics") -> "VoteStatistics":
        return self._combine(other, -1)

    def to(self, device) -> "VoteStatistics":
        return VoteStatistics(
            self.n_items.to(device),
            self.co_votes.to(device),
            {g: t.to(device) for g, t in self.group_tables.items()},
        )

    def tensors(self) -> Dict[str, torch.Tensor]:
        """Flat name -> tensor view of every count (for state dicts and all-reduce)."""
        out = {"n_items": self.n_items, "co_votes": self.co_votes}
        for g, t in self.group_tables.items():
            out["group_" + "_".join(map(str, g))] = t
        return out

    def equal(self, other: "VoteStatistics") -> bool:
        a, b = self.tensors(), other.tensors()
        return a.keys() == b.keys() and all(torch.equal(a[key], b[key].to(a[key].device)) for key in a)

    # ---- derived quantities (float64) -----------------------------------
    def vote_counts(self) -> torch.Tensor:
        """``(m, k)``: number of items on which LF ``i`` voted class ``a``."""
        m, k = self.n_lfs, self.cardinality
        idx_m = torch.arange(m, device=self.device)
        idx_k = torch.arange(k, device=self.device)
        return self.co_votes[idx_m[:, None], idx_k[None, :], idx_m[:, None], idx_k[None, :]]

    def coverage_counts(self) -> torch.Tensor:
        """``(m,)``: number of items on which each LF voted."""
        return self.vote_counts().sum(1)

    def co_coverage_counts(self) -> torch.Tensor:
        """``(m, m)``: number of items on which both LFs voted."""
        return self.co_votes.sum(dim=(1, 3))

    def binary_moments(self) -> torch.Tensor:
        """``(m, m)`` float64 ``E[l_i l_j]`` over all items for binary votes read
        as -1/+1 with abstain = 0 (FlyingSquid's second-moment matrix)."""
        if self.cardinality != 2:
            raise ValueError("binary_moments needs binary statistics (cardinality 2)")
        c = self.co_votes.to(torch.float64)
        agree = c[:, 0, :, 0] + c[:, 1, :, 1]
        disagree = c[:, 0, :, 1] + c[:, 1, :, 0]
        return (agree - disagree) / self.n_items.to(torch.float64)

    def group_joint(self, group: Group) -> torch.Tensor:
        """Joint count table of LF ``group`` (any order), shape ``(k+1,)*len(group)``,
        states ``code + 1`` (0 = abstain). Read from the pairwise counts for one
        or two LFs, else from a tracked group table (marginalised if needed)."""
        group = tuple(int(g) for g in group)
        k1 = self.cardinality + 1
        if len(group) == 1:
            (i,) = group
            counts = self.vote_counts()[i]
            return torch.cat([(self.n_items - counts.sum()).reshape(1), counts])
        if len(group) == 2 and group[0] != group[1]:
            i, j = group
            table = torch.zeros((k1, k1), dtype=torch.int64, device=self.device)
            table[1:, 1:] = self.co_votes[i, :, j, :]
            vi, vj = self.vote_counts()[i], self.vote_counts()[j]
            table[1:, 0] = vi - table[1:, 1:].sum(1)
            table[0, 1:] = vj - table[1:, 1:].sum(0)
            table[0, 0] = self.n_items - vi.sum() - vj.sum() + table[1:, 1:].sum()
            return table
        for tracked, flat in self.group_tables.items():
            if set(group) <= set(tracked):
                table = flat.reshape((k1,) * len(tracked))
                drop = tuple(ax for ax, g in enumerate(tracked) if g not in group)
                if drop:
                    table = table.sum(dim=drop)
                kept = [g for g in tracked if g in group]
                return table.permute([kept.index(g) for g in group])
        raise KeyError(f"LF group {group} is not tracked by these statistics")


def accumulate(
    codes: torch.Tensor, cardinality: int, groups: Iterable[Group] = ()
) -> VoteStatistics:
    """Count the statistics of a validated code matrix.

    Args:
        codes: ``(n, m)`` integer tensor, ``-1`` = abstain, ``0..k-1`` = class.
        cardinality: ``k``.
        groups: LF groups whose joint tables to count (see ``VoteStatistics``).

    Returns:
        ``VoteStatistics`` on ``codes``' device. One vectorised pass: a one-hot
        product per chunk of rows and one ``bincount`` per group.
    """
    n, m = codes.shape
    k = cardinality
    device = codes.device
    # float64 on accelerators keeps the product exact for any chunk; float32 on the CPU is exact here too.
    dtype = torch.float32 if device.type == "cpu" else torch.float64
    co_votes = torch.zeros((k, m, k, m), dtype=torch.int64, device=device)
    for start in range(0, n, _CHUNK_ROWS):
        chunk = codes[start : start + _CHUNK_ROWS]
        onehot = [(chunk == a).to(dtype) for a in range(k)]  # k x (rows, m)
        # co-votes are symmetric: count the blocks a <= b, mirror the rest
        for a in range(k):
            for b in range(a, k):
                block = (onehot[a].T @ onehot[b]).round_().to(torch.int64)
                co_votes[a, :, b] += block
                if b != a:
                    co_votes[b, :, a] += block.T
    tables = {}
    for g in groups:
        g = tuple(int(i) for i in g)
        state = torch.zeros(n, dtype=torch.int64, device=device)
        for i in g:
            state = state * (k + 1) + (codes[:, i].to(torch.int64) + 1)
        tables[g] = torch.bincount(state, minlength=(k + 1) ** len(g))
    return VoteStatistics(
        n_items=torch.tensor(n, dtype=torch.int64, device=device),
        co_votes=co_votes.permute(1, 0, 3, 2).contiguous(),
        group_tables=tables,
    )
