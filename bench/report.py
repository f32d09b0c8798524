"""The benchmark's Markdown report, as `python -m bench` prints it (and keeps in
bench/results/latest.json as ``table_markdown``): the goals, the cold starts as deployed,
the Lambda CPU model, warm latency, time to first instruction, the deploy artifact and the
source-tree variants.
"""

from __future__ import annotations

from typing import Any


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


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
    out.extend(render_warm(warm))
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


def render_warm(warm: dict[str, Any]) -> list[str]:
    """The warm table (also printed alone by ``python -m bench --warm-only``)."""
    out = [
        f"Warm, in process, NullStore (no database I/O), {warm['rounds']} interleaved "
        "rounds; *CPU p99* counts only the time the thread ran.",
        "",
        "| Request | n | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in warm["types"].items():
        out.append(
            f"| {name}: {row['label']} | {row['requests']} | {row['p50_ms']:.3f} | "
            f"{row['p99_ms']:.3f} | {row['cpu']['p50_ms']:.3f} | {row['cpu']['p99_ms']:.3f} | "
            f"{row['max_ms']:.2f} |"
        )
    return out
