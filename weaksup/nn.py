"""Online weak-supervision losses for PyTorch.

:class:`FSLoss` is a drop-in for ``flyingsquid.pytorch_loss.FSLoss``: the end
model's logits are trained against soft labels that a FlyingSquid label model,
refitted as training goes, computes from the votes of labeling functions (LFs).
:class:`FSCrossEntropyLoss` is its sibling for ``k`` classes, and
:class:`MajorityVoteLoss` the baseline. The math lives in
:mod:`weaksup.functional`; the modules add the state: a ring buffer of recent
votes, its vote statistics, and the fitted label model.

How the online losses work (the same for all of them):

* Items are numbered ``0, 1, 2, ...`` in the order they arrive
  (``items_seen``).
* **The buffer** holds the votes of the most recent ``buffer_capacity`` items.
  Its :class:`~weaksup.statistics.VoteStatistics` are updated incrementally:
  the counts of a batch are added and the counts of the items it pushes out
  are subtracted. The counts are integers, so this is exact: the statistics
  always equal those of the buffer's items, each counted once.
* **A batch is processed at once.** (1) Its votes enter the buffer. (2) If the
  batch holds an item whose number is a multiple of ``update_frequency`` (the
  first batch always does), the label model is refit from the buffer's
  statistics as they are after the batch. A refit reads only the statistics,
  never the buffer, so it costs the same for ``buffer_capacity=100`` and
  ``1_000_000``. (3) Every item of the batch gets its soft label from the model
  as it is now. (4) The loss compares the logits with those soft labels.
* **Where this differs from upstream's per-item loop.** Upstream writes one
  item at a time, refits when the item's *ring position* is a multiple of
  ``update_frequency`` (on the buffer up to and including that item) and
  predicts that single row, so the items of one batch before a refit point use
  the previous model and ``update_frequency`` smaller than the batch means
  several refits per batch. weaksup refits at most once per batch, on the
  buffer including the whole batch, and scores the batch with one vectorised
  posterior: one refit and one pass instead of up to ``n`` refits and ``n``
  single-row predictions (the per-item loop is what makes upstream slow), and
  the items of a shuffled batch are exchangeable, so no item is better served
  by a model that has not seen its batch-mates. With batches of one item and
  ``update_frequency`` dividing ``buffer_capacity``, the two coincide.
  weaksup counts refit points by item number rather than ring position, which
  differs from upstream only when ``update_frequency`` does not divide
  ``buffer_capacity``.
* **A batch larger than the buffer** is accepted: only its last
  ``buffer_capacity`` items stay in the buffer (the earlier ones enter and are
  pushed out by their batch-mates; they are counted in ``items_seen``), the
  refit sees those, and every item of the batch is scored.
* **Items on which every LF abstains** get the label model's answer for "no
  LF voted" (``uncovered='keep'``, the default; upstream keeps them too), which
  for FlyingSquid's model is exactly the class balance, or are left out of the loss
  (``uncovered='ignore'``: they contribute 0 and do not count in the
  ``'mean'``). They always enter the buffer, as upstream's do.
* An **empty batch** changes nothing and returns a zero loss (``'none'``: an
  empty tensor) that still backpropagates.
* **Data parallel.** Under an initialised ``torch.distributed`` process group
  with more than one rank, each rank keeps its own buffer (``buffer_capacity``
  is per rank) and a refit all-reduces the statistics, so every rank fits the
  same model on the union of all ranks' buffers. The local statistics are
  never overwritten by the synced sum, so nothing is counted twice. A refit is
  a collective call: every rank must reach it, which holds when every rank
  feeds batches of the same size (as ``DistributedSampler`` does).
* **Checkpoints.** ``state_dict()`` holds the buffer, the counters, the
  buffer's statistics and the statistics the current model was fitted on (the
  fit is deterministic, so they rebuild exactly the same model after
  ``load_state_dict``): training that saves and reloads midway gives the same
  losses as training straight through.
* **Devices.** All state lives on the module's device (``device=`` or
  ``.to(device)``); the refit runs there on the statistics, with no copy of
  the buffer to the CPU. Inputs must be on the module's device (numpy votes
  are moved there). Validation reads a few scalars of each batch back to the
  host, to raise clear errors.
"""

from __future__ import annotations

import itertools
import numbers
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from . import functional as WF
from ._backend import as_tensor, small_cpu_work
from .conventions import check_labels, check_votes
from .distributed import all_reduce_statistics, distributed_active
from .label_model import SOLVE_METHODS, LabelModel
from .statistics import VoteStatistics

# Rows per chunk of the signed one-hot product (float32 sums stay exact far above it).
_CHUNK_ROWS = 1 << 16

__all__ = ["FSLoss", "FSCrossEntropyLoss", "MajorityVoteLoss"]

UNCOVERED = ("keep", "ignore")


def _check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    return value


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < 1:
        raise ValueError(f"{name} == {value}, must be >= 1")
    return value


def _optional_float_tensor(value: Any, name: str) -> Optional[torch.Tensor]:
    if value is None:
        return None
    t = torch.as_tensor(value, dtype=torch.float32).detach().clone()
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return t


