"""Tests of weaksup.spacy: labeling functions as components, weak_textcat, the
worked youtube example."""

import doctest
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

spacy = pytest.importorskip("spacy")

from spacy.language import Language  # noqa: E402
from spacy.tokens import DocBin, Span, SpanGroup  # noqa: E402
from spacy.training import Example  # noqa: E402
from spacy.util import minibatch  # noqa: E402

import weaksup.spacy as wspacy  # noqa: E402
from weaksup.spacy import (  # noqa: E402
    LabelingFunction,
    LabelingFunctionComponent,
    WeakTextCategorizer,
    get_vote,
    labeling_function,
    set_vote,
    votes_matrix,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "spacy_youtube"


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """The tensors here are tiny: one thread avoids oversubscribing shared CPUs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------
# toy labeling functions and data
# ---------------------------------------------------------------------------
@labeling_function("test_spacy_buy", labels=["SPAM"])
def lf_buy(doc):
    return "SPAM" if "buy" in doc.text else None


@labeling_function("test_spacy_click", labels=["SPAM"])
def lf_click(doc):
    return "SPAM" if "click" in doc.text else None


@labeling_function("test_spacy_nice", labels=["HAM"])
def lf_nice(doc):
    return "HAM" if "nice" in doc.text else None


@labeling_function("test_spacy_song", labels=["HAM"])
def lf_song(doc):
    return "HAM" if "song" in doc.text else None


@labeling_function  # bare: the factory is named after the function; no declared labels
def toy_weird(doc):
    return "OTHER" if "weird" in doc.text else None


LFS = ["test_spacy_buy", "test_spacy_click", "test_spacy_nice", "test_spacy_song", "toy_weird"]
SPAM_WORDS = ["buy", "click", "cheap", "offer", "free", "win"]
HAM_WORDS = ["nice", "song", "love", "voice", "great", "video"]
FILLER = ["the", "this", "a", "is", "so", "really", "my", "it", "here", "now"]


def toy_texts(n, seed, other=False):
    """Texts whose label shows in their words; LFs see a part of those words."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(0, 3 if other else 2))
        words = {0: HAM_WORDS, 1: SPAM_WORDS, 2: ["weird", "strange", "odd"]}[label]
        chosen = list(rng.choice(words, size=2)) + list(rng.choice(FILLER, size=3))
        rng.shuffle(chosen)
        texts.append(" ".join(chosen))
        labels.append(["HAM", "SPAM", "OTHER"][label])
    return texts, labels


def make_nlp(lf_pipes=LFS[:4], **config):
    nlp = spacy.blank("en")
    for name in lf_pipes:
        nlp.add_pipe(name)
    nlp.add_pipe("weak_textcat", name="textcat", config={"buffer_capacity": 512, "update_frequency": 16, **config})
    return nlp


def examples_of(nlp, texts, labels=None):
    out = []
    for i, text in enumerate(texts):
        ref = nlp.make_doc(text)
        if labels is not None:
            ref.cats = {label: float(label == labels[i]) for label in ("HAM", "SPAM")}
        out.append(Example(nlp.make_doc(text), ref))
    return out


def train(nlp, examples, epochs=6, annotates=None, optimizer=None, initialize=True):
    annotates = [n for n in nlp.pipe_names if n != "textcat"] if annotates is None else annotates
    if initialize:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the custom loop passes annotates= itself
            optimizer = nlp.initialize(lambda: examples)
    optimizer = optimizer or nlp.resume_training()
    losses = {}
    for _ in range(epochs):
        for batch in minibatch(examples, 16):
            nlp.update([Example(nlp.make_doc(eg.text), eg.reference) for eg in batch],
                       sgd=optimizer, annotates=annotates, losses=losses)
    return optimizer, losses


def accuracy(nlp, texts, labels):
    docs = list(nlp.pipe(texts))
    return float(np.mean([max(doc.cats, key=doc.cats.get) == y for doc, y in zip(docs, labels)]))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A weak_textcat trained on toy texts from four LFs (module-scoped: one training)."""
    nlp = make_nlp(LFS)
    texts, _ = toy_texts(300, seed=0)
    optimizer, losses = train(nlp, examples_of(nlp, texts))
    return nlp, optimizer, losses


# ---------------------------------------------------------------------------
# labeling functions as components
# ---------------------------------------------------------------------------
def test_lf_component_writes_its_vote_to_doc_spans():
    nlp = spacy.blank("en")
    nlp.add_pipe("test_spacy_buy")
    nlp.add_pipe("test_spacy_nice", name="nice_renamed")
    assert isinstance(nlp.get_pipe("test_spacy_buy"), LabelingFunctionComponent)
    doc = nlp("buy this now")
    group = doc.spans["test_spacy_buy"]
    assert len(group) == 1 and group[0].label_ == "SPAM" and (group[0].start, group[0].end) == (0, len(doc))
    assert len(doc.spans["nice_renamed"]) == 0  # abstain: an empty group, keyed by the component's name
    assert get_vote(doc, "test_spacy_buy") == "SPAM" and get_vote(doc, "nice_renamed") is None
    assert lf_buy(doc) == "SPAM"  # the decorated function still works on its own


def test_spacy_lfs_are_weaksups_labeling_functions():
    """One LF abstraction: the spaCy decorator returns weaksup.lf's LabelingFunction,
    which apply_lfs runs over docs like any plain-Python LF."""
    import weaksup.lf

    assert LabelingFunction is weaksup.lf.LabelingFunction
    assert isinstance(lf_buy, LabelingFunction) and lf_buy.name == "test_spacy_buy"
    nlp = spacy.blank("en")
    nlp.add_pipe("test_spacy_buy")
    assert nlp.get_pipe("test_spacy_buy").lf is not None
    docs = [nlp.make_doc(t) for t in ["buy a nice song", "click here", "nothing"]]
    votes = weaksup.lf.apply_lfs([lf_buy, lf_click, lf_nice], docs, labels=["HAM", "SPAM"], progress=False)
    assert votes.tolist() == [[1, -1, 0], [-1, 1, -1], [-1, -1, -1]]
    assert votes.lf_names == ["test_spacy_buy", "test_spacy_click", "test_spacy_nice"]
    # the components write the same votes
    for name in ("test_spacy_click", "test_spacy_nice"):
        nlp.add_pipe(name)
    voted = list(nlp.pipe(["buy a nice song", "click here", "nothing"]))
    np.testing.assert_array_equal(votes_matrix(voted, votes.lf_names, ["HAM", "SPAM"]), votes)


def test_lf_with_resources_and_pre_processors():
    @labeling_function("test_spacy_words", labels=["SPAM"], resources={"words": {"free", "win"}},
                       pre=[lambda doc: doc[:3]])
    def words(span, words):
        return "SPAM" if words & {t.lower_ for t in span} else None

    nlp = spacy.blank("en")
    nlp.add_pipe("test_spacy_words")
    assert get_vote(nlp("WIN a prize"), "test_spacy_words") == "SPAM"
    assert get_vote(nlp("you could also win"), "test_spacy_words") is None  # only the first three tokens are read

    @labeling_function("test_spacy_minus_one")
    def abstains(doc):
        return -1  # weaksup.lf.ABSTAIN: no vote, as for plain LFs

    nlp.add_pipe("test_spacy_minus_one")
    assert get_vote(nlp("x"), "test_spacy_minus_one") is None


def test_votes_survive_docbin():
    nlp = spacy.blank("en")
    for name in LFS[:4]:
        nlp.add_pipe(name)
    docs = list(nlp.pipe(["buy a nice song", "click here", "", "nothing at all"]))
    loaded = list(DocBin(docs=docs).from_bytes(DocBin(docs=docs).to_bytes()).get_docs(nlp.vocab))
    expected = votes_matrix(docs, LFS[:4], ["HAM", "SPAM"])
    np.testing.assert_array_equal(votes_matrix(loaded, LFS[:4], ["HAM", "SPAM"]), expected)
    np.testing.assert_array_equal(expected[:, :3], [[1, -1, 0], [-1, 1, -1], [-1, -1, -1], [-1, -1, -1]])
    assert expected.dtype == np.int64 and expected.shape == (4, 4)


def test_lf_bad_return_values_name_the_component():
    @labeling_function("test_spacy_returns_int")
    def returns_int(doc):
        return 1

    @labeling_function("test_spacy_undeclared", labels=["HAM"])
    def undeclared(doc):
        return "SPAM"

    nlp = spacy.blank("en")
    nlp.add_pipe("test_spacy_returns_int")
    with pytest.raises(TypeError, match=r"'test_spacy_returns_int' returned 1 \(int\).*None to abstain"):
        nlp("x")
    nlp = spacy.blank("en")
    nlp.add_pipe("test_spacy_undeclared")
    with pytest.raises(ValueError, match=r"'test_spacy_undeclared' returned 'SPAM'.*\['HAM'\]"):
        nlp("x")


def test_lf_names_must_be_unique():
    labeling_function("test_spacy_buy", labels=["SPAM"])(lf_buy)  # re-registering the same function is fine

    def other(doc):
        return None

    with pytest.raises(ValueError, match=r"'test_spacy_buy' is already registered.*another name"):
        labeling_function("test_spacy_buy")(other)
    with pytest.raises(ValueError, match=r"'textcat' is already the name of a spaCy component factory"):
        labeling_function("textcat")(other)
    with pytest.raises(TypeError, match="labels must be a list of label strings"):
        labeling_function("test_spacy_x", labels="SPAM")


def test_vote_readers_explain_missing_and_malformed_votes():
    nlp = spacy.blank("en")
    doc = nlp("hello there")
    with pytest.raises(KeyError, match=r"no vote of the labeling function 'lf_a'.*annotating_components"):
        get_vote(doc, "lf_a")
    doc.spans["lf_a"] = SpanGroup(doc, name="lf_a", spans=[Span(doc, 0, 1, "HAM"), Span(doc, 1, 2, "SPAM")])
    with pytest.raises(ValueError, match=r"holds 2 spans.*votes once per doc"):
        get_vote(doc, "lf_a")
    set_vote(doc, "lf_a", "MAYBE")
    with pytest.raises(ValueError, match=r"'lf_a' voted 'MAYBE'.*add_label\('MAYBE'\)"):
        votes_matrix([doc], ["lf_a"], ["HAM", "SPAM"])


# ---------------------------------------------------------------------------
# weak_textcat
# ---------------------------------------------------------------------------
def test_weak_textcat_learns_from_votes_alone(trained):
    nlp, _, losses = trained
    textcat = nlp.get_pipe("textcat")
    assert isinstance(textcat, WeakTextCategorizer)
    assert textcat.lfs == LFS and list(textcat.labels) == ["HAM", "SPAM"]  # labels from the LFs
    assert losses["textcat"] > 0
    module = textcat.loss.module
    assert module.fitted and int(module.items_seen) == 6 * 300
    texts, labels = toy_texts(200, seed=1)
    # the words the LFs never see (cheap, offer, love, ...) are learned from the co-occurrences
    assert accuracy(nlp, texts, labels) >= 0.95
    hidden = [(t, y) for t, y in zip(texts, labels) if not any(w in t for w in ("buy", "click", "nice", "song"))]
    assert len(hidden) > 20
    assert accuracy(nlp, *zip(*hidden)) >= 0.85


def test_weak_textcat_predicts_without_the_lfs(trained, tmp_path):
    nlp, _, _ = trained
    nlp.to_disk(tmp_path / "pipeline")
    clf = spacy.load(tmp_path / "pipeline", exclude=LFS)
    assert clf.pipe_names == ["textcat"]
    texts, labels = toy_texts(50, seed=2)
    assert accuracy(clf, texts, labels) == accuracy(nlp, texts, labels)


def test_save_load_round_trip_keeps_weights_and_label_model(trained, tmp_path):
    nlp, _, _ = trained
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "textcat" / "label_model").exists()
    loaded = spacy.load(tmp_path / "pipeline")
    texts, _ = toy_texts(30, seed=3)
    for a, b in zip(nlp.pipe(texts), loaded.pipe(texts)):
        assert a.cats == pytest.approx(b.cats, abs=1e-6)
    before = nlp.get_pipe("textcat").loss.module
    after = loaded.get_pipe("textcat")
    assert after.cfg["lfs"] == LFS
    assert after._ensure_loss().module.statistics.equal(before.statistics)
    assert int(after.loss.module.items_seen) == int(before.items_seen)
    # bytes too, and training goes on after loading (no initialize)
    again = spacy.blank("en")
    for name in LFS:
        again.add_pipe(name)
    again.add_pipe("weak_textcat", name="textcat").from_bytes(nlp.get_pipe("textcat").to_bytes())
    assert again.get_pipe("textcat").labels == nlp.get_pipe("textcat").labels
    train(loaded, examples_of(loaded, texts), epochs=1, initialize=False)
    assert int(loaded.get_pipe("textcat").loss.module.items_seen) == int(before.items_seen) + 30


def test_add_label_to_a_trained_pipeline(tmp_path):
    nlp = make_nlp(LFS)
    texts, _ = toy_texts(200, seed=4)
    optimizer, _ = train(nlp, examples_of(nlp, texts), epochs=4)
    textcat = nlp.get_pipe("textcat")
    old = toy_texts(40, seed=5)
    before = [d.cats["SPAM"] / d.cats["HAM"] for d in nlp.pipe(old[0])]
    seen = int(textcat.loss.module.items_seen)
    # an LF voting a label the component does not know: a clear error
    weird = examples_of(nlp, ["so weird and strange"])
    with pytest.raises(ValueError, match=r"'toy_weird' voted 'OTHER'.*'textcat'.*add_label\('OTHER'\)"):
        nlp.update(weird, sgd=optimizer, annotates=LFS)
    assert textcat.add_label("OTHER") == 1
    assert list(textcat.labels) == ["HAM", "SPAM", "OTHER"]
    module = textcat.loss.module
    assert module.num_classes == 3
    # the loss's own add_class: the buffered votes are kept and no item is counted again
    assert int(module.items_seen) == seen and int(module.statistics.n_items) == min(seen, 512)
    after = [d.cats["SPAM"] / d.cats["HAM"] for d in nlp.pipe(old[0])]
    np.testing.assert_allclose(after, before, rtol=1e-4)  # the old classes keep their odds
    texts3, labels3 = toy_texts(300, seed=6, other=True)
    train(nlp, examples_of(nlp, texts3), epochs=6, optimizer=optimizer, initialize=False)
    test3, y3 = toy_texts(150, seed=7, other=True)
    assert accuracy(nlp, test3, y3) >= 0.9
    nlp.to_disk(tmp_path / "p3")
    loaded = spacy.load(tmp_path / "p3")
    assert list(loaded.get_pipe("textcat").labels) == ["HAM", "SPAM", "OTHER"]
    assert accuracy(loaded, test3, y3) == accuracy(nlp, test3, y3)


def test_add_label_after_loading_keeps_the_saved_label_model(trained, tmp_path):
    nlp, _, _ = trained
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    textcat = loaded.get_pipe("textcat")
    seen = int(nlp.get_pipe("textcat").loss.module.items_seen)
    textcat.add_label("OTHER")
    assert textcat.loss.module.num_classes == 3
    assert int(textcat.loss.module.items_seen) == seen  # the saved state, migrated to 3 classes
    assert int(textcat.loss.module.statistics.n_items) == 512  # with the saved buffer's votes


def test_add_label_with_a_class_balance_needs_one_more_entry():
    nlp = make_nlp(LFS, class_balance=[0.5, 0.5])
    texts, _ = toy_texts(60, seed=9)
    train(nlp, examples_of(nlp, texts), epochs=1)
    textcat = nlp.get_pipe("textcat")
    with pytest.raises(ValueError, match=r"class_balance of 2 entries, and a new label needs 3.*before add_label"):
        textcat.add_label("OTHER")
    assert list(textcat.labels) == ["HAM", "SPAM"] and textcat.loss.module.num_classes == 2  # nothing changed
    textcat.cfg["class_balance"] = [0.4, 0.4, float("nan")]
    with pytest.raises(ValueError, match="class_balance"):
        textcat.add_label("OTHER")
    assert list(textcat.labels) == ["HAM", "SPAM"]
    textcat.cfg["class_balance"] = [0.4, 0.4, 0.2]
    assert textcat.add_label("OTHER") == 1 and textcat.add_label("OTHER") == 0
    assert textcat.loss.module.num_classes == 3


def test_errors_name_the_component_and_the_fix():
    texts, _ = toy_texts(20, seed=8)
    # a pipeline (config) without LF components
    nlp = spacy.blank("en")
    nlp.add_pipe("weak_textcat")
    with pytest.raises(ValueError, match=r"'weak_textcat'.*no labeling-function component before it.*add_pipe"):
        nlp.initialize(lambda: examples_of(nlp, texts))
    # an LF named in the config but missing from the pipeline
    nlp = make_nlp(["test_spacy_buy"], lfs=["test_spacy_buy", "test_spacy_nice"])
    with pytest.raises(ValueError, match=r"'test_spacy_nice', which is not in the pipeline"):
        nlp.initialize(lambda: examples_of(nlp, texts))
    # an LF after the classifier
    nlp = make_nlp(["test_spacy_buy"], lfs=["test_spacy_buy", "test_spacy_nice"])
    nlp.add_pipe("test_spacy_nice")
    with pytest.raises(ValueError, match=r"'test_spacy_nice' comes after 'textcat'"):
        nlp.initialize(lambda: examples_of(nlp, texts))
    # fewer than two labels
    nlp = make_nlp(["test_spacy_buy"])
    with pytest.raises(ValueError, match=r"needs at least 2 labels.*labels=\[\.\.\.\]"):
        nlp.initialize(lambda: examples_of(nlp, texts))
    # LFs not annotating: a warning at initialize, an error at the first update
    nlp = make_nlp(LFS[:4])
    with pytest.warns(UserWarning, match=r"not in \[training\] annotating_components.*annotating_components = \["):
        optimizer = nlp.initialize(lambda: examples_of(nlp, texts))
    with pytest.raises(ValueError, match=r"'textcat'.*no vote of the labeling function 'test_spacy_buy'.*annotates="):
        nlp.update(examples_of(nlp, texts), sgd=optimizer)
    # a doc whose vote group was tampered with: one vote per LF
    doc = nlp.make_doc("buy it")
    for name in LFS[:4]:
        set_vote(doc, name, None)
    doc.spans["test_spacy_buy"] = SpanGroup(doc, name="test_spacy_buy", spans=[Span(doc, 0, 1, "SPAM"), Span(doc, 1, 2, "SPAM")])
    with pytest.raises(ValueError, match="holds 2 spans"):
        nlp.update([Example(doc, nlp.make_doc("buy it"))], sgd=optimizer)


def test_votes_stored_on_the_corpus_are_used():
    """Docs that carry votes already (a DocBin saved after the LFs ran) train
    without annotating components."""
    voter = spacy.blank("en")
    for name in LFS[:4]:
        voter.add_pipe(name)
    texts, _ = toy_texts(120, seed=9)
    voted = list(voter.pipe(texts))
    nlp = make_nlp(LFS[:4])
    examples = [Example(nlp.make_doc(d.text), d) for d in voted]
    optimizer = nlp.initialize(lambda: examples)
    nlp.update(examples, sgd=optimizer)  # votes read from eg.reference
    assert int(nlp.get_pipe("textcat").loss.module.items_seen) == 120


def test_factory_is_the_entry_point_target():
    from spacy import registry

    assert registry.factories.get(Language.get_factory_name("weak_textcat")) is wspacy.make_weak_textcat
    from importlib.metadata import entry_points

    for ep in entry_points(group="spacy_factories"):
        if ep.value.startswith("weaksup."):
            assert ep.load() is registry.factories.get(Language.get_factory_name(ep.name))


def test_module_doctests():
    import importlib
    import pkgutil

    import weaksup.thinc

    attempted = 0
    for package in (wspacy, weaksup.thinc):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            result = doctest.testmod(importlib.import_module(info.name))
            assert result.failed == 0, info.name
            attempted += result.attempted
    assert attempted > 0


def test_missing_spacy_names_the_extra():
    code = "import sys; sys.modules['spacy'] = None\nimport weaksup.spacy"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "pip install weaksup[spacy]" in out.stderr


# ---------------------------------------------------------------------------
# the worked example: spacy train on youtube, LFs as annotating components
# ---------------------------------------------------------------------------
def test_youtube_example_beats_the_label_model(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("OMP_NUM_THREADS", "1")
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(EXAMPLE / "run.py"), "--output", str(tmp_path), "--max-steps", "300"],
        cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    spacy_acc = results["spacy_pipeline"]
    label_models = results["label_models"]
    assert set(label_models) >= {"MulticlassLabelModel", "LabelModel", "MajorityVote"}
    # trained from the labeling functions only, it scores at least the label models' accuracy
    assert spacy_acc >= max(label_models.values()), results
    assert spacy_acc >= 0.85
    assert (tmp_path / "model" / "model-last" / "textcat" / "label_model").exists()
    assert time.perf_counter() - start < 300
