"""PyTorch's own sample inputs for its modules (`module_db`) run through lnviz's drop-ins.

For every sample torch ships for nn.LayerNorm, nn.BatchNorm1d, nn.RMSNorm, nn.RNNCell, nn.GRUCell and
nn.LSTMCell, in float32 and float64, in training and eval mode: build torch's module and lnviz's
counterpart from the sample's constructor arguments, load torch's state_dict (randomized first, so
that gains, biases and running statistics all matter) into lnviz's, and compare the outputs, the
gradients of the inputs and parameters, and the buffers after the call. Every sample must be accepted.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

pytest.importorskip("expecttest")  # torch.testing._internal imports it
from torch.testing._internal.common_modules import module_db

from lnviz.nn import BatchNorm, GRUCell, LayerNorm, LSTMCell, RMSNorm, RNNCell

#: torch's module -> (lnviz's counterpart, extra constructor keywords)
COUNTERPARTS: dict[type[nn.Module], tuple[type[nn.Module], dict]] = {
    nn.LayerNorm: (LayerNorm, {}),
    nn.BatchNorm1d: (BatchNorm, {}),
    nn.RMSNorm: (RMSNorm, {}),
    nn.RNNCell: (RNNCell, {"norm": "none"}),
    nn.GRUCell: (GRUCell, {"norm": "none"}),
    nn.LSTMCell: (LSTMCell, {"norm": "none"}),
}
DTYPES = (torch.float32, torch.float64)


def _samples() -> list:
    params = []
    for info in module_db:
        if info.module_cls not in COUNTERPARTS:
            continue
        for dtype in DTYPES:
            for training in (True, False):
                torch.manual_seed(0)
                samples = info.module_inputs_func(
                    info, device="cpu", dtype=dtype, requires_grad=True, training=training
                )
                for i, sample in enumerate(samples):
                    mode = "train" if training else "eval"
                    name = f"{info.module_cls.__name__}-{str(dtype)[6:]}-{mode}-{i}-{sample.desc or 'default'}"
                    params.append(pytest.param(info.module_cls, sample, dtype, training, id=name))
    return params


SAMPLES = _samples()


def test_torch_ships_samples_for_every_counterpart() -> None:
    """Guards the test below against silently comparing nothing if module_db drops a module."""
    covered = {p.values[0] for p in SAMPLES}
    assert covered == set(COUNTERPARTS)


def _clone(value):
    """A fresh leaf copy of the sample's tensors (tuples of them too), so each module gets its own."""
    if isinstance(value, Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    if isinstance(value, (tuple, list)):
        return type(value)(_clone(v) for v in value)
    return value


def _tensors(value) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return []


def _randomize(module: nn.Module, seed: int) -> None:
    """Parameters around their initial values, running variances positive."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in [*module.named_parameters(), *module.named_buffers()]:
            if not t.is_floating_point():
                continue
            noise = torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.dtype)
            t.copy_(noise.abs() + 0.5 if name.endswith("running_var") else t + 0.3 * noise)


def _run(module: nn.Module, sample, training: bool) -> tuple[list[Tensor], list[Tensor]]:
    """Outputs and the inputs they were computed from (fresh copies of the sample's)."""
    module.train(training)
    args, kwargs = _clone(sample.forward_input.args), _clone(sample.forward_input.kwargs)
    out = module(*args, **kwargs)
    return _tensors(out), _tensors((args, kwargs))


@pytest.mark.parametrize(("torch_cls", "sample", "dtype", "training"), SAMPLES)
def test_sample_gives_torchs_output_and_gradients(
    torch_cls: type[nn.Module], sample, dtype: torch.dtype, training: bool
) -> None:
    args, kwargs = sample.constructor_input.args, sample.constructor_input.kwargs
    theirs = torch_cls(*args, **kwargs).to(dtype)
    ours_cls, extra = COUNTERPARTS[torch_cls]
    ours = ours_cls(*args, **kwargs, **extra, dtype=dtype)
    _randomize(theirs, seed=1)
    ours.load_state_dict(theirs.state_dict())

    out_theirs, in_theirs = _run(theirs, sample, training)
    out_ours, in_ours = _run(ours, sample, training)
    assert [o.shape for o in out_ours] == [o.shape for o in out_theirs]
    for a, b in zip(out_ours, out_theirs):
        torch.testing.assert_close(a, b)

    # gradients of the inputs (state included) and of every parameter, for one random upstream gradient
    gen = torch.Generator().manual_seed(2)
    grad_out = [torch.randn(o.shape, generator=gen, dtype=torch.float64).to(o.dtype) for o in out_theirs]
    wrt_theirs = [t for t in in_theirs if t.requires_grad] + list(theirs.parameters())
    wrt_ours = [t for t in in_ours if t.requires_grad] + list(ours.parameters())
    names = [f"input {i}" for i, t in enumerate(in_theirs) if t.requires_grad]
    names += [name for name, _ in theirs.named_parameters()]
    g_theirs = torch.autograd.grad(out_theirs, wrt_theirs, grad_out, allow_unused=True)
    g_ours = torch.autograd.grad(out_ours, wrt_ours, grad_out, allow_unused=True)
    for name, a, b, like in zip(names, g_ours, g_theirs, wrt_theirs):
        a = torch.zeros_like(like) if a is None else a
        b = torch.zeros_like(like) if b is None else b
        torch.testing.assert_close(a, b, msg=lambda m, name=name: f"gradient of {name}: {m}")

    buffers = dict(theirs.named_buffers())
    for name, buf in ours.named_buffers():
        torch.testing.assert_close(buf, buffers[name], msg=lambda m, name=name: f"buffer {name}: {m}")