def _same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    if a.type == "cpu":
        return True
    ia = a.index if a.index is not None else torch.cuda.current_device() if a.type == "cuda" else 0
    ib = b.index if b.index is not None else torch.cuda.current_device() if b.type == "cuda" else 0
    return ia == ib


class _OnlineLabelLoss(nn.Module):
    """The state shared by the online losses: ring buffer, statistics, refits.

    Subclasses set the vote convention and the label model: ``_convention``,
    ``_votes_to_codes`` (validated) and ``_votes_to_codes_unchecked``,
    ``_codes_to_votes``, ``_abstain_count``, ``_in_range``, ``_check_prediction_shape``, ``_fit``
    (statistics -> fitted model), ``_reset_model`` and ``_targets`` (codes ->
    soft labels).
    """

    _convention = "flyingsquid"
    _buffer_names = ("vote_codes", "buffer_size", "buffer_index", "items_seen", "refits")

    def _init_state(
        self,
        n_lfs: int,
        cardinality: int,
        groups: Sequence[Tuple[int, ...]],
        buffer_capacity: int,
        update_frequency: int,
        reduction: str,
        uncovered: str,
        distributed: Optional[bool],
        process_group: Any,
    ) -> None:
        self.buffer_capacity = _check_positive_int(buffer_capacity, "buffer_capacity")
        self.update_frequency = _check_positive_int(update_frequency, "update_frequency")
        self.reduction = WF.check_reduction(reduction)
        self.uncovered = _check_choice(uncovered, "uncovered", UNCOVERED)
        if distributed not in (None, True, False):
            raise TypeError(f"distributed must be None, True or False, got {distributed!r}")
        self.distributed = distributed
        self.process_group = process_group
        self._n_lfs = n_lfs
        self._k = cardinality
        self._groups = [tuple(int(i) for i in g) for g in groups]
        code_dtype = torch.int8 if cardinality <= 127 else torch.int32
        # the ring buffer holds vote codes (-1 = abstain, 0..k-1 = class; see weaksup.conventions);
        # the counters keep upstream's names
        self.register_buffer("vote_codes", torch.full((self.buffer_capacity, n_lfs), -1, dtype=code_dtype))
        self.register_buffer("buffer_size", torch.zeros(1, dtype=torch.long))
        self.register_buffer("buffer_index", torch.zeros(1, dtype=torch.long))
        self.register_buffer("items_seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("refits", torch.zeros((), dtype=torch.long))
        zeros = VoteStatistics.zeros(n_lfs, cardinality, self._groups)
        self._stat_keys = list(zeros.tensors())
        for prefix in ("stats_", "model_stats_"):
            for key, t in zeros.tensors().items():
                self.register_buffer(prefix + key, t.clone())
        # host mirrors of the counters: control flow never reads a device tensor
        self._size = 0
        self._index = 0
        self._seen = 0
        self._refits = 0
        self._model_stale = False
        self.last_targets: Optional[torch.Tensor] = None
        self.register_load_state_dict_post_hook(_after_load)

    # ---- state views ----------------------------------------------------
    @property
    def device(self) -> torch.device:
        """The device of the loss's state."""
        return self.vote_codes.device

    def _stats_view(self, prefix: str) -> VoteStatistics:
        buffers = self._buffers
        tables = {g: buffers[prefix + "group_" + "_".join(map(str, g))] for g in self._groups}
        return VoteStatistics(buffers[prefix + "n_items"], buffers[prefix + "co_votes"], tables)

    @property
    def statistics(self) -> VoteStatistics:
        """This rank's buffer statistics (a copy): the items in *this* buffer."""
        s = self._stats_view("stats_")
        return VoteStatistics(s.n_items.clone(), s.co_votes.clone(), {g: t.clone() for g, t in s.group_tables.items()})

    def synced_statistics(self) -> VoteStatistics:
        """The statistics of every rank's buffer together (a collective call under
        ``torch.distributed``; this rank's statistics outside it). A new value:
        the local statistics are left as they are."""
        if self._use_distributed():
            return all_reduce_statistics(self._stats_view("stats_"), self.process_group)
        return self.statistics

    def buffer_votes(self) -> torch.Tensor:
        """The votes in the buffer, oldest first, in this loss's convention.

        Shape:
            - output: ``(min(items_seen, buffer_capacity), m)``.
        """
        start = self._index if self._size == self.buffer_capacity else 0
        order = (torch.arange(self._size, device=self.device) + start) % self.buffer_capacity
        return self._codes_to_votes(self.vote_codes[order].to(torch.int64))

    @property
    def fitted(self) -> bool:
        return self._refits > 0

    def _use_distributed(self) -> bool:
        if self.distributed is False:
            return False
        active = distributed_active(self.process_group)
        if self.distributed is True and not active:
            import torch.distributed as dist

            if not (dist.is_available() and dist.is_initialized()):
                raise RuntimeError(
                    "distributed=True but torch.distributed is not initialised; call init_process_group first"
                )
        return active

    # ---- module plumbing ------------------------------------------------
    def _apply(self, fn, *args, **kwargs):
        out = super()._apply(fn, *args, **kwargs)
        self._model_stale = self._refits > 0  # rebuild the model on the new device
        self.last_targets = None
        return out

    def _sync_host_counters(self) -> None:
        self._size = int(self.buffer_size[0])
        self._index = int(self.buffer_index[0])
        self._seen = int(self.items_seen)
        self._refits = int(self.refits)
        self._model_stale = self._refits > 0

    def _write_counters(self) -> None:
        self.buffer_size.fill_(self._size)
        self.buffer_index.fill_(self._index)
        self.items_seen.fill_(self._seen)
        self.refits.fill_(self._refits)

    def reset(self) -> None:
        """Empty the buffer, zero the statistics and forget the fitted model."""
        for name, t in self.named_buffers(recurse=False):
            if name.startswith(("stats_", "model_stats_")) or name in self._buffer_names:
                t.fill_(-1 if name == "vote_codes" else 0)
        self._size = self._index = self._seen = self._refits = 0
        self._model_stale = False
        self.last_targets = None
        self._reset_model()

    # ---- the buffer -----------------------------------------------------
    def _push(self, codes: torch.Tensor) -> None:
        """Add a batch of codes, push out the oldest items; exact in integer counts."""
        n = codes.shape[0]
        cap = self.buffer_capacity
        keep = min(n, cap)
        codes = codes[n - keep :]
        slots = (self._index + torch.arange(keep, device=self.device)) % cap
        if self._size == cap:
            evicted = self.vote_codes[slots]
        else:  # not full yet: slots 0.._size-1 hold items, and the write index is _size
            evicted = self.vote_codes[: max(0, self._size + keep - cap)]
        self._count(codes, evicted)
        self.vote_codes[slots] = codes.to(self.vote_codes.dtype)
        self._index = (self._index + keep) % cap
        self._size = min(cap, self._size + keep)
        self._seen += n
        self._write_counters()

    def _count(self, added: torch.Tensor, removed: torch.Tensor) -> None:
        """Add the counts of ``added`` to the statistics and subtract those of
        ``removed`` (codes ``(n, m)``): one signed one-hot product per chunk,
        the same counts :func:`weaksup.statistics.accumulate` gives."""
        m, k = self._n_lfs, self._k
        n_add, n_rem = added.shape[0], removed.shape[0]
        rows = torch.cat([added, removed.to(added.dtype)]) if n_rem else added
        # exact: |a sum| <= chunk rows < 2**24 (float32 on the CPU); float64 elsewhere
        dtype = torch.float32 if rows.device.type == "cpu" else torch.float64
        classes = torch.arange(k, device=rows.device)
        co = self.stats_co_votes.view(m * k, m * k)
        for start in range(0, rows.shape[0], _CHUNK_ROWS):
            chunk = rows[start : start + _CHUNK_ROWS]
            onehot = (chunk.unsqueeze(-1) == classes).to(dtype).reshape(chunk.shape[0], m * k)
            left = onehot
            if n_rem and start + chunk.shape[0] > n_add:
                sign = torch.ones(chunk.shape[0], 1, dtype=dtype, device=rows.device)
                sign[max(0, n_add - start) :] = -1
                left = onehot * sign
            co += (left.T @ onehot).round_().to(torch.int64)
        self.stats_n_items.add_(n_add - n_rem)
        for g in self._groups:
            table = getattr(self, "stats_group_" + "_".join(map(str, g)))
            for part, sign in ((added, 1), (removed, -1)):
                if part.shape[0]:
                    state = torch.zeros(part.shape[0], dtype=torch.int64, device=part.device)
                    for i in g:
                        state = state * (k + 1) + (part[:, i].to(torch.int64) + 1)
                    table.add_(sign * torch.bincount(state, minlength=table.numel()))

    def _refit_due(self, first: int, n: int, update_frequency: int) -> bool:
        if n == 0:
            return False
        if self._refits == 0:
            return True
        next_point = -(-first // update_frequency) * update_frequency  # ceil to a multiple
        return next_point < first + n

    def refit(self) -> "_OnlineLabelLoss":
        """Refit the label model now from the buffer's statistics (all-reduced
        across ranks under ``torch.distributed``). Returns ``self``."""
        distributed = self._use_distributed()
        if self._size == 0 and not distributed:
            raise RuntimeError(
                f"{type(self).__name__} has no items to fit: the buffer is empty; call it on a batch first"
            )
        buffers = self._buffers
        if distributed:  # a new value: the local counts stay local
            synced = all_reduce_statistics(self._stats_view("stats_"), self.process_group).tensors()
            for key in self._stat_keys:
                buffers["model_stats_" + key].copy_(synced[key])
        else:
            for key in self._stat_keys:
                buffers["model_stats_" + key].copy_(buffers["stats_" + key])
        self._fit(self._stats_view("model_stats_"))
        self._refits += 1
        self.refits.fill_(self._refits)
        self._model_stale = False
        return self

    def _ensure_model(self) -> None:
        if self._model_stale:
            self._fit(self._stats_view("model_stats_"))
            self._model_stale = False

    def _check_device(self, t: torch.Tensor, name: str) -> None:
        if not _same_device(t.device, self.device):
            raise ValueError(
                f"{name} is on {t.device} but {type(self).__name__}'s state is on {self.device}: "
                f"move it with {name}.to({str(self.device)!r}) (or the loss with .to({str(t.device)!r}))"
            )

    def _as_votes(self, weak_labels: Any) -> torch.Tensor:
        if isinstance(weak_labels, torch.Tensor):
            self._check_device(weak_labels, "weak_labels")
            t = weak_labels
        else:
            t, _ = as_tensor(weak_labels)
            t = t.to(self.device)
        if t.dim() != 2 or t.shape[1] != self._n_lfs:
            hint = ""
            if t.dim() == 1 and t.shape[0] == self._n_lfs:
                hint = " (a single item: use weak_labels.reshape(1, -1))"
            elif t.dim() == 3:
                hint = " (flatten the LFs of all tasks into one axis: weak_labels.reshape(n, -1))"
            raise ValueError(
                f"weak_labels must have shape (n, m={self._n_lfs}), one row of LF votes per item, "
                f"got shape {tuple(t.shape)}{hint}"
            )
        return t

    def _validate(self, predictions: torch.Tensor, weak_labels: Any) -> torch.Tensor:
        """Check inputs; return the codes of the votes. One host read for the value checks."""
        if not isinstance(predictions, torch.Tensor):
            raise TypeError(f"predictions must be a torch.Tensor of logits, got {type(predictions).__name__}")
        if not predictions.is_floating_point():
            raise TypeError(f"predictions must be floating-point logits, got dtype {predictions.dtype}")
        self._check_device(predictions, "predictions")
        votes = self._as_votes(weak_labels)
        self._check_prediction_shape(predictions, votes.shape[0])
        n = votes.shape[0]
        nonfinite = (~torch.isfinite(predictions.detach())).sum()
        if n == 0:
            return votes.to(torch.int64)
        if votes.is_floating_point() or votes.dtype == torch.bool or votes.is_complex():
            codes = self._votes_to_codes(votes)  # the careful path (raises on bad values)
            bad_logits = int(nonfinite)
        else:
            lo, hi = torch.aminmax(votes)
            checks = [lo.to(torch.int64), hi.to(torch.int64), nonfinite]
            abstain = self._abstain_count(votes)
            if abstain is not None:
                checks.append(abstain)
            lo, hi, bad_logits, *rest = torch.stack(checks).tolist()
            n_abstain = rest[0] if rest else 0
            if not self._in_range(lo, hi, n_abstain):
                self._votes_to_codes(votes)  # raises with the convention's message
                raise ValueError(f"weak_labels hold values outside the {self._convention} convention")
            codes = self._votes_to_codes_unchecked(votes)
        if bad_logits:
            raise ValueError(
                f"predictions contain {bad_logits} NaN or infinite logit(s); the loss would be NaN. "
                "Check the end model (learning rate, inputs) before the loss."
            )
        return codes

    def _abstain_count(self, votes: torch.Tensor) -> Optional[torch.Tensor]:
        """Number of abstentions, where the convention needs it checked (else None)."""
        return None

    def _update(self, codes: torch.Tensor, update_frequency: Optional[int]) -> None:
        uf = self.update_frequency
        if update_frequency is not None:
            uf = _check_positive_int(update_frequency, "update_frequency")
        n = codes.shape[0]
        first = self._seen
        if n == 0:
            return
        self._push(codes)
        if self._refit_due(first, n, uf):
            self.refit()
        else:
            self._ensure_model()

    def predict_proba(self, weak_labels: Any) -> torch.Tensor:
        """Soft labels of ``weak_labels`` from the current model; changes no state.

        Shape: see the class's ``Shape`` section (``target``).
        """
        if not self.fitted:
            raise RuntimeError(f"{type(self).__name__} has not fitted its label model yet; call it on a batch first")
        votes = self._as_votes(weak_labels)
        codes = self._votes_to_codes(votes) if votes.shape[0] else votes.to(torch.int64)
        self._ensure_model()
        return self._targets(codes)

    def _valid(self, codes: torch.Tensor) -> Optional[torch.Tensor]:
        if self.uncovered == "ignore":
            return (codes >= 0).any(1)
        return None

    def _item_weight(self, weight: Any, n: int, ref: torch.Tensor) -> Optional[torch.Tensor]:
        if weight is None:
            return None
        if isinstance(weight, torch.Tensor):
            self._check_device(weight, "weight")
        w = torch.as_tensor(weight, device=ref.device)
        w = w.reshape(-1) if w.dim() == 2 and w.shape[1] == 1 else w
        if w.dim() != 1 or w.shape[0] != n:
            raise ValueError(f"weight must have shape ({n},), one weight per item, got shape {tuple(w.shape)}")
        return w.to(ref.dtype)

    def extra_repr(self) -> str:
        return (
            f"m={self._n_lfs}, buffer_capacity={self.buffer_capacity}, update_frequency={self.update_frequency}, "
            f"reduction={self.reduction!r}, uncovered={self.uncovered!r}"
        )


def _after_load(module: "_OnlineLabelLoss", incompatible_keys) -> None:
    module._sync_host_counters()
    module.last_targets = None


class FSLoss(_OnlineLabelLoss):
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
            count the class balance. Default: ``None``.
        cb: class balance, the ``2**v`` probabilities of the label vectors
            (wins over ``Y_dev``). Default: ``None`` (uniform).
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
            the class balance) or ``'ignore'`` (left out). Default: ``'keep'``.
        solve_method: the label model's ``solve_method`` (one of
            ``weaksup.label_model.SOLVE_METHODS``). Default: ``'triplet_mean'``.
        triplet_seed: seed of the label model's triplet shuffle. Default: 0.
        label_model: another label model to refit instead of FlyingSquid's,
            for example ``MulticlassLabelModel(2)`` (its class 0 is the
            negative, class 1 the positive label): anything with
            ``fit_statistics(stats, class_balance=...)``, ``log_scores(codes)``
            returning ``(n, 2**v)`` and ``groups`` (LF groups to count).
            Default: ``None`` (a :class:`~weaksup.LabelModel` built from the
            graph arguments).
        distributed: all-reduce statistics across ranks: ``None`` = when a
            process group with more than one rank is initialised. Default: ``None``.
        process_group: the group to all-reduce over. Default: ``None`` (world).

    Attributes:
        label_model (alias ``lm``): the :class:`~weaksup.LabelModel` refit
            from the buffer.
        last_targets: the soft labels of the last batch (detached).
        statistics: the buffer's :class:`~weaksup.statistics.VoteStatistics`
            (this rank's; :meth:`synced_statistics` for all ranks').
        Buffers (all in ``state_dict()``): ``vote_codes`` ``(buffer_capacity,
        m)`` int8, the ring buffer as codes (-1 abstain, 0 negative, 1
        positive; :meth:`buffer_votes` gives the votes, oldest first);
        upstream's counters ``buffer_size`` and ``buffer_index``;
        ``items_seen``; ``refits``; ``stats_*`` (the buffer's counts);
        ``model_stats_*`` (the counts the current model was fitted on);
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

    _convention = "flyingsquid"

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
        uncovered: str = "keep",
        solve_method: str = "triplet_mean",
        triplet_seed: Optional[int] = 0,
        label_model: Any = None,
        distributed: Optional[bool] = None,
        process_group: Any = None,
    ) -> None:
        super().__init__()
        self.m = m
        self.v = v
        self.task_deps = list(task_deps)
        self.lf_task_deps = list(lf_task_deps)
        self.lf_deps = list(lf_deps)
        self.Y_dev = Y_dev
        self.cb = cb
        self.allow_abstentions = bool(allow_abstentions)
        self.clamp_vals = bool(clamp_vals)
        self.triplets = triplets
        self.solve_method = _check_choice(solve_method, "solve_method", SOLVE_METHODS)
        graph_model = LabelModel(
            m, v=v, y_edges=self.task_deps, lambda_y_edges=self.lf_task_deps, lambda_edges=self.lf_deps,
            allow_abstentions=self.allow_abstentions, triplets=triplets, triplet_seed=triplet_seed,
        )
        self.lf_task_deps = list(graph_model.graph.lambda_y_edges)  # upstream's default filled in
        self._custom_model = label_model is not None
        self.label_model = graph_model if label_model is None else label_model
        groups = graph_model.graph.groups if label_model is None else list(getattr(label_model, "groups", ()) or ())
        self._init_state(
            m, 2, groups, buffer_capacity, update_frequency,
            reduction, uncovered, distributed, process_group,
        )
        self.register_buffer("class_balance", _binary_class_balance(cb, Y_dev, v))
        self.register_buffer("pos_weight", _optional_float_tensor(pos_weight, "pos_weight"))
        self.register_buffer("weight", _optional_float_tensor(weight, "weight"))
        configs = torch.tensor(list(itertools.product((0.0, 1.0), repeat=v)), dtype=torch.float64)
        self.register_buffer("_task_bits", configs, persistent=False)  # (2**v, v): bit of task t
        self.register_buffer("_vote_lut", torch.tensor([0, -1, 1]), persistent=False)
        self.to(device)

    @property
    def lm(self) -> LabelModel:
        """Upstream's name for :attr:`label_model`."""
        return self.label_model

    # ---- convention ------------------------------------------------------
    def _votes_to_codes(self, votes: torch.Tensor) -> torch.Tensor:
        codes = check_votes(votes, convention="flyingsquid", n_lfs=self.m, name="weak_labels", allow_empty=True)
        if not self.allow_abstentions and bool((codes < 0).any()):
            raise ValueError("weak_labels contain abstentions (0) but the loss was built with allow_abstentions=False")
        return codes

    def _votes_to_codes_unchecked(self, votes: torch.Tensor) -> torch.Tensor:
        # votes -1, 0, +1 -> codes 0, -1, 1: one lookup
        return self._vote_lut[votes.to(torch.int64) + 1]

    @staticmethod
    def _codes_to_votes(codes: torch.Tensor) -> torch.Tensor:
        return torch.where(codes < 0, torch.zeros_like(codes), 2 * codes - 1)

    def _abstain_count(self, votes: torch.Tensor) -> Optional[torch.Tensor]:
        return None if self.allow_abstentions else (votes == 0).sum().to(torch.int64)

    def _in_range(self, lo: int, hi: int, n_abstain: int) -> bool:
        return lo >= -1 and hi <= 1 and (self.allow_abstentions or n_abstain == 0)

    def _check_prediction_shape(self, predictions: torch.Tensor, n: int) -> None:
        ok = predictions.shape == (n, self.v) or (self.v == 1 and predictions.shape == (n,))
        if not ok:
            want = f"({n},) or ({n}, 1)" if self.v == 1 else f"({n}, {self.v})"
            raise ValueError(
                f"predictions must have shape {want} for {n} items and v={self.v} task(s), "
                f"got shape {tuple(predictions.shape)}"
            )

    # ---- model -----------------------------------------------------------
    def _fit(self, stats: VoteStatistics) -> None:
        with small_cpu_work(stats.device):
            if self._custom_model:
                self.label_model.fit_statistics(stats, class_balance=self.class_balance)
            else:
                self.label_model.fit_statistics(
                    stats, class_balance=self.class_balance, Y_dev=None, solve_method=self.solve_method
                )

    def _reset_model(self) -> None:
        if self._custom_model:
            return
        self.label_model = LabelModel(
            self.m, v=self.v, y_edges=self.task_deps, lambda_y_edges=self.lf_task_deps,
            lambda_edges=self.lf_deps, allow_abstentions=self.allow_abstentions,
            triplets=self.triplets, triplet_seed=self.label_model.triplet_seed,
        )

    def _targets(self, codes: torch.Tensor) -> torch.Tensor:
        """``(n, v)`` float64 P(Y_t = +1 | votes)."""
        if codes.shape[0] == 0:
            return torch.zeros((0, self.v), dtype=torch.float64, device=codes.device)
        scores = self.label_model.log_scores(codes)
        if scores.shape[1] != self._task_bits.shape[0]:
            raise ValueError(
                f"the label model scores {scores.shape[1]} label vectors, but v={self.v} task(s) need 2**v = "
                f"{self._task_bits.shape[0]}"
            )
        scores = scores.to(torch.float64)
        if self.v == 1:  # P(Y = +1) = sigmoid(s_+ - s_-): one op instead of a softmax and a product
            q = torch.sigmoid(scores[:, 1:] - scores[:, :1])
        else:
            q = torch.softmax(scores, dim=1) @ self._task_bits
        if self.clamp_vals:
            q = (q >= 0.5).to(q.dtype)
        return q

    # ---- forward ---------------------------------------------------------
    def forward(
        self,
        predictions: torch.Tensor,
        weak_labels: Any,
        update_frequency: Optional[int] = None,
        *,
        weight: Any = None,
    ) -> torch.Tensor:
        """Add ``weak_labels`` to the buffer, refit if due, return the loss of
        ``predictions`` against the soft labels (see the class docstring).

        Args:
            predictions: logits ``(n,)``/``(n, 1)`` (``v = 1``) or ``(n, v)``.
            weak_labels: votes ``(n, m)`` in {-1, 0, +1} (tensor on the loss's
                device, or a numpy array).
            update_frequency: overrides ``self.update_frequency`` for this call.
            weight: ``(n,)`` per-item weights. Default: ``None``.
        """
        codes = self._validate(predictions, weak_labels)
        n = codes.shape[0]
        item_weight = self._item_weight(weight, n, predictions)
        self._update(codes, update_frequency)
        if n == 0:
            targets = torch.zeros_like(predictions)
            self.last_targets = targets.detach().reshape(0, self.v)
        else:
            q = self._targets(codes)
            self.last_targets = q.detach()
            targets = q.to(predictions.dtype).reshape(predictions.shape)
        return WF.fs_loss(
            predictions, targets, weight=self.weight, pos_weight=self.pos_weight, reduction=self.reduction,
            item_weight=item_weight, valid=self._valid(codes),
        )

    def extra_repr(self) -> str:
        return f"v={self.v}, " + super().extra_repr()


