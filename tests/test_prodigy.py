"""weak.teach and weak.review, driven without Prodigy by a simulated annotator."""

import inspect
import json
import math
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from weaksup.datasets import load_youtube
from weaksup.prodigy import (
    RECIPES,
    ReviewLoop,
    TeachLoop,
    WeakTextClassifier,
    disagreement,
    load_source,
    register,
    review,
    teach,
)

# four of youtube's ten LFs: weak enough that answers visibly help
WEAK_LFS = [1, 2, 6, 7]  # keyword_subscribe, keyword_link, short_comment, has_person_nlp


@pytest.fixture(scope="module")
def youtube():
    pool, lf_names = load_source("youtube")
    test, valid = load_youtube("test"), load_youtube("valid")
    held_out = (test.texts + valid.texts, np.concatenate([test.Y, valid.Y]))
    return pool, lf_names, held_out


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def write_jsonl(path, texts, L, Y=None):
    with open(path, "w") as f:
        for i, (text, votes) in enumerate(zip(texts, L)):
            obj = {"text": text, "weak_labels": [int(v) for v in votes]}
            if Y is not None:
                obj["label"] = int(Y[i])
            f.write(json.dumps(obj) + "\n")
    return str(path)


def answer_teach(task, pool):
    gold = pool.label_names[pool.Y[task["_weaksup_index"]]]
    return {**task, "answer": "accept" if task["label"] == gold else "reject"}


def test_teach_improves_as_answers_come_in(youtube, tmp_path):
    pool, lf_names, (texts, Y) = youtube
    source = write_jsonl(tmp_path / "weak.jsonl", pool.texts, pool.L[:, WEAK_LFS])
    components = teach("spam_gold", source, label_names="HAM,SPAM",
                       lf_names=",".join(lf_names[j] for j in WEAK_LFS))
    assert components["dataset"] == "spam_gold"
    assert components["view_id"] == "classification"
    loop = components["update"].__self__
    model = loop.model
    before = model.accuracy(texts, Y)
    stream, accuracies, progress = components["stream"], [before], [0.0]
    for _ in range(10):
        batch = [next(stream) for _ in range(10)]
        for task in batch:
            assert task["label"] == "SPAM"  # binary: always ask about class 1
            assert 0 <= task["meta"]["score"] <= 1
            assert isinstance(task["_input_hash"], int) and isinstance(task["_task_hash"], int)
        loss = components["update"]([answer_teach(t, pool) for t in batch])
        assert np.isfinite(loss)
        accuracies.append(model.accuracy(texts, Y))
        progress.append(components["progress"](None, loss))
    assert np.all(np.diff(progress) > 0) and progress[-1] == pytest.approx(100 / len(pool.texts))
    # the model improves: held-out accuracy of the end model, and the training labels on the pool
    assert np.mean(accuracies[-3:]) > before + 0.05, accuracies
    assert model.class_balance() is None  # the label model keeps its own balance (balance_from_gold=False)
    assert len(model.gold) == 100


def test_teach_stream_is_ordered_by_uncertainty(youtube):
    pool, lf_names, _ = youtube
    model = WeakTextClassifier(pool.texts, pool.L, label_names=pool.label_names, lf_names=lf_names)
    loop = TeachLoop(model, batch_size=20)
    stream = loop.stream()
    first = [next(stream) for _ in range(20)]
    distance = [abs(t["meta"]["score"] - 0.5) for t in first]
    # the first batch: the 20 items nearest 0.5, most uncertain first
    assert distance == sorted(distance)
    all_distances = np.sort(np.abs(model.predict_proba()[:, 1] - 0.5))
    assert max(distance) <= all_distances[19] + 1e-3
    # each LF's vote is shown, by name
    index = first[0]["_weaksup_index"]
    for j, name in enumerate(lf_names):
        if pool.L[index, j] >= 0:
            assert first[0]["meta"][name] == pool.label_names[pool.L[index, j]]


