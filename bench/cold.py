"""Cold starts: each measurement is a fresh interpreter handling its first request.

The goals compare the artifacts as deployed (bench/deployed.py: the real `sam build` output,
and two baselines built by the same lambda/Makefile recipe), each run on python3.13 with
PYTHONDONTWRITEBYTECODE=1 (Lambda's /var/task is read-only) and boto3 from a runtime folder
behind the artifact on sys.path:

- ``hello_deployed``: bench/baselines/hello_world.py, a LaunchRequest (no persistence).
- ``official_deployed``: bench/baselines/official_persistence.py, a LaunchRequest that reads
  the user's attributes through ask-sdk's DynamoDbAdapter (boto3 resource).
- ``oneshot_deployed``: cramp_coach.hosting.lambda_entry, "her calf is cramping" (CrampIntent,
  helper slot), CRAMP_STORE=dynamodb (step 1 needs no stored state, so no AWS SDK is imported).
- ``launch_deployed``: cramp_coach.hosting.lambda_entry, a LaunchRequest for a user with an
  interrupted routine: it reads the profile through boto3 and offers to continue.

The same four from the source tree on this interpreter (``hello``, ``official``, ``oneshot``,
``launch``: what a developer's machine does, with its bytecode cache) are reported beside
them, not part of the goals; skipped with --quick / --no-variants.

Scenarios are interleaved round by round so that machine noise hits them alike. The local
server is moto's DynamoDB (ThreadedMotoServer on 127.0.0.1) inside this process; the children
get dummy credentials, AWS_DEFAULT_REGION=us-east-1 and the server's URL.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "_child.py"
CRAMP_TABLE = "cramp-coach-bench"
OFFICIAL_TABLE = "official-persistence-bench"
BENCH_USER = "amzn1.ask.account.BENCHUSER"
REGION = "us-east-1"
CHILD_TIMEOUT_S = 60


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    module: str
    event: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    # Where the code is imported from (default: the repo's lambda/ folder, as in development).
    code_dir: Path | None = None
    extra: bool = False  # a variant: reported, but not part of the goals
    python: Path | None = None  # the interpreter (default: this one)
    runtime_dir: Path | None = None  # boto3 as the Lambda runtime provides it


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
            "aws_sdk_after_import": last["aws_after_import"],
            "aws_sdk_after_response": last["aws_after_response"],
            "speech": last["ssml"],
            "to_response_ms_samples": [
                round(float(r["spawn_to_response_ms"]), 2) for r in self.runs
            ],
            "whole_process_ms_samples": [round(v, 2) for v in self.wall_ms],
        }


def aws_env(endpoint: str) -> dict[str, str]:
    """Dummy credentials and the local endpoint: nothing can reach real AWS."""
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "CRAMP_DYNAMODB_ENDPOINT": endpoint,
        "CRAMP_USER_SALT": "bench-salt",  # the stored profile and the children agree on it
    }


@contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def local_dynamodb() -> Iterator[str]:
    """moto's DynamoDB server on a free loopback port, for the duration of the block."""
    import logging

    from moto.server import ThreadedMotoServer

    from cramp_coach.hosting.local.loopback import free_port

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on stderr
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def prepare_tables(endpoint: str, now: float) -> None:
    """Create both tables and give the bench user something to read in each."""
    import boto3

    from cramp_coach.alexa.skill import build_skill, handle_envelope
    from cramp_coach.hosting.local.envelopes import Session
    from cramp_coach.memory.dynamodb import DynamoStore, table_definition

    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    client.create_table(**table_definition(CRAMP_TABLE))
    client.create_table(
        TableName=OFFICIAL_TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(
        TableName=OFFICIAL_TABLE,
        Item={
            "id": {"S": BENCH_USER},
            "attributes": {"M": {"resume_step": {"N": "2"}, "muscle": {"S": "CALF"}}},
        },
    )
    # Our profile is written by the skill itself, through the real store: a routine started
    # a few minutes ago, one step done, then the session timed out (a resumable routine).
    skill = build_skill(store_factory=lambda: DynamoStore(CRAMP_TABLE, endpoint_url=endpoint))
    session = Session(user_id=BENCH_USER)
    started = now - 300
    session.absorb(
        handle_envelope(
            skill,
            session.intent(
                "CrampIntent", started, {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
            ),
        )
    )
    session.absorb(handle_envelope(skill, session.intent("AMAZON.NextIntent", started + 20)))
    session.absorb(handle_envelope(skill, session.session_ended(started + 40)))


def scenarios(now: float, variants: bool, built: dict[str, Path]) -> list[Scenario]:
    from cramp_coach.hosting.local.envelopes import Session

    ours = {"CRAMP_STORE": "dynamodb", "CRAMP_TABLE": CRAMP_TABLE, "LOG_LEVEL": "INFO"}
    launch = Session(user_id=BENCH_USER).launch(now)
    oneshot = Session(user_id=BENCH_USER).intent(
        "CrampIntent", now, {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
    )
    # As in Lambda: a function name in the environment, no bytecode written.
    lambda_env = {"AWS_LAMBDA_FUNCTION_NAME": "cramp-coach-bench", "PYTHONDONTWRITEBYTECODE": "1"}
    deployed = {"python": built["python"], "runtime_dir": built["runtime"]}
    plan = [
        Scenario(
            "hello_deployed",
            "as deployed: ask-sdk-core hello world, launch",
            "hello_world",
            launch,
            lambda_env,
            code_dir=built["hello"],
            **deployed,
        ),
        Scenario(
            "official_deployed",
            "as deployed: official persistence pattern, launch (reads)",
            "official_persistence",
            launch,
            {**lambda_env, "OFFICIAL_TABLE": OFFICIAL_TABLE},
            code_dir=built["official"],
            **deployed,
        ),
        Scenario(
            "oneshot_deployed",
            "as deployed: cramp coach cold one-shot, her calf",
            "cramp_coach.hosting.lambda_entry",
            oneshot,
            {**ours, **lambda_env},
            code_dir=built["SkillFunction"],
            **deployed,
        ),
        Scenario(
            "launch_deployed",
            "as deployed: cramp coach cold launch, reads profile (resume)",
            "cramp_coach.hosting.lambda_entry",
            launch,
            {**ours, **lambda_env},
            code_dir=built["SkillFunction"],
            **deployed,
        ),
    ]
    if not variants:
        return plan
    return [
        *plan,
        Scenario(
            "hello",
            "source tree: ask-sdk-core hello world, launch",
            "bench.baselines.hello_world",
            launch,
            extra=True,
        ),
        Scenario(
            "official",
            "source tree: official persistence pattern, launch (reads)",
            "bench.baselines.official_persistence",
            launch,
            {"OFFICIAL_TABLE": OFFICIAL_TABLE},
            extra=True,
        ),
        Scenario(
            "oneshot",
            "source tree: cramp coach cold one-shot, her calf",
            "cramp_coach.hosting.lambda_entry",
            oneshot,
            ours,
            extra=True,
        ),
        Scenario(
            "launch",
            "source tree: cramp coach cold launch, reads profile (resume)",
            "cramp_coach.hosting.lambda_entry",
            launch,
            ours,
            extra=True,
        ),
    ]


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
    argv = [python, "-P", *extra_flags, str(CHILD), scenario.module, str(event_path)]
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
    to_response = (float(report["response_clock"]) - started) * 1e3
    report["spawn_to_response_ms"] = to_response if 0 < to_response <= wall_ms else float("nan")
    report["interpreter_start_ms"] = (float(report["start_clock"]) - started) * 1e3
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


def measure(runs: int, variants: bool = True, with_profile: bool = True) -> dict[str, Any]:
    """Start the local server, prepare the tables, run every scenario ``runs`` times."""
    now = float(int(time.time()))
    with local_dynamodb() as endpoint, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        with patched_environ(aws_env(endpoint)):
            prepare_tables(endpoint, now)
        from bench import deployed

        plan = scenarios(now, variants, deployed.build(Path(tmp)))
        paths: dict[str, Path] = {}
        envs: dict[str, dict[str, str]] = {}
        for scenario in plan:
            paths[scenario.name] = Path(tmp) / f"{scenario.name}.json"
            paths[scenario.name].write_text(json.dumps(scenario.event), encoding="utf-8")
            envs[scenario.name] = child_env(endpoint, scenario)
        samples = {s.name: ColdSamples(s) for s in plan}
        # One discarded round first: byte-code caches written, files in the page cache.
        for scenario in plan:
            run_child(scenario, paths[scenario.name], envs[scenario.name])
        for round_no in range(runs):
            # Rotate the order each round so no scenario always runs first or last.
            for i in range(len(plan)):
                scenario = plan[(i + round_no) % len(plan)]
                wall_ms, report, _ = run_child(scenario, paths[scenario.name], envs[scenario.name])
                samples[scenario.name].wall_ms.append(wall_ms)
                samples[scenario.name].runs.append(report)
        profiles: dict[str, Any] = {}
        if with_profile:
            for scenario in plan:
                if scenario.extra:
                    continue
                _, _, stderr = run_child(
                    scenario, paths[scenario.name], envs[scenario.name], ("-X", "importtime")
                )
                profiles[scenario.name] = import_profile(stderr)

    summaries = {name: s.summary() for name, s in samples.items()}

    def ratio(ours: str, base: str, key: str) -> float:
        return round(samples[ours].median(key) / samples[base].median(key), 2)

    pairs = (
        ("oneshot_deployed", "hello_deployed"),
        ("launch_deployed", "official_deployed"),
        ("oneshot", "hello"),
        ("launch", "official"),
    )
    ratios: dict[str, float] = {}
    for ours, base in pairs:
        if ours not in samples:
            continue
        ratios[f"{ours}_vs_{base}"] = ratio(ours, base, "spawn_to_response_ms")
        ratios[f"{ours}_vs_{base}_fastest_run"] = round(
            summaries[ours]["to_response_ms_min"] / summaries[base]["to_response_ms_min"], 2
        )
        ratios[f"{ours}_vs_{base}_whole_process"] = ratio(ours, base, "wall_ms")
    entry_ok = not summaries["oneshot_deployed"]["aws_sdk_after_import"]
    return {
        "runs": runs,
        "server": "moto ThreadedMotoServer (DynamoDB) on 127.0.0.1",
        "scenarios": summaries,
        "ratios": ratios,
        "entry_point_imports_aws_sdk": not entry_ok,
        "oneshot_loads_aws_sdk": bool(summaries["oneshot_deployed"]["aws_sdk_after_response"]),
        "launch_loads_aws_sdk": bool(summaries["launch_deployed"]["aws_sdk_after_response"]),
        "import_profile": profiles,
    }
