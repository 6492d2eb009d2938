"""Numbers for notebook 08: what became of layer norm after 2016.

Three threads, each reduced to something a slider can move:

- RMS norm (Zhang and Sennrich, 2019) drops layer norm's re-centering: sigma = RMS(a), mu = 0. What
  that costs (an invariance, see `lnviz.invariance`) and what it saves (time, measured here).
- Where the norm sits in a Transformer layer (Xiong et al., 2020): the gradient norm of every layer's
  feed-forward weights at initialization, post-LN against pre-LN, in `lnviz.nn.transformer.TinyTransformer`.
- Where eps sits: the conventions of torch, Keras and the authors' Lua code, and what each does to a
  case whose summed inputs barely vary.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from lnviz.nn import functional as LF
from lnviz.nn.transformer import BLOCK_NORMS, NORM_POSITIONS, TinyTransformer
from lnviz.scheduler import threads
from lnviz.validation import positive_int

# ----------------------------------------------------------------------------------------------------
# A row of summed inputs
# ----------------------------------------------------------------------------------------------------


def pattern(n_hidden: int = 16, seed: int = 0, dtype: torch.dtype = torch.float64) -> Tensor:
    """A fixed random row of H summed inputs with mean exactly 0 and (biased) std exactly 1. (H,)"""
    if not (isinstance(n_hidden, int) and n_hidden >= 2):
        raise ValueError(f"pattern expected n_hidden to be an int >= 2, got {n_hidden!r}")
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(n_hidden, generator=gen, dtype=torch.float64)
    a = a - a.mean()
    return (a / a.pow(2).mean().sqrt()).to(dtype)


# ----------------------------------------------------------------------------------------------------
# RMS norm: what dropping the re-centering loses
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recentering:
    """One row `a`: (H,) = scale * (pattern + shift), its LN and RMS norm outputs (H,) each (gain 1, no
    eps), and how far each output moved from that of the plain pattern (relative Frobenius norm)."""

    shift: float
    scale: float
    a: Tensor
    layer: Tensor
    rms: Tensor
    layer_change: float
    rms_change: float


def recentering(shift: float, scale: float = 1.0, n_hidden: int = 16, seed: int = 0) -> Recentering:
    """Shift and scale a zero-mean row and normalize it with LN and with RMS norm.

    The pattern has mean 0, so at shift 0 the two agree: RMS(a) is then the std of a. The scale
    multiplies the shifted row, every a_i by the same factor, so it moves neither output at any shift
    (both divide it out); shifting moves only RMS norm, which subtracts no mean.
    """
    if not scale > 0:
        raise ValueError(f"recentering expected scale > 0, got scale={scale!r}")
    base = pattern(n_hidden, seed)
    a = scale * (base + shift)
    layer = LF.layer_norm(a, n_hidden, eps=0.0)  # eq. (3) and (4), g = 1, b = 0
    rms = LF.rms_norm(a, n_hidden, eps=0.0)  # Zhang and Sennrich, eq. (4), g = 1

    # `base` is its own LN and RMS norm (mean 0 and std 1 already): the output before any change
    def change(out: Tensor) -> float:
        return (torch.linalg.norm(out - base) / torch.linalg.norm(base)).item()

    return Recentering(shift, scale, a, layer, rms, change(layer), change(rms))


# ----------------------------------------------------------------------------------------------------
# RMS norm: what dropping the re-centering saves
# ----------------------------------------------------------------------------------------------------

#: The pairs raced against each other: (layer norm, RMS norm) implemented the same way.
SPEED_PAIRS: dict[str, tuple[str, str]] = {
    "torch": ("F.layer_norm", "F.rms_norm"),
    "written out": ("lnviz.functional.layer_norm", "lnviz.functional.rms_norm"),
}


def forward_backward_contenders(n_cases: int, hidden: int, seed: int = 0) -> dict[str, Callable[[], object]]:
    """One forward and backward pass per call, of each norm on the same x: (n_cases, hidden), gain,
    bias (layer norm only: RMS norm has none) and upstream gradient; eps 1e-5 for all."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n_cases, hidden, generator=gen).requires_grad_()
    weight = (1 + 0.1 * torch.randn(hidden, generator=gen)).requires_grad_()
    bias = (0.1 * torch.randn(hidden, generator=gen)).requires_grad_()
    grad = torch.randn(n_cases, hidden, generator=gen)
    shape, eps = (hidden,), 1e-5

    def run(norm: Callable[[], Tensor], inputs: tuple[Tensor, ...]) -> Callable[[], object]:
        return lambda: torch.autograd.grad(norm(), inputs, grad)

    with_bias, without = (x, weight, bias), (x, weight)
    return {
        "F.layer_norm": run(lambda: F.layer_norm(x, shape, weight, bias, eps), with_bias),
        "F.rms_norm": run(lambda: F.rms_norm(x, shape, weight, eps), without),
        "lnviz.functional.layer_norm": run(lambda: LF.layer_norm(x, shape, weight, bias, eps), with_bias),
        "lnviz.functional.rms_norm": run(lambda: LF.rms_norm(x, shape, weight, eps), without),
    }


