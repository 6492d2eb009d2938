"""Forward+backward cost of lnviz.LayerNorm and of the teaching formula, relative to F.layer_norm.

    python benchmarks/bench_layernorm.py [--seconds S] [--threads T] [--no-check]

The contenders run on the same input, weight, bias and upstream gradient, interleaved in a fresh
random order every round, for about S seconds per size. The table gives each contender's median
time; each ratio is the median over rounds of that round's time divided by F.layer_norm's in the
same round, so load from other processes, which comes and goes between rounds, cancels out
(on a shared machine the ratio of the two medians can swing by 2x at the largest size).
Exits 1 if lnviz.LayerNorm costs more than 1.1x F.layer_norm at any size, unless --no-check.
The teaching formula's ratio is reported only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from lnviz.nn import functional as LF
from lnviz.nn.norms import LayerNorm

# (cases, hidden): one batch, one batch of T=64 time steps flattened, a wider layer
SIZES = [(64, 128), (64 * 64, 128), (256, 512)]
MAX_MODULE_RATIO = 1.1
MIN_ROUNDS, MAX_ROUNDS = 30, 3000


def _contenders(module: LayerNorm) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    shape, weight, bias, eps = module.normalized_shape, module.weight, module.bias, module.eps
    return {
        "F.layer_norm": lambda x: F.layer_norm(x, shape, weight, bias, eps),
        "lnviz.LayerNorm": module,
        "teaching formula": lambda x: LF.layer_norm(x, shape, weight, bias, eps),
    }


def _time_once(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, grad: torch.Tensor, inputs: tuple[torch.Tensor, ...]
) -> float:
    """Seconds for one forward and one backward (gradients w.r.t. x, weight and bias)."""
    start = time.perf_counter()
    torch.autograd.grad(fn(x), inputs, grad)
    return time.perf_counter() - start


def bench(cases: int, hidden: int, seconds: float, seed: int = 0) -> tuple[dict[str, float], dict[str, float], int]:
    """Median seconds per forward+backward of each contender on x: (cases, hidden), the median
    per-round ratio of each to F.layer_norm, and the number of rounds run."""
    gen = torch.Generator().manual_seed(seed)
    module = LayerNorm(hidden)
    with torch.no_grad():
        module.weight.copy_(torch.randn(hidden, generator=gen))
        module.bias.copy_(torch.randn(hidden, generator=gen))
    x = torch.randn(cases, hidden, generator=gen).requires_grad_()
    grad = torch.randn(cases, hidden, generator=gen)
    inputs = (x, module.weight, module.bias)
    contenders = _contenders(module)
    names = list(contenders)
    # Warm-up (allocator, autograd and dispatch caches), which also prices one round.
    round_seconds = sum(
        statistics.median(_time_once(contenders[name], x, grad, inputs) for _ in range(5)) for name in names
    )
    rounds = max(MIN_ROUNDS, min(MAX_ROUNDS, int(seconds / round_seconds)))
    times: dict[str, list[float]] = {name: [] for name in names}
    order = random.Random(seed)
    for _ in range(rounds):
        order.shuffle(names)
        for name in names:
            times[name].append(_time_once(contenders[name], x, grad, inputs))
    base = times["F.layer_norm"]
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    ratios = {name: statistics.median(t / b for t, b in zip(ts, base)) for name, ts in times.items()}
    return medians, ratios, rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="time budget per size (default 5)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (default 1: steadier on a shared machine)"
    )
    parser.add_argument("--no-check", action="store_true", help=f"do not fail above {MAX_MODULE_RATIO}x")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    print(
        f"torch {torch.__version__}, {args.threads} thread(s); median us per forward+backward, median per-round ratios"
    )
    print(
        f"{'size':>12} {'rounds':>6} {'F.layer_norm':>13} {'LayerNorm':>10} {'teaching':>10} "
        f"{'module/F':>9} {'teaching/F':>11}"
    )
    worst = 0.0
    for cases, hidden in SIZES:
        median, ratio, rounds = bench(cases, hidden, args.seconds)
        worst = max(worst, ratio["lnviz.LayerNorm"])
        print(
            f"{f'({cases}, {hidden})':>12} {rounds:6d} {median['F.layer_norm'] * 1e6:13.1f} "
            f"{median['lnviz.LayerNorm'] * 1e6:10.1f} {median['teaching formula'] * 1e6:10.1f} "
            f"{ratio['lnviz.LayerNorm']:9.3f} {ratio['teaching formula']:11.2f}"
        )

    verdict = "ok" if worst <= MAX_MODULE_RATIO else "TOO SLOW"
    print(f"worst lnviz.LayerNorm / F.layer_norm = {worst:.3f} (target <= {MAX_MODULE_RATIO}): {verdict}")
    return 0 if args.no_check or worst <= MAX_MODULE_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
