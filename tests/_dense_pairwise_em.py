"""The pairwise-EM solver in its dense form: the test reference for weaksup._pairwise_em.

The models run :mod:`weaksup._pairwise_em`, the same estimator over the
responses actually given (any number of classes). This dense form, written
over the full ``(m, k + 1, k)`` confusion, is the readable reference it must
equal to 1e-14 (``tests/test_pairwise_em.py``); it is not part of the package.

Each solver reads only :class:`~weaksup.statistics.VoteStatistics` (the
``(m, k, m, k)`` co-vote counts and the item count) and returns the parameters
of a class-conditional (Dawid-Skene) model: a confusion tensor ``C`` of shape
``(m, k + 1, k)`` with ``C[i, r, y] = P(response r of LF i | Y = y)``, response
0 = abstain, response ``c + 1`` = vote for class ``c``. The posterior is then
``log P(y | votes) = log pi_y + sum_i log C[i, r_i, y] + const``.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch

from weaksup._backend import TINY

# the largest share of a class an LF's votes may take (keeps P(abstain | y) > 0)
_MAX_VOTE_SHARE = 1.0 - 1e-6
# the smallest class share an estimated balance may give
_PI_FLOOR = 1e-3


def pair_tables(co_votes: torch.Tensor, n_items: torch.Tensor) -> torch.Tensor:
    """Joint response counts of every pair of LFs, abstentions included.

    Args:
        co_votes: ``(m, k, m, k)`` integer co-vote counts.
        n_items: number of items (scalar tensor).

    Returns:
        ``(m, k + 1, m, k + 1)`` float64 ``T[i, r, j, s]`` = items on which LF
        ``i`` gave response ``r`` and LF ``j`` response ``s`` (0 = abstain).
        The diagonal blocks ``i == j`` are zero (a pair needs two LFs).
    """
    co = co_votes.to(torch.float64)
    m, k = co.shape[0], co.shape[1]
    n = n_items.to(torch.float64)
    idx = torch.arange(m, device=co.device)
    votes = vote_counts(co_votes)
    cover = votes.sum(1)
    T = torch.zeros((m, k + 1, m, k + 1), dtype=torch.float64, device=co.device)
    T[:, 1:, :, 1:] = co
    T[:, 1:, :, 0] = votes[:, :, None] - co.sum(3)
    T[:, 0, :, 1:] = votes[None, :, :] - co.sum(1)
    T[:, 0, :, 0] = n - cover[:, None] - cover[None, :] + co.sum((1, 3))
    T[idx, :, idx, :] = 0
    return T


def vote_counts(co_votes: torch.Tensor) -> torch.Tensor:
    """``(m, k)`` float64: how often each LF voted each class (the diagonal)."""
    idx = torch.arange(co_votes.shape[0], device=co_votes.device)
    return co_votes[idx, :, idx, :].diagonal(dim1=1, dim2=2).to(torch.float64)


def prior_precision(vote_rate: torch.Tensor, pi: torch.Tensor, accuracy: float, max_recall: float = 0.9) -> torch.Tensor:
    """Majority vote's trust as a precision ``(m, k, k)``: ``P(Y = c | LF votes c)``.

    ``accuracy`` on the voted class ``c``, capped where the LF fires so often
    that it would have to vote ``c`` on more than ``max_recall`` of class ``c``
    (an LF that votes class 0 on 62% of the items cannot be 70% right when class
    0 is 21% of the items); its wrong votes fall on the other classes in
    proportion to the class balance.
    """
    m, k = vote_rate.shape
    pi = pi.to(torch.float64)
    cap = max_recall * pi[None, :] / vote_rate.clamp(min=TINY)  # (m, k): largest consistent precision
    diag = torch.minimum(torch.full_like(cap, accuracy), cap)
    diag = torch.maximum(diag, torch.minimum(pi[None, :].expand(m, k), cap))  # never below chance unless forced
    rest = pi[None, None, :] / (1.0 - pi[None, :, None]).clamp(min=TINY)  # (1, c, y): share of the others
    eye = torch.eye(k, dtype=torch.bool, device=vote_rate.device)
    q = torch.where(eye, diag[:, :, None].expand(m, k, k), (1.0 - diag)[:, :, None] * rest)
    return q


def confusion_from_precision(vote_rate: torch.Tensor, precision: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
    """Bayes: ``C[i, c + 1, y] = P(vote c) P(y | vote c) / P(y)``, abstain = the rest.

    Args:
        vote_rate: ``(m, k)`` P(LF i votes c).
        precision: ``(m, k, k)`` P(Y = y | LF i votes c), rows on the simplex.
        pi: ``(k,)`` class balance.

    Returns:
        ``(m, k + 1, k)`` confusion; where the votes would take more than all
        of a class (inconsistent with ``pi``) they are scaled down to fit.
    """
    votes = vote_rate[:, :, None] * precision / pi.clamp(min=TINY)
    total = votes.sum(1, keepdim=True)
    votes = votes / (total / _MAX_VOTE_SHARE).clamp(min=1.0)
    return torch.cat([(1.0 - votes.sum(1, keepdim=True)).clamp(min=0.0), votes], 1)


def _pair_misfit(flat_T: torch.Tensor, Z: torch.Tensor, n: torch.Tensor, lf_of: torch.Tensor, m: int) -> torch.Tensor:
    """``(m, m)`` ``n KL(observed || model)`` of every pair's joint table (a G-statistic / 2)."""
    cell = flat_T * (flat_T / (n * Z).clamp(min=TINY)).clamp(min=TINY).log()
    return torch.zeros((m, m), dtype=torch.float64, device=flat_T.device).index_put_(
        (lf_of[:, None].expand_as(cell), lf_of[None, :].expand_as(cell)), cell, accumulate=True
    )


