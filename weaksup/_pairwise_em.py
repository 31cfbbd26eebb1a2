"""Pairwise EM of the class-conditional model on the responses in use (private).

The class-conditional (Dawid-Skene) model fitted by EM on its pairwise tables
(:func:`fit_pairwise_active` describes the model, the prior and the pair
weights; :func:`abstain_fit_active` how far abstentions count), computed only
over the *responses given*: each LF's abstention and the classes it actually votes, read from
:meth:`VoteStatistics.response_table`. Responses an LF never gives have no
counts and a confusion of 0, so leaving them out changes nothing, and it is
what makes many classes possible: ``k = 1000`` LFs that each vote a few
classes give a few thousand responses, where the dense ``(m, k + 1, k)``
confusion (and the ``(m, k, k)`` prior) would hold ``10**9`` numbers.

The confusion is returned as an :class:`ActiveConfusion`: ``P(abstain | y)``
for every LF ``(m, k)`` and ``P(vote c | y)`` for each given (LF, class) ``(R,
k)``. Each step costs ``O(R'^2 k)`` with ``R' <= m + R`` the responses given.
On an accelerator every listed response is kept (no data-dependent sizes, no
host sync after the table is read). On the CPU, problems of at most
:data:`NUMPY_MAX_RESPONSES` responses run the EM loop in numpy: the same
steps, on matrices small enough that torch's per-operator overhead would
outweigh the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch

from ._backend import TINY as _TINY
from .statistics import VoteStatistics

# the largest share of a class an LF's votes may take (keeps P(abstain | y) > 0)
_MAX_VOTE_SHARE = 1.0 - 1e-6
# the smallest class share an estimated balance may give
_PI_FLOOR = 1e-3
# on the CPU, problems with at most this many given responses run the EM loop
# in numpy (the same steps; torch's per-operator overhead dominates on small
# matrices); 0 always uses torch
NUMPY_MAX_RESPONSES = 512

__all__ = ["ActiveConfusion", "fit_pairwise_active", "abstain_fit_active", "posterior_terms"]


@dataclass
class ActiveConfusion:
    """``C[i, r, y] = P(response r of LF i | Y = y)`` over the responses in use.

    Attributes:
        abstain: ``(m, k)`` ``P(LF i abstains | y)``.
        votes: ``(R, k)`` ``P(LF lf[r] votes cls[r] | y)``; every other vote
            response has probability 0.
        lf: ``(R,)`` int64 LF of each vote response.
        cls: ``(R,)`` int64 class of each vote response.
    """

    abstain: torch.Tensor
    votes: torch.Tensor
    lf: torch.Tensor
    cls: torch.Tensor

    @property
    def n_lfs(self) -> int:
        return self.abstain.shape[0]

    @property
    def cardinality(self) -> int:
        return self.abstain.shape[1]

    def responses(self) -> torch.Tensor:
        """``(R,)`` response numbers ``lf * k + class`` of the vote rows."""
        return self.lf * self.cardinality + self.cls

    def dense(self) -> torch.Tensor:
        """The ``(m, k + 1, k)`` confusion (response 0 = abstain): ``m k^2``
        numbers, for few classes only."""
        m, k = self.abstain.shape
        out = torch.zeros((m, k + 1, k), dtype=self.abstain.dtype, device=self.abstain.device)
        out[:, 0] = self.abstain
        out[self.lf, self.cls + 1] = self.votes
        return out


class _Layout:
    """The given responses and their joint counts, and where each lives in the
    stacked parameters ``cat([abstain (m rows), votes (R rows)])``."""

    def __init__(self, stats: VoteStatistics) -> None:
        device = stats.device
        lf, resp, counts = stats.response_table(drop_unused=device.type == "cpu")
        m = stats.n_lfs
        self.m, self.k = m, stats.cardinality
        self.n = stats.n_items.to(torch.float64)
        vote = resp > 0
        self.vote_rows = vote.nonzero().squeeze(1)
        self.lf_v = lf[vote]
        self.cls_v = resp[vote] - 1
        self.votes_v = counts.diagonal()[vote].to(torch.float64)  # (R,)
        # row of each table response in the stacked parameters
        self.source = torch.where(vote, m + vote.cumsum(0) - 1, lf)
        self.lf_a = lf
        self.abstain_rows = (~vote).nonzero().squeeze(1)
        same = lf[:, None] == lf[None, :]
        self.T = torch.where(same, 0.0, counts.to(torch.float64))  # a pair needs two LFs
        given = (counts.diagonal() > 0).to(torch.float64)
        self.n_given = torch.zeros(m, dtype=torch.float64, device=device).index_add_(0, lf, given)


def _prior_precision(L: _Layout, pi: torch.Tensor, accuracy: float, max_recall: float = 0.9) -> torch.Tensor:
    """``(R, k)`` majority vote's trust ``P(Y = y | LF votes c)`` for each given
    vote response: ``accuracy`` on the voted class ``c``, capped where the LF
    fires so often that it would have to vote ``c`` on more than
    ``max_recall`` of class ``c`` (an LF that votes class 0 on 62% of the
    items cannot be 70% right when class 0 is 21% of the items), never below
    chance unless so forced; its wrong votes fall on the other classes in
    proportion to the class balance."""
    rate = L.votes_v / L.n.clamp(min=1.0)
    pi_c = pi[L.cls_v]
    cap = max_recall * pi_c / rate.clamp(min=_TINY)
    diag = torch.minimum(torch.full_like(cap, accuracy), cap)
    diag = torch.maximum(diag, torch.minimum(pi_c, cap))
    rest = pi[None, :] / (1.0 - pi_c[:, None]).clamp(min=_TINY)
    q = (1.0 - diag)[:, None] * rest
    return q.scatter(1, L.cls_v[:, None], diag[:, None])


def _confusion_from_precision(L: _Layout, precision: torch.Tensor, pi: torch.Tensor):
    """Bayes on the given rows: ``P(vote c | y) = P(vote c) P(y | vote c) /
    P(y)``, abstain = the rest; where an LF's votes would take more than all
    of a class (inconsistent with ``pi``) they are scaled down to fit.
    Returns ``(abstain (m, k), votes (R, k))``."""
    rate = L.votes_v / L.n.clamp(min=1.0)
    votes = rate[:, None] * precision / pi.clamp(min=_TINY)
    total = torch.zeros((L.m, L.k), dtype=torch.float64, device=votes.device).index_add_(0, L.lf_v, votes)
    scale = (total / _MAX_VOTE_SHARE).clamp(min=1.0)
    votes = votes / scale[L.lf_v]
    kept = torch.zeros_like(total).index_add_(0, L.lf_v, votes)
    return (1.0 - kept).clamp(min=0.0), votes


def _pair_misfit(T: torch.Tensor, Z: torch.Tensor, n: torch.Tensor, lf: torch.Tensor, m: int) -> torch.Tensor:
    """``(m, m)`` ``n KL(observed || model)`` of every pair's joint table."""
    cell = T * (T / (n * Z).clamp(min=_TINY)).clamp(min=_TINY).log()
    return torch.zeros((m, m), dtype=torch.float64, device=T.device).index_put_(
        (lf[:, None].expand_as(cell), lf[None, :].expand_as(cell)), cell, accumulate=True
    )


