"""PyTorch data glue: items with their votes, batched for a training loop.

:class:`WeakLabelDataset` pairs ``n`` inputs (texts, token-id lists, tensors,
records) with the rows of an ``(n, m)`` vote matrix; :func:`collate` batches
them, variable-length inputs included. A training loop with
:class:`weaksup.FSCrossEntropyLoss`::

    import torch
    from weaksup import FSCrossEntropyLoss, apply_lfs
    from weaksup.data import WeakLabelDataset
    from weaksup.models import HashedNgramClassifier

    votes = apply_lfs(lfs, texts, labels=["ham", "spam"])   # (n, m), -1 = abstain
    model = HashedNgramClassifier(2)
    loss_fn = FSCrossEntropyLoss(votes.shape[1], 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    loader = WeakLabelDataset(texts, votes).loader(batch_size=32, shuffle=True, inputs=model.encode)
    for epoch in range(5):
        for x, v in loader:                      # x = model.encode(batch texts), v: (b, m)
            loss = loss_fn(model(*x), v)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
"""

from __future__ import annotations

import functools
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

RAGGED = ("pad", "offsets", "list")


class WeakLabelDataset(Dataset):
    """``n`` inputs with their LF votes: ``dataset[i] == (input_i, votes[i])``.

    Args:
        inputs: ``n`` items, anything indexable with a length (a list of
            texts or of token-id lists, an array, a tensor).
        votes: the ``(n, m)`` vote matrix (numpy array, tensor, or the
            :class:`weaksup.lf.Votes` of :func:`weaksup.apply_lfs`) in the
            convention of the loss that will read it. Stored as an int64
            tensor; its ``lf_names`` are kept.
        transform: applied to each input when it is read (for example
            ``model.hash`` to hash a text once per read). Default: none.

    Shape:
        - ``inputs``: ``n`` items; ``votes``: ``(n, m)``.
        - ``dataset[i]``: ``(input, votes_row)`` with ``votes_row`` int64 ``(m,)``.

    Example:
        >>> ds = WeakLabelDataset(["a b", "c"], [[0, -1], [1, 1]])
        >>> len(ds), ds[1]
        (2, ('c', tensor([1, 1])))
        >>> x, v = collate([ds[0], ds[1]])
        >>> x, v.shape
        (['a b', 'c'], torch.Size([2, 2]))
    """

    def __init__(self, inputs: Sequence[Any], votes: Any, *, transform: Optional[Callable[[Any], Any]] = None) -> None:
        if not hasattr(inputs, "__len__") or not hasattr(inputs, "__getitem__"):
            raise TypeError(f"`inputs` must be indexable with a length (a list, an array), got {type(inputs).__name__}")
        if transform is not None and not callable(transform):
            raise TypeError(f"`transform` must be callable or None, got {type(transform).__name__}")
        self.lf_names: Optional[List[str]] = getattr(votes, "lf_names", None)
        try:
            if isinstance(votes, torch.Tensor):
                tensor = votes.detach().cpu()
            else:
                tensor = torch.as_tensor(np.asarray(votes))
        except (TypeError, ValueError) as err:
            raise TypeError(f"`votes` must be an (n, m) integer array, got {type(votes).__name__} ({err})") from None
        if tensor.ndim != 2:
            raise ValueError(f"`votes` must be 2-D (items x labeling functions), got shape {tuple(tensor.shape)}")
        if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
            if tensor.dtype == torch.bool or not torch.equal(tensor, tensor.round()):
                raise TypeError(f"`votes` must hold integer votes, got dtype {tensor.dtype}")
        if len(inputs) != tensor.shape[0]:
            raise ValueError(f"`inputs` and `votes` must have one row per item: {len(inputs)} inputs, "
                             f"{tensor.shape[0]} rows of votes")
        self.inputs = inputs
        self.votes = tensor.to(torch.int64)
        self.transform = transform

    def __len__(self) -> int:
        return self.votes.shape[0]

    def __getitem__(self, index: int) -> Tuple[Any, torch.Tensor]:
        item = self.inputs[index]
        if self.transform is not None:
            item = self.transform(item)
        return item, self.votes[index]

    def loader(
        self,
        batch_size: int = 32,
        shuffle: bool = False,
        *,
        inputs: Optional[Callable[[List[Any]], Any]] = None,
        ragged: str = "pad",
        padding_value: int = 0,
        **options: Any,
    ) -> DataLoader:
        """A :class:`torch.utils.data.DataLoader` over this dataset, batched with :func:`collate`.

        Args:
            batch_size: items per batch. Default: 32.
            shuffle: reshuffle at every epoch (pass ``generator=`` for a
                fixed order). Default: False.
            inputs, ragged, padding_value: see :func:`collate`.
            options: more :class:`~torch.utils.data.DataLoader` arguments.
        """
        if ragged not in RAGGED:
            raise ValueError(f"`ragged` must be one of {RAGGED}, got {ragged!r}")
        fn = functools.partial(collate, inputs=inputs, ragged=ragged, padding_value=padding_value)
        return DataLoader(self, batch_size=batch_size, shuffle=shuffle, collate_fn=fn, **options)


