"""weaksup.plot: the LF panel, accuracies, calibration; refused with the extra's name without matplotlib."""

import sys

import numpy as np
import pytest

from weaksup import plot
from weaksup.lf import Votes

matplotlib = pytest.importorskip("matplotlib")


def _votes(n=300, m=8, seed=0):
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, 2, n)
    L = np.where(rng.random((n, m)) < 0.5, np.where(rng.random((n, m)) < 0.8, Y[:, None], 1 - Y[:, None]), -1)
    return L, Y


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels() + [ax.title]]


def test_cluster_order_groups_similar_lfs():
    # two blocks, interleaved: the order keeps each block together
    sim = np.eye(6)
    for block in ((0, 2, 4), (1, 3, 5)):
        for i in block:
            for j in block:
                sim[i, j] = 1 if i == j else 0.9
    order = plot.cluster_order(sim).tolist()
    assert sorted(order) == list(range(6))
    assert {frozenset(order[:3]), frozenset(order[3:])} == {frozenset((0, 2, 4)), frozenset((1, 3, 5))}


def test_plot_lfs_reads_names_from_votes(tmp_path):
    L, _ = _votes()
    names = [f"rule_{i}" for i in range(8)]
    fig = plot.plot_lfs(Votes(L, names))  # a Votes says its convention
    assert len(fig.axes) >= 3
    assert set(names) <= set(_texts(fig))
    assert "coverage" in _texts(fig)
    fig.savefig(tmp_path / "lfs.png")
    assert (tmp_path / "lfs.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_lfs_is_legible_at_100_lfs():
    L, _ = _votes(n=200, m=100)
    fig = plot.plot_lfs(L, convention="snorkel")
    labels = [t for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert len(labels) == 100
    assert all(3 <= t.get_fontsize() <= 9 for t in labels)
    assert fig.get_size_inches()[1] <= 13


def test_accuracies_and_calibration_with_gold():
    from weaksup import MulticlassLabelModel

    L, Y = _votes()
    model = MulticlassLabelModel(2).fit(L)
    fig = plot.plot_accuracies(L, Y, model, convention="snorkel")
    assert "empirical accuracy (gold)" in fig.axes[0].get_xlabel()
    fig = plot.plot_calibration(model.predict_proba(L), Y)
    assert "ECE" in fig.axes[0].get_title()
    fig = plot.plot_report(L, Y, model, convention="snorkel")
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert "overlap" in titles and "conflict" in titles and "LF accuracy" in titles and "calibration" in titles


def test_plot_report_flyingsquid_votes():
    from weaksup import LabelModel

    L, Y = _votes()
    fs = np.where(L == -1, 0, 2 * L - 1)
    model = LabelModel(8).fit(fs)
    fig = plot.plot_report(fs, 2 * Y - 1, model, convention="flyingsquid")
    assert len(fig.axes) >= 5


def test_calibration_table_counts_and_errors():
    conf, acc, count, ece = plot.calibration_table([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]], [0, 1, 1], n_bins=2)
    assert count.sum() == 3 and 0 <= ece <= 1
    with pytest.raises(ValueError, match="`probs`"):
        plot.calibration_table([[0.5, 0.5]], [0, 1])
    with pytest.raises(ValueError, match="`n_bins`"):
        plot.calibration_table([[0.5, 0.5]], [0], n_bins=0)


def test_accuracies_need_gold_and_model():
    L, _ = _votes()
    with pytest.raises(ValueError, match="gold labels"):
        plot.plot_accuracies(L, None, None, convention="snorkel")


def test_without_matplotlib_the_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'weaksup\[plot\]'"):
        plot.plot_lfs(_votes()[0], convention="snorkel")
