"""Generated inputs for the models and lf_summary end in a valid result or a clear error (issue 11).

For every entry point, hypothesis draws vote matrices of 0/1/2/... rows and 1-3
LFs in every integer/float/bool dtype and both conventions, with bad class
balances, bad ``Y_dev``, NaN/inf, huge class ids, ragged lists and strings
(see ``_robustness_cases``). The call must either return valid probabilities
or raise a ``ValueError``/``TypeError`` from weaksup naming the argument. The
twin checks: a rejected call leaves a fitted model equal to a twin that never
saw it. ``benchmarks/robustness_models.py`` prints the outcome table.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _model_state import assert_same_state
from _robustness_cases import (
    class_balances,
    dev_labels,
    entry_points,
    outcome,
    votes,
)
from weaksup import LabelModel, MajorityVote, MulticlassLabelModel

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
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
FITTED = {
    "LabelModel": (lambda: LabelModel(3), "flyingsquid", 2, np.array([[1, 0, -1], [1, 1, 1], [-1, -1, 0], [0, 1, 1]])),
    "MulticlassLabelModel": (
        lambda: MulticlassLabelModel(3, n_iter=10), "snorkel", 3, np.array([[0, -1, 2], [1, 1, 1], [2, 2, -1], [0, 0, 1]]),
    ),
    "MajorityVote": (
        lambda: MajorityVote(cardinality=3, convention="snorkel"), "snorkel", 3,
        np.array([[0, -1, 2], [1, 1, 1], [2, 2, -1], [0, 0, 1]]),
    ),
}


@pytest.mark.parametrize("name", sorted(FITTED))
def test_rejected_call_leaves_a_twin(name):
    make, convention, k, L0 = FITTED[name]

    @SETTINGS
    @given(
        st.sampled_from(["fit", "partial_fit"]),
        votes(convention, k, max_lfs=3),
        class_balances(k),
        dev_labels(convention, k),
    )
    def check(method, L, class_balance, Y_dev):
        model, twin = make().fit(L0, Y_dev=None), make().fit(L0, Y_dev=None)
        try:
            getattr(model, method)(L, class_balance=class_balance, Y_dev=Y_dev)
        except (ValueError, TypeError):
            assert_same_state(model, twin)
            np.testing.assert_array_equal(model.predict_proba(L0), twin.predict_proba(L0))

    check()