def test_teach_answers_and_errors(youtube):
    pool, lf_names, _ = youtube
    rows = np.arange(300)
    model = WeakTextClassifier([pool.texts[i] for i in rows], pool.L[rows], label_names=pool.label_names,
                               fit_steps=20, update_steps=5)
    loop = TeachLoop(model, batch_size=5)
    stream = loop.stream()
    batch = [next(stream) for _ in range(3)]
    loop.update([{**batch[0], "answer": "accept"}, {**batch[1], "answer": "reject"},
                 {**batch[2], "answer": "ignore"}])
    i0, i1, i2 = (t["_weaksup_index"] for t in batch)
    assert model.gold == {i0: 1, i1: 0}  # binary: a reject of SPAM is HAM
    assert i2 not in model.gold and i2 in loop.sent
    assert loop.progress() == pytest.approx(2 / 300)
    with pytest.raises(ValueError, match="'accept', 'reject' or 'ignore'"):
        loop.update([{**batch[0], "answer": "maybe"}])
    with pytest.raises(ValueError, match="_weaksup_index"):
        loop.update([{"text": "x", "answer": "accept"}])
    with pytest.raises(ValueError, match="class names out of"):
        TeachLoop(model, labels=["EGGS"])


def test_teach_many_classes_uses_rejections():
    rng = np.random.default_rng(0)
    words = ["apple", "bread", "cheese"]
    Y = rng.integers(0, 3, 240)
    texts = [f"{words[y]} {rng.choice(words)} item {i % 7}" for i, y in enumerate(Y)]
    L = np.where(rng.random((240, 4)) < 0.7, np.where(rng.random((240, 4)) < 0.75, Y[:, None], (Y[:, None] + 1) % 3), -1)
    model = WeakTextClassifier(texts, L, label_names=words, fit_steps=20, update_steps=5)
    loop = TeachLoop(model, batch_size=8)
    batch = [next(loop.stream()) for _ in range(1)]
    task = batch[0]
    assert task["label"] in words  # the most probable class is asked
    wrong = [{**task, "answer": "reject"}]
    loop.update(wrong)
    index = task["_weaksup_index"]
    assert model.rejected == {index: {words.index(task["label"])}} and index not in model.gold
    loop.update([{**task, "answer": "accept", "label": words[Y[index]]}])
    assert model.gold == {index: int(Y[index])} and index not in model.rejected


def test_review_resolves_disagreements(youtube, capsys):
    pool, lf_names, _ = youtube
    components = review("spam_conflicts", "youtube")
    assert components["view_id"] == "choice"
    assert components["config"]["choice_style"] == "single"
    loop = components["update"].__self__
    model = loop.model
    stream = components["stream"]
    first = next(stream)
    # the most disputed items first: a 50/50 split between HAM and SPAM
    assert first["meta"]["disagreement"] == 1.0
    index = first["_weaksup_index"]
    for option in first["options"]:
        voters = [lf_names[j] for j in np.flatnonzero(pool.L[index] == option["id"])]
        assert all(name in option["text"] for name in voters)

    def labels_accuracy():
        return float(np.mean(model.targets().argmax(1).numpy() == pool.Y))

    accuracy, sent = [labels_accuracy()], [first]
    for _ in range(6):
        batch = sent[-1:] if len(sent) == 1 else []
        batch += [next(stream) for _ in range(10 - len(batch))]
        sent += batch[1:] if len(sent) == 1 else batch
        loss = components["update"]([{**t, "answer": "accept", "accept": [int(pool.Y[t["_weaksup_index"]])]} for t in batch])
        assert loss >= 0
        accuracy.append(labels_accuracy())
    scores = [t["meta"]["disagreement"] for t in sent]
    assert scores == sorted(scores, reverse=True)
    # the model improves: the training labels get better with every resolved batch
    assert np.all(np.diff(accuracy) >= 0) and accuracy[-1] > accuracy[0] + 0.01, accuracy
    assert components["progress"]() == pytest.approx(60 / len(loop.order))
    acc = loop.lf_accuracies()
    assert set(acc) == set(lf_names) and all(np.isnan(a) or 0 <= a <= 1 for a in acc.values())
    components["on_exit"](None)
    assert "resolved items" in capsys.readouterr().out
    with pytest.raises(ValueError, match="one chosen class"):
        components["update"]([{**first, "answer": "accept", "accept": [0, 1]}])


