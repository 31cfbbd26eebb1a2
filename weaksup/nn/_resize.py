"""Adding classes to :class:`~weaksup.nn.FSCrossEntropyLoss` (``resize`` / ``add_class``)."""

from __future__ import annotations

from typing import Any

import torch

from .._validation import check_int
from ..class_balance import resolve_class_balance

__all__ = ["ResizeMixin"]


class ResizeMixin:
    """``resize(num_classes)`` and ``add_class()``: the state migrates, no item is counted."""

    def resize(
        self, num_classes: int, *, class_balance: Any = None, weight: Any = None, label_model: Any = None
    ) -> Any:
        """Grow to ``num_classes`` classes; returns ``self``.

        The buffer keeps its votes (they stay valid), the statistics are
        re-laid for the new classes (which have no votes yet), and a fitted
        model is refit from the statistics it was fitted on. No item is
        counted: ``items_seen``, ``refits`` and the refit schedule are unchanged.
        The end model's output layer is the caller's to grow.

        Args:
            num_classes: the new ``k``, at least the current one.
            class_balance: ``(num_classes,)`` probabilities; required when the
                loss holds a class balance (given or counted from ``Y_dev``).
            weight: ``(num_classes,)`` per-class weights; required when the
                loss has class weights.
            label_model: the model for the new classes; required when the loss
                was given its own ``label_model`` (the default one is rebuilt).

        All arguments are checked before anything changes.
        """
        k = check_int(num_classes, "num_classes", minimum=self.num_classes)
        if k == self.num_classes and class_balance is None and weight is None and label_model is None:
            return self
        if self.class_balance is not None and class_balance is None:
            raise ValueError(f"class_balance: this loss holds a class balance; pass one of {k} entries to resize")
        if self.weight is not None and weight is None:
            raise ValueError(f"weight: this loss has class weights; pass {k} of them to resize")
        if self._custom_model and label_model is None:
            raise ValueError("label_model: this loss refits its own label model; pass one for the new classes")
        balance = None
        if class_balance is not None:
            balance = resolve_class_balance(class_balance, None, cardinality=k, convention="snorkel")
        new_weight = self._class_weight(weight, k) if weight is not None else None
        if label_model is not None:
            model = label_model
        else:
            saved, self.num_classes = self.num_classes, k
            try:
                model = self._default_model(k)
            finally:
                self.num_classes = saved
        # every check passed: migrate
        self._migrate_statistics(k)
        self.num_classes = k
        self.label_model = model
        self._reset_warm_start()
        self._custom_model = label_model is not None or self._custom_model
        if balance is not None:
            self.class_balance = balance.to(self.device)
        if new_weight is not None:
            self.weight = new_weight.to(self.device)
        self._uniform = torch.full((k,), 1.0 / k, dtype=torch.float64, device=self.device)
        self._model_stale = self.fitted
        self.last_targets = None
        return self

    def add_class(self, **options: Any) -> Any:
        """Add one class (``resize(num_classes + 1, **options)``); returns ``self``."""
        return self.resize(self.num_classes + 1, **options)
