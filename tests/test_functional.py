"""lnviz.functional against torch.nn.functional, the paper's properties, numerics and bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lnviz.nn import functional as LF

LOW_PRECISION = [torch.float16, torch.bfloat16]
FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
# Shapes (input, normalized_shape): one hidden dim, several, and extra leading dims.
LN_SHAPES = [((4, 16), (16,)), ((2, 3, 8), (8,)), ((3, 4, 5), (4, 5)), ((1, 7), (7,))]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(seed), dtype=torch.float64).to(dtype)


def _tol(dtype: torch.dtype) -> dict:
    """Tolerance for a result rounded once to `dtype` from an exact value of size ~1-10."""
    return {
        torch.float16: {"rtol": 2e-3, "atol": 2e-3},
        torch.bfloat16: {"rtol": 1.6e-2, "atol": 1.6e-2},
        torch.float32: {"rtol": 1e-6, "atol": 1e-6},
        torch.float64: {"rtol": 1e-12, "atol": 1e-12},
    }[dtype]


def _ln_reference(x: torch.Tensor, ndim: int, weight=None, bias=None, eps: float = 1e-5) -> torch.Tensor:
    """Layer norm in float64 through torch.var, independent of lnviz's formula."""
    dims = tuple(range(-ndim, 0))
    a = x.double()
    out = (a - a.mean(dims, keepdim=True)) / torch.sqrt(a.var(dims, unbiased=False, keepdim=True) + eps)
    if weight is not None:
        out = out * weight.double()
    if bias is not None:
        out = out + bias.double()
    return out


# ---------------------------------------------------------------- layer_norm


@pytest.mark.parametrize("shape,normalized_shape", LN_SHAPES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, normalized_shape, dtype, affine):
    x = _randn(*shape, seed=1, dtype=dtype) * 3 + 2
    weight = _randn(*normalized_shape, seed=2, dtype=dtype) if affine else None
    bias = _randn(*normalized_shape, seed=3, dtype=dtype) if affine else None
    ours = LF.layer_norm(x, normalized_shape, weight, bias)
    torch.testing.assert_close(ours, F.layer_norm(x, normalized_shape, weight, bias), **_tol(dtype))
    assert ours.dtype == dtype and ours.shape == x.shape


def test_layer_norm_int_normalized_shape_equals_tuple():
    x = _randn(5, 12, seed=4)
    torch.testing.assert_close(LF.layer_norm(x, 12), LF.layer_norm(x, (12,)), rtol=0, atol=0)
    torch.testing.assert_close(LF.layer_norm(x, 12), F.layer_norm(x, (12,)), **_tol(torch.float32))


@pytest.mark.parametrize("dtype", LOW_PRECISION)
def test_layer_norm_low_precision_against_float64_reference(dtype):
    x = (_randn(8, 64, seed=5) * 2 + 1).to(dtype)
    weight = _randn(64, seed=6).to(dtype)
    bias = _randn(64, seed=7).to(dtype)
    ours = LF.layer_norm(x, 64, weight, bias)
    assert ours.dtype == dtype
    torch.testing.assert_close(ours.double(), _ln_reference(x, 1, weight, bias), **_tol(dtype))


def test_layer_norm_float16_accumulates_in_float32():
    # Squared deviations of ~1000 are ~1e6, past float16's max of 65504: computed in float16 the
    # variance would be inf and every output 0.
    x = (_randn(4, 256, seed=8) * 1000).to(torch.float16)
    ours = LF.layer_norm(x, 256)
    assert torch.isfinite(ours).all()
    torch.testing.assert_close(ours.double(), _ln_reference(x, 1), **_tol(torch.float16))


@pytest.mark.parametrize("value", [0.0, 3.25, -7.5, 1024.0])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_layer_norm_constant_row_gives_bias(value, dtype):
    x = torch.full((3, 32), value, dtype=dtype)
    bias = _randn(32, seed=9, dtype=dtype)
    weight = _randn(32, seed=10, dtype=dtype)
    out = LF.layer_norm(x, 32, weight, bias)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, bias.expand_as(out), **_tol(dtype))


