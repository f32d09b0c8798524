"""What the cold bench measures: a Scenario per artifact, event and environment.

``scenarios`` builds the as-deployed ones (the goals: hello world, the botocore-read floor, the
official persistence pattern, Cramp Coach's one-shots and launch) and, with variants, the same
from the source tree on this interpreter. MODEL_SCENARIOS are the ones run again under the
Lambda CPU model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cold_tables import BENCH_USER, CRAMP_TABLE, LOCKED_USER, NEW_USER, OFFICIAL_TABLE


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