def _binary_class_balance(cb: Any, Y_dev: Any, v: int) -> Optional[torch.Tensor]:
    """The ``2**v`` class balance from ``cb`` or counted from ``Y_dev`` (once, at
    construction, so a refit never reads ``Y_dev``); ``None`` = uniform."""
    n_vec = 2 ** v
    if cb is not None:
        t = torch.as_tensor(as_tensor(cb)[0], dtype=torch.float64).detach().cpu().reshape(-1).clone()
        if t.numel() != n_vec:
            raise ValueError(f"cb (class balance) must have 2**v = {n_vec} entries, got {t.numel()}")
        if not bool(torch.isfinite(t).all()) or bool((t < 0).any()) or float(t.sum()) <= 0:
            raise ValueError(f"cb (class balance) must be finite, non-negative and not all zero, got {t.tolist()}")
        return t / t.sum()
    if Y_dev is None:
        return None
    y, _ = as_tensor(Y_dev)
    y = y.detach().cpu()
    if y.dim() == 1:
        y = y.reshape(-1, 1)
    if y.dim() != 2 or y.shape[1] != v or y.shape[0] == 0:
        raise ValueError(
            f"Y_dev must have shape (n_dev, v={v}) (or (n_dev,) for v=1) with n_dev > 0, got {tuple(y.shape)}"
        )
    bits = torch.stack([check_labels(y[:, t], convention="flyingsquid", name="Y_dev") for t in range(v)], 1)
    index = (bits * (2 ** torch.arange(v - 1, -1, -1))).sum(1)
    counts = torch.bincount(index, minlength=n_vec).to(torch.float64)
    return counts / counts.sum()