def collate(
    batch: Sequence[Tuple[Any, torch.Tensor]],
    *,
    inputs: Optional[Callable[[List[Any]], Any]] = None,
    ragged: str = "pad",
    padding_value: int = 0,
) -> Tuple[Any, torch.Tensor]:
    """Batch ``(input, votes_row)`` pairs into ``(inputs, votes)``.

    Args:
        batch: ``b`` pairs, as :class:`WeakLabelDataset` yields them.
        inputs: a function of the list of ``b`` inputs that builds the
            batch's model input (for example ``model.encode`` of
            :class:`weaksup.models.HashedNgramClassifier`). Default: the
            rules below.
        ragged: how sequences of different lengths (lists of ints, 1-D
            arrays or tensors) are batched: ``"pad"``: one ``(b, T)`` tensor
            padded with ``padding_value`` at the end; ``"offsets"``:
            ``(flat, offsets)``, the concatenation ``(N,)`` and the start of
            each sequence ``(b,)``, as :class:`torch.nn.EmbeddingBag` takes
            them; ``"list"``: a list of ``b`` tensors. Default: ``"pad"``.
        padding_value: the value padded sequences are filled with. Default: 0.

    Without ``inputs``: strings (and other non-numeric items) stay a list;
    numbers, and arrays or tensors of one shape, are stacked into a tensor
    ``(b, ...)``; sequences of different lengths follow ``ragged``.

    Returns:
        ``(inputs, votes)`` with ``votes`` int64 ``(b, m)``.

    Example:
        >>> x, v = collate([([5, 6, 7], [0, -1]), ([8], [1, 1])])
        >>> x
        tensor([[5, 6, 7],
                [8, 0, 0]])
        >>> collate([([5, 6, 7], [0, -1]), ([8], [1, 1])], ragged="offsets")[0]
        (tensor([5, 6, 7, 8]), tensor([0, 3]))
    """
    if ragged not in RAGGED:
        raise ValueError(f"`ragged` must be one of {RAGGED}, got {ragged!r}")
    items = [pair[0] for pair in batch]
    votes = torch.stack([torch.as_tensor(pair[1], dtype=torch.int64) for pair in batch]) if batch else \
        torch.empty((0, 0), dtype=torch.int64)
    if inputs is not None:
        return inputs(items), votes
    return _collate_inputs(items, ragged, padding_value), votes


def _as_numeric_tensor(item: Any) -> Optional[torch.Tensor]:
    if isinstance(item, torch.Tensor):
        return item
    if isinstance(item, (str, bytes, dict)) or item is None:
        return None
    try:
        arr = np.asarray(item)
    except (TypeError, ValueError):
        return None
    if arr.dtype.kind not in "biuf":
        return None
    return torch.as_tensor(arr)


def _collate_inputs(items: List[Any], ragged: str, padding_value: int) -> Any:
    tensors = [_as_numeric_tensor(x) for x in items]
    if not items or any(t is None for t in tensors):
        return items
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) == 1:
        return torch.stack(tensors)
    if any(t.ndim != 1 for t in tensors):
        raise ValueError(f"cannot batch inputs of shapes {sorted(shapes)[:3]}...: only 1-D sequences may differ in "
                         "length; pass inputs= a function that builds the batch")
    if ragged == "list":
        return tensors
    if ragged == "offsets":
        lengths = torch.tensor([len(t) for t in tensors])
        offsets = torch.cat([torch.zeros(1, dtype=torch.int64), lengths.cumsum(0)[:-1]])
        return torch.cat(tensors), offsets
    return torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True, padding_value=padding_value)