def fit_pairwise_active(
    stats: VoteStatistics,
    pi: Optional[torch.Tensor] = None,
    *,
    n_iter: int = 100,
    prior_accuracy: float = 0.9,
    prior_strength: float = 50.0,
    prior_items: float = 100.0,
    pair_tolerance: Optional[float] = 0.01,
    pi_start: Optional[torch.Tensor] = None,
    init: Optional[ActiveConfusion] = None,
    tol: Optional[float] = None,
) -> Tuple[ActiveConfusion, torch.Tensor]:
    """Class-conditional LF parameters by EM on the pairwise composite likelihood.

    The model: given ``Y``, LFs respond independently, ``P(r_i | y) = C[i, r_i, y]``
    (abstain is a response, so an LF that votes only one class carries its
    information in *how often* it fires under each class). Every pair of LFs
    then has the joint table ``P(r_i, r_j) = sum_y pi_y C[i, r_i, y] C[j, r_j, y]``,
    and the statistics hold exactly those tables' counts. The solver maximises
    the (weighted) sum over pairs of their log-likelihoods, a composite
    likelihood that is consistent under the model, by EM with ``pi`` fixed:

    * E-step, per pair and cell: ``P(y | r_i, r_j)``; expected (response,
      class) counts of each LF, averaged over its partners.
    * M-step (MAP): each LF's precision ``P(Y = y | it votes c)`` is the expected
      class share of its ``c`` votes, shrunk towards majority vote's trust
      (:func:`_prior_precision`) with ``prior_strength`` pseudo-votes, so an LF
      with few votes stays close to majority vote while an LF with thousands of
      votes is read from the data (a worse-than-random LF comes out worse than
      random: nothing forces accuracies above chance, no ``abs()``). Each
      column ``C[i, :, y]`` also gets ``prior_items`` pseudo-items of class
      ``y`` distributed as the starting model, which keeps an abstention rate
      from collapsing to 0 or 1 on thin evidence.
    * Pair weights: a pair whose table the current model misses by ``KL``
      nats per item gets weight ``1 / (1 + KL / pair_tolerance)``, so LFs that
      depend on each other (near-duplicates, shared keywords) stop dragging
      each other's estimates; ``None`` weighs all pairs alike.
    * Class balance: with ``pi=None`` it is estimated in the same EM, as the
      mean over LFs of the class totals their pairs' E-step gives (the prior
      follows the current balance). The models do not use this: on sparse
      LFs it barely moves from its start (see
      :mod:`weaksup._balance_estimation` for the estimator they use).

    The start is the prior itself (majority vote's trust, with the abstention
    rates that follow by Bayes from the class balance), which also fixes the
    labelling of the classes.

    Args:
        stats: the vote statistics (dense or compact).
        pi: ``(k,)`` class balance (fixed), or ``None``: estimate it.
        n_iter: EM steps. Default: 100.
        prior_accuracy: the prior's ``P(Y = c | vote c)``. Default: 0.9.
        prior_strength: pseudo-votes of the prior per (LF, voted class). Default: 50.
        prior_items: pseudo-items per class and LF spread as the starting model. Default: 100.
        pair_tolerance: KL (nats per item) at which a pair's weight halves;
            ``None`` disables the weighting. Default: 0.01.
        pi_start: starting balance when ``pi`` is estimated (default: uniform).

    Two options for refits (a loss refitting as its buffer moves), which
    change the result from a fresh fit's:

    Args:
        init: start from this confusion (a previous fit of the same LFs and
            classes) instead of the prior: its rows for the responses given
            now, the prior's for responses it lacks, each LF's column
            renormalised. The prior itself (``prior_strength``,
            ``prior_items``) stays the one of the current statistics.
        tol: on the CPU, stop once no probability moves by more than ``tol``
            in a step (reads one number back per step; ignored elsewhere).

    Returns:
        ``(C, pi)``: the :class:`ActiveConfusion` and the ``(k,)`` class
        balance (the given one, or the estimate when ``pi`` is ``None``).
    """
    L = _Layout(stats)
    m, k, n = L.m, L.k, L.n
    device = stats.device
    estimate = pi is None
    if estimate:
        pi = pi_start if pi_start is not None else torch.full((k,), 1.0 / k, dtype=torch.float64)
    pi = pi.to(device=device, dtype=torch.float64)
    w = _prior_precision(L, pi, prior_accuracy)
    abstain0, votes0 = _confusion_from_precision(L, w, pi)
    if m < 2 or n_iter == 0:
        return ActiveConfusion(abstain0, votes0, L.lf_v, L.cls_v), pi
    off_diag = 1.0 - torch.eye(m, dtype=torch.float64, device=device)
    omega, pair_w = off_diag, None
    prior_ab, prior_v = prior_items * abstain0 * pi, prior_items * votes0 * pi
    abstain, votes = abstain0, votes0
    if init is not None:
        abstain, votes = _warm_start(L, init, abstain0, votes0)
    check = tol is not None and device.type == "cpu"
    if device.type == "cpu" and L.source.numel() <= NUMPY_MAX_RESPONSES:
        abstain, votes, pi_np = _em_numpy(
            L, abstain, votes, pi, w, prior_ab, prior_v, estimate, n_iter,
            prior_accuracy, prior_strength, prior_items, pair_tolerance, tol,
        )
        if estimate:
            pi = pi_np
        return ActiveConfusion(abstain, votes, L.lf_v, L.cls_v), pi
    for _ in range(n_iter):
        previous = (abstain, votes)
        flat_C = torch.cat([abstain, votes])[L.source]  # (R', k) the given responses
        Z = (flat_C * pi) @ flat_C.T  # P(r_i, r_j) of every pair and cell
        if pair_tolerance is not None:
            misfit = _pair_misfit(L.T, Z, n, L.lf_a, m) / (pair_tolerance * n).clamp(min=_TINY)
            omega = off_diag / (1.0 + misfit.clamp(min=0))
            pair_w = omega[L.lf_a][:, L.lf_a]
        W = L.T / Z.clamp(min=_TINY)  # 0 where the pair never gave that cell
        if pair_w is not None:
            W = W * pair_w
        expected = flat_C * pi * (W @ flat_C)  # sum over partners of counts x P(y | cell)
        expected = expected / omega.sum(1).clamp(min=_TINY)[L.lf_a][:, None]
        exp_v = expected[L.vote_rows]
        exp_ab = torch.zeros((m, k), dtype=torch.float64, device=device).index_copy_(
            0, L.lf_a[L.abstain_rows], expected[L.abstain_rows]
        )
        if estimate:
            pi = ((exp_v.sum(0) + exp_ab.sum(0)) / m / n.clamp(min=1.0)).clamp(min=_PI_FLOOR)
            pi = pi / pi.sum()
            w = _prior_precision(L, pi, prior_accuracy)
            a0, v0 = _confusion_from_precision(L, w, pi)
            prior_ab, prior_v = prior_items * a0 * pi, prior_items * v0 * pi
        q = (exp_v + prior_strength * w) / (L.votes_v[:, None] + prior_strength).clamp(min=_TINY)
        joint_v = L.votes_v[:, None] * q + prior_v
        joint_ab = exp_ab + prior_ab
        total = joint_ab.index_add(0, L.lf_v, joint_v).clamp(min=_TINY)
        abstain, votes = joint_ab / total, joint_v / total[L.lf_v]
        if check:
            moved = max(float((abstain - previous[0]).abs().max()),
                        float((votes - previous[1]).abs().max()) if votes.numel() else 0.0)
            if moved < tol:
                break
    return ActiveConfusion(abstain, votes, L.lf_v, L.cls_v), pi


