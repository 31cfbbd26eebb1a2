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

Real keyword and pattern LFs are not independent given the class: LFs that
look for the same thing fire together, LFs that look for different phrasings
of one class rarely do, and whole kinds of items match no LF. The *topic*
generators (:func:`topic_votes` and the regimes built on it) draw that: each
item has a class and a topic within the class; each LF targets one topic and
fires on most of its items, and now and then on any other item (a wrong vote
when the item is of another class). Their ``params.confusion`` is each LF's
exact marginal ``P(response | Y)``, but the LFs are *not* conditionally
independent, so ``params.log_posterior`` is not the Bayes posterior there.
Regimes where label models with default options fail:

- :func:`low_coverage`: binary, 50-70% of the items get no vote, 5-15% minority.
- :func:`spam_like`: 73 LFs, 59% of the items without a vote, 13.5% spam (a
  WRENCH sms-like set).
- :func:`many_one_sided`: 70+ one-sided LFs, most of them voting one class.
- :func:`sparse_classes`: 9-10 classes, 25-165 LFs each covering 1-3% of the
  items (WRENCH semeval / chemprot-like relation sets).
- :func:`duplicates`: a one-sided set in which some LFs are copied several
  times (with a little noise): strongly correlated LFs.

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
    "topic_votes",
    "low_coverage",
    "spam_like",
    "many_one_sided",
    "sparse_classes",
    "duplicates",
    "REGIMES",
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


def _given_or_uniform(class_balance: Optional[Sequence[float]], k: int) -> np.ndarray:
    """``(k,)`` float64: the given class balance, or uniform when it is ``None``."""
    return np.full(k, 1.0 / k) if class_balance is None else np.asarray(class_balance, dtype=np.float64)


def _symmetric_confusion(accuracy: np.ndarray, coverage: np.ndarray, k: int) -> np.ndarray:
    """``(m, k + 1, k)`` confusion of symmetric LFs: LF ``i`` votes with
    probability ``coverage[i]`` whatever the class, is right with probability
    ``accuracy[i]``, and spreads its errors evenly over the other classes."""
    wrong = (1 - accuracy) / (k - 1)
    vote = np.where(np.eye(k, dtype=bool), accuracy[:, None, None], wrong[:, None, None])  # (m, c, y)
    conf = np.empty((len(accuracy), k + 1, k))
    conf[:, 1:, :] = coverage[:, None, None] * vote
    conf[:, 0, :] = (1 - coverage)[:, None]
    return conf


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
    pi = _given_or_uniform(class_balance, k)
    acc = rng.uniform(*accuracy, m)
    cov = rng.uniform(*coverage, m)
    return _draw(_symmetric_confusion(acc, cov, k), pi, n, seed + 1, -np.ones(m))


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
    pi = _given_or_uniform(class_balance, k)
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
    conf[multi] = _symmetric_confusion(prec[multi], cov[multi], k)
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
    return _draw(_symmetric_confusion(acc, cov, k), pi, n, seed + 1, -np.ones(m))


