"""The fused host path of :class:`~weaksup.nn.FSLoss` with FlyingSquid's model.

With one task, conditionally independent LFs and ``solve_method='triplet_mean'``
(FlyingSquid's model) and votes that arrive on the host (a numpy array or a CPU
tensor, as a DataLoader yields them), a whole training step of the loss is a
handful of tiny array operations on the host plus one matrix-vector product on
the loss's device:

1. the batch's codes and one-hot votes ``X`` ``(n, 2m)`` (column ``2 i + c``:
   LF ``i`` voted class ``c``; class 0 = the vote -1, class 1 = +1);
2. the count update ``C += X^T X - E^T E`` of the ``2m x 2m`` co-vote matrix
   (``E``: the one-hot votes of the items pushed out of the ring buffer);
3. the refit, from ``C`` alone: second moments and co-coverage ``T^T C T`` for
   a fixed ``T``; the closed-form triplet mean of the accuracies (as
   :func:`weaksup.triplets.all_pairs_accuracies`, here in numpy); each LF's
   table ``P(l_i, Y)`` in closed form (below);
4. the posterior logit is linear in the one-hot votes:
   ``logit P(Y = +1 | votes) = X w + b``, also on the host; the device gets
   the soft labels (one upload off the CPU) and computes only the loss.

Step 3's tables: with ``p_+ = P(l = +1)``, ``p_0 = P(l = 0)``, ``p_y = P(Y = +1)``
and ``g = P(l Y = 1) = (1 + E[l Y] - p_0) / 2``, FlyingSquid's linear system for
one LF (abstentions independent of ``Y``) solves to
``P(+1, +1) = (g + p_+ - (1 - p_y)(1 - p_0)) / 2``, ``P(-1, -1) = g - P(+1, +1)``,
``P(+1, -1) = p_+ - P(+1, +1)``, ``P(-1, +1) = p_y (1 - p_0) - P(+1, +1)``,
``P(0, y) = p_0 P(y)``; negative cells are flipped (``flip_negative``) and the
table renormalised, as :class:`~weaksup.LabelModel` does. The tests check that
this path equals :class:`~weaksup.LabelModel` to float64 rounding.

The host keeps its own copy of the ring buffer and of the counts (on the CPU:
numpy views of the loss's buffers, so there is one copy); on an accelerator
the device buffers are updated by uploads in the same step, and nothing is
read back from the device, so a training step never waits for it.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch

from .._backend import TINY
from ..triplets import DENOMINATOR_EPS

__all__ = ["HostTripletPath"]


class HostTripletPath:
    """Constants, host copies of the state and the math of the fused path for ``m`` LFs."""

    def __init__(self, m: int) -> None:
        self.m = m
        eye = np.eye(m)
        sign = np.stack([-eye, eye], 1).reshape(2 * m, m)  # S[2i + c, i] = -1 / +1
        ones = np.stack([eye, eye], 1).reshape(2 * m, m)  # P[2i + c, i] = 1
        self.T = np.concatenate([sign, ones], 1)  # (2m, 2m)
        self.T_t = np.ascontiguousarray(self.T.T)
        self.off_diagonal = ~np.eye(m, dtype=bool)
        self.off_float = self.off_diagonal.astype(np.float64)
        self.twice_pair_count = float((m - 1) * (m - 2))  # 2 x the pairs of partners of each LF
        # vote + 1 -> code (-1 abstain, 0 negative, 1 positive); code + 1 -> one-hot row
        self.vote_to_code = np.array([0, -1, 1], dtype=np.int8)
        self.code_to_onehot = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
        # the table cells (states -1, 0, +1 x labels -1, +1) are linear in
        # r = (1, p_+, p_0, p_y, g, p_y p_0) (the solution in the module docstring)
        self.cells_of_r = np.array([
            [0.5, 0.5, 0.0, 0.0, 0.5, -0.5],
            [-0.5, -0.5, 0.0, 0.0, 0.5, 0.5],
            [-0.5, -0.5, 1.0, 0.0, -0.5, 0.5],
            [-0.5, 0.5, 0.0, 0.0, -0.5, 0.5],
            [0.5, -0.5, 0.0, 0.0, -0.5, 0.5],
            [0.5, -0.5, -1.0, 1.0, 0.5, -0.5],
        ])
        # log table -> (weight of a -1 vote, weight of a +1 vote, abstaining), each against abstaining
        self.logit_of_log_cells = np.array([
            [-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, -1.0], [-1.0, -1.0, 1.0], [0.0, -1.0, 0.0], [0.0, 1.0, 0.0],
        ])
        self._coefficient_cache: dict = {}
        self.ring: Optional[np.ndarray] = None  # (capacity, m) int8 codes
        self.ring_onehot: Optional[np.ndarray] = None  # (capacity, 2m) float32, when small enough
        self.co: Optional[np.ndarray] = None  # (2m, 2m) int64 counts of the buffer
        self.model_co: Optional[np.ndarray] = None  # (2m, 2m) int64 counts the model was fitted on
        self.model_n = 0
        self.shared = False  # the host arrays are the loss's own (CPU) buffers

    # ---- host copies of the state ---------------------------------------------
    def attach(self, vote_codes: torch.Tensor, co: torch.Tensor, model_co: torch.Tensor, model_n: torch.Tensor) -> bool:
        """Point the host arrays at the loss's state: views on the CPU, copies
        (read once, here) elsewhere. Returns False where the state cannot be
        read (the meta device)."""
        m2 = 2 * self.m
        if vote_codes.device.type == "cpu":
            self.ring, self.co = vote_codes.numpy(), co.numpy().reshape(m2, m2)
            self.model_co, self.model_n = model_co.numpy().reshape(m2, m2), int(model_n)
            self.shared = True
            self._index_ring()
            return True
        if vote_codes.device.type == "meta":  # nothing to read: only a move keeps the host arrays
            self.shared = False
            return False
        self.ring = vote_codes.cpu().numpy().copy()
        self.co = co.cpu().numpy().reshape(m2, m2).copy()
        self.model_co, self.model_n = model_co.cpu().numpy().reshape(m2, m2).copy(), int(model_n)
        self.shared = False
        self._index_ring()
        return True

    def _index_ring(self) -> None:
        small = self.ring is not None and self.ring.size * 2 <= (1 << 24)
        self.ring_onehot = self.onehot(self.ring) if small else None

    def detach(self) -> None:
        """Copy the host arrays out of the buffers they view (before those go away)."""
        if self.shared:
            self.ring, self.co, self.model_co = self.ring.copy(), self.co.copy(), self.model_co.copy()
            self.shared = False

    # ---- one batch ---------------------------------------------------------------
    def codes(self, votes: np.ndarray) -> Optional[np.ndarray]:
        """int8 codes of integer votes ``(n, m)``, or ``None`` when a vote is outside {-1, 0, +1}."""
        if votes.size and (votes.min() < -1 or votes.max() > 1):
            return None
        return self.vote_to_code[votes + 1]

    def onehot(self, codes: np.ndarray) -> np.ndarray:
        """``(n, 2m)`` float32 one-hot votes of codes ``(n, m)`` (exact 0/1)."""
        return np.take(self.code_to_onehot, codes.astype(np.intp) + 1, axis=0).reshape(codes.shape[0], 2 * self.m)

    def count_delta(self, added: np.ndarray, removed: np.ndarray) -> np.ndarray:
        """``X^T X - E^T E`` as int64 ``(2m, 2m)`` of one-hot rows ``added`` and
        ``removed``; float32 products of 0/1 are exact below 2**24 rows."""
        if added.shape[0] + removed.shape[0] >= (1 << 24):
            added, removed = added.astype(np.float64), removed.astype(np.float64)
        delta = added.T @ added
        if removed.shape[0]:
            delta -= removed.T @ removed
        return delta.astype(np.int64)

    def evicted_onehot(self, slots, start: int) -> np.ndarray:
        """One-hot rows of ring ``slots`` from row ``start`` on (the items pushed out)."""
        if self.ring_onehot is not None:
            return self.ring_onehot[slots][start:]
        return self.onehot(self.ring[slots][start:])

    def write(self, slots, codes: np.ndarray, onehot: np.ndarray) -> None:
        self.ring[slots] = codes
        if self.ring_onehot is not None:
            self.ring_onehot[slots] = onehot

    # ---- the refit -------------------------------------------------------------------
    def solve(self, co: np.ndarray, n: int, class_balance: np.ndarray) -> Tuple[np.ndarray, float]:
        """Fit from the ``(2m, 2m)`` co-vote counts of ``n`` items and the ``(2,)``
        class balance; return the posterior's weights ``(2m,)`` and bias."""
        m = self.m
        c = co.astype(np.float64)
        q = self.T_t @ c @ self.T
        inv_n = 1.0 / n
        accuracy = self._triplet_mean(q[:m, :m] * inv_n, q[m:, m:] > 0)  # |E[l_i Y]| from E[l_i l_j], co-coverage
        votes = (c.diagonal() * inv_n).reshape(m, 2)  # P(l_i = -1), P(l_i = +1)
        weights, constant, bias_constant = self._coefficients(class_balance)
        cells = np.concatenate((votes, accuracy[:, None]), 1) @ weights + constant
        np.abs(cells, out=cells)  # flip_negative
        cells /= cells.sum(1, keepdims=True)  # >= 1: the cells before flipping sum to 1
        logit = np.log(np.maximum(cells, TINY)) @ self.logit_of_log_cells  # (m, 3)
        return logit[:, :2].reshape(2 * m), float(logit[:, 2].sum()) + bias_constant

    def _coefficients(self, class_balance: np.ndarray) -> Tuple[np.ndarray, np.ndarray, float]:
        """The table cells as an affine map of ``(P(l = -1), P(l = +1), |E[l Y]|)``
        for this class balance (cached): ``r @ cells_of_r`` with
        ``p_0 = 1 - P(l = -1) - P(l = +1)`` and ``g = (1 + |E[l Y]| - p_0) / 2``
        substituted; and the bias's class-balance term."""
        key = (float(class_balance[0]), float(class_balance[1]))
        cached = self._coefficient_cache.get(key)
        if cached is None:
            p_y = key[1]
            w = self.cells_of_r  # rows: 1, p_+, p_0, p_y, g, p_y p_0
            zero = w[2] - 0.5 * w[4] + p_y * w[5]  # the coefficient of p_0 once g is substituted
            weights = np.stack([-zero, w[1] - zero, 0.5 * w[4]])
            constant = w[0] + p_y * w[3] + 0.5 * w[4] + zero
            log_balance = np.log(np.maximum(np.array(key), TINY))
            # the junction tree divides by P(Y) once per separator: m - 1 of them
            bias = -(self.m - 1) * float(log_balance[1] - log_balance[0])
            cached = self._coefficient_cache[key] = (weights, constant, bias)
            if len(self._coefficient_cache) > 64:  # an estimated balance changes at every refit
                self._coefficient_cache = {key: cached}
        return cached

    def _triplet_mean(self, moments: np.ndarray, covoted: np.ndarray) -> np.ndarray:
        """The closed-form triplet mean of :func:`weaksup.triplets.all_pairs_accuracies`
        (``method='mean'``), in numpy: a candidate ``sqrt|M_ai M_aj / M_ij|`` factors,
        so the sum over the valid pairs of LF ``a`` is a quadratic form."""
        absm = np.abs(moments)
        pair_ok = (absm > DENOMINATOR_EPS) & covoted
        if self.m >= 3 and pair_ok.all():  # every pair usable (the usual case): the same sums, fewer steps
            root = np.sqrt(absm)
            partner_root = root * self.off_float
            total = (partner_root @ (self.off_float / root) * partner_root).sum(1)
            return total / self.twice_pair_count
        partner = (covoted & self.off_diagonal).astype(np.float64)
        root = np.sqrt(absm) * partner
        valid = (pair_ok & self.off_diagonal).astype(np.float64)
        weight = valid / np.sqrt(np.where(pair_ok, absm, 1.0))
        total = ((root @ weight) * root).sum(1) / 2
        count = ((partner @ valid) * partner).sum(1) / 2
        return np.where(count > 0, total / np.maximum(count, 1), 0.0)


