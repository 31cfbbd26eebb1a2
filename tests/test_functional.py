"""Tests of the stateless loss functions and the majority-vote rule (weaksup.functional)."""

import pytest
import torch
import torch.nn.functional as F

from weaksup.functional import fs_cross_entropy, fs_loss, majority_vote_proba, majority_vote_targets


# ---------------------------------------------------------------------------
class TestFunctional:
    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    def test_fs_loss_matches_torch(self, reduction):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(7, 3, generator=g)
        q = torch.rand(7, 3, generator=g)
        w = torch.rand(3, generator=g)
        pw = torch.tensor([1.0, 2.0, 0.5])
        ours = fs_loss(x, q, weight=w, pos_weight=pw, reduction=reduction)
        ref = F.binary_cross_entropy_with_logits(x, q, weight=w, pos_weight=pw, reduction=reduction)
        torch.testing.assert_close(ours, ref)

    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    def test_fs_cross_entropy_matches_torch(self, reduction):
        g = torch.Generator().manual_seed(1)
        x = torch.randn(5, 4, generator=g)
        q = torch.softmax(torch.randn(5, 4, generator=g), 1)
        w = torch.rand(4, generator=g)
        torch.testing.assert_close(
            fs_cross_entropy(x, q, weight=w, reduction=reduction),
            F.cross_entropy(x, q, weight=w, reduction=reduction),
        )

    def test_gradcheck_into_logits_only(self):
        g = torch.Generator().manual_seed(2)
        x = torch.randn(6, 2, dtype=torch.float64, generator=g, requires_grad=True)
        q = torch.rand(6, 2, dtype=torch.float64, generator=g, requires_grad=True)
        w = torch.rand(6, dtype=torch.float64, generator=g)
        valid = torch.tensor([True, False, True, True, True, False])
        assert torch.autograd.gradcheck(
            lambda a: fs_loss(a, q, pos_weight=torch.tensor([2.0, 1.0]), item_weight=w, valid=valid), (x,)
        )
        xc = torch.randn(5, 3, dtype=torch.float64, generator=g, requires_grad=True)
        qc = torch.softmax(torch.randn(5, 3, dtype=torch.float64, generator=g), 1).requires_grad_()
        assert torch.autograd.gradcheck(lambda a: fs_cross_entropy(a, qc, item_weight=w[:5]), (xc,))
        fs_loss(x, q).backward()
        fs_cross_entropy(xc, qc).backward()
        assert q.grad is None and qc.grad is None  # targets are constants

    def test_valid_mask_and_item_weight(self):
        x = torch.tensor([1.0, -1.0, 0.5, 2.0])
        q = torch.tensor([1.0, 0.0, 0.5, 0.2])
        valid = torch.tensor([True, False, True, False])
        w = torch.tensor([2.0, 3.0, 1.0, 1.0])
        per = F.binary_cross_entropy_with_logits(x, q, reduction="none") * w
        torch.testing.assert_close(fs_loss(x, q, item_weight=w, valid=valid), (per[0] + per[2]) / 2)
        torch.testing.assert_close(fs_loss(x, q, item_weight=w, valid=valid, reduction="sum"), per[0] + per[2])
        none = fs_loss(x, q, valid=valid, reduction="none")
        assert none[1] == 0 and none[3] == 0

    def test_no_valid_item_is_zero_not_nan(self):
        x = torch.randn(3, requires_grad=True)
        loss = fs_loss(x, torch.full((3,), 0.5), valid=torch.zeros(3, dtype=torch.bool))
        assert loss.item() == 0.0
        loss.backward()
        assert torch.equal(x.grad, torch.zeros(3))

    def test_empty_input(self):
        x = torch.zeros(0, requires_grad=True)
        for reduction in ("mean", "sum"):
            assert fs_loss(x, torch.zeros(0), reduction=reduction).item() == 0.0
        assert fs_loss(x, torch.zeros(0), reduction="none").shape == (0,)
        assert fs_cross_entropy(torch.zeros(0, 3), torch.zeros(0, 3)).item() == 0.0

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="'none', 'mean', 'sum'"):
            fs_loss(torch.zeros(2), torch.zeros(2), reduction="avg")
        with pytest.raises(ValueError, match=r"input \(2,\) and target \(3,\)"):
            fs_loss(torch.zeros(2), torch.zeros(3))
        with pytest.raises(ValueError, match=r"item_weight must have shape \(2,\)"):
            fs_loss(torch.zeros(2), torch.zeros(2), item_weight=torch.ones(3))
        with pytest.raises(ValueError, match=r"\(n, k\)"):
            fs_cross_entropy(torch.zeros(2), torch.zeros(2))

    def test_majority_vote_targets(self):
        codes = torch.tensor([[1, 1, 0], [0, 1, -1], [-1, -1, -1], [2, 2, 1]])
        t = majority_vote_targets(codes, 3)
        torch.testing.assert_close(t, torch.tensor([[0, 1, 0], [0.5, 0.5, 0], [1 / 3] * 3, [0, 0, 1.0]]))


class TestMajorityVoteProba:
    def test_winner_ties_and_all_abstain(self):
        codes = torch.tensor([[1, 1, 0], [0, 1, -1], [-1, -1, -1], [2, 2, 1]])
        p = majority_vote_proba(codes, 3)
        assert p.dtype == torch.float64
        torch.testing.assert_close(
            p, torch.tensor([[0, 1, 0], [0.5, 0.5, 0], [1 / 3] * 3, [0, 0, 1.0]], dtype=torch.float64)
        )

    def test_all_abstain_rows_get_the_class_balance(self):
        codes = torch.tensor([[-1, -1], [0, -1], [-1, -1]])
        balance = torch.tensor([0.25, 0.75], dtype=torch.float64)
        p = majority_vote_proba(codes, 2, balance)
        torch.testing.assert_close(p[0], balance)
        torch.testing.assert_close(p[2], balance)
        torch.testing.assert_close(p[1], torch.tensor([1.0, 0.0], dtype=torch.float64))

    def test_ties_do_not_use_the_class_balance(self):
        p = majority_vote_proba(torch.tensor([[0, 1]]), 2, torch.tensor([0.9, 0.1]))
        assert p.tolist() == [[0.5, 0.5]]

    def test_rows_sum_to_one_and_empty_input(self):
        g = torch.Generator().manual_seed(0)
        codes = torch.randint(-1, 4, (200, 5), generator=g)
        p = majority_vote_proba(codes, 4)
        torch.testing.assert_close(p.sum(1), torch.ones(200, dtype=torch.float64))
        assert majority_vote_proba(torch.zeros((0, 3), dtype=torch.int64), 4).shape == (0, 4)

    def test_targets_are_the_same_rule(self):
        codes = torch.tensor([[1, -1, 0], [-1, -1, -1]])
        torch.testing.assert_close(majority_vote_targets(codes, 2), majority_vote_proba(codes, 2).float())

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="class_balance must have k = 3"):
            majority_vote_proba(torch.zeros((1, 2), dtype=torch.int64), 3, torch.tensor([0.5, 0.5]))
        with pytest.raises(ValueError, match=r"codes must have shape \(n, m\)"):
            majority_vote_proba(torch.zeros(3, dtype=torch.int64), 2)
