"""Numbers for notebook 01: which entries share statistics, and what the mini-batch does to BN.

Batch normalization (eq. 2) estimates mu_i and sigma_i of hidden unit i over the cases of a mini-batch;
layer normalization (eq. 3) over the H hidden units of one case. Everything here works on an array of
summed inputs `a` of shape (N, H): N cases (rows) by H hidden units (columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from lnviz.nn import functional as LF
from lnviz.nn.norms import BatchNorm, LayerNorm

POOLING_METHODS: tuple[str, ...] = ("batch", "layer")

#: Batch sizes offered by the notebook's slider; 1 is where batch norm breaks down.
BATCH_SIZES: tuple[int, ...] = (1, 2, 3, 4, 8, 16, 32, 64, 128, 256)


def summed_inputs(n_cases: int, n_hidden: int, seed: int = 0) -> torch.Tensor:
    """Summed inputs (N, H) in float64, each unit with its own mean and scale as in a real layer.

    a_{n,i} = m_i + s_i z_{n,i}, m_i ~ N(0, 1), log s_i ~ N(0, 0.5^2), z ~ N(0, 1).
    """
    if n_cases < 1 or n_hidden < 2:
        raise ValueError(f"need at least 1 case and 2 hidden units, got n_cases={n_cases}, n_hidden={n_hidden}")
    gen = torch.Generator().manual_seed(seed)
    mean = torch.randn(n_hidden, generator=gen, dtype=torch.float64)
    scale = torch.exp(0.5 * torch.randn(n_hidden, generator=gen, dtype=torch.float64))
    return mean + scale * torch.randn(n_cases, n_hidden, generator=gen, dtype=torch.float64)


def pooled_mask(method: str, shape: tuple[int, int], case: int, unit: int) -> torch.Tensor:
    """Which entries of an (N, H) array share their mean and std with entry (case, unit). Bool (N, H).

    batch: the column of `unit`, all cases (eq. 2);  layer: the row of `case`, all units (eq. 3).
    """
    n, h = shape
    if not (0 <= case < n and 0 <= unit < h):
        raise ValueError(f"entry (case, unit) must lie in an array of shape {shape}, got ({case}, {unit})")
    mask = torch.zeros(n, h, dtype=torch.bool)
    if method == "batch":
        mask[:, unit] = True
    elif method == "layer":
        mask[case, :] = True
    else:
        raise ValueError(f"method must be one of {POOLING_METHODS}, got {method!r}")
    return mask


def pooled_stats(a: torch.Tensor, mask: torch.Tensor) -> tuple[float, float]:
    """Mean and (biased) standard deviation of the masked entries of `a`."""
    values = a[mask]
    return values.mean().item(), values.var(unbiased=False).sqrt().item()


@dataclass(frozen=True)
class PooledEntry:
    """What one entry (case, unit) of the summed inputs shares under `method`.

    a: (N, H) summed inputs; mask: (N, H) bool, the entries pooled with (case, unit) (:func:`pooled_mask`);
    mean, std: their mean and biased standard deviation (:func:`pooled_stats`).
    """

    a: torch.Tensor
    method: str
    case: int
    unit: int
    mask: torch.Tensor
    mean: float
    std: float


def pooled_entry(a: torch.Tensor, method: str, case: int, unit: int) -> PooledEntry:
    """The entries of `a` (N, H) that share their mean and std with entry (case, unit), and those statistics."""
    mask = pooled_mask(method, (a.shape[0], a.shape[1]), case, unit)
    mean, std = pooled_stats(a, mask)
    return PooledEntry(a, method, case, unit, mask, mean, std)


@dataclass(frozen=True)
class BatchDependence:
    """What batch norm does to one fixed case, drawn into many random mini-batches.

    bn_train: (draws, H) its BN output in training mode, one row per mini-batch it was drawn into;
    bn_eval:  (H,) its BN output in eval mode (population statistics);
    ln_train: (draws, H) its LN output in each of those mini-batches;
    ln:       (H,) its LN output on its own, as in eval mode.
    """

    batch_size: int
    bn_train: torch.Tensor
    bn_eval: torch.Tensor
    ln_train: torch.Tensor
    ln: torch.Tensor

    @property
    def spread(self) -> float:
        """Std of the BN training output across mini-batches, averaged over units."""
        return self.bn_train.std(dim=0, unbiased=False).mean().item()

    @property
    def train_eval_gap(self) -> float:
        """Mean |BN train output - BN eval output| over mini-batches and units."""
        return (self.bn_train - self.bn_eval).abs().mean().item()

    @property
    def ln_spread(self) -> float:
        """`spread` for layer norm: 0, since a case's LN output ignores the rest of its mini-batch."""
        return self.ln_train.std(dim=0, unbiased=False).mean().item()

    @property
    def ln_train_eval_gap(self) -> float:
        """`train_eval_gap` for layer norm: 0, since it computes the same in both modes."""
        return (self.ln_train - self.ln).abs().mean().item()


