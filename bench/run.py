"""Run the whole benchmark, print a Markdown table, write bench/results/latest.json.

Usage (from the repository root):

    .venv/bin/python -m bench                 # full run (20 cold runs, 5000 warm requests)
    .venv/bin/python -m bench --quick         # 10 cold runs, 1000 warm requests, deployed only
    .venv/bin/python -m bench --runs 30 --warm 10000 --out /tmp/bench.json
    .venv/bin/python -m bench --warm-only --warm 5000   # only the warm table, no JSON written

Needs the dev extra (moto[server], ask-sdk-dynamodb-persistence-adapter), python3.13 (the
function's runtime) and a `sam build` output (`make bench` runs `make deploy-check` first),
and, for the speech figures, espeak-ng (apt-get install -y espeak-ng). Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "bench" / "results" / "latest.json"


def _ensure_import_path() -> None:
    for path in (REPO / "lambda", REPO):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def _git_commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=False,
    )
    commit = done.stdout.strip() or "unknown"
    return commit + ("+changes" if dirty.stdout.strip() else "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=None,
        help="cold runs per scenario (default 20, --quick 10; at least 10)",
    )
    parser.add_argument(
        "--warm", type=int, default=None, help="warm requests per type (default 5000, --quick 1000)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer runs and requests, no variants, no import profile",
    )
    parser.add_argument(
        "--no-variants",
        action="store_true",
        help="skip the source-tree scenarios (only the as-deployed ones)",
    )
    parser.add_argument(
        "--artifact",
        choices=("auto", "sam", "pip"),
        default="sam",
        help="sam (default): the sam build output; pip: a pip --target build",
    )
    parser.add_argument(
        "--model-runs",
        type=int,
        default=None,
        help="cold runs per scenario per memory size under the Lambda CPU model "
        "(default 10, --quick 5; 0 skips the model)",
    )
    parser.add_argument(
        "--function-dir",
        type=Path,
        default=None,
        help="measure this build of the function instead of .aws-sam/build/SkillFunction "
        "(e.g. an earlier commit's `make -C lambda build-SkillFunction ARTIFACTS_DIR=...`)",
    )
    parser.add_argument(
        "--warm-only",
        action="store_true",
        help="only the warm requests (in this process; needs no build, database or espeak-ng); "
        "prints their table and writes JSON only where --out is given",
    )
    parser.add_argument("--out", type=Path, default=None, help=f"JSON output file ({DEFAULT_OUT})")
    args = parser.parse_args(argv)
    args.runs = args.runs or (10 if args.quick else 20)
    args.warm = args.warm or (1000 if args.quick else 5000)
    if args.model_runs is None:
        args.model_runs = 5 if args.quick else 10
    if args.runs < 10:
        parser.error("--runs must be at least 10 (the cold-start figures are medians of >= 10)")
    return args


def warm_only(args: argparse.Namespace) -> int:
    from bench import warm
    from bench.report import render_warm

    print(f"warm: {args.warm} requests per type ...", file=sys.stderr, flush=True)
    result = warm.measure(args.warm)
    print("\n".join(render_warm(result)))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"warm": result}, indent=2) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _ensure_import_path()
    if args.warm_only:
        return warm_only(args)
    args.out = args.out or DEFAULT_OUT
    from bench import artifact, cold, lambda_cpu, speech, store_faults, warm
    from bench.goals import goals
    from bench.report import render

    started = time.perf_counter()
    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"cold starts: {args.runs} runs per scenario ...", file=sys.stderr, flush=True)
    cold_result = cold.measure(
        args.runs,
        variants=not (args.quick or args.no_variants),
        with_profile=not args.quick,
        model_runs=args.model_runs,
        sizes=lambda_cpu.MEMORY_SIZES_MB,
        function_dir=args.function_dir,
    )
    print(f"warm: {args.warm} requests per type ...", file=sys.stderr, flush=True)
    warm_result = warm.measure(args.warm)
    print("time to first instruction (espeak-ng) ...", file=sys.stderr, flush=True)
    speech_result = speech.measure()
    print("deploy artifact ...", file=sys.stderr, flush=True)
    artifact_result = artifact.measure(args.artifact)
    print("store faults (bench/store_faults.py) ...", file=sys.stderr, flush=True)
    faults = store_faults.run(store_faults.DEFAULT_ENTRIES)
    result: dict[str, Any] = {
        "meta": {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "commit": _git_commit(),
            "python": platform.python_version(),
            "machine": f"{platform.system()} {platform.machine()}",
            "cpus": os.cpu_count(),
            "loadavg_start": load_start,
            "loadavg_end": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
            "args": {
                "runs": args.runs,
                "warm": args.warm,
                "quick": args.quick,
                "model_runs": args.model_runs,
                "function_dir": str(args.function_dir or "sam build output"),
                "artifact": args.artifact,
            },
            "seconds": round(time.perf_counter() - started, 1),
        },
        "cold": cold_result,
        "warm": warm_result,
        "speech": speech_result,
        "artifact": artifact_result,
        "store_faults": [vars(r) for r in faults],
    }
    result["goals"] = goals(cold_result, warm_result, speech_result)
    table = render(result) + "\n\n" + store_faults.table(faults, store_faults.DEFAULT_ENTRIES)
    result["table_markdown"] = table
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table)
    print(f"\nwritten: {args.out} ({result['meta']['seconds']} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
