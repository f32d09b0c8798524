"""Run the whole benchmark, print a Markdown table, write bench/results/latest.json.

Usage (from the repository root):

    .venv/bin/python -m bench                 # full run (20 cold runs, 5000 warm requests)
    .venv/bin/python -m bench --quick         # 10 cold runs, 1000 warm requests, deployed only
    .venv/bin/python -m bench --runs 30 --warm 10000 --out /tmp/bench.json

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

# Issue 23: all as deployed (the sam build output and baselines built the same way, on a
# clean python3.13), from one interleaved run; again under the Lambda CPU model at 512 MB.
GOAL_ONESHOT_VS_FLOOR = 1.1
GOAL_LAUNCH_VS_OFFICIAL = 1.0
GOAL_MODEL_MB = 512
GOAL_WARM_P99_MS = 1.0
GOAL_FIRST_INSTRUCTION_S = 5.0


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


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _ratio_row(goal: str, value: float | None, limit: float) -> dict[str, Any]:
    return {
        "goal": goal,
        "measured": value if value is not None else "not measured",
        "unit": "x" if value is not None else "",
        "target": f"<= {limit}x",
        "met": value is not None and value <= limit,
    }


def goals(
    cold: dict[str, Any], warm: dict[str, Any], speech: dict[str, Any]
) -> list[dict[str, Any]]:
    ratios = cold["ratios"]
    worst = max(warm["types"].items(), key=lambda item: item[1]["p99_ms"])
    sizes = cold["lambda_model"]["sizes"]
    at_goal = sizes.get(str(GOAL_MODEL_MB), {}).get("ratios", {})
    reads = [cold["lock_read"], *(size["lock_read"] for size in sizes.values())]
    clean = not any(s["interpreter_imported"] for s in cold["scenarios"].values())
    rows = [
        _ratio_row(
            "as deployed: cold one-shot, stored lock read and spoken / hello world + one "
            "botocore read",
            ratios.get("oneshot_deployed_vs_floor_deployed"),
            GOAL_ONESHOT_VS_FLOOR,
        ),
        _ratio_row(
            "as deployed: cold launch / official persistence pattern",
            ratios.get("launch_deployed_vs_official_deployed"),
            GOAL_LAUNCH_VS_OFFICIAL,
        ),
        _ratio_row(
            f"Lambda CPU model {GOAL_MODEL_MB} MB: cold one-shot (lock) / the same floor",
            at_goal.get("oneshot_deployed_vs_floor_deployed"),
            GOAL_ONESHOT_VS_FLOOR,
        ),
        _ratio_row(
            f"Lambda CPU model {GOAL_MODEL_MB} MB: cold launch / official pattern",
            at_goal.get("launch_deployed_vs_official_deployed"),
            GOAL_LAUNCH_VS_OFFICIAL,
        ),
        {
            "goal": "no fail-open: the stored lock's warning spoken in every cold one-shot, "
            f"full CPU and {', '.join(sizes) or 'no'} MB",
            "measured": f"{sum(r['locked_warned'] for r in reads)}/"
            f"{sum(r['locked_runs'] for r in reads)} runs",
            "unit": "",
            "target": "all runs, every size",
            "met": bool(sizes) and all(r["locked_warned"] == r["locked_runs"] for r in reads),
        },
        {
            "goal": f"warm p99, slowest type ({worst[0]})",
            "measured": worst[1]["p99_ms"],
            "unit": "ms",
            "target": f"< {GOAL_WARM_P99_MS} ms",
            "met": worst[1]["p99_ms"] < GOAL_WARM_P99_MS,
        },
        {
            "goal": "warm CPU p99 (thread time: no preemption), slowest type",
            "measured": max(row["cpu"]["p99_ms"] for row in warm["types"].values()),
            "unit": "ms",
            "target": f"< {GOAL_WARM_P99_MS} ms",
            "met": max(row["cpu"]["p99_ms"] for row in warm["types"].values()) < GOAL_WARM_P99_MS,
        },
        {
            "goal": "children on a clean interpreter (nothing imported by site at start-up)",
            "measured": "clean" if clean else "certifi/requests imported at start-up",
            "unit": "",
            "target": "clean",
            "met": clean,
        },
        {
            "goal": "one-shot on a speaker loads no APL model",
            "measured": "loaded"
            if cold["scenarios"]["oneshot_deployed"]["apl_model_loaded"]
            else "not loaded",
            "unit": "",
            "target": "not loaded",
            "met": not cold["scenarios"]["oneshot_deployed"]["apl_model_loaded"],
        },
    ]
    if "oneshot" in speech:
        one = speech["oneshot"]
        rows.append(
            {
                "goal": "time to first instruction, one-shot",
                "measured": f"{one['seconds']} s in {one['turns']} turn",
                "unit": "",
                "target": f"< {GOAL_FIRST_INSTRUCTION_S} s, 1 turn",
                "met": one["seconds"] < GOAL_FIRST_INSTRUCTION_S and one["turns"] == 1,
            }
        )
    return rows


def render(result: dict[str, Any]) -> str:
    cold, warm, speech, artifact = (
        result["cold"],
        result["warm"],
        result["speech"],
        result["artifact"],
    )
    out: list[str] = []
    meta = result["meta"]
    out.append(
        f"Cramp Coach benchmark - {meta['date']} - commit {meta['commit']} - "
        f"Python {meta['python']} on {meta['machine']}, {meta['cpus']} CPUs, "
        f"load {meta['loadavg_start']} -> {meta['loadavg_end']}"
    )
    out.append("")
    out.append("| Goal | Measured | Target | Met |")
    out.append("|---|---|---|---|")
    for row in result["goals"]:
        value, unit = row["measured"], row["unit"]
        if unit == "x":
            measured = f"{value:.2f}x"
        elif unit == "ms":
            measured = f"{value:.3f} ms"
        else:
            measured = str(value)
        out.append(f"| {row['goal']} | {measured} | {row['target']} | {_yes(row['met'])} |")
    out.append("")
    out.append(
        f"Cold start: median of {cold['runs']} fresh processes each, local DynamoDB "
        "(moto). *As deployed*: the artifact on a clean python3.13 venv, no bytecode "
        "written, boto3 from a runtime folder after it on sys.path. *To response* = process "
        "spawn to the response in hand (what a cold Lambda invocation waits); *whole process* "
        "adds interpreter exit; *1st request* = the handler call alone."
    )
    out.append("")
    out.append(
        "| Scenario | To response ms | Whole process ms | Import ms | 1st request ms "
        "| Peak RSS MiB | AWS SDK loaded |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---|")
    for summary in cold["scenarios"].values():
        if summary["variant"]:
            continue
        out.append(_cold_row(summary))
    out.append("")
    out.append("| Ratio (to response) | Value |")
    out.append("|---|---:|")
    for name in (
        "oneshot_deployed_vs_floor_deployed",
        "launch_deployed_vs_official_deployed",
        "oneshot_new_deployed_vs_floor_deployed",
        "oneshot_deployed_vs_hello_deployed",
        "oneshot_deployed_vs_floor_deployed_fastest_run",
        "launch_deployed_vs_official_deployed_fastest_run",
    ):
        if name in cold["ratios"]:
            out.append(
                f"| {name.replace('_vs_', ' vs ').replace('_', ' ')} | {cold['ratios'][name]}x |"
            )
    out.append("")
    out.extend(render_model(cold))
    out.append("")
    out.append(
        f"Warm, in process, NullStore (no database I/O), {warm['rounds']} interleaved "
        "rounds; *CPU p99* counts only the time the thread ran."
    )
    out.append("")
    out.append("| Request | n | p50 ms | p99 ms | CPU p99 ms | max ms |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for name, row in warm["types"].items():
        out.append(
            f"| {name}: {row['label']} | {row['requests']} | {row['p50_ms']:.3f} | "
            f"{row['p99_ms']:.3f} | {row['cpu']['p99_ms']:.3f} | {row['max_ms']:.2f} |"
        )
    out.append("")
    if "oneshot" in speech:
        one, two = speech["oneshot"], speech["launch_path"]
        out.append(
            f"Time to first instruction: {speech['synthesizer']}, default rate, SSML "
            "honoured; seconds of speech until step 1's action ends."
        )
        out.append("")
        out.append("| Path | Turns | Speech s | Detail |")
        out.append("|---|---:|---:|---|")
        out.append(
            f'| one-shot "her calf is cramping" | {one["turns"]} | {one["seconds"]} | '
            f"whole first response {one['whole_response_seconds']} s |"
        )
        out.append(
            f'| launch -> "which muscle?" -> "calf" | {two["turns"]} | '
            f"{two['seconds']} | question {two['launch_response_seconds']} s + answer "
            f"{two['answer_to_step1_end_seconds']} s (plus the listener's reply) |"
        )
    else:
        out.append(f"Time to first instruction: skipped ({speech.get('skipped')}).")
    out.append("")
    if "skipped" in artifact:
        out.append(f"Deploy artifact: skipped ({artifact['skipped']}).")
    else:
        out.append("| Deploy artifact | Unzipped MiB | Zipped MiB | Files |")
        out.append("|---|---:|---:|---:|")
        out.append(
            f"| {artifact['method']} | {artifact['unzipped_mib']} | "
            f"{artifact['zipped_mib']} | {artifact['files']} |"
        )
    variant_names = {name for name, s in cold["scenarios"].items() if s["variant"]}
    variants = [s for s in cold["scenarios"].values() if s["variant"]]
    if variants:
        out.append("")
        out.append(
            "From the source tree on this interpreter (measured in the same run; not "
            "part of the goals):"
        )
        out.append("")
        out.append(
            "| Scenario | To response ms | Whole process ms | Import ms | 1st request ms "
            "| Peak RSS MiB | AWS SDK loaded |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---|")
        out.extend(_cold_row(summary) for summary in variants)
        out.append("")
        out.append("| Ratio (to response) | Value |")
        out.append("|---|---:|")
        for name, value in cold["ratios"].items():
            if name.split("_vs_")[0] in variant_names:
                out.append(f"| {name.replace('_vs_', ' vs ').replace('_', ' ')} | {value}x |")
    return "\n".join(out)


def render_model(cold: dict[str, Any]) -> list[str]:
    """The Lambda CPU model's table: to-response medians per memory size, the goal ratios,
    and whether the locked one-shot's read finished inside the turn's store budget."""
    model = cold["lambda_model"]
    if not model["sizes"]:
        return [f"Lambda CPU model: skipped ({model.get('skipped', 'not asked for')})."]
    out = [
        f"Lambda CPU model ({model['how']}): median of {cold['model_runs']} runs per size, "
        "interleaved; to response ms (the handler call alone in brackets). *Lock read*: "
        "runs whose one-shot spoke the stored lock's warning (read inside the turn's "
        "store budget), and the slowest handler call against that budget.",
        "",
        "| Memory MB | vCPU | floor | official | one-shot (lock) | launch "
        "| one-shot / floor | launch / official | lock read |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size, row in model["sizes"].items():
        sc, ratios, read = row["scenarios"], row["ratios"], row["lock_read"]

        def cell(name: str, sc: dict[str, Any] = sc) -> str:
            one = sc[name]
            return f"{one['to_response_ms_median']:.0f} ({one['first_request_ms_median']:.0f})"

        verdict = "pass" if read["locked_warned"] == read["locked_runs"] else "**FAIL**"
        out.append(
            f"| {size} | {row['share_of_vcpu']} | {cell('floor_deployed')} | "
            f"{cell('official_deployed')} | {cell('oneshot_deployed')} | "
            f"{cell('launch_deployed')} | "
            f"{ratios['oneshot_deployed_vs_floor_deployed']}x | "
            f"{ratios['launch_deployed_vs_official_deployed']}x | "
            f"{verdict}: {read['locked_warned']}/{read['locked_runs']}, slowest "
            f"{read['locked_first_request_ms_max']:.0f} of {read['turn_budget_ms']:.0f} ms |"
        )
    return out


def _cold_row(summary: dict[str, Any]) -> str:
    aws = ", ".join(summary["aws_sdk_after_response"]) or "no"
    return (
        f"| {summary['label']} | {summary['to_response_ms_median']:.0f} | "
        f"{summary['whole_process_ms_median']:.0f} | {summary['import_ms_median']:.0f} | "
        f"{summary['first_request_ms_median']:.0f} | {summary['peak_rss_mib_median']} | "
        f"{aws} |"
    )


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
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file")
    args = parser.parse_args(argv)
    args.runs = args.runs or (10 if args.quick else 20)
    args.warm = args.warm or (1000 if args.quick else 5000)
    if args.model_runs is None:
        args.model_runs = 5 if args.quick else 10
    if args.runs < 10:
        parser.error("--runs must be at least 10 (the cold-start figures are medians of >= 10)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _ensure_import_path()
    from bench import artifact, cold, lambda_cpu, speech, store_faults, warm

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
