"""Forward+backward cost of RMS norm relative to layer norm, each pair implemented the same way.

    python benchmarks/bench_rmsnorm.py [--seconds S] [--threads T]

Zhang and Sennrich (2019) motivate RMS norm by speed: without the mean there is one reduction and
one subtraction less. Two pairs are raced on the same input, gain and upstream gradient (layer
norm also has its bias):
  torch:       F.rms_norm against F.layer_norm, what a model would call;
  written out: lnviz.functional.rms_norm against lnviz.functional.layer_norm, the equations as
               elementary tensor operations, so that the arithmetic saved is all that differs.
All four run interleaved in a fresh random order every round, for about S seconds per size. The
table gives each one's median time; each ratio is the median over rounds of RMS norm's time divided
by layer norm's in the same round, so that load from other processes, which comes and goes between
rounds, cancels out. Report only: the ratios depend on the machine and the torch build.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch

from lnviz.after2016 import SPEED_PAIRS, forward_backward_contenders, per_round_ratio, race

# (cases, hidden): a small batch, a batch of 64 time steps flattened, a wider layer, a very wide one
SIZES = [(64, 128), (64 * 64, 128), (256, 512), (64, 4096)]
MIN_ROUNDS, MAX_ROUNDS = 20, 3000


def bench(cases: int, hidden: int, seconds: float, seed: int = 0) -> tuple[dict[str, float], dict[str, float], int]:
    """Median seconds per forward+backward of each contender on (cases, hidden), the per-round
    RMS/layer ratio of each pair, and the number of rounds run."""
    contenders = forward_backward_contenders(cases, hidden, seed)
    # A few rounds price one round and warm everything up.
    probe = race(contenders, 3, seed)
    round_seconds = sum(statistics.median(ts) for ts in probe.values())
    rounds = max(MIN_ROUNDS, min(MAX_ROUNDS, int(seconds / round_seconds)))
    times = race(contenders, rounds, seed)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    ratios = {pair: per_round_ratio(times, rms, layer) for pair, (layer, rms) in SPEED_PAIRS.items()}
    return medians, ratios, rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="time budget per size (default 4)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (default 1: steadier on a shared machine)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    print(
        f"torch {torch.__version__}, {args.threads} thread(s); median us per forward+backward; "
        f"RMS/layer = median per-round ratio"
    )
    print(
        f"{'size':>12} {'rounds':>6} {'F.layer':>9} {'F.rms':>9} {'LF.layer':>9} {'LF.rms':>9} "
        f"{'RMS/layer torch':>16} {'RMS/layer written out':>22}"
    )
    for cases, hidden in SIZES:
        median, ratio, rounds = bench(cases, hidden, args.seconds)
        us = [median[name] * 1e6 for pair in SPEED_PAIRS.values() for name in pair]
        print(
            f"{f'({cases}, {hidden})':>12} {rounds:6d} "
            + " ".join(f"{u:9.1f}" for u in us)
            + f" {ratio['torch']:16.2f} {ratio['written out']:22.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