def test_layer_norm_inexact_constant_row_is_near_bias():
    # The mean of 32 copies of float32(0.1) may be off by an ulp (~1e-8); dividing by sqrt(eps)
    # amplifies that ~300x, which is still far below anything visible.
    x = torch.full((3, 32), 0.1)
    bias = _randn(32, seed=9)
    out = LF.layer_norm(x, 32, _randn(32, seed=10), bias)
    torch.testing.assert_close(out, bias.expand_as(out), rtol=0, atol=1e-4)


@pytest.mark.parametrize("offset", [1e2, 1e4])
def test_layer_norm_large_offset_float32(offset):
    # The one-pass E[x^2] - E[x]^2 gives a negative variance (NaN) here in float32.
    x = _randn(64, 128, seed=11) + offset
    out = LF.layer_norm(x, 128, eps=0.0).double()
    assert torch.isfinite(out).all()
    assert out.mean(-1).abs().max() < 5e-3
    assert (out.var(-1, unbiased=False) - 1).abs().max() < 1e-3


def test_layer_norm_eps_outside_sqrt_differs_on_small_variance_row():
    # std 1e-3: inside the sqrt eps=1e-5 dominates var=1e-6, outside it is 1% of the std.
    x = _randn(2, 64, seed=12) * 1e-3
    x = x - x.mean(-1, keepdim=True)
    x = x / x.std(-1, unbiased=False, keepdim=True) * 1e-3
    inside = LF.layer_norm(x, 64, eps=1e-5)
    outside = LF.layer_norm(x, 64, eps=1e-5, eps_inside_sqrt=False)
    assert (inside - outside).abs().max() > 0.5
    torch.testing.assert_close(inside, F.layer_norm(x, (64,), eps=1e-5))
    std = x.std(-1, unbiased=False, keepdim=True)
    torch.testing.assert_close(outside, (x - x.mean(-1, keepdim=True)) / (std + 1e-5))
    # Lua-style output is nearly standardized, torch-style is shrunk to ~0.3 of unit std.
    assert (outside.std(-1, unbiased=False) - 1).abs().max() < 0.02
    assert inside.std(-1, unbiased=False).max() < 0.35


def test_layer_norm_eps_outside_sqrt_agrees_on_unit_variance_row():
    x = _randn(4, 64, seed=13)
    torch.testing.assert_close(LF.layer_norm(x, 64, eps_inside_sqrt=False), LF.layer_norm(x, 64), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("normalized_shape", [(16,), (4, 4)])
def test_layer_norm_unbiased_matches_torch_var(normalized_shape):
    x = _randn(3, 16, seed=14, dtype=torch.float64).reshape(3, *normalized_shape)
    dims = tuple(range(-len(normalized_shape), 0))
    expected = (x - x.mean(dims, keepdim=True)) / torch.sqrt(torch.var(x, dims, unbiased=True, keepdim=True) + 1e-5)
    ours = LF.layer_norm(x, normalized_shape, unbiased=True)
    torch.testing.assert_close(ours, expected)
    assert not torch.allclose(ours, LF.layer_norm(x, normalized_shape))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 24)), elements=st.floats(-100, 100)))
