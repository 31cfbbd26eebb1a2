"""Construction-time helpers of the online losses: configuration checks and the class balance."""

from __future__ import annotations

import copy
from typing import Any, Optional, Tuple

import torch

from .._backend import small_cpu_work
from .._validation import check_bool
from ..class_balance import estimate_class_balance, resolve_class_balance
from ..label_model import default_solve_method
from ..statistics import VoteStatistics, accumulate

__all__ = [
    "BalanceMixin", "WARM_START_TOL", "WarmStartMixin", "check_configuration", "fsloss_model_defaults", "probe_statistics",
    "resolve_warm_start",
]


def probe_statistics(m: int, k: int, groups) -> VoteStatistics:
    """Statistics of a few synthetic items on which every configuration that
    can fit at all fits: every LF votes every class, pairs agree and disagree."""
    rows = [[c] * m for c in range(k)] * 2
    rows += [[(i + r) % k for i in range(m)] for r in range(k)]
    rows.append([-1] * m)
    return accumulate(torch.tensor(rows, dtype=torch.int64), k, groups)


def check_configuration(owner: str, model: Any, stats: VoteStatistics, fit) -> None:
    """Fit a copy of ``model`` once on ``stats`` so that configuration errors
    raise at construction (as ``ValueError``/``TypeError``), not at the first refit."""
    probe = copy.deepcopy(model)
    try:
        fit(probe, stats)
    except (ValueError, TypeError) as err:
        raise type(err)(f"{owner}'s label model rejects its configuration: {err}") from err
    except Exception as err:  # noqa: BLE001 - any other failure is a configuration error too
        raise ValueError(f"{owner}'s label model rejects its configuration: {type(err).__name__}: {err}") from err


class BalanceMixin:
    """The class balance of a loss: resolved once at construction (given,
    counted from ``Y_dev``), else uniform or estimated at each refit."""

    def _init_balance(self, class_balance: Any, Y_dev: Any, k: int, convention: str, v: int, estimate: bool) -> None:
        self.estimate_balance = check_bool(estimate, "estimate_balance")
        resolved = resolve_class_balance(class_balance, Y_dev, cardinality=k, convention=convention, v=v)
        self.register_buffer("class_balance", resolved)
        n = 2 ** v if convention == "flyingsquid" else k
        self.register_buffer("_uniform", torch.full((n,), 1.0 / n, dtype=torch.float64), persistent=False)

    def _balance(self, stats: VoteStatistics) -> torch.Tensor:
        if self.class_balance is not None:
            return self.class_balance
        if self.estimate_balance:
            return estimate_class_balance(stats)
        return self._uniform



def fsloss_model_defaults(
    solve_method: Optional[str], estimate_balance: Optional[bool], *, v: int, lf_deps, triplets, allow_abstentions: bool
) -> Tuple[str, bool]:
    """FSLoss's model defaults: the solve method by :func:`weaksup.label_model.default_solve_method`
    (the rule ``LabelModel.fit`` uses), and ``estimate_balance=None`` estimates the
    class balance for one task and keeps it uniform for sequences."""
    solve_method = default_solve_method(
        solve_method, v=v, lambda_edges=lf_deps, triplets=triplets, allow_abstentions=allow_abstentions
    )
    return solve_method, v == 1 if estimate_balance is None else estimate_balance


# how far a warm-started refit's EM runs: it stops once no probability moves more than this
WARM_START_TOL = 1e-4


def resolve_warm_start(warm_start: Optional[bool], *, applies: bool) -> bool:
    """``warm_start`` of a loss: ``None`` = wherever it applies (the loss's
    default model fitted by pairwise EM), ``True`` = required there, ``False`` = cold refits."""
    if warm_start is not None:
        warm_start = check_bool(warm_start, "warm_start")
    if warm_start and not applies:
        raise ValueError(
            "warm_start=True: only the loss's default label model fitted by pairwise EM warm-starts; "
            "configure your own label model instead (or leave warm_start=None)"
        )
    return applies if warm_start is None else warm_start


class WarmStartMixin:
    """Warm-started refits of a loss's default pairwise-EM model.

    The first fit is a fresh one (the full EM from the prior); each later
    refit starts EM from the confusion of the previous fit and stops once no
    probability moves more than :data:`WARM_START_TOL` (an online-EM
    approximation of a fresh fit: the buffer moves a little between refits). The confusion the current model
    started from is state (``model_init`` ``(m, k + 1, k)``, with the flag
    ``model_init_set``), so a reloaded checkpoint rebuilds exactly the same
    model from ``model_stats_*``, and every rank of a data-parallel run,
    refitting from the same synced statistics and the same start, stays
    identical. A checkpoint without these buffers (saved with cold refits)
    loads as "no start yet"; a loss with cold refits ignores them.

    The class provides ``_fit_model(model, stats, init=None)`` and
    ``_current_model()``.
    """

    def _init_warm_start(self, warm_start: bool) -> None:
        self.warm_start = warm_start
        self._init_set = False
        if warm_start:
            self.register_buffer("model_init", torch.zeros(self._init_shape(), dtype=torch.float64))
            self.register_buffer("model_init_set", torch.zeros((), dtype=torch.int64))

    def _init_shape(self) -> Tuple[int, int, int]:
        m, k = self._n_lfs, self._k
        return (m, k + 1, k)

    def _warm_fit(self, stats: VoteStatistics) -> None:
        rebuild = stats.co_votes is self.model_stats_co_votes  # the current model, from its own statistics
        if rebuild:
            init = self.model_init if self._init_set else None
        else:
            self._ensure_model()  # after a load or a move: the model to start from, rebuilt first
            init = getattr(self._current_model(), "confusion_", None) if self.fitted else None
        self._fit_model(self._current_model(), stats, init=init)
        if not rebuild:
            self._init_set = init is not None
            self.model_init_set.fill_(int(self._init_set))
            if init is not None:
                self.model_init.copy_(init)

    def _reset_warm_start(self) -> None:
        if self.warm_start:
            self._buffers["model_init"] = torch.zeros(self._init_shape(), dtype=torch.float64, device=self.device)
            self._buffers["model_init_set"] = torch.zeros((), dtype=torch.int64, device=self.device)
            self._init_set = False

    def _on_state_moved(self, contents_changed: bool) -> None:
        super()._on_state_moved(contents_changed)
        if self.warm_start and contents_changed:
            self._init_set = bool(self.model_init_set)  # read once, after a load or a reset

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        names = (prefix + "model_init", prefix + "model_init_set")
        if not self.warm_start:
            for name in names:
                state_dict.pop(name, None)
        elif names[0] not in state_dict and names[1] not in state_dict:  # saved with cold refits
            state_dict[names[0]] = torch.zeros_like(self.model_init)
            state_dict[names[1]] = torch.zeros_like(self.model_init_set)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
