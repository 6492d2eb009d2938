"""lnviz.nn.norms modules against their torch.nn counterparts: outputs, gradients, buffers, errors."""

import math

import pytest
import torch
from torch import nn
from torch.func import functional_call

from lnviz.nn import functional as LF
from lnviz.nn.norms import BatchNorm, LayerNorm, RMSNorm, WeightNormLinear

LOW_PRECISION = [torch.float16, torch.bfloat16]
FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def _randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _tol(dtype: torch.dtype) -> dict:
    return {
        torch.float16: {"rtol": 2e-3, "atol": 2e-3},
        torch.bfloat16: {"rtol": 1.6e-2, "atol": 1.6e-2},
        torch.float32: {"rtol": 1e-6, "atol": 1e-6},
        torch.float64: {"rtol": 1e-12, "atol": 1e-12},
    }[dtype]


def _loose_tol(dtype: torch.dtype) -> dict:
    """For float32 results that round differently for a sound reason: gradients (autograd of the
    equations vs torch's fused backward formulas) and batch statistics of a few values with an
    offset, where an ulp of the mean is a larger fraction of the std."""
    return {"rtol": 1e-4, "atol": 1e-5} if dtype == torch.float32 else _tol(dtype)


def _randomize_params(*modules: nn.Module, seed: int) -> None:
    """Give both modules the same random parameters, so that gain and bias are exercised."""
    gen = torch.Generator().manual_seed(seed)
    for params in zip(*(m.parameters() for m in modules)):
        values = torch.randn(params[0].shape, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            for p in params:
                p.copy_(values)


def _forward_backward(module: nn.Module, x: torch.Tensor, grad: torch.Tensor):
    """Output and gradients w.r.t. the input and every parameter, in parameter order."""
    x = x.detach().clone().requires_grad_()
    out = module(x)
    out.backward(grad)
    return out.detach(), x.grad, [p.grad for p in module.parameters()]


# ---------------------------------------------------------------- LayerNorm


@pytest.mark.parametrize(
    "shape,normalized_shape",
    [((4, 16), 16), ((2, 3, 8), (8,)), ((3, 4, 5), (4, 5)), ((2, 4, 5), [4, 5]), ((6,), 6)],
)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, True)])
def test_layer_norm_matches_torch(shape, normalized_shape, dtype, affine, bias):
    ours = LayerNorm(normalized_shape, elementwise_affine=affine, bias=bias, dtype=dtype)
    theirs = nn.LayerNorm(normalized_shape, elementwise_affine=affine, bias=bias, dtype=dtype)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    _randomize_params(ours, theirs, seed=1)
    x = _randn(*shape, seed=2, dtype=dtype) * 3 + 1
    grad = _randn(*shape, seed=3, dtype=dtype)
    out, x_grad, p_grads = _forward_backward(ours, x, grad)
    t_out, t_x_grad, t_p_grads = _forward_backward(theirs, x, grad)
    assert out.dtype == dtype
    torch.testing.assert_close(out, t_out, **_tol(dtype))
    torch.testing.assert_close(x_grad, t_x_grad, **_loose_tol(dtype))
    torch.testing.assert_close(p_grads, t_p_grads, **_loose_tol(dtype))


def test_layer_norm_init_and_repr_match_torch():
    ours, theirs = LayerNorm((3, 4), eps=1e-3, bias=False), nn.LayerNorm((3, 4), eps=1e-3, bias=False)
    assert ours.normalized_shape == theirs.normalized_shape == (3, 4)
    torch.testing.assert_close(ours.weight, torch.ones(3, 4), rtol=0, atol=0)
    assert ours.bias is None
    assert ours.extra_repr() == theirs.extra_repr()
    assert LayerNorm(8, elementwise_affine=False).extra_repr() == nn.LayerNorm(8, elementwise_affine=False).extra_repr()
    ours.load_state_dict(theirs.state_dict())  # same keys: a drop-in replacement


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_layer_norm_module_equals_teaching_formula(dtype):
    module = LayerNorm(32, dtype=dtype)
    _randomize_params(module, seed=4)
    x = _randn(5, 7, 32, seed=5, dtype=dtype) * 4 - 2
    expected = LF.layer_norm(x, 32, module.weight, module.bias, module.eps)
    torch.testing.assert_close(module(x), expected, **_tol(dtype))


