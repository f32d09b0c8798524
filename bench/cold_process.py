"""One cold measurement: a fresh interpreter on bench/_child.py, and its report read back.

``child_env`` is the child's environment (the local DynamoDB's, the scenario's, the code on
PYTHONPATH), ``run_child`` spawns it and times spawn -> response, ``import_profile`` reads the
slowest imports from a ``-X importtime`` run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.cold_scenarios import Scenario
from bench.cold_tables import aws_env

REPO = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "_child.py"
CHILD_TIMEOUT_S = 60


def child_env(endpoint: str, scenario: Scenario) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CRAMP_", "PYTHON"))}
    env.update(aws_env(endpoint))
    if scenario.runtime_dir is not None and scenario.code_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(scenario.code_dir), str(scenario.runtime_dir)])
    else:
        code_dir = scenario.code_dir or REPO / "lambda"
        env["PYTHONPATH"] = os.pathsep.join([str(code_dir), str(REPO)])
    env.update(scenario.env)
    return env


def run_child(
    scenario: Scenario, event_path: Path, env: dict[str, str], extra_flags: tuple[str, ...] = ()
) -> tuple[float, dict[str, Any], str]:
    python = str(scenario.python or sys.executable)
    # -s: no user site-packages either (the clean venv has no site .pth of its own).
    argv = [python, "-s", "-P", *extra_flags, str(CHILD), scenario.module, str(event_path)]
    started = time.perf_counter()
    done = subprocess.run(
        argv,
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    wall_ms = (time.perf_counter() - started) * 1e3
    if done.returncode != 0:
        raise RuntimeError(f"{scenario.name} child failed ({done.returncode}):\n{done.stderr}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    report: dict[str, Any] = json.loads(lines[-1])
    # perf_counter is CLOCK_MONOTONIC on Linux, one clock for every process: spawn -> response
    # is what a cold Lambda invocation waits (process exit is not part of it).
    # Joining the model's cgroup (a write to cgroup.procs, milliseconds on cgroup v1) is the
    # bench's own work, not Lambda's: it is left out.
    to_response = (float(report["response_clock"]) - started) * 1e3 - float(report["join_ms"])
    report["spawn_to_response_ms"] = to_response if 0 < to_response <= wall_ms else float("nan")
    report["interpreter_start_ms"] = (float(report["start_clock"]) - started) * 1e3
    said = str(report.get("ssml", ""))
    report["said_ok"] = (not scenario.must_say or scenario.must_say in said) and not (
        scenario.must_not_say and scenario.must_not_say in said
    )
    return wall_ms, report, done.stderr


def import_profile(stderr: str, top: int = 12) -> list[dict[str, Any]]:
    """The slowest imports (cumulative) from ``-X importtime`` output."""
    rows: list[tuple[int, int, str]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        try:
            self_us, cumulative_us = int(parts[0]), int(parts[1])
        except ValueError:
            continue
        rows.append((cumulative_us, self_us, parts[2].rstrip()))
    rows.sort(reverse=True)
    return [
        {
            "module": name.strip(),
            "depth": (len(name) - len(name.lstrip())) // 2,
            "cumulative_ms": round(cum / 1e3, 1),
            "self_ms": round(own / 1e3, 1),
        }
        for cum, own, name in rows[:top]
    ]
