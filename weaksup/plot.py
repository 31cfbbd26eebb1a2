"""Pictures of labeling functions and label models (needs ``pip install 'weaksup[plot]'``).

- :func:`plot_lfs`: coverage, overlap and conflict of the LFs, heat maps with
  the LFs ordered by clustering (LFs that vote on the same items sit
  together), legible up to ~100 LFs.
- :func:`plot_accuracies`: estimated (label model) against empirical (gold)
  accuracy per LF.
- :func:`plot_calibration`: the reliability diagram of predicted probabilities.
- :func:`plot_report`: all of them in one figure (``weaksup analyze --plot``).

Every function returns a :class:`matplotlib.figure.Figure` built without
pyplot (no global state; ``fig.savefig("lfs.png")`` writes it, a notebook
shows it). Votes ``L`` ``(n, m)`` in either convention (see
:mod:`weaksup.conventions`); ``lf_names`` default to the names a
:class:`weaksup.lf.Votes` carries.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

EXTRA_HINT = "pip install 'weaksup[plot]'"


def _figure(**kwargs: Any):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"weaksup.plot needs matplotlib: {EXTRA_HINT}") from None
    return Figure(**kwargs)


def cluster_order(similarity: Any) -> np.ndarray:
    """A leaf order of average-linkage clustering on ``1 - similarity``.

    Args:
        similarity: ``(m, m)`` symmetric, larger = more alike.

    Returns:
        int64 ``(m,)``: a permutation putting similar rows next to each other.

    Example:
        >>> s = np.array([[1, 0, .9], [0, 1, 0], [.9, 0, 1]])
        >>> cluster_order(s).tolist()
        [0, 2, 1]
    """
    sim = np.asarray(similarity, dtype=np.float64)
    m = sim.shape[0]
    dist = 1.0 - sim
    np.fill_diagonal(dist, np.inf)
    members = [[i] for i in range(m)]
    size = np.ones(m)
    alive = np.ones(m, dtype=bool)
    for _ in range(m - 1):
        a, b = np.unravel_index(np.argmin(dist), dist.shape)
        a, b = min(a, b), max(a, b)
        # average linkage: the merged cluster (kept at a) is the size-weighted mean
        merged = (size[a] * dist[a] + size[b] * dist[b]) / (size[a] + size[b])
        dist[a, :] = merged
        dist[:, a] = merged
        dist[b, :] = np.inf
        dist[:, b] = np.inf
        dist[a, a] = np.inf
        members[a] = members[a] + members[b]
        size[a] += size[b]
        alive[b] = False
    return np.array(members[int(np.flatnonzero(alive)[0])] if m else [], dtype=np.int64)


def _names(L: Any, lf_names: Optional[Sequence[str]]) -> Optional[list]:
    names = lf_names if lf_names is not None else getattr(L, "lf_names", None)
    return list(names) if names is not None else None


def _tick_size(m: int) -> float:
    return float(np.clip(500.0 / max(m, 1), 3.0, 9.0))


def _read_off(L, convention, cardinality):
    """The convention and cardinality given, else those a :class:`weaksup.lf.Votes` carries."""
    return convention or getattr(L, "convention", None), cardinality or getattr(L, "cardinality", None)


def _lf_matrices(L, convention, cardinality, lf_names):
    from .analysis import conflict_matrix, overlap_matrix

    convention, cardinality = _read_off(L, convention, cardinality)

    overlap = overlap_matrix(L, convention=convention, cardinality=cardinality, lf_names=_names(L, lf_names))
    conflict = conflict_matrix(L, convention=convention, cardinality=cardinality, lf_names=_names(L, lf_names))
    return overlap, conflict


def _draw_lfs(fig, axes, overlap, conflict) -> None:
    names = list(overlap.index)
    m = len(names)
    cover = np.diag(overlap.to_numpy()).copy()
    scale = np.sqrt(np.outer(cover, cover))
    similarity = np.divide(overlap.to_numpy(), scale, out=np.zeros((m, m)), where=scale > 0)
    order = cluster_order(similarity) if m > 2 else np.arange(m)
    ordered = [names[i] for i in order]
    size = _tick_size(m)
    ax_cov, ax_over, ax_conf = axes
    ax_cov.barh(np.arange(m), cover[order], color="tab:blue", height=0.8)
    ax_cov.set_ylim(m - 0.5, -0.5)
    ax_cov.set_xlim(0, 1)
    ax_cov.set_title("coverage", fontsize=10)
    for ax, matrix, title, cmap in ((ax_over, overlap, "overlap (both vote)", "Blues"),
                                    (ax_conf, conflict, "conflict (both vote, differ)", "Reds")):
        values = matrix.to_numpy()[np.ix_(order, order)]
        shown = values.copy()
        if title.startswith("overlap"):
            np.fill_diagonal(shown, np.nan)  # the diagonal is the coverage, shown beside
        from matplotlib.colors import PowerNorm

        top = max(float(np.nanmax(shown)) if m > 1 else 0.0, 1e-9)
        # square-root colour scale: a few very frequent pairs do not wash out the rest
        image = ax.imshow(shown, cmap=cmap, norm=PowerNorm(0.5, vmin=0, vmax=top), interpolation="nearest",
                          aspect="auto")
        ax.set_title(title + ", square-root colour scale", fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02).ax.tick_params(labelsize=7)
    for ax in axes:
        ax.set_yticks(np.arange(m))
        ax.set_yticklabels(ordered if ax is ax_cov and m <= 150 else [], fontsize=size)
        ax.tick_params(axis="y", length=0 if m > 60 else 3.5)
    for ax in (ax_over, ax_conf):
        ax.set_xticks(np.arange(m))
        ax.set_xticklabels(ordered if m <= 150 else [], rotation=90, fontsize=size)


def plot_lfs(
    L: Any,
    *,
    lf_names: Optional[Sequence[str]] = None,
    convention: Optional[str] = None,
    cardinality: Optional[int] = None,
) -> Any:
    """Coverage, overlap and conflict of each LF, ordered by clustering.

    Args:
        L: votes ``(n, m)``.
        lf_names: ``m`` names. Default: ``L.lf_names``, else ``lf_0``...
        convention, cardinality: as in :func:`weaksup.lf_summary`.

    Returns:
        A figure with three panels: coverage bars, the overlap heat map (share
        of items where both LFs vote) and the conflict heat map (share where
        both vote and disagree); rows and columns in the same clustered order.
    """
    overlap, conflict = _lf_matrices(L, convention, cardinality, lf_names)
    m = len(overlap)
    side = float(np.clip(2.5 + 0.09 * m, 4.0, 13.0))
    fig = _figure(figsize=(2.6 * side, side), layout="constrained")
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [0.35, 1, 1]})
    _draw_lfs(fig, axes, overlap, conflict)
    return fig


def _accuracy_table(L, Y, model, convention, cardinality, lf_names):
    from .analysis import lf_summary

    convention, cardinality = _read_off(L, convention, cardinality)
    table = lf_summary(L, Y=Y, model=model, convention=convention, cardinality=cardinality,
                       lf_names=_names(L, lf_names))
    if "est_acc" not in table or "emp_acc" not in table:
        raise ValueError("plot_accuracies needs gold labels `Y` and a fitted label model `model`")
    return table


def _draw_accuracies(ax, table, annotate: int) -> None:
    emp = table["emp_acc"].astype("float64").to_numpy()
    est = table["est_acc"].astype("float64").to_numpy()
    cov = table["coverage"].to_numpy(dtype=np.float64)
    ok = np.isfinite(emp) & np.isfinite(est)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, zorder=0)
    ax.scatter(emp[ok], est[ok], s=10 + 200 * cov[ok], alpha=0.6, edgecolors="k", linewidths=0.4)
    gap = np.where(ok, np.abs(est - emp), -1)
    for i in np.argsort(-gap)[:min(annotate, int(ok.sum()))]:
        ax.annotate(str(table.index[i]), (emp[i], est[i]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_aspect("equal")
    ax.set_xlabel("empirical accuracy (gold)")
    ax.set_ylabel("estimated accuracy (label model)")
    ax.set_title(f"LF accuracy (size = coverage; {min(annotate, int(ok.sum()))} largest gaps named)", fontsize=9)


def plot_accuracies(
    L: Any,
    Y: Any,
    model: Any,
    *,
    lf_names: Optional[Sequence[str]] = None,
    convention: Optional[str] = None,
    cardinality: Optional[int] = None,
    annotate: int = 12,
) -> Any:
    """Estimated against empirical accuracy, one dot per LF (size = coverage).

    Args:
        L: votes ``(n, m)``; Y: gold labels ``(n,)`` in ``L``'s convention;
        model: a fitted label model with ``accuracies_`` ``(m,)``.
        annotate: how many LFs to name: those whose estimate is furthest
            from the gold accuracy (names stay legible with many LFs).
            Default: 12.
        lf_names, convention, cardinality: as in :func:`plot_lfs`.
    """
    table = _accuracy_table(L, Y, model, convention, cardinality, lf_names)
    fig = _figure(figsize=(5, 5), layout="constrained")
    _draw_accuracies(fig.subplots(), table, annotate)
    return fig


def calibration_table(probs: Any, Y: Any, *, n_bins: int = 10):
    """Confidence bins of the predicted class: ``(bin_mean_confidence,
    bin_accuracy, bin_count, expected_calibration_error)``.

    Args:
        probs: ``(n, k)`` probabilities (rows sum to 1).
        Y: ``(n,)`` gold class ids ``0..k-1``.
        n_bins: equal-width bins over ``[1/k, 1]``. Default: 10.

    Example:
        >>> conf, acc, count, ece = calibration_table([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6]], [0, 1, 1], n_bins=5)
        >>> count.tolist(), round(ece, 3)
        ([0, 1, 0, 1, 1], 0.433)
    """
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(Y).reshape(-1)
    if p.ndim != 2 or p.shape[0] != y.shape[0]:
        raise ValueError(f"`probs` must be (n, k) with one row per label in `Y`, got {p.shape} and {y.shape}")
    if not isinstance(n_bins, (int, np.integer)) or isinstance(n_bins, bool) or n_bins < 1:
        raise ValueError(f"`n_bins` must be an int >= 1, got {n_bins!r}")
    k = p.shape[1]
    conf = p.max(1)
    correct = p.argmax(1) == y
    edges = np.linspace(1.0 / k, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=conf, minlength=n_bins) / count
        accuracy = np.bincount(which, weights=correct.astype(float), minlength=n_bins) / count
    ece = float(np.nansum(count * np.abs(accuracy - mean_conf)) / max(len(y), 1))
    return mean_conf, accuracy, count, ece


def _draw_calibration(ax, probs, Y, n_bins: int, title: str) -> None:
    conf, acc, count, ece = calibration_table(probs, Y, n_bins=n_bins)
    k = np.asarray(probs).shape[1]
    edges = np.linspace(1.0 / k, 1.0, n_bins + 1)
    width = edges[1] - edges[0]
    seen = count > 0
    ax.bar(edges[:-1][seen], acc[seen], width=width, align="edge", alpha=0.7, edgecolor="k", linewidth=0.4,
           label="accuracy in bin")
    ax.plot([1.0 / k, 1], [1.0 / k, 1], color="grey", lw=0.8, label="perfectly calibrated")
    ax.plot(conf[seen], acc[seen], "o", color="tab:red", ms=3)
    for x, a, c in zip(edges[:-1][seen], acc[seen], count[seen]):
        ax.annotate(str(int(c)), (x + width / 2, a), ha="center", va="bottom", fontsize=6)
    ax.set_xlim(1.0 / k, 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("confidence (largest probability)")
    ax.set_ylabel("accuracy (gold)")
    ax.set_title(f"{title} (ECE {ece:.3f}; numbers = items)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")


def plot_calibration(probs: Any, Y: Any, *, n_bins: int = 10, title: str = "calibration") -> Any:
    """The reliability diagram: accuracy of the predicted class per confidence bin.

    Args:
        probs: ``(n, k)`` probabilities, e.g. ``model.predict_proba(L)``.
        Y: ``(n,)`` gold class ids ``0..k-1`` (FlyingSquid -1/+1 labels:
            convert them first, column 1 is ``+1``).
        n_bins: bins over ``[1/k, 1]``. Default: 10.
        title: the panel's title. Default: ``"calibration"``.
    """
    fig = _figure(figsize=(5, 4.5), layout="constrained")
    _draw_calibration(fig.subplots(), probs, Y, n_bins, title)
    return fig


def plot_report(
    L: Any,
    Y: Any = None,
    model: Any = None,
    *,
    lf_names: Optional[Sequence[str]] = None,
    convention: Optional[str] = None,
    cardinality: Optional[int] = None,
) -> Any:
    """:func:`plot_lfs` above, and with gold labels ``Y`` and a fitted
    ``model`` also :func:`plot_accuracies` and :func:`plot_calibration` of the
    label model below, in one figure."""
    overlap, conflict = _lf_matrices(L, convention, cardinality, lf_names)
    m = len(overlap)
    side = float(np.clip(2.5 + 0.09 * m, 4.0, 13.0))
    with_gold = Y is not None and model is not None
    fig = _figure(figsize=(2.6 * side, side + (5.0 if with_gold else 0.0)), layout="constrained")
    grid = fig.add_gridspec(2 if with_gold else 1, 3, width_ratios=[0.35, 1, 1],
                            height_ratios=[side, 5.0] if with_gold else None)
    axes = [fig.add_subplot(grid[0, c]) for c in range(3)]
    _draw_lfs(fig, axes, overlap, conflict)
    if with_gold:
        from .conventions import check_labels

        conv = convention or getattr(model, "convention", None)
        table = _accuracy_table(L, Y, model, conv, cardinality, list(overlap.index))
        _draw_accuracies(fig.add_subplot(grid[1, :2]), table, annotate=12)
        k = cardinality or getattr(model, "cardinality", None) or 2
        codes = check_labels(Y, convention=conv, cardinality=k)
        _draw_calibration(fig.add_subplot(grid[1, 2]), np.asarray(model.predict_proba(L)),
                          np.asarray(codes), 10, "label model calibration")
    return fig