@pytest.mark.parametrize("dtype", LOW_PRECISION)
def test_layer_norm_low_precision_against_float64_reference(dtype):
    # std 1000: squared deviations overflow float16, so statistics must accumulate in float32.
    module = LayerNorm(64, dtype=dtype)
    _randomize_params(module, seed=6)
    x = (_randn(8, 64, seed=7) * 1000).to(dtype)
    a = x.double()
    expected = (a - a.mean(-1, keepdim=True)) / torch.sqrt(a.var(-1, unbiased=False, keepdim=True) + 1e-5)
    expected = expected * module.weight.double() + module.bias.double()
    out = module(x)
    assert out.dtype == dtype
    torch.testing.assert_close(out.double(), expected, **_tol(dtype))


def test_layer_norm_constant_rows_and_large_offset():
    module = LayerNorm(128)
    _randomize_params(module, seed=8)
    constant = module(torch.full((2, 128), 3.25))
    torch.testing.assert_close(constant, module.bias.detach().expand(2, 128), **_tol(torch.float32))
    out = LayerNorm(128, eps=0.0)(_randn(64, 128, seed=9) + 1e4).double()
    assert out.mean(-1).abs().max() < 5e-3
    assert (out.var(-1, unbiased=False) - 1).abs().max() < 1e-3


def test_layer_norm_gradcheck_input_and_params():
    module = LayerNorm((2, 3), dtype=torch.float64)
    _randomize_params(module, seed=10)
    x = _randn(4, 2, 3, seed=11, dtype=torch.float64).requires_grad_()
    weight, bias = (p.detach().clone().requires_grad_() for p in (module.weight, module.bias))
    assert torch.autograd.gradcheck(
        lambda x, w, b: functional_call(module, {"weight": w, "bias": b}, (x,)), (x, weight, bias)
    )


@pytest.mark.parametrize(
    "make,x,match",
    [
        (
            lambda: LayerNorm(128),
            torch.randn(4, 64),
            r"LayerNorm expected input with trailing shape \(128,\), got input of shape \(4, 64\)",
        ),
        (
            lambda: LayerNorm((4, 5)),
            torch.randn(4, 5, 4),
            r"LayerNorm expected input with trailing shape \(4, 5\), got input of shape \(4, 5, 4\)",
        ),
        (
            lambda: LayerNorm((2, 8)),
            torch.randn(8),
            r"LayerNorm expected input with trailing shape \(2, 8\), got input of shape \(8,\)",
        ),
        (
            lambda: LayerNorm(8),
            torch.ones(2, 8, dtype=torch.long),
            r"LayerNorm expected a floating-point input, got dtype torch.int64",
        ),
        (
            lambda: LayerNorm(8, elementwise_affine=False),
            torch.ones(2, 8, dtype=torch.long),
            r"LayerNorm expected a floating-point input, got dtype torch.int64",
        ),
        (
            lambda: LayerNorm(8),
            torch.randn(2, 8, dtype=torch.float64),
            r"LayerNorm expected input of dtype torch.float32 \(its parameters' dtype\), "
            r"got input of dtype torch.float64",
        ),
    ],
)
def test_layer_norm_bad_input(make, x, match):
    with pytest.raises(ValueError, match=match):
        make()(x)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"normalized_shape": 0}, r"positive int .* got 0"),
        ({"normalized_shape": (4, -2)}, r"got \(4, -2\)"),
        ({"normalized_shape": 2.5}, r"got 2.5"),
        ({"normalized_shape": 8, "eps": -1e-5}, r"eps >= 0, got eps=-1e-05"),
    ],
)
def test_layer_norm_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LayerNorm(**kwargs)