def test_review_sends_only_disputed_items():
    L = np.array([[0, 1, -1, -1], [1, 1, -1, -1], [0, 0, 1, -1], [-1, -1, -1, -1], [0, 1, 0, 1]])
    h = disagreement(L, 2)
    assert h.round(3).tolist() == [1.0, 0.0, 0.918, 0.0, 1.0]
    model = WeakTextClassifier([f"text {i}" for i in range(5)], L, fit_steps=1,
                               label_model=_UniformLabelModel())
    loop = ReviewLoop(model)
    assert [t["_weaksup_index"] for t in loop.stream()] == [4, 0, 2]  # ties: more votes first


class _UniformLabelModel:
    def fit(self, L, class_balance=None):
        self.k = 2
        return self

    def predict_proba(self, L):
        return np.full((len(L), 2), 0.5)


def test_load_source_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.jsonl"):
        load_source(str(tmp_path / "nowhere.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a", "weak_labels": [0, 1]}\n{"text": "b", "weak_labels": [0, "x"]}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl: line 2, column 2: expected a vote"):
        load_source(str(bad))
    bad.write_text('{"text": "a", "weak_labels": [0, 1]}\n{"text": "b", "weak_labels": [0]}\n')
    with pytest.raises(ValueError, match=r"line 2: 1 votes, expected 2"):
        load_source(str(bad))
    bad.write_text('{"text": "a", "weak_labels": [0, 1]}\nnot json\n')
    with pytest.raises(ValueError, match=r"line 2: not valid JSON"):
        load_source(str(bad))
    bad.write_text('{"weak_labels": [0, 1]}\n')
    with pytest.raises(ValueError, match=r"line 1: expected a string 'text'"):
        load_source(str(bad))
    bad.write_text('{"text": "a", "weak_labels": [0, 1], "label": 1}\n\n{"text": "b", "weak_labels": [0, 1]}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl: line 1 has a gold 'label' but line 3 has none"):
        load_source(str(bad))
    bad.write_text('{"text": "a", "weak_labels": [0, 1], "label": "spam"}\n')
    with pytest.raises(ValueError, match=r"line 1: expected 'label' to be a class id"):
        load_source(str(bad))
    good = tmp_path / "good.jsonl"
    good.write_text('{"data": {"text": "a"}, "weak_labels": [0, -1], "label": 0}\n{"text": "b", "weak_labels": [2, 1], "label": 2}\n')
    ds, names = load_source(str(good), lf_names="x,y")
    assert ds.L.tolist() == [[0, -1], [2, 1]] and ds.Y.tolist() == [0, 2] and names == ["x", "y"]
    assert ds.cardinality == 3


def test_recipes_register_with_prodigy():
    registered = {}

    def recipe(name, **arguments):
        def decorate(func):
            registered[name] = (func, arguments)
            return func
        return decorate

    fake = types.SimpleNamespace(recipe=recipe)
    assert register(fake) is True
    assert set(registered) == {"weak.teach", "weak.review"}
    for name, (func, arguments) in registered.items():
        params = list(inspect.signature(func).parameters)
        assert list(arguments) == params, name  # every argument annotated, in order
        assert arguments["dataset"][1] == "positional" and arguments["source"][1] == "positional"
    assert RECIPES["weak.teach"][0] is teach


def test_import_weaksup_does_not_import_prodigy():
    import subprocess
    import sys

    code = "import sys, weaksup; print('weaksup.prodigy' in sys.modules, 'prodigy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# -- entry points: resolved the way Prodigy's registry does -------------------------
ROOT = Path(__file__).resolve().parents[1]
STAND_INS = Path(__file__).resolve().parent / "stand_ins"  # holds a stand-in `prodigy` package


def declared_entry_points(tmp_path, declared=None):
    """A dist-info folder with the ``prodigy_recipes`` entry points declared in
    pyproject.toml (so the test reads the source, not a stale installation)."""
    import tomllib

    if declared is None:
        declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["prodigy_recipes"]
    dist = tmp_path / "site" / "weaksup-0.1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: weaksup\nVersion: 0.1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in declared.items())
    (dist / "entry_points.txt").write_text("[prodigy_recipes]\n" + lines)
    return declared, dist.parent


def run_with_prodigy(tmp_path, *args, code=None, declared=None, check=True):
    _, site = declared_entry_points(tmp_path, declared)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(site), str(STAND_INS), str(ROOT)])}
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "prodigy", *args]
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    if check:
        assert out.returncode == 0, out.stderr
    return out