def test_layer_norm_each_case_has_mean_0_variance_1(x):
    assume(np.all(x.std(axis=1) > 1e-3))
    out = LF.layer_norm(torch.from_numpy(x), x.shape[1], eps=0.0)
    torch.testing.assert_close(out.mean(-1), torch.zeros(x.shape[0], dtype=torch.float64), atol=1e-9, rtol=0)
    torch.testing.assert_close(
        out.var(-1, unbiased=False), torch.ones(x.shape[0], dtype=torch.float64), atol=1e-9, rtol=0
    )


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, (3, 12), elements=st.floats(-10, 10)),
    st.lists(st.floats(1e-2, 1e2), min_size=3, max_size=3),
    st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3),
)
def test_layer_norm_invariant_to_per_case_rescaling_and_recentering(x, scales, shifts):
    assume(np.all(x.std(axis=1) > 1e-2))
    x = torch.from_numpy(x)
    moved = x * torch.tensor(scales).unsqueeze(1) + torch.tensor(shifts).unsqueeze(1)
    weight, bias = _randn(12, seed=15, dtype=torch.float64), _randn(12, seed=16, dtype=torch.float64)
    torch.testing.assert_close(
        LF.layer_norm(moved, 12, weight, bias, eps=0.0),
        LF.layer_norm(x, 12, weight, bias, eps=0.0),
        atol=1e-8,
        rtol=1e-8,
    )


@pytest.mark.parametrize("eps_inside_sqrt", [True, False])
@pytest.mark.parametrize("unbiased", [True, False])
def test_layer_norm_gradcheck(eps_inside_sqrt, unbiased):
    x = _randn(3, 2, 5, seed=17, dtype=torch.float64).requires_grad_()
    weight = _randn(2, 5, seed=18, dtype=torch.float64).requires_grad_()
    bias = _randn(2, 5, seed=19, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x, w, b: LF.layer_norm(x, (2, 5), w, b, eps_inside_sqrt=eps_inside_sqrt, unbiased=unbiased),
        (x, weight, bias),
    )


def test_layer_norm_gradients_match_torch():
    x1 = _randn(4, 16, seed=20, dtype=torch.float64).requires_grad_()
    w1 = _randn(16, seed=21, dtype=torch.float64).requires_grad_()
    b1 = _randn(16, seed=22, dtype=torch.float64).requires_grad_()
    x2, w2, b2 = (t.detach().clone().requires_grad_() for t in (x1, w1, b1))
    grad = _randn(4, 16, seed=23, dtype=torch.float64)
    LF.layer_norm(x1, 16, w1, b1).backward(grad)
    F.layer_norm(x2, (16,), w2, b2).backward(grad)
    for ours, theirs in ((x1, x2), (w1, w2), (b1, b2)):
        torch.testing.assert_close(ours.grad, theirs.grad)


@pytest.mark.parametrize(
    "call,match",
    [
        (
            lambda: LF.layer_norm(torch.randn(4, 64), 128),
            r"layer_norm expected input with trailing shape \(128,\), got input of shape \(4, 64\)",
        ),
        (lambda: LF.layer_norm(torch.randn(64), (2, 64)), r"trailing shape \(2, 64\), got input of shape \(64,\)"),
        (lambda: LF.layer_norm(torch.ones(4, 8, dtype=torch.long), 8), r"floating-point input, got dtype torch.int64"),
        (lambda: LF.layer_norm(torch.randn(4, 8), 0), r"positive int .* got 0"),
        (lambda: LF.layer_norm(torch.randn(4, 8), ()), r"non-empty sequence .* got \(\)"),
        (
            lambda: LF.layer_norm(torch.randn(4, 8), 8, weight=torch.ones(4)),
            r"weight of shape \(8,\), got weight of shape \(4,\)",
        ),
        (
            lambda: LF.layer_norm(torch.randn(4, 8), 8, bias=torch.ones(8, 1)),
            r"bias of shape \(8,\), got bias of shape \(8, 1\)",
        ),
        (lambda: LF.layer_norm(torch.randn(4, 8), 8, eps=-1.0), r"eps >= 0, got eps=-1.0"),
        (lambda: LF.layer_norm(torch.randn(4, 1), 1, unbiased=True), r"H >= 2 .* got H=1"),
    ],
)
def test_layer_norm_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- batch_norm


