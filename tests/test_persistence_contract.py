"""The memory features through the real skill, against both stores (SQLite, and DynamoDB
through boto3 against moto's server on loopback).

Each "device" is a fresh skill with a fresh store instance (a new Lambda container or a new
process), so everything remembered between sessions really went through the store.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cramp_coach.alexa.skill import build_skill
from cramp_coach.memory import RETENTION_S, Store, user_key
from cramp_coach.memory.dynamodb import DynamoStore
from cramp_coach.memory.dynamodb_calls import _plain
from cramp_coach.memory.sqlite import SqliteStore
from tests.dynamo_server import LoopbackMoto, admin_client, create_table, items_of, moto_server
from tests.persistence_envelopes import DAY, MINUTE, T0, Device, Turn, log_on

__all__ = ["moto_server"]  # the session fixture, imported for pytest

USER = "amzn1.ask.account.AFAKEUSERIDFORTESTSONLY"
STEP1 = "Help them sit back or lie down"
STEP2 = "Cup their heel"
FREQ = "Frequent night cramps are worth a doctor's visit"
OFFER = "Would you like a three-minute stretch to do at bedtime?"  # PROTOCOLS 3a


def text(turn: Turn) -> str:
    return re.sub(r"<[^>]+>", "", turn.speech).strip()


@dataclass
class Backend:
    kind: str
    new_store: Callable[[], Store]
    raw: Callable[[str], list[dict[str, Any]]]  # every stored item of a pk, as plain dicts

    def device(self, user_id: str = USER) -> Device:
        return Device(build_skill(store_factory=self.new_store), user_id=user_id)

    def log_on(self, t: float = T0 - DAY, user_id: str = USER) -> None:
        log_on(self.new_store(), user_id, t)

    def sks(self, user_id: str = USER) -> set[str]:
        return {i["sk"] for i in self.raw(user_key(user_id))}


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        path = tmp_path / "data" / "cramp-coach.sqlite3"

        def raw_sqlite(pk: str) -> list[dict[str, Any]]:
            with sqlite3.connect(path) as conn:
                conn.row_factory = sqlite3.Row
                rows = conn.execute("SELECT * FROM items WHERE pk = ?", (pk,)).fetchall()
            named = (zip(r.keys(), tuple(r), strict=True) for r in rows)
            return [{k: v for k, v in pairs if v is not None} for pairs in named]

        return Backend("sqlite", lambda: SqliteStore(path), raw_sqlite)
    server: LoopbackMoto = request.getfixturevalue("moto_server")
    table = create_table(server.endpoint)

    def raw_dynamo(pk: str) -> list[dict[str, Any]]:
        return [_plain(item) for item in items_of(server.endpoint, table, pk)]

    return Backend(
        request.param, lambda: DynamoStore(table, endpoint_url=server.endpoint), raw_dynamo
    )


def logs(backend: Backend, user_id: str = USER) -> list[dict[str, Any]]:
    return sorted(
        (i for i in backend.raw(user_key(user_id)) if i["sk"].startswith("log#")),
        key=lambda i: i["sk"],
    )


def interrupted_on_step_2(backend: Backend, t: float) -> None:
    dev = backend.device()
    assert text(dev.cramp(t)).startswith(STEP1)
    assert text(dev.intent("AMAZON.NextIntent", t + 20)).startswith(STEP2)
    assert dev.intent("AMAZON.StopIntent", t + 40).end


# ---------------------------------------------------------------- resume
def test_resume_offered_on_launch(backend: Backend) -> None:
    interrupted_on_step_2(backend, T0)
    offer = backend.device().launch(T0 + 5 * MINUTE)
    assert "You were on step 2 of the calf steps" in text(offer)


@pytest.mark.parametrize("answer", ["AMAZON.YesIntent", "AMAZON.ResumeIntent"])
def test_resume_offer_accepted(backend: Backend, answer: str) -> None:
    interrupted_on_step_2(backend, T0)
    dev = backend.device()
    dev.launch(T0 + 5 * MINUTE)
    resumed = dev.intent(answer, T0 + 5 * MINUTE + 5)
    assert text(resumed).startswith(f"Picking up at step 2. {STEP2}")


def test_one_shot_continue(backend: Backend) -> None:
    interrupted_on_step_2(backend, T0)
    turn = backend.device().intent("AMAZON.ResumeIntent", T0 + 4 * MINUTE)
    assert text(turn).startswith(f"Picking up at step 2. {STEP2}")


def test_session_ended_by_silence_keeps_the_routine(backend: Backend) -> None:
    backend.log_on()
    dev = backend.device()
    dev.cramp(T0)
    dev.intent("AMAZON.NextIntent", T0 + 20)
    dev.end_session(T0 + 30, reason="EXCEEDED_MAX_REPROMPTS")
    assert "step 2 of the calf" in text(backend.device().launch(T0 + 3 * MINUTE))
    assert [e["outcome"] for e in logs(backend)] == ["interrupted"]


def test_no_resume_after_30_minutes(backend: Backend) -> None:
    interrupted_on_step_2(backend, T0)
    turn = backend.device().launch(T0 + 31 * MINUTE)
    assert text(turn).startswith("Which muscle is cramping?")


def test_finished_routine_is_not_offered(backend: Backend) -> None:
    backend.log_on()
    dev = backend.device()
    dev.cramp(T0)
    dev.intent("BetterIntent", T0 + 30)
    for i in range(12):
        if dev.intent("AMAZON.NextIntent", T0 + 40 + 10 * i).end:
            break
    assert text(backend.device().launch(T0 + 5 * MINUTE)).startswith("Which muscle")
    assert [e["outcome"] for e in logs(backend)] == ["eased"]
    assert "profile#resume" not in backend.sks()


# ---------------------------------------------------------------- the cramp log
def test_log_records_each_routine_and_counts_the_week(backend: Backend) -> None:
    backend.log_on()
    for day in range(3):
        interrupted_on_step_2(backend, T0 + day * DAY)
    entries = logs(backend)
    assert [(e["muscle"], e["variant"], e["outcome"]) for e in entries] == [
        ("CALF", "partner", "stopped")
    ] * 3
    assert [float(e["started_at"]) for e in entries] == [T0, T0 + DAY, T0 + 2 * DAY]
    count = backend.device().intent("CrampCountIntent", T0 + 2 * DAY + 3600)
    assert "You've had 3 cramps logged in the last seven days" in text(count)
    assert "Most often the calf" in text(count)
    later = backend.device().intent("CrampCountIntent", T0 + 8.5 * DAY)
    assert "You've had one cramp logged in the last seven days" in text(later)


def test_outcome_update_overwrites_the_same_entry(backend: Backend) -> None:
    backend.log_on()
    dev = backend.device()
    dev.launch(T0 - 5)  # warms the store, so the first step's entry is written at once
    dev.cramp(T0)
    assert [e["outcome"] for e in logs(backend)] == ["in_progress"]
    dev.intent("BetterIntent", T0 + 30)
    assert [e["outcome"] for e in logs(backend)] == ["eased"]


# ---------------------------------------------------------------- frequency advice
def test_frequency_advice_once_is_kept_in_the_store(backend: Backend) -> None:
    """Three routines logged through the skill; the advice is given once and remembered."""
    backend.log_on()
    for day in range(3):
        interrupted_on_step_2(backend, T0 + day * DAY)
    spoken = []
    for when in (2.5, 3.5):
        t = T0 + when * DAY
        dev = backend.device()
        dev.cramp(t)
        dev.intent("BetterIntent", t + 20)
        for i in range(12):
            last = dev.intent("AMAZON.NextIntent", t + 30 + 10 * i)
            if last.end or OFFER in text(last):  # aftercare ends on the bedtime offer
                break
        spoken.append(text(last))
    assert FREQ in spoken[0]
    assert FREQ not in spoken[1]  # advised once a week, not after every cramp
    profile = backend.new_store().load(user_key(USER), T0 + 4 * DAY)
    assert profile.freq_advised_at == pytest.approx(T0 + 2.5 * DAY + 100, abs=200)
    assert len(profile.recent_starts) == 5


def test_frequency_advice_through_the_skill(backend: Backend) -> None:
    backend.log_on()
    for day in range(2):
        interrupted_on_step_2(backend, T0 + day * DAY)
    dev = backend.device()
    t = T0 + 2 * DAY
    dev.cramp(t)
    dev.intent("BetterIntent", t + 20)
    last = None
    for i in range(12):
        last = dev.intent("AMAZON.NextIntent", t + 30 + 10 * i)
        if last.end or OFFER in text(last):  # aftercare ends on the bedtime offer
            break
    assert last is not None and FREQ in text(last)
    assert text(last).index(FREQ) < text(last).index(OFFER)  # the advice, then the stretch


def test_count_speaks_frequency_advice(backend: Backend) -> None:
    backend.log_on()
    for day in range(3):
        interrupted_on_step_2(backend, T0 + day * DAY)
    assert FREQ in text(backend.device().intent("CrampCountIntent", T0 + 2.2 * DAY))


# ---------------------------------------------------------------- preferences
def test_default_variant_and_quiet_voice_persist(backend: Backend) -> None:
    dev = backend.device()
    dev.launch(T0)
    dev.intent("AloneIntent", T0 + 5)
    dev.intent("VoiceIntent", T0 + 10, volume=("quieter", "QUIET"))
    dev.intent("AMAZON.StopIntent", T0 + 15)
    later = backend.device()
    step1 = later.cramp(T0 + DAY, helper=None)  # "calf cramp": nobody named
    assert 'volume="x-soft"' in step1.speech
    assert text(step1).startswith("Sit up and straighten the cramping leg")
    profile = next(i for i in backend.raw(user_key(USER)) if i["sk"] == "profile")
    assert profile["default_variant"] == "alone"
    assert profile["quiet"] in (True, 1)


# ---------------------------------------------------------------- privacy
def test_ttl_attribute_on_every_item_and_no_user_id_stored(backend: Backend) -> None:
    backend.log_on()
    interrupted_on_step_2(backend, T0)
    items = {i["sk"]: i for i in backend.raw(user_key(USER))}
    (log_sk,) = (sk for sk in items if sk.startswith("log#"))
    assert set(items) == {"profile", "profile#resume", log_sk}
    assert int(items["profile"]["expires_at"]) == int(T0 + 40) + RETENTION_S
    assert int(items[log_sk]["expires_at"]) == int(T0 + 40) + RETENTION_S
    assert int(items["profile#resume"]["expires_at"]) == int(T0 + 40) + 30 * 60
    for item in items.values():
        assert USER not in repr(item)
    assert user_key(USER) != USER and len(user_key(USER)) == 64


def test_expired_items_are_ignored(backend: Backend) -> None:
    backend.log_on()
    interrupted_on_step_2(backend, T0)
    store = backend.new_store()
    assert store.load(user_key(USER), T0 + 60).resume is not None
    after = store.load(user_key(USER), T0 + RETENTION_S + 3600)
    assert after.resume is None and after.recent_starts == [] and after.freq_advised_at is None


def test_delete_history_by_voice_after_yes(backend: Backend) -> None:
    backend.log_on()
    for day in range(2):
        interrupted_on_step_2(backend, T0 + day * DAY)
    dev = backend.device()
    assert "Delete your cramp history" in text(dev.intent("DeleteHistoryIntent", T0 + 2 * DAY))
    kept = dev.intent("AMAZON.NoIntent", T0 + 2 * DAY + 5)
    assert kept.end and len(logs(backend)) == 2
    dev.intent("DeleteHistoryIntent", T0 + 2 * DAY + 10)
    done = dev.intent("AMAZON.YesIntent", T0 + 2 * DAY + 15)
    assert text(done).startswith("Done. I've deleted your cramp history")
    assert backend.raw(user_key(USER)) == []
    # Deleting forgets the consent too: nothing is logged until the listener says so again.
    assert "not keeping a log" in text(
        backend.device().intent("CrampCountIntent", T0 + 2 * DAY + 60)
    )


def test_skill_disabled_deletes_only_that_user(backend: Backend) -> None:
    other = "amzn1.ask.account.SOMEONEELSE"
    interrupted_on_step_2(backend, T0)
    other_dev = backend.device(other)
    other_dev.cramp(T0 + 100)
    other_dev.intent("AMAZON.StopIntent", T0 + 110)
    backend.device().disable_skill(T0 + 200)
    assert backend.raw(user_key(USER)) == []
    assert len(backend.raw(user_key(other))) == 2


def test_logs_hold_no_user_id_or_key(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    # Our loggers only: botocore's own DEBUG output echoes request bodies (off unless enabled).
    caplog.set_level(logging.DEBUG, logger="cramp_coach")
    interrupted_on_step_2(backend, T0)
    backend.device().launch(T0 + 60)
    backend.device().disable_skill(T0 + 120)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("cramp"))
    assert "deleted 2 stored items" in logged
    assert USER not in logged and user_key(USER) not in logged


def test_unsaved_entries_are_not_duplicated_by_a_second_save(backend: Backend) -> None:
    backend.log_on()
    store = backend.new_store()
    entry = {
        "rid": "abc123",
        "started_at": T0,
        "muscle": "CALF",
        "variant": "alone",
        "outcome": "in_progress",
    }
    for outcome in ("in_progress", "eased", "eased"):
        store.save(
            user_key(USER),
            T0 + 10,
            entries=[{**entry, "outcome": outcome}],
            prefs={},
            resume=None,
            clear_resume=False,
            freq_advised=False,
        )
    assert [(e["outcome"], e["variant"]) for e in logs(backend)] == [("eased", "alone")]


def test_admin_client_sees_the_template_key_schema(moto_server: LoopbackMoto) -> None:
    table = create_table(moto_server.endpoint)
    described = admin_client(moto_server.endpoint).describe_table(TableName=table)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in described["KeySchema"]} == {
        "pk": "HASH",
        "sk": "RANGE",
    }
    ttl = admin_client(moto_server.endpoint).describe_time_to_live(TableName=table)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


# ---------------------------------------------------------------- opt-in log, resume, lock
ENTRY = {"rid": "r1", "started_at": T0, "muscle": "CALF", "variant": "partner", "outcome": "eased"}
LOCK = {"flag": "RF_DVT", "level": "urgent", "muscle": "CALF", "at": T0, "about": "partner"}


def save(store: Store, t: float, **changes: Any) -> None:
    args: dict[str, Any] = {
        "entries": [],
        "prefs": {},
        "resume": None,
        "clear_resume": False,
        "freq_advised": False,
    }
    store.save(user_key(USER), t, **(args | changes))


@pytest.mark.parametrize("consent", [None, False])
def test_log_entries_are_dropped_unless_the_log_is_on(
    backend: Backend, consent: bool | None
) -> None:
    store = backend.new_store()
    if consent is not None:
        save(store, T0 - 5, prefs={"log_consent": consent})
    save(store, T0, entries=[ENTRY], freq_advised=True)
    interrupted_on_step_2(backend, T0 + 60)  # through the skill too
    assert logs(backend) == []
    profile = store.load(user_key(USER), T0 + 120)
    assert profile.recent_starts == [] and profile.freq_advised_at is None
    assert profile.log_consent is consent


def test_consent_in_the_same_save_writes_the_entries(backend: Backend) -> None:
    """Asked after the routine eased: the yes and the pending entry arrive together."""
    store = backend.new_store()
    save(store, T0 + 60, entries=[ENTRY], prefs={"log_consent": True})
    assert [e["outcome"] for e in logs(backend)] == ["eased"]
    assert store.load(user_key(USER), T0 + 90).log_consent is True


def test_consent_false_deletes_the_log(backend: Backend) -> None:
    backend.log_on()
    for day in range(3):
        interrupted_on_step_2(backend, T0 + day * DAY)
    store = backend.new_store()
    save(store, T0 + 2.5 * DAY, freq_advised=True)
    assert len(logs(backend)) == 3
    assert store.load(user_key(USER), T0 + 2.6 * DAY).freq_advised_at is not None
    save(store, T0 + 3 * DAY, prefs={"log_consent": False}, entries=[ENTRY | {"rid": "r9"}])
    assert logs(backend) == []
    profile = store.load(user_key(USER), T0 + 3 * DAY + 1)
    assert profile.log_consent is False and profile.recent_starts == []
    assert profile.freq_advised_at is None  # no trace of how often cramps came
    interrupted_on_step_2(backend, T0 + 4 * DAY)
    assert logs(backend) == []


def test_resume_is_gone_30_minutes_after_it_was_saved(backend: Backend) -> None:
    interrupted_on_step_2(backend, T0)  # saved at T0 + 40
    store = backend.new_store()
    assert store.load(user_key(USER), T0 + 40 + 29 * MINUTE).resume is not None
    assert "profile#resume" in backend.sks()
    assert store.load(user_key(USER), T0 + 40 + 30 * MINUTE + 1).resume is None
    assert "profile#resume" not in backend.sks()  # physically deleted on that access


def test_lock_is_returned_for_12_hours_then_gone(backend: Backend) -> None:
    store = backend.new_store()
    save(store, T0 + 5, lock=LOCK)
    assert store.load(user_key(USER), T0 + 60).lock == LOCK
    assert backend.new_store().load(user_key(USER), T0 + 12 * 3600 - 1).lock == LOCK
    lock_item = next(i for i in backend.raw(user_key(USER)) if i["sk"] == "profile#lock")
    assert int(lock_item["expires_at"]) == int(T0) + 12 * 3600
    assert store.load(user_key(USER), T0 + 12 * 3600 + 1).lock is None
    assert "profile#lock" not in backend.sks()
    save(store, T0 + 13 * 3600, lock=LOCK)  # an old lock is not written again
    assert "profile#lock" not in backend.sks()


def test_delete_clears_the_lock(backend: Backend) -> None:
    backend.log_on()
    interrupted_on_step_2(backend, T0)
    save(backend.new_store(), T0 + 50, lock=LOCK)
    assert {"profile", "profile#resume", "profile#lock"} <= backend.sks()
    backend.device().disable_skill(T0 + 60)
    assert backend.raw(user_key(USER)) == []
    assert backend.new_store().load(user_key(USER), T0 + 70).lock is None


def test_with_the_log_off_only_preferences_outlive_the_windows(backend: Backend) -> None:
    """Log off: after 12 hours nothing about a cramp or a red flag is stored, only settings."""
    dev = backend.device()
    dev.launch(T0 - 60)
    dev.intent("AloneIntent", T0 - 50)
    interrupted_on_step_2(backend, T0)
    save(backend.new_store(), T0 + 50, lock=LOCK, freq_advised=True)
    backend.new_store().load(user_key(USER), T0 + 12 * 3600 + 60)  # any later access
    (profile,) = backend.raw(user_key(USER))
    assert profile["sk"] == "profile"
    assert set(profile) - {"pk", "sk"} <= {"default_variant", "quiet", "log_consent", "expires_at"}