def abstain_fit(
    co_votes: torch.Tensor,
    n_items: torch.Tensor,
    C: torch.Tensor,
    pi: torch.Tensor,
    *,
    pair_tolerance: Optional[float] = 0.01,
    fade: float = 0.25,
    noise: float = 1.0,
) -> torch.Tensor:
    """How far each LF's abstentions can be read as independent evidence, ``(m,)`` in ``[0, 1]``.

    The model reads an abstention of LF ``i`` as evidence ``log P(abstain |
    y)``, summed over the abstaining LFs as if they abstained independently
    given ``Y``. LFs that share keywords, or duplicate each other, abstain
    together, and that sum then counts one piece of evidence many times. The
    pairwise tables say where: LF ``i``'s pairs get the weights ``w_ij = 1 /
    (1 + KL_ij / pair_tolerance)`` of :func:`fit_pairwise` (``KL_ij`` = nats
    per item by which the fitted model ``C`` misses the pair's joint table),
    and its abstentions keep the share ``clip(1 - (1 - mean_j w_ij) / fade, 0,
    1)``: all of them when the model fits every pair of the LF, none once its
    pairs are down-weighted by ``fade`` on average. A pair's misfit counts
    beyond sampling noise only (``n KL`` of a table of ``R_i x R_j`` cells is
    about ``(R_i - 1)(R_j - 1) / 2`` under the model; ``noise`` scales that
    allowance). Data drawn from the model then keep nearly all their
    abstention evidence (the regimes of :mod:`weaksup.synthetic`: 0.91 to 1.00
    on average with ``prior_strength=prior_items=10``; a heavier prior is a
    misfit of its own and lowers this), exact copies of an LF keep none, and
    WRENCH youtube's ten keyword LFs keep 0 to 0.76, a quarter on average.

    Args:
        co_votes: ``(m, k, m, k)`` co-vote counts.
        n_items: item count (scalar tensor).
        C: ``(m, k + 1, k)`` fitted confusion (from :func:`fit_pairwise`).
        pi: ``(k,)`` class balance.
        pair_tolerance: as in :func:`fit_pairwise`; ``None``: every LF keeps
            all its abstention evidence (ones).
        fade: the mean pair down-weighting at which the abstention evidence
            is gone. Default: 0.25.
        noise: multiple of the sampling-noise allowance subtracted from each
            pair's ``n KL``. Default: 1.

    Returns:
        ``(m,)`` float64 factors for ``log C[i, 0, :]`` in the posterior.
    """
    m, k = co_votes.shape[0], co_votes.shape[1]
    device = co_votes.device
    if pair_tolerance is None or m < 2:
        return torch.ones(m, dtype=torch.float64, device=device)
    n = n_items.to(device=device, dtype=torch.float64)
    pi = pi.to(device=device, dtype=torch.float64)
    flat_T = pair_tables(co_votes, n_items).reshape(m * (k + 1), m * (k + 1))
    flat_C = C.to(device=device, dtype=torch.float64).reshape(m * (k + 1), k)
    Z = (flat_C * pi) @ flat_C.T
    lf_of = torch.arange(m, device=device).repeat_interleave(k + 1)
    G = _pair_misfit(flat_T, Z, n, lf_of, m)
    # sampling noise: n KL of a table of R_i x R_j cells is about df / 2 under the model
    votes = vote_counts(co_votes)
    responses = (votes > 0).sum(1).to(torch.float64) + ((n - votes.sum(1)) > 0).to(torch.float64)
    df = (responses - 1.0).clamp(min=0)[:, None] * (responses - 1.0).clamp(min=0)[None, :]
    excess = (G - noise * df / 2.0).clamp(min=0)
    off_diag = 1.0 - torch.eye(m, dtype=torch.float64, device=device)
    omega = off_diag / (1.0 + excess / (pair_tolerance * n).clamp(min=TINY))
    mean_w = omega.sum(1) / (m - 1)
    return (1.0 - (1.0 - mean_w) / fade).clamp(0.0, 1.0)


