"""``weaksup.LabelModel``: a drop-in for ``flyingsquid.label_model.LabelModel``.

Same constructor, same methods, same outputs, with these differences (each one
tested):

* **The class prior is applied once.** Upstream divides the product of clique
  marginals by ``P(y)^(d-1)`` where ``d`` counts junction-tree edges, which
  multiplies the prior in twice; weaksup divides each separator once per edge
  (the junction-tree factorisation). With a uniform balance both give the same
  posteriors.
* **Zero denominators are left out of the triplet average** instead of
  entering it as 0, so an always-abstaining LF does not drag the others down.
* ``Y_dev`` may be 1-D; graphs the triplet method cannot solve are refused at
  construction with the reason; refitting with another ``solve_method`` works;
  probabilities are never NaN; ``allow_abstentions=False`` fits and reports
  accuracies; a label vector of class balance 0 gets probability 0; a call
  that raises leaves the model as it was.
* **Defaults that hold up without gold labels**: when neither
  ``class_balance`` nor ``Y_dev`` is given the class balance is estimated
  from the votes (:mod:`weaksup.class_balance`; upstream assumes it uniform),
  and one task with independent LFs is solved by weaksup's pairwise EM
  (:func:`default_solve_method`). Upstream's numbers exactly:
  ``fit(L, solve_method="triplet_mean", class_balance="uniform")``.
* Fitting reads only additive :class:`~weaksup.statistics.VoteStatistics`, so
  ``partial_fit`` over chunks equals one ``fit``, and everything is vectorised
  (no per-row Python loop) on numpy, torch (CPU/CUDA) and cupy inputs, with
  results returned in the input's kind and device.

Conventions (FlyingSquid's): votes in {-1, 0, +1}, ``0`` = abstain; gold labels
-1/+1; the ``2**v`` label vectors of ``v`` tasks are ordered lexicographically
(entry 0 is all -1, the last is all +1).
"""

from __future__ import annotations

import random
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ._backend import TINY, ArrayLike, as_tensor, small_cpu_work
from ._class_conditional import DEFAULT_OPTIONS, agreement_accuracies_of, as_active, class_conditional_log_scores
from ._class_conditional import fit_class_conditional
from ._fs_tables import (
    Quantities, clique_table, conditional_accuracies, expectation_key, posterior_log_tables, r_symbols, solve_tables,
)
from ._validation import check_bool, check_choice, check_int, check_real
from .base import NotFittedError, unchanged_on_error
from .class_balance import estimate_class_balance, resolve_class_balance
from .conventions import check_votes, warn_if_convention_misread
from .graph import LabelGraph
from .posterior import independent_log_scores
from .statistics import VoteStatistics, accumulate
from .triplets import (
    all_pairs_accuracies, clique_triplet_moments, greedy_triplets, parse_triplets, single_triplet_moments,
)

__all__ = ["LabelModel", "NotFittedError", "SOLVE_METHODS", "default_solve_method"]

SOLVE_METHODS = ("triplet_mean", "triplet_median", "triplet", "pairwise_em")
_MAX_TASKS = 16  # posterior enumerates 2**v label vectors
# The values of a -1 and a +1 vote: in raw FlyingSquid votes (0 = abstain), and in codes (-1 = abstain).
_RAW, _CODES = (-1, 1), (0, 1)


def default_solve_method(
    solve_method: Optional[str], *, v: int, lambda_edges: Sequence, triplets: Optional[Sequence], allow_abstentions: bool
) -> str:
    """The solve method of a FlyingSquid-convention model (``LabelModel``, ``FSLoss``).

    ``solve_method`` when given (checked); else ``'triplet'`` when
    ``triplets`` are given, weaksup's ``'pairwise_em'`` for one task with
    independent LFs that may abstain (it never lost to majority vote without
    gold in the measured regimes, where the triplet mean did), and
    FlyingSquid's ``'triplet_mean'`` otherwise (sequences, dependent LFs).
    """
    if solve_method is not None:
        return check_choice(solve_method, "solve_method", SOLVE_METHODS)
    if triplets is not None:
        return "triplet"
    if v == 1 and not list(lambda_edges) and allow_abstentions:
        return "pairwise_em"
    return "triplet_mean"


