"""weaksup.dask on a real cluster: two worker processes on 127.0.0.1, started once.

Statistics counted partition by partition on the workers equal the statistics
of the whole matrix exactly, the models fitted from them equal local fits, the
posteriors equal local posteriors, and a worker that dies mid-run either costs
a retry or fails the call with a clear error: never a partial count.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

# the test extra installs dask[array,bag,dataframe,distributed]: nothing here skips
import cloudpickle
import dask
import dask.array as da
import dask.bag as db
import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest
import torch

import weaksup.dask as wd
from weaksup import LabelModel, MulticlassLabelModel, accumulate
from weaksup.baselines import MajorityVote
from weaksup.conventions import check_votes
from weaksup.lf import apply_lfs, labeling_function

from conftest import synthetic_votes

# worker processes need not be able to import this test module: ship its functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, env={"OMP_NUM_THREADS": "1"},
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def multiclass_votes(n=3000, m=5, k=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    L = np.where(rng.random((n, m)) < 0.7, y[:, None], rng.integers(0, k, (n, m)))
    return np.where(rng.random((n, m)) < 0.6, L, -1).astype(np.int64)


# ---------------------------------------------------------------------------
# statistics and fits on the cluster
# ---------------------------------------------------------------------------
def test_statistics_equal_the_whole_matrix_bit_for_bit(client):
    L = multiclass_votes()
    votes = da.from_array(L, chunks=(350, 5))  # 9 partitions, a short last one
    groups = [(0, 1, 2), (3, 4)]
    stats = wd.accumulate(votes, cardinality=4, groups=groups, split_every=2)
    assert stats.equal(accumulate(torch.as_tensor(L), 4, groups))
    assert int(stats.n_items) == len(L)


def test_the_statistics_do_not_depend_on_the_partitioning(client):
    L = multiclass_votes(n=1000, seed=1)
    expected = accumulate(torch.as_tensor(L), 4)
    for rows in (1000, 333, 64):
        assert wd.accumulate(da.from_array(L, chunks=(rows, 5)), 4).equal(expected)


def test_statistics_of_many_classes_add_up_in_the_compact_layout(client):
    rng = np.random.default_rng(3)
    k = 300  # (m k)^2 beyond the dense limit: each partition counts only the responses it sees
    L = np.where(rng.random((1200, 8)) < 0.5, rng.integers(0, k, (1200, 8)), -1).astype(np.int16)
    stats = wd.accumulate(da.from_array(L, chunks=(300, 8)), k, split_every=2)
    whole = accumulate(torch.as_tensor(L), k)
    assert stats.is_compact == whole.is_compact and stats.equal(whole)


def test_multiclass_fit_and_posteriors_equal_a_local_fit(client):
    L = multiclass_votes()
    votes = da.from_array(L, chunks=(700, 5))
    local = MulticlassLabelModel(4).fit(L)
    remote = wd.fit(MulticlassLabelModel(4), votes)
    assert remote.statistics_.equal(local.statistics_)
    torch.testing.assert_close(torch.as_tensor(remote.confusion_), torch.as_tensor(local.confusion_), rtol=0, atol=0)
    proba = wd.predict_proba(remote, votes)
    assert proba.chunks == (votes.chunks[0], (4,))
    np.testing.assert_allclose(proba.compute(), local.predict_proba(L), rtol=1e-12, atol=0)


def test_label_model_with_dependencies_fits_like_a_local_fit(client):
    L, _ = synthetic_votes(n=3000, m=6)  # FlyingSquid votes: 0 = abstain
    votes = da.from_array(L, chunks=(1000, 6))
    local = LabelModel(6, lambda_edges=[(0, 1)]).fit(L)
    remote = wd.fit(LabelModel(6, lambda_edges=[(0, 1)]), votes)
    assert remote.statistics_.equal(local.statistics_)  # the group tables of the edge too
    np.testing.assert_allclose(remote.accuracy_moments_, local.accuracy_moments_, rtol=0, atol=0)
    np.testing.assert_allclose(wd.predict_proba(remote, votes).compute(), local.predict_proba(L), rtol=1e-12)


def test_majority_vote_posteriors(client):
    L = multiclass_votes(n=500)
    model = MajorityVote(cardinality=4, convention="snorkel").fit(L)
    proba = wd.predict_proba(model, da.from_array(L, chunks=(100, 5))).compute()
    np.testing.assert_array_equal(proba, model.predict_proba(L))


def test_the_model_enters_the_graph_once(client):
    L = multiclass_votes(n=1000)
    model = MulticlassLabelModel(4).fit(L)
    proba = wd.predict_proba(model, da.from_array(L, chunks=(100, 5)))
    graph = dict(proba.__dask_graph__())
    holding = [key for key, task in graph.items() if getattr(task, "value", task) is model]  # a data node
    assert len(holding) == 1, holding


# ---------------------------------------------------------------------------
# labeling functions on bags and dataframes
# ---------------------------------------------------------------------------
@labeling_function()
def mentions_link(text):
    return "spam" if "http" in text else None


@labeling_function()
def is_short(text):
    return "ham" if len(text) < 20 else None


@labeling_function()
def shouts(text):
    return "spam" if text.isupper() else None


LFS = [mentions_link, is_short, shouts]
TEXTS = ["check http://x.co", "nice song", "SUBSCRIBE NOW", "love this part of the song", "FREE http://y.io"] * 40


def test_apply_lfs_on_a_bag_equals_applying_them_here(client):
    bag = db.from_sequence(TEXTS, npartitions=4)
    votes, names = wd.apply_lfs(LFS, bag, labels=["ham", "spam"])
    assert names == ["mentions_link", "is_short", "shouts"]
    assert votes.numblocks == (4, 1)
    expected = np.asarray(apply_lfs(LFS, TEXTS, labels=["ham", "spam"], progress=False))
    np.testing.assert_array_equal(votes.compute(), expected)
    # and straight into the statistics, partition lengths unknown until then
    assert wd.accumulate(votes, 2).equal(accumulate(torch.as_tensor(expected), 2))


def test_apply_lfs_on_a_dataframe_reads_rows(client):
    frame = dd.from_pandas(pd.DataFrame({"text": TEXTS, "n": range(len(TEXTS))}), npartitions=3)
    by_column = labeling_function(name="link_row")(_link_row)
    votes, names = wd.apply_lfs([by_column], frame)
    assert names == ["link_row"] and votes.numblocks == (3, 1)
    np.testing.assert_array_equal(votes.compute()[:, 0], [1 if "http" in t else -1 for t in TEXTS])


def _link_row(row):
    return 1 if "http" in row.text else None


def test_lfs_defined_in_a_script_or_notebook_reach_the_workers(client, monkeypatch):
    # such an LF pickles by name (``__main__.name``), which a worker process cannot find
    def in_script(text):
        return 1 if "http" in text else None

    lf = labeling_function(name="in_script")(in_script)
    lf.__module__, lf.__qualname__ = "__main__", "weaksup_test_in_script"
    monkeypatch.setattr(sys.modules["__main__"], "weaksup_test_in_script", lf, raising=False)
    votes, _ = wd.apply_lfs([lf], db.from_sequence(TEXTS, npartitions=2))
    np.testing.assert_array_equal(votes.compute()[:, 0], [1 if "http" in t else -1 for t in TEXTS])


def test_apply_lfs_refuses_other_inputs():
    with pytest.raises(TypeError, match="data must be a dask.bag.Bag or a dask.dataframe.DataFrame, got list"):
        wd.apply_lfs(LFS, TEXTS)


# ---------------------------------------------------------------------------
# out of core on one machine (Dask's local threads, no cluster)
# ---------------------------------------------------------------------------
def test_fit_from_a_memory_mapped_npy_file(tmp_path):
    L = multiclass_votes(n=5000)
    np.save(tmp_path / "votes.npy", L.astype(np.int8))
    votes = wd.read_votes(tmp_path / "votes.npy", chunk_rows=1024)
    assert votes.chunks == ((1024,) * 4 + (904,), (5,))
    with dask.config.set(scheduler="threads"):
        model = wd.fit(MulticlassLabelModel(4), votes)
    assert model.statistics_.equal(MulticlassLabelModel(4).fit(L).statistics_)


def test_fit_from_a_folder_of_chunk_files_with_a_progress_bar(tmp_path, capsys):
    L, _ = synthetic_votes(n=2500, m=5)
    for i, start in enumerate(range(0, len(L), 1000)):
        np.save(tmp_path / f"part-{i:03d}.npy", L[start : start + 1000])
    votes = wd.read_votes(tmp_path)
    assert votes.chunks == ((1000, 1000, 500), (5,))
    with dask.config.set(scheduler="threads"):
        model = wd.fit(LabelModel(5), votes, progress=True)
    assert "3/3" in capsys.readouterr().err
    assert model.statistics_.equal(LabelModel(5).fit(L).statistics_)


def test_a_local_scheduler_chosen_in_the_config_wins_over_the_client(client, capsys, monkeypatch):
    monkeypatch.setattr(distributed.Client, "compute", None)  # the cluster must not be used
    L = multiclass_votes(n=400)
    with dask.config.set(scheduler="sync"):
        stats = wd.accumulate(da.from_array(L, chunks=(100, 5)), 4, progress=True)
    assert "4/4" in capsys.readouterr().err and stats.equal(accumulate(torch.as_tensor(L), 4))


def test_progress_bar_on_the_cluster(client, capsys):
    L = multiclass_votes(n=1000)
    stats = wd.accumulate(da.from_array(L, chunks=(250, 5)), 4, progress=True)
    assert "4/4" in capsys.readouterr().err
    assert stats.equal(accumulate(torch.as_tensor(L), 4))


def test_empty_partitions_count_nothing():
    L = multiclass_votes(n=300)
    votes = da.concatenate([da.from_array(L[:0], chunks=(1, 5)), da.from_array(L, chunks=(100, 5))])
    with dask.config.set(scheduler="sync"):
        assert wd.accumulate(votes, 4).equal(accumulate(torch.as_tensor(L), 4))
        model = MulticlassLabelModel(4).fit(L)
        assert wd.predict_proba(model, votes).compute().shape == (300, 4)


def test_columns_split_into_chunks_are_joined():
    L = multiclass_votes(n=300)
    with dask.config.set(scheduler="sync"):
        stats = wd.accumulate(da.from_array(L, chunks=(100, 2)), 4)
    assert stats.equal(accumulate(torch.as_tensor(L), 4))


# ---------------------------------------------------------------------------
# errors name the argument
# ---------------------------------------------------------------------------
def test_errors_name_the_argument(tmp_path):
    L = multiclass_votes(n=100)
    votes = da.from_array(L, chunks=(50, 5))
    with pytest.raises(TypeError, match="votes must be a dask array"):
        wd.accumulate(L, 4)
    with pytest.raises(ValueError, match="split_every must be an int >= 2"):
        wd.accumulate(votes, 4, split_every=1)
    with pytest.raises(ValueError, match="groups must hold LF indices in 0..4"):
        wd.accumulate(votes, 4, groups=[(0, 7)])
    with pytest.raises(ValueError, match="cardinality must be 2 for FlyingSquid votes"):
        wd.accumulate(votes, 4, convention="flyingsquid")
    with dask.config.set(scheduler="sync"), pytest.raises(ValueError, match="cardinality is 3"):
        wd.accumulate(votes, 3)  # a vote 3 >= k: raised by the partition that holds it
    with pytest.raises(ValueError, match="path must be a .npy file or a folder"):
        wd.read_votes(tmp_path / "missing.npy")
    with pytest.raises(ValueError, match="without .npy chunk files"):
        wd.read_votes(tmp_path)
    with pytest.raises(ValueError, match="votes must have 6 columns"):
        wd.fit(LabelModel(6), votes)
    with pytest.raises(TypeError, match="model must be"):
        wd.predict_proba(object(), votes)


def test_import_weaksup_does_not_import_dask():
    code = "import sys, weaksup; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_votes_are_checked_like_everywhere_else():
    # the partition check is check_votes itself: the same messages as a local fit
    with pytest.raises(ValueError) as local:
        check_votes(np.array([[0, 5]]), convention="snorkel", cardinality=4, name="votes")
    with dask.config.set(scheduler="sync"), pytest.raises(ValueError) as remote:
        wd.accumulate(da.from_array(np.array([[0, 5]]), chunks=(1, 2)), 4)
    assert str(remote.value) == str(local.value)


# ---------------------------------------------------------------------------
# a worker dies mid-run (last: the cluster restarts a worker)
# ---------------------------------------------------------------------------
def _die_once(block, marker):
    """The first worker to run this dies (SIGKILL) without a word; retries pass."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return block


