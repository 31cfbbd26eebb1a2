"""Labeling functions in plain Python: the decorator, apply_lfs and the Votes result."""

import pickle

import numpy as np
import pytest

from weaksup.lf import (
    ABSTAIN,
    LabelingFunction,
    LabelingFunctionError,
    Votes,
    apply_lfs,
    labeling_function,
)

TEXTS = ["check out my channel http://x.co", "great song", "subscribe please", "love it", "win free stuff"]


@labeling_function()
def has_link(text):
    return "spam" if "http" in text else None


@labeling_function()
def says_subscribe(text):
    return "spam" if "subscribe" in text else ABSTAIN


@labeling_function(name="short")
def short_comment(text):
    return "ham" if len(text) < 12 else None


@labeling_function
def by_index(text):
    return 0 if "love" in text else -1


def lower(text):
    return text.lower()


@labeling_function(pre=[lower], resources={"words": {"free", "win"}})
def promo(text, words):
    return 1 if words & set(text.split()) else None


def _boom(text):
    if "song" in text:
        raise KeyError("no song here")
    return None


fragile = LabelingFunction("fragile", _boom)
LFS = [has_link, says_subscribe, short_comment, by_index, promo]


def test_decorator_names_and_call():
    assert [lf.name for lf in LFS] == ["has_link", "says_subscribe", "short", "by_index", "promo"]
    assert isinstance(by_index, LabelingFunction)
    assert promo("WIN big") == 1 and promo("hello") is None
    assert "promo" in repr(promo) and "lower" in repr(promo)


def test_apply_lfs_votes_with_names():
    votes = apply_lfs(LFS, TEXTS, labels=["ham", "spam"], progress=False)
    assert isinstance(votes, Votes) and votes.dtype == np.int64 and votes.shape == (5, 5)
    assert votes.lf_names == ["has_link", "says_subscribe", "short", "by_index", "promo"]
    assert votes.labels == ["ham", "spam"]
    expected = [[1, -1, -1, -1, -1], [-1, -1, 0, -1, -1], [-1, 1, -1, -1, -1], [-1, -1, 0, 0, -1], [-1, -1, -1, -1, 1]]
    assert votes.tolist() == expected
    assert votes.n_failures.tolist() == [0] * 5


def test_a_label_list_in_another_order_cannot_flip_name_votes():
    a = apply_lfs([has_link, short_comment], TEXTS, labels=["ham", "spam"], progress=False)
    b = apply_lfs([has_link, short_comment], TEXTS, labels=["spam", "ham"], progress=False)
    # the same names come out, at the positions of the names in each list
    names_a = [[a.labels[v] if v >= 0 else None for v in row] for row in a.tolist()]
    names_b = [[b.labels[v] if v >= 0 else None for v in row] for row in b.tolist()]
    assert names_a == names_b


def test_names_need_labels_and_must_be_known():
    with pytest.raises(ValueError, match=r"'has_link'.*'spam'.*labels="):
        apply_lfs([has_link], TEXTS, progress=False)
    with pytest.raises(ValueError, match=r"'has_link' returned 'spam' on item 0.*\['ham', 'junk'\]"):
        apply_lfs([has_link], TEXTS, labels=["ham", "junk"], progress=False)


@pytest.mark.parametrize("value", [2, -2, 1.0, True, "x", [1]])
def test_bad_return_values_are_refused_with_the_lf_and_item(value):
    lf = LabelingFunction("bad", lambda x: value)
    with pytest.raises(ValueError, match=r"'bad' returned .* on item 0"):
        apply_lfs([lf], ["a"], labels=2, progress=False)


def test_numpy_integers_are_votes():
    lf = LabelingFunction("np", lambda x: np.int32(1))
    assert apply_lfs([lf], ["a"], labels=2, progress=False).tolist() == [[1]]


def test_an_lf_that_raises_names_lf_and_item():
    with pytest.raises(LabelingFunctionError, match=r"'fragile' raised on item 1: KeyError") as info:
        apply_lfs([has_link, fragile], TEXTS, labels=["ham", "spam"], progress=False)
    assert info.value.lf_name == "fragile" and info.value.index == 1
    assert isinstance(info.value.__cause__, KeyError)


def test_errors_abstain_counts_failures_per_lf():
    votes = apply_lfs([has_link, fragile], TEXTS, labels=["ham", "spam"], progress=False, errors="abstain")
    assert votes.n_failures.tolist() == [0, 1]
    assert votes[:, 1].tolist() == [-1] * 5


def test_plain_callables_are_wrapped_by_name():
    def spammy(text):
        return 1 if "free" in text else None

    votes = apply_lfs([spammy], TEXTS, progress=False)
    assert votes.lf_names == ["spammy"] and votes[:, 0].tolist() == [-1, -1, -1, -1, 1]


