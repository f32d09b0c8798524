"""The shared item logic both stores use: sort keys, expiry, profile mapping."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cramp_coach.core.model import FREQ_WINDOW_S
from cramp_coach.memory import RETENTION_S
from cramp_coach.memory.dynamodb_calls import _from_av, _to_av
from cramp_coach.memory.items import (
    LEGACY_PROFILE_ATTRS,
    LOG_END,
    consent_after,
    expires_at,
    iso_utc,
    log_item,
    log_range,
    log_sk,
    profile_from,
    profile_update,
    resume_attrs,
)
from cramp_coach.memory.lock import lock_attrs
from tests.persistence_envelopes import T0

times = st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False)


@given(times, times)
def test_sort_keys_follow_time(a: float, b: float) -> None:
    if round(a, 3) < round(b, 3) - 0.002:
        assert log_sk(a, "zzz") < log_sk(b, "aaa")
    assert len(iso_utc(a)) == len(iso_utc(b)) == 24
    assert log_sk(a, "r") < LOG_END


def test_window_bounds() -> None:
    low, high = log_range(T0)
    assert low < log_sk(T0 - FREQ_WINDOW_S + 1, "r") < high
    assert log_sk(T0 - FREQ_WINDOW_S - 1, "r") < low
    assert high < "profile"  # one Query from the window's start to "profile#~" gets all
    assert "profile" < "profile#lock" < "profile#resume" < "profile#~"


def test_log_item_shape_and_invalid_entries() -> None:
    sk, attrs = log_item(
        {"rid": "abc", "started_at": T0, "muscle": "CALF", "variant": "alone", "outcome": "eased"},
        T0 + 5,
    ) or ("", {})
    assert sk == "log#2025-03-03T02:00:00.000Z#abc"
    assert attrs == {
        "muscle": "CALF",
        "variant": "alone",
        "outcome": "eased",
        "started_at": T0,
        "expires_at": int(T0 + 5) + RETENTION_S,
    }
    for bad in (
        {},
        {"rid": "a#b", "started_at": T0, "muscle": "CALF"},
        {"rid": "a", "started_at": "soon", "muscle": "CALF"},
        {"rid": "a", "started_at": float("nan"), "muscle": "CALF"},
        {"rid": "a", "started_at": T0, "muscle": "x" * 500},
    ):
        assert log_item(bad, T0) is None


def test_profile_update_sets_only_changes() -> None:
    sets, removes = profile_update(T0, prefs={}, freq_advised=False, consent=None)
    assert sets == {"expires_at": expires_at(T0)} and removes == list(LEGACY_PROFILE_ATTRS)
    sets, removes = profile_update(
        T0,
        prefs={"quiet": True, "default_variant": "alone", "log_consent": True, "bogus": 1},
        freq_advised=True,
        consent=True,
    )
    assert set(sets) == {"expires_at", "quiet", "default_variant", "log_consent", "freq_advised_at"}
    # The frequency advice leaves a trace only while the log is on.
    sets, _ = profile_update(T0, prefs={}, freq_advised=True, consent=None)
    assert "freq_advised_at" not in sets
    sets, removes = profile_update(
        T0, prefs={"log_consent": False}, freq_advised=True, consent=False
    )
    assert "freq_advised_at" not in sets and "freq_advised_at" in removes


def test_resume_item_keeps_what_continue_needs_for_30_minutes() -> None:
    state: dict[str, Any] = {
        "mode": "paused",
        "muscle": "CALF",
        "step": 2,
        "unsaved": [{"rid": "x"}],
        "last_speech": "words",
    }
    attrs = resume_attrs(state, T0)
    assert json.loads(attrs["resume"]) == {"mode": "paused", "muscle": "CALF", "step": 2}
    assert attrs["expires_at"] == int(T0) + 30 * 60 and attrs["resume_saved_at"] == T0


def test_lock_item_expires_12_hours_after_the_flag() -> None:
    lock = {"flag": "RF_DVT", "level": "urgent", "muscle": None, "at": T0}
    attrs = lock_attrs(lock, T0 + 60) or {}
    assert json.loads(attrs["lock"]) == {**lock, "about": "unknown"}
    assert attrs["expires_at"] == int(T0) + 12 * 3600
    assert lock_attrs(lock, T0 + 12 * 3600) is None  # already over: nothing to write
    for bad in ({}, {**lock, "at": "soon"}, {**lock, "flag": "x" * 500}, {**lock, "muscle": 3}):
        assert lock_attrs(bad, T0) is None
    assert consent_after(None, {"log_consent": True}) is True
    assert consent_after(True, {"log_consent": "yes"}) is True
    assert consent_after(True, {"log_consent": False}) is False


def test_profile_from_sorts_filters_and_ignores_corrupt_values() -> None:
    logs: list[dict[str, Any]] = [
        {"started_at": T0 - 60, "muscle": "HAND", "expires_at": T0 + 10},
        {"started_at": T0 - 3600, "muscle": "CALF", "expires_at": T0 + 10},
        {"started_at": T0 - FREQ_WINDOW_S - 1, "muscle": "CALF", "expires_at": T0 + 10},
        {"started_at": T0 - 30, "muscle": "CALF", "expires_at": T0 - 1},  # expired
        {"started_at": "x", "muscle": "CALF"},
    ]
    profile = profile_from(
        {"default_variant": "sideways", "quiet": "yes", "log_consent": 1, "expires_at": T0 + 10},
        logs,
        T0,
        resume={"resume": "{bad", "resume_saved_at": T0, "expires_at": T0 + 10},
        lock={"lock": '{"flag": "RF_DVT"}', "expires_at": T0 + 10},
    )
    assert profile.recent_starts == [T0 - 3600, T0 - 60]
    assert profile.recent_muscles == ["CALF", "HAND"]
    assert (
        profile.default_variant,
        profile.quiet,
        profile.resume,
        profile.resume_saved_at,
        profile.log_consent,
        profile.lock,
    ) == (None,) * 6


def test_dynamo_attribute_values_round_trip() -> None:
    for value in ("alone", True, False, 7_776_000, T0, T0 + 0.25):
        assert _from_av(_to_av(value)) == value