def batch_dependence(
    batch_size: int, n_draws: int = 100, n_hidden: int = 8, n_population: int = 2000, seed: int = 0, eps: float = 1e-5
) -> BatchDependence:
    """Put case 0 of a population into `n_draws` random mini-batches of `batch_size` and normalize it.

    The other B - 1 members of draw k are the first B - 1 cases of a fixed random ordering of the rest of
    the population (one ordering per draw, from `seed`), so the mini-batches of a larger B contain those
    of a smaller one and the dots of the notebook's plot move smoothly as B changes.
    With B = 1 the case is its own mean, so batch norm outputs 0 (beta) for every unit:
    training-mode batch norm cannot run on a single case (torch refuses it), which is the point.
    """
    if not 1 <= batch_size <= n_population:
        raise ValueError(f"batch_size must be between 1 and n_population={n_population}, got {batch_size}")
    population, orderings = _population(n_draws, n_hidden, n_population, seed)
    case = population[0]
    batches = torch.cat([case.expand(n_draws, 1, n_hidden), population[orderings[:, : batch_size - 1]]], dim=1)
    # eq. (2): mu_i and sigma_i over the B cases of each mini-batch (draws, B, H), separately for every draw
    mu = batches.mean(dim=1)
    var = batches.var(dim=1, unbiased=False)
    bn_train = (case - mu) / torch.sqrt(var + eps)
    bn_eval = LF.batch_norm(case[None], population.mean(0), population.var(0, unbiased=False), training=False, eps=eps)[
        0
    ]
    # eq. (3): mu and sigma over the H units of each case of each mini-batch; the case is member 0
    ln_train = LF.layer_norm(batches, (n_hidden,), eps=eps)[:, 0]
    ln = LF.layer_norm(case[None], (n_hidden,), eps=eps)[0]
    return BatchDependence(batch_size, bn_train, bn_eval, ln_train, ln)


@lru_cache(maxsize=4)
def _population(n_draws: int, n_hidden: int, n_population: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The population (n_population, H) and, per draw, a random ordering of cases 1.. (draws, n_population - 1)."""
    gen = torch.Generator().manual_seed(seed + 1)
    orderings = torch.rand(n_draws, n_population - 1, generator=gen).argsort(dim=1) + 1
    return summed_inputs(n_population, n_hidden, seed), orderings


@dataclass(frozen=True)
class DependenceCurve:
    """:func:`batch_dependence` at each of K batch sizes.

    runs: {B: BatchDependence}; sizes: (K,) the batch sizes in order; spreads, gaps: (K,) each run's
    `spread` and `train_eval_gap`, in the order of `sizes`.
    """

    runs: dict[int, BatchDependence]
    sizes: tuple[int, ...]
    spreads: tuple[float, ...]
    gaps: tuple[float, ...]


def dependence_curve(batch_sizes: tuple[int, ...] = BATCH_SIZES, **kwargs) -> DependenceCurve:
    """:func:`batch_dependence` (with `kwargs`) for each batch size, with its spread and gap."""
    runs = {b: batch_dependence(b, **kwargs) for b in batch_sizes}
    return DependenceCurve(
        runs=runs,
        sizes=tuple(runs),
        spreads=tuple(r.spread for r in runs.values()),
        gaps=tuple(r.train_eval_gap for r in runs.values()),
    )


def layer_norm_case(a: torch.Tensor, gain: float, bias: float, eps: float = 1e-5) -> torch.Tensor:
    """LN of one case's summed inputs `a` (H,) with every g_i = gain and b_i = bias (eq. 3 and 5)."""
    h = a.shape[-1]
    return LF.layer_norm(a, (h,), torch.full((h,), gain, dtype=a.dtype), torch.full((h,), bias, dtype=a.dtype), eps)


@dataclass(frozen=True)
class GainBiasCase:
    """One case before and after layer norm with every g_i = gain and b_i = bias.

    a: (H,) its summed inputs (scaled and shifted); h: (H,) their LN output (:func:`layer_norm_case`).
    """

    a: torch.Tensor
    h: torch.Tensor
    gain: float
    bias: float


def gain_bias_case(
    a: torch.Tensor, gain: float, bias: float, input_scale: float = 1.0, input_shift: float = 0.0
) -> GainBiasCase:
    """Scale and shift one case's summed inputs `a` (H,), then layer-normalize them with `gain` and `bias`."""
    moved = input_scale * a + input_shift
    return GainBiasCase(moved, layer_norm_case(moved, gain, bias), gain, bias)


@dataclass(frozen=True)
class TrainEvalGap:
    """Batch norm and layer norm run on one mini-batch in training mode, then in eval mode.

    bn_gap, ln_gap: the largest |train - eval| output difference of each;
    batch_mean: (H,) the mini-batch's mean; running_mean: (H,) batch norm's running mean after that one step.
    """

    bn_gap: float
    ln_gap: float
    batch_mean: torch.Tensor
    running_mean: torch.Tensor


def train_eval_gap(n_cases: int = 4, n_hidden: int = 8, seed: int = 0) -> TrainEvalGap:
    """Section 3: LN "performs exactly the same computation at training and test times"; BN does not.

    A mini-batch x ~ N(3, 2^2), (n_cases, n_hidden), through fresh lnviz.BatchNorm and lnviz.LayerNorm.
    """
    gen = torch.Generator().manual_seed(seed)
    x = 3 + 2 * torch.randn(n_cases, n_hidden, generator=gen)
    bn, ln = BatchNorm(n_hidden), LayerNorm(n_hidden)
    with torch.no_grad():
        bn_gap = (bn.train()(x) - bn.eval()(x)).abs().max().item()
        ln_gap = (ln.train()(x) - ln.eval()(x)).abs().max().item()
    return TrainEvalGap(bn_gap, ln_gap, x.mean(0), bn.running_mean.clone())