# ---------------------------------------------------------------------------
# topic generators: LFs that are dependent given the class
# ---------------------------------------------------------------------------
def topic_votes(
    n: int,
    class_balance: Sequence[float],
    topics_per_class: Sequence[int],
    lf_topics: Sequence[Tuple[int, int]],
    hit: Sequence[float],
    false_rate: Sequence[float],
    *,
    seed: int = 0,
):
    """Votes of LFs that each look for one topic of one class.

    Item: ``Y ~ class_balance``, then a topic ``t`` uniform among the
    ``topics_per_class[Y]`` topics of its class. LF ``i`` targets topic
    ``lf_topics[i] = (c, t)`` and votes ``c`` on an item of that topic with
    probability ``hit[i]``, and on any other item with probability
    ``false_rate[i]`` (a wrong vote when the item is not of class ``c``).
    Given its topic an item's LFs fire independently, so LFs of one topic are
    positively dependent given the class and LFs of different topics of one
    class negatively; topics no LF targets hold items with (nearly) no vote.

    Returns:
        ``(L, Y, params)``; ``params.confusion`` holds the exact marginal
        ``P(response | Y)`` of each LF, ``params.targets`` each LF's class.
    """
    pi = np.asarray(class_balance, dtype=np.float64)
    pi = pi / pi.sum()
    k = len(pi)
    T = np.asarray(topics_per_class, dtype=np.int64)
    if T.shape != (k,) or (T < 1).any():
        raise ValueError(f"topics_per_class must hold {k} ints >= 1, got {list(T)}")
    lf_topics = np.asarray(lf_topics, dtype=np.int64).reshape(-1, 2)
    m = len(lf_topics)
    hit = np.broadcast_to(np.asarray(hit, dtype=np.float64), (m,))
    false_rate = np.broadcast_to(np.asarray(false_rate, dtype=np.float64), (m,))
    rng = np.random.default_rng(seed)
    Y = rng.choice(k, size=n, p=pi)
    topic = (rng.random(n) * T[Y]).astype(np.int64)
    on_topic = (Y[:, None] == lf_topics[None, :, 0]) & (topic[:, None] == lf_topics[None, :, 1])
    p_vote = np.where(on_topic, hit[None, :], false_rate[None, :])
    fires = rng.random((n, m)) < p_vote
    L = np.where(fires, lf_topics[None, :, 0], -1).astype(np.int64)
    conf = np.zeros((m, k + 1, k))
    for i, (c, t) in enumerate(lf_topics):
        share = np.where(np.arange(k) == c, 1.0 / T[c], 0.0)  # P(item on LF i's topic | y)
        vote = share * hit[i] + (1 - share) * false_rate[i]
        conf[i, c + 1, :] = vote
        conf[i, 0, :] = 1 - vote
    return L, Y.astype(np.int64), _params(pi, conf, lf_topics[:, 0])


def _topic_lfs(rng, per_class_lfs, covered_topics):
    """``(c, t)`` of each LF: class ``c``'s LFs spread over its covered topics."""
    out = []
    for c, (n_lfs, n_cov) in enumerate(zip(per_class_lfs, covered_topics)):
        for j in range(n_lfs):
            out.append((c, j % n_cov if j < n_cov else int(rng.integers(0, n_cov))))
    return out


def low_coverage(
    n: int = 4000,
    m: int = 20,
    *,
    minority: float = 0.1,
    uncovered: float = 0.6,
    seed: int = 0,
):
    """Binary, class 1 the minority (``minority`` of the items), about
    ``uncovered`` of the items without any vote. Minority LFs look for
    several spam-like topics and cover most minority items; majority LFs
    cover only some majority topics, the rest of the majority class gets no
    vote. LFs are 85-98% precise on their own topic's class; a few votes land
    on the wrong class.
    """
    rng = np.random.default_rng(seed)
    pi = np.array([1 - minority, minority])
    covered_majority = max(0.05, 1.0 - (uncovered + 0.03) / (1 - minority))  # share of class 0 with an LF
    T0 = 20
    n_cov0 = max(1, int(round(covered_majority * T0)))
    m1 = max(2, int(round(m * 0.45)))
    m0 = m - m1
    lfs = _topic_lfs(rng, [m0, m1], [min(n_cov0, m0), 4])
    hit = rng.uniform(0.5, 0.9, m)
    false_rate = rng.uniform(0.0005, 0.004, m)
    L, Y, p = topic_votes(n, pi, [T0, 4], lfs, hit, false_rate, seed=seed + 1)
    return L, Y, p


def spam_like(n: int = 5000, *, seed: int = 0):
    """73 binary LFs, about 59% of the items without a vote, 13.5% spam
    (class 1): a WRENCH sms-like set. Spam LFs (a third of them) each look
    for one of several spam phrasings; ham LFs cover a minority of the ham
    topics; LF coverage 0.1% to 3%.
    """
    rng = np.random.default_rng(seed)
    pi = np.array([0.865, 0.135])
    m1, m0 = 25, 48
    T1, T0 = 12, 60
    lfs = _topic_lfs(rng, [m0, m1], [27, T1])
    hit = np.concatenate([rng.uniform(0.15, 0.7, m0), rng.uniform(0.3, 0.8, m1)])
    false_rate = rng.uniform(0.0, 0.002, m0 + m1)
    return topic_votes(n, pi, [T0, T1], lfs, hit, false_rate, seed=seed + 1)


