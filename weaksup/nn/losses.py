"""The online losses: :class:`FSLoss` (binary, FlyingSquid) and
:class:`FSCrossEntropyLoss` (``k`` classes, Snorkel votes).

Both are :class:`~weaksup.nn._online.OnlineLabelLoss`: the buffer, the
statistics, the refit schedule and ``forward`` live there (see
:mod:`weaksup.nn`); here are the vote conventions, the label models and the
loss functions.
"""

from __future__ import annotations

import itertools
from typing import Any, Dict, Optional, Sequence, Tuple

import torch

from .. import functional as WF
from .._backend import small_cpu_work
from .._validation import check_bool, check_int
from ..conventions import check_votes
from ..label_model import LabelModel
from ..statistics import VoteStatistics
from ._config import (
    WARM_START_TOL, BalanceMixin, WarmStartMixin, check_configuration, fsloss_model_defaults, probe_statistics,
    resolve_warm_start,
)
from ._batch import Batch, optional_float_buffer
from ._online import OnlineLabelLoss
from ._resize import ResizeMixin
from ._triplet_path import FusedStepMixin

__all__ = ["FSLoss", "FSCrossEntropyLoss"]


class FSLoss(BalanceMixin, WarmStartMixin, FusedStepMixin, OnlineLabelLoss):
    r"""FlyingSquid as a loss: BCE with logits against an online label model.

    A drop-in for ``flyingsquid.pytorch_loss.FSLoss`` (same arguments, same
    call, FlyingSquid's votes: ``+1``/``-1``, ``0`` = abstain). Upstream's
    crashes (on construction, with ``clamp_vals=True`` and with ``v > 1``)
    are fixed. The buffer, the refits and the differences from upstream's
    per-item loop are described in :mod:`weaksup.nn`; in short: the buffer
    holds the most recent ``buffer_capacity`` items, the label model is refit
    from the buffer's statistics every ``update_frequency`` items (at most once
    per batch, after the batch enters the buffer), and each item's soft label
    :math:`q_{it} = P(Y_t = +1 \mid \text{votes}_i)` comes from the model as it
    was when the item's batch was scored. The loss is

    .. math::
        \ell_{it} = -w_{it}\,[\,p_t\, q_{it} \log\sigma(x_{it}) + (1 - q_{it}) \log(1 - \sigma(x_{it}))\,]

    (:func:`weaksup.functional.fs_loss`), reduced over items and tasks.

    Args:
        m: number of labeling functions (at least 3).
        v: number of tasks (a sequence's length). Default: 1.
        task_deps: ``(t, u)`` edges between tasks (a chain for sequences).
            Default: ``[]``.
        lf_task_deps: ``(i, t)``: LF ``i`` votes on task ``t``. Default: every
            LF on task 0.
        lf_deps: ``(i, j)`` edges between dependent LFs. Default: ``[]``.
        Y_dev: gold labels (-1/+1), ``(n_dev,)`` or ``(n_dev, v)``, used only to
            count the class balance (plain frequencies, the rule of
            :func:`weaksup.class_balance.resolve_class_balance`). Default: ``None``.
        cb: class balance, the ``2**v`` probabilities of the label vectors
            (wins over ``Y_dev``) or ``'uniform'``. Default: ``None`` (uniform,
            or estimated: see ``estimate_balance``).
        allow_abstentions: votes may be 0. Default: ``True``.
        device: where the state lives. Default: ``'cpu'``.
        buffer_capacity: items the buffer holds (per rank). Default: 100.
        update_frequency: refit every this many items. Default: 10.
        clamp_vals: round the soft labels to 0/1 (hard labels). Default: ``False``.
        triplets: fixed triplets, used by ``solve_method='triplet'``.
            Default: ``None``.
        pos_weight: weight of positive examples, one per task (broadcast), as
            in :class:`torch.nn.BCEWithLogitsLoss`. Default: ``None``.
        reduction: ``'none' | 'mean' | 'sum'``. Default: ``'mean'`` (over items
            and tasks, as upstream).
        weight: rescaling weight broadcast against the ``(n, v)`` loss (as in
            :class:`torch.nn.BCEWithLogitsLoss`). Default: ``None``.
        uncovered: items on which every LF abstains: ``'keep'`` (soft label =
            the class balance, as upstream) or ``'ignore'`` (left out of the
            loss). Default: ``'ignore'``.
        solve_method: the label model's ``solve_method`` (one of
            ``weaksup.label_model.SOLVE_METHODS``). Default: ``None``:
            ``'pairwise_em'`` for one task with independent LFs that may abstain
            (the better labels on real data), ``'triplet'`` when ``triplets`` are given, else
            ``'triplet_mean'`` (FlyingSquid's). FlyingSquid's exact loss is
            ``FSLoss(m, solve_method='triplet_mean', estimate_balance=False,
            uncovered='keep')``.
        triplet_seed: seed of the label model's triplet shuffle. Default: 0.
        label_model: another label model to refit instead of FlyingSquid's,
            for example ``MulticlassLabelModel(2)`` (its class 0 is the
            negative, class 1 the positive label): any object implementing
            :class:`weaksup.base.LabelModelProtocol` (the loss uses its
            ``groups``, ``fit_statistics(stats, class_balance=...)`` and
            ``log_scores(codes)``, which must return ``(n, 2**v)``).
            Default: ``None`` (a :class:`~weaksup.LabelModel` built from the
            graph arguments).
        distributed: all-reduce statistics across ranks: ``None`` = when a
            process group with more than one rank is initialised. Default: ``None``.
        process_group: the group to all-reduce over. Default: ``None`` (world).
        estimate_balance: with neither ``cb`` nor ``Y_dev``, estimate the class
            balance from the buffer's votes at each refit
            (:func:`weaksup.class_balance.estimate_class_balance`) instead of
            using the uniform one (upstream's). Default: ``None``: estimate for
            one task, uniform for sequences (``v > 1``).
        check_logits: refuse NaN/inf logits with a clear error; ``None``:
            where the logits are on the CPU (on an accelerator the check would
            wait for the device every step). Default: ``None``.
        warm_start: refits of the default model with ``'pairwise_em'`` start
            EM from the previous fit's confusion (the first fit is a fresh
            one) and stop once no probability moves more than 1e-4: several times
            less work per refit, the same labels as fresh fits in the
            measured regimes (an online-EM approximation of a fresh fit); the
            start is state (``model_init``), so checkpoints and data-parallel
            ranks stay exact. ``False``: every refit runs the full 100 EM
            steps from the prior. Default: ``None``: wherever it applies
            (the default model with ``'pairwise_em'``); ``True`` raises
            elsewhere.

    Configuration errors (a solve method the graph cannot use, a triplet
    naming a missing LF, ...) raise at construction: the label model is
    fitted once, on a copy, on a few synthetic items.

    Attributes:
        label_model (alias ``lm``): the :class:`~weaksup.LabelModel` refit
            from the buffer (with the default graph it is fitted when first
            read: the loss itself uses a fused form of the same fit).
        last_targets: the soft labels of the last batch (detached).
        statistics: the buffer's :class:`~weaksup.statistics.VoteStatistics`
            (this rank's; :meth:`synced_statistics` for all ranks').
        Buffers (all in ``state_dict()``): ``vote_codes`` ``(buffer_capacity,
        m)`` int8, the ring buffer as codes (-1 abstain, 0 negative, 1
        positive; :meth:`buffer_votes` gives the votes, oldest first);
        upstream's counters ``buffer_size`` and ``buffer_index``;
        ``items_seen``; ``refits``; ``stats_*`` (the buffer's counts);
        ``model_stats_*`` (the counts the current model was fitted on);
        ``model_init`` ``(m, 3, 2)`` and ``model_init_set`` (the confusion the
        current model's EM started from) with ``warm_start``;
        ``pos_weight``, ``weight`` and ``class_balance`` when set.

    Shape:
        - predictions (``input``): ``(n,)`` or ``(n, 1)`` logits for ``v = 1``;
          ``(n, v)`` for sequences.
        - weak_labels: ``(n, m)`` votes in {-1, 0, +1}; ``lf_task_deps`` says
          which task each column votes on.
        - weight (forward): ``(n,)``, one weight per item. Optional.
        - target (``predict_proba``, ``last_targets``): ``(n, v)``.
        - output: scalar; ``'none'``: the shape of ``predictions``.

    Example:
        >>> import torch
        >>> from weaksup.nn import FSLoss
        >>> criterion = FSLoss(3, buffer_capacity=1000, update_frequency=4)
        >>> logits = torch.zeros(4, requires_grad=True)
        >>> votes = torch.tensor([[1, 1, 0], [-1, -1, 1], [1, 0, 1], [-1, -1, -1]])
        >>> loss = criterion(logits, votes)
        >>> loss.backward()
        >>> criterion.last_targets.shape
        torch.Size([4, 1])
    """

    convention = "flyingsquid"

    def __init__(
        self,
        m: int,
        v: int = 1,
        task_deps: Sequence[Tuple[int, int]] = [],
        lf_task_deps: Sequence[Tuple[int, int]] = [],
        lf_deps: Sequence[Tuple[int, int]] = [],
        Y_dev: Any = None,
        cb: Any = None,
        allow_abstentions: bool = True,
        device: Any = "cpu",
        buffer_capacity: int = 100,
        update_frequency: int = 10,
        clamp_vals: bool = False,
        triplets: Any = None,
        pos_weight: Any = None,
        *,
        reduction: str = "mean",
        weight: Any = None,
        uncovered: str = "ignore",
        solve_method: Optional[str] = None,
        triplet_seed: Optional[int] = 0,
        label_model: Any = None,
        distributed: Optional[bool] = None,
        process_group: Any = None,
        estimate_balance: Optional[bool] = None,
        check_logits: Optional[bool] = None,
        warm_start: Optional[bool] = None,
    ) -> None:
        m = check_int(m, "m", minimum=1)
        v = check_int(v, "v", minimum=1)
        allow_abstentions = check_bool(bool(allow_abstentions), "allow_abstentions")
        solve_method, estimate_balance = fsloss_model_defaults(
            solve_method, estimate_balance, v=v, lf_deps=lf_deps, triplets=triplets, allow_abstentions=allow_abstentions
        )
        graph_model = LabelModel(
            m, v=v, y_edges=list(task_deps), lambda_y_edges=list(lf_task_deps), lambda_edges=list(lf_deps),
            allow_abstentions=allow_abstentions, triplets=triplets, triplet_seed=triplet_seed,
        )
        k_model = getattr(label_model, "cardinality", None)
        if label_model is not None and isinstance(k_model, int) and k_model != 2 ** v:
            raise ValueError(
                f"label_model scores {k_model} classes, but v={v} task(s) need 2**v = {2 ** v} label vectors"
            )
        groups = graph_model.graph.groups if label_model is None else tuple(getattr(label_model, "groups", ()) or ())
        super().__init__(
            m, 2, groups=groups, buffer_capacity=buffer_capacity, update_frequency=update_frequency,
            reduction=reduction, uncovered=uncovered, distributed=distributed, process_group=process_group,
            check_logits=check_logits,
        )
        self.m, self.v = m, v
        self.task_deps = list(task_deps)
        self.lf_task_deps = list(graph_model.graph.lambda_y_edges)  # upstream's default filled in
        self.lf_deps = list(lf_deps)
        self.Y_dev, self.cb = Y_dev, cb
        self.allow_abstentions = allow_abstentions
        self.clamp_vals = check_bool(bool(clamp_vals), "clamp_vals")
        self.triplets, self.triplet_seed = triplets, triplet_seed
        self.solve_method = solve_method
        if estimate_balance and v != 1:
            raise ValueError(f"estimate_balance=True needs one task (v=1), got v={v}; pass cb or Y_dev instead")
        self._init_balance(cb, Y_dev, 2, "flyingsquid", v, estimate_balance)
        self.register_buffer("pos_weight", optional_float_buffer(pos_weight, "pos_weight"))
        self.register_buffer("weight", optional_float_buffer(weight, "weight"))
        configs = torch.tensor(list(itertools.product((0.0, 1.0), repeat=v)), dtype=torch.float64)
        self.register_buffer("_task_bits", configs, persistent=False)  # (2**v, v): bit of task t
        self.register_buffer("_vote_lut", torch.tensor([0, -1, 1], dtype=torch.int8), persistent=False)
        self._custom_model = label_model is not None
        self._model = graph_model if label_model is None else label_model
        # FlyingSquid's model (one task, independent LFs, the triplet mean): the fused host step
        fused = label_model is None and v == 1 and graph_model.graph.independent and solve_method == "triplet_mean"
        self._init_fused(fused and allow_abstentions, self.class_balance if self.class_balance is not None else self._uniform)
        self._init_warm_start(resolve_warm_start(warm_start, applies=label_model is None and solve_method == "pairwise_em"))
        probe = probe_statistics(m, 2, groups)
        check_configuration(type(self).__name__, self._model, probe, lambda model, s: self._fit_model(model, s))
        self.to(device)

    # ---- label model ---------------------------------------------------------
    @property
    def label_model(self) -> Any:
        """The label model refit from the buffer (fitted on first read when the
        fused path did the refits)."""
        if self._model_behind and self.fitted:
            self._fit_model(self._model, self._stats_view("model_stats_"))
            self._model_behind = False
        return self._model

    @property
    def lm(self) -> Any:
        """Upstream's name for :attr:`label_model`."""
        return self.label_model

    def _fit_model(self, model: Any, stats: VoteStatistics, init: Optional[torch.Tensor] = None) -> None:
        balance = self._balance(stats)
        with small_cpu_work(stats.device):
            if self._custom_model:
                model.fit_statistics(stats, class_balance=balance)
            elif init is not None:  # a warm refit
                model.fit_statistics(
                    stats, class_balance=balance, Y_dev=None, solve_method=self.solve_method, init=init,
                    tol=WARM_START_TOL,
                )
            else:
                model.fit_statistics(stats, class_balance=balance, Y_dev=None, solve_method=self.solve_method)

    def _current_model(self) -> Any:
        return self._model

    def _fit(self, stats: VoteStatistics) -> None:
        if self._host_fit(stats):
            return
        self._host_posterior = None
        self._model_behind = False
        if self.warm_start:
            self._warm_fit(stats)
        else:
            self._fit_model(self._model, stats)

    def _reset_model(self) -> None:
        self._host_posterior = None
        self._model_behind = False
        if not self._custom_model:
            self._model = LabelModel(
                self.m, v=self.v, y_edges=self.task_deps, lambda_y_edges=self.lf_task_deps,
                lambda_edges=self.lf_deps, allow_abstentions=self.allow_abstentions,
                triplets=self.triplets, triplet_seed=self.triplet_seed,
            )
        self._reset_warm_start()

    # ---- convention ------------------------------------------------------------
    def _votes_to_codes(self, votes: torch.Tensor) -> torch.Tensor:
        codes = check_votes(votes, convention="flyingsquid", n_lfs=self.m, name="weak_labels", allow_empty=True)
        self._check_abstentions(codes)
        return codes

    def _check_abstentions(self, codes: torch.Tensor) -> None:
        if not self.allow_abstentions and bool((codes < 0).any()):
            raise ValueError("weak_labels contain abstentions (0) but the loss was built with allow_abstentions=False")

    def _vote_range(self) -> Tuple[int, int]:
        return -1, 1

    def _integer_votes_to_codes(self, votes: torch.Tensor) -> torch.Tensor:
        # votes -1, 0, +1 -> codes 0, -1, 1: one lookup (int8, the buffer's dtype)
        lut = self._vote_lut if votes.device == self._vote_lut.device else self._vote_lut.to(votes.device)
        codes = lut[votes.to(torch.int64) + 1 if votes.dtype != torch.int64 else votes + 1]
        self._check_abstentions(codes)
        return codes

    @staticmethod
    def _codes_to_votes(codes: torch.Tensor) -> torch.Tensor:
        return torch.where(codes < 0, torch.zeros_like(codes), 2 * codes - 1)

    def _check_prediction_shape(self, predictions: torch.Tensor, n: int) -> None:
        ok = predictions.shape == (n, self.v) or (self.v == 1 and predictions.shape == (n,))
        if not ok:
            want = f"({n},) or ({n}, 1)" if self.v == 1 else f"({n}, {self.v})"
            raise ValueError(
                f"predictions must have shape {want} for {n} items and v={self.v} task(s), "
                f"got shape {tuple(predictions.shape)}"
            )

    # ---- soft labels and loss ------------------------------------------------
    def _targets(self, codes: torch.Tensor) -> torch.Tensor:
        """``(n, v)`` float64 P(Y_t = +1 | votes) of codes ``(n, m)`` on the loss's device."""
        batch = Batch(codes=codes, n=codes.shape[0], update_frequency=1, item_weight=None)
        self._encode(batch)
        return self._soft_labels(batch)

    def _soft_labels(self, batch: Batch) -> torch.Tensor:
        if batch.n == 0:
            return torch.zeros((0, self.v), dtype=torch.float64, device=self.device)
        q = self._host_targets(batch, batch.soft_dtype)
        if q is not None:
            return q if self.device.type == "cpu" else q.to(self.device, non_blocking=True)
        if self._model_behind:  # the fused path fitted on the host; these votes are on the device
            self._host_posterior = None
            self._model_behind = False
            self._fit_model(self._model, self._stats_view("model_stats_"))
        codes = batch.codes if batch.codes.device == self.device else batch.codes.to(self.device)
        scores = self._model.log_scores(codes)
        if scores.shape[1] != self._task_bits.shape[0]:
            raise ValueError(
                f"the label model scores {scores.shape[1]} label vectors, but v={self.v} task(s) need "
                f"2**v = {self._task_bits.shape[0]}"
            )
        scores = scores.to(torch.float64)
        if self.v == 1:  # P(Y = +1) = sigmoid(s_+ - s_-): one op instead of a softmax and a product
            q = torch.sigmoid(scores[:, 1:] - scores[:, :1])
        else:
            q = torch.softmax(scores, dim=1) @ self._task_bits
        if self.clamp_vals:
            q = (q >= 0.5).to(q.dtype)
        return q

    def _loss(self, predictions: torch.Tensor, targets: torch.Tensor, batch: Batch) -> torch.Tensor:
        if batch.n == 0:
            soft = torch.zeros_like(predictions)
        elif batch.soft is not None:  # made on the host in the predictions' dtype
            soft = batch.soft if self.v == 1 and predictions.dim() == 1 else batch.soft.reshape(predictions.shape)
        else:
            soft = targets.to(predictions.dtype).reshape(predictions.shape)
        return WF.fs_loss(
            predictions, soft, weight=self.weight, pos_weight=self.pos_weight, reduction=self.reduction,
            item_weight=batch.item_weight, valid=self._valid(batch),
        )

    def extra_repr(self) -> str:
        return f"v={self.v}, " + super().extra_repr()


