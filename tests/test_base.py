"""weaksup.base: the label-model protocol, NotFittedError, unchanged_on_error."""

import pytest

import weaksup
from weaksup import LabelModel, MajorityVote, MulticlassLabelModel
from weaksup.base import LabelModelProtocol, NotFittedError, unchanged_on_error


def test_every_weaksup_model_is_a_label_model():
    for model in (LabelModel(3), MulticlassLabelModel(3), MajorityVote()):
        assert isinstance(model, LabelModelProtocol)


def test_a_duck_typed_model_qualifies_without_inheriting():
    class Mine:
        cardinality, convention, groups = 2, "snorkel", ()

        def accumulate(self, L): ...
        def fit(self, L, class_balance=None, Y_dev=None): ...
        def partial_fit(self, L, class_balance=None, Y_dev=None): ...
        def fit_statistics(self, stats, class_balance=None, Y_dev=None): ...
        def log_scores(self, codes): ...
        def predict_proba(self, L): ...

    assert isinstance(Mine(), LabelModelProtocol)
    assert not isinstance(object(), LabelModelProtocol)


def test_not_fitted_error_is_one_class_everywhere():
    from weaksup.label_model import NotFittedError as from_label_model

    assert weaksup.NotFittedError is NotFittedError is from_label_model
    assert issubclass(NotFittedError, RuntimeError)


def test_unchanged_on_error_restores_attributes():
    class Box:
        pass

    box = Box()
    box.a, box.b = 1, [1]
    with pytest.raises(KeyError):
        with unchanged_on_error(box):
            box.a = 2
            box.b = [2]
            box.c = 3
            raise KeyError("x")
    assert vars(box) == {"a": 1, "b": [1]}
    with unchanged_on_error(box):
        box.a = 5
    assert box.a == 5