def _em_numpy(L, abstain, votes, pi, w, prior_ab, prior_v, estimate, n_iter,
              prior_accuracy, prior_strength, prior_items, pair_tolerance, tol):
    """:func:`fit_pairwise_active`'s EM loop in numpy float64 on the CPU, step
    for step the same arithmetic (sums may add in another order), with the
    ``(R', R')`` work arrays allocated once. Returns ``(abstain, votes, pi)``
    as torch tensors."""
    a = lambda t: t.detach().numpy()  # noqa: E731
    m, k, tiny = L.m, L.k, _TINY
    n = float(L.n)
    lf, source, T = a(L.lf_a), a(L.source), a(L.T)
    pair = (lf[:, None] * m + lf[None, :]).ravel()  # LF pair of each cell
    vote_rows, abstain_rows = a(L.vote_rows), a(L.abstain_rows)
    ab_lf = lf[abstain_rows]
    lf_v, cls_v, votes_v = a(L.lf_v), a(L.cls_v), a(L.votes_v)
    S_v = np.zeros((m, len(lf_v)))
    S_v[lf_v, np.arange(len(lf_v))] = 1.0  # sums of the vote rows per LF
    rate = votes_v / max(n, 1.0)
    off_diag = 1.0 - np.eye(m)
    abstain, votes, pi, w = a(abstain), a(votes), a(pi), a(w)
    prior_ab, prior_v = a(prior_ab), a(prior_v)
    omega = off_diag
    Z, cell, pair_w = np.empty_like(T), np.empty_like(T), np.empty_like(T)
    for _ in range(n_iter):
        previous = (abstain, votes)
        flat_C = np.concatenate([abstain, votes])[source]
        np.matmul(flat_C * pi, flat_C.T, out=Z)
        if pair_tolerance is not None:
            misfit = _pair_misfit_np(T, Z, n, pair, m, cell)
            omega = off_diag / (1.0 + np.maximum(misfit / max(pair_tolerance * n, tiny), 0.0))
            np.take(omega.ravel(), pair, out=pair_w.ravel())
        np.maximum(Z, tiny, out=Z)
        np.divide(T, Z, out=Z)  # Z is now W
        if pair_tolerance is not None:
            np.multiply(Z, pair_w, out=Z)
        expected = flat_C * pi * (Z @ flat_C)
        expected = expected / np.maximum(omega.sum(1), tiny)[lf][:, None]
        exp_v = expected[vote_rows]
        exp_ab = np.zeros((m, k))
        exp_ab[ab_lf] = expected[abstain_rows]
        if estimate:
            pi = np.maximum((exp_v.sum(0) + exp_ab.sum(0)) / m / max(n, 1.0), _PI_FLOOR)
            pi = pi / pi.sum()
            w = _prior_precision_np(rate, cls_v, pi, prior_accuracy)
            v0 = rate[:, None] * w / np.maximum(pi, tiny)  # _confusion_from_precision
            v0 = v0 / np.maximum(S_v @ v0 / _MAX_VOTE_SHARE, 1.0)[lf_v]
            a0 = np.maximum(1.0 - S_v @ v0, 0.0)
            prior_ab, prior_v = prior_items * a0 * pi, prior_items * v0 * pi
        q = (exp_v + prior_strength * w) / np.maximum(votes_v[:, None] + prior_strength, tiny)
        joint_v = votes_v[:, None] * q + prior_v
        joint_ab = exp_ab + prior_ab
        total = np.maximum(joint_ab + S_v @ joint_v, tiny)
        abstain, votes = joint_ab / total, joint_v / total[lf_v]
        if tol is not None:
            moved = max(float(np.abs(abstain - previous[0]).max()),
                        float(np.abs(votes - previous[1]).max()) if votes.size else 0.0)
            if moved < tol:
                break
    return torch.from_numpy(abstain), torch.from_numpy(votes), torch.from_numpy(np.ascontiguousarray(pi))