@pytest.fixture
def small_source(tmp_path):
    texts = [f"check out my channel {i}" if i % 2 else f"great song number {i}" for i in range(12)]
    L = [[1, -1, 1] if i % 2 else [-1, 0, -1] for i in range(12)]
    return write_jsonl(tmp_path / "comments.jsonl", texts, L)


def test_entry_points_name_the_light_recipe_module():
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["prodigy_recipes"]
    assert declared == {"weak.teach": "weaksup.prodigy.recipes:teach_recipe",
                        "weak.review": "weaksup.prodigy.recipes:review_recipe"}


def test_weak_teach_runs_from_the_command_line(tmp_path, small_source):
    out = run_with_prodigy(tmp_path, "weak.teach", "spam_gold", small_source,
                           "--label-names", "HAM,SPAM", "--lf-names", "my,song,check", "--batch-size", "4")
    result = json.loads(out.stdout)
    assert result["recipe"] == "weak.teach"  # the object Prodigy's decorator made, not the plain function
    assert result["loaded_before_run"] == []  # resolving the recipe imported no torch
    assert result["dataset"] == "spam_gold" and result["view_id"] == "classification"
    assert len(result["tasks"]) == 4 and result["hashed"]
    assert result["progress"] == pytest.approx(4 / 12)
    assert math.isfinite(result["loss"])


def test_weak_review_runs_from_the_command_line(tmp_path):
    texts = ["check out my song", "great song", "subscribe to me", "love this song"]
    source = write_jsonl(tmp_path / "conflicts.jsonl", texts, [[1, 0, -1], [-1, 0, -1], [1, 0, -1], [-1, 0, 0]])
    result = json.loads(run_with_prodigy(tmp_path, "weak.review", "conflicts", source, "-b", "2").stdout)
    assert result["recipe"] == "weak.review" and result["view_id"] == "choice"
    assert result["tasks"] == ["check out my song", "subscribe to me"] and result["progress"] == 1.0


def test_importing_weaksup_prodigy_registers_nothing(tmp_path):
    code = (
        "import sys, catalogue\n"
        "import weaksup.prodigy, weaksup.prodigy.recipes\n"
        "import prodigy\n"
        "before = catalogue.check_exists('prodigy', 'recipes', 'weak.teach')\n"
        "recipe = prodigy.get_recipe('weak.teach')\n"
        "print(before, catalogue.check_exists('prodigy', 'recipes', 'weak.teach'),\n"
        "      recipe is weaksup.prodigy.recipes.teach_recipe, 'torch' in sys.modules)\n"
    )
    assert run_with_prodigy(tmp_path, code=code).stdout.split() == ["False", "True", "True", "False"]


def test_the_stand_in_refuses_a_plain_function_as_entry_point(tmp_path, small_source):
    """The defect of issue 13.6: an entry point naming the plain function gives
    Prodigy's registry an object without the recipe decorator's argument parsing."""
    out = run_with_prodigy(tmp_path, "weak.teach", "spam_gold", small_source,
                           declared={"weak.teach": "weaksup.prodigy:teach"}, check=False)
    assert out.returncode != 0 and "use_plac" in out.stderr


