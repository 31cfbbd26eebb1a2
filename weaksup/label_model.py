"""``weaksup.LabelModel``: a drop-in for ``flyingsquid.label_model.LabelModel``.

Same constructor, same methods, same outputs, with these differences (each one
a bug upstream, each one tested):

* **The class prior is applied once.** Upstream divides the product of clique
  marginals by ``P(y)^(d-1)`` where ``d`` counts junction-tree edges, which
  multiplies the prior in twice; weaksup divides each separator once per edge
  (the junction-tree factorisation), so an all-abstain row gets exactly the
  class balance. With a uniform balance both give the same posteriors.
* **Zero denominators are left out of the triplet average** instead of
  entering it as 0 (an always-abstaining LF no longer drags the others down).
* ``Y_dev`` may be 1-D; graphs the triplet method cannot solve are refused at
  construction with the reason; refitting with another ``solve_method`` works;
  probabilities are never NaN; ``allow_abstentions=False`` fits and reports
  accuracies.
* Fitting reads only additive :class:`~weaksup.statistics.VoteStatistics`, so
  ``partial_fit`` over chunks equals one ``fit``, and everything is vectorised
  (no per-row Python loop) on numpy, torch (CPU/CUDA) and cupy inputs, with
  results returned in the input's kind and device.

Conventions (FlyingSquid's): votes in {-1, 0, +1}, ``0`` = abstain; gold labels
-1/+1; the ``2**v`` label vectors of ``v`` tasks are ordered lexicographically
(entry 0 is all -1, the last is all +1).
"""

from __future__ import annotations

import itertools
import random
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ._backend import ArrayLike, as_tensor, small_cpu_work
from .conventions import check_labels, check_votes
from .graph import Clique, LabelGraph
from .statistics import VoteStatistics, accumulate
from .triplets import DENOMINATOR_EPS, aggregate, all_pairs_accuracies

SOLVE_METHODS = ("triplet_mean", "triplet_median", "triplet", "pairwise_em")
_TINY = 1e-300  # floor before log: probabilities are never NaN
_MAX_TASKS = 16  # posterior enumerates 2**v label vectors
_PREDICT_CHUNK_ELEMENTS = 1 << 22  # votes per chunk of the posterior GEMMs


class NotFittedError(RuntimeError):
    """Raised when a model is used before ``fit``."""


# ---------------------------------------------------------------------------
# Upstream's linear system B e = r for one clique (ported exactly: the order
# of the e and r vectors defines the marginal tables).
# ---------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _e_vector(n_lfs: int, abstentions: bool) -> Tuple[Tuple[int, ...], ...]:
    """Assignments (lf values..., y) of a clique's marginal, in upstream's order."""
    e = [[1], [-1]]
    for _ in range(n_lfs):
        if abstentions:
            e = [[v] + x for x in e for v in (1, 0, -1)]
        else:
            e = [x + [v] for v in (1, -1) for x in e]
    return tuple(tuple(x) for x in e)


@lru_cache(maxsize=None)
def _b_inverse(n_lfs: int, abstentions: bool) -> np.ndarray:
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
def _r_symbols(n_lfs: int, abstentions: bool) -> Tuple[Tuple, ...]:
    """What each entry of r is, for a clique of ``n_lfs`` LFs (positions 0..c-1)
    and its task. Each symbol is ``(kind, lf_positions_equal_one, y_in,
    lf_positions_zero)``:

    * ``one``: 1
    * ``estimated``: P(l_S * y = 1, l_Z = 0), from the triplet estimate
    * ``lf``: P(prod l_S = 1 | l_Z = 0) (upstream uses this conditional form)
    * ``y``: P(y = 1) * P(l_Z = 0) (or P(l_Z = 0), or P(y = 1))
    """
    symbols = []
    for e in _e_vector(n_lfs, abstentions):
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
def _sorted_order(n_lfs: int, abstentions: bool) -> np.ndarray:
    """Permutation from e-vector order to the table order (sorted tuples)."""
    e = _e_vector(n_lfs, abstentions)
    return np.array(sorted(range(len(e)), key=lambda i: e[i]))


def _expectation_key(lfs: Sequence[int], task: int, zeros: Sequence[int], abstentions: bool):
    """Upstream's dictionary key for an expectation (used for ordering and for
    the ``expectation_values`` view)."""
    names = tuple(sorted(f"lambda_{i}" for i in lfs)) + (f"Y_{task}",)
    if not abstentions:
        return names
    cond = tuple(sorted(f"lambda_{i}" for i in zeros)) if zeros else ("0",)
    return (names, cond)