# ---------------------------------------------------------------- BatchNorm


def _batches(shape, seed: int, dtype: torch.dtype, steps: int = 4):
    """Batches whose per-feature mean and scale differ, so the running statistics move."""
    channels = shape[1]
    extra = (1,) * (len(shape) - 2)
    scale = (torch.arange(1, channels + 1, dtype=torch.float64) / 2).view(1, channels, *extra)
    return [(_randn(*shape, seed=seed + i) * scale + 3 * i - 1).to(dtype) for i in range(steps)]


@pytest.mark.parametrize("shape", [(8, 5), (4, 5, 6), (1, 5, 3)])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_norm_train_then_eval_matches_torch(shape, momentum, dtype):
    ours = BatchNorm(5, momentum=momentum, dtype=dtype)
    theirs = nn.BatchNorm1d(5, momentum=momentum, dtype=dtype)
    _randomize_params(ours, theirs, seed=20)
    for step, x in enumerate(_batches(shape, seed=21, dtype=dtype), start=1):
        grad = _randn(*shape, seed=100 + step, dtype=dtype)
        out, x_grad, p_grads = _forward_backward(ours, x, grad)
        t_out, t_x_grad, t_p_grads = _forward_backward(theirs, x, grad)
        torch.testing.assert_close(out, t_out, **_loose_tol(dtype))
        torch.testing.assert_close(x_grad, t_x_grad, **_loose_tol(dtype))
        torch.testing.assert_close(p_grads, t_p_grads, **_loose_tol(dtype))
        ours.zero_grad()
        theirs.zero_grad()
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == step
        torch.testing.assert_close(ours.running_mean, theirs.running_mean, **_loose_tol(dtype))
        torch.testing.assert_close(ours.running_var, theirs.running_var, **_loose_tol(dtype))
    assert not torch.allclose(ours.running_mean, torch.zeros(5, dtype=dtype))
    ours.eval()
    theirs.eval()
    x = _randn(3, *shape[1:], seed=30, dtype=dtype)
    torch.testing.assert_close(ours(x), theirs(x), **_loose_tol(dtype))
    single = _randn(1, *shape[1:], seed=31, dtype=dtype)  # one case is fine at test time
    torch.testing.assert_close(ours(single), theirs(single), **_loose_tol(dtype))


def test_batch_norm_momentum_none_is_cumulative_average():
    module = BatchNorm(3, momentum=None, dtype=torch.float64)
    batches = _batches((6, 3), seed=40, dtype=torch.float64, steps=5)
    for x in batches:
        module(x)
    torch.testing.assert_close(module.running_mean, torch.stack([x.mean(0) for x in batches]).mean(0))
    torch.testing.assert_close(module.running_var, torch.stack([x.var(0, unbiased=True) for x in batches]).mean(0))


@pytest.mark.parametrize("affine,bias", [(False, True), (True, False)])
def test_batch_norm_affine_and_bias_switches_match_torch(affine, bias):
    ours, theirs = BatchNorm(4, affine=affine, bias=bias), nn.BatchNorm1d(4, affine=affine, bias=bias)
    assert ours.extra_repr() == theirs.extra_repr()
    _randomize_params(ours, theirs, seed=41)
    x = _randn(6, 4, seed=42) * 2 + 5
    torch.testing.assert_close(ours(x), theirs(x), **_tol(torch.float32))


def test_batch_norm_without_running_stats_always_uses_batch_stats():
    ours = BatchNorm(4, track_running_stats=False)
    theirs = nn.BatchNorm1d(4, track_running_stats=False)
    assert ours.running_mean is None and ours.running_var is None and ours.num_batches_tracked is None
    x = _randn(6, 4, 3, seed=43) * 3 + 2
    ours.eval()
    theirs.eval()
    out = ours(x)
    torch.testing.assert_close(out, theirs(x), **_tol(torch.float32))
    torch.testing.assert_close(out, LF.batch_norm(x, None, None, ours.weight, ours.bias, training=True))
    assert ours.extra_repr() == theirs.extra_repr()


