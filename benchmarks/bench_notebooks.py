"""Each notebook top to bottom in a fresh kernel, as "Restart Kernel and Run All", against its budget.

The budget is 20 s per notebook on a 2-core machine, kernel start included. The test suite checks that
every notebook runs without errors; the time lives here, where a noisy machine can be re-measured.

    python benchmarks/bench_notebooks.py [--no-check] [NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from notebook_utils import NOTEBOOKS, error_outputs, execute

BUDGET_S = 20.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all)")
    parser.add_argument("--no-check", action="store_true", help="report only; do not fail on a missed budget")
    args = parser.parse_args()
    chosen = [p for p in NOTEBOOKS if not args.names or any(n in p.stem for n in args.names)]
    print(f"{'notebook':<32}{'seconds':>9}   budget {BUDGET_S:.0f} s")
    over = []
    for path in chosen:
        start = time.perf_counter()
        nb = execute(path)
        seconds = time.perf_counter() - start
        errors = error_outputs(nb)
        status = "errors" if errors else ("ok" if seconds <= BUDGET_S else "OVER")
        print(f"{path.stem:<32}{seconds:>9.1f}   {status}")
        if status != "ok":
            over.append(path.stem)
    if over and not args.no_check:
        print(f"over budget or failing: {', '.join(over)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