class LabelModel:
    """FlyingSquid's triplet label model over binary tasks.

    Args:
        m: number of labeling functions (at least 3).
        v: number of tasks (e.g. frames of a sequence). Default: 1.
        y_edges: ``(t, u)`` pairs: dependencies between tasks.
        lambda_y_edges: ``(i, t)`` pairs: LF ``i`` votes on task ``t``. Default:
            every LF on task 0.
        lambda_edges: ``(i, j)`` pairs: dependent LFs.
        allow_abstentions: votes may be 0 (abstain). Default: True.
        triplets: fixed triplets for ``solve_method='triplet'``: ``(i, j, k)``
            LF index triples, or upstream's expectation-key format.
        triplet_seed: seed of the shuffles upstream uses to pick triplets
            (``None``: no shuffle). Default: 0.

    Attributes (after ``fit``):
        class_balance_: ``(2**v,)`` probabilities of the label vectors.
        accuracy_moments_: ``(m,)`` ``E[l_i Y]`` (abstain = 0).
        accuracies_: ``(m,)`` ``P(l_i = Y | l_i votes)``.
        coverage_: ``(m,)`` fraction of items each LF votes on.
        clique_marginals_: list of ``(Clique, table)``; a table is indexed
            ``[lf values (-1, 0, +1) of clique.lfs in order..., y (-1, +1)]``.
        statistics_: the :class:`VoteStatistics` the model was fitted on.

    Shape:
        - ``L``: ``(n, m)`` votes in {-1, 0, +1}.
        - ``predict_proba(L)``: ``(n, 2**v)``.
        - ``predict_proba_marginalized(L)``: ``(n,)`` = P(Y = +1) for ``v = 1``,
          ``(n * v,)`` (row-major over items, then tasks) for ``v > 1``.
        - ``predict(L)``: ``(n, v)`` labels in {-1, +1}.

    Degenerate input (documented, tested behaviour):
        - an LF that never votes gets ``accuracy_moments_ = 0`` and
          ``accuracies_ = 0.5`` and leaves every other estimate unchanged;
        - an LF without any valid triplet (its partners never vote together)
          gets ``accuracy_moments_ = 0``: it carries no weight in the posterior;
        - a matrix on which every LF abstains fits, and every row's posterior
          is the class balance;
        - an empty matrix, a wrong number of columns, votes outside {-1, 0, +1},
          NaN or fractional votes, and ``m < 3`` raise ``ValueError``.

    Example:
        >>> import numpy as np
        >>> from weaksup import LabelModel
        >>> L = np.array([[1, 1, -1], [1, 1, 1], [-1, -1, 0], [1, 0, 1], [-1, -1, -1]])
        >>> model = LabelModel(3).fit(L)
        >>> model.predict_proba(L).shape
        (5, 2)
    """

    convention = "flyingsquid"

    def __init__(
        self,
        m: int,
        v: int = 1,
        y_edges: Sequence[Tuple[int, int]] = [],
        lambda_y_edges: Sequence[Tuple[int, int]] = [],
        lambda_edges: Sequence[Tuple[int, int]] = [],
        allow_abstentions: bool = True,
        triplets: Optional[Sequence] = None,
        triplet_seed: Optional[int] = 0,
    ) -> None:
        self.m = m
        self.v = v
        self.y_edges = list(y_edges)
        self.lambda_y_edges = list(lambda_y_edges)
        self.lambda_edges = list(lambda_edges)
        self.allow_abstentions = bool(allow_abstentions)
        self.triplets = triplets
        self.triplet_seed = triplet_seed
        if v > _MAX_TASKS:
            raise ValueError(f"v = {v} tasks: the posterior enumerates 2**v label vectors; at most {_MAX_TASKS} are supported")
        self.graph = LabelGraph(m, v, self.y_edges, self.lambda_y_edges, self.lambda_edges)
        # upstream shuffles the sorted node names once at construction
        self._nodes = sorted([f"lambda_{i}" for i in range(m)] + [f"Y_{t}" for t in range(v)])
        self._rng_state = None
        if triplet_seed is not None:
            rng = random.Random(triplet_seed)
            rng.shuffle(self._nodes)
            self._rng_state = rng.getstate()
        self._fit_options: Dict[str, Any] = {}

    def __repr__(self) -> str:
        extra = "".join(
            f", {name}={getattr(self, name)!r}"
            for name in ("v", "y_edges", "lambda_y_edges", "lambda_edges")
            if getattr(self, name) not in (1, [])
        )
        return f"LabelModel(m={self.m}{extra})"

    # ------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------
    def fit(
        self,
        L_train: ArrayLike,
        class_balance: Optional[ArrayLike] = None,
        Y_dev: Optional[ArrayLike] = None,
        flip_negative: bool = True,
        clamp: bool = True,
        solve_method: str = "triplet_mean",
        sign_recovery: str = "all_positive",
        verbose: bool = False,
    ) -> "LabelModel":
        """Estimate every clique marginal from the votes ``L_train`` ``(n, m)``.

        ``class_balance`` (``2**v`` probabilities of the label vectors) wins over
        ``Y_dev`` (gold labels -1/+1, shape ``(n_dev,)`` or ``(n_dev, v)``, used
        only to count the class balance); with neither, the balance is uniform.

        ``solve_method``: upstream's ``'triplet_mean'`` (default, FlyingSquid's
        estimates exactly), ``'triplet_median'``, ``'triplet'`` (one greedy
        triplet per LF), or weaksup's ``'pairwise_em'``: class-conditional LF
        parameters by EM on the pairwise vote tables, which handles one-sided
        and worse-than-random LFs and wins on real data (see
        ``benchmarks/harness.py``); one task with independent LFs only.
        Returns ``self``.
        """
        stats = self.accumulate(L_train)
        return self.fit_statistics(
            stats, class_balance=class_balance, Y_dev=Y_dev, flip_negative=flip_negative,
            clamp=clamp, solve_method=solve_method, sign_recovery=sign_recovery,
        )

    def partial_fit(self, L_batch: ArrayLike, **fit_options: Any) -> "LabelModel":
        """Add the statistics of ``L_batch`` to those seen so far and refit.

        ``partial_fit`` over any chunking of the rows gives exactly the model of
        one ``fit`` on all of them. Fit options (``class_balance``, ``Y_dev``,
        ``solve_method``, ...) given here replace the ones remembered.
        """
        stats = self.accumulate(L_batch)
        if getattr(self, "statistics_", None) is not None:
            stats = self.statistics_.to(stats.device) + stats
        options = {**self._fit_options, **fit_options}
        return self.fit_statistics(stats, **options)

    def accumulate(self, L: ArrayLike) -> VoteStatistics:
        """Validate votes ``(n, m)`` and count their :class:`VoteStatistics`."""
        codes = check_votes(L, convention="flyingsquid", n_lfs=self.m, name="L_train", compact=True)
        if not self.allow_abstentions and bool((codes < 0).any()):
            raise ValueError(
                "L_train contains abstentions (0) but the model was built with "
                "allow_abstentions=False"
            )
        return accumulate(codes, 2, self.graph.groups)

    def fit_statistics(
        self,
        stats: VoteStatistics,
        class_balance: Optional[ArrayLike] = None,
        Y_dev: Optional[ArrayLike] = None,
        flip_negative: bool = True,
        clamp: bool = True,
        solve_method: str = "triplet_mean",
        sign_recovery: str = "all_positive",
    ) -> "LabelModel":
        """Fit from statistics alone (what ``fit``, ``partial_fit`` and
        :class:`~weaksup.FSLoss` call). Costs O(m^3), independent of ``n``."""
        with small_cpu_work(stats.device):
            return self._fit_statistics(
                stats, class_balance, Y_dev, flip_negative, clamp, solve_method, sign_recovery
            )

    def _fit_statistics(self, stats, class_balance, Y_dev, flip_negative, clamp, solve_method, sign_recovery):
        if solve_method not in SOLVE_METHODS:
            raise ValueError(f"solve_method must be one of {SOLVE_METHODS}, got {solve_method!r}")
        if sign_recovery != "all_positive":
            raise ValueError(f"sign_recovery must be 'all_positive' (FlyingSquid's only option), got {sign_recovery!r}")
        if stats.n_lfs != self.m or stats.cardinality != 2:
            raise ValueError(f"statistics of {stats.n_lfs} LFs do not fit a model of m={self.m}")
        # (checked on the CPU only: reading a device scalar would sync the refit)
        if stats.device.type == "cpu" and int(stats.n_items) <= 0:
            raise ValueError("cannot fit on zero items")
        self._fit_options = dict(
            class_balance=class_balance, Y_dev=Y_dev, flip_negative=flip_negative,
            clamp=clamp, solve_method=solve_method, sign_recovery=sign_recovery,
        )
        device = stats.device
        self.statistics_ = stats
        self.class_balance_ = self._class_balance(class_balance, Y_dev, device)
        self._em_model = None
        if solve_method == "pairwise_em":
            return self._fit_pairwise_em(stats)
        quantities = _Quantities(stats)
        moments = self._solve_moments(quantities, solve_method)
        self._expectation_moments = moments

        n = stats.n_items.to(torch.float64)
        coverage = stats.coverage_counts().to(torch.float64) / n
        self.coverage_ = coverage
        if "all" in moments:  # the vectorised independent path: one tensor for all LFs
            lf_moment = moments["all"]
        else:
            lf_moment = torch.zeros(self.m, dtype=torch.float64, device=device)
            for c in self.graph.cliques:
                if len(c.lfs) == 1:
                    lf_moment[c.lfs[0]] = moments[(c.lfs, (), c.tasks[0])]
                for i in c.lfs:  # an LF inside a dependent clique: its own expectation
                    if ((i,), (), c.tasks[0]) in moments:
                        lf_moment[i] = moments[((i,), (), c.tasks[0])]
        self.accuracy_moments_ = lf_moment
        # P(l_i Y = 1) = (1 + E[l_i Y] - P(l_i = 0)) / 2, and its share of the votes
        agree = 0.5 * (1 + lf_moment - (1 - coverage))
        self._agreement = agree
        self.clique_marginals_ = self._clique_marginals(quantities, moments, flip_negative, clamp)
        self.accuracies_ = self._conditional_accuracies()
        self._build_posterior()
        return self

    def _fit_pairwise_em(self, stats: VoteStatistics) -> "LabelModel":
        """``solve_method='pairwise_em'``: weaksup's class-conditional model
        (:class:`~weaksup.multiclass.MulticlassLabelModel`'s default) on the same
        statistics; only for one task with independent LFs."""
        if self.v != 1 or not self.graph.independent:
            raise ValueError(
                "solve_method='pairwise_em' models one task with independent LFs; "
                "use a triplet method for sequences (v > 1) or lambda_edges"
            )
        from .multiclass import MulticlassLabelModel

        em = MulticlassLabelModel(2).fit_statistics(stats, class_balance=self.class_balance_)
        self._em_model = em
        C = em.confusion_  # (m, responses: abstain, -1, +1; classes)
        tables = C[:, [1, 0, 2], :] * self.class_balance_  # P(l_i, y), states (-1, 0, +1)
        self.clique_marginals_ = [(c, tables[c.lfs[0]]) for c in self.graph.cliques]
        self._single_index = None
        self.coverage_ = em.coverage_
        self.accuracies_ = em.accuracies_
        signs = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64, device=C.device)
        self.accuracy_moments_ = (tables * signs[:, None] * torch.tensor([-1.0, 1.0], dtype=torch.float64, device=C.device)).sum((1, 2))
        self._agreement = tables[:, 0, 0] + tables[:, 2, 1]
        self._expectation_moments = {"all": self.accuracy_moments_}
        return self

    def _conditional_accuracies(self) -> torch.Tensor:
        """``(m,)`` P(l_i = Y | l_i votes) read from the fitted clique tables (so
        it always lies in [0, 1]); 0.5 for an LF that never votes."""
        out = torch.full((self.m,), 0.5, dtype=torch.float64, device=self.class_balance_.device)
        if self._single_index is not None:
            lfs, _tasks, t = self._single_index  # (s, states, 2)
            right = t[:, 0, 0] + t[:, -1, 1]
            voted = t[:, 0].sum(-1) + t[:, -1].sum(-1)
            out[lfs] = torch.where(voted > 0, right / voted.clamp(min=_TINY), out[lfs])
        for c, table in self.clique_marginals_:
            if len(c.lfs) < 2:
                continue
            for pos, i in enumerate(c.lfs):
                drop = tuple(ax for ax in range(len(c.lfs)) if ax != pos)
                t = table.sum(dim=drop) if drop else table  # (states, 2)
                right = t[0, 0] + t[-1, 1]
                voted = t[0].sum() + t[-1].sum()
                out[i] = torch.where(voted > 0, right / voted.clamp(min=_TINY), out[i])
        return out

    # ---- class balance ---------------------------------------------------
    def _class_balance(self, class_balance, Y_dev, device) -> torch.Tensor:
        n_vec = 2 ** self.v
        if class_balance is not None:
            cb, _ = as_tensor(class_balance)
            cb = cb.detach().to(dtype=torch.float64).reshape(-1)
            if cb.numel() != n_vec:
                raise ValueError(f"class_balance must have 2**v = {n_vec} entries, got {cb.numel()}")
            # values are checked where reading them costs no device sync
            if cb.device.type == "cpu" and (
                not bool(torch.isfinite(cb).all()) or bool((cb < 0).any()) or float(cb.sum()) <= 0
            ):
                raise ValueError("class_balance must be finite, non-negative and not all zero")
            cb = cb.to(device)
            return cb / cb.sum()
        if Y_dev is not None:
            y, _ = as_tensor(Y_dev)
            if y.dim() == 1:
                y = y.reshape(-1, 1)
            if y.dim() != 2 or y.shape[1] != self.v:
                raise ValueError(f"Y_dev must have shape (n_dev, v={self.v}) (or (n_dev,) for v=1), got {tuple(y.shape)}")
            if y.shape[0] == 0:
                raise ValueError("Y_dev is empty: pass gold labels or leave it None")
            bits = torch.stack(
                [check_labels(y[:, t], convention="flyingsquid", name="Y_dev") for t in range(self.v)], 1
            ).to(device)
            weights = 2 ** torch.arange(self.v - 1, -1, -1, device=device)
            counts = torch.bincount((bits * weights).sum(1), minlength=n_vec).to(torch.float64)
            return counts / counts.sum()
        return torch.full((n_vec,), 1.0 / n_vec, dtype=torch.float64, device=device)

    def _task_positive_rate(self) -> torch.Tensor:
        """``(v,)`` P(Y_t = +1) under the class balance."""
        cb = self.class_balance_.reshape((2,) * self.v)
        return torch.stack([cb.select(t, 1).sum() for t in range(self.v)])

    # ---- the triplet solve ------------------------------------------------
    def _estimated_expectations(self) -> List[Tuple[Tuple[int, ...], Tuple[int, ...], int]]:
        """(lfs, zeros, task) of every expectation E[l_S Y | l_Z = 0] that the
        cliques' linear systems need (upstream's ``expectations_to_estimate``).
        Depends on the graph only, so it is computed once."""
        cached = self.__dict__.get("_expectations_cache")
        if cached is not None:
            return cached
        needed = set()
        for c in list(self.graph.cliques) + list(self.graph.separator_edges):
            if not c.lfs or len(c.tasks) != 1:
                continue
            for kind, ones, _y, zeros in _r_symbols(len(c.lfs), self.allow_abstentions):
                if kind == "estimated":
                    needed.add((tuple(c.lfs[p] for p in ones), tuple(c.lfs[p] for p in zeros), c.tasks[0]))
        self._expectations_cache = sorted(needed, key=lambda e: _expectation_key(e[0], e[2], e[1], self.allow_abstentions))
        return self._expectations_cache

    def _solve_moments(self, q: "_Quantities", solve_method: str) -> Dict:
        """Triplet estimates of the unobserved moments E[l_S Y] (sign: +)."""
        expectations = self._estimated_expectations()
        M = q.moments
        if solve_method == "triplet":
            return self._solve_single_triplets(q, expectations)
        method = "mean" if solve_method == "triplet_mean" else "median"
        if self.graph.independent:
            # FlyingSquid's fully independent case: every pair of other LFs is a partner
            return {"all": all_pairs_accuracies(M, q.co_coverage, method)}
        out = {}
        for lfs, zeros, task in expectations:
            pairs = torch.as_tensor(self.graph.triplet_partners(lfs, task), device=M.device)
            if zeros:
                pairs[list(zeros), :] = False
                pairs[:, list(zeros)] = False
            with_s = q.moments_with(lfs)  # (m,) E[l_S l_j]
            cand = (with_s[:, None] * with_s[None, :] / M).abs().sqrt()
            valid = pairs & (M.abs() > DENOMINATOR_EPS) & (q.co_coverage > 0)
            out[(lfs, zeros, task)] = aggregate(cand.reshape(1, -1), valid.reshape(1, -1), method)[0]
        return out

    def _solve_single_triplets(self, q: "_Quantities", expectations) -> Dict:
        """``solve_method='triplet'``: one triplet per expectation, picked greedily
        after upstream's seeded shuffle; later triplets overwrite earlier values."""
        keyed = {_expectation_key(l, t, z, self.allow_abstentions): (l, z, t) for l, z, t in expectations}
        if self.triplets is not None:
            triplets = self._user_triplets(expectations)
        else:
            order = sorted(keyed)
            if self._rng_state is not None:
                rng = random.Random()
                rng.setstate(self._rng_state)
                rng.shuffle(order)
            triplets = self._greedy_triplets([keyed[k] for k in order])
        out: Dict = {}
        for a, b, c in triplets:
            for first, x, y in ((a, b, c), (b, a, c), (c, a, b)):
                num = q.moment(first[0] + x[0]) * q.moment(first[0] + y[0])
                den = q.moment(x[0] + y[0])
                ok = (den.abs() > DENOMINATOR_EPS)
                out[first] = torch.where(ok, (num / torch.where(ok, den, torch.ones_like(den))).abs().sqrt(), torch.zeros_like(den))
        missing = [e for e in expectations if e not in out]
        if missing:
            raise ValueError(f"no triplet found for the expectations of LFs {[e[0] for e in missing]}")
        return out

    def _greedy_triplets(self, order):
        g = self.graph
        lf_nodes = [int(n.split("_")[1]) for n in self._nodes if n.startswith("lambda_")]
        used, triplets = set(), []
        for exp in order:
            if exp in used:
                continue
            lfs, zeros, task = exp

            def ok(cand, triplet):
                return all(g.separated(other[0], cand[0], task) for other in triplet)

            found = None
            for first in order:
                if (first == exp or first[2] != task or first[1] != zeros or first in used
                        or (len(first[0]) > 1 and len(lfs) > 1) or not ok(first, [exp])):
                    continue
                trip = [exp, first]
                for second in order:
                    if (second in trip or second[2] != task or second[1] != zeros or second in used
                            or (len(second[0]) > 1 and any(len(e[0]) > 1 for e in trip)) or not ok(second, trip)):
                        continue
                    found = trip + [second]
                    break
                if found is None:
                    for j in lf_nodes:
                        second = ((j,), zeros, task)
                        if second in trip or not ok(second, trip):
                            continue
                        found = trip + [second]
                        break
                if found is not None:
                    break
            if found is None:
                for j in lf_nodes:
                    first = ((j,), zeros, task)
                    if first == exp or j in zeros or not ok(first, [exp]):
                        continue
                    for k in lf_nodes:
                        second = ((k,), zeros, task)
                        if second in (exp, first) or k in zeros or not ok(second, [exp, first]):
                            continue
                        found = [exp, first, second]
                        break
                    if found is not None:
                        break
            if found is not None:
                triplets.append(found)
                used.update(found)
        return triplets

    def _user_triplets(self, expectations):
        out = []
        for trip in self.triplets:
            items = []
            for item in trip:
                if isinstance(item, (int, np.integer)):
                    lfs, zeros = (int(item),), ()
                    task = int(self.graph.lf_task[int(item)])
                else:  # upstream format: ((lambda_i, ..., Y_t), cond)
                    names, cond = (item, ("0",)) if not self.allow_abstentions else item
                    lfs = tuple(sorted(int(x.split("_")[1]) for x in names if x.startswith("lambda_")))
                    task = int(names[-1].split("_")[1])
                    zeros = tuple(sorted(int(x.split("_")[1]) for x in cond if x.startswith("lambda_")))
                items.append((lfs, zeros, task))
            if len(items) != 3:
                raise ValueError(f"each triplet must name three LFs, got {trip!r}")
            out.append(items)
        return out

    # ---- clique marginals ------------------------------------------------
    def _clique_marginals(self, q: "_Quantities", moments: Dict, flip_negative: bool, clamp: bool):
        abst = self.allow_abstentions
        p_pos_task = self._task_positive_rate()
        out = []
        self._single_index = None
        singles = [c for c in self.graph.cliques if len(c.lfs) == 1]
        if singles:
            lfs, tasks = self._device_constant(
                ("singles", p_pos_task.device),
                lambda: (
                    torch.tensor([c.lfs[0] for c in singles], device=p_pos_task.device),
                    torch.tensor([c.tasks[0] for c in singles], device=p_pos_task.device),
                ),
            )
            if "all" in moments:
                est = moments["all"][lfs]
            else:
                est = torch.stack([moments[((c.lfs[0],), (), c.tasks[0])] for c in singles])
            p_zero = q.p_zero[lfs]
            p_y = p_pos_task[tasks]
            values = {
                "one": torch.ones_like(p_y),
                "lf": q.p_pos[lfs],
                "estimated": 0.5 * (1 + est - p_zero) if abst else 0.5 * (1 + est),
            }
            r = []
            for kind, _ones, y_in, zeros in _r_symbols(1, abst):
                if kind == "y":
                    r.append((p_y if y_in else torch.ones_like(p_y)) * (p_zero if zeros else 1.0))
                else:
                    r.append(values[kind])
            tables = self._solve_tables(torch.stack(r, 1), 1, flip_negative, clamp).reshape(len(singles), -1, 2)
            self._single_index = (lfs, tasks, tables)  # vectorised view for the posterior
            out.extend(zip(singles, tables.unbind(0)))
        cb = self.class_balance_.reshape((2,) * self.v)
        for c in self.graph.cliques:
            if len(c.lfs) >= 2:
                out.append((c, self._clique_table(c, q, moments, flip_negative, clamp)))
            elif not c.lfs:  # a clique of tasks only: read from the class balance
                drop = tuple(t for t in range(self.v) if t not in c.tasks)
                out.append((c, cb.sum(dim=drop) if drop else cb))
        order = {c: i for i, c in enumerate(self.graph.cliques)}
        return sorted(out, key=lambda ct: order[ct[0]])

    def _clique_table(self, c: Clique, q, moments, flip_negative, clamp) -> torch.Tensor:
        abst = self.allow_abstentions
        task = c.tasks[0]
        p_y = self._task_positive_rate()[task]
        r = []
        for kind, ones, y_in, zeros in _r_symbols(len(c.lfs), abst):
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
                base = 0.5 * (1 + est - q.p_any_zero(S)) if abst else 0.5 * (1 + est)
                r.append(base * (q.p_all_zero(Z) if Z else 1.0))
        r_vec = torch.stack([torch.as_tensor(x, dtype=torch.float64, device=p_y.device) for x in r])[None]
        table = self._solve_tables(r_vec, len(c.lfs), flip_negative, clamp)[0]
        return table.reshape((3 if abst else 2,) * len(c.lfs) + (2,))

    def _device_constant(self, key, make):
        """Graph-level constants (index tensors, inverses) built once per device."""
        cache = self.__dict__.setdefault("_constants", {})
        if key not in cache:
            cache[key] = make()
        return cache[key]

    def _solve_tables(self, r: torch.Tensor, n_lfs: int, flip_negative: bool, clamp: bool) -> torch.Tensor:
        """Solve ``B e = r`` for a batch of cliques; return tables in sorted order."""
        b_inv_t, order = self._device_constant(
            ("solve", n_lfs, r.device),
            lambda: (
                torch.as_tensor(_b_inverse(n_lfs, self.allow_abstentions).T.copy(), dtype=torch.float64, device=r.device),
                torch.as_tensor(_sorted_order(n_lfs, self.allow_abstentions), device=r.device),
            ),
        )
        e = (r @ b_inv_t)[:, order]
        if flip_negative:
            e = e.abs()
        elif clamp:
            e = torch.where(e < 0, torch.full_like(e, 1e-8), e)
        total = e.sum(1, keepdim=True)
        return e / torch.where(total == 0, torch.ones_like(total), total)

    # ------------------------------------------------------------------
    # posterior
    # ------------------------------------------------------------------
    def _build_posterior(self) -> None:
        """Precompute log tables: for each LF state (-1, 0, +1) and label vector,
        the log marginals that the junction-tree factorisation adds up."""
        v, m = self.v, self.m
        n_vec = 2 ** v
        device = self.class_balance_.device
        configs = self._device_constant(  # (2**v, v) bits of every label vector
            ("configs", device), lambda: torch.tensor(list(itertools.product((0, 1), repeat=v)), device=device)
        )
        n_states = 3 if self.allow_abstentions else 2
        single = torch.zeros((m, n_states, n_vec), dtype=torch.float64, device=device)
        multi = []
        if self._single_index is not None:
            lfs, tasks, tables = self._single_index  # (s,), (s,), (s, states, 2)
            ycol = configs[:, tasks].T  # (s, 2**v): the label of each LF's task in each label vector
            log_t = tables.clamp(min=_TINY).log()
            single[lfs] = torch.gather(log_t, 2, ycol[:, None, :].expand(-1, n_states, -1))
        for c, table in self.clique_marginals_:
            if len(c.lfs) < 2:
                continue
            log_t = table.clamp(min=_TINY).log()
            multi.append((c.lfs, log_t.reshape(-1, 2)[:, configs[:, c.tasks[0]]]))
        const = torch.zeros(n_vec, dtype=torch.float64, device=device)
        cb = self.class_balance_.reshape((2,) * v)
        for c in self.graph.cliques:
            if not c.lfs:
                const += self._task_marginal(cb, c.tasks, configs)
        tables = dict(self.clique_marginals_)
        for sep, n_edges in self.graph.separator_edges.items():
            if not sep.lfs:
                const -= n_edges * self._task_marginal(cb, sep.tasks, configs)
                continue
            # an LF separator: marginalise a clique that contains it
            host = next(c for c in self.graph.cliques if set(sep.lfs) <= set(c.lfs) and c.tasks == sep.tasks)
            table = tables[host]
            drop = tuple(ax for ax, i in enumerate(host.lfs) if i not in sep.lfs)
            sep_table = table.sum(dim=drop) if drop else table
            log_t = sep_table.clamp(min=_TINY).log().reshape(-1, 2)[:, configs[:, sep.tasks[0]]]
            multi.append((sep.lfs, -n_edges * log_t))
        self._log_single = single
        self._log_multi = multi
        self._log_const = const

    @staticmethod
    def _task_marginal(cb: torch.Tensor, tasks: Tuple[int, ...], configs: torch.Tensor) -> torch.Tensor:
        v = cb.dim()
        drop = tuple(t for t in range(v) if t not in tasks)
        marg = cb.sum(dim=drop) if drop else cb
        return marg.clamp(min=_TINY).log()[tuple(configs[:, t] for t in tasks)]

    def _check_fitted(self) -> None:
        if getattr(self, "clique_marginals_", None) is None:
            raise NotFittedError("this LabelModel is not fitted yet; call fit(L_train) first")

    def log_scores(self, codes: torch.Tensor) -> torch.Tensor:
        """Unnormalised log posterior ``(n, 2**v)`` of validated codes ``(n, m)``
        (any integer dtype; -1 abstain, 0 negative, 1 positive)."""
        self._check_fitted()
        if self._em_model is not None:
            return self._em_model.log_scores(codes)
        device = codes.device
        single = self._log_single.to(device)  # (m, states, 2**v), states in order (-1, 0, +1)
        # Independent LFs: the score is a baseline (every LF in its base state:
        # abstain, or -1 without abstentions) plus one GEMM per other vote value.
        base = 1 if single.shape[1] == 3 else 0
        vote_states = [(0, 0), (1, 2)] if base == 1 else [(1, 1)]  # (code, state)
        deltas = [(code, single[:, state] - single[:, base]) for code, state in vote_states]
        scores = torch.empty((codes.shape[0], single.shape[-1]), dtype=torch.float64, device=device)
        rows = max(1, _PREDICT_CHUNK_ELEMENTS // max(1, self.m))
        for start in range(0, codes.shape[0], rows):
            chunk = codes[start : start + rows]
            out = single[:, base].sum(0).expand(chunk.shape[0], -1).clone()
            for code, delta in deltas:
                out += (chunk == code).to(torch.float64) @ delta
            scores[start : start + rows] = out
        if self._log_multi:
            state = torch.where(codes < 0, torch.ones_like(codes), 2 * codes).to(torch.int64)
            if single.shape[1] == 2:
                state = codes.to(torch.int64)
            n_states = single.shape[1]
            for lfs, log_t in self._log_multi:
                joint = torch.zeros_like(state[:, 0])
                for i in lfs:
                    joint = joint * n_states + state[:, i]
                scores = scores + log_t.to(device)[joint]
        return scores + self._log_const.to(device)

    def _codes_for_predict(self, L_matrix: ArrayLike) -> Tuple[torch.Tensor, Any]:
        self._check_fitted()
        t, back = as_tensor(L_matrix)
        codes = check_votes(t, convention="flyingsquid", n_lfs=self.m, name="L_matrix", allow_empty=True, compact=True)
        if not self.allow_abstentions and bool((codes < 0).any()):
            raise ValueError("L_matrix contains abstentions (0) but the model was built with allow_abstentions=False")
        return codes, back

    def predict_proba(self, L_matrix: ArrayLike, verbose: bool = True) -> ArrayLike:
        """P(label vector | votes): ``(n, 2**v)``, rows sum to 1."""
        codes, back = self._codes_for_predict(L_matrix)
        return back(torch.softmax(self.log_scores(codes), dim=1))

    def predict_proba_marginalized(self, L_matrix: ArrayLike, verbose: bool = False) -> ArrayLike:
        """P(Y_t = +1 | votes) per task: ``(n,)`` for ``v = 1``, else ``(n * v,)``."""
        codes, back = self._codes_for_predict(L_matrix)
        scores = self.log_scores(codes)
        if self.v == 1:
            return back(torch.sigmoid(scores[:, 1] - scores[:, 0]))
        probs = torch.softmax(scores, dim=1).reshape((-1,) + (2,) * self.v)
        per_task = torch.stack([probs.select(t + 1, 1).reshape(probs.shape[0], -1).sum(1) for t in range(self.v)], 1)
        return back(per_task.reshape(-1))

    def predict(self, L_matrix: ArrayLike, verbose: bool = True) -> ArrayLike:
        """Most likely label vector: ``(n, v)`` in {-1, +1}."""
        codes, back = self._codes_for_predict(L_matrix)
        best = self.log_scores(codes).argmax(1)
        bits = (best[:, None] >> torch.arange(self.v - 1, -1, -1, device=best.device)) & 1
        return back(2 * bits - 1)

    def estimated_accuracies(self) -> np.ndarray:
        """Upstream's accuracy: ``P(l_i = Y)`` with an abstention counted as wrong
        (coverage times the accuracy on voted items), shape ``(m,)``."""
        self._check_fitted()
        return self._agreement.detach().cpu().numpy()

    # ---- upstream-style views --------------------------------------------
    @property
    def expectation_values(self) -> Dict:
        """Upstream's ``expectation_values``: expectation key -> E[l_S Y]."""
        self._check_fitted()
        out = {}
        for lfs, zeros, task in self._estimated_expectations():
            if "all" in self._expectation_moments:
                val = self._expectation_moments["all"][lfs[0]]
            else:
                val = self._expectation_moments[(lfs, zeros, task)]
            out[_expectation_key(lfs, task, zeros, self.allow_abstentions)] = float(val)
        return out


class _Quantities:
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
        joint = self._joint(tuple(zeros))
        return joint[(0,) * len(zeros)]

    def p_any_zero(self, lfs) -> torch.Tensor:
        return 1 - self._joint(tuple(lfs))[(slice(1, None),) * len(lfs)].sum()
