"""The training notebooks (4 and 5) at full length and at CI length, and their default runs alone.

Notebooks 4 and 5 train models when they run. Continuous integration may set LNVIZ_QUICK=1 to train
for fewer steps; this benchmark times both lengths, top to bottom in a fresh kernel as
"Restart Kernel and Run All" does, against the 20 s notebook budget (for the full length). It also
times each panel's default run in this process, in wall-clock and CPU seconds: on a machine that
other work is loading, the CPU seconds say what the run costs on an idle one.

    python benchmarks/bench_training_notebooks.py [--no-check]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from notebook_utils import NOTEBOOKS, error_outputs, execute

BUDGET_S = 20.0
TRAINING_NOTEBOOKS = ("04_rnn_training", "05_batch_size")


def time_notebook(path: Path, quick: bool) -> tuple[float, list[str]]:
    """Seconds to run `path` top to bottom, and its errors; LNVIZ_QUICK set if `quick`."""
    previous = os.environ.pop("LNVIZ_QUICK", None)
    if quick:
        os.environ["LNVIZ_QUICK"] = "1"
    try:
        start = time.perf_counter()
        nb = execute(path)
        return time.perf_counter() - start, error_outputs(nb)
    finally:
        os.environ.pop("LNVIZ_QUICK", None)
        if previous is not None:
            os.environ["LNVIZ_QUICK"] = previous


def time_default_runs() -> None:
    """Each training panel's default run in this process: wall and CPU seconds."""
    import torch

    from lnviz.panels import BatchSizePanel, RNNTrainingPanel

    # The first optimizer imports torch._dynamo (seconds, once per process): not part of a run.
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
    for cls in (RNNTrainingPanel, BatchSizePanel):
        panel = cls()
        wall, cpu = time.perf_counter(), time.process_time()
        panel.run()
        print(f"{cls.__name__ + ' default run':<40}{time.perf_counter() - wall:>9.1f}{time.process_time() - cpu:>9.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-check", action="store_true", help="report only; do not fail on a missed budget")
    args = parser.parse_args()
    print(f"{'notebook':<40}{'full s':>9}{'CI s':>9}   budget {BUDGET_S:.0f} s (full length)")
    failed = []
    for path in (p for p in NOTEBOOKS if p.stem in TRAINING_NOTEBOOKS):
        full, errors = time_notebook(path, quick=False)
        quick, quick_errors = time_notebook(path, quick=True)
        status = "errors" if errors or quick_errors else ("ok" if full <= BUDGET_S else "OVER")
        print(f"{path.stem:<40}{full:>9.1f}{quick:>9.1f}   {status}")
        if status != "ok":
            failed.append(path.stem)
    print(f"\n{'in this process':<40}{'wall s':>9}{'CPU s':>9}")
    time_default_runs()
    if failed and not args.no_check:
        print(f"over budget or failing: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
