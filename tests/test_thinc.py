"""Tests of weaksup.thinc: the Thinc losses and the PyTorch wrapper."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("thinc")

from thinc.api import Adam, Config, chain, noop, registry, set_dropout_rate  # noqa: E402

from conftest import synthetic_votes  # noqa: E402
from weaksup import nn as wnn  # noqa: E402
from weaksup import thinc as wthinc  # noqa: E402
from weaksup.thinc import FSCrossEntropyLoss, FSLoss, PyTorchWrapper, TorchModel  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

try:
    import cupy  # noqa: F401

    HAS_CUPY = True
except ImportError:
    HAS_CUPY = False
gpu = pytest.mark.skipif(not (HAS_CUPY and torch.cuda.is_available()), reason="needs cupy and a CUDA device")


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """The tensors here are tiny: one thread avoids oversubscribing shared CPUs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def multiclass_votes(n=200, m=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    right = rng.random((n, m)) < 0.75
    votes = np.where(right, y[:, None], rng.integers(0, k, (n, m)))
    votes[rng.random((n, m)) < 0.3] = -1
    return votes.astype(np.int64), y


# ---------------------------------------------------------------------------
# Losses: the same core as weaksup.nn, Thinc's conventions
# ---------------------------------------------------------------------------
def test_fsloss_gradient_is_the_torch_loss_gradient():
    L, _ = synthetic_votes(n=64, m=5, seed=1)
    p = np.random.default_rng(0).uniform(0.05, 0.95, (64, 1)).astype("f")
    thinc_loss = FSLoss(5, buffer_capacity=50, update_frequency=7)
    torch_loss = wnn.FSLoss(5, buffer_capacity=50, update_frequency=7)
    for rows in (slice(0, 20), slice(20, 45), slice(45, 64)):
        d, loss = thinc_loss(p[rows], L[rows])
        logits = torch.logit(torch.tensor(p[rows], dtype=torch.float64)).requires_grad_()
        expected = torch_loss(logits, torch.tensor(L[rows]))
        expected.backward()
        assert d.dtype == np.float32 and d.shape == p[rows].shape
        np.testing.assert_allclose(d, logits.grad.numpy(), atol=1e-6)
        assert loss == pytest.approx(float(expected.detach()), rel=1e-6)
    # the same online state: buffer and statistics advanced alike
    assert thinc_loss.module.statistics.equal(torch_loss.statistics)
    assert int(thinc_loss.module.items_seen) == 64
    # Thinc's convention: gradient w.r.t. the logits = (p - q) / n
    q = thinc_loss.module.last_targets.numpy()
    np.testing.assert_allclose(d, (p[45:64] - q) / 19, atol=1e-6)


def test_fs_cross_entropy_gradient_is_the_torch_loss_gradient():
    L, _ = multiclass_votes(n=60, m=5, k=3)
    p = np.random.default_rng(1).dirichlet(np.ones(3), 60).astype("f")
    thinc_loss = FSCrossEntropyLoss(5, 3, buffer_capacity=40, update_frequency=10)
    torch_loss = wnn.FSCrossEntropyLoss(5, 3, buffer_capacity=40, update_frequency=10)
    for rows in (slice(0, 30), slice(30, 60)):
        d, loss = thinc_loss(p[rows], L[rows])
        logits = torch.log(torch.tensor(p[rows], dtype=torch.float64)).requires_grad_()
        expected = torch_loss(logits, torch.tensor(L[rows]))
        expected.backward()
        np.testing.assert_allclose(d, logits.grad.numpy(), atol=1e-6)
        assert loss == pytest.approx(float(expected.detach()), rel=1e-6)
    q = thinc_loss.module.last_targets.numpy()
    np.testing.assert_allclose(d, (p[30:] - q) / 30, atol=1e-6)
    assert thinc_loss.module.statistics.equal(torch_loss.statistics)


def test_normalize_false_sums_and_from_logits():
    L, _ = multiclass_votes(n=10, m=4, k=2)
    p = np.random.default_rng(2).dirichlet(np.ones(2), 10).astype("f")
    mean = FSCrossEntropyLoss(4, 2, update_frequency=1)
    total = FSCrossEntropyLoss(4, 2, update_frequency=1, normalize=False)
    d_mean, l_mean = mean(p, L)
    d_sum, l_sum = total(p, L)
    np.testing.assert_allclose(d_sum, 10 * d_mean, rtol=1e-5, atol=1e-7)
    assert l_sum == pytest.approx(10 * l_mean)
    assert mean.normalize and not total.normalize
    logits = np.log(p)
    d_logits, l_logits = FSCrossEntropyLoss(4, 2, update_frequency=1, from_logits=True)(logits, L)
    np.testing.assert_allclose(d_logits, d_mean, atol=1e-6)
    assert l_logits == pytest.approx(l_mean, rel=1e-5)


def test_get_grad_and_get_loss_make_one_step():
    L, _ = synthetic_votes(n=8, m=4, seed=3)
    p = np.full((8, 1), 0.5, dtype="f")
    loss_fn = FSLoss(4, update_frequency=1)
    grad = loss_fn.get_grad(p, L)
    loss = loss_fn.get_loss(p, L)  # same objects: no second step
    assert int(loss_fn.module.items_seen) == 8
    d, l2 = loss_fn(p, L)
    assert int(loss_fn.module.items_seen) == 16
    assert grad.shape == d.shape and isinstance(loss, float) and isinstance(l2, float)
    loss_fn.get_loss(p.copy(), L)  # new objects: a new step
    assert int(loss_fn.module.items_seen) == 24


def test_loss_errors_say_what_was_expected():
    L, _ = synthetic_votes(n=6, m=4, seed=4)
    loss_fn = FSLoss(4)
    with pytest.raises(ValueError, match=r"probabilities P\(y = \+1\) in \[0, 1\].*from_logits=True"):
        loss_fn(np.array([[2.0]] * 6, dtype="f"), L)
    with pytest.raises(ValueError, match=r"one row per item.*\(5, 1\).*\(6, 4\)"):
        loss_fn(np.full((5, 1), 0.5, dtype="f"), L)
    with pytest.raises(ValueError, match=r"weak_labels must have shape \(n, m=4\)"):
        loss_fn(np.full((6, 1), 0.5, dtype="f"), L[:, :3])
    with pytest.raises(ValueError, match="FlyingSquid votes"):
        loss_fn(np.full((6, 1), 0.5, dtype="f"), L + 2)
    with pytest.raises(TypeError, match="float array"):
        loss_fn(np.ones((6, 1), dtype=np.int64), L)
    mc = FSCrossEntropyLoss(4, 3)
    with pytest.raises(ValueError, match=r"votes for class 3, but cardinality is 3"):
        mc(np.full((2, 3), 1 / 3, dtype="f"), np.array([[0, 1, 2, 3], [0, 0, 0, 0]]))
    with pytest.raises(ValueError, match=r"shape \(n, k\)"):
        mc(np.full((2,), 0.5, dtype="f"), np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="module must be one of weaksup.nn's online losses"):
        wthinc.OnlineLoss(torch.nn.ReLU())
    with pytest.raises(ValueError, match=r"normalize=True and reduction='sum' disagree"):
        FSLoss(4, normalize=True, reduction="sum")
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"):
        FSCrossEntropyLoss(4, 2, reduction="avg")


def test_reduction_none_gives_one_loss_per_item():
    """D14: ``weaksup.thinc.FSLoss(3, reduction="none")`` used to raise "got
    multiple values for keyword argument 'reduction'"."""
    votes = np.array([[1, 1, 0], [-1, -1, 1], [1, 0, 1], [0, 0, 0]])
    guesses = np.array([[0.9], [0.2], [0.5], [0.7]], dtype="f")
    per_item = FSLoss(3, reduction="none", update_frequency=1)
    summed = FSLoss(3, reduction="sum", update_frequency=1)
    d_none, loss_none = per_item(guesses, votes)
    d_sum, loss_sum = summed(guesses, votes)
    assert isinstance(loss_none, np.ndarray) and loss_none.shape[0] == 4 and loss_none.dtype == np.float32
    assert float(loss_none.sum()) == pytest.approx(loss_sum, rel=1e-5)
    np.testing.assert_allclose(d_none, d_sum, rtol=1e-5)  # each item's own gradient, not divided by n
    assert per_item.module.reduction == "none" and not per_item.normalize
    mc = FSCrossEntropyLoss(3, 2, reduction="none", normalize=False, update_frequency=1)
    d, loss = mc(np.array([[0.9, 0.1], [0.2, 0.8]], dtype="f"), np.array([[0, 0, -1], [1, 1, 0]]))
    assert d.shape == (2, 2) and loss.shape == (2,)
    assert registry.resolve(Config().from_str(
        '[loss]\n@losses = "weaksup.FSLoss.v1"\nm = 3\nreduction = "none"'))["loss"].module.reduction == "none"


def test_losses_resolve_from_a_config():
    cfg = Config().from_str(
        """
        [binary]
        @losses = "weaksup.FSLoss.v1"
        m = 4
        buffer_capacity = 32
        update_frequency = 4

        [multi]
        @losses = "weaksup.FSCrossEntropyLoss.v1"
        m = 4
        num_classes = 3
        class_balance = [0.2, 0.3, 0.5]
        normalize = false
        """
    )
    resolved = registry.resolve(cfg)
    assert isinstance(resolved["binary"], FSLoss) and resolved["binary"].module.buffer_capacity == 32
    assert isinstance(resolved["multi"], FSCrossEntropyLoss) and not resolved["multi"].normalize
    assert resolved["multi"].module.num_classes == 3


def test_registry_names_and_entry_point_targets():
    # the entry points proposed for pyproject.toml point at these objects
    assert registry.losses.get("weaksup.FSLoss.v1") is wthinc.configure_FSLoss_v1
    assert registry.losses.get("weaksup.FSCrossEntropyLoss.v1") is wthinc.configure_FSCrossEntropyLoss_v1
    assert registry.layers.get("weaksup.PyTorchWrapper.v1") is wthinc.PyTorchWrapper
    from importlib.metadata import entry_points

    for group in ("thinc_losses", "thinc_layers"):
        for ep in entry_points(group=group):
            if ep.value.startswith("weaksup."):
                assert ep.load() is getattr(registry, group.split("_")[1]).get(ep.name)


# ---------------------------------------------------------------------------
# The PyTorch wrapper
# ---------------------------------------------------------------------------
def mlp(n_in=4, hidden=8, n_out=3, dropout=0.0):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Dropout(dropout), torch.nn.Linear(hidden, n_out)
    )


