"""Online weak-supervision losses for PyTorch.

:class:`FSLoss` is a drop-in for ``flyingsquid.pytorch_loss.FSLoss``: the end
model's logits are trained against soft labels that a FlyingSquid label model,
refitted as training goes, computes from the votes of labeling functions (LFs).
:class:`FSCrossEntropyLoss` is its sibling for ``k`` classes, and
:class:`MajorityVoteLoss` the baseline. The math lives in
:mod:`weaksup.functional`; the modules add the state: a ring buffer of recent
votes, its vote statistics, and the fitted label model.

How the online losses work (the same for all of them):

* Items are numbered ``0, 1, 2, ...`` in the order they arrive
  (``items_seen``).
* **The buffer** holds the votes of the most recent ``buffer_capacity`` items.
  Its :class:`~weaksup.statistics.VoteStatistics` are updated incrementally:
  the counts of a batch are added and the counts of the items it pushes out
  are subtracted. The counts are integers, so this is exact: the statistics
  always equal those of the buffer's items, each counted once.
* **A batch is processed at once.** (1) Its votes enter the buffer. (2) If the
  batch holds an item whose number is a multiple of ``update_frequency`` (the
  first batch always does), the label model is refit from the buffer's
  statistics as they are after the batch. A refit reads only the statistics,
  never the buffer, so it costs the same for ``buffer_capacity=100`` and
  ``1_000_000``. (3) Every item of the batch gets its soft label from the model
  as it is now. (4) The loss compares the logits with those soft labels.
* **Where this differs from upstream's per-item loop.** Upstream writes one
  item at a time, refits when the item's *ring position* is a multiple of
  ``update_frequency`` (on the buffer up to and including that item) and
  predicts that single row, so the items of one batch before a refit point use
  the previous model and ``update_frequency`` smaller than the batch means
  several refits per batch. weaksup refits at most once per batch, on the
  buffer including the whole batch, and scores the batch with one vectorised
  posterior: one refit and one pass instead of up to ``n`` refits and ``n``
  single-row predictions (the per-item loop is what makes upstream slow), and
  the items of a shuffled batch are exchangeable, so no item is better served
  by a model that has not seen its batch-mates. With batches of one item and
  ``update_frequency`` dividing ``buffer_capacity``, the two coincide.
  weaksup counts refit points by item number rather than ring position, which
  differs from upstream only when ``update_frequency`` does not divide
  ``buffer_capacity``.
* **A batch larger than the buffer** is accepted: only its last
  ``buffer_capacity`` items stay in the buffer (the earlier ones enter and are
  pushed out by their batch-mates; they are counted in ``items_seen``), the
  refit sees those, and every item of the batch is scored.
* **Items on which every LF abstains** are left out of the loss
  (``uncovered='ignore'``, the default: they contribute 0 and do not count in
  the ``'mean'``) or get the label model's answer for "no LF voted"
  (``uncovered='keep'``, as upstream), which for FlyingSquid's model is
  exactly the class balance. They always enter the buffer, as upstream's do.
* **Defaults** (chosen on measured label and end-model quality): the class
  balance is estimated from the buffer's votes at each refit unless given
  (``estimate_balance``), and FSLoss refits weaksup's pairwise-EM model for
  one task with independent LFs. Refits of the default pairwise-EM models are
  warm-started (``warm_start``): the first fit is a fresh one, each later
  refit starts EM from the previous fit's confusion and stops once no
  probability moves more than 1e-4 (the buffer moves a little between
  refits; labels as fresh fits give, in the measured regimes, at a fraction
  of the EM steps); ``warm_start=False`` refits from scratch. FlyingSquid's exact loss is
  ``FSLoss(m, solve_method='triplet_mean', estimate_balance=False,
  uncovered='keep')``; with it, votes on the host take the fused path below.
* An **empty batch** changes nothing and returns a zero loss (``'none'``: an
  empty tensor) that still backpropagates.
* **Data parallel.** Under an initialised ``torch.distributed`` process group
  with more than one rank, each rank keeps its own buffer (``buffer_capacity``
  is per rank) and a refit all-reduces the statistics, so every rank fits the
  same model on the union of all ranks' buffers. The local statistics are
  never overwritten by the synced sum, so nothing is counted twice. A refit is
  a collective call: every rank must reach it, which holds when every rank
  feeds batches of the same size (as ``DistributedSampler`` does). Every
  call first agrees with the other ranks (one small all-reduce of each rank's
  validity, batch size and schedule), so a bad or empty batch on one rank
  raises on every rank, at once, and nothing is summed out of step
  (:func:`weaksup.distributed.agree_across_ranks`).
* **Checkpoints.** ``state_dict()`` holds the buffer, the counters, the
  buffer's statistics and the statistics the current model was fitted on (the
  fit is deterministic, so they rebuild exactly the same model after
  ``load_state_dict``), and with warm start the confusion its EM started from
  (``model_init``): training that saves and reloads midway gives the same
  losses as training straight through.
* **Devices.** All state lives on the module's device (``device=`` or
  ``.to(device)``). Predictions must be on it; votes may be on it or on the
  host (a numpy array or a CPU tensor: validated there, then moved). With
  FlyingSquid's model (one task, independent LFs, ``triplet_mean``) and
  votes on the host, a step runs *fused*: the codes, the count update and
  the closed-form refit are a few tiny numpy operations on the host (on the
  CPU they work in the loss's own buffers), the device buffers get the same
  changes by upload, and the device computes only the loss, so a training
  step makes no host sync and few kernel launches. Otherwise the refit runs
  on the module's device from the statistics, with no copy of the buffer to
  the host. The two paths give the same numbers (to float64 rounding) and mix
  freely.
* **Validation** happens before anything changes: a call that raises leaves
  the loss bit-identical (buffer, counters, statistics, model). Votes are
  checked where they live (one ``aminmax``); on an accelerator, votes given
  on the host (numpy or a CPU tensor) are checked there, so a training step
  never waits for the device; NaN/inf logits are refused where the logits
  are on the CPU (``check_logits``).
* **Adding a class** to :class:`FSCrossEntropyLoss` (``add_class()`` /
  ``resize(k)``) migrates its state without counting an item.

The package: :mod:`weaksup.nn._online` (the base class: state, buffer,
schedule, ``forward``), :mod:`weaksup.nn.losses` (:class:`FSLoss`,
:class:`FSCrossEntropyLoss`), :mod:`weaksup.nn.majority`
(:class:`MajorityVoteLoss`), :mod:`weaksup.nn._triplet_path` (the fused host
step of FSLoss with FlyingSquid's model), :mod:`weaksup.nn._config` (construction-time
checks and the class balance).
"""

from ._online import OnlineLabelLoss
from .losses import FSCrossEntropyLoss, FSLoss
from .majority import MajorityVoteLoss

# the base's former name
_OnlineLabelLoss = OnlineLabelLoss

__all__ = ["FSLoss", "FSCrossEntropyLoss", "MajorityVoteLoss", "OnlineLabelLoss"]
