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
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cramp_coach.memory import Saved, Store, StoreError, turn, user_salt
from cramp_coach.memory.items import ENTRY_FIELDS, entry_rid

if TYPE_CHECKING:
    import sqlite3

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
_SPOOL_BUSY_S = 0.2
_ONE = "SELECT pk, at, body FROM pending WHERE scope = ? AND pk = ?"


def _db() -> Any:
    """sqlite3, imported when a spool file is first opened: a cold start with nothing kept
    (the usual case) never loads it. Its errors can only occur once it is loaded."""
    import sqlite3

    return sqlite3


class InvalidDeferred(ValueError):
    """An event that claims to carry deferred writes but is not one of ours."""


@dataclass(frozen=True)
class Pending:
    """One user's writes still to be made (plain JSON values, as Store.save takes them)."""

    user_key: str
    at: float  # when the changes were made: Store.save's as_of
    entries: tuple[dict[str, Any], ...] = ()
    lock: dict[str, Any] | None = None
    clear_resume: bool = False
    resume: dict[str, Any] | None = None
    dropped: int = field(default=0, compare=False)  # entries dropped to stay within the bound

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


class Spool:
    """A bounded SQLite file of pending writes: one row per user of one store (`scope`: the
    table or file the writes are for, so that writes meant for one table never reach another).

    `path` None keeps the rows in this process only (a store that names no file for them).
    """

    reserve_s = SPOOL_RESERVE_S

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        scope: str = "",
        max_users: int = MAX_SPOOL_USERS,
    ) -> None:
        self.path = None if path is None else Path(path)
        self.scope = scope
        self.max_users = max_users
        self._lock = threading.Lock()
        self._memory: sqlite3.Connection | None = None
        self._uri = f"file:cramp-spool-{id(self)}?mode=memory&cache=shared"

    def _open(self, wait: float) -> sqlite3.Connection:
        conn: sqlite3.Connection
        if self.path is not None:
            conn = _db().connect(self.path, timeout=wait, isolation_level=None)
            return conn
        if self._memory is None:
            # Held open: a shared in-memory database lives while one connection does.
            self._memory = _db().connect(self._uri, uri=True, check_same_thread=False)
        conn = _db().connect(self._uri, uri=True, timeout=wait, isolation_level=None)
        return conn

    @contextmanager
    def _connect(self, create: bool) -> Iterator[sqlite3.Connection | None]:
        """A short transaction (None when the file does not exist and `create` is False)."""
        if not create and self.path is not None and not self.path.exists():
            yield None
            return
        if not create and self.path is None and self._memory is None:
            yield None
            return
        with self._lock:
            if create and self.path is not None and not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))  # personal data
            wait = max(0.01, min(_SPOOL_BUSY_S, turn.remaining()))
            with closing(self._open(wait)) as conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS pending (scope TEXT NOT NULL, pk TEXT NOT NULL, "
                    "at REAL NOT NULL, body TEXT NOT NULL, PRIMARY KEY (scope, pk))"
                )
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    conn.rollback()
                    raise

    @staticmethod
    def _row(row: tuple[str, float, str] | None) -> Pending | None:
        if row is None:
            return None
        try:
            return pending_from_json(json.loads(row[2]))
        except (ValueError, InvalidDeferred):
            return None  # unreadable: dropped by the caller

    def keep(self, pending: Pending) -> bool:
        try:
            with self._connect(create=True) as conn:
                assert conn is not None
                row = conn.execute(_ONE, (self.scope, pending.user_key)).fetchone()
                before = self._row(row)
                merged = before.merged(pending) if before is not None else bounded(pending)
                self._put(conn, self.scope, merged)
                users = conn.execute(
                    "SELECT COUNT(*) FROM pending WHERE scope = ?", (self.scope,)
                ).fetchone()[0]
                if users > self.max_users:
                    # Full: the users waiting longest lose their writes (counted, never named).
                    conn.execute(
                        "DELETE FROM pending WHERE scope = ? AND pk IN (SELECT pk FROM pending "
                        "WHERE scope = ? AND pk != ? ORDER BY at LIMIT ?)",
                        (self.scope, self.scope, pending.user_key, users - self.max_users),
                    )
                    log.warning(
                        "deferred writes full: the oldest writes of %d users dropped",
                        users - self.max_users,
                    )
            log.info("deferred writes kept for a later turn (%d entries)", len(merged.entries))
            return True
        except (OSError, _db().Error) as exc:
            log.error("deferred writes not kept (%s): lost", type(exc).__name__)
            return False

    @staticmethod
    def _put(conn: sqlite3.Connection, scope: str, pending: Pending) -> None:
        if pending.empty():
            conn.execute(
                "DELETE FROM pending WHERE scope = ? AND pk = ?", (scope, pending.user_key)
            )
            return
        body = json.dumps(pending.to_json(), allow_nan=False)
        conn.execute(
            "INSERT OR REPLACE INTO pending (scope, pk, at, body) VALUES (?, ?, ?, ?)",
            (scope, pending.user_key, pending.at, body),
        )

    def forget(self, user_key: str) -> None:
        with self._connect(create=False) as conn:
            if conn is not None:
                conn.execute(
                    "DELETE FROM pending WHERE scope = ? AND pk = ?", (self.scope, user_key)
                )

    def pending_for(self, user_key: str) -> Pending | None:
        try:
            with self._connect(create=False) as conn:
                if conn is None:
                    return None
                row = conn.execute(_ONE, (self.scope, user_key)).fetchone()
        except (OSError, _db().Error) as exc:
            log.warning("deferred writes unreadable (%s)", type(exc).__name__)
            return None
        return self._row(row)

    def drain(self, store: Store, now: float, first: str | None = None) -> int:
        completed = 0
        for _ in range(8):  # a few users per turn at most: the budget decides first
            if turn.remaining() < 0.2:
                break
            try:
                with self._connect(create=False) as conn:
                    if conn is None:
                        break
                    row = None
                    if first is not None:
                        row = conn.execute(_ONE, (self.scope, first)).fetchone()
                    if row is None:
                        row = conn.execute(
                            "SELECT pk, at, body FROM pending WHERE scope = ? ORDER BY at LIMIT 1",
                            (self.scope,),
                        ).fetchone()
                    if row is None:
                        break
                    pending = self._row(row)
                    if pending is None:
                        conn.execute(
                            "DELETE FROM pending WHERE scope = ? AND pk = ?", (self.scope, row[0])
                        )
                        log.warning("unreadable deferred writes dropped")
                        continue
            except (OSError, _db().Error) as exc:
                log.warning("deferred writes unreadable (%s)", type(exc).__name__)
                break
            # The table call runs outside the spool's transaction: a slow table never holds
            # the file; a merge by another turn meanwhile is kept (see _settle).
            try:
                saved = pending.write(store, now)
            except Exception as exc:
                log.warning("deferred writes wait (%s)", type(exc).__name__)
                break
            if not self._settle(pending, saved):
                break
            completed += 1
            first = None
        return completed

    def _settle(self, pending: Pending, saved: Saved) -> bool:
        """Remove what `saved` did from the spooled row; True once this user's row is gone."""
        try:
            with self._connect(create=False) as conn:
                if conn is None:
                    return True
                row = conn.execute(_ONE, (self.scope, pending.user_key)).fetchone()
                now_kept = self._row(row)
                if now_kept is None:
                    return True
                if now_kept != pending:
                    # Another turn added writes meanwhile: drop only what was written.
                    left = now_kept.after(_only_written(saved, pending))
                else:
                    left = pending.after(saved)
                self._put(conn, self.scope, left)
                return left.empty()
        except (OSError, _db().Error) as exc:
            log.warning("deferred writes not settled (%s)", type(exc).__name__)
            return False


