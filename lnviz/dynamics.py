"""Numbers for notebook 3: hidden-state dynamics of recurrent nets with and without normalization.

The paper's claim (abstract, eq. 4): layer normalization "is very effective at stabilizing the hidden
state dynamics in recurrent networks". Here the same random recurrent net (same weights) runs with no
normalization, layer norm and recurrent batch norm, and we record, per time step, the summed inputs
and what the nonlinearities receive, the hidden-state norm, and how the gradient of a loss at the last
step flows back through time. The recurrent weights are scaled to a chosen spectral radius: each gate
block of W_hh is rho times a random orthogonal matrix, so all its eigenvalues have modulus rho.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from lnviz.nn.cells import CELLS, NORMS, RecurrentCell
from lnviz.nn.recurrent import Recurrent
from lnviz.scheduler import threads

#: Bin edges of the histograms of what the nonlinearities receive; values beyond are counted at the ends.
HISTOGRAM_EDGES = np.linspace(-6.0, 6.0, 49)


def make_cell(
    kind: str,
    norm: str,
    spectral_radius: float,
    input_size: int = 16,
    hidden_size: int = 64,
    max_steps: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> RecurrentCell:
    """A cell whose W_hh gate blocks are `spectral_radius` times random orthogonal matrices, whose
    W_ih ~ N(0, 1/input_size), so that x W_ih^T has unit variance per unit for unit-variance input, and
    whose biases b_ih, b_hh ~ U(-1/sqrt(H), 1/sqrt(H)) as torch initializes them.

    The weights and biases depend on `seed` only, not on `norm` nor on torch's global random state: the
    three variants share them exactly (the LN RNN has no b_ih, b_hh: its layer norm's bias replaces them),
    and the same call gives the same cell every time.
    """
    if kind not in CELLS:
        raise ValueError(f"kind must be one of {tuple(CELLS)}, got {kind!r}")
    if not spectral_radius > 0:
        raise ValueError(f"spectral_radius must be > 0, got {spectral_radius!r}")
    cell = CELLS[kind](
        input_size, hidden_size, norm=norm, max_steps=max_steps if norm == "batch" else None, device=device
    )
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        blocks = cell.weight_hh.shape[0] // hidden_size
        for k in range(blocks):
            q, r = torch.linalg.qr(torch.randn(hidden_size, hidden_size, generator=gen, dtype=torch.float64))
            q = q * torch.sign(torch.diagonal(r))  # a uniformly random orthogonal matrix (Mezzadri, 2007)
            cell.weight_hh[k * hidden_size : (k + 1) * hidden_size] = spectral_radius * q.to(cell.weight_hh)
        cell.weight_ih.copy_(torch.randn(cell.weight_ih.shape, generator=gen) / input_size**0.5)
        for name in ("bias_ih", "bias_hh"):  # drawn even where absent, so that a cell's biases never depend on norm
            bias = (2 * torch.rand(cell.weight_hh.shape[0], generator=gen) - 1) / hidden_size**0.5
            if getattr(cell, name, None) is not None:
                getattr(cell, name).copy_(bias)
    return cell


@dataclass(frozen=True)
class Dynamics:
    """Per-step statistics of one run, each (T,) averaged over the cases of the batch, and histograms.

    summed_mean, summed_std: mean and std over units of the summed inputs a_t before normalization;
    normalized_mean, normalized_std: the same for what the nonlinearities receive;
    hidden_norm: ||h_t||; saturation: fraction of saturated gate units;
    grad_norm: ||dL/dh_t|| for L = sum over cases of v . h_T with a fixed unit vector v, so it is 1 at
        the last step and shows how the gradient shrinks or grows on its way back through time;
    histograms: (T, bins) fraction of the B*U values the nonlinearities receive at step t in each bin
        of HISTOGRAM_EDGES (values outside counted in the end bins).
    """

    kind: str
    norm: str
    summed_mean: np.ndarray
    summed_std: np.ndarray
    normalized_mean: np.ndarray
    normalized_std: np.ndarray
    hidden_norm: np.ndarray
    saturation: np.ndarray
    grad_norm: np.ndarray
    histograms: np.ndarray


def simulate(
    kind: str = "rnn",
    norm: str = "none",
    spectral_radius: float = 1.0,
    input_scale: float = 1.0,
    length: int = 100,
    batch: int = 32,
    input_size: int = 16,
    hidden_size: int = 64,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> Dynamics:
    """Run a fresh random cell (training mode: batch norm uses each step's batch statistics) over a
    random sequence x ~ N(0, input_scale^2), (batch, length, input_size), and record its dynamics."""
    if length < 1:
        raise ValueError(f"length must be at least 1 time step, got {length}")
    if not input_scale >= 0:
        raise ValueError(f"input_scale must be >= 0, got {input_scale!r}")
    cell = make_cell(kind, norm, spectral_radius, input_size, hidden_size, max_steps=length, seed=seed, device=device)
    gen = torch.Generator().manual_seed(seed + 1)
    x = input_scale * torch.randn(batch, length, input_size, generator=gen)
    v = torch.randn(hidden_size, generator=gen)
    x, v = x.to(device), (v / v.norm()).to(device)
    with threads(1):
        outputs, _, trace = Recurrent(cell)(x, record=True)
        (outputs[:, -1] @ v).sum().backward()  # dL/dh_T = v for every case

    def per_step(t: torch.Tensor) -> np.ndarray:
        return t.mean(dim=1).cpu().numpy()

    values = trace.normalized.clamp(HISTOGRAM_EDGES[0], HISTOGRAM_EDGES[-1]).flatten(1).cpu().numpy()
    histograms = np.stack([np.histogram(row, bins=HISTOGRAM_EDGES)[0] for row in values]) / values.shape[1]
    return Dynamics(
        kind,
        norm,
        per_step(trace.summed_mean),
        per_step(trace.summed_std),
        per_step(trace.normalized_mean),
        per_step(trace.normalized_std),
        per_step(trace.hidden_norm),
        per_step(trace.saturation),
        per_step(trace.grad_norms()),
        histograms,
    )


def simulate_all(**kwargs) -> dict[str, Dynamics]:
    """:func:`simulate` for each of the three norms, same weights and inputs."""
    return {norm: simulate(norm=norm, **kwargs) for norm in NORMS}


@dataclass(frozen=True)
class StepStatistics:
    """Recurrent batch norm's per-step statistics, and test sequences longer than the training ones.

    running_mean, running_std: (max_steps,) the running statistics of each step, averaged over units;
    test_mean, test_std: (T,) the batch statistics the test sequences actually have at each step;
    used_mean, used_std: (T,) the statistics eval mode normalizes them with (row min(t, max_steps - 1));
    mismatch: (T,) mean over units of |actual - used mean| / used std: how far off the normalization is,
        in units of the standard deviation it divides by.
    """

    max_steps: int
    running_mean: np.ndarray
    running_std: np.ndarray
    test_mean: np.ndarray
    test_std: np.ndarray
    used_mean: np.ndarray
    used_std: np.ndarray
    mismatch: np.ndarray

    @property
    def mismatch_after(self) -> float | None:
        """Mean mismatch over the test steps past the training length; None if the test has no such step."""
        later = self.mismatch[self.max_steps :]
        return float(later.mean()) if len(later) else None


def mnist_rows(split: str = "train", n: int = 2000) -> torch.Tensor:
    """The first n MNIST digits of a split read row by row: (n, 28, 28) float32 in [0, 1], one row a step.

    Uses the digits shipped with lnviz unless the full MNIST is already in the cache (no download);
    any 2,000 real digits serve here, so the fallback is not worth a warning.
    """
    from lnviz import data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.MNISTFallbackWarning)
        images, _ = data.mnist(split, download=False)
    return data.as_sequences(images[:n], k=28)


def batch_norm_step_statistics(
    train_length: int = 14,
    train: torch.Tensor | None = None,
    test: torch.Tensor | None = None,
    kind: str = "rnn",
    hidden_size: int = 64,
    batches: int = 100,
    batch: int = 32,
    seed: int = 0,
) -> StepStatistics:
    """Estimate recurrent batch norm's per-step statistics on the first `train_length` steps of training
    sequences (training mode, forward only, `batches` mini-batches), then run whole test sequences in
    eval mode and compare, step by step, the statistics their summed inputs have with the ones they
    are normalized with. Steps past `train_length` have no statistics of their own and use the last.

    train, test: (N, T, input_size) sequences; by default MNIST digits read row by row (T = 28), whose
    statistics change a lot from step to step (the top and bottom rows are blank).
    For the RNN the statistics are those of its one batch norm (over the joint summed input); for the
    LSTM and GRU those of the recurrent term's batch norm `bn_hh`.
    """
    train = mnist_rows("train") if train is None else train
    test = mnist_rows("test", 512) if test is None else test
    if not 1 <= train_length <= train.shape[1]:
        raise ValueError(f"train_length must be between 1 and the sequence length {train.shape[1]}, got {train_length}")
    input_size = train.shape[2]
    cell = make_cell(kind, "batch", 1.0, input_size, hidden_size, max_steps=train_length, seed=seed)
    bn = cell.bn if kind == "rnn" else cell.bn_hh
    run = Recurrent(cell)
    gen = torch.Generator().manual_seed(seed + 2)
    with torch.no_grad(), threads(1):
        cell.train()
        for _ in range(batches):
            rows = torch.randint(train.shape[0], (batch,), generator=gen)
            run(train[rows, :train_length])
        cell.eval()
        _, _, trace = run(test, record=True)
        if kind == "rnn":
            a = trace.summed  # (T, N, H): the joint summed input the one batch norm sees
        else:  # the recurrent term h_{t-1} W_hh^T = summed - x_t W_ih^T
            a = trace.summed - torch.einsum("nti,ui->tnu", test, cell.weight_ih)
    actual_mean, actual_std = a.mean(1), a.var(1, unbiased=False).sqrt()  # (T, U): batch statistics per step
    steps = torch.clamp(torch.arange(a.shape[0]), max=train_length - 1)
    used_mean, used_std = bn.running_mean[steps], (bn.running_var[steps] + bn.eps).sqrt()
    mismatch = ((actual_mean - used_mean).abs() / used_std).mean(1)
    return StepStatistics(
        train_length,
        bn.running_mean.mean(1).numpy(),
        bn.running_var.sqrt().mean(1).numpy(),
        actual_mean.mean(1).numpy(),
        actual_std.mean(1).numpy(),
        used_mean.mean(1).numpy(),
        used_std.mean(1).numpy(),
        mismatch.numpy(),
    )