@pytest.fixture
def X():
    return np.random.default_rng(0).random((6, 4)).astype("f")


def train_steps(model, X, optimizer, steps=5):
    for _ in range(steps):
        Y, backprop = model.begin_update(X)
        backprop(Y - 1.0)
        model.finish_update(optimizer)


def test_forward_backprop_and_predict(X):
    model = PyTorchWrapper(mlp())
    assert isinstance(model, TorchModel)
    Y, backprop = model(X, is_train=True)
    dX = backprop(np.ones_like(Y))
    assert Y.shape == (6, 3) and dX.shape == X.shape and isinstance(Y, np.ndarray)
    assert model.get_dim("nI") == 4 and model.get_dim("nO") == 3
    np.testing.assert_allclose(model.predict(X), Y, atol=1e-6)


def test_integer_inputs_need_no_gradient():
    torch.manual_seed(0)
    embed = PyTorchWrapper(torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Flatten(), torch.nn.Linear(8, 2)))
    ids = np.array([[1, 2], [3, 4]], dtype=np.int64)
    Y, backprop = embed.begin_update(ids)
    assert Y.shape == (2, 2)
    assert backprop(np.ones_like(Y)) is None  # no gradient for integer inputs
    embed.finish_update(Adam(0.01))


def test_dropout_rate_is_set_by_the_caller(X):
    model = PyTorchWrapper(mlp(dropout=0.0))
    dropout = model.torch_module[2]
    set_dropout_rate(model, 0.5)
    model(X, is_train=True)
    assert dropout.p == 0.5
    a, _ = model(X, is_train=True)
    b, _ = model(X, is_train=True)
    assert not np.allclose(a, b)  # dropout is active in training
    np.testing.assert_allclose(model.predict(X), model.predict(X))  # and off in prediction
    set_dropout_rate(model, 0.0)
    c, _ = model(X, is_train=True)
    np.testing.assert_allclose(c, model.predict(X), atol=1e-6)
    assert PyTorchWrapper(mlp(dropout=0.3)).attrs["dropout_rate"] is None  # None keeps the module's own
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\) or None, got 1.5"):
        PyTorchWrapper(mlp(), dropout=1.5)