class MajorityVoteLoss(nn.Module):
    r"""Majority vote as a loss (a baseline): BCE with logits against the vote share.

    A fixed drop-in for ``flyingsquid.pytorch_loss.MajorityVoteLoss`` (which
    fails on a missing import). Votes are FlyingSquid's (``+1``/``-1``, ``0`` =
    abstain). The target is 1 when more LFs vote +1 than -1, 0 when fewer,
    and 0.5 on a tie (upstream gave ties, and items without votes, 0: a bias
    towards the negative class). Stateless.

    Args:
        device: kept for upstream compatibility (the loss follows its inputs).
            Default: ``'cpu'``.
        pos_weight: weight of positive examples. Default: ``None``.
        reduction: ``'none' | 'mean' | 'sum'``. Default: ``'mean'``.
        uncovered: items on which every LF abstains: ``'keep'`` (target 0.5)
            or ``'ignore'``. Default: ``'keep'``.

    Shape:
        - predictions: ``(n,)`` or ``(n, 1)`` logits.
        - weak_labels: ``(n, m)`` votes in {-1, 0, +1}.
        - output: scalar; ``'none'``: the shape of ``predictions``.

    Example:
        >>> import torch
        >>> from weaksup.nn import MajorityVoteLoss
        >>> loss = MajorityVoteLoss()(torch.zeros(2), torch.tensor([[1, 1, -1], [0, 0, 0]]))
        >>> round(loss.item(), 4)
        0.6931
    """

    def __init__(
        self, device: Any = "cpu", pos_weight: Any = None, *, reduction: str = "mean", uncovered: str = "keep"
    ) -> None:
        super().__init__()
        self.reduction = WF.check_reduction(reduction)
        self.uncovered = _check_choice(uncovered, "uncovered", UNCOVERED)
        self.register_buffer("pos_weight", _optional_float_tensor(pos_weight, "pos_weight"))
        self.to(device)

    def forward(
        self,
        predictions: torch.Tensor,
        weak_labels: Any,
        update_frequency: Optional[int] = None,
        *,
        weight: Any = None,
    ) -> torch.Tensor:
        """Loss of ``predictions`` against the majority vote of ``weak_labels``
        (``update_frequency`` is accepted and ignored, as upstream)."""
        if not isinstance(predictions, torch.Tensor) or not predictions.is_floating_point():
            raise TypeError("predictions must be a floating-point tensor of logits")
        votes, _ = as_tensor(weak_labels)
        if votes.device != predictions.device:
            if isinstance(weak_labels, torch.Tensor):
                raise ValueError(f"weak_labels are on {votes.device} but predictions on {predictions.device}")
            votes = votes.to(predictions.device)
        codes = check_votes(votes, convention="flyingsquid", name="weak_labels", allow_empty=True)
        n = codes.shape[0]
        if predictions.shape not in ((n,), (n, 1)):
            raise ValueError(
                f"predictions must have shape ({n},) or ({n}, 1) for {n} items, got {tuple(predictions.shape)}"
            )
        if n and not bool(torch.isfinite(predictions.detach()).all()):
            raise ValueError("predictions contain NaN or infinite logits; the loss would be NaN")
        target = WF.majority_vote_targets(codes, 2)[:, 1].reshape(predictions.shape)
        item_weight = None
        if weight is not None:
            item_weight = torch.as_tensor(weight, device=predictions.device).reshape(-1)
            if item_weight.shape[0] != n:
                raise ValueError(f"weight must have shape ({n},), got {tuple(torch.as_tensor(weight).shape)}")
        valid = (codes >= 0).any(1) if self.uncovered == "ignore" else None
        return WF.fs_loss(predictions, target, pos_weight=self.pos_weight, reduction=self.reduction,
                          item_weight=item_weight, valid=valid)


