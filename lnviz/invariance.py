"""The paper's Table 1, computed rather than typed in.

Section 5.1 of Ba, Kiros and Hinton (2016) compares the invariance properties of batch, weight and layer
normalization. All three compute, for a layer with weight matrix W and input x, a normalized summed input

    h_i = (g_i / sigma_i) * (a_i - mu_i) + b_i,    a_i = w_i^T x                       (eq. 5)

and differ only in where mu and sigma come from. Here each cell of the table is *measured*: draw a random
layer and a random data set, apply a random transformation of one kind, and compare the normalized summed
inputs before and after. A method is invariant to a transformation when they agree to rounding error.

The computation runs in float64 with eps = 0 (the paper's equations have no eps; a positive eps breaks
the rescaling invariances by a relative amount of order eps / sigma^2, which the notebook lets you see).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lnviz.nn import functional as LF

METHODS: tuple[str, ...] = ("batch", "weight", "layer", "rms")
TRANSFORMATIONS: tuple[str, ...] = (
    "weight_matrix_rescaling",
    "weight_matrix_recentering",
    "weight_vector_rescaling",
    "dataset_rescaling",
    "dataset_recentering",
    "case_rescaling",
)

#: The paper's Table 1 as printed (True = "Invariant", False = "No"). The paper has no RMS norm row.
PAPER_TABLE_1: dict[str, dict[str, bool]] = {
    "batch": dict(zip(TRANSFORMATIONS, (True, False, True, True, True, False))),
    "weight": dict(zip(TRANSFORMATIONS, (True, False, True, False, False, False))),
    "layer": dict(zip(TRANSFORMATIONS, (True, True, False, True, False, True))),
}

#: A relative deviation below this is rounding error in float64; above it, the output changed.
INVARIANCE_TOLERANCE = 1e-9

#: Sizes of the random layer and data set: N cases, D inputs, H hidden units.
N_CASES, N_INPUTS, N_HIDDEN = 16, 12, 10


@dataclass(frozen=True)
class Layer:
    """A random layer and data set. `weight`: (H, D) (the v of weight norm); `x`: (N, D)."""

    weight: torch.Tensor
    x: torch.Tensor


def random_layer(seed: int = 0, n_cases: int = N_CASES, n_inputs: int = N_INPUTS, n_hidden: int = N_HIDDEN) -> Layer:
    """A layer with weights ~ N(0, 1/D) and data ~ N(0.5, 1): a nonzero data mean, as real data has."""
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(n_hidden, n_inputs, generator=gen, dtype=torch.float64) / n_inputs**0.5
    x = 0.5 + torch.randn(n_cases, n_inputs, generator=gen, dtype=torch.float64)
    return Layer(weight, x)


def normalized_summed_inputs(method: str, layer: Layer) -> torch.Tensor:
    """h of eq. (5) with gain 1 and bias 0 for one method. Returns (N, H).

    batch:  mu, sigma over the N cases of each hidden unit                      (eq. 2)
    layer:  mu, sigma over the H hidden units of each case                      (eq. 3)
    weight: mu = 0, sigma = ||w_i||, i.e. a_i = (v_i / ||v_i||)^T x            (section 5.1)
    rms:    mu = 0, sigma = sqrt(mean_i a_i^2) over the H units (Zhang and Sennrich, 2019)
    """
    if method == "weight":
        gain = torch.ones(layer.weight.shape[0], 1, dtype=layer.weight.dtype)
        return layer.x @ LF.weight_norm(layer.weight, gain, dim=0).T
    a = layer.x @ layer.weight.T  # summed inputs, eq. (1): a_i = w_i^T x
    hidden = a.shape[-1]
    if method == "batch":
        return LF.batch_norm(a, None, None, training=True, eps=0.0)
    if method == "layer":
        return LF.layer_norm(a, (hidden,), eps=0.0)
    if method == "rms":
        return LF.rms_norm(a, (hidden,), eps=0.0)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def transform(layer: Layer, transformation: str, magnitude: float, seed: int = 0) -> Layer:
    """Apply a random transformation of the given kind. `magnitude` 0 is the identity.

    Rescalings multiply by exp(magnitude * u) (u = 1, or u uniform in [-1, 1] per row where each row
    gets its own factor), so the factors stay positive; recenterings add magnitude * z with z a random
    vector on the scale of a row of W, or of one case of the data.
    """
    if transformation not in TRANSFORMATIONS:
        raise ValueError(f"transformation must be one of {TRANSFORMATIONS}, got {transformation!r}")
    if not magnitude >= 0:
        raise ValueError(f"magnitude must be a number >= 0, got {magnitude!r}")
    gen = torch.Generator().manual_seed(10_000 + seed)
    w, x = layer.weight, layer.x
    (h, d), n = w.shape, x.shape[0]

    def per_row_factors(rows: int) -> torch.Tensor:
        u = 2 * torch.rand(rows, 1, generator=gen, dtype=w.dtype) - 1
        return torch.exp(magnitude * u)

    if transformation == "weight_matrix_rescaling":  # W' = delta W
        return Layer(w * torch.exp(torch.tensor(magnitude, dtype=w.dtype)), x)
    if transformation == "weight_matrix_recentering":  # W' = W + 1 gamma^T: every row moves the same way
        gamma = magnitude * torch.randn(1, d, generator=gen, dtype=w.dtype) / d**0.5
        return Layer(w + gamma, x)
    if transformation == "weight_vector_rescaling":  # w_i' = delta_i w_i: one incoming weight vector each
        return Layer(w * per_row_factors(h), x)
    if transformation == "dataset_rescaling":  # x' = delta x for every case
        return Layer(w, x * torch.exp(torch.tensor(magnitude, dtype=x.dtype)))
    if transformation == "dataset_recentering":  # x' = x + gamma for every case
        return Layer(w, x + magnitude * torch.randn(1, d, generator=gen, dtype=x.dtype))
    # case_rescaling: x_n' = delta_n x_n, each training case by its own factor
    return Layer(w, x * per_row_factors(n))


@dataclass(frozen=True)
class Comparison:
    """Normalized summed inputs before and after a transformation, both (N, H), and their deviation."""

    before: torch.Tensor
    after: torch.Tensor
    deviation: float


def compare(method: str, transformation: str, magnitude: float, seed: int = 0) -> Comparison:
    """Transform a random layer (seeded) and measure how much the normalized summed inputs move.

    The deviation is relative: ||h' - h||_F / ||h||_F.
    """
    layer = random_layer(seed)
    before = normalized_summed_inputs(method, layer)
    after = normalized_summed_inputs(method, transform(layer, transformation, magnitude, seed))
    deviation = (torch.linalg.norm(after - before) / torch.linalg.norm(before)).item()
    return Comparison(before, after, deviation)


def deviation(method: str, transformation: str, magnitude: float, seed: int = 0) -> float:
    """The relative deviation of :func:`compare`: 0 (to rounding) where the method is invariant."""
    return compare(method, transformation, magnitude, seed).deviation


def deviation_curves(transformation: str, magnitudes, seed: int = 0) -> dict[str, list[float]]:
    """{method: [deviation at each magnitude]} for one transformation and one random layer."""
    return {m: [deviation(m, transformation, g, seed) for g in magnitudes] for m in METHODS}


@dataclass(frozen=True)
class InvarianceView:
    """One method under one transformation of a given magnitude, and every method's deviation curve.

    comparison: h before and after, (N, H) each, for `method`; magnitudes: (K,) the magnitudes of the
    curves; curves: {method: (K,) relative deviation at each magnitude} under `transformation`.
    """

    method: str
    transformation: str
    magnitude: float
    comparison: Comparison
    magnitudes: tuple[float, ...]
    curves: dict[str, list[float]]


def invariance_view(
    method: str,
    transformation: str,
    magnitude: float,
    magnitudes: tuple[float, ...],
    curves: dict[str, list[float]] | None = None,
    seed: int = 0,
) -> InvarianceView:
    """:func:`compare` for one method, with the curves of :func:`deviation_curves` (computed unless given)."""
    if curves is None:
        curves = deviation_curves(transformation, magnitudes, seed)
    comparison = compare(method, transformation, magnitude, seed)
    return InvarianceView(method, transformation, magnitude, comparison, tuple(magnitudes), curves)


def deviations(magnitude: float = 1.0, seeds: tuple[int, ...] = (0, 1, 2)) -> dict[str, dict[str, float]]:
    """The largest deviation over a few random layers, for every method and transformation."""
    return {m: {t: max(deviation(m, t, magnitude, s) for s in seeds) for t in TRANSFORMATIONS} for m in METHODS}


def agreement(
    computed: dict[str, dict[str, bool]], paper: dict[str, dict[str, bool]] = PAPER_TABLE_1
) -> tuple[int, int]:
    """(cells of `computed` that agree with the paper's Table 1, cells the paper has)."""
    cells = [(m, t) for m in paper for t in TRANSFORMATIONS]
    return sum(computed[m][t] == paper[m][t] for m, t in cells), len(cells)


def table(magnitude: float = 1.0, seeds: tuple[int, ...] = (0, 1, 2)) -> dict[str, dict[str, bool]]:
    """Table 1 as measured: {method: {transformation: invariant?}} for batch, weight, layer and rms."""
    return {
        m: {t: dev < INVARIANCE_TOLERANCE for t, dev in row.items()} for m, row in deviations(magnitude, seeds).items()
    }
