"""MLP: the paper's Figure 6 network, with each normalization in the right place and torch's semantics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lnviz.nn.models import INITIAL_STATE_SCALE, MLP, NORMS, STATE_NOISE, SequenceClassifier, SequenceRegressor
from lnviz.nn.norms import BatchNorm, LayerNorm

NORM_TYPES = {"none": None, "batch": BatchNorm, "layer": LayerNorm}


@pytest.mark.parametrize("norm", NORMS)
def test_output_shape(norm):
    model = MLP(in_features=20, hidden=(16, 8), out_features=5, norm=norm)
    assert model(torch.randn(7, 20)).shape == (7, 5)


@pytest.mark.parametrize("norm", NORMS)
def test_one_norm_layer_per_hidden_layer_between_linear_and_relu(norm):
    hidden = (16, 8, 12)
    model = MLP(in_features=20, hidden=hidden, out_features=5, norm=norm)
    layers = list(model.layers)
    norms = [m for m in layers if isinstance(m, (BatchNorm, LayerNorm))]
    if norm == "none":
        assert norms == []
        return
    assert [type(m) for m in norms] == [NORM_TYPES[norm]] * len(hidden)
    for m, size in zip(norms, hidden):
        i = layers.index(m)
        assert isinstance(layers[i - 1], nn.Linear) and layers[i - 1].out_features == size
        assert isinstance(layers[i + 1], nn.ReLU)
    # the readout layer is not normalized (paper, section 6.7)
    assert isinstance(layers[-1], nn.Linear) and layers[-1].out_features == 5


def _torch_twin(model: MLP) -> nn.Sequential:
    """The same architecture from torch's own modules."""
    twins = {BatchNorm: lambda m: nn.BatchNorm1d(m.num_features), LayerNorm: lambda m: nn.LayerNorm(m.normalized_shape)}
    layers = []
    for m in model.layers:
        if isinstance(m, nn.Linear):
            layers.append(nn.Linear(m.in_features, m.out_features, bias=m.bias is not None))
        elif type(m) in twins:
            layers.append(twins[type(m)](m))
        else:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("training", [True, False])
def test_equals_torch_modules_with_the_same_state(norm, training):
    torch.manual_seed(0)
    model = MLP(in_features=12, hidden=(10, 6), out_features=3, norm=norm).double()
    twin = _torch_twin(model).double()
    twin.load_state_dict(model.layers.state_dict())
    model.train(training)
    twin.train(training)
    x = torch.randn(9, 12, dtype=torch.float64)
    torch.testing.assert_close(model(x), twin(x))
    # batch norm's running statistics moved the same way
    torch.testing.assert_close(model.layers.state_dict(), twin.state_dict())


def _normalized_inputs(model: MLP, x: torch.Tensor) -> torch.Tensor:
    """What the first ReLU receives."""
    seen = []
    relu = next(m for m in model.layers if isinstance(m, nn.ReLU))
    handle = relu.register_forward_hook(lambda mod, args, out: seen.append(args[0].detach()))
    model(x)
    handle.remove()
    return seen[0]


def test_layer_norm_normalizes_each_case_over_its_units():
    torch.manual_seed(0)
    a = _normalized_inputs(MLP(in_features=30, hidden=(64,), norm="layer"), 5 * torch.randn(8, 30) + 3)
    torch.testing.assert_close(a.mean(dim=1), torch.zeros(8), atol=1e-5, rtol=0)
    torch.testing.assert_close(a.std(dim=1, unbiased=False), torch.ones(8), atol=1e-3, rtol=0)
    assert a.mean(dim=0).abs().max() > 0.05  # not normalized per unit


def test_batch_norm_normalizes_each_unit_over_the_batch():
    torch.manual_seed(0)
    a = _normalized_inputs(MLP(in_features=30, hidden=(64,), norm="batch"), 5 * torch.randn(32, 30) + 3)
    torch.testing.assert_close(a.mean(dim=0), torch.zeros(64), atol=1e-5, rtol=0)
    torch.testing.assert_close(a.std(dim=0, unbiased=False), torch.ones(64), atol=1e-3, rtol=0)
    assert a.mean(dim=1).abs().max() > 0.05  # not normalized per case


def test_hidden_linear_layers_have_a_bias_only_without_normalization():
    for norm in NORMS:
        linears = [m for m in MLP(hidden=(8, 8), norm=norm).layers if isinstance(m, nn.Linear)]
        assert all((m.bias is not None) == (norm == "none") for m in linears[:-1])
        assert linears[-1].bias is not None


def test_layer_norm_trains_at_batch_size_one_and_each_case_is_independent():
    torch.manual_seed(0)
    model = MLP(in_features=10, hidden=(8,), out_features=3, norm="layer").train()
    x = torch.randn(5, 10)
    alone = model(x[2:3])
    alone.sum().backward()  # gradients flow at batch size one
    torch.testing.assert_close(alone, model(x)[2:3])


def test_batch_norm_refuses_batch_size_one_in_training_like_torch():
    model = MLP(in_features=10, hidden=(8,), out_features=3, norm="batch").train()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        model(torch.randn(1, 10))
    with pytest.raises(ValueError):
        nn.BatchNorm1d(8).train()(torch.randn(1, 8))
    assert model.eval()(torch.randn(1, 10)).shape == (1, 3)  # eval mode uses running statistics


def test_bad_norm_names_the_choices_and_the_value():
    with pytest.raises(ValueError, match=r"norm to be one of .*'layer'.*got 'group'"):
        MLP(norm="group")


