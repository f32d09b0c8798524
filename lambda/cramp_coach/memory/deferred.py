"""Writes that could not be made when a session ended, kept somewhere they will be made from.

Mid-session, what the table did not take rides in the session attributes to the next turn.
When the session ends (a goodbye, a SessionEndedRequest) the attributes are gone, so Memory
hands the rest (the red-flag lock, "do not offer that routine again", the resume snapshot,
log entries) to a `Deferral`:

- In AWS Lambda (AWS_LAMBDA_FUNCTION_NAME set), `SelfInvoke`: one asynchronous invocation of
  this same function (InvocationType=Event) carrying the pending writes for the hashed user
  key, signed with an HMAC keyed from CRAMP_USER_SALT (the stack's secret), so that no other
  caller can make the function write. `lambda_entry.handler` recognises the event, checks the
  MAC and its age, validates it and writes it with the normal store; if the table still fails
  it raises, and Lambda's own retries (template.yaml, EventInvokeConfig) take it again later.
  A copy also goes to a spool in /tmp (below), drained by later requests served by the same
  execution environment, which also honour its lock at once; if the invocation fails, that
  copy is all there is.
- Elsewhere (the web service, the chat), `Spool`: a small SQLite file under data/ (0600), at
  most MAX_SPOOL_USERS users and MAX_PENDING_ENTRIES entries each (the oldest dropped, with a
  logged count, when full), drained oldest first by later turns within their remaining budget.

Nothing here logs a user key or what was said: only counts and error types.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
from msgspec.structs import replace

from cramp_coach.memory import Saved, Store, StoreError, turn, user_salt
from cramp_coach.memory.items import ENTRY_FIELDS, entry_rid

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

EVENT_KEY = "cramp_deferred"  # an Alexa envelope never has this top-level key
EVENT_VERSION = 1
MAX_PENDING_ENTRIES = 200  # per user: two full saves; months of nightly cramps
MAX_SPOOL_USERS = 500
# template.yaml's EventInvokeConfig keeps an event up to this long; an older (replayed) event
# is refused. Lambda retries a failed event about 1 and 3 minutes after the first attempt.
MAX_EVENT_AGE_S = 6 * 3600
_CLOCK_SKEW_S = 300
_KEY_LEN = 64  # persistence.user_key: a SHA-256 hex digest
SPOOL_NAME = "cramp-deferred.sqlite3"
LAMBDA_SPOOL = Path("/tmp") / SPOOL_NAME  # the one writable place in Lambda; per environment
# Held back from a session's last turn for the hand-off: the table gets the rest of the budget.
SPOOL_RESERVE_S = 0.1
INVOKE_RESERVE_S = 0.4


class InvalidDeferred(ValueError):
    """An event that claims to carry deferred writes but is not one of ours."""


class Pending(msgspec.Struct, frozen=True):
    """One user's writes still to be made (plain JSON values, as Store.save takes them)."""

    user_key: str
    at: float  # when the changes were made: Store.save's as_of
    entries: tuple[dict[str, Any], ...] = ()
    lock: dict[str, Any] | None = None
    clear_resume: bool = False
    resume: dict[str, Any] | None = None
    dropped: int = 0  # entries dropped to stay within the bound

    def empty(self) -> bool:
        return not (self.entries or self.lock or self.clear_resume or self.resume is not None)

    def merged(self, newer: Pending) -> Pending:
        """This user's writes with a later session's on top (a later outcome wins)."""
        by_rid = {str(e.get("rid")): e for e in self.entries}
        for entry in newer.entries:
            by_rid.pop(str(entry.get("rid")), None)
            by_rid[str(entry.get("rid"))] = entry
        entries = tuple(by_rid.values())
        clear = newer.clear_resume or (self.clear_resume and newer.resume is None)
        resume = None if newer.clear_resume else newer.resume or self.resume
        if newer.resume is not None:
            clear = False
        return bounded(
            Pending(
                self.user_key,
                max(self.at, newer.at),
                entries,
                newer.lock or self.lock,
                clear,
                resume,
            )
        )

    def after(self, saved: Saved) -> Pending:
        """What is left once `saved` is done."""
        return replace(
            self,
            entries=tuple(
                e
                for e in self.entries
                if (rid := entry_rid(e)) is not None and rid not in saved.entries
            ),
            lock=None if saved.lock else self.lock,
            clear_resume=self.clear_resume and not saved.resume,
            resume=None if saved.resume else self.resume,
        )

    def write(self, store: Store, now: float) -> Saved:
        """Make these writes through the normal store (the turn's budget applies)."""
        return store.save(
            self.user_key,
            now,
            entries=[dict(e) for e in self.entries],
            prefs={},
            resume=self.resume,
            clear_resume=self.clear_resume,
            freq_advised=False,
            lock=self.lock,
            as_of=self.at,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "v": EVENT_VERSION,
            "key": self.user_key,
            "at": self.at,
            "entries": list(self.entries),
            "lock": self.lock,
            "clear_resume": self.clear_resume,
            "resume": self.resume,
        }


def bounded(pending: Pending) -> Pending:
    """At most MAX_PENDING_ENTRIES entries: the newest are kept (the oldest are dropped)."""
    extra = len(pending.entries) - MAX_PENDING_ENTRIES
    if extra <= 0:
        return pending
    kept = sorted(pending.entries, key=_started)[extra:]
    log.warning("deferred writes full: %d oldest log entries dropped", extra)
    return replace(pending, entries=tuple(kept), dropped=pending.dropped + extra)