def test_batch_norm_buffers_and_repr_match_torch():
    ours, theirs = BatchNorm(6, eps=1e-3, momentum=0.2), nn.BatchNorm1d(6, eps=1e-3, momentum=0.2)
    assert ours.extra_repr() == theirs.extra_repr()
    assert dict(ours.named_buffers()).keys() == dict(theirs.named_buffers()).keys()
    assert ours.num_batches_tracked.dtype == torch.long
    theirs.train()(_randn(5, 6, seed=44) + 2)
    ours.load_state_dict(theirs.state_dict())  # same keys: a drop-in replacement
    torch.testing.assert_close(ours.running_mean, theirs.running_mean, rtol=0, atol=0)


def test_batch_norm_running_stats_updated_without_grad():
    module = BatchNorm(3)
    x = _randn(4, 3, seed=45).requires_grad_()
    module(x).sum().backward()
    assert not module.running_mean.requires_grad and module.running_mean.grad_fn is None
    assert not module.running_var.requires_grad and module.running_var.grad_fn is None


def test_batch_norm_one_case_in_training_raises_and_leaves_state():
    module = BatchNorm(4)
    with pytest.raises(
        ValueError,
        match=r"Expected more than 1 value per channel when training, "
        r"got input of shape \(1, 4\)",
    ):
        module(torch.randn(1, 4))
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training"):
        module(torch.randn(1, 4, 1))
    assert int(module.num_batches_tracked) == 0
    torch.testing.assert_close(module.running_mean, torch.zeros(4), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", LOW_PRECISION)
def test_batch_norm_low_precision_against_float64_reference(dtype):
    module = BatchNorm(4, dtype=dtype)
    _randomize_params(module, seed=46)
    x = (_randn(16, 4, 3, seed=47) * 100 + 20).to(dtype)
    out = module(x)
    assert out.dtype == dtype and module.running_mean.dtype == dtype
    a = x.double()
    shape = (1, 4, 1)
    expected = (a - a.mean((0, 2), keepdim=True)) / torch.sqrt(a.var((0, 2), unbiased=False, keepdim=True) + 1e-5)
    expected = expected * module.weight.double().view(shape) + module.bias.double().view(shape)
    torch.testing.assert_close(out.double(), expected, **_tol(dtype))


def test_batch_norm_constant_feature_is_finite_and_equals_bias():
    module = BatchNorm(3)
    _randomize_params(module, seed=48)
    x = _randn(8, 3, seed=49)
    x[:, 2] = -4.5
    out = module(x)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[:, 2], module.bias.detach()[2].expand(8), **_tol(torch.float32))


def test_batch_norm_gradcheck_input_and_params():
    module = BatchNorm(3, dtype=torch.float64)
    _randomize_params(module, seed=50)
    x = _randn(5, 3, 2, seed=51, dtype=torch.float64).requires_grad_()
    weight, bias = (p.detach().clone().requires_grad_() for p in (module.weight, module.bias))
    assert torch.autograd.gradcheck(
        lambda x, w, b: functional_call(module, {"weight": w, "bias": b}, (x,)), (x, weight, bias)
    )


@pytest.mark.parametrize(
    "x,match",
    [
        (torch.randn(4, 6), r"BatchNorm expected input of shape \(N, 5\) or \(N, 5, L\), got input of shape \(4, 6\)"),
        (torch.randn(5), r"got input of shape \(5,\)"),
        (torch.randn(2, 5, 3, 3), r"got input of shape \(2, 5, 3, 3\)"),
        (torch.ones(4, 5, dtype=torch.long), r"floating-point input, got dtype torch.int64"),
    ],
)
def test_batch_norm_bad_input(x, match):
    with pytest.raises(ValueError, match=match):
        BatchNorm(5)(x)


# ---------------------------------------------------------------- RMSNorm


