"""Synthetic votes with known parameters, one generator per regime of real LFs.

Every generator draws items from a Dawid-Skene model: a class ``Y ~
class_balance``, then, independently for each labeling function (LF) ``i``, a
response ``r ~ confusion[i, :, Y]`` where response ``0`` is an abstention and
response ``c + 1`` a vote for class ``c``. It returns ``(L, Y, params)``:
votes ``L`` ``(n, m)`` in the Snorkel/WRENCH convention (``-1`` = abstain,
classes ``0..k-1``), gold labels ``Y`` ``(n,)`` and the
:class:`SyntheticParameters` that produced them. All generators are seeded
(``numpy.random.default_rng(seed)``): the same arguments give the same arrays.

The regimes are the ones that break symmetric triplet estimates on real data:

- :func:`one_sided`: each LF votes only one class (half of WRENCH youtube's
  LFs vote only "spam", half only "ham"); its information is *when* it fires.
- :func:`sparse`: many LFs of coverage under 5%, most pairs never vote on the
  same item, a minority class near 13% (WRENCH sms-like).
- :func:`many_classes`: 70 to 170 LFs over 6 to 10 classes, mostly one-sided
  (WRENCH trec / semeval / chemprot-like).
- :func:`adversarial`: some LFs are worse than random, so the sign of their
  accuracy has to be recovered.
- :func:`symmetric`: FlyingSquid's textbook model (binary or ``k`` classes,
  one accuracy per LF, errors spread evenly), the regime the triplet method is
  exact in.

Shapes: ``n`` items, ``m`` LFs, ``k`` classes.

Example:
    >>> from weaksup.synthetic import one_sided
    >>> L, Y, params = one_sided(n=1000, m=6, seed=0)
    >>> L.shape, Y.shape, params.confusion.shape
    ((1000, 6), (1000,), (6, 3, 2))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "SyntheticParameters",
    "sample_votes",
    "from_precision",
    "symmetric",
    "one_sided",
    "sparse",
    "many_classes",
    "adversarial",
]


@dataclass
class SyntheticParameters:
    """The truth behind a synthetic vote matrix.

    Attributes:
        class_balance: ``(k,)`` P(Y = y).
        confusion: ``(m, k + 1, k)`` P(response r | Y = y); response 0 =
            abstain, response ``c + 1`` = vote for class ``c``. Columns sum to 1.
        targets: ``(m,)`` the class a one-sided LF votes, ``-1`` for LFs that
            vote several classes.
    """

    class_balance: np.ndarray
    confusion: np.ndarray
    targets: np.ndarray

    @property
    def n_lfs(self) -> int:
        return self.confusion.shape[0]

    @property
    def cardinality(self) -> int:
        return self.confusion.shape[2]

    @property
    def coverage(self) -> np.ndarray:
        """``(m,)`` P(LF votes)."""
        return 1.0 - self.confusion[:, 0, :] @ self.class_balance

    @property
    def accuracies(self) -> np.ndarray:
        """``(m,)`` P(vote correct | LF votes) (0.5 for an LF that never votes)."""
        k = self.cardinality
        right = np.einsum("iyy,y->i", self.confusion[:, 1:, :], self.class_balance)
        cov = self.coverage
        return np.where(cov > 0, right / np.where(cov > 0, cov, 1.0), 1.0 / k)

    @property
    def precision(self) -> np.ndarray:
        """``(m, k, k)`` P(Y = y | LF votes c), indexed ``[i, c, y]`` (uniform
        where the LF never votes ``c``)."""
        joint = self.confusion[:, 1:, :] * self.class_balance  # (m, c, y)
        total = joint.sum(2, keepdims=True)
        k = self.cardinality
        return np.where(total > 0, joint / np.where(total > 0, total, 1.0), 1.0 / k)

    def log_posterior(self, L: np.ndarray) -> np.ndarray:
        """``(n, k)`` normalised log P(Y | votes) under the true model (the
        Bayes-optimal label model for this data)."""
        L = np.asarray(L)
        with np.errstate(divide="ignore"):
            logc = np.log(self.confusion)
            logp = np.log(self.class_balance)
        logc = np.where(np.isfinite(logc), logc, -1e30)
        s = logp + logc[np.arange(L.shape[1])[None, :], L + 1, :].sum(1)
        s = s - s.max(1, keepdims=True)
        return s - np.log(np.exp(s).sum(1, keepdims=True))


def sample_votes(
    confusion: np.ndarray, class_balance: np.ndarray, n: int, seed: Optional[int] = 0
) -> Tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` items from a Dawid-Skene model.

    Args:
        confusion: ``(m, k + 1, k)`` P(response | Y), response 0 = abstain.
        class_balance: ``(k,)``.
        n: number of items.
        seed: seed of ``numpy.random.default_rng``.

    Returns:
        ``L`` ``(n, m)`` int64 votes (-1 = abstain) and ``Y`` ``(n,)`` int64.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    class_balance = np.asarray(class_balance, dtype=np.float64)
    m, r, k = confusion.shape
    if r != k + 1:
        raise ValueError(f"confusion must have shape (m, k + 1, k), got {confusion.shape}")
    if not np.allclose(confusion.sum(1), 1.0) or (confusion < 0).any():
        raise ValueError("each confusion[i, :, y] must be a probability distribution over k + 1 responses")
    rng = np.random.default_rng(seed)
    Y = rng.choice(k, size=n, p=class_balance / class_balance.sum())
    cdf = np.cumsum(confusion, axis=1)  # (m, k+1, k)
    u = rng.random((n, m))
    thresholds = cdf[np.arange(m)[None, :], :, Y[:, None]]  # (n, m, k+1)
    response = (u[:, :, None] >= thresholds).sum(2)
    response = np.minimum(response, k)  # guard the last bin against rounding
    return (response - 1).astype(np.int64), Y.astype(np.int64)


def from_precision(
    class_balance: Sequence[float],
    targets: Sequence[int],
    coverage: Sequence[float],
    precision: Sequence[float],
) -> np.ndarray:
    """Confusion tables of one-sided LFs from their coverage and precision.

    LF ``i`` votes only class ``targets[i]``, on a fraction ``coverage[i]`` of
    the items, and is right on a fraction ``precision[i]`` of its votes; its
    wrong votes fall on the other classes in proportion to the class balance.
    A precision below the class balance of the target makes it worse than
    random (its vote is evidence *against* its class).

    Returns:
        ``(m, k + 1, k)`` confusion (see :class:`SyntheticParameters`).
    """
    pi = np.asarray(class_balance, dtype=np.float64)
    pi = pi / pi.sum()
    k = len(pi)
    targets = np.asarray(targets, dtype=np.int64)
    cov = np.asarray(coverage, dtype=np.float64)
    prec = np.asarray(precision, dtype=np.float64)
    m = len(targets)
    conf = np.zeros((m, k + 1, k))
    for i in range(m):
        c = targets[i]
        # P(Y=y | vote) = prec on c, the rest spread by the balance of the others
        post = np.where(np.arange(k) == c, prec[i], (1 - prec[i]) * pi / max(1e-12, 1 - pi[c]))
        post[c] = prec[i]
        vote_given_y = cov[i] * post / pi  # P(vote | y) by Bayes
        if vote_given_y.max() > 1:
            raise ValueError(
                f"LF {i}: coverage {cov[i]:.3f} with precision {prec[i]:.3f} on class {c} "
                f"(balance {pi[c]:.3f}) needs P(vote | y) = {vote_given_y.max():.3f} > 1"
            )
        conf[i, c + 1, :] = vote_given_y
        conf[i, 0, :] = 1 - vote_given_y
    return conf


def _params(pi, conf, targets) -> SyntheticParameters:
    return SyntheticParameters(np.asarray(pi, dtype=np.float64), conf, np.asarray(targets, dtype=np.int64))


def _draw(conf, pi, n, seed, targets):
    L, Y = sample_votes(conf, pi, n, seed)
    return L, Y, _params(pi, conf, targets)


def symmetric(
    n: int = 5000,
    m: int = 8,
    k: int = 2,
    *,
    accuracy: Tuple[float, float] = (0.6, 0.9),
    coverage: Tuple[float, float] = (0.4, 0.9),
    class_balance: Optional[Sequence[float]] = None,
    seed: int = 0,
):
    """FlyingSquid's model: LF ``i`` votes with probability ``coverage_i``
    whatever the class (abstention carries no information), and is right with
    probability ``accuracy_i``, its errors spread evenly over the other classes.

    Returns:
        ``(L, Y, params)``; ``params.targets`` is all ``-1``.
    """
    rng = np.random.default_rng(seed)
    pi = np.full(k, 1.0 / k) if class_balance is None else np.asarray(class_balance, dtype=np.float64)
    acc = rng.uniform(*accuracy, m)
    cov = rng.uniform(*coverage, m)
    conf = np.zeros((m, k + 1, k))
    for i in range(m):
        vote = np.full((k, k), (1 - acc[i]) / (k - 1))
        np.fill_diagonal(vote, acc[i])
        conf[i, 1:, :] = cov[i] * vote
        conf[i, 0, :] = 1 - cov[i]
    return _draw(conf, pi, n, seed + 1, -np.ones(m))


def one_sided(
    n: int = 5000,
    m: int = 10,
    k: int = 2,
    *,
    coverage: Tuple[float, float] = (0.1, 0.35),
    precision: Tuple[float, float] = (0.65, 0.97),
    class_balance: Optional[Sequence[float]] = None,
    seed: int = 0,
):
    """One-sided LFs: LF ``i`` votes only class ``i % k`` (youtube-like: half
    vote "spam", half "ham" for ``k = 2``), with its coverage and precision
    drawn uniformly from the given ranges.

    A symmetric triplet estimate cannot tell these LFs apart (every pair of
    same-side LFs always agrees when both vote); their information is in how
    often they fire under each class.
    """
    rng = np.random.default_rng(seed)
    pi = np.full(k, 1.0 / k) if class_balance is None else np.asarray(class_balance, dtype=np.float64)
    targets = np.arange(m) % k
    cov = rng.uniform(*coverage, m)
    prec = rng.uniform(*precision, m)
    cov = np.minimum(cov, pi[targets] * 0.95 / prec)  # an LF cannot fire on more than its class
    return _draw(from_precision(pi, targets, cov, prec), pi, n, seed + 1, targets)


def sparse(
    n: int = 5000,
    m: int = 70,
    *,
    minority: float = 0.13,
    coverage: Tuple[float, float] = (0.001, 0.015),
    precision: Tuple[float, float] = (0.6, 0.97),
    minority_share: float = 0.5,
    seed: int = 0,
):
    """Sparse one-sided binary LFs (sms-like): coverage of 0.1% to 1.5%, so most
    pairs of LFs never vote on the same item and many items get no vote; class 1 is
    the minority (``minority`` of the items). A share ``minority_share`` of the
    LFs vote class 1, the others class 0. Score with F1 of class 1.
    """
    rng = np.random.default_rng(seed)
    pi = np.array([1 - minority, minority])
    targets = (rng.random(m) < minority_share).astype(np.int64)
    cov = rng.uniform(*coverage, m)
    prec = rng.uniform(*precision, m)
    # a minority-class LF cannot fire more often than its class allows
    cap = minority * 0.95 / prec
    cov = np.where(targets == 1, np.minimum(cov, cap), cov)
    return _draw(from_precision(pi, targets, cov, prec), pi, n, seed + 1, targets)


def many_classes(
    n: int = 10000,
    m: int = 100,
    k: int = 8,
    *,
    coverage: Tuple[float, float] = (0.005, 0.08),
    precision: Tuple[float, float] = (0.45, 0.97),
    multi_class_share: float = 0.1,
    class_balance: Optional[Sequence[float]] = None,
    seed: int = 0,
):
    """Many LFs over many classes (trec / semeval-like): mostly one-sided LFs
    (each votes one class), plus a share ``multi_class_share`` of LFs that vote
    any class with a symmetric accuracy drawn from ``precision``. The class
    balance is drawn from a Dirichlet(2) unless given, so some classes are rare.
    """
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.full(k, 2.0)) if class_balance is None else np.asarray(class_balance, dtype=np.float64)
    pi = np.maximum(pi, 0.02)
    pi = pi / pi.sum()
    multi = rng.random(m) < multi_class_share
    targets = np.where(multi, -1, rng.integers(0, k, m))
    cov = rng.uniform(*coverage, m)
    prec = rng.uniform(*precision, m)
    conf = np.zeros((m, k + 1, k))
    one = ~multi
    cap = pi[np.maximum(targets, 0)] * 0.95 / prec
    cov = np.where(one, np.minimum(cov, cap), cov)
    if one.any():
        conf[one] = from_precision(pi, targets[one], cov[one], prec[one])
    for i in np.flatnonzero(multi):
        vote = np.full((k, k), (1 - prec[i]) / (k - 1))
        np.fill_diagonal(vote, prec[i])
        conf[i, 1:, :] = cov[i] * vote
        conf[i, 0, :] = 1 - cov[i]
    return _draw(conf, pi, n, seed + 1, targets)


def adversarial(
    n: int = 5000,
    m: int = 10,
    k: int = 2,
    *,
    n_bad: int = 2,
    accuracy: Tuple[float, float] = (0.65, 0.9),
    bad_accuracy: Tuple[float, float] = (0.1, 0.3),
    coverage: Tuple[float, float] = (0.3, 0.8),
    seed: int = 0,
):
    """Symmetric LFs of which the first ``n_bad`` are worse than random: their
    accuracy lies in ``bad_accuracy`` (below ``1/k``), so a model that takes
    ``abs()`` of an accuracy moment trusts them the wrong way round.
    """
    rng = np.random.default_rng(seed)
    pi = np.full(k, 1.0 / k)
    acc = rng.uniform(*accuracy, m)
    acc[:n_bad] = rng.uniform(*bad_accuracy, n_bad)
    cov = rng.uniform(*coverage, m)
    conf = np.zeros((m, k + 1, k))
    for i in range(m):
        vote = np.full((k, k), (1 - acc[i]) / (k - 1))
        np.fill_diagonal(vote, acc[i])
        conf[i, 1:, :] = cov[i] * vote
        conf[i, 0, :] = 1 - cov[i]
    return _draw(conf, pi, n, seed + 1, -np.ones(m))