def test_use_params_evaluates_with_the_averages_and_restores(X):
    model = PyTorchWrapper(mlp())
    optimizer = Adam(0.05, use_averages=True)
    train_steps(model, X, optimizer)
    shim = model.shims[0]
    names = [name for name, _ in model.torch_module.named_parameters()]
    assert all((shim.id, name) in optimizer.averages for name in names)
    trained = {k: v.detach().clone() for k, v in model.torch_module.state_dict().items()}
    y_trained = model.predict(X)
    with model.use_params(optimizer.averages):
        inside = {k: v.detach().clone() for k, v in model.torch_module.state_dict().items()}
        y_inside = model.predict(X)
    for name in names:
        average = optimizer.averages[(shim.id, name)]
        np.testing.assert_allclose(inside[name].numpy(), average, atol=1e-7)
        assert not torch.equal(inside[name], trained[name])  # the weights really changed
        assert torch.equal(model.torch_module.state_dict()[name], trained[name])  # and came back
    assert not np.allclose(y_inside, y_trained)
    np.testing.assert_array_equal(model.predict(X), y_trained)
    # training goes on with the training weights after the block
    train_steps(model, X, optimizer, steps=1)


def test_use_params_restores_after_an_error_and_nested_models(X):
    inner = PyTorchWrapper(mlp())
    model = chain(noop(), inner)
    optimizer = Adam(0.05, use_averages=True)
    train_steps(model, X, optimizer)
    before = model.predict(X)
    with pytest.raises(RuntimeError, match="boom"):
        with model.use_params(optimizer.averages):
            assert not np.allclose(model.predict(X), before)
            raise RuntimeError("boom")
    np.testing.assert_array_equal(model.predict(X), before)