class LabelModel:
    """FlyingSquid's triplet label model over binary tasks.

    Args:
        m: number of labeling functions (at least 3).
        v: number of tasks (e.g. frames of a sequence), 1 to 16. Default: 1.
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
        n_lfs_: ``m``.
        accuracy_moments_: ``(m,)`` ``E[l_i Y]`` (abstain = 0).
        accuracies_: ``(m,)`` ``P(l_i = Y | l_i votes)``.
        coverage_: ``(m,)`` fraction of items each LF votes on.
        confusion_: ``(m, 3, 2)`` ``P(response | Y)`` of ``'pairwise_em'``
            (responses abstain, -1, +1; ``Y`` -1, +1), a warm start's ``init``
            (:meth:`fit_statistics`); ``None`` for the triplet methods.
        clique_marginals_: list of ``(Clique, table)``; a table is indexed
            ``[lf values (-1, 0, +1) of clique.lfs in order..., y (-1, +1)]``.
        statistics_: the :class:`VoteStatistics` the model was fitted on.

    Shape:
        - ``L``: ``(n, m)`` votes in {-1, 0, +1}.
        - ``predict_proba(L)``: ``(n, 2**v)``.
        - ``predict_proba_marginalized(L)``: ``(n,)`` = P(Y = +1) for ``v = 1``,
          ``(n * v,)`` (row-major over items, then tasks) for ``v > 1``.
        - ``predict(L)``: ``(n, v)`` labels in {-1, +1}.

    ``verbose`` arguments are accepted for upstream compatibility and ignored
    (weaksup prints nothing).

    Degenerate input (documented, tested behaviour):
        - an LF that never votes gets ``accuracy_moments_ = 0`` and
          ``accuracies_ = 0.5`` and leaves every other estimate unchanged;
        - an LF without any valid triplet (its partners never vote together)
          gets ``accuracy_moments_ = 0``: it carries no weight in the posterior;
        - a matrix on which every LF abstains fits, and every row's posterior
          is the class balance (for ``v > 1`` with ``y_edges``, the balance as
          the junction tree factorises it: the product of its clique marginals
          over its separators, which equals the given balance when that
          balance factorises along the tree, e.g. uniform);
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
    cardinality = 2
    agreement_accuracies_ = property(agreement_accuracies_of, doc="``(m,)`` (``'pairwise_em'``; else ``None``).")

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
        self.m = check_int(m, "m")  # the graph refuses m < 3 with the reason
        self.v = check_int(v, "v", minimum=1, maximum=_MAX_TASKS)
        self.y_edges = list(y_edges)
        self.lambda_y_edges = list(lambda_y_edges)
        self.lambda_edges = list(lambda_edges)
        self.allow_abstentions = bool(allow_abstentions)
        self.triplets = triplets
        self.triplet_seed = None if triplet_seed is None else check_int(triplet_seed, "triplet_seed")
        self.graph = LabelGraph(self.m, self.v, self.y_edges, self.lambda_y_edges, self.lambda_edges)
        self._user_triplets = None
        if triplets is not None:
            self._user_triplets = parse_triplets(triplets, self.m, self.graph.lf_task, self.allow_abstentions)
        # upstream shuffles the sorted node names once at construction
        self._nodes = sorted([f"lambda_{i}" for i in range(self.m)] + [f"Y_{t}" for t in range(self.v)])
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

    @property
    def groups(self) -> List[Tuple[int, ...]]:
        """LF groups whose joint vote tables the statistics must count (``lambda_edges``)."""
        return self.graph.groups

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
        solve_method: Optional[str] = None,
        sign_recovery: str = "all_positive",
        verbose: bool = False,
    ) -> "LabelModel":
        """Estimate every clique marginal from the votes ``L_train`` ``(n, m)``.

        ``class_balance`` (``2**v`` probabilities of the label vectors, or
        ``"uniform"``) wins over ``Y_dev`` (gold labels -1/+1, shape ``(n_dev,)``
        or ``(n_dev, v)``, counted as plain frequencies); with neither, the
        balance is estimated from the votes (for ``v > 1``: uniform). See
        :mod:`weaksup.class_balance`.

        ``solve_method``: upstream's ``'triplet_mean'`` (FlyingSquid's
        estimates exactly), ``'triplet_median'``, ``'triplet'`` (one greedy
        triplet per LF), or weaksup's ``'pairwise_em'``: class-conditional LF
        parameters by EM on the pairwise vote tables
        (:class:`~weaksup.MulticlassLabelModel`'s default, with its default
        options), which handles one-sided and worse-than-random LFs and does
        not lose to majority vote without gold; one task with independent
        LFs only. ``None`` (default): :func:`default_solve_method`, i.e.
        ``'pairwise_em'`` where it applies. Upstream's exact numbers:
        ``solve_method='triplet_mean', class_balance='uniform'``. ``verbose`` is ignored. Returns ``self``;
        a call that raises leaves the model unchanged. Warns once per model
        when ``L_train`` looks like Snorkel/WRENCH votes (-1 = abstain; see
        :func:`~weaksup.conventions.warn_if_convention_misread`).
        """
        stats = self.accumulate(L_train)
        self.fit_statistics(
            stats, class_balance=class_balance, Y_dev=Y_dev, flip_negative=flip_negative,
            clamp=clamp, solve_method=solve_method, sign_recovery=sign_recovery,
        )
        warn_if_convention_misread(stats, "flyingsquid", owner=self, name="L_train")
        return self

    def partial_fit(self, L_batch: ArrayLike, **fit_options: Any) -> "LabelModel":
        """Add the statistics of ``L_batch`` to those seen so far and refit.

        ``partial_fit`` over any chunking of the rows gives exactly the model of
        one ``fit`` on all of them. Fit options (``class_balance``, ``Y_dev``,
        ``solve_method``, ...) given here replace the ones remembered. A call
        that raises leaves the model (statistics included) unchanged.
        """
        fit_options.pop("verbose", None)
        unknown = set(fit_options) - {"class_balance", "Y_dev", "flip_negative", "clamp", "solve_method", "sign_recovery"}
        if unknown:
            raise TypeError(f"partial_fit got unknown fit options {sorted(unknown)}")
        batch = self.accumulate(L_batch)
        stats = batch
        if getattr(self, "statistics_", None) is not None:
            stats = self.statistics_.to(batch.device) + batch
        self.fit_statistics(stats, **{**self._fit_options, **fit_options})
        warn_if_convention_misread(batch, "flyingsquid", owner=self, name="L_batch")
        return self

    def accumulate(self, L: ArrayLike) -> VoteStatistics:
        """Validate votes ``(n, m)`` and count their :class:`VoteStatistics`."""
        votes = self._validated(L, "L_train", allow_empty=False)
        return accumulate(votes, 2, self.graph.groups, class_values=_RAW)

    def _validated(self, L: ArrayLike, name: str, allow_empty: bool) -> torch.Tensor:
        """The votes themselves (-1/0/+1, no conversion to codes), validated."""
        votes = check_votes(L, convention="flyingsquid", n_lfs=self.m, name=name, allow_empty=allow_empty, raw=True)
        if not self.allow_abstentions and bool((votes == 0).any()):
            raise ValueError(f"{name} contains abstentions (0) but the model was built with allow_abstentions=False")
        return votes

    def fit_statistics(
        self,
        stats: VoteStatistics,
        class_balance: Optional[ArrayLike] = None,
        Y_dev: Optional[ArrayLike] = None,
        flip_negative: bool = True,
        clamp: bool = True,
        solve_method: Optional[str] = None,
        sign_recovery: str = "all_positive",
        *,
        init: Optional[Any] = None,
        tol: Optional[float] = None,
    ) -> "LabelModel":
        """Fit from statistics alone (what ``fit``, ``partial_fit`` and
        :class:`~weaksup.FSLoss` call). Costs O(m^3), independent of ``n``.
        Every argument is checked before the model changes.

        For refits of ``solve_method='pairwise_em'`` on statistics that moved
        a little (a loss's buffer), as in :class:`~weaksup.MulticlassLabelModel`:
        ``init`` starts EM from a previous fit's ``confusion_`` ``(m, 3, 2)``
        of the same LFs instead of the prior (an online-EM approximation of a
        fresh fit; not remembered by ``partial_fit``), and ``tol`` stops EM
        once no probability moves more than ``tol`` in a step (on the CPU).
        """
        solve_method = default_solve_method(
            solve_method, v=self.v, lambda_edges=self.lambda_edges, triplets=self.triplets,
            allow_abstentions=self.allow_abstentions,
        )
        tol = check_real(tol, "tol", low=0, low_open=True, allow_none=True)
        if init is not None:
            if solve_method != "pairwise_em":
                raise ValueError(f"init: a warm start needs solve_method='pairwise_em', got {solve_method!r}")
            init = as_active(init, self.m, 2)
        options = dict(
            class_balance=class_balance, Y_dev=Y_dev, flip_negative=check_bool(flip_negative, "flip_negative"),
            clamp=check_bool(clamp, "clamp"), solve_method=solve_method, sign_recovery=sign_recovery,
        )
        if sign_recovery != "all_positive":
            raise ValueError(f"sign_recovery must be 'all_positive' (FlyingSquid's only option), got {sign_recovery!r}")
        if not isinstance(stats, VoteStatistics):
            raise TypeError(f"stats must be VoteStatistics (from accumulate), got {type(stats).__name__}")
        if stats.n_lfs != self.m or stats.cardinality != 2:
            raise ValueError(f"stats: statistics of {stats.n_lfs} LFs x {stats.cardinality} classes do not fit a model of m={self.m} binary LFs")
        if set(stats.group_tables) != set(self.graph.groups):
            raise ValueError(f"stats must track the LF groups {self.graph.groups}: count them with this model's accumulate")
        # (checked on the CPU only: reading a device scalar would sync the refit)
        if stats.device.type == "cpu" and int(stats.n_items) <= 0:
            raise ValueError("stats: cannot fit on zero items")
        if solve_method == "pairwise_em" and (self.v != 1 or not self.graph.independent):
            raise ValueError(
                "solve_method='pairwise_em' models one task with independent LFs; "
                "use a triplet method for sequences (v > 1) or lambda_edges"
            )
        pi = resolve_class_balance(class_balance, Y_dev, cardinality=2, convention="flyingsquid", v=self.v)
        with small_cpu_work(stats.device), unchanged_on_error(self):
            if pi is None:
                pi = estimate_class_balance(stats) if self.v == 1 else torch.full((2 ** self.v,), 0.5 ** self.v, dtype=torch.float64)
            self._fit_options = options
            self.statistics_ = stats
            self.n_lfs_ = self.m
            self.class_balance_ = pi.to(stats.device)
            self._em_fit = self.confusion_ = None
            if solve_method == "pairwise_em":
                self._fit_pairwise_em(stats, init, tol)
            else:
                self._fit_triplets(stats, options)
        return self

    def _fit_triplets(self, stats: VoteStatistics, options: Dict[str, Any]) -> None:
        quantities = Quantities(stats)
        moments = self._solve_moments(quantities, options["solve_method"])
        self._expectation_moments = moments
        n = stats.n_items.to(torch.float64)
        coverage = stats.coverage_counts().to(torch.float64) / n
        self.coverage_ = coverage
        if "all" in moments:  # the vectorised independent path: one tensor for all LFs
            lf_moment = moments["all"]
        else:
            lf_moment = torch.zeros(self.m, dtype=torch.float64, device=stats.device)
            for c in self.graph.cliques:
                if len(c.lfs) == 1:
                    lf_moment[c.lfs[0]] = moments[(c.lfs, (), c.tasks[0])]
                for i in c.lfs:  # an LF inside a dependent clique: its own expectation
                    if ((i,), (), c.tasks[0]) in moments:
                        lf_moment[i] = moments[((i,), (), c.tasks[0])]
        self.accuracy_moments_ = lf_moment
        # P(l_i Y = 1) = (1 + E[l_i Y] - P(l_i = 0)) / 2, and its share of the votes
        self._agreement = 0.5 * (1 + lf_moment - (1 - coverage))
        self.clique_marginals_ = self._clique_marginals(quantities, moments, options["flip_negative"], options["clamp"])
        self.accuracies_ = conditional_accuracies(self.clique_marginals_, self._single_index, self.m)
        self._build_posterior()

    def _fit_pairwise_em(self, stats: VoteStatistics, init: Optional[Any], tol: Optional[float]) -> None:
        """``solve_method='pairwise_em'``: the class-conditional model of
        :mod:`weaksup._class_conditional` on the same statistics."""
        em = fit_class_conditional(stats, self.class_balance_, init=init, tol=tol, **DEFAULT_OPTIONS)
        self._em_fit = em
        C = self.confusion_ = em.confusion  # (m, responses: abstain, -1, +1; classes)
        tables = C[:, [1, 0, 2], :] * self.class_balance_  # P(l_i, y), states (-1, 0, +1)
        self.clique_marginals_ = [(c, tables[c.lfs[0]]) for c in self.graph.cliques]
        self._single_index = None
        self.coverage_ = em.coverage
        self.accuracies_ = em.accuracies
        # E[l_i Y] = P(l_i = Y) - P(l_i = -Y) (an abstention counts 0)
        self.accuracy_moments_ = tables[:, 0, 0] + tables[:, 2, 1] - tables[:, 0, 1] - tables[:, 2, 0]
        self._agreement = tables[:, 0, 0] + tables[:, 2, 1]
        self._expectation_moments = {"all": self.accuracy_moments_}

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
            for kind, ones, _y, zeros in r_symbols(len(c.lfs), self.allow_abstentions):
                if kind == "estimated":
                    needed.add((tuple(c.lfs[p] for p in ones), tuple(c.lfs[p] for p in zeros), c.tasks[0]))
        self._expectations_cache = sorted(needed, key=lambda e: expectation_key(e[0], e[2], e[1], self.allow_abstentions))
        return self._expectations_cache

    def _solve_moments(self, q: Quantities, solve_method: str) -> Dict:
        """Triplet estimates of the unobserved moments E[l_S Y] (sign: +)."""
        expectations = self._estimated_expectations()
        M = q.moments
        if solve_method == "triplet":
            return self._solve_single_triplets(q, expectations)
        method = "mean" if solve_method == "triplet_mean" else "median"
        if self.graph.independent:
            # FlyingSquid's fully independent case: every pair of other LFs is a partner
            return {"all": all_pairs_accuracies(M, q.co_coverage, method)}
        return clique_triplet_moments(q, self.graph, expectations, method)

    def _solve_single_triplets(self, q: Quantities, expectations) -> Dict:
        """``solve_method='triplet'``: one triplet per expectation, picked greedily
        after upstream's seeded shuffle; later triplets overwrite earlier values."""
        keyed = {expectation_key(l, t, z, self.allow_abstentions): (l, z, t) for l, z, t in expectations}
        if self._user_triplets is not None:
            triplets = self._user_triplets
        else:
            order = sorted(keyed)
            if self._rng_state is not None:
                rng = random.Random()
                rng.setstate(self._rng_state)
                rng.shuffle(order)
            lf_nodes = [int(n.split("_")[1]) for n in self._nodes if n.startswith("lambda_")]
            triplets = greedy_triplets([keyed[k] for k in order], self.graph, lf_nodes)
        out = single_triplet_moments(q, triplets)
        missing = [e for e in expectations if e not in out]
        if missing:
            raise ValueError(f"no triplet found for the expectations of LFs {[e[0] for e in missing]}")
        return out

    # ---- clique marginals ------------------------------------------------
    def _clique_marginals(self, q: Quantities, moments: Dict, flip_negative: bool, clamp: bool):
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
            for kind, _ones, y_in, zeros in r_symbols(1, abst):
                if kind == "y":
                    r.append((p_y if y_in else torch.ones_like(p_y)) * (p_zero if zeros else 1.0))
                else:
                    r.append(values[kind])
            tables = solve_tables(torch.stack(r, 1), 1, abst, flip_negative, clamp).reshape(len(singles), -1, 2)
            self._single_index = (lfs, tasks, tables)  # vectorised view for the posterior
            out.extend(zip(singles, tables.unbind(0)))
        cb = self.class_balance_.reshape((2,) * self.v)
        for c in self.graph.cliques:
            if len(c.lfs) >= 2:
                p_y = self._task_positive_rate()[c.tasks[0]]
                out.append((c, clique_table(c, q, moments, p_y, self.allow_abstentions, flip_negative, clamp)))
            elif not c.lfs:  # a clique of tasks only: read from the class balance
                drop = tuple(t for t in range(self.v) if t not in c.tasks)
                out.append((c, cb.sum(dim=drop) if drop else cb))
        order = {c: i for i, c in enumerate(self.graph.cliques)}
        return sorted(out, key=lambda ct: order[ct[0]])

    def _device_constant(self, key, make):
        """Graph-level constants (index tensors, inverses) built once per device."""
        cache = self.__dict__.setdefault("_constants", {})
        if key not in cache:
            cache[key] = make()
        return cache[key]

    # ------------------------------------------------------------------
    # posterior
    # ------------------------------------------------------------------
    def _build_posterior(self) -> None:
        """Precompute the log tables that the junction-tree factorisation adds up."""
        self._log_single, self._log_multi, self._log_const = posterior_log_tables(
            self.graph, self.clique_marginals_, self._single_index, self.class_balance_, self.allow_abstentions
        )

    def _check_fitted(self) -> None:
        if getattr(self, "clique_marginals_", None) is None:
            raise NotFittedError("this LabelModel is not fitted yet; call fit(L_train) first")

    def log_scores(self, codes: torch.Tensor) -> torch.Tensor:
        """Unnormalised log posterior ``(n, 2**v)`` of validated codes ``(n, m)``
        (any integer dtype; -1 abstain, 0 negative, 1 positive)."""
        return self._scores(codes, _CODES)

    def _scores(self, votes: torch.Tensor, class_values: Tuple[int, int]) -> torch.Tensor:
        """``log_scores`` of ``votes`` in which ``class_values`` are the values of
        a -1 and a +1 vote (anything else abstains): codes or raw votes alike."""
        self._check_fitted()
        if self._em_fit is not None:
            return class_conditional_log_scores(votes, self._em_fit, class_values=class_values)
        device = votes.device
        # Independent LFs: the score is a baseline (every LF in its base state:
        # abstain, or -1 without abstentions) plus, per vote, its state's difference.
        base, deltas = self._independent_terms(device)
        scores = independent_log_scores(votes, base, deltas, class_values=class_values)
        if self._log_multi:
            negative, positive = (votes == v for v in class_values)
            state = positive.to(torch.int64)  # without abstentions: 0 = -1, 1 = +1
            if self._log_single.shape[1] == 3:
                state = 1 + state - negative.to(torch.int64)  # 0 = -1, 1 = abstain, 2 = +1
            n_states = self._log_single.shape[1]
            for lfs, log_t in self._log_multi:
                joint = torch.zeros_like(state[:, 0])
                for i in lfs:
                    joint = joint * n_states + state[:, i]
                scores = scores + log_t.to(device)[joint]
        return scores

    def _independent_terms(self, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
        """``base`` ``(2**v,)`` (every LF in its base state, plus the task-only
        terms) and ``deltas`` ``(m, 2, 2**v)`` (a -1 vote, a +1 vote) of the
        single-LF cliques: the arguments of ``independent_log_scores``."""
        single = self._log_single.to(device)  # (m, states, 2**v), states in order (-1, 0, +1)
        if single.shape[1] == 3:  # the votes -1 / +1 are the states -1 / +1, abstain is the base
            base, deltas = single[:, 1], single[:, [0, 2]] - single[:, 1:2]
        else:  # no abstentions: -1 is the base
            base, deltas = single[:, 0], single - single[:, :1]
        return base.sum(0) + self._log_const.to(device), deltas

    def _predict_scores(self, L_matrix: ArrayLike) -> Tuple[torch.Tensor, Any]:
        self._check_fitted()
        t, back = as_tensor(L_matrix, name="L_matrix")
        return self._scores(self._validated(t, "L_matrix", allow_empty=True), _RAW), back

    def predict_proba(self, L_matrix: ArrayLike, verbose: bool = True) -> ArrayLike:
        """P(label vector | votes): ``(n, 2**v)``, rows sum to 1."""
        scores, back = self._predict_scores(L_matrix)
        return back(torch.softmax(scores, dim=1))

    def predict_proba_marginalized(self, L_matrix: ArrayLike, verbose: bool = False) -> ArrayLike:
        """P(Y_t = +1 | votes) per task: ``(n,)`` for ``v = 1``, else ``(n * v,)``."""
        if self.v == 1 and self._em_fit is None and not self._log_multi:
            # independent LFs, one task: the log-odds alone, one output column instead of two
            self._check_fitted()
            t, back = as_tensor(L_matrix, name="L_matrix")
            votes = self._validated(t, "L_matrix", allow_empty=True)
            base, deltas = self._independent_terms(votes.device)
            log_odds = independent_log_scores(
                votes, (base[1] - base[0]).reshape(1), (deltas[..., 1] - deltas[..., 0])[..., None], class_values=_RAW
            )
            return back(torch.sigmoid(log_odds[:, 0]))
        scores, back = self._predict_scores(L_matrix)
        if self.v == 1:
            return back(torch.sigmoid(scores[:, 1] - scores[:, 0]))
        probs = torch.softmax(scores, dim=1).reshape((-1,) + (2,) * self.v)
        per_task = torch.stack([probs.select(t + 1, 1).reshape(probs.shape[0], -1).sum(1) for t in range(self.v)], 1)
        return back(per_task.reshape(-1))

    def predict(self, L_matrix: ArrayLike, verbose: bool = True) -> ArrayLike:
        """Most likely label vector: ``(n, v)`` in {-1, +1}."""
        scores, back = self._predict_scores(L_matrix)
        best = scores.argmax(1)
        bits = (best[:, None] >> torch.arange(self.v - 1, -1, -1, device=best.device)) & 1
        return back(2 * bits - 1)

    def estimated_accuracies(self) -> np.ndarray:
        """Upstream's accuracy: ``P(l_i = Y)`` with an abstention counted as wrong
        (coverage times the accuracy on voted items), shape ``(m,)``.

        Clamped to ``[0, 1]``: the triplet estimate of ``E[l_i Y]`` is a ratio
        of sample moments and can exceed the LF's coverage on small or
        inconsistent data (upstream then reports values above 1)."""
        self._check_fitted()
        return self._agreement.clamp(0.0, 1.0).detach().cpu().numpy()

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
            out[expectation_key(lfs, task, zeros, self.allow_abstentions)] = float(val)
        return out