def test_entry_point_without_prodigy_says_so():
    from weaksup.prodigy import recipes

    with pytest.raises(ImportError, match="needs Prodigy"):
        recipes.teach_recipe
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        recipes.nothing


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lr": 0}, ValueError, "lr must be a number > 0, got 0"),
    ({"gold_weight": float("nan")}, ValueError, "gold_weight must be"),
    ({"fit_steps": -1}, ValueError, "fit_steps must be an int >= 0, got -1"),
    ({"update_steps": 2.5}, TypeError, "update_steps must be an int"),
    ({"balance_from_gold": "yes"}, TypeError, "balance_from_gold must be True or False"),
    ({"seed": -3}, ValueError, "seed must be an int >= 0, got -3"),
])
def test_classifier_arguments_are_checked(kwargs, error, match):
    with pytest.raises(error, match=match):
        WeakTextClassifier(["a", "b"], [[0, -1], [1, 1]], **kwargs)
    with pytest.raises(TypeError, match="a single str"):
        WeakTextClassifier("ab", [[0], [1]])


def test_loop_batch_size_is_checked():
    model = WeakTextClassifier(["a b", "c d"], [[0, 1], [1, 1]], fit_steps=1)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        TeachLoop(model, batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        ReviewLoop(model, batch_size=1.5)


def test_training_leaves_torchs_random_state_alone():
    class WithDropout(torch.nn.Module):
        def __init__(self):
            super().__init__()
            from weaksup.models import HashedNgramClassifier

            self.inner = HashedNgramClassifier(2, n_features=64)
            self.drop = torch.nn.Dropout(0.5)

        def encode(self, texts):
            return self.inner.encode(texts)

        def forward(self, *encoded):
            return self.drop(self.inner(*encoded))

    texts, L = ["check out my channel", "great song", "subscribe", "nice"], [[1, -1], [-1, 0], [1, -1], [-1, 0]]
    state = torch.random.get_rng_state()
    first = WeakTextClassifier(texts, L, end_model=WithDropout(), fit_steps=5, seed=1).fit()
    assert torch.equal(torch.random.get_rng_state(), state)
    again = WeakTextClassifier(texts, L, end_model=WithDropout(), fit_steps=5, seed=1).fit()
    other = WeakTextClassifier(texts, L, end_model=WithDropout(), fit_steps=5, seed=2).fit()
    np.testing.assert_array_equal(first.predict_proba(), again.predict_proba())  # dropout drew the same numbers
    assert not np.array_equal(first.predict_proba(), other.predict_proba())


def test_balance_from_gold_refits_the_label_model():
    texts = ["check out my channel", "great song", "subscribe to me", "love this song", "my video", "nice"]
    L = [[1, -1, 1], [-1, 0, -1], [1, -1, -1], [-1, 0, 0], [1, -1, -1], [-1, -1, 0]]
    model = WeakTextClassifier(texts, L, label_names=["HAM", "SPAM"], fit_steps=5, update_steps=2,
                               balance_from_gold=True).fit()
    assert model.class_balance() is None and not model.sync_label_model()  # no gold yet: nothing to refit
    model.add_gold(5, 1)
    balance = model.class_balance()
    assert balance.shape == (2,) and balance.sum() == pytest.approx(1.0)
    assert model.sync_label_model() and not model.sync_label_model()  # refit once per change of the gold
    np.testing.assert_allclose(model.label_model.class_balance_.numpy(), balance)
    plain = WeakTextClassifier(texts, L, label_names=["HAM", "SPAM"], fit_steps=5).fit()
    plain.add_gold(5, 1)
    assert plain.class_balance() is None and not plain.sync_label_model()
    assert plain.targets()[5].tolist() == [0.0, 1.0]  # gold still replaces the item's label