def test_resize_output_grows_with_zeros_and_shrinks(X):
    model = PyTorchWrapper(mlp())
    before = model.predict(X)
    assert model.resize_output(5) is model
    grown = model.predict(X)
    assert grown.shape == (6, 5) and model.get_dim("nO") == 5
    np.testing.assert_allclose(grown[:, :3], before, atol=1e-6)
    np.testing.assert_array_equal(grown[:, 3:], 0.0)  # new neurons start at zero
    model.resize_output(2)
    np.testing.assert_allclose(model.predict(X), before[:, :2], atol=1e-6)  # the last ones dropped
    # spaCy's convention: attrs["resize_output"](model, n)
    assert model.attrs["resize_output"](model, 4).predict(X).shape == (6, 4)


def test_resize_input_adds_a_feature_the_model_ignores_until_trained(X):
    model = PyTorchWrapper(mlp())
    before = model.predict(X)
    model.resize_input(6)
    X6 = np.hstack([X, np.random.default_rng(1).random((6, 2)).astype("f")])
    np.testing.assert_allclose(model.predict(X6), before, atol=1e-6)
    assert model.get_dim("nI") == 6
    model.resize_input(3)
    assert model.predict(X[:, :3]).shape == (6, 3)


def test_training_continues_after_a_resize(X):
    model = PyTorchWrapper(mlp())
    optimizer = Adam(0.05, use_averages=True)
    train_steps(model, X, optimizer)
    old_id = model.shims[0].id
    model.resize_output(4)
    assert model.shims[0].id != old_id  # fresh optimizer state: no stale moments of the old shape
    train_steps(model, X, optimizer)
    with model.use_params(optimizer.averages):
        assert model.predict(X).shape == (6, 4)
    assert model.torch_module[3].weight.grad is not None


def test_resize_errors_name_the_problem():
    with pytest.raises(ValueError, match="has no torch.nn.Linear"):
        PyTorchWrapper(torch.nn.ReLU()).resize_output(3)
    model = PyTorchWrapper(mlp())
    with pytest.raises(ValueError, match=r"new_size must be an int >= 1, got 0"):
        model.resize_output(0)
    with pytest.raises(TypeError, match="new_size must be an int"):
        model.resize_input(2.5)
    with pytest.raises(ValueError, match=r"layer 'nope' is not a torch.nn.Linear.*'0', '3'"):
        model.resize_output(2, layer="nope")
    model.resize_output(7, layer="0")  # a named hidden layer
    assert model.torch_module[0].out_features == 7 and model.get_dim("nO") == 3


def test_a_bare_linear_layer_resizes():
    model = PyTorchWrapper(torch.nn.Linear(3, 2))
    model.resize_output(3).resize_input(4)
    assert isinstance(model.torch_module, torch.nn.Linear)
    assert tuple(model.torch_module.weight.shape) == (3, 4)


def hashed_inputs(model, texts):
    """HashedNgramClassifier's (indices, offsets, weights) as numpy arrays, for Thinc."""
    return tuple(t.numpy() for t in model.encode(texts))