def _only_written(saved: Saved, pending: Pending) -> Saved:
    """`saved`, limited to what the given pending writes held (the rest is newer)."""
    return Saved(
        lock=saved.lock and pending.lock is not None,
        resume=saved.resume and (pending.clear_resume or pending.resume is not None),
        profile=saved.profile,
        entries=saved.entries,
    )


_TARGET: list[str] = []  # the ARN this function was invoked by (its alias), once known


def invoked_as(arn: object) -> None:
    """Remember the (qualified) ARN Alexa invoked: the self-invocation goes to the same alias,
    whose EventInvokeConfig (retries, event age) applies."""
    if isinstance(arn, str) and arn.startswith("arn:") and len(arn) < 256:
        _TARGET[:] = [arn]


class SelfInvoke:
    """In AWS Lambda: an asynchronous invocation of this function carries the writes."""

    reserve_s = INVOKE_RESERVE_S

    def __init__(self, function_name: str, fallback: Spool) -> None:
        self.function_name = function_name
        self.fallback = fallback
        self._client: Any | None = None

    def _lambda_client(self, budget: float = 0.0) -> Any:
        if self._client is None:
            # Only on this failure path: most containers never build it.
            from botocore.config import Config
            from botocore.session import Session

            budget = max(0.1, budget or turn.remaining())
            self._client = Session().create_client(
                "lambda",
                config=Config(
                    connect_timeout=budget,
                    read_timeout=budget,
                    retries={"total_max_attempts": 1, "mode": "standard"},
                ),
            )
        return self._client

    def keep(self, pending: Pending) -> bool:
        from cramp_coach.memory.dynamodb import within

        # A copy in /tmp first (local, milliseconds): this environment's next requests honour
        # the lock at once and write it too (idempotent), and it stays if the invocation fails.
        kept_here = self.fallback.keep(pending)
        event = signed_event(bounded(pending))
        try:
            with turn.bounded(INVOKE_RESERVE_S):
                deadline = turn.current()
                assert deadline is not None
                # Building the client (importing botocore) counts against the turn too: left
                # unfinished, it completes on its worker thread and a later turn has it.
                budget = turn.remaining()  # read here: the worker thread has no turn
                client = self._client or within(
                    deadline, "client", lambda: self._lambda_client(budget)
                )
                within(
                    max(deadline, time.monotonic() + 0.05),
                    "Invoke",
                    lambda: client.invoke(
                        FunctionName=_TARGET[0] if _TARGET else self.function_name,
                        InvocationType="Event",
                        Payload=json.dumps(event).encode(),
                    ),
                )
        except Exception as exc:
            log.error("deferred invocation failed (%s); kept in /tmp only", type(exc).__name__)
            return kept_here
        log.info("deferred writes handed to an asynchronous invocation")
        return True

    def pending_for(self, user_key: str) -> Pending | None:
        return self.fallback.pending_for(user_key)

    def drain(self, store: Store, now: float, first: str | None = None) -> int:
        return self.fallback.drain(store, now, first)

    def forget(self, user_key: str) -> None:
        self.fallback.forget(user_key)


def default_spool_path() -> Path:
    """CRAMP_SPOOL_PATH, else data/ (beside the default SQLite store)."""
    configured = os.environ.get("CRAMP_SPOOL_PATH")
    if configured:
        return Path(configured).expanduser()
    from cramp_coach.memory.sqlite import default_path

    return default_path().parent / SPOOL_NAME


def deferral_for(store: Store) -> Deferral:
    """Where this store's deferred writes are kept: the self-invocation in AWS Lambda, else
    the spool file the store names (`spool_path`, `spool_scope`), else this process only."""
    scope = getattr(store, "spool_scope", type(store).__name__)
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if function:
        fallback = os.environ.get("CRAMP_SPOOL_PATH") or LAMBDA_SPOOL
        return SelfInvoke(function, Spool(fallback, scope))
    path = getattr(store, "spool_path", None)
    return Spool(path() if callable(path) else None, scope)
