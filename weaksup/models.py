"""End models: PyTorch classifiers to train on probabilistic labels.

:class:`HashedNgramClassifier` is a linear text classifier over hashed word
n-grams: no vocabulary to build, nothing to download, stable across runs and
machines. It is the end model of ``weaksup demo`` and of the Prodigy recipes,
and a strong baseline for short texts. Train it with
:class:`weaksup.nn.FSLoss` / :class:`weaksup.nn.FSCrossEntropyLoss` on the
votes of the labeling functions, or with any loss on soft or gold labels::

    import torch
    from weaksup import FSCrossEntropyLoss
    from weaksup.models import HashedNgramClassifier

    model = HashedNgramClassifier(cardinality=2)
    loss_fn = FSCrossEntropyLoss(n_lfs, 2)           # votes: -1 abstain, 0..k-1
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for texts, votes in batches:                     # a list of str, an (n, m) array
        loss = loss_fn(model(*model.encode(texts)), votes)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

The whole model is one :class:`torch.nn.EmbeddingBag` (attribute ``bag``)
whose output has one column per class, so ``weaksup.thinc``'s
``resize_output`` adds a class to a trained model (the new column starts at
zero) like it does for a ``torch.nn.Linear`` output.
"""

from __future__ import annotations

import re
import zlib
from typing import List, Sequence, Tuple

import torch

from ._validation import check_int

__all__ = ["HashedNgramClassifier"]

_TOKEN = re.compile(r"[^\W_]+|[^\w\s]", re.UNICODE)


class HashedNgramClassifier(torch.nn.Module):
    """A linear classifier over hashed word n-grams.

    A text is lower-cased and split into words and punctuation marks; its
    features are these tokens and their n-grams up to ``ngram``, each hashed
    with CRC32 (the same bucket in every run and on every machine, unlike
    Python's ``hash``) into one of ``n_features`` buckets. The logits are the
    mean of the text's bucket weights plus a bias.

    The bias is stored as one more bucket (index ``n_features``) that every
    text contains with weight 1, the n-grams having weight ``1 / count``: the
    model is then a single ``EmbeddingBag`` in ``"sum"`` mode with per-item
    weights, ``(n_features + 1, k)``, whose columns are the classes. Growing
    the columns adds classes; nothing else holds a per-class parameter.

    All weights start at zero (every class equally likely, and no random
    numbers drawn: building the model leaves torch's random state alone).

    Args:
        cardinality: number of classes ``k`` (>= 2).
        n_features: hash buckets. Default: ``2**16``.
        ngram: longest n-gram. Default: 2 (words and word pairs).

    Shape:
        - ``encode(texts)``: ``(indices, offsets, weights)`` for ``n`` texts,
          the inputs of :class:`torch.nn.EmbeddingBag`.
        - ``forward(indices, offsets, weights)``: logits ``(n, k)``.

    Example:
        >>> model = HashedNgramClassifier(2, n_features=1024)
        >>> logits = model(*model.encode(["check out my channel", "great song", ""]))
        >>> logits.shape
        torch.Size([3, 2])
        >>> model.tokens("Check out my channel!")
        ['check', 'out', 'my', 'channel', '!', 'check out', 'out my', 'my channel', 'channel !']
    """

    def __init__(self, cardinality: int, n_features: int = 1 << 16, ngram: int = 2) -> None:
        super().__init__()
        cardinality = check_int(cardinality, "cardinality", minimum=2)
        self.n_features = check_int(n_features, "n_features", minimum=1)
        self.ngram = check_int(ngram, "ngram", minimum=1)
        weight = torch.zeros(self.n_features + 1, cardinality)
        self.bag = torch.nn.EmbeddingBag(self.n_features + 1, cardinality, mode="sum", _weight=weight)

    @property
    def cardinality(self) -> int:
        """The number of classes ``k`` (the columns of ``bag``; a resize changes it)."""
        return int(self.bag.embedding_dim)

    @property
    def bias_index(self) -> int:
        """The bucket that holds the bias (every text contains it once)."""
        return self.n_features

    def tokens(self, text: str) -> List[str]:
        """The features of ``text`` before hashing: tokens, then 2-grams, ... up to ``ngram``."""
        words = [w.lower() for w in _TOKEN.findall(text)]
        grams = list(words)
        for size in range(2, self.ngram + 1):
            grams += [" ".join(words[i:i + size]) for i in range(len(words) - size + 1)]
        return grams

    def hash(self, text: str) -> List[int]:
        """The bucket of each feature of ``text`` (repeats kept: a repeated
        n-gram counts more), without the bias bucket."""
        return [zlib.crc32(g.encode("utf-8")) % self.n_features for g in self.tokens(str(text))]

    def pack(self, hashed: Sequence[Sequence[int]]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(indices, offsets, weights)`` of texts already :meth:`hash`-ed.

        Hash each text once and pack per batch when a training loop visits
        the same texts many times.
        """
        indices: List[int] = []
        offsets: List[int] = []
        weights: List[float] = []
        for buckets in hashed:
            offsets.append(len(indices))
            if buckets:
                indices.extend(buckets)
                weights.extend([1.0 / len(buckets)] * len(buckets))
            indices.append(self.bias_index)
            weights.append(1.0)
        dtype = self.bag.weight.dtype
        return (
            torch.tensor(indices, dtype=torch.int64),
            torch.tensor(offsets, dtype=torch.int64),
            torch.tensor(weights, dtype=dtype),
        )

    def encode(self, texts: Sequence[str]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The ``(indices, offsets, weights)`` inputs of ``forward`` for ``texts``."""
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, got a single str: wrap it in a list")
        return self.pack([self.hash(text) for text in texts])

    def forward(self, indices: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        weights = weights.to(device=self.bag.weight.device, dtype=self.bag.weight.dtype)
        return self.bag(indices.to(self.bag.weight.device), offsets.to(self.bag.weight.device),
                        per_sample_weights=weights)
