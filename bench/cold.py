"""Cold starts: each measurement is a fresh interpreter handling its first request.

The goals compare the artifacts as deployed (bench/deployed.py: the real `sam build` output,
and three baselines built by the same lambda/Makefile recipe), each run on a clean python3.13
venv (no site .pth importing certifi: the child reports what its interpreter had loaded) with
PYTHONDONTWRITEBYTECODE=1 (Lambda's /var/task is read-only) and boto3 from a runtime folder
behind the artifact on sys.path:

- ``hello_deployed``: bench/baselines/hello_world.py, a LaunchRequest (no persistence).
- ``floor_deployed``: bench/baselines/hello_botocore_read.py, the same plus a botocore client
  built at import and one Query of the locked user's items: the floor for a safe one-shot.
- ``official_deployed``: bench/baselines/official_persistence.py, a LaunchRequest that reads
  the user's attributes through ask-sdk's DynamoDbAdapter (boto3 resource).
- ``oneshot_deployed``: cramp_coach.hosting.lambda_entry, "her calf is cramping" for a user whose
  stored 12-hour lock (RF-PE, written through the skill) must be read: every run's speech
  must contain that warning and not step 1, or the bench fails.
- ``oneshot_new_deployed``: the same one-shot for a user with nothing stored (step 1).
- ``launch_deployed``: a LaunchRequest for a user with an interrupted routine: it reads the
  profile and offers to continue.

Then the Lambda CPU model (bench/lambda_cpu.py): floor, official, the locked one-shot and the
launch again at 128, 256, 512 and 1024 MB, the init at full CPU and the handler call at
memory/1769 of a CPU. The locked one-shot's warning must be spoken at every size: the lock
read finished inside the turn's store budget (no fail-open on a healthy table).

The same four from the source tree on this interpreter (``hello``, ``official``, ``oneshot``,
``launch``: what a developer's machine does, with its bytecode cache) are reported beside
them, not part of the goals; skipped with --quick / --no-variants.

Scenarios are interleaved round by round so that machine noise hits them alike. The local
server is moto's DynamoDB (ThreadedMotoServer on 127.0.0.1) inside this process; the children
get dummy credentials, AWS_DEFAULT_REGION=us-east-1 and the server's URL.

The pieces: bench/cold_tables.py (the local DynamoDB and what the users have stored),
bench/cold_scenarios.py (the scenarios), bench/cold_process.py (one child, timed).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cold_process import child_env, import_profile, run_child
from bench.cold_scenarios import MODEL_SCENARIOS, Scenario, scenarios
from bench.cold_tables import aws_env, local_dynamodb, patched_environ, prepare_tables


@dataclass
class ColdSamples:
    scenario: Scenario
    wall_ms: list[float] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        if key == "wall_ms":
            return statistics.median(self.wall_ms)
        return statistics.median(float(run[key]) for run in self.runs)

    def summary(self) -> dict[str, Any]:
        last = self.runs[-1]

        def med(key: str) -> float:
            return round(self.median(key), 1)

        return {
            "label": self.scenario.label,
            "module": self.scenario.module,
            "variant": self.scenario.extra,
            "runs": len(self.wall_ms),
            "to_response_ms_median": med("spawn_to_response_ms"),
            "to_response_ms_min": round(
                min(float(r["spawn_to_response_ms"]) for r in self.runs), 1
            ),
            "whole_process_ms_median": med("wall_ms"),
            "interpreter_start_ms_median": med("interpreter_start_ms"),
            "in_process_ms_median": med("total_ms"),
            "import_ms_median": med("import_ms"),
            "first_request_ms_median": med("request_ms"),
            "peak_rss_mib_median": round(self.median("peak_rss_kib") / 1024, 1),
            "first_request_ms_max": round(max(float(r["request_ms"]) for r in self.runs), 1),
            "interpreter_imported": sorted({m for r in self.runs for m in r["start_imports"]}),
            "apl_model_loaded": any(r["apl_model_loaded"] for r in self.runs),
            "aws_sdk_after_import": last["aws_after_import"],
            "aws_sdk_after_response": last["aws_after_response"],
            "speech": last["ssml"],
            "to_response_ms_samples": [
                round(float(r["spawn_to_response_ms"]), 2) for r in self.runs
            ],
            "whole_process_ms_samples": [round(v, 2) for v in self.wall_ms],
        }


def _interleaved(
    plan: list[Scenario],
    runs: int,
    paths: dict[str, Path],
    envs: dict[str, dict[str, str]],
) -> dict[str, ColdSamples]:
    """`runs` rounds of every scenario, the order rotated each round so no scenario always
    runs first or last."""
    samples = {s.name: ColdSamples(s) for s in plan}
    for round_no in range(runs):
        for i in range(len(plan)):
            scenario = plan[(i + round_no) % len(plan)]
            wall_ms, report, _ = run_child(scenario, paths[scenario.name], envs[scenario.name])
            samples[scenario.name].wall_ms.append(wall_ms)
            samples[scenario.name].runs.append(report)
    return samples


def _ratios(
    samples: dict[str, ColdSamples], pairs: tuple[tuple[str, str], ...]
) -> dict[str, float]:
    ratios: dict[str, float] = {}
    for ours, base in pairs:
        if ours not in samples or base not in samples:
            continue
        a, b = samples[ours], samples[base]
        ratios[f"{ours}_vs_{base}"] = round(
            a.median("spawn_to_response_ms") / b.median("spawn_to_response_ms"), 2
        )
        fastest = min(float(r["spawn_to_response_ms"]) for r in a.runs)
        ratios[f"{ours}_vs_{base}_fastest_run"] = round(
            fastest / min(float(r["spawn_to_response_ms"]) for r in b.runs), 2
        )
        ratios[f"{ours}_vs_{base}_whole_process"] = round(
            a.median("wall_ms") / b.median("wall_ms"), 2
        )
    return ratios


def _lock_reads(samples: dict[str, ColdSamples]) -> dict[str, Any]:
    """Whether every run of every scenario said what it must (the locked one-shot: the
    warning, so its lock read finished inside the turn's budget)."""
    from cramp_coach.memory.turn import TURN_BUDGET_S

    locked = samples.get("oneshot_deployed")
    return {
        "all_said_ok": all(r["said_ok"] for s in samples.values() for r in s.runs),
        "locked_runs": len(locked.runs) if locked else 0,
        "locked_warned": sum(1 for r in locked.runs if r["said_ok"]) if locked else 0,
        "locked_first_request_ms_max": (
            round(max(float(r["request_ms"]) for r in locked.runs), 1) if locked else None
        ),
        "turn_budget_ms": TURN_BUDGET_S * 1000,
    }


GOAL_PAIRS = (
    ("oneshot_deployed", "floor_deployed"),
    ("launch_deployed", "official_deployed"),
    ("oneshot_deployed", "hello_deployed"),
    ("oneshot_new_deployed", "floor_deployed"),
    ("oneshot", "hello"),
    ("launch", "official"),
)


def measure(
    runs: int,
    variants: bool = True,
    with_profile: bool = True,
    model_runs: int = 0,
    sizes: tuple[int, ...] = (),
    function_dir: Path | None = None,
) -> dict[str, Any]:
    """Start the local server, prepare the tables, run every scenario ``runs`` times; then,
    if `model_runs`, the Lambda CPU model at each memory size in `sizes`."""
    from bench import lambda_cpu

    now = float(int(time.time()))
    model: dict[str, Any] = {"how": lambda_cpu.describe(), "sizes": {}}
    with local_dynamodb() as endpoint, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        with patched_environ(aws_env(endpoint)):
            words = prepare_tables(endpoint, now)
        from bench import deployed

        plan = scenarios(now, variants, deployed.build(Path(tmp), function_dir), words)
        paths: dict[str, Path] = {}
        envs: dict[str, dict[str, str]] = {}
        for scenario in plan:
            paths[scenario.name] = Path(tmp) / f"{scenario.name}.json"
            paths[scenario.name].write_text(json.dumps(scenario.event), encoding="utf-8")
            envs[scenario.name] = child_env(endpoint, scenario)
        # One discarded round first: byte-code caches written, files in the page cache.
        for scenario in plan:
            run_child(scenario, paths[scenario.name], envs[scenario.name])
        samples = _interleaved(plan, runs, paths, envs)
        profiles: dict[str, Any] = {}
        if with_profile:
            for scenario in plan:
                if scenario.extra:
                    continue
                _, _, stderr = run_child(
                    scenario, paths[scenario.name], envs[scenario.name], ("-X", "importtime")
                )
                profiles[scenario.name] = import_profile(stderr)
        if model_runs and lambda_cpu.interface() is not None:
            modelled = [s for s in plan if s.name in MODEL_SCENARIOS]
            for size in sizes:
                with lambda_cpu.throttled_group(size) as procs:
                    throttled = {
                        name: {**env, lambda_cpu.CGROUP_ENV: str(procs)}
                        for name, env in envs.items()
                    }
                    at_size = _interleaved(modelled, model_runs, paths, throttled)
                model["sizes"][str(size)] = {
                    "share_of_vcpu": round(lambda_cpu.share(size), 3),
                    "scenarios": {name: s.summary() for name, s in at_size.items()},
                    "ratios": _ratios(at_size, GOAL_PAIRS[:2]),
                    "lock_read": _lock_reads(at_size),
                }
        elif model_runs:
            model["skipped"] = model["how"]

    summaries = {name: s.summary() for name, s in samples.items()}
    entry_ok = not summaries["oneshot_deployed"]["aws_sdk_after_import"]
    return {
        "runs": runs,
        "model_runs": model_runs,
        "server": "moto ThreadedMotoServer (DynamoDB) on 127.0.0.1",
        "scenarios": summaries,
        "ratios": _ratios(samples, GOAL_PAIRS),
        "lock_read": _lock_reads(samples),
        "lambda_model": model,
        "entry_point_imports_aws_sdk": not entry_ok,
        "oneshot_loads_aws_sdk": bool(summaries["oneshot_deployed"]["aws_sdk_after_response"]),
        "launch_loads_aws_sdk": bool(summaries["launch_deployed"]["aws_sdk_after_response"]),
        "import_profile": profiles,
    }
