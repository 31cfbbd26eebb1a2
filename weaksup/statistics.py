"""Sufficient statistics of a vote matrix: integer counts that add and subtract.

Everything a weaksup label model learns from is a sum over items, so fitting on
chunks, refitting from a ring buffer (add the new batch, subtract what falls
out) and all-reducing across data-parallel ranks are the same operation, exact
in integer counts, and a refit costs the same whatever the number of items.

Shapes use ``n`` items, ``m`` labeling functions (LFs), ``k`` classes. Votes are
*codes* (see :mod:`weaksup.conventions`): ``-1`` = abstain, ``0..k-1`` = class.
A *response* is one (LF, class) pair, numbered ``lf * k + class``.

Two layouts hold the same counts (see :class:`VoteStatistics`): *dense*, the
``(m, k, m, k)`` co-vote tensor, for few classes; *compact*, a dense table over
only the responses that occur, for many classes (``k = 1000`` LFs that each
vote a few classes use a few hundred of the ``m k`` responses, where the dense
tensor would need ``m^2 k^2`` counts). :func:`accumulate` picks the layout.

Counting is one integer matrix product of response indicators per chunk of
rows (see :mod:`weaksup._counting`).
"""

from __future__ import annotations

from typing import Dict, Iterable, NamedTuple, Optional, Sequence, Tuple

import torch

from ._counting import Group, add_group_tables, add_pairs, responses_in, to_codes

# accumulate() keeps the dense (m, k, m, k) layout up to this many counts.
DENSE_LIMIT = 1 << 22


class ResponseTable(NamedTuple):
    """Joint counts of the responses in use, abstentions included.

    Attributes:
        lf: ``(R,)`` int64 LF of each response, ascending.
        response: ``(R,)`` int64, ``0`` = abstain, ``c + 1`` = a vote for class
            ``c``; ascending within an LF.
        counts: ``(R, R)`` int64: ``counts[r, s]`` = items on which LF
            ``lf[r]`` gave ``response[r]`` and LF ``lf[s]`` gave
            ``response[s]``. Within one LF (an LF gives one response per item)
            the block is diagonal: the count of each response.
    """

    lf: torch.Tensor
    response: torch.Tensor
    counts: torch.Tensor