@pytest.mark.parametrize("shape,normalized_shape", [((4, 16), 16), ((3, 4, 5), (4, 5))])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("eps,affine", [(None, True), (1e-6, True), (None, False)])
def test_rms_norm_matches_torch(shape, normalized_shape, dtype, eps, affine):
    ours = RMSNorm(normalized_shape, eps=eps, elementwise_affine=affine, dtype=dtype)
    theirs = nn.RMSNorm(normalized_shape, eps=eps, elementwise_affine=affine, dtype=dtype)
    assert ours.extra_repr() == theirs.extra_repr()
    _randomize_params(ours, theirs, seed=60)
    x = _randn(*shape, seed=61, dtype=dtype) * 2 + 0.5
    grad = _randn(*shape, seed=62, dtype=dtype)
    out, x_grad, p_grads = _forward_backward(ours, x, grad)
    t_out, t_x_grad, t_p_grads = _forward_backward(theirs, x, grad)
    assert out.dtype == dtype
    torch.testing.assert_close(out, t_out, **_tol(dtype))
    torch.testing.assert_close(x_grad, t_x_grad, **_loose_tol(dtype))
    torch.testing.assert_close(p_grads, t_p_grads, **_loose_tol(dtype))


def test_rms_norm_gradcheck_input_and_params():
    module = RMSNorm(6, dtype=torch.float64)
    x = _randn(3, 6, seed=63, dtype=torch.float64).requires_grad_()
    weight = _randn(6, seed=64, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, w: functional_call(module, {"weight": w}, (x,)), (x, weight))


def test_rms_norm_zero_row_is_finite():
    torch.testing.assert_close(RMSNorm(8)(torch.zeros(3, 8)), torch.zeros(3, 8), rtol=0, atol=0)


def test_rms_norm_bad_input():
    with pytest.raises(
        ValueError, match=r"RMSNorm expected input with trailing shape \(16,\), got input of shape \(2, 8\)"
    ):
        RMSNorm(16)(torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"RMSNorm expected a floating-point input, got dtype torch.int64"):
        RMSNorm(16)(torch.ones(2, 16, dtype=torch.long))


# ---------------------------------------------------------------- WeightNormLinear


def _torch_weight_norm_linear(ours: WeightNormLinear) -> nn.Module:
    """torch's weight-normalized nn.Linear holding the same v, g and bias as `ours`."""
    lin = nn.Linear(ours.in_features, ours.out_features, bias=ours.bias is not None, dtype=ours.weight_v.dtype)
    theirs = nn.utils.parametrizations.weight_norm(lin, dim=0)
    with torch.no_grad():
        theirs.parametrizations.weight.original0.copy_(ours.weight_g)
        theirs.parametrizations.weight.original1.copy_(ours.weight_v)
        if ours.bias is not None:
            theirs.bias.copy_(ours.bias)
    return theirs


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weight_norm_linear_matches_torch_parametrization(bias, dtype):
    ours = WeightNormLinear(6, 4, bias=bias, dtype=dtype)
    with torch.no_grad():
        ours.weight_g.mul_(_randn(4, 1, seed=70, dtype=dtype))  # move g away from ||v||
    theirs = _torch_weight_norm_linear(ours)
    torch.testing.assert_close(ours.weight, theirs.weight, **_tol(dtype))
    x = _randn(3, 5, 6, seed=71, dtype=dtype)
    grad = _randn(3, 5, 4, seed=72, dtype=dtype)
    out, x_grad, _ = _forward_backward(ours, x, grad)
    t_out, t_x_grad, _ = _forward_backward(theirs, x, grad)
    torch.testing.assert_close(out, t_out, **_tol(dtype))
    torch.testing.assert_close(x_grad, t_x_grad, **_loose_tol(dtype))
    torch.testing.assert_close(ours.weight_g.grad, theirs.parametrizations.weight.original0.grad, **_loose_tol(dtype))
    torch.testing.assert_close(ours.weight_v.grad, theirs.parametrizations.weight.original1.grad, **_loose_tol(dtype))
    if bias:
        torch.testing.assert_close(ours.bias.grad, theirs.bias.grad, **_loose_tol(dtype))