def race(contenders: dict[str, Callable[[], object]], rounds: int, seed: int = 0) -> dict[str, list[float]]:
    """Seconds per call of each contender, `rounds` calls each, interleaved in a fresh random order
    every round, so that load from other processes falls on all of them alike. Two untimed calls
    each first warm up the allocator and autograd's caches."""
    positive_int(rounds, "rounds", "race")
    names = list(contenders)
    for name in names:
        contenders[name]()
        contenders[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    order = random.Random(seed)
    for _ in range(rounds):
        order.shuffle(names)
        for name in names:
            start = time.perf_counter()
            contenders[name]()
            times[name].append(time.perf_counter() - start)
    return times


def per_round_ratio(times: dict[str, list[float]], numerator: str, denominator: str) -> float:
    """The median over rounds of numerator's time over denominator's time in the same round."""
    return statistics.median(t / b for t, b in zip(times[numerator], times[denominator]))


def speed_ratios(n_cases: int = 128, hidden: int = 256, rounds: int = 100, seed: int = 0) -> dict[str, float]:
    """RMS norm's forward+backward time over layer norm's, for each pair of `SPEED_PAIRS`."""
    with threads(1):
        times = race(forward_backward_contenders(n_cases, hidden, seed), rounds, seed)
    return {pair: per_round_ratio(times, rms, layer) for pair, (layer, rms) in SPEED_PAIRS.items()}


# ----------------------------------------------------------------------------------------------------
# Post-LN versus pre-LN: gradients at initialization
# ----------------------------------------------------------------------------------------------------

#: The tiny Transformer of the notebook: heads, feed-forward width per d_model, vocabulary, and the
#: batch the gradient is averaged over (Xiong et al. use the expected gradient; a large batch of
#: random tokens estimates it).
N_HEADS, FF_MULTIPLE, VOCAB_SIZE = 4, 4, 32
GRAD_BATCH, GRAD_SEQ_LEN = 32, 16


def random_tokens(batch: int, seq_len: int, vocab_size: int, seed: int = 0) -> Tensor:
    """(batch, seq_len + 1) uniform random tokens: inputs are [:, :-1], next-token targets [:, 1:]."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(vocab_size, (batch, seq_len + 1), generator=gen)


def layer_gradient_norms(model: TinyTransformer, tokens: Tensor) -> Tensor:
    """The Frobenius norm of the gradient of each block's feed-forward weights W1 and W2 (the matrices
    of Xiong et al.'s Theorem 1), for next-token cross-entropy on `tokens`: (batch, seq + 1).

    Returns (n_layers,), first block first. The model's .grad fields are left untouched.
    """
    logits = model(tokens[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
    weights = [w for block in model.blocks for w in (block.linear1.weight, block.linear2.weight)]
    grads = torch.autograd.grad(loss, weights)
    per_block = torch.stack([g.pow(2).sum() for g in grads]).view(len(model.blocks), 2).sum(1)
    return per_block.sqrt()


def gradient_profile(n_layers: int, d_model: int, norm_position: str, norm: str = "layer", seed: int = 0) -> Tensor:
    """Per-layer gradient norms (n_layers,) of a freshly initialized `TinyTransformer`, seeded.

    The same seed gives the same random tokens for every architecture; the global RNG is left as it was.
    """
    if norm_position not in NORM_POSITIONS:
        raise ValueError(f"norm_position must be one of {NORM_POSITIONS}, got {norm_position!r}")
    if norm not in BLOCK_NORMS:
        raise ValueError(f"norm must be one of {BLOCK_NORMS}, got {norm!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TinyTransformer(n_layers, d_model, N_HEADS, FF_MULTIPLE * d_model, VOCAB_SIZE, norm_position, norm)
    tokens = random_tokens(GRAD_BATCH, GRAD_SEQ_LEN, VOCAB_SIZE, seed)
    with threads(1):
        return layer_gradient_norms(model, tokens)


@dataclass(frozen=True)
class GradientProfiles:
    """Per-layer gradient norms (n_layers,) of the same freshly initialized Transformer with `norm`
    after each residual sum (`post`) and inside each branch (`pre`)."""

    norm: str
    post: Tensor
    pre: Tensor


def gradient_profiles(n_layers: int, d_model: int, norm: str = "layer", seed: int = 0) -> GradientProfiles:
    """:func:`gradient_profile` post-LN and pre-LN, from the same seed."""
    post, pre = (gradient_profile(n_layers, d_model, position, norm, seed) for position in ("post", "pre"))
    return GradientProfiles(norm, post, pre)


def growth(profile: Tensor) -> float:
    """Last layer's gradient norm over the first layer's: > 1 when gradients grow towards the output."""
    return (profile[-1] / profile[0]).item()


def growth_by_seed(
    n_layers: int, d_model: int, norm: str = "layer", seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
) -> dict[str, list[float]]:
    """{norm position: [growth of the gradient profile for each seed]}: one random model per seed."""
    return {
        position: [growth(gradient_profile(n_layers, d_model, position, norm, seed)) for seed in seeds]
        for position in NORM_POSITIONS
    }


# ----------------------------------------------------------------------------------------------------
# Where eps goes
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Convention:
    """How a framework guards layer norm's division: sigma = sqrt(var + eps) if `eps_inside_sqrt`,
    else sqrt(var) + eps."""

    label: str
    eps: float
    eps_inside_sqrt: bool


CONVENTIONS: dict[str, Convention] = {
    "torch": Convention("torch: ε = 10⁻⁵ inside the √", 1e-5, True),
    "keras": Convention("Keras: ε = 10⁻³ inside the √", 1e-3, True),
    "lua": Convention("authors' Lua code: ε = 10⁻⁵ outside the √", 1e-5, False),
    "none": Convention("no ε (the paper's eq. (3))", 0.0, True),
}


def normalize(x: Tensor, convention: str) -> Tensor:
    """Layer norm of x: (*, H) over its last dim, gain 1 and bias 0, in the given convention."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {tuple(CONVENTIONS)}, got {convention!r}")
    c = CONVENTIONS[convention]
    return LF.layer_norm(x, x.shape[-1], eps=c.eps, eps_inside_sqrt=c.eps_inside_sqrt)