def _bn_reference(x: torch.Tensor, weight, bias, eps: float = 1e-5) -> torch.Tensor:
    dims = (0, *range(2, x.dim()))
    shape = (1, -1) + (1,) * (x.dim() - 2)
    a = x.double()
    out = (a - a.mean(dims, keepdim=True)) / torch.sqrt(a.var(dims, unbiased=False, keepdim=True) + eps)
    return out * weight.double().view(shape) + bias.double().view(shape)


@pytest.mark.parametrize("shape", [(8, 5), (4, 5, 6), (1, 5, 3), (2, 5, 3, 2)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_norm_training_matches_torch_and_updates_running_stats(shape, dtype):
    x = _randn(*shape, seed=30, dtype=dtype) * 2 + 3
    weight, bias = _randn(5, seed=31, dtype=dtype), _randn(5, seed=32, dtype=dtype)
    ours_mean, ours_var = _randn(5, seed=33, dtype=dtype), _randn(5, seed=34, dtype=dtype).abs()
    torch_mean, torch_var = ours_mean.clone(), ours_var.clone()
    ours = LF.batch_norm(x, ours_mean, ours_var, weight, bias, training=True, momentum=0.3)
    theirs = F.batch_norm(x, torch_mean, torch_var, weight, bias, training=True, momentum=0.3)
    torch.testing.assert_close(ours, theirs, **_tol(dtype))
    torch.testing.assert_close(ours_mean, torch_mean, **_tol(dtype))
    torch.testing.assert_close(ours_var, torch_var, **_tol(dtype))
    assert ours.dtype == dtype


def test_batch_norm_stores_unbiased_variance():
    x = _randn(6, 3, seed=35, dtype=torch.float64)
    running_mean, running_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    LF.batch_norm(x, running_mean, running_var, training=True, momentum=1.0)
    torch.testing.assert_close(running_mean, x.mean(0))
    torch.testing.assert_close(running_var, x.var(0, unbiased=True))


def test_batch_norm_eval_uses_running_stats():
    x = _randn(4, 3, 2, seed=36)
    running_mean, running_var = _randn(3, seed=37), _randn(3, seed=38).abs() + 0.5
    weight, bias = _randn(3, seed=39), _randn(3, seed=40)
    before = (running_mean.clone(), running_var.clone())
    ours = LF.batch_norm(x, running_mean, running_var, weight, bias, training=False)
    torch.testing.assert_close(ours, F.batch_norm(x, running_mean, running_var, weight, bias, training=False))
    torch.testing.assert_close((running_mean, running_var), before, rtol=0, atol=0)


def test_batch_norm_constant_feature_gives_bias():
    x = _randn(8, 3, seed=41)
    x[:, 1] = 2.5
    bias = torch.tensor([0.1, -0.7, 0.3])
    out = LF.batch_norm(x, None, None, torch.ones(3), bias, training=True)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[:, 1], torch.full((8,), -0.7))


@pytest.mark.parametrize("dtype", LOW_PRECISION)
def test_batch_norm_low_precision_against_float64_reference(dtype):
    # std 100: squares of the largest deviations, and their sum, overflow float16 (max 65504), so
    # this also checks the float32 accumulation; the variance itself still fits the float16 buffer.
    x = (_randn(32, 4, 3, seed=42) * 100).to(dtype)
    weight, bias = _randn(4, seed=43).to(dtype), _randn(4, seed=44).to(dtype)
    running_mean, running_var = torch.zeros(4, dtype=dtype), torch.ones(4, dtype=dtype)
    ours = LF.batch_norm(x, running_mean, running_var, weight, bias, training=True)
    assert ours.dtype == dtype and running_var.dtype == dtype
    torch.testing.assert_close(ours.double(), _bn_reference(x, weight, bias), **_tol(dtype))
    expected_var = 0.9 + 0.1 * x.double().var((0, 2), unbiased=True)
    torch.testing.assert_close(running_var.double(), expected_var, rtol=1e-2, atol=0)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, (6, 3), elements=st.floats(-10, 10)),
    st.lists(st.floats(1e-2, 1e2), min_size=3, max_size=3),
    st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3),
)
def test_batch_norm_invariant_to_per_feature_dataset_rescaling_and_recentering(x, scales, shifts):
    assume(np.all(x.std(axis=0) > 1e-2))
    x = torch.from_numpy(x)
    moved = x * torch.tensor(scales) + torch.tensor(shifts)
    torch.testing.assert_close(
        LF.batch_norm(moved, None, None, training=True, eps=0.0),
        LF.batch_norm(x, None, None, training=True, eps=0.0),
        atol=1e-8,
        rtol=1e-8,
    )