def test_resize_output_of_the_hashed_ngram_classifier():
    from weaksup.models import HashedNgramClassifier

    module = HashedNgramClassifier(2, n_features=256)
    texts = ["check out my channel", "great song", ""]
    model = PyTorchWrapper(module)
    assert model.get_dim("nO") == 2 and model.maybe_get_dim("nI") is None  # no Linear input layer
    Y, backprop = model.begin_update(hashed_inputs(module, texts))
    backprop(Y - np.array([[0.0, 1.0]] * 3, dtype="f"))
    model.finish_update(Adam(0.5))
    before = model.predict(hashed_inputs(module, texts))
    assert not np.allclose(before, 0)
    model.resize_output(3)  # a third class: the EmbeddingBag gets a zero column
    grown = model.predict(hashed_inputs(module, texts))
    assert grown.shape == (3, 3) and model.get_dim("nO") == 3
    np.testing.assert_allclose(grown[:, :2], before, atol=1e-6)
    np.testing.assert_array_equal(grown[:, 2], 0.0)
    assert model.torch_module.cardinality == 3 and model.torch_module.bag.mode == "sum"
    # it trains on, and a rebuilt two-class model loads the three-class parameters
    Y, backprop = model.begin_update(hashed_inputs(module, texts))
    backprop(Y - np.eye(3, dtype="f"))
    model.finish_update(Adam(0.5))
    rebuilt = PyTorchWrapper(HashedNgramClassifier(2, n_features=256)).from_bytes(model.to_bytes())
    np.testing.assert_allclose(rebuilt.predict(hashed_inputs(module, texts)),
                               model.predict(hashed_inputs(module, texts)), atol=1e-6)


