"""The stored shape of a user's memory: one place both stores build and read items from.

Logical items (DynamoDB and SQLite hold the same ones), all under pk = user_key:

- sk = ``profile``: preferences only: default_variant, quiet, log_consent, freq_advised_at
  (kept only while the log is on), country and country_device (the device's country, found
  from its time zone, and a salted tag of that device), expires_at (90 days after the last
  write).
- sk = ``profile#resume``: the interrupted routine: resume (JSON of a State dict),
  resume_saved_at, expires_at = resume_saved_at + 30 minutes.
- sk = ``profile#lock``: the red-flag lock: lock (JSON: flag, level, muscle, at),
  expires_at = at + 12 hours.
- sk = ``log#<ISO-8601 UTC start>#<rid>``: one routine started: muscle, variant, outcome,
  started_at, expires_at (90 days). Written only while log_consent is True.

The sort keys are chosen so that one range, from the log window's start to ``profile#~``,
holds the week's log, the profile, the resume snapshot and the lock: one Query per load.

Values here are plain Python (str, bool, int, float); each store only translates them.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from cramp_coach.core.model import FREQ_WINDOW_S, RESUME_WINDOW_S, Profile
from cramp_coach.memory import RETENTION_S
from cramp_coach.memory.lock import (
    lock_attrs,
)
from cramp_coach.memory.values import finite, short_text

log = logging.getLogger(__name__)

PROFILE_SK = "profile"
RESUME_SK = "profile#resume"
LOCK_SK = "profile#lock"
STATE_END = "profile#~"  # the top of the range holding profile, resume and lock
LOG_PREFIX = "log#"
# "~" sorts after every character of an ISO timestamp: the top of the log's key range.
LOG_END = "log#~"
VARIANTS = ("partner", "alone")
PREF_NAMES = ("default_variant", "quiet", "log_consent", "country", "country_device")
_COUNTRY = re.compile(r"[A-Z]{2}")  # ISO 3166 alpha-2, as the IANA zone tables name it
_DEVICE_TAG = re.compile(r"[0-9a-f]{16}")
RESUME_TTL_S = RESUME_WINDOW_S  # the snapshot is gone 30 minutes after it was saved
# Attributes older versions kept on the profile item; every profile write removes them.
LEGACY_PROFILE_ATTRS = ("resume", "resume_saved_at")

PROFILE_ATTRS = (
    "default_variant", "quiet", "log_consent", "freq_advised_at", "country", "country_device",
    "expires_at",
)  # fmt: skip
RESUME_ATTRS = ("resume", "resume_saved_at", "expires_at")
LOCK_ATTRS = ("lock", "expires_at")
LOG_ATTRS = ("muscle", "variant", "outcome", "started_at", "expires_at")
# Only what a later "continue" needs: the pending log entries and the last words are not kept.
_RESUME_DROPPED = ("unsaved", "last_speech", "last_reprompt")
ENTRY_FIELDS = frozenset(("rid", "started_at", "muscle", "variant", "outcome"))
# An entry's start may be a little ahead of the request time (another device's clock), never
# days ahead: such a time is corrupt, and would sort after every real entry.
_FUTURE_SKEW_S = 3600.0


def iso_utc(ts: float) -> str:
    """Fixed-width ISO-8601 UTC with milliseconds, so string order is time order."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def log_sk(started_at: float, rid: str) -> str:
    return f"{LOG_PREFIX}{iso_utc(started_at)}#{rid}"


def log_range(now: float) -> tuple[str, str]:
    """Sort-key bounds (inclusive) of the log entries the profile needs: the last seven days."""
    return LOG_PREFIX + iso_utc(now - FREQ_WINDOW_S), LOG_END


def expires_at(now: float) -> int:
    """The TTL attribute: epoch seconds, RETENTION_S after the write."""
    return int(now) + RETENTION_S


def expired(item: Mapping[str, Any], now: float) -> bool:
    """DynamoDB deletes expired items lazily (up to days late), so readers skip them too."""
    value = item.get("expires_at")
    return isinstance(value, int | float) and value <= now


def entry_rid(entry: object) -> str | None:
    """The rid an entry is known by (what Saved.entries reports), or None."""
    return short_text(entry.get("rid")) if isinstance(entry, Mapping) else None


def log_item(entry: Mapping[str, Any], now: float) -> tuple[str, dict[str, Any]] | None:
    """(sk, attributes) of one LogEntry dict, or None when it is not a valid entry.

    Entries come from the session, which a client could tamper with: only the known fields,
    short codes, a finite start not in the far future. The whole entry is written each time,
    so a later outcome simply overwrites the earlier one.
    """
    if not set(entry) <= ENTRY_FIELDS:
        return None
    rid = short_text(entry.get("rid"))
    started_at = finite(entry.get("started_at"))
    muscle = short_text(entry.get("muscle"))
    variant = entry.get("variant", "partner")
    outcome = entry.get("outcome", "in_progress")
    if rid is None or "#" in rid or started_at is None or muscle is None:
        return None
    if not 0 <= started_at <= now + _FUTURE_SKEW_S:
        return None
    if variant not in VARIANTS or short_text(outcome) is None:
        return None
    attrs: dict[str, Any] = {
        "muscle": muscle,
        "variant": variant,
        "outcome": outcome,
        "started_at": started_at,
        "expires_at": expires_at(now),
    }
    return log_sk(started_at, rid), attrs