def test_batch_norm_gradcheck():
    x = _randn(5, 3, 2, seed=45, dtype=torch.float64).requires_grad_()
    weight = _randn(3, seed=46, dtype=torch.float64).requires_grad_()
    bias = _randn(3, seed=47, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x, w, b: LF.batch_norm(x, None, None, w, b, training=True), (x, weight, bias)
    )
    running_mean, running_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda x, w, b: LF.batch_norm(x, running_mean, running_var, w, b, training=True), (x, weight, bias)
    )


def test_batch_norm_running_stats_not_in_graph():
    x = _randn(5, 3, seed=48).requires_grad_()
    running_mean, running_var = torch.zeros(3), torch.ones(3)
    LF.batch_norm(x, running_mean, running_var, training=True)
    assert running_mean.grad_fn is None and running_var.grad_fn is None


@pytest.mark.parametrize(
    "call,match",
    [
        (
            lambda: LF.batch_norm(torch.randn(5), None, None, training=True),
            r"\(batch, C\) or \(batch, C, \*\), got input of shape \(5,\)",
        ),
        (
            lambda: LF.batch_norm(torch.ones(4, 3, dtype=torch.int32), None, None, training=True),
            r"floating-point input, got dtype torch.int32",
        ),
        (
            lambda: LF.batch_norm(torch.randn(4, 3), torch.zeros(4), torch.ones(4)),
            r"running_mean of shape \(3,\), got running_mean of shape \(4,\)",
        ),
        (
            lambda: LF.batch_norm(torch.randn(4, 3), None, None, weight=torch.ones(2), training=True),
            r"weight of shape \(3,\), got weight of shape \(2,\)",
        ),
        (lambda: LF.batch_norm(torch.randn(4, 3), torch.zeros(3), None, training=True), r"both given or both None"),
        (
            lambda: LF.batch_norm(torch.randn(4, 3), None, None, training=False),
            r"training=False expected running_mean and running_var, got None",
        ),
        (
            lambda: LF.batch_norm(torch.randn(1, 3), None, None, training=True),
            r"Expected more than 1 value per channel when training, got input of shape \(1, 3\)",
        ),
        (
            lambda: LF.batch_norm(torch.randn(1, 3, 1), None, None, training=True),
            r"Expected more than 1 value per channel when training, got input of shape \(1, 3, 1\)",
        ),
    ],
)
def test_batch_norm_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- rms_norm


@pytest.mark.parametrize("shape,normalized_shape", LN_SHAPES)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("eps", [None, 1e-6])
def test_rms_norm_matches_torch(shape, normalized_shape, dtype, eps):
    x = _randn(*shape, seed=50, dtype=dtype)
    weight = _randn(*normalized_shape, seed=51, dtype=dtype)
    ours = LF.rms_norm(x, normalized_shape, weight, eps)
    assert ours.dtype == dtype
    torch.testing.assert_close(ours, F.rms_norm(x, normalized_shape, weight, eps), **_tol(dtype))