def test_weight_norm_linear_init_like_linear_with_w_equal_v():
    torch.manual_seed(73)
    module = WeightNormLinear(50, 8)
    assert module.weight_v.shape == (8, 50) and module.weight_g.shape == (8, 1) and module.bias.shape == (8,)
    torch.testing.assert_close(module.weight, module.weight_v.detach())
    torch.testing.assert_close(module.weight_g.detach(), module.weight_v.detach().norm(dim=1, keepdim=True))
    bound = 1 / math.sqrt(50)  # nn.Linear's kaiming_uniform(a=sqrt(5)) and bias bounds
    assert module.weight_v.abs().max() <= bound and module.bias.abs().max() <= bound
    assert module.weight_v.abs().max() > 0.8 * bound  # uniform over the range, not a narrow init
    assert module.extra_repr() == nn.Linear(50, 8).extra_repr()


@pytest.mark.parametrize("dtype", LOW_PRECISION)
def test_weight_norm_linear_low_precision(dtype):
    module = WeightNormLinear(16, 3, dtype=dtype)
    x = _randn(4, 16, seed=74, dtype=dtype)
    out = module(x)
    assert out.dtype == dtype
    v, g = module.weight_v.double(), module.weight_g.double()
    expected = x.double() @ (g * v / v.norm(dim=1, keepdim=True)).T + module.bias.double()
    torch.testing.assert_close(out.double(), expected, rtol=3e-2, atol=3e-2)


def test_weight_norm_linear_gradcheck_input_and_params():
    module = WeightNormLinear(4, 3, dtype=torch.float64)
    params = {name: p.detach().clone().requires_grad_() for name, p in module.named_parameters()}
    x = _randn(2, 4, seed=75, dtype=torch.float64).requires_grad_()
    names = list(params)
    assert torch.autograd.gradcheck(
        lambda x, *ps: functional_call(module, dict(zip(names, ps)), (x,)), (x, *params.values())
    )


def test_weight_norm_linear_bad_input():
    with pytest.raises(
        ValueError,
        match=r"WeightNormLinear expected input with trailing shape \(6,\), "
        r"got input of shape \(2, 5\)",
    ):
        WeightNormLinear(6, 4)(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"out_features to be a positive int, got 0"):
        WeightNormLinear(6, 0)


# ---------------------------------------------------------------- dtypes, devices, sizes and eps for every layer


def test_batch_norm_float64_input_into_a_float32_layer_raises_as_layer_norm_does():
    x = torch.randn(4, 3, dtype=torch.float64)
    expected = r"expected input of dtype torch.float32 \(its parameters' dtype\), got input of dtype torch.float64"
    with pytest.raises(ValueError, match="LayerNorm " + expected):
        LayerNorm(3)(x)
    for module in (BatchNorm(3), BatchNorm(3, affine=False)):
        with pytest.raises(ValueError, match="BatchNorm " + expected):
            module(x)
        assert int(module.num_batches_tracked) == 0  # a refused batch leaves the statistics alone


@pytest.mark.parametrize("momentum", [0.1, 0.5])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_works_on_the_meta_device(training, momentum):
    """Shape inference without data, as torch's BatchNorm1d allows it."""
    module = BatchNorm(3, momentum=momentum, device="meta").train(training)
    out = module(torch.empty(4, 3, 5, device="meta"))
    assert out.device.type == "meta" and out.shape == (4, 3, 5)


def test_batch_norm_empty_batch_leaves_running_stats_as_torch_does():
    ours, theirs = BatchNorm(3), nn.BatchNorm1d(3)
    x = torch.empty(0, 3, 4, requires_grad=True)
    out = ours(x)
    assert out.shape == theirs(x).shape == (0, 3, 4)
    for name, buf in theirs.named_buffers():
        torch.testing.assert_close(getattr(ours, name), buf, rtol=0, atol=0)
    out.sum().backward()
    assert torch.isfinite(ours.weight.grad).all()


