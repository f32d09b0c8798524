"""The store under a sick table: how long the slowest turn takes, and how the backlog drains.

Usage (from the repository root):

    .venv/bin/python -m bench.store_faults                  # this checkout's code
    .venv/bin/python -m bench.store_faults --entries 40     # more entries riding
    .venv/bin/python -m bench.store_faults --code /tmp/old/lambda   # another version's code

Every scenario talks to the real skill (request envelopes in, response envelopes out) whose
DynamoDB store reaches moto's server on loopback through boto3, behind the test suite's
misbehaving proxy (tests/trickle_server.py). A session carries N earlier log entries riding
in its attributes (the state after an outage); then the table misbehaves for a few turns,
recovers, and turns go on until nothing rides any more. Printed: a Markdown table of the
slowest turn, the turns it took to store everything once the table was back, and how many of
the entries are stored (each exactly once). Not part of the tests; figures vary by machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ENTRIES = 20


@dataclass
class Result:
    scenario: str
    slowest_s: float  # the slowest turn of the whole scenario, envelope in to envelope out
    first_good_s: float  # the first turn once the table answers again
    drain_turns: int | None  # turns (once it answers) until nothing rides; None: never
    stored: int  # distinct entries in the table afterwards
    expected: int
    duplicates: int


def _reseal(state: dict[str, Any], session_id: str) -> None:
    """The planted backlog is what an outage leaves riding: seal it as the skill would have
    (issue 21: an unsealed state starts afresh). Older code (--code) has no seal."""
    try:
        from cramp_coach.alexa.attributes import SEAL_KEY, seal
    except ImportError:
        return
    state[SEAL_KEY] = seal({k: v for k, v in state.items() if k != SEAL_KEY}, session_id)


def _imports(code: str | None) -> None:
    if code:
        sys.path.insert(0, str(Path(code).resolve()))
    for path in (REPO / "lambda", REPO):
        if str(path) not in sys.path:
            sys.path.append(str(path))


def run(entries: int, code: str | None = None) -> list[Result]:
    _imports(code)
    logging.disable(logging.CRITICAL)  # the store logs every failure; the table is the output
    from cramp_coach.alexa.skill import build_skill
    from cramp_coach.memory import user_key
    from cramp_coach.memory.dynamodb import DynamoStore
    from tests.dynamo_server import FAKE_AWS_ENV, LoopbackMoto, create_table, items_of
    from tests.persistence_envelopes import T0, Device, log_on
    from tests.trickle_server import TrickleProxy

    saved_env = dict(os.environ)
    os.environ.update(FAKE_AWS_ENV)
    user = "amzn1.ask.account.BENCHSTOREFAULTS"
    moto = LoopbackMoto()
    moto.start()
    results: list[Result] = []

    def mode(name: str, **settings: float) -> Callable[[TrickleProxy], None]:
        def apply(proxy: TrickleProxy) -> None:
            proxy.mode = name
            for key, value in settings.items():
                setattr(proxy, key, value)

        return apply

    def scenario(
        name: str,
        sick: Callable[[TrickleProxy], None],
        recover: Callable[[TrickleProxy], None] | None = None,
        end_session: bool = False,
    ) -> None:
        table = create_table(moto.endpoint)
        log_on(DynamoStore(table, endpoint_url=moto.endpoint), user, T0 - 60)
        proxy = TrickleProxy(moto.endpoint)

        def skill() -> Any:
            return build_skill(lambda: DynamoStore(table, endpoint_url=proxy.endpoint))

        times: list[float] = []
        dev = Device(skill(), user)
        times.append(dev.cramp(T0).seconds)
        riding = [
            {
                "rid": f"b{i:011x}",  # the shape routine.py gives (12 hex digits)
                "started_at": T0 - 3 * 86400 + i * 600,
                "muscle": "CALF",
                "variant": "alone",
                "outcome": "eased",
            }
            for i in range(entries)
        ]
        ctx = dev.session.attributes["cramp"]["ctx"]
        ctx["unsaved"] = [*riding, *ctx["unsaved"]]
        _reseal(dev.session.attributes["cramp"], dev.session.session_id)
        expected = {e["rid"] for e in ctx["unsaved"]} | _rids(items_of, moto.endpoint, table, user)
        sick(proxy)
        t = T0 + 30
        for _ in range(3):
            times.append(dev.intent("AMAZON.RepeatIntent", t).seconds)
            t += 30
        if end_session:
            times.append(dev.intent("AMAZON.StopIntent", t).seconds)
            dev = Device(skill(), user)  # a later session, on another container
        (recover or mode("pass"))(proxy)
        first: float | None = None
        drain: int | None = None
        for n in range(1, 21):
            t += 60
            turn = dev.launch(t) if end_session and n == 1 else dev.intent("AMAZON.RepeatIntent", t)
            times.append(turn.seconds)
            first = turn.seconds if first is None else first
            left = dev.session.attributes.get("cramp", {}).get("ctx", {}).get("unsaved", [])
            if not left and expected <= _rids(items_of, moto.endpoint, table, user):
                drain = n
                break
        logs = [
            i["sk"]["S"]
            for i in items_of(moto.endpoint, table, user_key(user))
            if i["sk"]["S"].startswith("log#")
        ]
        rids = [sk.rsplit("#", 1)[1] for sk in logs]
        proxy.close()
        results.append(
            Result(
                name,
                round(max(times), 2),
                round(first or 0.0, 2),
                drain,
                len(set(rids) & expected),
                len(expected),
                len(rids) - len(set(rids)),
            )
        )

    with tempfile.TemporaryDirectory() as spool:
        os.environ["CRAMP_SPOOL_PATH"] = str(Path(spool) / "deferred.sqlite3")
        try:
            # 40 bytes trickle (20 s), then the rest: a stall old code could wait out.
            scenario("trickle (1 byte / 0.5 s)", mode("trickle", interval=0.5, limit=40))
            scenario("hung server", mode("hang"))
            scenario("throttling, then it lifts", mode("throttle"))
            scenario("refused, then 0.25 s per call", mode("refuse"), mode("slow", delay=0.25))
            scenario("refused, then 0.5 s per call", mode("refuse"), mode("slow", delay=0.5))
            scenario("outage across a session end", mode("refuse"), end_session=True)
        finally:
            moto.stop()
            os.environ.clear()
            os.environ.update(saved_env)
            logging.disable(logging.NOTSET)
    return results


def _rids(items_of: Any, endpoint: str, table: str, user: str) -> set[str]:
    from cramp_coach.memory import user_key

    found = items_of(endpoint, table, user_key(user))
    return {i["sk"]["S"].rsplit("#", 1)[1] for i in found if i["sk"]["S"].startswith("log#")}


def table(results: list[Result], entries: int) -> str:
    lines = [
        f"| scenario ({entries} entries riding) | slowest turn | first good turn "
        "| turns to drain | entries stored |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        drain = "never (20+)" if r.drain_turns is None else str(r.drain_turns)
        dup = f", {r.duplicates} duplicated" if r.duplicates else ""
        lines.append(
            f"| {r.scenario} | {r.slowest_s:.2f} s | {r.first_good_s:.2f} s | {drain} "
            f"| {r.stored} of {r.expected}{dup} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--entries", type=int, default=DEFAULT_ENTRIES, help="log entries riding (default 20)"
    )
    parser.add_argument("--code", help="a lambda/ folder to import cramp_coach from instead")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results = run(args.entries, args.code)
    print(table(results, args.entries))
    print(f"\n({time.monotonic() - started:.0f} s in all)")
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
