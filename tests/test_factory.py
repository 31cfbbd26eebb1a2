"""weaksup._factory.make_label_model: the default label model per convention (used by the CLI and Prodigy)."""

import pytest

from weaksup import LabelModel, MulticlassLabelModel
from weaksup._factory import make_label_model


def test_default_models():
    fs = make_label_model("flyingsquid", 2, 5)
    assert isinstance(fs, LabelModel)
    sn = make_label_model("snorkel", 4, 5)
    assert isinstance(sn, MulticlassLabelModel) and sn.cardinality == 4


def test_unknown_convention():
    with pytest.raises(ValueError, match="`convention` must be 'flyingsquid' or 'snorkel', got 'x'"):
        make_label_model("x", 2, 3)