@pytest.mark.parametrize("dtype", LOW_PRECISION)
def test_rms_norm_default_eps_is_that_of_float32_for_low_precision(dtype):
    # mean(x^2) ~ 1e-4: finfo(float16).eps ~ 1e-3 would shrink the mean square ~10x, torch does not.
    x = (_randn(4, 32, seed=52) * 1e-2).to(dtype)
    torch.testing.assert_close(LF.rms_norm(x, 32), F.rms_norm(x, (32,)), **_tol(dtype))
    assert (LF.rms_norm(x, 32).double().pow(2).mean(-1) - 1).abs().max() < 0.05


def test_rms_norm_float16_accumulates_in_float32():
    x = (_randn(4, 64, seed=53) * 1000).to(torch.float16)  # x^2 overflows float16
    out = LF.rms_norm(x, 64)
    a = x.double()
    torch.testing.assert_close(out.double(), a / a.pow(2).mean(-1, keepdim=True).sqrt(), **_tol(torch.float16))


def test_rms_norm_zero_row_is_finite():
    out = LF.rms_norm(torch.zeros(2, 8), 8)
    torch.testing.assert_close(out, torch.zeros(2, 8), rtol=0, atol=0)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, (3, 10), elements=st.floats(-10, 10)),
    st.lists(st.floats(1e-2, 1e2), min_size=3, max_size=3),
)
def test_rms_norm_invariant_to_per_case_rescaling(x, scales):
    assume(np.all(np.sqrt((x**2).mean(axis=1)) > 1e-2))
    x = torch.from_numpy(x)
    scaled = x * torch.tensor(scales).unsqueeze(1)
    torch.testing.assert_close(LF.rms_norm(scaled, 10, eps=0.0), LF.rms_norm(x, 10, eps=0.0), atol=1e-9, rtol=1e-9)


def test_rms_norm_is_not_invariant_to_recentering():
    x = _randn(3, 10, seed=54)
    assert not torch.allclose(LF.rms_norm(x + 5, 10), LF.rms_norm(x, 10), atol=1e-2)


def test_rms_norm_gradcheck():
    x = _randn(3, 6, seed=55, dtype=torch.float64).requires_grad_()
    weight = _randn(6, seed=56, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, w: LF.rms_norm(x, 6, w), (x, weight))


@pytest.mark.parametrize(
    "call,match",
    [
        (
            lambda: LF.rms_norm(torch.randn(4, 64), 128),
            r"rms_norm expected input with trailing shape \(128,\), got input of shape \(4, 64\)",
        ),
        (lambda: LF.rms_norm(torch.ones(4, 8, dtype=torch.long), 8), r"floating-point input, got dtype torch.int64"),
        (
            lambda: LF.rms_norm(torch.randn(4, 8), 8, torch.ones(7)),
            r"weight of shape \(8,\), got weight of shape \(7,\)",
        ),
        (lambda: LF.rms_norm(torch.randn(4, 8), [8, -1]), r"positive int"),
    ],
)
def test_rms_norm_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- weight_norm


@pytest.mark.parametrize("v_shape,dim", [((4, 3), 0), ((4, 3), 1), ((5, 2, 3), 0), ((5, 2, 3), -1)])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_weight_norm_matches_torch(v_shape, dim, dtype):
    v = _randn(*v_shape, seed=60, dtype=dtype)
    g_shape = tuple(s if d == dim % len(v_shape) else 1 for d, s in enumerate(v_shape))
    g = _randn(*g_shape, seed=61, dtype=dtype)
    ours = LF.weight_norm(v, g, dim)
    assert ours.dtype == dtype
    theirs = torch._weight_norm(v.double(), g.double(), dim % len(v_shape))
    torch.testing.assert_close(ours.double(), theirs, **_tol(dtype))


def test_weight_norm_rows_have_norm_g_and_ignore_scale_of_v():
    v = _randn(4, 6, seed=62, dtype=torch.float64)
    g = _randn(4, 1, seed=63, dtype=torch.float64).abs()
    w = LF.weight_norm(v, g)
    torch.testing.assert_close(torch.linalg.vector_norm(w, dim=1, keepdim=True), g)
    row_scales = torch.tensor([[0.1], [3.0], [50.0], [1e-3]], dtype=torch.float64)
    torch.testing.assert_close(LF.weight_norm(v * row_scales, g), w)


