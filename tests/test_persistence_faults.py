"""A failing table never stops the spoken step, and nothing written is lost.

Every turn is timed around the handler call (envelope in, envelope out) and must leave within
the store's turn budget (1.5 s) plus a margin for the conversation itself, with the expected
speech; the log entries ride in the session until the store is back.
Every store reaches the table through boto3, the one production client.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import load_content
from cramp_coach.memory import StoreError, turn, user_key
from cramp_coach.memory.dynamodb import DynamoStore
from cramp_coach.memory.dynamodb_calls import CALL_ATTEMPTS
from tests.dynamo_server import (
    LoopbackMoto,
    create_table,
    fault_server,
    items_of,
    moto_server,
)
from tests.persistence_envelopes import T0, Device, Turn, log_on

__all__ = ["moto_server"]  # fixtures, imported for pytest

BOUND_S = turn.TURN_BUDGET_S + 0.6
USER = "amzn1.ask.account.FAULTTESTUSER"
STEP1 = "Help them sit back or lie down"
STEP2 = "Cup their heel"
EASING = "Good, the cramp is easing"
ASK = "Which muscle is cramping?"
TIMINGS: dict[str, list[float]] = {}  # printed with -s; figures for the report


def text(turn: Turn) -> str:
    return re.sub(r"<[^>]+>", "", turn.speech).strip()


def spoken(turn: Turn, start: str, label: str) -> None:
    TIMINGS.setdefault(label, []).append(round(turn.seconds, 3))
    assert text(turn).startswith(start), text(turn)
    assert turn.seconds < BOUND_S, f"{label}: turn took {turn.seconds:.2f} s"


def unsaved(dev: Device) -> list[dict[str, Any]]:
    return list(dev.attributes.get("cramp", {}).get("ctx", {}).get("unsaved", []))


def logs(endpoint: str, table: str) -> list[dict[str, Any]]:
    return [i for i in items_of(endpoint, table, user_key(USER)) if i["sk"]["S"].startswith("log#")]


@pytest.fixture(scope="module", autouse=True)
def report_timings() -> Any:
    yield
    for label, values in TIMINGS.items():
        print(f"\n{label}: {values}")


def test_server_stopped_mid_conversation(moto_server: LoopbackMoto) -> None:
    flaky = LoopbackMoto()  # its own port, moto's shared backend: stop/start keeps the table
    flaky.start()
    try:
        table = create_table(flaky.endpoint)
        log_on(DynamoStore(table, endpoint_url=flaky.endpoint), USER, T0 - 60)
        dev = Device(build_skill(lambda: DynamoStore(table, endpoint_url=flaky.endpoint)), USER)
        spoken(dev.launch(T0), ASK, "stopped: healthy")
        spoken(dev.cramp(T0 + 5), STEP1, "stopped: healthy")
        assert [i["outcome"]["S"] for i in logs(flaky.endpoint, table)] == ["in_progress"]
        flaky.stop()
        spoken(dev.intent("AMAZON.NextIntent", T0 + 30), STEP2, "stopped: refused")
        spoken(dev.intent("BetterIntent", T0 + 60), EASING, "stopped: refused")
        assert [u["outcome"] for u in unsaved(dev)] == ["eased"]  # rides in the session
        spoken(dev.intent("AMAZON.NextIntent", T0 + 90), "Rest the leg", "stopped: refused")
        flaky.start()
        # "Next" leaves the heat-or-ice question out: the rest of aftercare, in one turn.
        spoken(dev.intent("AMAZON.NextIntent", T0 + 120), "Sip a glass", "stopped: back")
        assert unsaved(dev) == []
        assert [i["outcome"]["S"] for i in logs(flaky.endpoint, table)] == ["eased"]
    finally:
        flaky.stop()


def test_unknown_table(moto_server: LoopbackMoto) -> None:
    dev = Device(
        build_skill(lambda: DynamoStore("no-such-table", endpoint_url=moto_server.endpoint)), USER
    )
    spoken(dev.launch(T0), ASK, "unknown table")
    spoken(dev.cramp(T0 + 5), STEP1, "unknown table")
    spoken(dev.intent("BetterIntent", T0 + 30), EASING, "unknown table")
    assert [u["outcome"] for u in unsaved(dev)] == ["eased"]


@pytest.mark.parametrize("mode", ["throttle", "hang"])
def test_misbehaving_server_within_bound(moto_server: LoopbackMoto, mode: str) -> None:
    """A loopback server answering 400 ProvisionedThroughputExceeded, or never answering."""
    with fault_server(mode) as server:
        dev = Device(build_skill(lambda: DynamoStore("t", endpoint_url=server.endpoint)), USER)
        label = mode
        spoken(dev.launch(T0), ASK, label)  # load fails: no resume offer, the question
        spoken(dev.cramp(T0 + 5), STEP1, label)  # save fails: the step is spoken
        spoken(dev.intent("BetterIntent", T0 + 30), EASING, label)  # load fails, save skipped
        # One failing call per turn (the rest of the turn skips the store): a throttled call
        # is tried CALL_ATTEMPTS times within the budget, a hung one once (read timeout).
        assert server.requests == 3 * (CALL_ATTEMPTS if mode == "throttle" else 1)
        assert [u["outcome"] for u in unsaved(dev)] == ["eased"]


def test_throttled_then_recovers(moto_server: LoopbackMoto) -> None:
    """A proxy in front of the real server throttles every call (each client retries once),
    then the throttling lifts and the entry that rode in the session is written."""
    table = create_table(moto_server.endpoint)
    log_on(DynamoStore(table, endpoint_url=moto_server.endpoint), USER, T0 - 60)
    with fault_server("proxy", upstream=moto_server.endpoint) as proxy:
        proxy.failing = True
        dev = Device(build_skill(lambda: DynamoStore(table, endpoint_url=proxy.endpoint)), USER)
        label = "throttled"
        spoken(dev.launch(T0), ASK, label)
        spoken(dev.cramp(T0 + 5), STEP1, label)
        spoken(dev.intent("AMAZON.NextIntent", T0 + 30), STEP2, label)
        assert proxy.requests == 3 * CALL_ATTEMPTS  # one failing call per turn, retried
        assert len(unsaved(dev)) == 1 and logs(moto_server.endpoint, table) == []
        proxy.failing = False
        spoken(dev.intent("BetterIntent", T0 + 60), EASING, "throttle lifted")
        assert unsaved(dev) == []
        assert [i["outcome"]["S"] for i in logs(moto_server.endpoint, table)] == ["eased"]


def test_store_is_not_touched_again_in_a_failed_turn(moto_server: LoopbackMoto) -> None:
    with fault_server("hang") as server:
        store = DynamoStore("t", endpoint_url=server.endpoint)
        turn.begin()  # one turn: its load fails, so its save does not try again
        try:
            # botocore's read timeout, or the turn's deadline first on a busy machine
            with pytest.raises(StoreError, match=r"Timeout|DeadlineExceeded"):
                store.load("k", T0)
            with pytest.raises(StoreError, match="skipped"):
                store.save(
                    "k",
                    T0,
                    entries=[],
                    prefs={},
                    resume=None,
                    clear_resume=False,
                    freq_advised=False,
                )
        finally:
            turn.end()
        assert server.requests == 1


# ---------------------------------------------------------------- two devices at once
def test_concurrent_devices_lose_no_entries(moto_server: LoopbackMoto) -> None:
    """Eight threads append for one user to the same server: every entry arrives."""
    table = create_table(moto_server.endpoint)
    log_on(DynamoStore(table, endpoint_url=moto_server.endpoint), USER, T0 - 60)
    threads_n, per_thread = 8, 25
    errors: list[BaseException] = []

    def device(n: int) -> None:
        try:
            store = DynamoStore(table, endpoint_url=moto_server.endpoint)
            for i in range(per_thread):
                entry = {
                    "rid": f"d{n}r{i}",
                    "started_at": T0 + i,
                    "muscle": "CALF",
                    "variant": "alone",
                    "outcome": "eased",
                }
                store.save(
                    user_key(USER),
                    T0 + 1000 + n * 100 + i,
                    entries=[entry],
                    prefs={"quiet": n % 2 == 0},
                    resume=None,
                    clear_resume=False,
                    freq_advised=False,
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=device, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(logs(moto_server.endpoint, table)) == threads_n * per_thread
    profile = DynamoStore(table, endpoint_url=moto_server.endpoint).load(user_key(USER), T0 + 60)
    assert len(profile.recent_starts) == threads_n * per_thread


def test_two_devices_through_the_skill(moto_server: LoopbackMoto) -> None:
    """Two Echos in one household, one cramp each at the same moment, different prefs."""
    table = create_table(moto_server.endpoint)
    log_on(DynamoStore(table, endpoint_url=moto_server.endpoint), USER, T0 - 60)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def echo(muscle: str, heard: str, helper: str, offset: float) -> None:
        dev = Device(
            build_skill(lambda: DynamoStore(table, endpoint_url=moto_server.endpoint)), USER
        )
        dev.launch(T0 + offset)
        barrier.wait()
        dev.cramp(T0 + 5 + offset, muscle=muscle, heard=heard, helper=helper)
        results.append(text(dev.intent("AMAZON.StopIntent", T0 + 20 + offset)))

    threads = [
        threading.Thread(target=echo, args=("CALF", "calf", "PARTNER", 0.0)),
        threading.Thread(target=echo, args=("FOOT_ARCH", "foot", "ALONE", 1.0)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    entries = logs(moto_server.endpoint, table)
    assert sorted(i["muscle"]["S"] for i in entries) == ["CALF", "FOOT_ARCH"]


def cold_lambda(code: str, table: str, endpoint: str) -> dict[str, Any]:
    """Run `code` in a fresh process configured as a cold Lambda against the local table;
    it prints one JSON line last, which is returned."""
    env = {
        "CRAMP_STORE": "dynamodb",
        "CRAMP_TABLE": table,
        "PATH": "/usr/bin:/bin",
        "CRAMP_DYNAMODB_ENDPOINT": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "PYTHONPATH": "lambda",
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(Path(__file__).parents[1]),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_cold_one_shot_hears_the_red_flag_of_an_earlier_session(
    moto_server: LoopbackMoto,
) -> None:
    """Safety before speed: the cold one-shot reads the table (the 12-hour lock) first."""
    table = create_table(moto_server.endpoint)
    dev = Device(build_skill(lambda: DynamoStore(table, endpoint_url=moto_server.endpoint)), USER)
    spoken(dev.cramp(T0), STEP1, "lock: set-up")
    dev.intent("SymptomIntent", T0 + 20, symptom=("she can't breathe", "RF_PE"))
    dev.end_session(T0 + 40)
    code = (
        "import json\n"
        "import cramp_coach.hosting.lambda_entry as entry\n"
        "from tests.persistence_envelopes import Device, T0\n"
        f"turn = Device(entry._skill, {USER!r}).cramp(T0 + 3600)\n"
        "print(json.dumps({'speech': turn.speech}))\n"
    )
    speech = cold_lambda(code, table, moto_server.endpoint)["speech"]
    content = load_content("en-US")
    assert content.red_flags["RF_PE"].script in speech
    assert content.muscles["CALF"].partner[0].text not in speech


def test_cold_launch_reads_the_table_through_botocore(moto_server: LoopbackMoto) -> None:
    """A fresh process with keys in the environment, as a cold Lambda: the launch reads the
    interrupted routine from the table through botocore (its client directly: boto3's layers
    are never imported) and offers it."""
    table = create_table(moto_server.endpoint)
    dev = Device(build_skill(lambda: DynamoStore(table, endpoint_url=moto_server.endpoint)), USER)
    spoken(dev.cramp(T0), STEP1, "cold launch: set-up")
    spoken(dev.intent("AMAZON.NextIntent", T0 + 20), STEP2, "cold launch: set-up")
    dev.intent("AMAZON.StopIntent", T0 + 40)
    code = (
        "import sys, json\n"
        "import cramp_coach.hosting.lambda_entry as entry\n"
        "from tests.persistence_envelopes import Device, T0\n"
        f"turn = Device(entry._skill, {USER!r}).launch(T0 + 300)\n"
        "print(json.dumps({'speech': turn.speech, 'sdk': sorted(m for m in sys.modules\n"
        "      if m.split('.')[0] in ('boto3', 'botocore'))}))\n"
    )
    result = cold_lambda(code, table, moto_server.endpoint)
    assert "You were on step 2 of the calf steps" in result["speech"]
    assert "botocore" in result["sdk"] and "boto3" not in result["sdk"]


@pytest.mark.parametrize("variable", ["CRAMP_DYNAMODB_ENDPOINT", "AWS_ENDPOINT_URL_DYNAMODB"])
def test_local_endpoint_from_the_environment(
    moto_server: LoopbackMoto, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = create_table(moto_server.endpoint)
    monkeypatch.setenv(variable, moto_server.endpoint)
    store = DynamoStore(table)
    store.save(
        "k",
        T0,
        entries=[],
        prefs={"default_variant": "alone"},
        resume=None,
        clear_resume=False,
        freq_advised=False,
    )
    assert store.load("k", T0 + 1).default_variant == "alone"