def _pair_misfit_np(T, Z, n, pair, m, cell=None):
    """:func:`_pair_misfit` in numpy; ``pair`` = the LF pair ``lf_i m + lf_j``
    of each cell (flattened), ``cell`` an optional work array like ``T``."""
    cell = np.multiply(Z, n, out=cell)
    np.maximum(cell, _TINY, out=cell)
    np.divide(T, cell, out=cell)
    np.maximum(cell, _TINY, out=cell)
    np.log(cell, out=cell)
    np.multiply(cell, T, out=cell)
    return np.bincount(pair, weights=cell.ravel(), minlength=m * m).reshape(m, m)


def _prior_precision_np(rate, cls_v, pi, accuracy, max_recall=0.9):
    """:func:`_prior_precision` in numpy."""
    pi_c = pi[cls_v]
    cap = max_recall * pi_c / np.maximum(rate, _TINY)
    diag = np.minimum(accuracy, cap)
    diag = np.maximum(diag, np.minimum(pi_c, cap))
    q = (1.0 - diag)[:, None] * (pi[None, :] / np.maximum(1.0 - pi_c[:, None], _TINY))
    q[np.arange(len(cls_v)), cls_v] = diag
    return q


def _warm_start(L: _Layout, init: ActiveConfusion, abstain0: torch.Tensor, votes0: torch.Tensor):
    """``init``'s rows where it has the response, the prior's elsewhere, renormalised per LF and class."""
    if tuple(init.abstain.shape) != (L.m, L.k):
        raise ValueError(f"init must be a confusion of {L.m} LFs x {L.k} classes, got {tuple(init.abstain.shape)}")
    device = abstain0.device
    abstain = init.abstain.to(device=device, dtype=torch.float64)
    votes = votes0.clone()
    known = init.responses().to(device)
    wanted = L.lf_v * L.k + L.cls_v
    if known.numel() and wanted.numel():
        order = known.argsort()
        pos = torch.searchsorted(known[order], wanted).clamp(max=known.numel() - 1)
        hit = known[order][pos] == wanted
        votes[hit] = init.votes.to(device=device, dtype=torch.float64)[order][pos[hit]]
    total = abstain.index_add(0, L.lf_v, votes).clamp(min=_TINY)
    return abstain / total, votes / total[L.lf_v]