class VoteStatistics:
    """Counts over items of one vote matrix (or a union of matrices).

    Args / attributes:
        n_items: number of items counted, int64 scalar tensor.
        co_votes: dense layout, ``(m, k, m, k)`` int64: ``co_votes[i, a, j, b]``
            = number of items on which LF ``i`` voted ``a`` and LF ``j`` voted
            ``b``; its diagonal ``co_votes[i, a, i, a]`` is the number of ``a``
            votes of ``i``. For compact statistics reading ``co_votes`` builds
            that tensor (a new one, ``m^2 k^2`` counts); writing to it then
            changes nothing.
        group_tables: joint vote tables of small LF groups (needed by graphs with
            dependencies between LFs): ``group -> (k+1)**len(group)`` int64 counts,
            where each LF's state is ``code + 1`` (0 = abstain) and the first LF
            of the group is the most significant digit.
        pair_counts, responses, n_lfs, cardinality: the compact layout (instead
            of ``co_votes``): ``responses`` ``(R,)`` int64 ascending response
            numbers ``lf * k + class`` and ``pair_counts`` ``(R, R)`` int64,
            ``pair_counts[r, s]`` = items on which both responses occurred (the
            dense counts restricted to these responses). Every response that
            occurred is listed; a listed one may count zero (after a
            subtraction). Dense statistics are the case ``responses = 0..m k - 1``.

    ``a + b`` and ``a - b`` combine statistics of disjoint / nested item sets
    (compact ones over the union of their responses). Read the counts through
    :meth:`vote_counts`, :meth:`pair_block`, :meth:`response_table` and
    :meth:`group_joint`, which work on both layouts.
    """

    def __init__(
        self,
        n_items: torch.Tensor,
        co_votes: Optional[torch.Tensor] = None,
        group_tables: Optional[Dict[Group, torch.Tensor]] = None,
        *,
        pair_counts: Optional[torch.Tensor] = None,
        responses: Optional[torch.Tensor] = None,
        n_lfs: Optional[int] = None,
        cardinality: Optional[int] = None,
    ) -> None:
        self.n_items = n_items
        self.group_tables: Dict[Group, torch.Tensor] = dict(group_tables or {})
        if co_votes is not None:
            if co_votes.dim() != 4 or co_votes.shape[0] != co_votes.shape[2] or co_votes.shape[1] != co_votes.shape[3]:
                raise ValueError(f"co_votes must have shape (m, k, m, k), got {tuple(co_votes.shape)}")
            self._dense = co_votes
            self._m, self._k = int(co_votes.shape[0]), int(co_votes.shape[1])
            self.responses = None
            return
        if pair_counts is None or responses is None or n_lfs is None or cardinality is None:
            raise TypeError("VoteStatistics needs co_votes, or pair_counts, responses, n_lfs and cardinality")
        self._dense = None
        self._m, self._k = int(n_lfs), int(cardinality)
        self.responses = responses
        self.pair_counts = pair_counts

    # ---- construction -------------------------------------------------
    @classmethod
    def zeros(
        cls, n_lfs: int, cardinality: int, groups: Iterable[Group] = (), device=None, *, compact: bool = False
    ) -> "VoteStatistics":
        """Statistics of zero items (``compact``: with no response listed yet)."""
        tables = {
            tuple(g): torch.zeros((cardinality + 1) ** len(g), dtype=torch.int64, device=device) for g in groups
        }
        n = torch.zeros((), dtype=torch.int64, device=device)
        if compact:
            return cls(n, None, tables, pair_counts=torch.zeros((0, 0), dtype=torch.int64, device=device),
                       responses=torch.zeros(0, dtype=torch.int64, device=device),
                       n_lfs=n_lfs, cardinality=cardinality)
        co = torch.zeros((n_lfs, cardinality, n_lfs, cardinality), dtype=torch.int64, device=device)
        return cls(n, co, tables)

    # ---- shape and layout ---------------------------------------------------
    @property
    def n_lfs(self) -> int:
        return self._m

    @property
    def cardinality(self) -> int:
        return self._k

    @property
    def device(self) -> torch.device:
        return self.n_items.device

    @property
    def is_compact(self) -> bool:
        """True for the compact layout (``responses`` + ``pair_counts``)."""
        return self._dense is None

    @property
    def co_votes(self) -> torch.Tensor:
        """``(m, k, m, k)`` int64 co-vote counts (built from the compact layout)."""
        if self._dense is not None:
            return self._dense
        m, k = self._m, self._k
        if (m * k) ** 2 > 1 << 28:
            raise ValueError(
                f"dense co_votes of {m} LFs x {k} classes would hold {(m * k) ** 2:,} counts; "
                "read the compact statistics with response_table(), pair_block() or vote_counts()"
            )
        out = torch.zeros((m * k, m * k), dtype=torch.int64, device=self.device)
        r = self.responses
        out[r[:, None], r[None, :]] = self.pair_counts
        return out.reshape(m, k, m, k)

    @co_votes.setter
    def co_votes(self, value: torch.Tensor) -> None:
        m, k = self._m, self._k
        if tuple(value.shape) != (m, k, m, k):
            raise ValueError(f"co_votes must have shape {(m, k, m, k)}, got {tuple(value.shape)}")
        self._dense, self.responses = value, None
        self.__dict__.pop("pair_counts", None)

    def _flat(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """(responses (R,), counts (R, R)) of either layout (dense: all ``m k``, a view)."""
        if self._dense is not None:
            mk = self._m * self._k
            return torch.arange(mk, device=self.device), self._dense.reshape(mk, mk)
        return self.responses, self.pair_counts

    def to_compact(self, drop_unused: bool = True) -> "VoteStatistics":
        """The same counts in the compact layout (a copy), listing only the
        responses that count at least one vote when ``drop_unused``."""
        r, counts = self._flat()
        if drop_unused:
            keep = counts.diagonal() != 0
            r, counts = r[keep], counts[keep][:, keep]
        return VoteStatistics(self.n_items.clone(), None, _copy_tables(self.group_tables),
                              pair_counts=counts.clone(), responses=r.clone(), n_lfs=self._m, cardinality=self._k)

    def to_dense(self) -> "VoteStatistics":
        """The same counts in the dense layout (a copy)."""
        return VoteStatistics(self.n_items.clone(), self.co_votes.clone(), _copy_tables(self.group_tables))

    # ---- algebra --------------------------------------------------------
    def _combine(self, other: "VoteStatistics", sign: int) -> "VoteStatistics":
        if not isinstance(other, VoteStatistics):
            return NotImplemented
        if (other.n_lfs, other.cardinality) != (self.n_lfs, self.cardinality):
            raise ValueError(
                f"cannot combine statistics of {self.n_lfs} LFs x {self.cardinality} classes "
                f"with statistics of {other.n_lfs} LFs x {other.cardinality} classes"
            )
        if set(other.group_tables) != set(self.group_tables):
            raise ValueError("cannot combine statistics that track different LF groups")
        n = self.n_items + sign * other.n_items.to(self.device)
        tables = {g: t + sign * other.group_tables[g].to(t.device) for g, t in self.group_tables.items()}
        if not self.is_compact and not other.is_compact:
            return VoteStatistics(n, self._dense + sign * other._dense.to(self.device), tables)
        ra, ca = self._flat()
        rb, cb = other._flat()
        rb, cb = rb.to(self.device), cb.to(self.device)
        union = torch.unique(torch.cat([ra, rb]))  # sorted
        out = torch.zeros((len(union), len(union)), dtype=torch.int64, device=self.device)
        ia, ib = torch.searchsorted(union, ra), torch.searchsorted(union, rb)
        out[ia[:, None], ia[None, :]] += ca
        out[ib[:, None], ib[None, :]] += sign * cb
        return VoteStatistics(n, None, tables, pair_counts=out, responses=union,
                              n_lfs=self._m, cardinality=self._k)

    def __add__(self, other: "VoteStatistics") -> "VoteStatistics":
        return self._combine(other, +1)

    def __sub__(self, other: "VoteStatistics") -> "VoteStatistics":
        return self._combine(other, -1)

    def to(self, device) -> "VoteStatistics":
        tables = {g: t.to(device) for g, t in self.group_tables.items()}
        if self._dense is not None:
            return VoteStatistics(self.n_items.to(device), self._dense.to(device), tables)
        return VoteStatistics(self.n_items.to(device), None, tables, pair_counts=self.pair_counts.to(device),
                              responses=self.responses.to(device), n_lfs=self._m, cardinality=self._k)

    def clone(self) -> "VoteStatistics":
        """A copy that shares no storage."""
        if self._dense is not None:
            return VoteStatistics(self.n_items.clone(), self._dense.clone(), _copy_tables(self.group_tables))
        return VoteStatistics(self.n_items.clone(), None, _copy_tables(self.group_tables),
                              pair_counts=self.pair_counts.clone(), responses=self.responses.clone(),
                              n_lfs=self._m, cardinality=self._k)

    def tensors(self) -> Dict[str, torch.Tensor]:
        """Flat name -> tensor view of every count (for state dicts and all-reduce).
        Dense: ``n_items``, ``co_votes``, ``group_...``; compact: ``responses`` and
        ``pair_counts`` instead of ``co_votes``."""
        out = {"n_items": self.n_items}
        if self._dense is not None:
            out["co_votes"] = self._dense
        else:
            out["responses"] = self.responses
            out["pair_counts"] = self.pair_counts
        for g, t in self.group_tables.items():
            out["group_" + "_".join(map(str, g))] = t
        return out

    def equal(self, other: "VoteStatistics") -> bool:
        """Exactly the same counts (whatever the layouts)."""
        if (self.n_lfs, self.cardinality) != (other.n_lfs, other.cardinality):
            return False
        if set(self.group_tables) != set(other.group_tables) or not torch.equal(
            self.n_items, other.n_items.to(self.device)
        ):
            return False
        if any(not torch.equal(t, other.group_tables[g].to(t.device)) for g, t in self.group_tables.items()):
            return False
        if not self.is_compact and not other.is_compact:
            return torch.equal(self._dense, other._dense.to(self.device))
        diff = self - other
        return not bool(diff._flat()[1].any())

    def __repr__(self) -> str:
        layout = f"compact, {len(self.responses)} responses" if self.is_compact else "dense"
        return (f"VoteStatistics(n_items={int(self.n_items)}, n_lfs={self._m}, cardinality={self._k}, "
                f"{layout}, groups={list(self.group_tables)})")

    # ---- derived quantities ---------------------------------------------
    def vote_counts(self) -> torch.Tensor:
        """``(m, k)`` int64: number of items on which LF ``i`` voted class ``a``."""
        m, k = self._m, self._k
        if self._dense is not None:
            return self._dense.reshape(m * k, m * k).diagonal().reshape(m, k)
        out = torch.zeros(m * k, dtype=torch.int64, device=self.device)
        out[self.responses] = self.pair_counts.diagonal()
        return out.reshape(m, k)

    def coverage_counts(self) -> torch.Tensor:
        """``(m,)``: number of items on which each LF voted."""
        return self.vote_counts().sum(1)

    def co_coverage_counts(self) -> torch.Tensor:
        """``(m, m)``: number of items on which both LFs voted."""
        if self._dense is not None:
            return self._dense.sum(dim=(1, 3))
        lf = self.responses // self._k
        out = torch.zeros((self._m, self._m), dtype=torch.int64, device=self.device)
        return out.index_put_((lf[:, None].expand_as(self.pair_counts), lf[None, :].expand_as(self.pair_counts)),
                              self.pair_counts, accumulate=True)

    def pair_block(self, i: int, j: int) -> torch.Tensor:
        """``(k, k)`` int64 ``co_votes[i, :, j, :]`` of either layout."""
        if self._dense is not None:
            return self._dense[i, :, j, :]
        k = self._k
        lf, cls = self.responses // k, self.responses % k
        ri, rj = (lf == i).nonzero().squeeze(1), (lf == j).nonzero().squeeze(1)
        out = torch.zeros((k, k), dtype=torch.int64, device=self.device)
        out[cls[ri][:, None], cls[rj][None, :]] = self.pair_counts[ri][:, rj]
        return out

    def binary_moments(self) -> torch.Tensor:
        """``(m, m)`` float64 ``E[l_i l_j]`` over all items for binary votes read
        as -1/+1 with abstain = 0 (FlyingSquid's second-moment matrix)."""
        if self.cardinality != 2:
            raise ValueError("binary_moments needs binary statistics (cardinality 2)")
        c = self.co_votes.to(torch.float64)
        agree = c[:, 0, :, 0] + c[:, 1, :, 1]
        disagree = c[:, 0, :, 1] + c[:, 1, :, 0]
        return (agree - disagree) / self.n_items.to(torch.float64)

    def response_table(self, drop_unused: bool = True) -> ResponseTable:
        """Joint counts of every pair of responses, abstentions included (what a
        class-conditional solver reads): see :class:`ResponseTable`.

        Lists the abstain response of every LF and its voted responses; with
        ``drop_unused`` only those given at least once (reads counts back to
        the host on an accelerator). Size ``R <= m (k + 1)``: a few hundred for
        LFs that each vote a few classes, whatever ``k``.
        """
        m, k = self._m, self._k
        r, counts = self._flat()
        votes = counts.diagonal()
        if drop_unused:
            keep = votes != 0
            r, counts, votes = r[keep], counts[keep][:, keep], votes[keep]
        lf_v = r // k
        # items on which LF i abstained while response s occurred, and both abstained
        per_lf = torch.zeros((m, len(r)), dtype=torch.int64, device=self.device).index_add_(0, lf_v, counts)
        covered = torch.zeros(m, dtype=torch.int64, device=self.device).index_add_(0, lf_v, votes)
        co_cov = torch.zeros((m, m), dtype=torch.int64, device=self.device).index_add_(0, lf_v, per_lf.T.contiguous())
        abst_vote = votes[None, :] - per_lf  # (m, R): LF i abstains, response s occurs
        abst_abst = self.n_items - covered[:, None] - covered[None, :] + co_cov  # (m, m)
        lfs = torch.arange(m, device=self.device)
        eye = lfs[:, None] == lfs[None, :]
        abst_abst = torch.where(eye, (self.n_items - covered).diag(), torch.where(eye, 0, abst_abst))
        abst_vote = torch.where(lfs[:, None] == lf_v[None, :], 0, abst_vote)
        keep_a = (self.n_items - covered) != 0 if drop_unused else torch.ones(m, dtype=torch.bool, device=self.device)
        big = torch.cat([torch.cat([abst_abst, abst_vote], 1), torch.cat([abst_vote.T, counts], 1)], 0)
        lf_all = torch.cat([lfs, lf_v])
        resp_all = torch.cat([torch.zeros(m, dtype=torch.int64, device=self.device), r % k + 1])
        keep = torch.cat([keep_a, torch.ones(len(r), dtype=torch.bool, device=self.device)])
        order = (lf_all * (k + 1) + resp_all)[keep].argsort()
        sel = keep.nonzero().squeeze(1)[order]
        return ResponseTable(lf_all[sel], resp_all[sel], big[sel][:, sel])

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
            table[1:, 1:] = self.pair_block(i, j)
            votes = self.vote_counts()
            vi, vj = votes[i], votes[j]
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


def _copy_tables(tables: Dict[Group, torch.Tensor]) -> Dict[Group, torch.Tensor]:
    return {g: t.clone() for g, t in tables.items()}


def accumulate(
    codes: torch.Tensor,
    cardinality: int,
    groups: Iterable[Group] = (),
    *,
    compact: Optional[bool] = None,
    class_values: Optional[Sequence[int]] = None,
) -> VoteStatistics:
    """Count the statistics of a validated code matrix.

    Args:
        codes: ``(n, m)`` integer tensor (int8 is fastest), ``-1`` = abstain,
            ``0..k-1`` = class. Not validated here.
        cardinality: ``k``.
        groups: LF groups whose joint tables to count (see ``VoteStatistics``).
        compact: layout of the result; ``None`` (default) picks the dense one
            when ``(m k)^2 <= DENSE_LIMIT`` and the compact one beyond.
        class_values: optional ``k`` integers: ``codes`` then holds raw votes,
            ``class_values[c]`` meaning class ``c`` and any other value an
            abstention (FlyingSquid votes: ``(-1, 1)``), which saves converting
            them to codes first.

    Returns:
        ``VoteStatistics`` on ``codes``' device: one pass over the rows, one
        indicator product per chunk and one ``index_add`` per group.
    """
    n, m = codes.shape
    k = int(cardinality)
    groups = [tuple(int(i) for i in g) for g in groups]
    if compact is None:
        compact = (m * k) ** 2 > DENSE_LIMIT
    stats = VoteStatistics.zeros(m, k, groups, device=codes.device, compact=compact)
    if compact:
        if class_values is not None:
            codes, class_values = to_codes(codes, class_values), None
        responses = responses_in(codes, k)
        stats.responses = responses
        stats.pair_counts = torch.zeros((len(responses), len(responses)), dtype=torch.int64, device=codes.device)
    count_update(stats, codes, None, class_values=class_values)
    return stats


def count_update(
    stats: VoteStatistics,
    added_codes: torch.Tensor,
    removed_codes: Optional[torch.Tensor],
    *,
    class_values: Optional[Sequence[int]] = None,
) -> None:
    """Add the counts of ``added_codes`` to ``stats`` and subtract those of
    ``removed_codes``, in place (exact integer counts): what a ring buffer of
    votes does when a batch comes in and the oldest items fall out.

    Args:
        stats: dense or compact :class:`VoteStatistics`; its tensors are
            updated in place (a dense ``co_votes`` that is a module buffer
            stays that buffer). A compact one gains the new responses of
            ``added_codes`` (its ``responses`` / ``pair_counts`` are replaced).
        added_codes: ``(n_add, m)`` validated codes (any integer dtype, ``-1`` =
            abstain), on ``stats``' device.
        removed_codes: ``(n_rem, m)`` codes of items counted before, or ``None``.
        class_values: raw votes instead of codes, as in :func:`accumulate`.

    Afterwards ``stats`` equals ``accumulate`` of the items it held plus the
    added minus the removed ones. One signed indicator product (and one
    ``index_add`` per tracked group) for the whole update, no host sync for
    dense statistics.
    """
    m, k = stats.n_lfs, stats.cardinality
    if added_codes.dim() != 2 or added_codes.shape[1] != m:
        raise ValueError(f"added_codes must have shape (n, {m}), got {tuple(added_codes.shape)}")
    n_add = added_codes.shape[0]
    codes = added_codes
    if removed_codes is not None and removed_codes.shape[0]:
        if removed_codes.dim() != 2 or removed_codes.shape[1] != m:
            raise ValueError(f"removed_codes must have shape (n, {m}), got {tuple(removed_codes.shape)}")
        codes = torch.cat([added_codes, removed_codes.to(added_codes.dtype)])
    values = list(range(k)) if class_values is None else [int(v) for v in class_values]
    if len(values) != k:
        raise ValueError(f"class_values must have {k} entries (one per class), got {len(values)}")
    if stats.is_compact:
        if class_values is not None:
            codes, values = to_codes(codes, values), list(range(k))
        new = responses_in(codes, k)
        missing = new[~torch.isin(new, stats.responses)]
        if len(missing):
            grown = stats + VoteStatistics(
                torch.zeros((), dtype=torch.int64, device=stats.device), None,
                {g: torch.zeros_like(t) for g, t in stats.group_tables.items()},
                pair_counts=torch.zeros((len(missing), len(missing)), dtype=torch.int64, device=stats.device),
                responses=missing, n_lfs=m, cardinality=k)
            stats.responses, stats.pair_counts = grown.responses, grown.pair_counts
        add_pairs(stats.pair_counts, codes, n_add, values, stats.responses)
    else:
        add_pairs(stats.co_votes, codes, n_add, values, None)
    stats.n_items.add_(n_add - (codes.shape[0] - n_add))
    add_group_tables(stats.group_tables, codes, n_add, values)
