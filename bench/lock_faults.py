"""The lock fault matrix of issue 21: is a stopping red flag ever followed by steps?

    .venv/bin/python -m bench.lock_faults [--quick] [--json FILE]

Each case: a calf routine starts while the store is healthy; the store turns bad; "she can't
breathe" (RF-PE) is raised; the session ends by a goodbye, by a SessionEndedRequest, or by
nothing at all (Alexa's end never arrives); the store stays bad or recovers; then a new
session on a new skill instance asks for calf steps. Counted: cases where steps were spoken
(or the emergency advice was not).

Stores: DynamoDB (moto's server on loopback behind tests/trickle_server.py's proxy: refused,
throttled, hung, trickling) and SQLite (the file's write lock held by another process).
Deployments: self-hosted (the spool file), AWS Lambda with the next session in the same
execution environment (its /tmp spool) and in another one, with the self-invocation failing
(nothing listens at its endpoint): the one loss the README documents.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import load_content
from cramp_coach.hosting.local.loopback import free_port
from cramp_coach.memory.dynamodb import DynamoStore
from cramp_coach.memory.sqlite import SqliteStore
from tests.dynamo_server import FAKE_AWS_ENV, UNSET_FOR_TESTS, LoopbackMoto, create_table
from tests.persistence_envelopes import T0, Device
from tests.trickle_server import TrickleProxy

CONTENT = load_content("en-US")
PE = CONTENT.red_flags["RF_PE"].script
STEP1 = CONTENT.muscles["CALF"].partner[0].text
ENDS = ("goodbye", "session_ended", "nothing")
DYNAMO_FAULTS = ("refuse", "throttle", "hang", "trickle")
DEPLOYMENTS = ("self-hosted", "lambda, same environment", "lambda, other environment")


def _text(ssml: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", ssml).split())


def case(
    factory: Callable[[], Any],
    fault: Callable[[], None],
    heal: Callable[[], None],
    end: str,
    recovered: bool,
    user: str,
    next_env: Callable[[], None],
) -> tuple[bool, float]:
    """(steps spoken after the flag, the slowest turn in seconds)."""
    dev = Device(build_skill(store_factory=factory), user)
    dev.cramp(T0)
    fault()
    dev.intent("SymptomIntent", T0 + 20, symptom=("she can't breathe", "RF_PE"))
    if end == "goodbye":
        dev.intent("AMAZON.StopIntent", T0 + 40)
    elif end == "session_ended":
        dev.end_session(T0 + 40)
    if recovered:
        heal()
    next_env()
    later = Device(build_skill(store_factory=factory), user)
    speech = _text(later.cramp(T0 + 3600).speech)
    slowest = max(t.seconds for t in [*dev.turns, *later.turns])
    return STEP1 in speech or PE not in speech, slowest


def run(quick: bool) -> list[dict[str, Any]]:
    os.environ.update(FAKE_AWS_ENV)
    for name in UNSET_FOR_TESTS:
        os.environ.pop(name, None)
    os.environ["CRAMP_METRICS"] = "off"
    results: list[dict[str, Any]] = []
    moto = LoopbackMoto()
    moto.start()
    tmp = Path(tempfile.mkdtemp(prefix="cramp-lock-faults-"))
    n = 0
    try:
        for deployment in DEPLOYMENTS:
            lambda_env = deployment.startswith("lambda")
            for name in ("AWS_LAMBDA_FUNCTION_NAME", "CRAMP_USER_SALT", "AWS_ENDPOINT_URL_LAMBDA"):
                os.environ.pop(name, None)
            if lambda_env:
                os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "cramp-skill"
                os.environ["CRAMP_USER_SALT"] = "bench-lock-faults"
                os.environ["AWS_ENDPOINT_URL_LAMBDA"] = f"http://127.0.0.1:{free_port()}"
            faults = [*DYNAMO_FAULTS, "sqlite-locked"]
            if quick:
                faults = ["refuse", "hang", "sqlite-locked"]
            for fault_name in faults:
                for end in ENDS:
                    for recovered in (False, True):
                        n += 1
                        spool = tmp / f"spool-{n}.sqlite3"
                        os.environ["CRAMP_SPOOL_PATH"] = str(spool)

                        def other_env(spool: Path = spool, where: str = deployment) -> None:
                            if where == "lambda, other environment":
                                os.environ["CRAMP_SPOOL_PATH"] = str(spool.with_suffix(".other"))

                        user = f"amzn1.ask.account.LOCKFAULT{n:04d}"
                        holder: sqlite3.Connection | None = None
                        proxy: TrickleProxy | None = None
                        if fault_name == "sqlite-locked":
                            path = tmp / f"store-{n}.sqlite3"
                            SqliteStore(path).load("0" * 64, T0)
                            holder = sqlite3.connect(path, isolation_level=None)

                            def fault(h: sqlite3.Connection = holder) -> None:
                                h.execute("BEGIN EXCLUSIVE")

                            def heal(h: sqlite3.Connection = holder) -> None:
                                h.execute("ROLLBACK")

                            def factory(path: Path = path) -> Any:
                                return SqliteStore(path)
                        else:
                            table = create_table(moto.endpoint)
                            proxy = TrickleProxy(moto.endpoint)
                            proxy.interval = 0.5

                            def fault(p: TrickleProxy = proxy, mode: str = fault_name) -> None:
                                p.mode = mode

                            def heal(p: TrickleProxy = proxy) -> None:
                                p.mode = "pass"

                            def factory(t: str = table, p: TrickleProxy = proxy) -> Any:
                                return DynamoStore(t, endpoint_url=p.endpoint)

                        started = time.monotonic()
                        try:
                            steps, slowest = case(
                                factory, fault, heal, end, recovered, user, other_env
                            )
                        finally:
                            if holder is not None:
                                holder.close()
                            if proxy is not None:
                                proxy.close()
                        results.append(
                            {
                                "deployment": deployment,
                                "fault": fault_name,
                                "end": end,
                                "next": "recovered" if recovered else "still failing",
                                "steps_after_flag": steps,
                                "slowest_turn_s": round(slowest, 2),
                                "case_s": round(time.monotonic() - started, 2),
                            }
                        )
                        print(json.dumps(results[-1]), flush=True)
    finally:
        moto.stop()
    return results


def summary(results: list[dict[str, Any]]) -> str:
    lines = [
        "| deployment | cases | steps after a stopping flag | slowest turn s |",
        "|---|---|---|---|",
    ]
    for deployment in DEPLOYMENTS:
        rows = [r for r in results if r["deployment"] == deployment]
        if rows:
            bad = sum(r["steps_after_flag"] for r in rows)
            slowest = max(r["slowest_turn_s"] for r in rows)
            lines.append(f"| {deployment} | {len(rows)} | {bad} | {slowest} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="refused, hung and SQLite only")
    parser.add_argument("--json", help="also write the cases to this file")
    args = parser.parse_args(argv)
    results = run(args.quick)
    print(summary(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