@pytest.mark.parametrize("kwargs", [dict(in_features=0), dict(hidden=(8, -1)), dict(out_features=2.5)])
def test_bad_sizes_raise(kwargs):
    with pytest.raises(ValueError, match="positive int"):
        MLP(**kwargs)


def test_wrong_input_shape_says_what_was_expected():
    with pytest.raises(ValueError, match=r"\(batch, 784\), got \(4, 28, 28\)"):
        MLP()(torch.zeros(4, 28, 28))


def test_default_is_a_narrow_version_of_the_papers_network():
    model = MLP()
    linears = [m for m in model.layers if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 256), (256, 256), (256, 10)]


# ----------------------------------------------------------------------------------------------------
# The sequence models' initial state
# ----------------------------------------------------------------------------------------------------


def blank_then_digits(batch: int = 32, blank: int = 30, steps: int = 40, size: int = 4) -> torch.Tensor:
    """(batch, steps, size): `blank` steps of exact zeros (a digit's top rows), then pixels in [0, 1)."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, steps, size, generator=g)
    x[:, :blank] = 0
    return x


def gradient_norm(model: SequenceClassifier, x: torch.Tensor) -> float:
    y = torch.arange(len(x)) % model.readout.out_features
    torch.nn.functional.cross_entropy(model(x), y).backward()
    return torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None]).item()


@pytest.mark.parametrize("kind, norm", [("rnn", "layer"), ("rnn", "batch"), ("lstm", "batch")])
def test_blank_first_steps_blow_up_the_gradient_from_a_zero_state_but_not_from_the_default_one(kind, norm):
    """Eq. (4) with h_0 = 0 and x_t = 0: a = 0 in every unit and case, where the normalization's
    derivative is g / sqrt(eps) per step. The default initial state keeps a away from that corner."""
    x = blank_then_digits()
    zeros = dict(initial_state="zeros", state_noise=0.0)
    torch.manual_seed(0)
    before = gradient_norm(SequenceClassifier(kind, norm, 4, 32, 10, max_steps=40, **zeros), x)
    torch.manual_seed(0)
    after = gradient_norm(SequenceClassifier(kind, norm, 4, 32, 10, max_steps=40), x)
    assert not before < 1e6  # inf, NaN or astronomically large
    assert after < 1e3


def test_learned_initial_state_is_a_parameter_per_state_tensor_and_starts_away_from_zero():
    torch.manual_seed(0)
    lstm, rnn = SequenceClassifier("lstm", "layer", 3, 256, 2), SequenceClassifier("rnn", "layer", 3, 256, 2)
    names = {n for n, _ in lstm.named_parameters()}
    assert {"initial_h", "initial_c"} <= names and "initial_c" not in {n for n, _ in rnn.named_parameters()}
    assert lstm.initial_h.shape == lstm.initial_c.shape == (256,)
    std = lstm.initial_h.detach().std().item()
    assert INITIAL_STATE_SCALE / 2 < std < 2 * INITIAL_STATE_SCALE
    zero = SequenceClassifier("lstm", "layer", 3, 8, 2, initial_state="zeros")
    assert zero.initial_h is None and zero.initial_c is None
    assert not any("initial" in n for n, _ in zero.named_parameters())


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_state_noise_only_in_training_mode_and_the_learned_state_gets_a_gradient(kind):
    torch.manual_seed(0)
    model = SequenceClassifier(kind, "layer", 3, 8, 2, state_noise=STATE_NOISE)
    x = torch.randn(5, 4, 3)
    model.train()
    assert not torch.equal(model(x), model(x))  # fresh noise on every call
    h0 = model.start(100_000, x)
    h0 = h0[0] if kind == "lstm" else h0
    assert (h0 - model.initial_h).std().item() == pytest.approx(STATE_NOISE, rel=0.02)
    model.eval()
    torch.testing.assert_close(model(x), model(x))
    out = model(x)
    # in eval mode the state is exactly the learned one: the same as passing it by hand
    state = model.start(5, x)
    torch.testing.assert_close(out, model.readout(model.recurrent(x, state)[0][:, -1]))
    assert torch.equal(state[0] if kind == "lstm" else state, model.initial_h.expand(5, 8))
    model.train()
    model(x).sum().backward()
    assert model.initial_h.grad is not None and model.initial_h.grad.abs().sum() > 0
    quiet = SequenceClassifier(kind, "layer", 3, 8, 2, state_noise=0)
    torch.testing.assert_close(quiet(x), quiet(x))


def test_regressor_takes_the_same_initial_state_options():
    model = SequenceRegressor("lstm", "none", 2, 8, initial_state="zeros", state_noise=0.0)
    assert model.initial_h is None and model.state_noise == 0.0
    assert model(torch.randn(3, 5, 2)).shape == (3,)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(initial_state="random"), "initial_state to be one of"),
        (dict(state_noise=-0.1), "state_noise to be a number >= 0"),
        (dict(state_noise="0.1"), "state_noise to be a number >= 0"),
        (dict(state_noise=float("nan")), "state_noise to be a number >= 0"),
    ],
)
def test_bad_initial_state_options_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SequenceClassifier("rnn", "layer", 3, 8, 2, **kwargs)


def test_sequence_model_says_what_input_shape_it_expected():
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, time, input_size\)"):
        SequenceClassifier("rnn", "none", 3, 8, 2)(torch.randn(5, 3))