def _started(entry: Mapping[str, Any]) -> float:
    value = entry.get("started_at")
    return float(value) if isinstance(value, int | float) else 0.0


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _dict_or_none(value: object, name: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(json.dumps(value)) > 4096:
        raise InvalidDeferred(f"{name} is not a small object")
    return value


def pending_from_json(data: object) -> Pending:
    """A Pending from untrusted JSON (an event, the spool): strict shape, bounded sizes.

    The store checks each entry and the lock again (persistence.items) before writing.
    """
    if not isinstance(data, dict) or data.get("v") != EVENT_VERSION:
        raise InvalidDeferred("unknown version")
    if set(data) - {"v", "key", "at", "entries", "lock", "clear_resume", "resume"}:
        raise InvalidDeferred("unknown fields")
    key = data.get("key")
    if not isinstance(key, str) or len(key) != _KEY_LEN or set(key) - set("0123456789abcdef"):
        raise InvalidDeferred("not a user key")
    at = _finite(data.get("at"))
    if at is None or at < 0:
        raise InvalidDeferred("no time")
    entries = data.get("entries")
    if not isinstance(entries, list) or len(entries) > MAX_PENDING_ENTRIES:
        raise InvalidDeferred("entries are not a bounded list")
    for entry in entries:
        if not isinstance(entry, dict) or not set(entry) <= ENTRY_FIELDS:
            raise InvalidDeferred("an entry has unknown fields")
    clear = data.get("clear_resume")
    if not isinstance(clear, bool):
        raise InvalidDeferred("clear_resume is not a boolean")
    lock = _dict_or_none(data.get("lock"), "lock")
    resume = _dict_or_none(data.get("resume"), "resume")
    return Pending(key, at, tuple(entries), lock, clear, resume)


# ---------------------------------------------------------------------- signed events
def _mac_key() -> bytes:
    # Derived, not the salt itself: a MAC never reveals anything about the hashing salt.
    return hmac.new(user_salt().encode(), b"cramp-coach deferred writes v1", "sha256").digest()


def _canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def signed_event(pending: Pending, issued: float | None = None) -> dict[str, Any]:
    """The self-invocation's payload: the pending writes, when it was issued, and the MAC."""
    body = {"pending": pending.to_json(), "issued": time.time() if issued is None else issued}
    mac = hmac.new(_mac_key(), _canonical(body), hashlib.sha256).hexdigest()
    return {EVENT_KEY: body, "mac": mac}


def is_deferred_event(event: object) -> bool:
    return isinstance(event, dict) and EVENT_KEY in event


def verified(event: Mapping[str, Any], now: float | None = None) -> Pending:
    """The pending writes of a signed event, or InvalidDeferred (wrong MAC, too old, bad)."""
    body, mac = event.get(EVENT_KEY), event.get("mac")
    if set(event) != {EVENT_KEY, "mac"} or not isinstance(body, dict) or not isinstance(mac, str):
        raise InvalidDeferred("not a deferred-writes event")
    try:
        expected = hmac.new(_mac_key(), _canonical(body), hashlib.sha256).hexdigest()
    except (TypeError, ValueError):
        raise InvalidDeferred("unsignable body") from None
    if not hmac.compare_digest(expected, mac):
        raise InvalidDeferred("bad MAC")
    issued = _finite(body.get("issued"))
    now = time.time() if now is None else now
    if issued is None or not -_CLOCK_SKEW_S <= now - issued <= MAX_EVENT_AGE_S + _CLOCK_SKEW_S:
        raise InvalidDeferred("too old")
    return pending_from_json(body.get("pending"))


def apply_event(event: Mapping[str, Any], store: Store, time_left: float) -> Saved:
    """Write a signed event's pending writes, retrying within `time_left` seconds.

    Raises StoreError when they are still not all written (Lambda retries the event later),
    InvalidDeferred when the event is not ours (never retried: the handler drops it).
    """
    pending = verified(event)
    stop = time.monotonic() + max(0.5, time_left)
    delay = 0.2
    while True:
        turn.begin(budget=max(0.1, stop - time.monotonic()))
        try:
            try:
                saved = pending.write(store, time.time())
            except StoreError:
                saved = Saved.nothing()
        finally:
            turn.end()
        pending = pending.after(saved)
        if pending.empty():
            log.info("deferred writes stored")
            return saved
        if time.monotonic() + delay >= stop:
            raise StoreError("deferred writes not all stored; left for Lambda to retry")
        time.sleep(delay)
        delay = min(2.0, delay * 2)


# ---------------------------------------------------------------------- where to keep them
class Deferral(Protocol):
    reserve_s: float  # held back from a session's last turn for `keep`

    def keep(self, pending: Pending) -> bool:
        """Keep these writes to be made later; False when they could not be kept (lost)."""
        ...

    def pending_for(self, user_key: str) -> Pending | None:
        """Writes of this user kept here and not made yet (a later launch must honour the
        lock and the cleared resume before the table has them)."""
        ...

    def drain(self, store: Store, now: float, first: str | None = None) -> int:
        """Make kept writes, oldest first (`first`'s before anyone's), while the turn's budget
        lasts; returns how many users' writes were completed."""
        ...

    def forget(self, user_key: str) -> None:
        """Drop this user's kept writes ("delete my history": a kept lock must not return)."""
        ...