def abstain_fit_active(
    stats: VoteStatistics,
    C: ActiveConfusion,
    pi: torch.Tensor,
    *,
    pair_tolerance: Optional[float] = 0.01,
    fade: float = 0.25,
    noise: float = 1.0,
) -> torch.Tensor:
    """How far each LF's abstentions count as independent evidence, ``(m,)`` in ``[0, 1]``.

    The model reads an abstention of LF ``i`` as evidence ``log P(abstain |
    y)``, summed over the abstaining LFs as if they abstained independently
    given ``Y``. LFs that share keywords, or duplicate each other, abstain
    together, and that sum then counts one piece of evidence many times. The
    pairwise tables say where: LF ``i``'s pairs get the weights ``w_ij = 1 /
    (1 + KL_ij / pair_tolerance)`` of :func:`fit_pairwise_active` (``KL_ij`` =
    nats per item by which the fitted model ``C`` misses the pair's joint
    table), and its abstentions keep the share ``clip(1 - (1 - mean_j w_ij) /
    fade, 0, 1)``: all of them when the model fits every pair of the LF, none
    once its pairs are down-weighted by ``fade`` on average. A pair's misfit
    counts beyond sampling noise only (``n KL`` of a table of ``R_i x R_j``
    cells is about ``(R_i - 1)(R_j - 1) / 2`` under the model; ``noise``
    scales that allowance). Data drawn from the model then keep nearly all
    their abstention evidence, exact copies of an LF keep none.

    Args:
        stats: the vote statistics ``C`` was fitted on.
        C: the confusion from :func:`fit_pairwise_active` on ``stats``.
        pi: ``(k,)`` class balance.
        pair_tolerance: as in :func:`fit_pairwise_active`; ``None``: every LF
            keeps all its abstention evidence (ones).
        fade: the mean pair down-weighting at which the abstention evidence
            is gone. Default: 0.25.
        noise: multiple of the sampling-noise allowance subtracted from each
            pair's ``n KL``. Default: 1.

    Returns:
        ``(m,)`` float64 factors for ``log P(abstain | y)`` in the posterior.
    """
    m = stats.n_lfs
    device = stats.device
    if pair_tolerance is None or m < 2:
        return torch.ones(m, dtype=torch.float64, device=device)
    L = _Layout(stats)
    n = L.n
    pi = pi.to(device=device, dtype=torch.float64)
    flat_C = torch.cat([C.abstain, C.votes]).to(device=device, dtype=torch.float64)[L.source]
    if device.type == "cpu" and L.source.numel() <= NUMPY_MAX_RESPONSES:
        lf, flat = L.lf_a.numpy(), flat_C.detach().numpy()
        Z = (flat * pi.detach().numpy()) @ flat.T
        G = torch.from_numpy(_pair_misfit_np(L.T.numpy(), Z, float(n), (lf[:, None] * m + lf[None, :]).ravel(), m))
    else:
        Z = (flat_C * pi) @ flat_C.T
        G = _pair_misfit(L.T, Z, n, L.lf_a, m)
    # sampling noise: n KL of a table of R_i x R_j cells is about df / 2 under the model
    responses = L.n_given
    df = (responses - 1.0).clamp(min=0)[:, None] * (responses - 1.0).clamp(min=0)[None, :]
    excess = (G - noise * df / 2.0).clamp(min=0)
    off_diag = 1.0 - torch.eye(m, dtype=torch.float64, device=device)
    omega = off_diag / (1.0 + excess / (pair_tolerance * n).clamp(min=_TINY))
    mean_w = omega.sum(1) / (m - 1)
    return (1.0 - (1.0 - mean_w) / fade).clamp(0.0, 1.0)