_HOST_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)
_NUMPY_FLOATS = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16}


class FusedStepMixin:
    """The fused host step of :class:`~weaksup.nn.FSLoss` (mixed in before
    :class:`~weaksup.nn._online.OnlineLabelLoss`).

    A batch takes it when the loss has FlyingSquid's model (``_fused``), its
    votes are integers on the host, and no process group is active; anything
    else (votes already on an accelerator, data parallel) goes the general way
    of the base class, which keeps the same state, so the two mix freely.
    """

    def _init_fused(self, enabled: bool, class_balance: torch.Tensor) -> None:
        self._fused = enabled
        self._host_balance_fixed = class_balance.detach().cpu().numpy()
        self._host = HostTripletPath(self.m) if enabled else None
        self._host_ok = False  # the host arrays hold the current state
        self._host_posterior: Optional[Tuple[np.ndarray, float]] = None  # weights, bias
        self._model_behind = False  # the fused path refit; the label model object not yet

    # ---- host copies ---------------------------------------------------------------
    def _attach_host(self) -> bool:
        self._host_ok = self._host.attach(
            self.vote_codes, self.stats_co_votes, self.model_stats_co_votes, self.model_stats_n_items
        )
        if self._host_ok and self._host.shared:
            self._host_counters = {
                name: getattr(self, name).numpy() for name in ("buffer_size", "buffer_index", "items_seen", "refits")
            }
            self._host_counters["n_items"] = self.stats_n_items.numpy()
            self._host_counters["model_n_items"] = self.model_stats_n_items.numpy()
        return self._host_ok

    def _on_state_moved(self, contents_changed: bool) -> None:
        if not self._fused:
            return
        if contents_changed:
            self._host_posterior = None
            self._model_behind = False
        if self.device.type == "cpu" or contents_changed or self._host.ring is None:
            self._attach_host()
        else:  # moved off the CPU: the values are the same, the views would not be
            self._host.detach()

    def _host_step_possible(self, batch: Any) -> bool:
        if not (self._fused and isinstance(batch.features, tuple)) or batch.distributed:
            return False
        return self._host_ok or self._attach_host()

    # ---- one batch -------------------------------------------------------------------
    def _codes(self, votes: torch.Tensor) -> torch.Tensor:
        if self._fused and votes.device.type == "cpu" and votes.dtype in _HOST_INT_DTYPES and votes.shape[0]:
            codes = self._host.codes(votes.numpy())
            if codes is not None:
                return torch.from_numpy(codes)  # on the host, whatever the loss's device
        return super()._codes(votes)

    def _encode(self, batch: Any) -> None:
        if self._fused and batch.n and batch.codes.device.type == "cpu":
            codes = batch.codes.numpy()
            batch.features = (codes, self._host.onehot(codes))

    def update(self, batch: Any) -> None:
        if batch.n == 0:
            return
        if not self._host_step_possible(batch):
            if batch.codes.device != self.device:
                batch.codes = batch.codes.to(self.device)
            if self._fused:
                self._host_ok = False  # the state moves on without the host copies (and the one-hot ring)
            super().update(batch)
            return
        self._update_host(batch)

    def _update_host(self, batch: Any) -> None:
        """Buffer, counts and (when due) the refit, on the host; the device
        buffers of a loss off the CPU get the same changes by upload."""
        h, n, cap = self._host, batch.n, self.buffer_capacity
        codes, onehot = batch.features
        keep = min(n, cap)
        added, added_onehot = codes[n - keep :], onehot[n - keep :]
        due = self._refit_due(self._seen, n, batch.update_frequency)
        start = self._index
        slots = slice(start, start + keep) if start + keep <= cap else (start + np.arange(keep)) % cap
        n_evicted = max(0, self._size + keep - cap)
        delta = h.count_delta(added_onehot, h.evicted_onehot(slots, keep - n_evicted))
        size = min(cap, self._size + keep)
        co = h.co + delta
        posterior = h.solve(co, size, self._host_balance(co, size)) if due else None
        # everything that could fail has run: commit
        h.write(slots, added, added_onehot)
        h.co[...] = co
        self._index, self._size, self._seen = (start + keep) % cap, size, self._seen + n
        if due:
            h.model_co[...] = co
            h.model_n = size
            self._refits += 1
            self._host_posterior = posterior
            self._model_behind = True
            self._model_stale = False
        if h.shared:
            counters = self._host_counters
            counters["buffer_size"][...] = size
            counters["buffer_index"][...] = self._index
            counters["items_seen"][...] = self._seen
            counters["refits"][...] = self._refits
            counters["n_items"][...] = size
            if due:
                counters["model_n_items"][...] = size
            return
        device = self.device
        index = slots if isinstance(slots, slice) else torch.from_numpy(slots).to(device, non_blocking=True)
        self.vote_codes[index] = torch.from_numpy(added).to(device, non_blocking=True)
        m2 = 2 * self.m
        self.stats_co_votes.view(m2, m2).add_(torch.from_numpy(delta).to(device, non_blocking=True))
        self.stats_n_items.fill_(size)
        if due:
            self.model_stats_co_votes.copy_(self.stats_co_votes)
            self.model_stats_n_items.fill_(size)
        self._write_counters()

    def _host_balance(self, co: np.ndarray, n: int) -> np.ndarray:
        if self.class_balance is None and self.estimate_balance:
            from ..statistics import VoteStatistics

            stats = VoteStatistics(torch.tensor(n), torch.from_numpy(co).reshape(self.m, 2, self.m, 2))
            return self._balance(stats).cpu().numpy()
        return self._host_balance_fixed

    # ---- the model -------------------------------------------------------------------
    def _host_fit(self, stats: Any) -> bool:
        """Refit on the host when ``stats`` are the loss's own (buffer or model)
        counts and the host copies hold them; False: fit the general way."""
        if not self._fused:
            return False
        own_buffer = stats.co_votes is self.stats_co_votes and not self._use_distributed()
        if not (own_buffer or stats.co_votes is self.model_stats_co_votes):
            return False
        if not (self._host_ok or self._attach_host()):
            return False
        h = self._host
        co, n = (h.co, self._size) if own_buffer else (h.model_co, h.model_n)
        if n <= 0:
            return False
        self._host_posterior = h.solve(co, n, self._host_balance(co, n))
        self._model_behind = True
        return True

    def refit(self):
        super().refit()
        if self._fused and self._host_ok:
            h = self._host
            if h.shared:  # the model stats were copied into the buffers the host arrays view
                h.model_n = int(self._host_counters["model_n_items"])
            elif self._use_distributed():
                self._host_ok = False  # the model stats are the ranks' sum, on the device
            else:
                h.model_co[...] = h.co
                h.model_n = self._size
        return self

    def _host_targets(self, batch: Any, dtype: Optional[torch.dtype]) -> Optional[torch.Tensor]:
        """``(n, 1)`` float64 P(Y = +1 | votes) of a host batch, computed on the
        host (and ``batch.soft``: ``(n,)`` in ``dtype`` on the loss's device);
        ``None`` when the batch or the model is not the fused path's."""
        if not (isinstance(batch.features, tuple) and self._host_posterior is not None):
            return None
        weights, bias = self._host_posterior
        q = batch.features[1] @ weights  # the logit; the sigmoid, in place and without overflow:
        q += bias
        q *= 0.5
        np.tanh(q, out=q)
        q *= 0.5
        q += 0.5
        if self.clamp_vals:
            q = (q >= 0.5).astype(np.float64)
        if dtype in _NUMPY_FLOATS:
            soft = torch.from_numpy(q.astype(_NUMPY_FLOATS[dtype]))
            batch.soft = soft if self.device.type == "cpu" else soft.to(self.device, non_blocking=True)
        return torch.from_numpy(q.reshape(-1, 1))
