"""Vote statistics: exact counts in both layouts, the in-place ring-buffer
update, the add/subtract algebra and the independent-LF posterior kernels."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from weaksup.posterior import independent_log_scores, log_table_deltas
from weaksup.statistics import VoteStatistics, accumulate, count_update


def brute_co_votes(codes: torch.Tensor, k: int) -> torch.Tensor:
    """co_votes by a loop over items (the definition)."""
    m = codes.shape[1]
    co = np.zeros((m, k, m, k), dtype=np.int64)
    for row in codes.tolist():
        voted = [(i, a) for i, a in enumerate(row) if a >= 0]
        for i, a in voted:
            for j, b in voted:
                co[i, a, j, b] += 1
    return torch.from_numpy(co)


def brute_response_table(codes: torch.Tensor, k: int) -> torch.Tensor:
    """(m, k+1, m, k+1) joint response counts, response 0 = abstain; within
    one LF only the diagonal (the count of each response)."""
    m = codes.shape[1]
    t = np.zeros((m, k + 1, m, k + 1), dtype=np.int64)
    for row in codes.tolist():
        for i, a in enumerate(row):
            for j, b in enumerate(row):
                if i != j or a == b:
                    t[i, a + 1, j, b + 1] += 1
    return torch.from_numpy(t)


@st.composite
def vote_matrices(draw, max_rows=40):
    k = draw(st.integers(1, 5))
    m = draw(st.integers(1, 5))
    n = draw(st.integers(0, max_rows))
    flat = draw(st.lists(st.integers(-1, k - 1), min_size=n * m, max_size=n * m))
    dtype = draw(st.sampled_from([torch.int8, torch.int16, torch.int64]))
    return torch.tensor(flat, dtype=dtype).reshape(n, m), k


@settings(max_examples=60, deadline=None)
@given(vote_matrices())
def test_accumulate_counts_every_pair(data):
    codes, k = data
    expected = brute_co_votes(codes, k)
    for compact in (False, True):
        stats = accumulate(codes, k, compact=compact)
        assert stats.is_compact == compact
        assert torch.equal(stats.co_votes, expected)
        assert int(stats.n_items) == codes.shape[0]
        assert torch.equal(stats.vote_counts(), expected.reshape(expected.shape[0] * k, -1).diagonal().reshape(-1, k))
        assert torch.equal(stats.co_coverage_counts(), expected.sum(dim=(1, 3)))


@settings(max_examples=60, deadline=None)
@given(vote_matrices(), st.data())
def test_count_update_equals_accumulate_of_the_buffer(data, draw):
    """A ring buffer: add a batch, evict the oldest items; the statistics stay
    those of the items held, in both layouts and for tracked groups."""
    codes, k = data
    n, m = codes.shape
    groups = [(0, m - 1)] if m >= 2 else []
    start = draw.draw(st.integers(0, n))
    evict = draw.draw(st.integers(0, start))
    for compact in (False, True):
        stats = accumulate(codes[:start], k, groups, compact=compact)
        count_update(stats, codes[start:], codes[:evict])
        assert stats.equal(accumulate(codes[evict:], k, groups))
        assert torch.equal(stats.co_votes, brute_co_votes(codes[evict:], k))


def test_count_update_is_in_place_on_a_module_buffer():
    codes = torch.tensor([[0, 1, -1], [1, 1, 0], [-1, 0, 0]], dtype=torch.int8)
    buffer = torch.zeros((3, 2, 3, 2), dtype=torch.int64)
    n_items = torch.zeros((), dtype=torch.int64)
    table = torch.zeros(9, dtype=torch.int64)
    stats = VoteStatistics(n_items, buffer, {(0, 1): table})
    count_update(stats, codes, None)
    count_update(stats, codes[:1], codes[:1])  # add and remove the same item: no change
    assert torch.equal(buffer, brute_co_votes(codes, 2))
    assert int(n_items) == 3
    assert torch.equal(table, accumulate(codes, 2, [(0, 1)]).group_tables[(0, 1)])


def test_raw_votes_with_class_values():
    """FlyingSquid votes (-1/+1, 0 = abstain) count as codes 0/1 without conversion."""
    rng = np.random.default_rng(0)
    votes = torch.from_numpy(rng.integers(-1, 2, size=(200, 6)).astype(np.int8))
    codes = torch.where(votes == 0, -1, (votes > 0).to(torch.int64))
    groups = [(0, 1, 2)]
    ref = accumulate(codes, 2, groups)
    assert accumulate(votes, 2, groups, class_values=(-1, 1)).equal(ref)
    assert accumulate(votes, 2, groups, class_values=(-1, 1), compact=True).equal(ref)


@settings(max_examples=40, deadline=None)
@given(vote_matrices(), vote_matrices())
def test_add_subtract_algebra(a, b):
    (ca, k), (cb, _) = a, b
    m = ca.shape[1]
    cb = cb[:, :m].clamp(max=k - 1)
    if cb.shape[1] != m:
        return
    both = torch.cat([ca.to(torch.int64), cb.to(torch.int64)])
    for compact_a, compact_b in ((False, False), (True, False), (False, True), (True, True)):
        sa, sb = accumulate(ca, k, compact=compact_a), accumulate(cb, k, compact=compact_b)
        total = sa + sb
        assert total.equal(accumulate(both, k))
        assert (total - sb).equal(sa)
        assert (total - sa - sb).equal(VoteStatistics.zeros(m, k))


@settings(max_examples=40, deadline=None)
@given(vote_matrices())
def test_compact_layout_equals_dense(data):
    codes, k = data
    dense = accumulate(codes, k, compact=False)
    compact = accumulate(codes, k, compact=True)
    assert dense.equal(compact) and compact.equal(dense)
    assert torch.equal(compact.to_dense().co_votes, dense.co_votes)
    assert dense.to_compact().equal(dense)
    m = codes.shape[1]
    for i in range(m):
        for j in range(m):
            assert torch.equal(compact.pair_block(i, j), dense.co_votes[i, :, j, :])
    for i in range(m):
        for j in range(m):
            if i != j:
                assert torch.equal(compact.group_joint((i, j)), dense.group_joint((i, j)))
    # the response table, abstentions included, over the responses given
    lf, resp, counts = compact.response_table()
    full = brute_response_table(codes, k).reshape(m * (k + 1), m * (k + 1))
    idx = lf * (k + 1) + resp
    assert torch.equal(idx, (full.diagonal() > 0).nonzero().squeeze(1))
    assert torch.equal(counts, full[idx][:, idx])
    for got, want in zip(dense.response_table(), compact.response_table()):
        assert torch.equal(got, want)


def test_compact_statistics_grow_with_new_responses():
    first = torch.tensor([[0, -1], [0, 3]])
    later = torch.tensor([[7, 3], [-1, 9]])
    stats = accumulate(first, 10, compact=True)
    assert stats.responses.tolist() == [0, 13]
    count_update(stats, later, first[:1])
    assert stats.responses.tolist() == [0, 7, 13, 19]
    assert stats.equal(accumulate(torch.cat([first[1:], later]), 10))


def test_many_classes_pick_the_compact_layout():
    rng = np.random.default_rng(1)
    k, m, n = 1000, 50, 2000
    targets = rng.integers(0, k, size=(m, 2))  # each LF votes one of two classes
    votes = np.where(rng.random((n, m)) < 0.1, targets[np.arange(m), rng.integers(0, 2, (n, m))], -1)
    stats = accumulate(torch.from_numpy(votes), k)
    assert stats.is_compact and len(stats.responses) <= 2 * m
    assert torch.equal(stats.vote_counts().sum(), torch.tensor(int((votes >= 0).sum())))
    with pytest.raises(ValueError, match="response_table"):
        VoteStatistics(stats.n_items, None, pair_counts=stats.pair_counts, responses=stats.responses,
                       n_lfs=m, cardinality=10 ** 5).co_votes


def test_combining_mismatched_statistics_raises():
    a = VoteStatistics.zeros(3, 2)
    with pytest.raises(ValueError, match="3 LFs x 2 classes"):
        a + VoteStatistics.zeros(4, 2)
    with pytest.raises(ValueError, match="groups"):
        a + VoteStatistics.zeros(3, 2, [(0, 1)])
    with pytest.raises(ValueError, match=r"added_codes must have shape \(n, 3\)"):
        count_update(a, torch.zeros((2, 4), dtype=torch.int64), None)


# ---------------------------------------------------------------------------
# posterior kernels
# ---------------------------------------------------------------------------
def brute_scores(codes, base, deltas):
    out = base.expand(codes.shape[0], -1).clone()
    for i in range(codes.shape[1]):
        c = codes[:, i].long()
        voted = c >= 0
        out[voted] += deltas[i][c[voted]]
    return out


@pytest.mark.parametrize("n, m, k, K", [(1, 3, 2, 2), (57, 5, 2, 2), (300, 30, 3, 3), (200, 20, 12, 12), (40, 300, 2, 4)])
def test_independent_log_scores_matches_the_sum(n, m, k, K):
    gen = torch.Generator().manual_seed(n + m + k)
    codes = torch.randint(-1, k, (n, m), generator=gen).to(torch.int8)
    table = torch.rand((m, k + 1, K), generator=gen, dtype=torch.float64).clamp(min=1e-300).log()
    table[0, 0, 0] = -690.0  # a floored log(0)
    base, deltas = log_table_deltas(table)
    expected = brute_scores(codes, base, deltas)
    np.testing.assert_allclose(independent_log_scores(codes, base, deltas), expected, rtol=0, atol=1e-10)
    flat = deltas.reshape(m * k, K)
    got = independent_log_scores(codes, base, flat, responses=torch.arange(m * k), cardinality=k)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    if k == 2:  # raw FlyingSquid votes
        votes = torch.where(codes < 0, 0, 2 * codes.to(torch.int64) - 1).to(torch.int8)
        got = independent_log_scores(votes, base, deltas, class_values=(-1, 1))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


def test_independent_log_scores_unlisted_responses_add_nothing():
    codes = torch.tensor([[0, 2, -1], [1, -1, 2]])
    responses = torch.tensor([0, 5, 8])  # (lf 0, class 0), (lf 1, class 2), (lf 2, class 2)
    deltas = torch.tensor([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]], dtype=torch.float64)
    base = torch.tensor([0.5, -0.5], dtype=torch.float64)
    out = independent_log_scores(codes, base, deltas, responses=responses, cardinality=3)
    assert out.tolist() == [[1.5, 1.5], [4.5, 3.5]]
    assert independent_log_scores(codes[:0], base, deltas, responses=responses, cardinality=3).shape == (0, 2)


def test_float_kernels_equal_the_int8_ones(monkeypatch):
    """Where the int8 product is unavailable (accelerators, other CPUs) the
    float32 counting and float64 posterior kernels give the same results."""
    import weaksup._counting as counting

    gen = torch.Generator().manual_seed(3)
    codes = torch.randint(-1, 3, (3000, 7), generator=gen).to(torch.int8)
    table = torch.rand((7, 4, 3), generator=gen, dtype=torch.float64).log()
    base, deltas = log_table_deltas(table)
    stats = accumulate(codes, 3, [(0, 1)])
    scores = independent_log_scores(codes, base, deltas)
    binary = codes.clamp(max=1)
    binary_scores = independent_log_scores(binary, base, deltas[:, :2])
    monkeypatch.setitem(counting._INT_MM_OK, "cpu", False)
    np.testing.assert_allclose(independent_log_scores(binary, base, deltas[:, :2]), binary_scores, rtol=0, atol=1e-10)
    assert accumulate(codes, 3, [(0, 1)]).equal(stats)
    buffered = accumulate(codes[:100], 3, [(0, 1)])
    count_update(buffered, codes[100:], codes[:0])
    assert buffered.equal(stats)
    np.testing.assert_allclose(independent_log_scores(codes, base, deltas), scores, rtol=0, atol=1e-10)