def log_items(entries: Iterable[Mapping[str, Any]], now: float) -> list[tuple[str, dict[str, Any]]]:
    return [(sk, attrs) for _, sk, attrs in plan_entries(entries, now)[0]]


def plan_entries(
    entries: Iterable[object], now: float, limit: int | None = None
) -> tuple[list[tuple[str, str, dict[str, Any]]], set[str]]:
    """([(rid, sk, attributes)] to write, oldest first, at most `limit`; rids dropped for good).

    Invalid entries are dropped (and reported, so they stop riding in the session); the same
    item twice is written once, the last one given winning (its outcome is the newest).
    """
    by_sk: dict[str, tuple[str, str, dict[str, Any]]] = {}
    dropped: set[str] = set()
    invalid = 0
    for entry in entries:
        item = log_item(entry, now) if isinstance(entry, Mapping) else None
        rid = entry_rid(entry)
        if item is None:
            invalid += 1
            if rid is not None:
                dropped.add(rid)
            continue
        assert rid is not None  # log_item checked it
        sk, attrs = item
        by_sk.pop(sk, None)
        by_sk[sk] = (rid, sk, attrs)
    if invalid:
        # Never log the entries themselves: only how many were dropped.
        log.warning("dropping %d invalid log entries", invalid)
    dropped -= {rid for rid, _, _ in by_sk.values()}  # a valid copy of it is still written
    planned = sorted(by_sk.values(), key=lambda item: item[1])  # sk order is time order
    return (planned if limit is None else planned[:limit]), dropped


def consent_after(stored: bool | None, prefs: Mapping[str, Any]) -> bool | None:
    """The log consent once this save's prefs apply: a valid log_consent in prefs wins."""
    value = prefs.get("log_consent")
    return value if isinstance(value, bool) else stored


def profile_update(
    now: float,
    *,
    prefs: Mapping[str, Any],
    freq_advised: bool,
    consent: bool | None,
) -> tuple[dict[str, Any], list[str]]:
    """(attributes to set, attributes to remove) on the profile item: only what changed.

    expires_at is always refreshed, so a user who keeps using the skill keeps their settings.
    `consent` is the log consent after this save (None: never asked, or not needed here):
    freq_advised_at is kept only while it is True and removed when it is False.
    """
    sets: dict[str, Any] = {"expires_at": expires_at(now)}
    removes: list[str] = list(LEGACY_PROFILE_ATTRS)
    for name, value in prefs.items():
        valid = _valid_pref(name, value)
        if name in PREF_NAMES and valid:
            sets[name] = value
        elif name in PREF_NAMES and value is None:
            removes.append(name)
        else:
            log.warning("ignoring unknown or invalid preference %s", name)
    if consent is False:
        removes.append("freq_advised_at")
    elif consent is True and freq_advised:
        sets["freq_advised_at"] = float(now)
    return sets, removes


def _valid_pref(name: str, value: object) -> bool:
    if name == "default_variant":
        return value in VARIANTS
    if name == "country":
        return isinstance(value, str) and bool(_COUNTRY.fullmatch(value))
    if name == "country_device":
        return isinstance(value, str) and bool(_DEVICE_TAG.fullmatch(value))
    return isinstance(value, bool)


def resume_attrs(resume: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The resume item: only what a later "continue" needs, gone 30 minutes after `now`."""
    snapshot = {k: v for k, v in resume.items() if k not in _RESUME_DROPPED}
    return {
        "resume": json.dumps(snapshot, separators=(",", ":")),
        "resume_saved_at": float(now),
        "expires_at": math.ceil(now + RESUME_TTL_S),
    }


def profile_from(
    profile: Mapping[str, Any] | None,
    logs: Iterable[Mapping[str, Any]],
    now: float,
    resume: Mapping[str, Any] | None = None,
    lock: Mapping[str, Any] | None = None,
) -> Profile:
    """The core's Profile from stored items; expired, foreign or corrupt values are ignored."""
    result = Profile()
    if profile is not None and not expired(profile, now):
        if profile.get("default_variant") in VARIANTS:
            result.default_variant = profile["default_variant"]
        if isinstance(profile.get("quiet"), bool):
            result.quiet = profile["quiet"]
        if isinstance(profile.get("log_consent"), bool):
            result.log_consent = profile["log_consent"]
        result.freq_advised_at = finite(profile.get("freq_advised_at"))
        if _valid_pref("country", profile.get("country")):
            result.country = profile["country"]
            tag = profile.get("country_device")
            result.country_device = tag if _valid_pref("country_device", tag) else None
    if resume is not None and not expired(resume, now):
        result.resume = _json_dict(resume.get("resume"))
        result.resume_saved_at = finite(resume.get("resume_saved_at"))
        if result.resume is None or result.resume_saved_at is None:
            result.resume, result.resume_saved_at = None, None
    if lock is not None and not expired(lock, now):
        value = _json_dict(lock.get("lock"))
        if value is not None and lock_attrs(value, now) is not None:
            result.lock = value
    recent: list[tuple[float, str]] = []
    for item in logs:
        started_at = finite(item.get("started_at"))
        muscle = short_text(item.get("muscle"))
        if expired(item, now) or started_at is None or muscle is None:
            continue
        if now - started_at < FREQ_WINDOW_S:
            recent.append((started_at, muscle))
    recent.sort()
    result.recent_starts = [t for t, _ in recent]
    result.recent_muscles = [m for _, m in recent]
    return result


def _json_dict(value: object) -> dict[str, Any] | None:
    if not isinstance(value, str):
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