def test_dataframe_rows_allow_key_and_attribute_access():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"text": TEXTS, "n": range(5)})
    by_attr = LabelingFunction("attr", lambda x: 1 if "http" in x.text else None)
    by_key = LabelingFunction("key", lambda x: 0 if x["n"] == 3 else None)
    votes = apply_lfs([by_attr, by_key], df, labels=2, progress=False)
    assert votes.tolist() == [[1, -1], [-1, -1], [-1, -1], [-1, 0], [-1, -1]]


def test_generators_and_dataset_columns():
    votes = apply_lfs([promo], (t for t in TEXTS), labels=2, progress=False)
    assert votes.shape == (5, 1)
    empty = apply_lfs([promo, has_link], [], labels=2, progress=False)
    assert empty.shape == (0, 2) and empty.lf_names == ["promo", "has_link"]


def test_shared_preprocessors_run_once_per_item():
    calls = []

    def parse(text):
        calls.append(text)
        return text.split()

    a = LabelingFunction("a", lambda toks: 1 if "win" in toks else None, pre=[parse])
    b = LabelingFunction("b", lambda toks: 0 if len(toks) < 3 else None, pre=[parse])
    votes = apply_lfs([a, b], TEXTS, labels=2, progress=False, chunk_size=2)
    assert len(calls) == len(TEXTS)
    assert votes[:, 1].tolist() == [-1, 0, 0, 0, -1]


def test_a_preprocessor_returning_none_is_an_error():
    lf = LabelingFunction("p", lambda x: None, pre=[lambda x: None])
    with pytest.raises(LabelingFunctionError, match="'p' raised on item 0.*returned None"):
        apply_lfs([lf], ["a"], progress=False)


def test_processes_give_the_same_votes_in_order():
    one = apply_lfs(LFS + [fragile], TEXTS * 7, labels=["ham", "spam"], progress=False, errors="abstain")
    two = apply_lfs(LFS + [fragile], TEXTS * 7, labels=["ham", "spam"], progress=False, errors="abstain",
                    n_jobs=2, chunk_size=3)
    assert two.tolist() == one.tolist() and two.lf_names == one.lf_names
    assert two.n_failures.tolist() == one.n_failures.tolist() == [0] * 5 + [7]


def test_processes_report_the_failing_item():
    with pytest.raises(LabelingFunctionError, match="item 6"):
        apply_lfs([fragile], ["a"] * 6 + ["song"], n_jobs=2, chunk_size=2, progress=False)


def test_decorated_lfs_pickle_by_reference():
    assert pickle.loads(pickle.dumps(has_link)) is has_link
    local = LabelingFunction("local", len)
    again = pickle.loads(pickle.dumps(local))
    assert again.name == "local" and again("abc") == 3


def test_progress_bar_goes_to_stderr(capsys):
    pytest.importorskip("tqdm")
    apply_lfs([promo], TEXTS, labels=2, progress=True)
    assert "applying LFs" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_jobs=0), "`n_jobs` must be an int >= 1, got 0"),
    (dict(errors="ignore"), "`errors` must be 'raise' or 'abstain'"),
    (dict(labels=0), "`labels`"),
    (dict(labels=["a", "a"]), "`labels`"),
    (dict(chunk_size=0), "`chunk_size`"),
])
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        apply_lfs([promo], TEXTS, progress=False, **kwargs)


def test_duplicate_names_and_bad_items():
    with pytest.raises(ValueError, match=r"unique names.*\['promo'\]"):
        apply_lfs([promo, promo], TEXTS, progress=False)
    with pytest.raises(TypeError, match="`items`"):
        apply_lfs([promo], "a text", progress=False)
    with pytest.raises(TypeError, match=r"`lfs\[0\]`"):
        apply_lfs([3], TEXTS, progress=False)
    with pytest.raises(TypeError, match="`name`"):
        LabelingFunction("", len)


def test_votes_keeps_names_on_row_and_column_selection():
    v = Votes(np.array([[0, 1, -1], [1, -1, 0]]), ["a", "b", "c"], ["x", "y"])
    assert v[:1].lf_names == ["a", "b", "c"]
    assert v[:, [2, 0]].lf_names == ["c", "a"]
    assert type(v == 1) is np.ndarray and type(v[0]) is np.ndarray
    again = pickle.loads(pickle.dumps(v))
    assert again.lf_names == ["a", "b", "c"] and again.labels == ["x", "y"]
    with pytest.raises(ValueError, match="`lf_names`"):
        Votes(np.zeros((2, 2)), ["a"])


def test_lf_summary_shows_names_and_failures():
    from weaksup import lf_summary

    votes = apply_lfs([has_link, fragile], TEXTS, labels=["ham", "spam"], progress=False, errors="abstain")
    assert votes.convention == "snorkel" and votes.cardinality == 2
    table = lf_summary(votes)  # the convention, names and failures come with the Votes
    assert list(table.index) == ["has_link", "fragile"]
    assert table["failures"].tolist() == [0, 1]
