"""Issue 23: what a cold one-shot does before its first answer, on Lambda's terms.

- In Lambda the init builds the DynamoDB client (botocore) and loads the region's content with
  its symptom models, and imports nothing the one-shot does not use (APL model, sqlite3,
  boto3): the first request never builds any of them.
- Before the first answer: one read (the 12-hour lock), and only the writes that cannot wait.
  A log entry alone rides to the next turn or the session's end; a lock raised in the first
  turn is written in that turn, before the answer.

Counted, not timed: a proxy in front of moto's server counts the table calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import load_content
from cramp_coach.memory import user_key
from cramp_coach.memory.dynamodb import DynamoStore
from tests.dynamo_server import LoopbackMoto, create_table, fault_server, items_of, moto_server
from tests.persistence_envelopes import T0, Device, log_on

__all__ = ["moto_server"]  # fixtures, imported for pytest

USER = "amzn1.ask.account.COLDPATHUSER"
STEP1 = "Help them sit back or lie down"


def _sort_keys(endpoint: str, table: str) -> list[str]:
    return sorted(str(i["sk"]["S"]) for i in items_of(endpoint, table, user_key(USER)))


def _entries(dev: Device) -> list[dict[str, Any]]:
    return list(dev.attributes.get("cramp", {}).get("ctx", {}).get("unsaved", []))


def test_the_first_answer_makes_one_read_and_the_log_entry_follows(
    moto_server: LoopbackMoto,
) -> None:
    table = create_table(moto_server.endpoint)
    log_on(DynamoStore(table, endpoint_url=moto_server.endpoint), USER, T0 - 60)
    with fault_server("proxy", upstream=moto_server.endpoint) as proxy:
        dev = Device(build_skill(lambda: DynamoStore(table, endpoint_url=proxy.endpoint)), USER)
        assert STEP1 in dev.cramp(T0).speech
        assert proxy.requests == 1  # the Query: no write before step 1
        assert len(_entries(dev)) == 1  # the log entry rides in the session
        assert not any(sk.startswith("log#") for sk in _sort_keys(moto_server.endpoint, table))
        dev.intent("AMAZON.NextIntent", T0 + 20)
        assert _entries(dev) == []
    logs = [sk for sk in _sort_keys(moto_server.endpoint, table) if sk.startswith("log#")]
    assert len(logs) == 1  # written by the second turn


def test_a_session_that_ends_after_its_first_answer_still_writes_the_entry(
    moto_server: LoopbackMoto,
) -> None:
    table = create_table(moto_server.endpoint)
    log_on(DynamoStore(table, endpoint_url=moto_server.endpoint), USER, T0 - 60)
    dev = Device(build_skill(lambda: DynamoStore(table, endpoint_url=moto_server.endpoint)), USER)
    assert STEP1 in dev.cramp(T0).speech
    dev.end_session(T0 + 30, reason="EXCEEDED_MAX_REPROMPTS")  # nobody answered
    logs = [sk for sk in _sort_keys(moto_server.endpoint, table) if sk.startswith("log#")]
    assert len(logs) == 1


def test_a_lock_raised_in_the_first_turn_is_written_before_the_answer(
    moto_server: LoopbackMoto,
) -> None:
    table = create_table(moto_server.endpoint)
    dev = Device(build_skill(lambda: DynamoStore(table, endpoint_url=moto_server.endpoint)), USER)
    said = dev.intent("SymptomIntent", T0, symptom=("she can't breathe", "RF_PE")).speech
    assert load_content("en-US").red_flags["RF_PE"].script in said
    assert "profile#lock" in _sort_keys(moto_server.endpoint, table)  # before the next turn


PROBE = """
import gc, json, sys
import cramp_coach.hosting.lambda_entry as entry
from cramp_coach.content import _load
from cramp_coach.core import symptom_reading
from cramp_coach.memory import dynamodb

loaded = sorted(m for m in (
    "botocore", "boto3", "sqlite3", "cramp_coach.alexa.display",
    "ask_sdk_model.interfaces.alexa.presentation.apl", "ask_sdk_model.interfaces.connections",
) if m in sys.modules)
prepared = {
    "content": _load.cache_info().currsize,
    "matchers": symptom_reading._matcher.cache_info().currsize,
}

def refuse(*args, **kwargs):
    raise AssertionError("the client is built in the init, not in a request")

dynamodb.make_client = refuse
from tests.persistence_envelopes import Device, T0
turn = Device(entry._skill, sys.argv[1]).cramp(T0 + 3600)
print(json.dumps({"loaded": loaded, "prepared": prepared, "speech": turn.speech,
                  "gc": [gc.isenabled(), gc.get_freeze_count() > 0],
                  "after": sorted(m for m in ("sqlite3",) if m in sys.modules)}))
"""


def test_a_lambda_init_prepares_what_the_first_turn_needs_and_nothing_else(
    moto_server: LoopbackMoto, tmp_path: Path
) -> None:
    """A fresh process configured as Lambda in us-east-1: after the import, the client is
    built (a request that tried to build one would fail), en-US and en-CA are loaded and
    compiled, and the one-shot of a user locked an hour ago hears the warning."""
    table = create_table(moto_server.endpoint)
    dev = Device(build_skill(lambda: DynamoStore(table, endpoint_url=moto_server.endpoint)), USER)
    dev.cramp(T0)
    dev.intent("SymptomIntent", T0 + 20, symptom=("she can't breathe", "RF_PE"))
    dev.end_session(T0 + 40)
    root = Path(__file__).parents[1]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{root / 'lambda'}{os.pathsep}{root}",
        "AWS_LAMBDA_FUNCTION_NAME": "cramp-skill",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "CRAMP_STORE": "dynamodb",
        "CRAMP_TABLE": table,
        "CRAMP_DYNAMODB_ENDPOINT": moto_server.endpoint,
        "CRAMP_USER_SALT": os.environ.get("CRAMP_USER_SALT", "cramp-coach-local"),
        "CRAMP_SPOOL_PATH": str(tmp_path / "spool.sqlite3"),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, USER],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "not prepared" not in done.stderr  # priming the store and the locales worked
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == ["botocore"]
    assert result["prepared"] == {"content": 2, "matchers": 2}
    assert load_content("en-US").red_flags["RF_PE"].script in result["speech"]
    assert STEP1 not in result["speech"]
    assert result["after"] == []  # no spool file, no session state: neither was needed
    assert result["gc"] == [True, True]  # collection back on, what the init built frozen
