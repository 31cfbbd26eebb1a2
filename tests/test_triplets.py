"""weaksup.triplets: closed-form accuracies and the triplet choice."""

import numpy as np
import pytest
import torch

from weaksup.graph import LabelGraph
from weaksup.triplets import aggregate, all_pairs_accuracies, greedy_triplets, parse_triplets


def _moments(a):
    """Second moments of conditionally independent LFs with E[l_i Y] = a_i, full coverage."""
    a = torch.as_tensor(a, dtype=torch.float64)
    M = a[:, None] * a[None, :]
    M.fill_diagonal_(1.0)
    return M


@pytest.mark.parametrize("method", ["mean", "median"])
def test_exact_moments_recover_the_accuracies(method):
    a = [0.8, 0.6, 0.4, 0.7, 0.5]
    cover = torch.full((5, 5), 10)
    out = all_pairs_accuracies(_moments(a), cover, method)
    np.testing.assert_allclose(out.numpy(), a, atol=1e-12)


def test_zero_denominators_and_silent_lfs_are_left_out():
    a = [0.8, 0.6, 0.4, 0.0]  # LF 3 never votes: its moments are 0
    M = _moments(a)
    cover = torch.full((4, 4), 10)
    cover[3, :] = cover[:, 3] = 0
    out = all_pairs_accuracies(M, cover, "mean")
    np.testing.assert_allclose(out[:3].numpy(), a[:3], atol=1e-12)
    assert float(out[3]) == 0.0


def test_aggregate_mean_median_and_no_valid_entry():
    cand = torch.tensor([[1.0, 2.0, 9.0], [5.0, 5.0, 5.0]])
    valid = torch.tensor([[True, True, False], [False, False, False]])
    assert aggregate(cand, valid, "mean").tolist() == [1.5, 0.0]
    assert aggregate(cand, valid, "median").tolist() == [1.5, 0.0]
    with pytest.raises(ValueError, match="method must be 'mean' or 'median'"):
        aggregate(cand, valid, "mode")


def test_greedy_triplets_cover_every_lf():
    g = LabelGraph(5)
    order = [((i,), (), 0) for i in range(5)]
    triplets = greedy_triplets(order, g, list(range(5)))
    covered = {e for t in triplets for e in t}
    assert covered == set(order)
    assert all(len(t) == 3 for t in triplets)


def test_parse_triplets_reads_indices_and_upstream_keys():
    g = LabelGraph(4)
    out = parse_triplets([(0, 1, 2), ((("lambda_3", "Y_0"), ("0",)), 1, 2)], 4, g.lf_task, True)
    assert out[0] == [((0,), (), 0), ((1,), (), 0), ((2,), (), 0)]
    assert out[1][0] == ((3,), (), 0)


@pytest.mark.parametrize("bad", [[(0, 1, 5)], [(0, 1)], [(0, 1, "x")], [(0, 1, True)], [5]])
def test_parse_triplets_refuses_what_is_not_three_lfs(bad):
    with pytest.raises(ValueError, match="triplets"):
        parse_triplets(bad, 3, LabelGraph(3).lf_task, True)
