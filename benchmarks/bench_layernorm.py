"""Forward+backward cost of lnviz.LayerNorm and of the teaching formula, relative to F.layer_norm.

    python benchmarks/bench_layernorm.py [--repeats N] [--threads T] [--no-check]

The contenders run on the same input, weight, bias and upstream gradient, interleaved in a fresh
random order every round so that load from other processes falls on all of them alike; each
figure is the median over the rounds. Exits 1 if lnviz.LayerNorm costs more than 1.1x
F.layer_norm at any size, unless --no-check. The teaching formula's ratio is reported only.
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

from lnviz import functional as LF
from lnviz.norms import LayerNorm

# (cases, hidden): one batch, one batch of T=64 time steps flattened, a wider layer
SIZES = [(64, 128), (64 * 64, 128), (256, 512)]
MAX_MODULE_RATIO = 1.1


def _contenders(module: LayerNorm) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    shape, weight, bias, eps = module.normalized_shape, module.weight, module.bias, module.eps
    return {
        "F.layer_norm": lambda x: F.layer_norm(x, shape, weight, bias, eps),
        "lnviz.LayerNorm": module,
        "teaching formula": lambda x: LF.layer_norm(x, shape, weight, bias, eps),
    }


def _time_once(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, grad: torch.Tensor,
               inputs: tuple[torch.Tensor, ...]) -> float:
    """Seconds for one forward and one backward (gradients w.r.t. x, weight and bias)."""
    start = time.perf_counter()
    torch.autograd.grad(fn(x), inputs, grad)
    return time.perf_counter() - start


def bench(cases: int, hidden: int, repeats: int, seed: int = 0) -> dict[str, float]:
    """Median seconds per forward+backward for each contender on x: (cases, hidden)."""
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
    for name in names:  # warm-up: allocator, autograd and kernel dispatch caches
        for _ in range(5):
            _time_once(contenders[name], x, grad, inputs)
    times: dict[str, list[float]] = {name: [] for name in names}
    order = random.Random(seed)
    for _ in range(repeats):
        order.shuffle(names)
        for name in names:
            times[name].append(_time_once(contenders[name], x, grad, inputs))
    return {name: statistics.median(ts) for name, ts in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=300, help="rounds per size (default 300)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: steadier on a shared machine)")
    parser.add_argument("--no-check", action="store_true", help=f"do not fail above {MAX_MODULE_RATIO}x")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.repeats} rounds, median us per forward+backward")
    print(f"{'size':>12} {'F.layer_norm':>13} {'LayerNorm':>10} {'teaching':>10} {'module/F':>9} {'teaching/F':>11}")
    worst = 0.0
    for cases, hidden in SIZES:
        median = bench(cases, hidden, args.repeats)
        base = median["F.layer_norm"]
        module_ratio = median["lnviz.LayerNorm"] / base
        teaching_ratio = median["teaching formula"] / base
        worst = max(worst, module_ratio)
        print(f"{f'({cases}, {hidden})':>12} {base * 1e6:13.1f} {median['lnviz.LayerNorm'] * 1e6:10.1f} "
              f"{median['teaching formula'] * 1e6:10.1f} {module_ratio:9.3f} {teaching_ratio:11.2f}")

    verdict = "ok" if worst <= MAX_MODULE_RATIO else "TOO SLOW"
    print(f"worst lnviz.LayerNorm / F.layer_norm = {worst:.3f} (target <= {MAX_MODULE_RATIO}): {verdict}")
    return 0 if args.no_check or worst <= MAX_MODULE_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
