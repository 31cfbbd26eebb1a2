"""Generated inputs for the models and lf_summary end in a valid result or a clear error (issue 11).

For every entry point, hypothesis draws vote matrices of 0/1/2/... rows and 1-3
LFs in every integer/float/bool dtype and both conventions, with bad class
balances, bad ``Y_dev``, NaN/inf, huge class ids, ragged lists and strings
(see ``_robustness_cases``). The call must either return valid probabilities
or raise a ``ValueError``/``TypeError`` from weaksup naming the argument. The
twin checks: a rejected call leaves a fitted model equal to a twin that never
saw it. ``benchmarks/robustness_models.py`` prints the outcome table.
"""

import pytest
from hypothesis import HealthCheck, given, settings

from _robustness_cases import FITTED, entry_points, outcome, second_calls, twin_outcome

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
TWIN_SETTINGS = settings(SETTINGS, max_examples=100)
ENTRY_POINTS = entry_points()


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_valid_result_or_clear_error(name):
    strategy, build = ENTRY_POINTS[name]

    @SETTINGS
    @given(strategy)
    def check(case):
        result, detail = outcome(*build(case))
        assert result in ("valid", "clear error"), f"{result}: {detail}"

    check()


# ---- twins: a rejected call changes nothing ------------------------------------------
@pytest.mark.parametrize("name", sorted(FITTED))
def test_rejected_call_leaves_a_twin(name):
    @TWIN_SETTINGS
    @given(second_calls(name))
    def check(call):
        assert twin_outcome(name, call) != "rejected, CHANGED"

    check()
