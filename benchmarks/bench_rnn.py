"""How much layer normalization costs an LSTM on this CPU, as ratios of forward+backward times.

For T=64, batch 64, input 32 and hidden 128 and 512, times one forward and backward pass over a
sequence for:
  torch_lstm   torch.nn.LSTM, the fused reference
  loop         the straightforward Python-loop LSTM: per step, the two matrix products, the gate
               nonlinearities and the cell update written out in torch (what the design notes
               measured at about 3.2x torch.nn.LSTM)
  cell_loop    a Python loop of torch.nn.LSTMCell (C++ gates), one call per step: a stricter reference
  lnviz_none   lnviz.Recurrent(lnviz.LSTMCell(norm="none"))
  lnviz_layer  lnviz.Recurrent(lnviz.LSTMCell(norm="layer")), the LN-LSTM. For both, Recurrent
               computes the input side for all steps at once and runs lnviz.nn.bptt, whose backward
               pass through time is written out (no autograd graph per step)
  ln_naive     the same LN-LSTM cell called once per step (cell(x_t, state)) and differentiated by
               autograd, nothing hoisted
The contenders run interleaved, round after round; a ratio is the median over rounds of the ratio
within each round, so that load from elsewhere that drifts slowly affects both sides alike.
Prints the median times and the ratios.

Targets: lnviz_layer / lnviz_none <= 1.3 (LN costs at most 30%) and lnviz_layer / loop <= 1.0 (the
LN-LSTM is no slower than the straightforward loop LSTM without LN). lnviz_layer / cell_loop is reported.
Exits 1 on a missed target unless
--no-check. Uses torch's default number of threads unless --threads. About two minutes with the
defaults on an idle machine; other load on the machine slows every contender and blurs the ratios.

    python benchmarks/bench_rnn.py [--repeats 9] [--hidden 128 512] [--threads N] [--no-check]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from lnviz.nn.cells import LSTMCell
from lnviz.nn.recurrent import Recurrent

TIME_STEPS, BATCH, INPUT = 64, 64, 32
MAX_LN_OVER_NONE = 1.3
MAX_LN_OVER_LOOP = 1.0


def contenders(x: Tensor, hidden: int) -> dict[str, tuple[nn.Module, Callable[[], Tensor]]]:
    """name -> (module whose grads to clear, a function running the forward pass to a scalar loss)."""
    torch_lstm = nn.LSTM(INPUT, hidden, batch_first=True)
    torch_cell = nn.LSTMCell(INPUT, hidden)
    none = Recurrent(LSTMCell(INPUT, hidden, norm="none"))
    layer = Recurrent(LSTMCell(INPUT, hidden, norm="layer"))
    ln_cell = LSTMCell(INPUT, hidden, norm="layer")

    def loop() -> Tensor:
        h = c = x.new_zeros(x.shape[0], hidden)
        outputs = []
        for t in range(x.shape[1]):
            gates = (
                x[:, t] @ torch_cell.weight_ih.t()
                + torch_cell.bias_ih
                + h @ torch_cell.weight_hh.t()
                + torch_cell.bias_hh
            )
            i, f, g, o = gates.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, 1).sum()

    def cell_loop() -> Tensor:
        state = None
        outputs = []
        for t in range(x.shape[1]):
            state = torch_cell(x[:, t], state)
            outputs.append(state[0])
        return torch.stack(outputs, 1).sum()

    def ln_naive() -> Tensor:
        state = None
        outputs = []
        for t in range(x.shape[1]):
            state = ln_cell(x[:, t], state)
            outputs.append(state[0])
        return torch.stack(outputs, 1).sum()

    return {
        "torch_lstm": (torch_lstm, lambda: torch_lstm(x)[0].sum()),
        "loop": (torch_cell, loop),
        "cell_loop": (torch_cell, cell_loop),
        "lnviz_layer": (layer, lambda: layer(x)[0].sum()),
        "lnviz_none": (none, lambda: none(x)[0].sum()),
        "ln_naive": (ln_cell, ln_naive),
    }


def measure(hidden: int, repeats: int) -> dict[str, list[float]]:
    """Seconds of one forward+backward pass per contender, one entry per round."""
    x = torch.randn(BATCH, TIME_STEPS, INPUT, generator=torch.Generator().manual_seed(0))
    runs = contenders(x, hidden)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(repeats + 1):  # round 0 warms up allocators and caches, not counted
        for name, (module, loss_fn) in runs.items():
            module.zero_grad(set_to_none=True)
            start = time.perf_counter()
            loss_fn().backward()
            elapsed = time.perf_counter() - start
            if round_ > 0:
                times[name].append(elapsed)
    return times


def ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    """Median over rounds of time[a] / time[b] within the round."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def spread(times: dict[str, list[float]], a: str, b: str) -> str:
    """The quartiles of the per-round ratios time[a] / time[b]: how much the machine's noise moves them."""
    ratios = [x / y for x, y in zip(times[a], times[b])]
    if len(ratios) < 4:
        return ""
    low, _, high = statistics.quantiles(ratios, n=4)
    return f"  (rounds' quartiles {low:.2f}-{high:.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds per size (median taken)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 512])
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads (default: torch's own choice); 1 is steadier on a busy machine",
    )
    parser.add_argument("--no-check", action="store_true", help="report only; never exit 1")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"T={TIME_STEPS}, batch={BATCH}, input={INPUT}; forward+backward, median of {args.repeats}"
    )
    missed = []
    for hidden in args.hidden:
        times = measure(hidden, args.repeats)
        print(f"\nhidden={hidden}")
        for name, seconds in times.items():
            print(
                f"  {name:<12} {statistics.median(seconds) * 1e3:8.1f} ms   "
                f"{ratio(times, name, 'torch_lstm'):5.2f}x torch_lstm"
            )
        ln_none = ratio(times, "lnviz_layer", "lnviz_none")
        ln_loop = ratio(times, "lnviz_layer", "loop")
        print(
            f"  lnviz_layer / lnviz_none = {ln_none:.2f}  (target <= {MAX_LN_OVER_NONE})"
            + spread(times, "lnviz_layer", "lnviz_none")
        )
        print(
            f"  lnviz_layer / loop       = {ln_loop:.2f}  (target <= {MAX_LN_OVER_LOOP})"
            + spread(times, "lnviz_layer", "loop")
        )
        print(
            f"  lnviz_layer / cell_loop  = {ratio(times, 'lnviz_layer', 'cell_loop'):.2f}"
            "  (reported: C++ gates per step)"
        )
        print(f"  ln_naive / lnviz_layer   = {ratio(times, 'ln_naive', 'lnviz_layer'):.2f}  (gain from the runner)")
        if ln_none > MAX_LN_OVER_NONE:
            missed.append(f"hidden={hidden}: lnviz_layer / lnviz_none = {ln_none:.2f} > {MAX_LN_OVER_NONE}")
        if ln_loop > MAX_LN_OVER_LOOP:
            missed.append(f"hidden={hidden}: lnviz_layer / loop = {ln_loop:.2f} > {MAX_LN_OVER_LOOP}")
    if missed:
        print("\nmissed targets:\n  " + "\n  ".join(missed))
        return 0 if args.no_check else 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
