"""Thinc integration: the weak-label losses in Thinc's style, and a PyTorch
wrapper whose ``use_params``, resizing and serialisation work.

Needs Thinc 8.3 (the version spaCy 3.8 pins): ``pip install weaksup[spacy]``.
Importing :mod:`weaksup` never imports Thinc; importing this package does,
and registers the names below with Thinc's registry (Thinc's own mechanism;
its entry points ``thinc_losses`` / ``thinc_layers`` import this package).

- :mod:`weaksup.thinc.losses`: :class:`FSLoss` (``"weaksup.FSLoss.v1"``) and
  :class:`FSCrossEntropyLoss` (``"weaksup.FSCrossEntropyLoss.v1"``), Thinc
  losses over the online losses of :mod:`weaksup.nn` (``loss(guesses, votes)
  -> (d_guesses, loss)``, gradient with respect to the logits).
- :mod:`weaksup.thinc.wrapper`: :func:`PyTorchWrapper`
  (``"weaksup.PyTorchWrapper.v1"``), Thinc's ``PyTorchWrapper_v3`` with
  working ``use_params`` (averaged weights), dropout set by the caller,
  integer inputs, resizing and parameter-only serialisation; it returns a
  :class:`TorchModel`.
- :mod:`weaksup.thinc.shim`: :class:`WeaksupPyTorchShim`, the shim under it.
- :mod:`weaksup.thinc.resize` and :mod:`weaksup.thinc.layers`:
  :func:`resize_output` (a ``torch.nn.Linear`` or ``torch.nn.EmbeddingBag``
  output layer, e.g. of :class:`weaksup.models.HashedNgramClassifier`) and
  :func:`resize_input` (a ``Linear`` input layer).
"""

try:
    import srsly  # noqa: F401
    import thinc  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "weaksup.thinc needs Thinc 8.3 (the version spaCy 3.8 uses), which is not "
        f"installed ({err}). Install it with: pip install weaksup[spacy]"
    ) from err

from .losses import (
    FSCrossEntropyLoss,
    FSLoss,
    OnlineLoss,
    configure_FSCrossEntropyLoss_v1,
    configure_FSLoss_v1,
)
from .resize import resize_input, resize_output
from .shim import WeaksupPyTorchShim
from .wrapper import PyTorchWrapper, TorchModel, convert_pytorch_inputs

__all__ = [
    "FSLoss",
    "FSCrossEntropyLoss",
    "OnlineLoss",
    "PyTorchWrapper",
    "TorchModel",
    "WeaksupPyTorchShim",
    "configure_FSLoss_v1",
    "configure_FSCrossEntropyLoss_v1",
    "convert_pytorch_inputs",
    "resize_input",
    "resize_output",
]
