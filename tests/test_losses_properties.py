"""Generated calls of the three losses end in a valid loss or a clear error, and
a rejected call leaves the loss equal to a twin that never saw it (issue 11).

Hypothesis draws vote matrices of 0/1/2/... rows and 2-4 LFs (the losses take
3) in every integer/float/bool dtype, with out-of-range, NaN/inf, huge,
fractional, ragged and string votes; logits of the right and wrong shape and
dtype, with NaN/inf; per-item weights with NaN/inf/strings/bools/wrong length;
bad ``update_frequency``; every reduction (see ``_robustness_losses``).
"""

import pytest
import torch
from hypothesis import HealthCheck, given, settings

from _robustness_losses import LOSSES, call, loss_calls, outcome, state, warm

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.mark.parametrize("name", LOSSES)
def test_valid_loss_or_clear_error(name):
    @SETTINGS
    @given(loss_calls(name))
    def check(case):
        result, detail = outcome(*call(name, case))
        assert result in ("valid", "clear error"), f"{result}: {detail}"

    check()


@pytest.mark.parametrize("name", LOSSES[:2])
def test_rejected_call_leaves_a_twin(name):
    @SETTINGS
    @given(loss_calls(name))
    def check(case):
        crit, twin = warm(name, case["reduction"]), warm(name, case["reduction"])
        kwargs = {} if case["weight"] is None else {"weight": case["weight"]}
        try:
            crit(case["logits"], case["L"], case["update_frequency"], **kwargs)
        except (ValueError, TypeError):
            a, b = state(crit), state(twin)
            assert a.keys() == b.keys()
            for key in a:
                if key == "_counters":
                    assert a[key] == b[key]
                else:
                    assert torch.equal(a[key], b[key]), key
            probe = torch.tensor([[0, 1, -1], [1, 1, 0]]) if name == "FSLoss" else torch.tensor([[0, 2, -1], [1, 1, 0]])
            torch.testing.assert_close(crit.predict_proba(probe), twin.predict_proba(probe), rtol=0, atol=0)

    check()
