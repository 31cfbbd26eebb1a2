"""The base of the online losses: state, ring buffer, refits, one template ``forward``.

:class:`OnlineLabelLoss` follows the shape of torchmetrics' ``Metric``: the state
is declared once in ``__init__`` with how it syncs across data-parallel ranks
(:meth:`OnlineLabelLoss.add_state`), :meth:`~OnlineLabelLoss.update` adds a
batch to it, :meth:`~OnlineLabelLoss.compute` turns the current model into soft
labels, and ``forward`` is the same six steps for every loss:

1. validate the whole call (``_prepare``) -- nothing changes before it passed;
2. under ``torch.distributed``, agree with the other ranks (``_agree``: one
   small all-reduce, so a bad batch on any rank raises on all of them);
3. ``update``: the batch enters the buffer and its counts the statistics; the
   label model is refit when due (atomic: a failing refit is rolled back);
4. ``compute``: soft labels of the batch from the model as it is now;
5. the loss of the predictions against them (``_loss``).

Subclasses implement the hooks marked *abstract* below: the vote convention,
the label model and the loss.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .. import functional as WF
from .._backend import as_tensor
from .._validation import check_choice, check_int
from ..conventions import warn_if_convention_misread
from ..distributed import agree_across_ranks, all_reduce_statistics, distributed_active
from ..statistics import VoteStatistics, count_update
from ._batch import Batch, item_weight, same_device

__all__ = ["OnlineLabelLoss", "UNCOVERED"]

UNCOVERED = ("keep", "ignore")
# integer dtypes whose values torch.aminmax reads directly (wider unsigned ones take the careful path)
_FAST_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


class OnlineLabelLoss(nn.Module):
    """State and schedule shared by :class:`~weaksup.nn.FSLoss` and
    :class:`~weaksup.nn.FSCrossEntropyLoss` (see :mod:`weaksup.nn`).

    Args:
        n_lfs: ``m``, the number of labeling functions.
        cardinality: ``k``, the number of classes the statistics count.
        groups: LF groups whose joint tables the statistics track.
        buffer_capacity, update_frequency, reduction, uncovered, distributed,
        process_group: as in the subclasses.
        check_logits: refuse NaN/inf predictions. ``None``: where the
            predictions live on the CPU (reading them is free there; on an
            accelerator the check would stall the pipeline every step and a
            non-finite logit gives a NaN loss, as in torch's own losses).

    State (buffers, all in ``state_dict()``; ``sync`` as in :meth:`add_state`):
        ``vote_codes`` ``(buffer_capacity, m)`` the ring buffer as codes
        (local); ``buffer_size``, ``buffer_index``, ``items_seen``, ``refits``
        (local counters); ``stats_*`` this rank's buffer statistics (summed
        across ranks at a refit); ``model_stats_*`` the statistics the current
        model was fitted on (already synced).
    """

    convention = "snorkel"
    _counter_names = ("buffer_size", "buffer_index", "items_seen", "refits")

    def __init__(
        self,
        n_lfs: int,
        cardinality: int,
        *,
        groups: Sequence[Tuple[int, ...]] = (),
        buffer_capacity: int = 100,
        update_frequency: int = 10,
        reduction: str = "mean",
        uncovered: str = "keep",
        distributed: Optional[bool] = None,
        process_group: Any = None,
        check_logits: Optional[bool] = None,
    ) -> None:
        super().__init__()
        self.buffer_capacity = check_int(buffer_capacity, "buffer_capacity", minimum=1)
        self.update_frequency = check_int(update_frequency, "update_frequency", minimum=1)
        self.reduction = WF.check_reduction(reduction)
        self.uncovered = check_choice(uncovered, "uncovered", UNCOVERED)
        self.distributed = check_choice(distributed, "distributed", (None, True, False))
        self.check_logits = check_choice(check_logits, "check_logits", (None, True, False))
        self.process_group = process_group
        self._n_lfs = n_lfs
        self._k = cardinality
        self._groups = [tuple(int(i) for i in g) for g in groups]
        self._sync: Dict[str, str] = {}
        code_dtype = torch.int8 if cardinality <= 127 else torch.int32
        self.add_state("vote_codes", torch.full((self.buffer_capacity, n_lfs), -1, dtype=code_dtype), sync="local")
        self._device = self.vote_codes.device
        self.add_state("buffer_size", torch.zeros(1, dtype=torch.long), sync="local")
        self.add_state("buffer_index", torch.zeros(1, dtype=torch.long), sync="local")
        self.add_state("items_seen", torch.zeros((), dtype=torch.long), sync="local")
        self.add_state("refits", torch.zeros((), dtype=torch.long), sync="local")
        self._add_statistics_state(VoteStatistics.zeros(n_lfs, cardinality, self._groups))
        # host mirrors of the counters: control flow never reads a device tensor
        self._size = self._index = self._seen = self._refits = 0
        self._model_stale = False
        self._convention_checked = False
        self.last_targets: Optional[torch.Tensor] = None
        self.register_load_state_dict_post_hook(_after_load)

    # plain Python attributes set every step: set directly, past nn.Module's
    # bookkeeping for parameters, buffers and submodules (none of them is one)
    _PLAIN = frozenset({
        "_size", "_index", "_seen", "_refits", "_model_stale", "last_targets",
        "_host_ok", "_host_posterior", "_model_behind", "_convention_checked", "_device",
    })

    def __setattr__(self, name: str, value: Any) -> None:
        if name in OnlineLabelLoss._PLAIN:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    # ---- declared state ---------------------------------------------------
    def add_state(self, name: str, value: torch.Tensor, *, sync: str) -> None:
        """Register a state tensor (a buffer, saved in ``state_dict()``).

        ``sync``: ``"local"`` (this rank's own, never reduced) or ``"sum"``
        (counts whose sum over ranks is the global value; summed at a refit).
        """
        self._sync[name] = check_choice(sync, "sync", ("local", "sum"))
        self.register_buffer(name, value)

    def _add_statistics_state(self, zeros: VoteStatistics) -> None:
        self._stat_keys = list(zeros.tensors())
        for key, t in zeros.tensors().items():
            self.add_state("stats_" + key, t.clone(), sync="sum")
            self.add_state("model_stats_" + key, t.clone(), sync="local")

    # ---- abstract hooks ---------------------------------------------------
    def _votes_to_codes(self, votes: torch.Tensor) -> torch.Tensor:
        """*abstract*: validate votes of any dtype (raise naming ``weak_labels``); return int64 codes."""
        raise NotImplementedError

    def _vote_range(self) -> Tuple[int, int]:
        """*abstract*: the smallest and largest valid integer vote."""
        raise NotImplementedError

    def _integer_votes_to_codes(self, votes: torch.Tensor) -> torch.Tensor:
        """*abstract*: codes of integer votes already known to lie in ``_vote_range``."""
        raise NotImplementedError

    def _codes_to_votes(self, codes: torch.Tensor) -> torch.Tensor:
        """*abstract*: the inverse of ``_votes_to_codes`` (this loss's convention)."""
        raise NotImplementedError

    def _check_prediction_shape(self, predictions: torch.Tensor, n: int) -> None:
        """*abstract*: raise a ``ValueError`` when ``predictions`` do not fit ``n`` items."""
        raise NotImplementedError

    def _fit(self, stats: VoteStatistics) -> None:
        """*abstract*: fit the label model on ``stats`` (may raise; the caller rolls back)."""
        raise NotImplementedError

    def _reset_model(self) -> None:
        """*abstract*: forget the fitted label model."""
        raise NotImplementedError

    def _soft_labels(self, batch: Batch) -> torch.Tensor:
        """*abstract*: soft labels of the batch's codes from the current model."""
        raise NotImplementedError

    def _loss(self, predictions: torch.Tensor, targets: torch.Tensor, batch: Batch) -> torch.Tensor:
        """*abstract*: the reduced loss of ``predictions`` against ``targets``."""
        raise NotImplementedError

    def _encode(self, batch: Batch) -> None:
        """Optional: cache an encoding of the codes in ``batch.features``."""

    def _count(self, batch: Batch, added: torch.Tensor, removed: torch.Tensor) -> None:
        """Add the counts of codes ``added`` to ``stats_*`` and subtract those of ``removed``."""
        count_update(self._stats_view("stats_"), added, removed)

    # ---- views --------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        """The device of the loss's state."""
        return self._device

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
        """Whether the label model has been fitted at least once."""
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

    # ---- module plumbing ----------------------------------------------------
    def _apply(self, fn, *args, **kwargs):
        out = super()._apply(fn, *args, **kwargs)
        self._device = self.vote_codes.device
        self._model_stale = self._refits > 0  # rebuild the model on the new device
        self.last_targets = None
        self._on_state_moved(contents_changed=False)
        return out

    def _on_state_moved(self, contents_changed: bool) -> None:
        """Hook: the state moved to another device (``contents_changed=False``)
        or was loaded or reset (``True``); a subclass's copies follow it."""

    def _sync_host_counters(self) -> None:
        self._size = int(self.buffer_size[0])
        self._index = int(self.buffer_index[0])
        self._seen = int(self.items_seen)
        self._refits = int(self.refits)
        self._model_stale = self._refits > 0
        self._on_state_moved(contents_changed=True)

    def _write_counters(self) -> None:
        self.buffer_size.fill_(self._size)
        self.buffer_index.fill_(self._index)
        self.items_seen.fill_(self._seen)
        self.refits.fill_(self._refits)

    def reset(self) -> None:
        """Empty the buffer, zero the statistics and forget the fitted model."""
        for name in self._sync:
            getattr(self, name).fill_(-1 if name == "vote_codes" else 0)
        self._size = self._index = self._seen = self._refits = 0
        self._model_stale = False
        self.last_targets = None
        self._reset_model()
        self._on_state_moved(contents_changed=True)

    # ---- validation (changes nothing) ---------------------------------------
    def _check_device(self, t: torch.Tensor, name: str) -> None:
        if t.device != self.device and not same_device(t.device, self.device):
            raise ValueError(
                f"{name} is on {t.device} but {type(self).__name__}'s state is on {self.device}: "
                f"move it with {name}.to({str(self.device)!r}) (or the loss with .to({str(t.device)!r}))"
            )

    def _as_votes(self, weak_labels: Any) -> torch.Tensor:
        """A tensor of ``weak_labels`` ``(n, m)``: on the loss's device, or on the
        host for a loss on an accelerator (validated there, moved after)."""
        if isinstance(weak_labels, torch.Tensor):
            if weak_labels.device.type != "cpu" or self.device.type == "cpu":
                self._check_device(weak_labels, "weak_labels")
            t = weak_labels
        else:
            t, _ = as_tensor(weak_labels, name="weak_labels")
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

    def _codes(self, votes: torch.Tensor) -> torch.Tensor:
        """Validated int64 codes of ``votes``: one ``aminmax`` for integer votes."""
        if votes.shape[0] == 0:
            return torch.zeros((0, self._n_lfs), dtype=torch.int64, device=self.device)
        if votes.dtype in _FAST_INT_DTYPES and votes.device.type != "meta":
            lo, hi = torch.aminmax(votes)
            low, high = self._vote_range()
            if lo.item() >= low and hi.item() <= high:
                codes = self._integer_votes_to_codes(votes)
                return codes if codes.device == self.device else codes.to(self.device, non_blocking=True)
        codes = self._votes_to_codes(votes)  # the careful path: raises with the convention's message
        return codes.to(self.device)

    def _check_predictions(self, predictions: Any) -> None:
        if not isinstance(predictions, torch.Tensor):
            raise TypeError(f"predictions must be a torch.Tensor of logits, got {type(predictions).__name__}")
        if not predictions.is_floating_point():
            raise TypeError(f"predictions must be floating-point logits, got dtype {predictions.dtype}")
        self._check_device(predictions, "predictions")

    def _check_logit_values(self, predictions: torch.Tensor) -> None:
        check = self.check_logits
        if check is None:
            check = predictions.device.type == "cpu"
        if not check or predictions.numel() == 0:
            return
        values = predictions.detach()
        if values.device.type == "cpu" and values.dtype in (torch.float32, torch.float64):
            if np.isfinite(values.numpy()).all():  # read on the host, past the dispatcher
                return
        elif math.isfinite(values.sum(dtype=torch.float64).item()):  # NaN or inf iff a logit is (or overflow)
            return
        bad = int((~torch.isfinite(values)).sum())
        if bad:
            raise ValueError(
                f"predictions contain {bad} NaN or infinite logit(s); the loss would be NaN. "
                "Check the end model (learning rate, inputs) before the loss."
            )

    def _item_weight(self, weight: Any, n: int, ref: torch.Tensor) -> Optional[torch.Tensor]:
        if isinstance(weight, torch.Tensor):
            self._check_device(weight, "weight")
        return item_weight(weight, n, ref)

    def _prepare(self, predictions: Any, weak_labels: Any, update_frequency: Any, weight: Any) -> Batch:
        """Validate a whole call; change nothing."""
        self._check_predictions(predictions)
        uf = self.update_frequency
        if update_frequency is not None:
            uf = check_int(update_frequency, "update_frequency", minimum=1)
        votes = self._as_votes(weak_labels)
        n = votes.shape[0]
        self._check_prediction_shape(predictions, n)
        item_weight = self._item_weight(weight, n, predictions)
        codes = self._codes(votes)
        self._check_logit_values(predictions)
        batch = Batch(codes=codes, n=n, update_frequency=uf, item_weight=item_weight, soft_dtype=predictions.dtype)
        self._encode(batch)
        return batch

    # ---- data parallel --------------------------------------------------------
    def _agree(self, batch: Optional[Batch], error: Optional[BaseException]) -> None:
        """Under ``torch.distributed``: one all-reduce of each rank's validity,
        batch size, items seen and refit decision; raise on every rank unless
        all ranks are valid and in step. Outside it: re-raise ``error``."""
        if not self._use_distributed():
            if error is not None:
                raise error
            return
        n = batch.n if batch is not None else -1
        due = batch is not None and self._refit_due(self._seen, n, batch.update_frequency)
        agree_across_ranks(
            ok=error is None, n=n, seen=self._seen, refit=due, error=error,
            group=self.process_group, device=self.device, owner=type(self).__name__,
        )
        batch.distributed = True

    def _check_convention(self) -> None:
        """Warn once if the buffer's votes look like the other convention's
        (:func:`weaksup.conventions.warn_if_convention_misread`); reads a few
        counts back, once, when the buffer first holds 200 votes."""
        if self._size * self._n_lfs < 200 or self.device.type == "meta":
            return
        self._convention_checked = True
        warn_if_convention_misread(self._stats_view("stats_"), self.convention, owner=self, name="weak_labels")

    # ---- update / compute -----------------------------------------------------
    def _refit_due(self, first: int, n: int, update_frequency: int) -> bool:
        if n == 0:
            return False
        if self._refits == 0:
            return True
        next_point = -(-first // update_frequency) * update_frequency  # ceil to a multiple
        return next_point < first + n

    def _slots(self, keep: int) -> Any:
        """Ring positions of the next ``keep`` items: a slice when they do not wrap."""
        start = self._index
        if start + keep <= self.buffer_capacity:
            return slice(start, start + keep)
        return (start + torch.arange(keep, device=self.device)) % self.buffer_capacity

    def update(self, batch: Batch) -> None:
        """Add the batch to the buffer and the statistics; refit when due.

        Atomic: when the refit raises, the buffer, counters and statistics are
        rolled back and the previous model is rebuilt before the error goes up.
        """
        n = batch.n
        if n == 0:
            return
        cap = self.buffer_capacity
        first = self._seen
        due = self._refit_due(first, n, batch.update_frequency)
        keep = min(n, cap)
        added = batch.codes[n - keep :] if keep < n else batch.codes
        slots = self._slots(keep)
        codes_buffer = self._buffers["vote_codes"]
        old = codes_buffer[slots].clone()
        # the items pushed out are the last ones of the slots written (all of them once the buffer is full)
        n_evicted = max(0, self._size + keep - cap)
        evicted = old if n_evicted == keep else old[keep - n_evicted :]
        undo = (slots, old, self._size, self._index, self._seen)
        self._count(batch, added, evicted)
        codes_buffer[slots] = added if added.dtype == codes_buffer.dtype else added.to(codes_buffer.dtype)
        self._index = (self._index + keep) % cap
        self._size = min(cap, self._size + keep)
        self._seen += n
        try:
            if due:
                self.refit()
            else:
                self._ensure_model()
        except BaseException:
            slots, old, self._size, self._index, self._seen = undo
            codes_buffer[slots] = old
            self._count(Batch(evicted, evicted.shape[0], 1, None), evicted, added)
            self._model_stale = self._refits > 0
            self._write_counters()
            raise
        self._write_counters()

    def refit(self) -> "OnlineLabelLoss":
        """Refit the label model now from the buffer's statistics (all-reduced
        across ranks under ``torch.distributed``). Returns ``self``.

        The statistics the model was fitted on replace ``model_stats_*`` only
        once the fit succeeded."""
        distributed = self._use_distributed()
        if self._size == 0 and not distributed:
            raise RuntimeError(
                f"{type(self).__name__} has no items to fit: the buffer is empty; call it on a batch first"
            )
        if distributed:  # a new value: the local counts stay local
            stats = all_reduce_statistics(self._stats_view("stats_"), self.process_group)
        else:
            stats = self._stats_view("stats_")
        self._fit(stats)
        target = self._stats_view("model_stats_").tensors()
        for key, t in stats.tensors().items():
            target[key].copy_(t)
        self._refits += 1
        self.refits.fill_(self._refits)
        self._model_stale = False
        return self

    def _ensure_model(self) -> None:
        if self._model_stale:
            self._fit(self._stats_view("model_stats_"))
            self._model_stale = False

    def compute(self, batch: Batch) -> torch.Tensor:
        """Soft labels of the batch from the current model (changes no state)."""
        self._ensure_model()
        return self._soft_labels(batch)

    def forward(
        self,
        predictions: torch.Tensor,
        weak_labels: Any,
        update_frequency: Optional[int] = None,
        *,
        weight: Any = None,
    ) -> torch.Tensor:
        """Add ``weak_labels`` to the buffer, refit if due, return the loss of
        ``predictions`` against the soft labels (see the class docstring for
        shapes). A call that raises changes no state.

        Args:
            predictions: logits (see ``Shape``).
            weak_labels: votes ``(n, m)`` in this loss's convention (a tensor on
                the loss's device, a CPU tensor, or a numpy array).
            update_frequency: overrides ``self.update_frequency`` for this call.
            weight: ``(n,)`` finite per-item weights. Default: ``None``.
        """
        batch, error = None, None
        try:
            batch = self._prepare(predictions, weak_labels, update_frequency, weight)
        except (ValueError, TypeError, RuntimeError) as err:
            error = err
        self._agree(batch, error)
        with torch.no_grad():
            self.update(batch)
            targets = self.compute(batch)
        if not self._convention_checked:
            self._check_convention()
        self.last_targets = targets
        return self._loss(predictions, targets, batch)

    def predict_proba(self, weak_labels: Any) -> torch.Tensor:
        """Soft labels of ``weak_labels`` from the current model; changes no state.

        Shape: see the class's ``Shape`` section (``target``).
        """
        if not self.fitted:
            raise RuntimeError(f"{type(self).__name__} has not fitted its label model yet; call it on a batch first")
        votes = self._as_votes(weak_labels)
        batch = Batch(codes=self._codes(votes), n=votes.shape[0], update_frequency=1, item_weight=None)
        self._encode(batch)
        with torch.no_grad():
            return self.compute(batch)

    def _valid(self, batch: Batch) -> Optional[torch.Tensor]:
        if self.uncovered == "ignore":
            return (batch.codes >= 0).any(1)
        return None

    # ---- adding classes ---------------------------------------------------------
    def _migrate_statistics(self, new_k: int) -> None:
        """Re-lay the statistics for ``new_k >= k`` classes (the old counts keep
        their meaning; the new classes have none). Counts no item."""
        old_k, m = self._k, self._n_lfs
        for prefix in ("stats_", "model_stats_"):
            old = self._stats_view(prefix)
            new = VoteStatistics.zeros(m, new_k, self._groups, device=self.device)
            new.n_items.copy_(old.n_items)
            new.co_votes[:, :old_k, :, :old_k] = old.co_votes
            for g, table in old.group_tables.items():
                states = torch.arange(old_k + 1, device=self.device)
                index = torch.zeros((), dtype=torch.int64, device=self.device)
                for _ in g:  # each digit keeps its state (0 = abstain, c + 1 = class c) in the wider base
                    index = (index.unsqueeze(-1) * (new_k + 1) + states).reshape(-1)
                new.group_tables[g][index] = table
            for key, t in new.tensors().items():
                self._buffers[prefix + key] = t
        if new_k > 127 and self.vote_codes.dtype == torch.int8:
            self._buffers["vote_codes"] = self.vote_codes.to(torch.int32)
        self._k = new_k

    def extra_repr(self) -> str:
        return (
            f"m={self._n_lfs}, buffer_capacity={self.buffer_capacity}, update_frequency={self.update_frequency}, "
            f"reduction={self.reduction!r}, uncovered={self.uncovered!r}"
        )


def _after_load(module: OnlineLabelLoss, incompatible_keys) -> None:
    module._sync_host_counters()
    module.last_targets = None