class FSCrossEntropyLoss(BalanceMixin, WarmStartMixin, ResizeMixin, OnlineLabelLoss):
    r"""Cross-entropy against an online many-class label model.

    The ``k``-class sibling of :class:`FSLoss` (same buffer, refits, devices,
    checkpoints and data-parallel behaviour, described in :mod:`weaksup.nn`),
    in the Snorkel/WRENCH vote convention: ``-1`` = abstain, classes
    ``0..k-1``. Each item's soft label :math:`q_{ic} = P(Y_i = c \mid
    \text{votes}_i)` comes from a :class:`~weaksup.multiclass.MulticlassLabelModel`
    refit from the buffer's statistics, and the loss is

    .. math::
        \ell_i = -\sum_c w_c\, q_{ic} \log \operatorname{softmax}(x_i)_c

    (:func:`weaksup.functional.fs_cross_entropy`).

    Args:
        m: number of labeling functions.
        num_classes: ``k``.
        class_balance: ``(k,)`` class probabilities or ``'uniform'``.
            Default: ``None`` (counted from ``Y_dev``, else uniform or
            estimated, see ``estimate_balance``).
        Y_dev: gold labels ``0..k-1`` used only to count the class balance
            (plain frequencies, as :class:`~weaksup.MulticlassLabelModel`).
            Default: ``None``.
        buffer_capacity: items the buffer holds (per rank). Default: 100.
        update_frequency: refit every this many items. Default: 10.
        clamp_vals: train on the argmax (one-hot) instead of the soft label.
            Default: ``False``.
        weight: ``(k,)`` per-class weight, as in :class:`torch.nn.CrossEntropyLoss`.
            Default: ``None``.
        reduction: ``'none' | 'mean' | 'sum'``. Default: ``'mean'``.
        uncovered: items on which every LF abstains: ``'keep'`` (soft label =
            the model's answer for no votes) or ``'ignore'`` (left out of the
            loss). Default: ``'ignore'``.
        device: where the state lives. Default: ``'cpu'``.
        label_model: the label model to refit: any object implementing
            :class:`weaksup.base.LabelModelProtocol`. Default:
            ``MulticlassLabelModel(cardinality=k)`` built with ``model_options``.
        model_options: keyword arguments for the default label model.
        estimate_balance: with neither ``class_balance`` nor ``Y_dev``,
            estimate the balance from the buffer's votes at each refit instead
            of the uniform one. Default: ``True``.
        distributed, process_group, check_logits: as in :class:`FSLoss`.
        warm_start: refits of the default model start EM from the previous
            fit's confusion (the first fit is a fresh one) and stop once no
            probability moves more than ``tol`` (model option, default 1e-4):
            several times less work per refit, the same labels as fresh fits
            in the measured regimes (an online-EM approximation of a fresh
            fit); the start is state (``model_init`` ``(m, k + 1, k)``,
            ``model_init_set``), so checkpoints and data-parallel ranks stay
            exact. ``False``: every refit runs ``n_iter`` EM steps from the
            prior. Default: ``None``: wherever it applies (the default model
            with ``method='pairwise_em'``); ``True`` raises elsewhere.

    Adding a class (a new label during training): :meth:`add_class` or
    :meth:`resize` migrate the buffer, the statistics and the model without
    counting any item or moving the refit schedule.

    Shape:
        - predictions (``input``): ``(n, k)`` logits.
        - weak_labels: ``(n, m)`` votes in ``-1..k-1``.
        - weight (forward): ``(n,)`` per-item weights. Optional.
        - target (``predict_proba``, ``last_targets``): ``(n, k)``.
        - output: scalar; ``'none'``: ``(n,)``.

    Example:
        >>> import torch
        >>> from weaksup.nn import FSCrossEntropyLoss
        >>> criterion = FSCrossEntropyLoss(3, 3, buffer_capacity=1000)
        >>> votes = torch.tensor([[0, 0, -1], [2, 1, 2], [1, 1, 1], [-1, 2, 2]])
        >>> logits = torch.zeros(4, 3, requires_grad=True)
        >>> loss = criterion(logits, votes)
        >>> loss.backward()
        >>> criterion.last_targets.shape
        torch.Size([4, 3])
    """

    convention = "snorkel"

    def __init__(
        self,
        m: int,
        num_classes: int,
        *,
        class_balance: Any = None,
        Y_dev: Any = None,
        buffer_capacity: int = 100,
        update_frequency: int = 10,
        clamp_vals: bool = False,
        weight: Any = None,
        reduction: str = "mean",
        uncovered: str = "ignore",
        device: Any = "cpu",
        label_model: Any = None,
        model_options: Optional[Dict[str, Any]] = None,
        distributed: Optional[bool] = None,
        process_group: Any = None,
        estimate_balance: bool = True,
        check_logits: Optional[bool] = None,
        warm_start: Optional[bool] = None,
    ) -> None:
        m = check_int(m, "m", minimum=1)
        num_classes = check_int(num_classes, "num_classes", minimum=2)
        if model_options is not None and not isinstance(model_options, dict):
            raise TypeError(f"model_options must be a dict of keyword arguments, got {type(model_options).__name__}")
        self.model_options = dict(model_options or {})
        if label_model is not None and self.model_options:
            raise ValueError("model_options configure the default label model; pass them to label_model instead")
        applies = label_model is None and self.model_options.get("method", "pairwise_em") == "pairwise_em"
        warm_start = resolve_warm_start(warm_start, applies=applies)
        self._custom_model = label_model is not None
        model = label_model if label_model is not None else self._default_model(num_classes)
        super().__init__(
            m, num_classes, groups=tuple(getattr(model, "groups", ()) or ()), buffer_capacity=buffer_capacity,
            update_frequency=update_frequency, reduction=reduction, uncovered=uncovered, distributed=distributed,
            process_group=process_group, check_logits=check_logits,
        )
        self.m, self.num_classes = m, num_classes
        self.label_model = model
        self.clamp_vals = check_bool(bool(clamp_vals), "clamp_vals")
        self._init_balance(class_balance, Y_dev, num_classes, "snorkel", 1, estimate_balance)
        self.register_buffer("weight", self._class_weight(weight, num_classes))
        self._init_warm_start(warm_start)
        probe = probe_statistics(m, num_classes, self._groups)
        check_configuration(type(self).__name__, model, probe, self._fit_model)
        self.to(device)

    def _default_model(self, k: int) -> Any:
        from ..multiclass import MulticlassLabelModel

        try:
            return MulticlassLabelModel(cardinality=k, **self.model_options)
        except TypeError as err:
            raise TypeError(f"model_options: {err}") from None

    @staticmethod
    def _class_weight(weight: Any, k: int) -> Optional[torch.Tensor]:
        t = optional_float_buffer(weight, "weight")
        if t is not None and t.shape != (k,):
            raise ValueError(f"weight must have shape ({k},), one weight per class, got {tuple(t.shape)}")
        return t

    # ---- label model -------------------------------------------------------------
    def _fit_model(self, model: Any, stats: VoteStatistics, init: Optional[torch.Tensor] = None) -> None:
        with small_cpu_work(stats.device):
            if init is None:
                model.fit_statistics(stats, class_balance=self._balance(stats))
            else:  # a warm refit: EM stops at the model's tol, else at WARM_START_TOL
                tol = self.model_options.get("tol") or WARM_START_TOL
                model.fit_statistics(stats, class_balance=self._balance(stats), init=init, tol=tol)

    def _current_model(self) -> Any:
        return self.label_model

    def _fit(self, stats: VoteStatistics) -> None:
        if self.warm_start:
            self._warm_fit(stats)
        else:
            self._fit_model(self.label_model, stats)

    def _reset_model(self) -> None:
        if not self._custom_model:
            self.label_model = self._default_model(self.num_classes)
        self._reset_warm_start()

    # ---- convention ----------------------------------------------------------------
    def _votes_to_codes(self, votes: torch.Tensor) -> torch.Tensor:
        return check_votes(
            votes, convention="snorkel", n_lfs=self.m, cardinality=self.num_classes,
            name="weak_labels", allow_empty=True,
        ).to(torch.int64)

    def _vote_range(self) -> Tuple[int, int]:
        return -1, self.num_classes - 1

    @staticmethod
    def _integer_votes_to_codes(votes: torch.Tensor) -> torch.Tensor:
        return votes if votes.dtype == torch.int64 else votes.to(torch.int64)

    @staticmethod
    def _codes_to_votes(codes: torch.Tensor) -> torch.Tensor:
        return codes

    def _check_prediction_shape(self, predictions: torch.Tensor, n: int) -> None:
        if predictions.shape != (n, self.num_classes):
            raise ValueError(
                f"predictions must have shape ({n}, {self.num_classes}) for {n} items and "
                f"num_classes={self.num_classes}, got shape {tuple(predictions.shape)}"
            )

    # ---- soft labels and loss ----------------------------------------------------
    def _targets(self, codes: torch.Tensor) -> torch.Tensor:
        """``(n, k)`` float64 P(Y = c | votes)."""
        if codes.shape[0] == 0:
            return torch.zeros((0, self.num_classes), dtype=torch.float64, device=codes.device)
        q = torch.softmax(self.label_model.log_scores(codes).to(torch.float64), dim=1)
        if self.clamp_vals:
            q = torch.nn.functional.one_hot(q.argmax(1), self.num_classes).to(q.dtype)
        return q

    def _soft_labels(self, batch: Batch) -> torch.Tensor:
        return self._targets(batch.codes)

    def _loss(self, predictions: torch.Tensor, targets: torch.Tensor, batch: Batch) -> torch.Tensor:
        return WF.fs_cross_entropy(
            predictions, targets.to(predictions.dtype), weight=self.weight, reduction=self.reduction,
            item_weight=batch.item_weight, valid=self._valid(batch),
        )

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, " + super().extra_repr()

