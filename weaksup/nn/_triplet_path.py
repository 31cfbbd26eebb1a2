"""The fused refit of :class:`~weaksup.nn.FSLoss`'s default model.

With one task, conditionally independent LFs and ``solve_method='triplet_mean'``
(FSLoss's defaults), FlyingSquid's whole fit and posterior reduce to a few
tensor operations on the ``2m x 2m`` co-vote matrix:

1. second moments ``E[l_i l_j]`` and co-coverage: ``T^T C T`` for a fixed
   ``2m x 2m`` matrix ``T`` (signs and ones);
2. accuracy magnitudes ``|E[l_i Y]|``: the closed-form triplet mean
   (:func:`weaksup.triplets.all_pairs_accuracies`);
3. each LF's table ``P(l_i, Y)`` in closed form (below);
4. the posterior logit of an item is linear in its one-hot votes:
   ``logit P(Y = +1 | votes) = w . onehot + b``.

Step 3: with ``p_+ = P(l = +1)``, ``p_0 = P(l = 0)``, ``p_y = P(Y = +1)`` and
``g = P(l Y = 1) = (1 + E[l Y] - p_0) / 2``, FlyingSquid's linear system for a
single LF (abstentions independent of ``Y``) has the solution
``P(+1, +1) = (g + p_+ - (1 - p_y)(1 - p_0)) / 2``, ``P(-1, -1) = g - P(+1, +1)``,
``P(+1, -1) = p_+ - P(+1, +1)``, ``P(-1, +1) = p_y (1 - p_0) - P(+1, +1)``,
``P(0, y) = p_0 P(y)``; negative cells are flipped (``flip_negative``) and the
table renormalised, as :class:`~weaksup.LabelModel` does. The tests check that
this path equals :class:`~weaksup.LabelModel` to float64 rounding.

Everything stays on the statistics' device with no host read.
"""

from __future__ import annotations

from typing import Tuple

import torch

from .._backend import TINY
from ..triplets import all_pairs_accuracies

__all__ = ["TripletPath"]


class TripletPath:
    """Constants and math of the fused binary path for ``m`` LFs on one device.

    One-hot layout: column ``2 i + c`` is "LF ``i`` voted class ``c``" (class 0 =
    the negative vote -1, class 1 = the positive vote +1); an abstention has no
    column.
    """

    def __init__(self, m: int, device: torch.device) -> None:
        self.m = m
        self.device = device
        eye = torch.eye(m, dtype=torch.float64, device=device)
        sign = torch.stack([-eye, eye], 1).reshape(2 * m, m)  # S[2i + c, i] = -1 / +1
        ones = torch.stack([eye, eye], 1).reshape(2 * m, m)  # P[2i + c, i] = 1
        self.T = torch.cat([sign, ones], 1)  # (2m, 2m)
        self.T_t = self.T.T.contiguous()
        # code + 1 -> one-hot row (code -1 abstain, 0 negative, 1 positive)
        self.code_table = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64, device=device)

    def onehot(self, codes: torch.Tensor) -> torch.Tensor:
        """``(n, 2m)`` float64 one-hot votes of codes ``(n, m)`` (any integer dtype)."""
        index = codes.to(torch.int64) + 1
        return self.code_table[index].reshape(codes.shape[0], 2 * self.m)

    def solve(
        self, co_votes: torch.Tensor, n_items: torch.Tensor, class_balance: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Fit from the ``(m, 2, m, 2)`` co-vote counts, the item count and the
        ``(2,)`` class balance; return the posterior's weights ``(2m,)`` and bias ``()``."""
        m = self.m
        co = co_votes.reshape(2 * m, 2 * m).to(torch.float64)
        n = n_items.to(torch.float64)
        q = self.T_t @ co @ self.T
        moments = q[:m, :m] / n  # E[l_i l_j], abstain = 0
        accuracy = all_pairs_accuracies(moments, q[m:, m:], "mean")  # |E[l_i Y]|
        votes = co.diagonal().reshape(m, 2) / n  # P(l_i = -1), P(l_i = +1)
        p_pos = votes[:, 1]
        p_zero = 1 - votes.sum(1)
        p_y = class_balance[1]
        agree = 0.5 * (1 + accuracy - p_zero)
        both_pos = 0.5 * (agree + p_pos - (1 - p_y) * (1 - p_zero))
        cells = torch.stack(  # states (-1, 0, +1) x labels (-1, +1)
            [agree - both_pos, p_y * (1 - p_zero) - both_pos, p_zero * (1 - p_y), p_zero * p_y,
             p_pos - both_pos, both_pos], 1,
        ).abs()
        total = cells.sum(1, keepdim=True)
        cells = cells / torch.where(total == 0, torch.ones_like(total), total)
        log_t = cells.clamp(min=TINY).log().reshape(m, 3, 2)
        ratio = log_t[:, :, 1] - log_t[:, :, 0]  # (m, states): log P(l, +1) - log P(l, -1)
        weights = (ratio[:, 0::2] - ratio[:, 1:2]).reshape(2 * m)  # votes -1, +1 against abstaining
        log_balance = class_balance.clamp(min=TINY).log()
        # the junction tree divides by P(Y) once per separator: m - 1 of them
        bias = ratio[:, 1].sum() - (m - 1) * (log_balance[1] - log_balance[0])
        return weights, bias

    @staticmethod
    def posterior(onehot: torch.Tensor, weights: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``(n, 1)`` float64 ``P(Y = +1 | votes)``."""
        return torch.sigmoid(torch.addmv(bias, onehot, weights)).unsqueeze(1)