def test_weight_norm_gradcheck():
    v = _randn(4, 3, seed=64, dtype=torch.float64).requires_grad_()
    g = _randn(4, 1, seed=65, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(LF.weight_norm, (v, g))


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: LF.weight_norm(torch.randn(4, 3), torch.ones(4)), r"g of shape \(4, 1\), got g of shape \(4,\)"),
        (
            lambda: LF.weight_norm(torch.randn(4, 3), torch.ones(1, 3), dim=0),
            r"g of shape \(4, 1\), got g of shape \(1, 3\)",
        ),
        (lambda: LF.weight_norm(torch.randn(4, 3), torch.ones(4, 1), dim=2), r"dim in \[-2, 1\], got dim=2"),
        (lambda: LF.weight_norm(torch.randn(4), torch.ones(4)), r"at least 2 dims .* got shape \(4,\)"),
        (lambda: LF.weight_norm(torch.ones(4, 3, dtype=torch.long), torch.ones(4, 1)), r"floating-point v"),
    ],
)
def test_weight_norm_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- eps, sizes and overflow, for every function

BAD_EPS = [float("nan"), float("inf"), -float("inf"), np.float64("nan"), "1e-5", torch.tensor(1e-5), True]
FUNCTIONS_WITH_EPS = {
    "layer_norm": lambda eps: LF.layer_norm(torch.randn(4, 8), 8, eps=eps),
    "batch_norm": lambda eps: LF.batch_norm(torch.randn(4, 8), None, None, training=True, eps=eps),
    "rms_norm": lambda eps: LF.rms_norm(torch.randn(4, 8), 8, eps=eps),
}


@pytest.mark.parametrize("eps", BAD_EPS, ids=repr)
@pytest.mark.parametrize("name", FUNCTIONS_WITH_EPS)
def test_a_nan_infinite_or_non_numeric_eps_is_refused(name, eps):
    with pytest.raises(ValueError, match=rf"{name} expected a finite eps >= 0, got eps="):
        FUNCTIONS_WITH_EPS[name](eps)


@pytest.mark.parametrize("size", [np.int64(8), np.int32(8), [np.int64(2), np.int64(4)]], ids=repr)
def test_numpy_integer_sizes_are_accepted_as_torch_accepts_them(size):
    x = torch.randn(3, 2, 4).reshape(3, 8) if np.ndim(size) == 0 else torch.randn(3, 2, 4)
    shape = tuple(int(s) for s in np.atleast_1d(size))
    torch.testing.assert_close(LF.layer_norm(x, size), F.layer_norm(x, shape))
    torch.testing.assert_close(LF.rms_norm(x, size), F.rms_norm(x, shape))


@pytest.mark.parametrize("magnitude", [1e-3, 1e3, 1e9, 1e15])
def test_layer_norm_matches_torch_on_large_finite_statistics(magnitude):
    """The docstring's claim: equal to F.layer_norm while sum((a - mu)^2) stays finite in float32."""
    gen = torch.Generator().manual_seed(3)
    x = (torch.randn(6, 40, generator=gen, dtype=torch.float64) + 3 * torch.randn(6, 1, generator=gen)) * magnitude
    x = x.float()
    torch.testing.assert_close(LF.layer_norm(x, 40), F.layer_norm(x, (40,)))


def test_layer_norm_overflow_differs_from_torch_as_the_docstring_says():
    """If torch's kernel stops returning NaN here, the docstring of layer_norm is out of date."""
    x = torch.tensor([[3e38, -3e38, 1.0]])
    assert torch.isnan(F.layer_norm(x, (3,))).all()
    assert (LF.layer_norm(x, 3) == 0).all()
    assert "[3e38, -3e38, 1]" in LF.layer_norm.__doc__