class FSCrossEntropyLoss(_OnlineLabelLoss):
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
        class_balance: ``(k,)`` class probabilities. Default: ``None``
            (counted from ``Y_dev``, else the label model's default).
        Y_dev: gold labels ``0..k-1`` used only to count the class balance.
            Default: ``None``.
        buffer_capacity: items the buffer holds (per rank). Default: 100.
        update_frequency: refit every this many items. Default: 10.
        clamp_vals: train on the argmax (one-hot) instead of the soft label.
            Default: ``False``.
        weight: ``(k,)`` per-class weight, as in :class:`torch.nn.CrossEntropyLoss`.
            Default: ``None``.
        reduction: ``'none' | 'mean' | 'sum'``. Default: ``'mean'``.
        uncovered: items on which every LF abstains: ``'keep'`` (soft label =
            the model's answer for no votes) or ``'ignore'``. Default: ``'keep'``.
        device: where the state lives. Default: ``'cpu'``.
        label_model: the label model to refit (anything with ``accumulate``,
            ``fit_statistics(stats, class_balance=...)``, ``log_scores(codes)``
            and ``groups``). Default: ``MulticlassLabelModel(cardinality=k)``
            built with ``model_options``.
        model_options: keyword arguments for the default label model.
        distributed, process_group: as in :class:`FSLoss`.

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

    _convention = "snorkel"

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
        uncovered: str = "keep",
        device: Any = "cpu",
        label_model: Any = None,
        model_options: Optional[Dict[str, Any]] = None,
        distributed: Optional[bool] = None,
        process_group: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
            raise ValueError(f"m (number of labeling functions) must be an int >= 1, got {m!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
        self.m = int(m)
        self.num_classes = int(num_classes)
        self.clamp_vals = bool(clamp_vals)
        self.model_options = dict(model_options or {})
        if label_model is None:
            label_model = self._default_model()
        self.label_model = label_model
        self._init_state(
            self.m, self.num_classes, list(getattr(label_model, "groups", []) or []), buffer_capacity,
            update_frequency, reduction, uncovered, distributed, process_group,
        )
        self.register_buffer("class_balance", _multiclass_class_balance(class_balance, Y_dev, self.num_classes))
        weight_t = _optional_float_tensor(weight, "weight")
        if weight_t is not None and weight_t.shape != (self.num_classes,):
            raise ValueError(
                f"weight must have shape ({self.num_classes},), one weight per class, got {tuple(weight_t.shape)}"
            )
        self.register_buffer("weight", weight_t)
        self.to(device)

    def _default_model(self) -> Any:
        from .multiclass import MulticlassLabelModel

        return MulticlassLabelModel(cardinality=self.num_classes, **self.model_options)

    # ---- convention ------------------------------------------------------
    def _votes_to_codes(self, votes: torch.Tensor) -> torch.Tensor:
        return check_votes(
            votes, convention="snorkel", n_lfs=self.m, cardinality=self.num_classes,
            name="weak_labels", allow_empty=True,
        )

    @staticmethod
    def _votes_to_codes_unchecked(votes: torch.Tensor) -> torch.Tensor:
        return votes.to(torch.int64)

    @staticmethod
    def _codes_to_votes(codes: torch.Tensor) -> torch.Tensor:
        return codes

    def _in_range(self, lo: int, hi: int, n_abstain: int) -> bool:
        return lo >= -1 and hi < self.num_classes

    def _check_prediction_shape(self, predictions: torch.Tensor, n: int) -> None:
        if predictions.shape != (n, self.num_classes):
            raise ValueError(
                f"predictions must have shape ({n}, {self.num_classes}) for {n} items and "
                f"num_classes={self.num_classes}, got shape {tuple(predictions.shape)}"
            )

    # ---- model -----------------------------------------------------------
    def _fit(self, stats: VoteStatistics) -> None:
        with small_cpu_work(stats.device):
            self.label_model.fit_statistics(stats, class_balance=self.class_balance)

    def _reset_model(self) -> None:
        if type(self.label_model).__name__ == "MulticlassLabelModel":
            self.label_model = self._default_model()

    def _targets(self, codes: torch.Tensor) -> torch.Tensor:
        """``(n, k)`` float P(Y = c | votes)."""
        if codes.shape[0] == 0:
            return torch.zeros((0, self.num_classes), dtype=torch.float64, device=codes.device)
        q = torch.softmax(self.label_model.log_scores(codes).to(torch.float64), dim=1)
        if self.clamp_vals:
            q = torch.nn.functional.one_hot(q.argmax(1), self.num_classes).to(q.dtype)
        return q

    def forward(
        self,
        predictions: torch.Tensor,
        weak_labels: Any,
        update_frequency: Optional[int] = None,
        *,
        weight: Any = None,
    ) -> torch.Tensor:
        """Add ``weak_labels`` to the buffer, refit if due, return the
        cross-entropy of ``predictions`` ``(n, k)`` against the soft labels."""
        codes = self._validate(predictions, weak_labels)
        n = codes.shape[0]
        item_weight = self._item_weight(weight, n, predictions)
        self._update(codes, update_frequency)
        q = self._targets(codes)
        self.last_targets = q.detach()
        return WF.fs_cross_entropy(
            predictions, q.to(predictions.dtype), weight=self.weight, reduction=self.reduction,
            item_weight=item_weight, valid=self._valid(codes),
        )

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, " + super().extra_repr()


def _multiclass_class_balance(class_balance: Any, Y_dev: Any, k: int) -> Optional[torch.Tensor]:
    if class_balance is not None:
        t = torch.as_tensor(as_tensor(class_balance)[0], dtype=torch.float64).detach().cpu().reshape(-1).clone()
        if t.numel() != k:
            raise ValueError(f"class_balance must have num_classes = {k} entries, got {t.numel()}")
        if not bool(torch.isfinite(t).all()) or bool((t < 0).any()) or float(t.sum()) <= 0:
            raise ValueError(f"class_balance must be finite, non-negative and not all zero, got {t.tolist()}")
        return t / t.sum()
    if Y_dev is None:
        return None
    y = check_labels(as_tensor(Y_dev)[0].detach().cpu(), convention="snorkel", cardinality=k, name="Y_dev")
    if y.numel() == 0:
        raise ValueError("Y_dev is empty: pass gold labels or leave it None")
    counts = torch.bincount(y, minlength=k).to(torch.float64)
    return counts / counts.sum()