class EmbedThenClassify(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.EmbeddingBag(20, 4, mode="mean")
        self.head = torch.nn.Linear(4, 3)

    def forward(self, ids, offsets):
        return self.head(self.embed(ids, offsets))


def test_resize_output_finds_the_last_layer_or_the_named_one():
    ids, offsets = np.array([1, 2, 3, 4]), np.array([0, 2])
    model = PyTorchWrapper(EmbedThenClassify())
    assert model.get_dim("nO") == 3 and model.get_dim("nI") == 4
    model.resize_output(5)  # the last resizable layer: the Linear head
    assert model.torch_module.head.out_features == 5 and model.predict((ids, offsets)).shape == (2, 5)
    with pytest.raises(RuntimeError):  # widening the embedding alone breaks the head: the caller's choice
        model.resize_output(6, layer=model.torch_module.embed).predict((ids, offsets))
    assert model.get_dim("nO") == 5  # a hidden layer is not the output layer
    with pytest.raises(ValueError, match=r"layer ReLU object is not a torch.nn.Linear or torch.nn.EmbeddingBag"):
        model.resize_output(3, layer=torch.nn.ReLU())


def test_output_layer_given_at_wrap_time():
    class TwoHeads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.classes = torch.nn.Linear(4, 2)
            self.aux = torch.nn.Linear(4, 1)

        def forward(self, x):
            return self.classes(x)

    model = PyTorchWrapper(TwoHeads(), output_layer="classes")
    assert model.get_dim("nO") == 2
    model.resize_output(3)
    assert model.torch_module.classes.out_features == 3 and model.torch_module.aux.out_features == 1
    assert model.attrs["resize_output"](model, 4).get_dim("nO") == 4  # spaCy's path uses it too
    with pytest.raises(ValueError, match=r"layer 'head' is not a torch.nn.Linear or torch.nn.EmbeddingBag.*'classes', 'aux'"):
        PyTorchWrapper(TwoHeads(), output_layer="head")
    with pytest.raises(TypeError, match="output_layer must be a layer name"):
        PyTorchWrapper(TwoHeads(), output_layer=3)


def test_set_dim_resizes_unless_forced(X):
    model = PyTorchWrapper(mlp())
    model.set_dim("nO", 5)  # without force the module follows the dim: no disagreement possible
    assert model.torch_module[3].out_features == 5 and model.predict(X).shape == (6, 5)
    model.set_dim("nO", 7, force=True)  # force records the value only, as Thinc's Model.set_dim
    assert model.get_dim("nO") == 7 and model.torch_module[3].out_features == 5
    model.set_dim("nI", 6)
    assert model.torch_module[0].in_features == 6


def test_bytes_and_disk_round_trip_parameters_only(X, tmp_path):
    model = PyTorchWrapper(mlp())
    train_steps(model, X, Adam(0.05))
    expected = model.predict(X)
    fresh = PyTorchWrapper(mlp(hidden=8)).from_bytes(model.to_bytes())
    np.testing.assert_allclose(fresh.predict(X), expected, atol=1e-6)
    model.to_disk(tmp_path / "model")
    again = PyTorchWrapper(mlp()).from_disk(tmp_path / "model")
    np.testing.assert_allclose(again.predict(X), expected, atol=1e-6)
    # a resized model loads into a model rebuilt with the original architecture
    model.resize_output(5)
    grown = model.predict(X)
    rebuilt = PyTorchWrapper(mlp()).from_bytes(model.to_bytes())
    np.testing.assert_allclose(rebuilt.predict(X), grown, atol=1e-6)
    assert rebuilt.get_dim("nO") == 5
    # inside a larger Thinc model too
    outer = chain(noop(), PyTorchWrapper(mlp()))
    outer.layers[1].resize_output(4)
    chain(noop(), PyTorchWrapper(mlp())).from_bytes(outer.to_bytes())
    with pytest.raises(ValueError, match="rebuild the model with the architecture it was saved from"):
        PyTorchWrapper(torch.nn.Sequential(torch.nn.Linear(4, 3))).from_bytes(model.to_bytes())


class WithExtraState(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)
        self.note = {"anything": object}

    def forward(self, x):
        return self.linear(x)

    def get_extra_state(self):
        return self.note

    def set_extra_state(self, state):
        self.note = state


def test_non_tensor_extra_state_does_not_break_loading(X):
    model = PyTorchWrapper(WithExtraState())
    expected = model.predict(X)
    loaded = PyTorchWrapper(WithExtraState()).from_bytes(model.to_bytes())  # weights_only=True load
    np.testing.assert_allclose(loaded.predict(X), expected, atol=1e-6)


def test_copy_keeps_the_class(X):
    model = PyTorchWrapper(mlp())
    copied = model.copy()
    assert isinstance(copied, TorchModel) and copied.shims[0] is not model.shims[0]
    np.testing.assert_allclose(copied.predict(X), model.predict(X))
    copied.resize_output(4)
    assert model.predict(X).shape == (6, 3)


def test_to_cpu_and_gpu_errors():
    model = PyTorchWrapper(mlp())
    model.to_cpu()
    assert model.predict(np.zeros((1, 4), dtype="f")).shape == (1, 3)
    if not HAS_CUPY:
        with pytest.raises(ImportError, match=r"pip install weaksup\[gpu\]"):
            model.to_gpu(0)
    elif not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            model.to_gpu(0)


@gpu
def test_gpu_wrapper_and_loss_on_cupy(X):
    import cupy

    model = PyTorchWrapper(mlp())
    expected = model.predict(X)
    model.to_gpu(0)
    Xg = cupy.asarray(X)
    Y, backprop = model.begin_update(Xg)
    assert isinstance(Y, cupy.ndarray)
    assert isinstance(backprop(cupy.ones_like(Y)), cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(model.predict(Xg)), expected, atol=1e-5)
    model.to_cpu()
    np.testing.assert_allclose(model.predict(X), expected, atol=1e-5)
    L, _ = multiclass_votes(n=20, m=4, k=3)
    p = cupy.asarray(np.random.default_rng(0).dirichlet(np.ones(3), 20).astype("f"))
    d, loss = FSCrossEntropyLoss(4, 3)(p, cupy.asarray(L))
    assert isinstance(d, cupy.ndarray) and d.shape == (20, 3)
    d_cpu, loss_cpu = FSCrossEntropyLoss(4, 3)(cupy.asnumpy(p), L)
    np.testing.assert_allclose(cupy.asnumpy(d), d_cpu, atol=1e-6)
    assert loss == pytest.approx(loss_cpu, rel=1e-5)


# ---------------------------------------------------------------------------
# Lazy imports
# ---------------------------------------------------------------------------
def run_python(code):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_weaksup_does_not_import_thinc_or_spacy():
    out = run_python("import sys, weaksup; print(sorted(m for m in ('thinc', 'spacy') if m in sys.modules))")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_missing_thinc_names_the_extra():
    out = run_python("import sys; sys.modules['thinc'] = None\nimport weaksup.thinc")
    assert out.returncode != 0
    assert "ImportError" in out.stderr and "pip install weaksup[spacy]" in out.stderr