def posterior_terms(C: ActiveConfusion, log_prior: torch.Tensor, abstain_weight: torch.Tensor):
    """The arguments of :func:`weaksup.posterior.independent_log_scores` for
    the posterior ``log pi_y + sum over voting LFs of log C[i, vote, y] + sum
    over abstaining LFs of abstain_weight_i log C[i, abstain, y]`` (each
    probability floored at ``1e-300`` before the log), without the dense
    ``(m, k + 1, k)`` table.

    Args:
        C: the fitted :class:`ActiveConfusion`.
        log_prior: ``(k,)`` log class balance.
        abstain_weight: ``(m,)`` weight of each LF's abstention evidence.

    Returns:
        ``dict(base=(k,), deltas=(R, k), responses=(R,), cardinality=k,
        unlisted=(m, k))``: pass as keyword arguments after the codes.
    """
    log_abstain = C.abstain.clamp(min=_TINY).log() * abstain_weight.to(C.abstain)[:, None]  # (m, k)
    log_votes = C.votes.clamp(min=_TINY).log()
    floor = torch.full_like(log_abstain, float(torch.tensor(_TINY, dtype=torch.float64).log()))
    return dict(
        base=log_abstain.sum(0) + log_prior.to(log_abstain),
        deltas=log_votes - log_abstain[C.lf],
        responses=C.responses(),
        cardinality=C.cardinality,
        unlisted=floor - log_abstain,
    )
