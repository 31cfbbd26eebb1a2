"""``MulticlassLabelModel``: a label model for ``k >= 2`` classes, Snorkel/WRENCH votes.

Votes follow the Snorkel/WRENCH convention: ``-1`` = abstain, ``0..k-1`` = the
class voted (see :mod:`weaksup.conventions`; FlyingSquid's +1/-1/0 votes go to
:class:`weaksup.LabelModel`, and :func:`weaksup.convert_votes` links the two).

The model is fitted from additive :class:`~weaksup.statistics.VoteStatistics`
alone (co-vote counts of every pair of LFs), so ``partial_fit`` over chunks,
streaming refits and :class:`weaksup.nn.FSCrossEntropyLoss` give exactly the
model of one ``fit``. Two methods:

``"pairwise_em"`` (the default)
    A class-conditional (Dawid-Skene) model: each LF ``i`` has a table
    ``P(response | Y)`` whose responses are "abstain" and each class. An LF
    that only ever votes one class (most real LFs) carries its information in
    how often it fires under each class, which this model sees and a
    symmetric accuracy cannot. Fitted by EM on the pairwise composite
    likelihood of the co-vote tables (abstentions included), seeded by and
    shrunk towards majority vote's trust (``P(Y = c | an LF votes c) =
    prior_accuracy``, weighing ``prior_strength`` votes), so sparse LFs stay
    close to majority vote, dense LFs are read from the data and LFs worse
    than random come out worse than random; pairs of LFs the model cannot fit
    (dependent LFs) are down-weighted, and the abstentions of an LF whose
    pairs the model cannot fit beyond sampling noise (LFs sharing keywords
    abstain together) stop counting as evidence
    (:func:`weaksup._pairwise_em.abstain_fit_active`). Each refit costs
    ``n_iter`` steps of ``O(R^2 k)``, ``R <= m (k + 1)`` the responses in use,
    independent of ``n``.

``"flyingsquid"``
    FlyingSquid's triplet method, exactly :class:`weaksup.LabelModel` for
    ``k = 2`` and one such model per class (that class against the rest, the
    binary statistics read from the same co-vote counts) beyond, as WRENCH
    runs FlyingSquid on many classes; the per-class ``P(Y = c | votes)`` are
    normalised to sum to 1.

The posterior is ``log P(y | votes) = log pi_y + sum over voting LFs of log
P(vote | y) + abstain_weight * sum over abstaining LFs i of fit_i log P(abstain
| y)``, ``fit_i`` in ``[0, 1]`` how well the model explains LF ``i``'s pairs
(all ones with ``pair_tolerance=None``).
So under ``"pairwise_em"`` an item on which every LF abstains gets ``P(Y |
no LF voted)``, which differs from the class balance when LFs fire more often
under some classes (the information one-sided LFs carry); with
``abstain_weight=0``, and under ``"flyingsquid"``, it gets the class balance.

The default's options were chosen with ``benchmarks/harness.py`` (WRENCH
youtube and trec, FlyingSquid's tennis videos) and the regimes of
:mod:`weaksup.synthetic`; ``notebooks/label_quality.ipynb`` has the table.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, Optional, Tuple

import torch

from ._backend import TINY, ArrayLike, as_tensor, small_cpu_work
from ._class_conditional import (
    DEFAULT_OPTIONS, agreement_accuracies_of, as_active, class_conditional_log_scores, fit_class_conditional,
)
from ._validation import check_bool, check_choice, check_int, check_real
from .base import NotFittedError, unchanged_on_error
from .class_balance import estimate_class_balance, resolve_class_balance
from .conventions import check_votes, warn_if_convention_misread
from .label_model import LabelModel
from .statistics import VoteStatistics, accumulate

__all__ = ["DEFAULT_METHOD", "METHODS", "MulticlassLabelModel", "one_vs_rest_statistics"]

METHODS = ("pairwise_em", "flyingsquid")
DEFAULT_METHOD = "pairwise_em"


class MulticlassLabelModel:
    """Label model for ``k`` classes over Snorkel/WRENCH votes (-1 = abstain).

    Args:
        cardinality: number of classes ``k`` (at least 2). Default: 2.
        method: ``"pairwise_em"`` or ``"flyingsquid"`` (see the module
            docstring). Default: ``"pairwise_em"``.
        n_iter: EM steps of ``"pairwise_em"``. Default: 100.
        prior_accuracy: ``"pairwise_em"``'s prior (and starting point) for
            ``P(Y = c | an LF votes c)``: majority vote's implicit trust, capped
            where an LF fires too often to be that precise. Default: 0.9.
        prior_strength: how many votes that prior weighs, per LF and voted
            class (an LF with far fewer votes stays near majority vote, one
            with far more is read from the data). Default: 10.
        prior_items: pseudo-items per class and LF that keep abstention rates
            off 0 and 1 on thin evidence. Default: 10.
        pair_tolerance: pairs of LFs whose joint table the model misses by
            this many nats per item weigh half (dependent LFs, such as
            near-duplicates, stop dragging each other's estimates); the same
            misfit, beyond sampling noise, removes an LF's abstention evidence
            from the posterior (see ``abstain_weight``). ``None`` weighs every
            pair alike and keeps every LF's abstentions. Default: 0.01.
        abstain_weight: how much of the abstention evidence ``log P(abstain |
            Y)`` the posterior uses: 1 = the plain Dawid-Skene posterior, 0 =
            abstentions ignored (then an all-abstain row gets exactly the class
            balance). Abstentions are the evidence most exposed to an error in
            the class balance and to LFs that abstain together, so it is
            tempered, and each LF's share is further scaled by how well the
            model fits its pairs (0 for an LF whose pairs are down-weighted
            by a quarter on average: copies of one another, shared keywords).
            Default: 0.75.
        tol: stop ``"pairwise_em"`` early once no probability moves by more
            than ``tol`` in a step (CPU only; ``None``: always ``n_iter``
            steps). Default: None.
        warm_start: refits start EM from the previous fit's confusion
            (scikit-learn's meaning) instead of the prior: with ``tol`` or a
            small ``n_iter``, a refit on statistics that moved a little costs
            a few steps, and the result is an online-EM approximation of a
            fresh fit. Default: False.

    Attributes (after ``fit``):
        n_lfs_: ``m``.
        class_balance_: ``(k,)`` the class balance used.
        confusion_: ``(m, k + 1, k)`` ``P(response r | Y = y)``, response 0 =
            abstain, ``c + 1`` = vote for ``c`` (``"pairwise_em"``; ``None``
            for ``"flyingsquid"`` and for so many classes that the table would
            not fit: then ``confusion_active_`` holds the responses given).
        confusion_active_: the confusion over the responses the LFs give
            (:class:`weaksup._pairwise_em.ActiveConfusion`; ``"pairwise_em"``).
        accuracies_: ``(m,)`` estimated ``P(vote correct | the LF votes)``.
        agreement_accuracies_: ``(m,)`` the same read from each LF's agreement
            with the others: rougher values that rank the LFs better (what
            :func:`weaksup.lf_summary` shows as ``est_acc``; ``"pairwise_em"``
            only, else ``None``).
        coverage_: ``(m,)`` fraction of items each LF votes on.
        statistics_: the :class:`VoteStatistics` of the fit.

    Shape:
        - ``L``: ``(n, m)`` votes in ``-1..k-1``.
        - ``predict_proba(L)``: ``(n, k)``, rows sum to 1.
        - ``predict(L)``: ``(n,)`` classes ``0..k-1``.
        - ``log_scores(codes)``: ``(n, k)`` unnormalised log posterior.

    Example:
        >>> import numpy as np
        >>> from weaksup.multiclass import MulticlassLabelModel
        >>> L = np.array([[0, 0, -1], [2, 2, 1], [1, 1, 1], [-1, 2, 2], [0, -1, 0]])
        >>> model = MulticlassLabelModel(3).fit(L)
        >>> model.predict_proba(L).shape
        (5, 3)
        >>> model.predict(L).tolist()
        [0, 2, 1, 2, 0]
    """

    convention = "snorkel"
    agreement_accuracies_ = property(agreement_accuracies_of, doc="See the class docstring.")

    def __init__(
        self,
        cardinality: int = 2,
        *,
        method: str = DEFAULT_METHOD,
        n_iter: int = DEFAULT_OPTIONS["n_iter"],
        prior_accuracy: float = DEFAULT_OPTIONS["prior_accuracy"],
        prior_strength: float = DEFAULT_OPTIONS["prior_strength"],
        prior_items: float = DEFAULT_OPTIONS["prior_items"],
        pair_tolerance: Optional[float] = DEFAULT_OPTIONS["pair_tolerance"],
        abstain_weight: float = DEFAULT_OPTIONS["abstain_weight"],
        tol: Optional[float] = None,
        warm_start: bool = False,
    ) -> None:
        self.cardinality = cardinality
        self.method = method
        self.n_iter = n_iter
        self.prior_accuracy = prior_accuracy
        self.prior_strength = prior_strength
        self.prior_items = prior_items
        self.pair_tolerance = pair_tolerance
        self.abstain_weight = abstain_weight
        self.tol = tol
        self.warm_start = warm_start

    # ------------------------------------------------------------------
    # scikit-learn style parameters
    # ------------------------------------------------------------------
    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p for p in sig.parameters if p != "self")

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor arguments, by name."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> "MulticlassLabelModel":
        """Set constructor arguments (checked at the next fit); returns ``self``."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"invalid parameter {key!r} for MulticlassLabelModel; valid: {valid}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        changed = [
            f"{name}={getattr(self, name)!r}"
            for name, p in sig.parameters.items()
            if name != "self" and getattr(self, name) != p.default
        ]
        return f"MulticlassLabelModel({', '.join(changed)})"

    @property
    def groups(self) -> Tuple:
        """LF groups whose joint vote tables the statistics must track: none,
        both methods read pairwise counts only."""
        return ()

    def _check_params(self) -> None:
        check_int(self.cardinality, "cardinality", minimum=2)
        check_choice(self.method, "method", METHODS)
        check_int(self.n_iter, "n_iter", minimum=0)
        check_real(self.prior_accuracy, "prior_accuracy", low=0, high=1, low_open=True, high_open=True)
        check_real(self.prior_strength, "prior_strength", low=0)
        check_real(self.prior_items, "prior_items", low=0)
        check_real(self.abstain_weight, "abstain_weight", low=0, high=1)
        check_real(self.pair_tolerance, "pair_tolerance", low=0, low_open=True, allow_none=True)
        check_real(self.tol, "tol", low=0, low_open=True, allow_none=True)
        check_bool(self.warm_start, "warm_start")

    def _options(self) -> Dict[str, Any]:
        """The solver options as plain Python numbers."""
        tol = self.pair_tolerance
        return dict(
            n_iter=int(self.n_iter), prior_accuracy=float(self.prior_accuracy),
            prior_strength=float(self.prior_strength), prior_items=float(self.prior_items),
            pair_tolerance=None if tol is None else float(tol), abstain_weight=float(self.abstain_weight),
            tol=None if self.tol is None else float(self.tol),
        )

    # ------------------------------------------------------------------
    # statistics and fitting
    # ------------------------------------------------------------------
    def accumulate(self, L: ArrayLike) -> VoteStatistics:
        """Validate votes ``(n, m)`` (-1 = abstain, classes ``0..k-1``) and count
        their :class:`VoteStatistics`. A fitted model checks ``m``."""
        return self._accumulate(L, getattr(self, "n_lfs_", None), "L")

    def _accumulate(self, L: ArrayLike, n_lfs: Optional[int], name: str) -> VoteStatistics:
        self._check_params()
        codes = check_votes(L, convention="snorkel", cardinality=self.cardinality, n_lfs=n_lfs, name=name, compact=True)
        return accumulate(codes, self.cardinality, self.groups)

    def fit(
        self, L: ArrayLike, class_balance: Optional[ArrayLike] = None, Y_dev: Optional[ArrayLike] = None
    ) -> "MulticlassLabelModel":
        """Fit on votes ``L`` ``(n, m)`` (any ``m``, even after another fit); returns ``self``.

        ``class_balance`` ``(k,)`` (probabilities, normalised here, or
        ``"uniform"``) wins over ``Y_dev`` (gold labels ``0..k-1``, counted as
        plain frequencies); with neither the balance is estimated from the
        votes (:mod:`weaksup.class_balance`). A call that raises leaves the
        model as it was. Warns once per model when ``L`` looks like votes with
        0 = abstain (:func:`~weaksup.conventions.warn_if_convention_misread`).
        """
        stats = self._accumulate(L, None, "L")
        self._fit(stats, class_balance, Y_dev, check_m=False)
        warn_if_convention_misread(stats, "snorkel", owner=self, name="L")
        return self

    def partial_fit(
        self, L: ArrayLike, class_balance: Optional[ArrayLike] = None, Y_dev: Optional[ArrayLike] = None
    ) -> "MulticlassLabelModel":
        """Add the statistics of ``L`` to those seen so far and refit.

        Over any chunking of the rows this gives exactly the model of one
        ``fit`` on all of them. A ``class_balance`` or ``Y_dev`` given here
        replaces the remembered one. A call that raises changes nothing.
        """
        batch = self.accumulate(L)
        previous = getattr(self, "statistics_", None)
        stats = batch if previous is None else previous.to(batch.device) + batch
        if class_balance is None and Y_dev is None:
            class_balance, Y_dev = getattr(self, "_balance_args", (None, None))
        self._fit(stats, class_balance, Y_dev, check_m=True)
        warn_if_convention_misread(batch, "snorkel", owner=self, name="L")
        return self

    def fit_statistics(
        self,
        stats: VoteStatistics,
        class_balance: Optional[ArrayLike] = None,
        Y_dev: Optional[ArrayLike] = None,
        init: Optional[Any] = None,
        *,
        tol: Optional[float] = None,
    ) -> "MulticlassLabelModel":
        """Fit from statistics alone; returns ``self``.

        ``init`` (``"pairwise_em"``): start EM from this confusion, a previous
        fit's ``confusion_active_`` or dense ``confusion_`` of the same LFs and
        classes, instead of the prior (what ``warm_start=True`` does with the
        model's own last fit). A loss that refits as its buffer moves keeps
        the confusion and passes it here, so a reloaded checkpoint refits the
        same. ``tol``: this call's early stop instead of the model's ``tol``
        (``None``: the model's).

        Reads only ``stats`` (no pass over items): ``O(n_iter R^2 k)`` for
        ``"pairwise_em"``, ``R <= m (k + 1)`` the responses the LFs give. Runs
        on the statistics' device; ``"flyingsquid"`` goes through
        :class:`weaksup.LabelModel`, which reads a few scalars back. A fitted
        model checks that ``stats`` has its number of LFs.
        """
        return self._fit(stats, class_balance, Y_dev, check_m=True, init=init, tol=tol)

    def _fit(
        self, stats, class_balance, Y_dev, check_m: bool, init: Optional[Any] = None, tol: Optional[float] = None
    ) -> "MulticlassLabelModel":
        # validate everything, then change state
        self._check_params()
        options = self._options()
        if tol is not None:
            options["tol"] = check_real(tol, "tol", low=0, low_open=True)
        k = self.cardinality
        if not isinstance(stats, VoteStatistics):
            raise TypeError(f"stats must be VoteStatistics (from accumulate), got {type(stats).__name__}")
        if stats.cardinality != k:
            raise ValueError(f"stats: statistics of {stats.cardinality} classes do not fit a model of cardinality={k}")
        m_known = getattr(self, "n_lfs_", None) if check_m else None
        if m_known is not None and stats.n_lfs != m_known:
            raise ValueError(f"stats: statistics of {stats.n_lfs} LFs do not fit a model of {m_known} LFs")
        if self.method == "flyingsquid" and stats.n_lfs < 3:
            raise ValueError(f"method='flyingsquid' needs at least 3 LFs (the triplet method), got {stats.n_lfs}")
        pi = resolve_class_balance(class_balance, Y_dev, cardinality=k, convention="snorkel")
        if init is None and self.warm_start:
            previous = getattr(self, "confusion_active_", None)
            if previous is not None and (previous.n_lfs, previous.cardinality) == (stats.n_lfs, k):
                init = previous
        if init is not None:
            init = as_active(init, stats.n_lfs, k)
        with small_cpu_work(stats.device), unchanged_on_error(self):
            pi = (estimate_class_balance(stats) if pi is None else pi).to(stats.device)
            self._balance_args = (class_balance, Y_dev)
            self._em_fit = self._fs_models = self.confusion_active_ = None
            if self.method == "flyingsquid":
                self._fit_flyingsquid(stats, pi)
            else:
                self._em_fit = fit_class_conditional(stats, pi, init=init, **options)
                self.confusion_ = self._em_fit.confusion
                self.confusion_active_ = self._em_fit.active
                self.accuracies_ = self._em_fit.accuracies
            self.coverage_ = stats.coverage_counts().to(torch.float64) / stats.n_items.to(torch.float64).clamp(min=1.0)
            self.class_balance_ = pi
            self.statistics_ = stats
            self.n_lfs_ = stats.n_lfs
        return self

    # ---- FlyingSquid, exact for k = 2, one-vs-all beyond -------------------
    def _fit_flyingsquid(self, stats: VoteStatistics, pi: torch.Tensor) -> None:
        k, m = self.cardinality, stats.n_lfs
        self.confusion_ = None
        if k == 2:
            model = LabelModel(m).fit_statistics(stats, class_balance=pi, solve_method="triplet_mean")
            self._fs_models = [model]
            self.accuracies_ = model.accuracies_
            return
        co = stats.co_votes
        models, acc_num = [], torch.zeros(m, dtype=torch.float64, device=co.device)
        votes = stats.vote_counts().to(torch.float64)
        for c in range(k):
            binary = one_vs_rest_statistics(stats, c)
            model = LabelModel(m).fit_statistics(binary, class_balance=torch.stack([1 - pi[c], pi[c]]), solve_method="triplet_mean")
            models.append(model)
            # P(Y = c | LF votes c), from the clique marginal of each LF
            prec = torch.zeros(m, dtype=torch.float64, device=co.device)
            for clique, t in model.clique_marginals_:
                if len(clique.lfs) == 1:
                    prec[clique.lfs[0]] = t[2, 1] / t[2].sum().clamp(min=TINY)
            acc_num = acc_num + votes[:, c] * prec
        self._fs_models = models
        cover = votes.sum(1)
        self.accuracies_ = torch.where(cover > 0, acc_num / cover.clamp(min=TINY), torch.full_like(cover, 1.0 / k))

    # ------------------------------------------------------------------
    # posterior
    # ------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if getattr(self, "n_lfs_", None) is None:
            raise NotFittedError("this MulticlassLabelModel is not fitted yet; call fit(L) first")

    def log_scores(self, codes: torch.Tensor) -> torch.Tensor:
        """Unnormalised log posterior ``(n, k)`` (float64) of validated codes
        ``(n, m)`` (int64, -1 = abstain), on the codes' device."""
        self._check_fitted()
        k = self.class_balance_.shape[0]  # the fitted cardinality
        if self._fs_models is not None:  # fitted with method="flyingsquid" (set_params waits for the next fit)
            if k == 2:
                return self._fs_models[0].log_scores(codes)
            cols = []
            for c, model in enumerate(self._fs_models):
                binary = torch.where(codes < 0, codes, (codes == c).to(codes.dtype))
                cols.append(torch.log_softmax(model.log_scores(binary), dim=1)[:, 1])
            return torch.stack(cols, 1)
        return class_conditional_log_scores(codes, self._em_fit)

    def _codes(self, L: ArrayLike):
        self._check_fitted()
        t, back = as_tensor(L, name="L")
        codes = check_votes(t, convention="snorkel", cardinality=self.class_balance_.shape[0], n_lfs=self.n_lfs_,
                            name="L", allow_empty=True, compact=True)
        return codes, back

    def predict_proba(self, L: ArrayLike) -> ArrayLike:
        """``P(Y = c | votes)``, ``(n, k)``, rows sum to 1, in ``L``'s array kind."""
        codes, back = self._codes(L)
        return back(torch.softmax(self.log_scores(codes), dim=1))

    def predict(self, L: ArrayLike) -> ArrayLike:
        """Most probable class ``(n,)`` (ties: the lower class index)."""
        codes, back = self._codes(L)
        return back(self.log_scores(codes).argmax(1))


def one_vs_rest_statistics(stats: VoteStatistics, c: int) -> VoteStatistics:
    """Binary statistics of "votes ``c``" (class 1) against "votes another
    class" (class 0), read from many-class co-vote counts (no pass over items)."""
    co = stats.co_votes
    k = co.shape[1]
    other = torch.ones(k, dtype=torch.bool, device=co.device)
    other[c] = False
    cc = co[:, c, :, c]
    co_o = co[:, other][:, :, :, other].sum((1, 3))
    c_o = co[:, c][:, :, other].sum(2)
    o_c = co[:, other][:, :, :, c].sum(1)
    binary = torch.stack([torch.stack([co_o, o_c], -1), torch.stack([c_o, cc], -1)], 1)  # (m, 2, m, 2)
    return VoteStatistics(n_items=stats.n_items, co_votes=binary)
