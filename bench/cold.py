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
BENCH_USER = "amzn1.ask.account.BENCHUSER"  # an interrupted routine (the launch resumes)
LOCKED_USER = "amzn1.ask.account.BENCHLOCKED"  # an RF-PE lock from 15 minutes ago
NEW_USER = "amzn1.ask.account.BENCHNEW"  # nothing stored
LOCK_FLAG = "RF_PE"
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
    must_say: str = ""  # every run's speech must contain this (the stored lock's warning)
    must_not_say: str = ""  # ... and must not contain this (step 1)


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


def prepare_tables(endpoint: str, now: float) -> dict[str, str]:
    """Create both tables and give the bench users something to read in each. Returns the
    words the locked user's one-shot must and must not say."""
    import boto3

    from cramp_coach.alexa.skill import build_skill, handle_envelope
    from cramp_coach.hosting.local.envelopes import Session
    from cramp_coach.memory.dynamodb import DynamoStore
    from cramp_coach.memory.dynamodb_calls import table_definition

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
    # The locked user: a session 15 minutes ago raised RF-PE ("she can't breathe"); its lock
    # is stored for 12 hours, and a later one-shot must hear the warning before any step.
    locked = Session(user_id=LOCKED_USER)
    raised = now - 900
    calf_her = {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
    locked.absorb(handle_envelope(skill, locked.intent("CrampIntent", raised, calf_her)))
    said = handle_envelope(
        skill,
        locked.intent("SymptomIntent", raised + 20, {"symptom": ("she can't breathe", LOCK_FLAG)}),
    )
    locked.absorb(said)
    handle_envelope(skill, locked.session_ended(raised + 40))
    from cramp_coach.content import load_content

    content = load_content("en-US")
    warning = content.red_flags[LOCK_FLAG].script
    step1 = content.muscles["CALF"].partner[0].text
    if warning not in str(said["response"]["outputSpeech"]["ssml"]):
        raise RuntimeError("the bench could not raise the lock it seeds")
    return {"warning": warning, "step1": step1}


def scenarios(
    now: float, variants: bool, built: dict[str, Path], words: dict[str, str]
) -> list[Scenario]:
    from cramp_coach.hosting.local.envelopes import Session

    ours = {"CRAMP_STORE": "dynamodb", "CRAMP_TABLE": CRAMP_TABLE, "LOG_LEVEL": "INFO"}
    calf_her = {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
    launch = Session(user_id=BENCH_USER).launch(now)
    locked_launch = Session(user_id=LOCKED_USER).launch(now)
    oneshot = Session(user_id=LOCKED_USER).intent("CrampIntent", now, calf_her)
    oneshot_new = Session(user_id=NEW_USER).intent("CrampIntent", now, calf_her)
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
            "floor_deployed",
            "as deployed: hello world + one botocore read (client at init), launch",
            "hello_botocore_read",
            locked_launch,
            {**lambda_env, "CRAMP_TABLE": CRAMP_TABLE},
            code_dir=built["floor"],
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
            "as deployed: cramp coach cold one-shot, her calf, stored lock (warning spoken)",
            "cramp_coach.hosting.lambda_entry",
            oneshot,
            {**ours, **lambda_env},
            code_dir=built["SkillFunction"],
            must_say=words["warning"],
            must_not_say=words["step1"],
            **deployed,
        ),
        Scenario(
            "oneshot_new_deployed",
            "as deployed: cramp coach cold one-shot, her calf, nothing stored (step 1)",
            "cramp_coach.hosting.lambda_entry",
            oneshot_new,
            {**ours, **lambda_env},
            code_dir=built["SkillFunction"],
            must_say=words["step1"],
            **deployed,
        ),
        Scenario(
            "launch_deployed",
            "as deployed: cramp coach cold launch, reads profile (resume)",
            "cramp_coach.hosting.lambda_entry",
            launch,
            {**ours, **lambda_env},
            code_dir=built["SkillFunction"],
            must_say="You were on step 2",
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
            "source tree: cramp coach cold one-shot, her calf, stored lock",
            "cramp_coach.hosting.lambda_entry",
            oneshot,
            {**ours, "AWS_LAMBDA_FUNCTION_NAME": "cramp-coach-bench"},
            extra=True,
            must_say=words["warning"],
        ),
        Scenario(
            "launch",
            "source tree: cramp coach cold launch, reads profile (resume)",
            "cramp_coach.hosting.lambda_entry",
            launch,
            {**ours, "AWS_LAMBDA_FUNCTION_NAME": "cramp-coach-bench"},
            extra=True,
        ),
    ]


# Under the Lambda CPU model: the pairs the goals compare, and the lock read's proof.
MODEL_SCENARIOS = ("floor_deployed", "official_deployed", "oneshot_deployed", "launch_deployed")


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
