"""`make triage`: run every vignette and print the report.

Exit 0 whatever the figures (it is a report); `--strict` exits 1 when a target of issue 20
is missed. `--only TEXT` runs the vignettes whose id contains TEXT.
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.triage.report import render, targets
from tests.triage.suite import load_vignettes, run_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.triage")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--only", default="", help="run only vignettes whose id contains this")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    vignettes = [v for v in load_vignettes() if args.only in v.id]
    results = run_all(vignettes)
    print(render(results))
    print(f"({len(results)} vignettes in {time.perf_counter() - started:.1f} s)")
    if args.strict and not targets(results).met:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