def small_variance_row(variance: float, n_hidden: int = 16, seed: int = 0) -> Tensor:
    """The fixed pattern scaled to the given (biased) variance, in float32 as the frameworks run. (H,)"""
    if not variance >= 0:
        raise ValueError(f"small_variance_row expected variance >= 0, got variance={variance!r}")
    return (pattern(n_hidden, seed) * variance**0.5).float()


def output_std(normalized: Tensor) -> Tensor:
    """The std over the last dim of normalized rows (*, H) -> (*,), in float64; the rows have mean 0."""
    return normalized.double().pow(2).mean(-1).sqrt()


@dataclass(frozen=True)
class EpsComparison:
    """One row (H,) of the given variance, normalized in every convention: {convention: (H,)}, and
    {convention: std of that output}. Without eps the std is 1 for any nonzero variance; with eps, less
    once the variance comes near eps."""

    variance: float
    row: Tensor
    outputs: dict[str, Tensor]
    stds: dict[str, float]


def eps_comparison(variance: float, n_hidden: int = 16, seed: int = 0) -> EpsComparison:
    """Normalize the pattern scaled to `variance` in each of `CONVENTIONS`."""
    row = small_variance_row(variance, n_hidden, seed)
    outputs = {name: normalize(row, name) for name in CONVENTIONS}
    return EpsComparison(variance, row, outputs, {name: output_std(out).item() for name, out in outputs.items()})


def variance_sweep(variances: Tensor, n_hidden: int = 16, seed: int = 0) -> dict[str, Tensor]:
    """{convention: (N,) output std} for the pattern scaled to each of `variances`: (N,)."""
    rows = torch.stack([small_variance_row(float(v), n_hidden, seed) for v in variances])
    return {name: output_std(normalize(rows, name)) for name in CONVENTIONS}


@dataclass(frozen=True)
class EpsView:
    """One row in every convention (`comparison`), and every convention's output std against the
    variance: `curves` {convention: (N,)} at `variances` (N,)."""

    comparison: EpsComparison
    variances: Tensor
    curves: dict[str, Tensor]


def eps_view(
    variance: float, variances: Tensor, curves: dict[str, Tensor] | None = None, n_hidden: int = 16, seed: int = 0
) -> EpsView:
    """:func:`eps_comparison` at `variance`, with the :func:`variance_sweep` at `variances` (computed unless given)."""
    if curves is None:
        curves = variance_sweep(variances, n_hidden, seed)
    return EpsView(eps_comparison(variance, n_hidden, seed), variances, curves)