def fit_pairwise(
    co_votes: torch.Tensor,
    n_items: torch.Tensor,
    pi: Optional[torch.Tensor] = None,
    *,
    n_iter: int = 100,
    prior_accuracy: float = 0.9,
    prior_strength: float = 10.0,
    prior_items: float = 10.0,
    pair_tolerance: Optional[float] = 0.01,
    pi_start: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
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
      (:func:`prior_precision`) with ``prior_strength`` pseudo-votes, so an LF
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
    labelling of the classes. Cost per step: ``O(R^2 k)`` with ``R <= m (k+1)``
    the responses actually given (``2 m`` for one-sided LFs).

    Args:
        co_votes: ``(m, k, m, k)`` co-vote counts.
        n_items: item count (scalar tensor).
        pi: ``(k,)`` class balance (fixed), or ``None``: estimate it.
        n_iter: EM steps. Default: 100.
        prior_accuracy: the prior's ``P(Y = c | vote c)``. Default: 0.9.
        prior_strength: pseudo-votes of the prior per (LF, voted class). Default: 10.
        prior_items: pseudo-items per class and LF spread as the starting model. Default: 10.
        pair_tolerance: KL (nats per item) at which a pair's weight halves;
            ``None`` disables the weighting. Default: 0.01.
        pi_start: starting balance when ``pi`` is estimated (default: uniform).

    Returns:
        ``(C, pi)``: ``(m, k + 1, k)`` float64 confusion and the ``(k,)``
        class balance (the given one, or the estimate).
    """
    m, k = co_votes.shape[0], co_votes.shape[1]
    device = co_votes.device
    estimate = pi is None
    if estimate:
        pi = pi_start if pi_start is not None else torch.full((k,), 1.0 / k, dtype=torch.float64)
    pi = pi.to(device=device, dtype=torch.float64)
    n = n_items.to(device=device, dtype=torch.float64)
    votes = vote_counts(co_votes)
    vote_rate = votes / n.clamp(min=1.0)
    w = prior_precision(vote_rate, pi, prior_accuracy)  # (m, k, k)
    C0 = confusion_from_precision(vote_rate, w, pi)
    if m < 2 or n_iter == 0:
        return C0, pi
    has = votes > 0
    flat_T = pair_tables(co_votes, n_items).reshape(m * (k + 1), m * (k + 1))
    lf_of = torch.arange(m, device=device).repeat_interleave(k + 1)
    # Responses no LF ever gave have C = 0 and no counts: on the CPU, drop them
    # (one-sided LFs use 2 of their k + 1 responses). On an accelerator keep the
    # dense shapes, which avoids a data-dependent size (a host sync).
    active = None
    if device.type == "cpu":
        given = torch.cat([(n - votes.sum(1, keepdim=True)) > 0, has], 1).reshape(-1)
        active = given.nonzero().squeeze(1)
        flat_T = flat_T[active][:, active]
        lf_of = lf_of[active]
    off_diag = 1.0 - torch.eye(m, dtype=torch.float64, device=device)
    omega, pair_w = off_diag, None
    prior_joint = prior_items * C0 * pi
    C = C0
    for _ in range(n_iter):
        flat_C = C.reshape(m * (k + 1), k)
        if active is not None:
            flat_C = flat_C[active]
        Z = (flat_C * pi) @ flat_C.T  # P(r_i, r_j) of every pair and cell
        if pair_tolerance is not None:
            omega = off_diag / (1.0 + (_pair_misfit(flat_T, Z, n, lf_of, m) / (pair_tolerance * n).clamp(min=TINY)).clamp(min=0))
            pair_w = omega[lf_of][:, lf_of]
        W = flat_T / Z.clamp(min=TINY)  # 0 where the pair never gave that cell
        if pair_w is not None:
            W = W * pair_w
        expected = flat_C * pi * (W @ flat_C)  # sum over partners of counts x P(y | cell)
        if active is not None:
            expected = torch.zeros((m * (k + 1), k), dtype=torch.float64, device=device).index_copy_(0, active, expected)
        expected = expected.reshape(m, k + 1, k) / omega.sum(1).clamp(min=TINY)[:, None, None]
        if estimate:
            pi = (expected.sum(1).mean(0) / n.clamp(min=1.0)).clamp(min=_PI_FLOOR)
            pi = pi / pi.sum()
            w = prior_precision(vote_rate, pi, prior_accuracy)
            prior_joint = prior_items * confusion_from_precision(vote_rate, w, pi) * pi
        q = (expected[:, 1:, :] + prior_strength * w) / (votes[:, :, None] + prior_strength).clamp(min=TINY)
        q = torch.where(has[:, :, None], q, w)
        joint = torch.cat([expected[:, :1, :], votes[:, :, None] * q], 1) + prior_joint  # (m, k+1, k)
        C = joint / joint.sum(1, keepdim=True).clamp(min=TINY)
    return C, pi