def _always_die(block):
    os.kill(os.getpid(), signal.SIGKILL)
    return block


def _votes_through(fn, L, rows, *args):
    blocks = [
        da.from_delayed(dask.delayed(fn, pure=False)(L[i : i + rows], *args), shape=L[i : i + rows].shape, dtype=L.dtype)
        for i in range(0, len(L), rows)
    ]
    return da.concatenate(blocks)


def test_a_worker_killed_mid_run_costs_a_retry_not_a_count(client, tmp_path):
    L = multiclass_votes(n=2000)
    votes = _votes_through(_die_once, L, 500, str(tmp_path / "died"))
    stats = wd.accumulate(votes, 4)
    assert (tmp_path / "died").exists()  # a worker did die
    assert stats.equal(accumulate(torch.as_tensor(L), 4))
    client.wait_for_workers(2, timeout=60)


def test_a_worker_dying_beyond_the_retries_fails_with_a_clear_error(client):
    scheduler = client.cluster.scheduler
    allowed = scheduler.allowed_failures
    scheduler.allowed_failures = 0
    try:
        L = multiclass_votes(n=200)
        votes = _votes_through(_always_die, L, 100)
        with pytest.raises(RuntimeError, match="worker died.*no partial statistics"):
            wd.accumulate(votes, 4)
    finally:
        scheduler.allowed_failures = allowed
        client.wait_for_workers(2, timeout=60)