def test_weight_norm_linear_float64_input_into_a_float32_layer_raises():
    with pytest.raises(
        ValueError,
        match=r"WeightNormLinear expected input of dtype torch.float32 \(its parameters' dtype\), "
        r"got input of dtype torch.float64",
    ):
        WeightNormLinear(6, 4)(torch.randn(2, 6, dtype=torch.float64))


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
@pytest.mark.parametrize("bias", [True, False])
def test_weight_norm_linear_state_dict_is_that_of_torchs_weight_norm(bias):
    """The docstring: the state_dict of torch.nn.utils.weight_norm loads as it is; the parametrization's
    original0 and original1 are g and v."""
    torch.manual_seed(5)
    theirs = nn.utils.weight_norm(nn.Linear(6, 4, bias=bias))
    with torch.no_grad():
        theirs.weight_g.mul_(2.0)
    ours = WeightNormLinear(6, 4, bias=bias)
    ours.load_state_dict(theirs.state_dict())  # strict: the same keys and shapes
    x = torch.randn(3, 6)
    torch.testing.assert_close(ours(x), theirs(x))

    param = nn.utils.parametrizations.weight_norm(nn.Linear(6, 4, bias=bias))
    mapped = {
        "weight_g": "parametrizations.weight.original0",
        "weight_v": "parametrizations.weight.original1",
        "bias": "bias",
    }
    param.load_state_dict({mapped[k]: v for k, v in ours.state_dict().items()})
    torch.testing.assert_close(ours(x), param(x))


def test_numpy_integer_sizes_are_accepted_as_torch_accepts_them():
    np = pytest.importorskip("numpy")
    ln, theirs = LayerNorm(np.int64(8)), nn.LayerNorm(np.int64(8))
    assert ln.normalized_shape == theirs.normalized_shape == (8,)
    x = torch.randn(2, 8)
    torch.testing.assert_close(ln(x), theirs(x))
    assert LayerNorm([np.int32(2), np.int64(4)])(torch.randn(3, 2, 4)).shape == (3, 2, 4)
    assert BatchNorm(np.int64(3))(torch.randn(4, 3)).shape == (4, 3)
    assert RMSNorm(np.int64(8))(x).shape == (2, 8)
    assert WeightNormLinear(np.int64(8), np.int16(3))(x).shape == (2, 3)


LAYERS_WITH_EPS = {
    "LayerNorm": lambda eps: LayerNorm(8, eps=eps),
    "BatchNorm": lambda eps: BatchNorm(8, eps=eps),
    "RMSNorm": lambda eps: RMSNorm(8, eps=eps),
}


@pytest.mark.parametrize("eps", [float("nan"), float("inf"), -1e-5, "1e-5", torch.tensor(1e-5), False], ids=repr)
@pytest.mark.parametrize("name", LAYERS_WITH_EPS)
def test_layers_refuse_a_nan_infinite_or_non_numeric_eps(name, eps):
    with pytest.raises(ValueError, match=rf"{name} expected a finite eps >= 0, got eps="):
        LAYERS_WITH_EPS[name](eps)


@pytest.mark.parametrize("dtype", LOW_PRECISION)
def test_batch_norm_low_precision_input_into_a_float32_layer_as_torch_allows(dtype):
    """torch's mixed precision: only float16/bfloat16 input may meet float32 parameters."""
    ours, theirs = BatchNorm(3), nn.BatchNorm1d(3)
    x = _randn(8, 3, seed=80, dtype=dtype)
    out = ours(x)
    assert out.dtype == dtype
    torch.testing.assert_close(out, theirs(x))
    torch.testing.assert_close(ours.running_mean, theirs.running_mean)
    with pytest.raises(ValueError, match="BatchNorm expected input of dtype torch.float64"):
        BatchNorm(3, dtype=torch.float64)(x.float())