def many_one_sided(n: int = 4000, m: int = 80, k: int = 2, *, majority_share: float = 0.8,
                   minority: float = 0.15, seed: int = 0):
    """``m`` one-sided LFs, a share ``majority_share`` of them voting class 0
    (the most frequent class); the others vote the remaining classes. Class 0
    holds ``1 - minority`` of the items. Several LFs per topic, so LFs of one
    topic fire together.
    """
    rng = np.random.default_rng(seed)
    pi = np.concatenate([[1 - minority], np.full(k - 1, minority / (k - 1))])
    m0 = int(round(m * majority_share))
    rest = m - m0
    per = [m0] + [rest // (k - 1) + (1 if c < rest % (k - 1) else 0) for c in range(k - 1)]
    T = [12] + [4] * (k - 1)
    lfs = _topic_lfs(rng, per, [10] + [4] * (k - 1))
    hit = rng.uniform(0.2, 0.8, m)
    false_rate = rng.uniform(0.001, 0.02, m)
    return topic_votes(n, pi, T, lfs, hit, false_rate, seed=seed + 1)


def sparse_classes(n: int = 6000, m: int = 60, k: int = 9, *, noisy: bool = False, seed: int = 0):
    """``k`` classes (9-10: relation sets), ``m`` one-sided LFs (25-165) each
    covering about 1-3% of the items; a Dirichlet(3) class balance (floored at
    2%); each class has a few topics, its LFs look for different ones (LFs of
    one class rarely fire together). ``noisy``: LFs fire on other items more
    often (chemprot-like, precision near 50%) instead of rarely (semeval-like).
    """
    rng = np.random.default_rng(seed)
    pi = np.maximum(rng.dirichlet(np.full(k, 3.0)), 0.02)
    pi = pi / pi.sum()
    per = rng.multinomial(m - k, pi) + 1  # every class gets an LF, more for frequent classes
    T = np.maximum(-(-per // 3), 2)  # about three LFs per topic
    lfs = _topic_lfs(rng, per, np.minimum(T, per))
    target = np.array([c for c, _ in lfs])
    # coverage of about 1-3%: hit x P(class, topic) + false_rate
    want = rng.uniform(0.01, 0.03, m)
    topic_mass = pi[target] / T[target]
    if noisy:
        false_rate = want * rng.uniform(0.3, 0.6, m)
    else:
        false_rate = want * rng.uniform(0.02, 0.15, m)
    hit = np.clip((want - false_rate) / topic_mass, 0.05, 0.95)
    return topic_votes(n, pi, T, lfs, hit, false_rate, seed=seed + 1)


def duplicates(n: int = 4000, m: int = 10, *, copies: int = 4, n_copied: int = 2, flip: float = 0.05,
               minority: float = 0.3, seed: int = 0):
    """A one-sided binary set of ``m`` LFs (class 1 the minority) where the
    first ``n_copied`` LFs appear ``copies`` more times each at the end
    (``m + n_copied * copies`` columns); a copy differs from its original on
    a share ``flip`` of the items (abstains instead, or votes where the
    original abstained). ``params.confusion`` is each column's marginal.
    """
    L, Y, p = one_sided(n=n, m=m, class_balance=[1 - minority, minority], seed=seed)
    rng = np.random.default_rng(seed + 7)
    cols, confs, targets = [L], [p.confusion], [p.targets]
    for i in range(n_copied):
        for _ in range(copies):
            col = L[:, i].copy()
            change = rng.random(n) < flip
            col[change] = np.where(col[change] >= 0, -1, p.targets[i])
            cols.append(col[:, None])
            # marginal of the copy: P(vote | y) moves towards flip
            conf = p.confusion[i].copy()
            vote = conf[p.targets[i] + 1] * (1 - flip) + (1 - conf[p.targets[i] + 1]) * flip
            conf[:] = 0.0
            conf[p.targets[i] + 1] = vote
            conf[0] = 1 - vote
            confs.append(conf[None])
            targets.append(p.targets[i : i + 1])
    return np.concatenate(cols, 1), Y, _params(p.class_balance, np.concatenate(confs), np.concatenate(targets))


REGIMES = {
    "low_coverage": (low_coverage, {}),
    "low_coverage_5pct": (low_coverage, {"minority": 0.05, "uncovered": 0.7}),
    "spam_like": (spam_like, {}),
    "many_one_sided": (many_one_sided, {}),
    "many_one_sided_k3": (many_one_sided, {"k": 3, "m": 90}),
    "sparse_classes_9": (sparse_classes, {"k": 9, "m": 160}),
    "sparse_classes_10_noisy": (sparse_classes, {"k": 10, "m": 26, "noisy": True}),
    "duplicates": (duplicates, {}),
}
"""Name -> ``(generator, options)`` of the default-breaking regimes (see the
module docstring); every generator also takes ``n`` and ``seed``."""
