"""Embedded store (CRAMP_STORE=sqlite, the local default): one SQLite file, no server, no AWS.

It holds the same logical items as the DynamoDB table (see persistence.items) in one table
keyed (pk, sk). WAL mode and short transactions on a fresh connection per call let two
processes (the terminal chat and the web service) share the file. Expired items are never
returned and are purged on every access (load, save), so a resume snapshot is physically gone
30 minutes after it was saved and a lock 12 hours after it was raised, as soon as the file is
used again.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from cramp_coach.core.model import Profile
from cramp_coach.memory import MAX_ENTRIES_PER_SAVE, Saved, StoreError, turn
from cramp_coach.memory.items import (
    LEGACY_PROFILE_ATTRS,
    LOCK_ATTRS,
    LOCK_SK,
    LOG_ATTRS,
    PROFILE_ATTRS,
    PROFILE_SK,
    RESUME_ATTRS,
    RESUME_SK,
    STATE_END,
    consent_after,
    entry_rid,
    log_range,
    plan_entries,
    profile_from,
    profile_update,
    resume_attrs,
)
from cramp_coach.memory.lock import lock_attrs, lock_may_replace, server_time

log = logging.getLogger(__name__)

DEFAULT_NAME = "cramp-coach.sqlite3"
# Wait this long for another process's write, then give up (StoreError); never past the turn's
# budget (cramp_coach.memory.turn), so a file held by another process cannot hold up the speech.
BUSY_TIMEOUT_S = 2.0
# Every attribute, once (the legacy ones too: older files have those columns).
_COLUMNS = tuple(
    dict.fromkeys(PROFILE_ATTRS + RESUME_ATTRS + LOCK_ATTRS + LOG_ATTRS + LEGACY_PROFILE_ATTRS)
)
_TYPES = {
    "quiet": "INTEGER",
    "log_consent": "INTEGER",
    "expires_at": "INTEGER",
    "resume_saved_at": "REAL",
    "freq_advised_at": "REAL",
    "started_at": "REAL",
}
_BOOLEANS = ("quiet", "log_consent")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS items (pk TEXT NOT NULL, sk TEXT NOT NULL, "
    + ", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" for c in _COLUMNS)
    + ", PRIMARY KEY (pk, sk)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS items_expires_at ON items (expires_at)",
)


def default_path() -> Path:
    """CRAMP_SQLITE_PATH, else data/cramp-coach.sqlite3 under the source checkout or the cwd."""
    configured = os.environ.get("CRAMP_SQLITE_PATH")
    if configured:
        return Path(configured).expanduser()
    repo = Path(__file__).resolve().parents[3]  # lambda/cramp_coach/memory/sqlite.py
    in_checkout = (repo / "pyproject.toml").is_file() and (repo / "lambda").is_dir()
    return (repo if in_checkout else Path.cwd()) / "data" / DEFAULT_NAME


class SqliteStore:
    """The Store protocol on a local SQLite file (standard library only)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> SqliteStore:
        return cls(default_path())

    @property
    def spool_scope(self) -> str:
        """Which store deferred writes (persistence.deferred) are for: this file."""
        return f"sqlite:{self.path.resolve()}"

    def spool_path(self) -> Path:
        """Deferred writes are kept beside this file (CRAMP_SPOOL_PATH overrides)."""
        configured = os.environ.get("CRAMP_SPOOL_PATH")
        return Path(configured) if configured else self.path.with_name("cramp-deferred.sqlite3")

    # ------------------------------------------------------------------ plumbing
    def _prepare(self) -> None:
        """Create the folder and file (private to this user: it is personal data) and schema."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # persistent: readers never block writers
            for statement in _SCHEMA:
                conn.execute(statement)
            have = {row[1] for row in conn.execute("PRAGMA table_info(items)")}
            for column in _COLUMNS:
                if column not in have:  # a file from an older version: add the new columns
                    conn.execute(
                        f"ALTER TABLE items ADD COLUMN {column} {_TYPES.get(column, 'TEXT')}"
                    )
            conn.commit()

    @contextmanager
    def _connect(self, write: bool) -> Iterator[sqlite3.Connection]:
        """One short transaction on a fresh connection; sqlite errors become StoreError."""
        try:
            if not self._ready:
                with self._lock:
                    if not self._ready:
                        self._prepare()
                        self._ready = True
            wait = min(BUSY_TIMEOUT_S, turn.remaining())
            if wait <= 0:
                raise StoreError("SQLite skipped: the turn's store budget is spent")
            conn = sqlite3.connect(self.path, timeout=wait, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"SQLite open failed: {type(exc).__name__}") from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, and much faster
            # IMMEDIATE takes the write lock up front, so a merge never races another writer.
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.rollback()
            raise StoreError(
                f"SQLite {'write' if write else 'read'} failed: {type(exc).__name__}"
            ) from None
        finally:
            conn.close()

    @staticmethod
    def _attrs(row: sqlite3.Row) -> dict[str, Any]:
        item = {name: row[name] for name in _COLUMNS if row[name] is not None}
        for name in _BOOLEANS:
            if name in item:
                item[name] = bool(item[name])
        return item

    @staticmethod
    def _upsert(conn: sqlite3.Connection, user_key: str, sk: str, attrs: dict[str, Any]) -> None:
        """Replace one whole item (column names come from persistence.items, never input)."""
        if not set(attrs) <= set(_COLUMNS):
            raise ValueError("unknown attribute")
        conn.execute(
            f"INSERT OR REPLACE INTO items (pk, sk, {', '.join(attrs)}) "
            f"VALUES (?, ?, {', '.join('?' for _ in attrs)})",
            (user_key, sk, *attrs.values()),
        )

    @staticmethod
    def _purge(conn: sqlite3.Connection, now: float) -> None:
        # Every user's rows go by this machine's clock: a request's own timestamp can only
        # make a purge smaller (one request dated 12 hours ahead must not clear every lock).
        conn.execute("DELETE FROM items WHERE expires_at <= ?", (server_time(now),))

    # ------------------------------------------------------------------ Store protocol
    def load(self, user_key: str, now: float) -> Profile:
        low, _ = log_range(now)
        with self._connect(write=True) as conn:
            self._purge(conn, now)
            rows = conn.execute(
                "SELECT * FROM items WHERE pk = ? AND sk BETWEEN ? AND ?",
                (user_key, low, STATE_END),
            ).fetchall()
        by_sk = {r["sk"]: self._attrs(r) for r in rows}
        logs = [a for sk, a in by_sk.items() if sk.startswith("log#")]
        return profile_from(
            by_sk.get(PROFILE_SK), logs, now, by_sk.get(RESUME_SK), by_sk.get(LOCK_SK)
        )

    def save(
        self,
        user_key: str,
        now: float,
        *,
        entries: list[dict[str, Any]],
        prefs: dict[str, Any],
        resume: dict[str, Any] | None,
        clear_resume: bool,
        freq_advised: bool,
        lock: dict[str, Any] | None = None,
        as_of: float | None = None,
    ) -> Saved:
        """Lock, resume, the changed profile attributes and (log on) log entries, in one
        transaction: all of it is done, or (StoreError) none of it."""
        as_of = now if as_of is None else as_of
        planned, dropped = plan_entries(entries, now, MAX_ENTRIES_PER_SAVE)
        with self._connect(write=True) as conn:
            row = conn.execute(
                "SELECT log_consent FROM items WHERE pk = ? AND sk = ?", (user_key, PROFILE_SK)
            ).fetchone()
            stored = None if row is None or row[0] is None else bool(row[0])
            consent = consent_after(stored, prefs)
            sets, removes = profile_update(
                now, prefs=prefs, freq_advised=freq_advised, consent=consent
            )
            if not set(sets).union(removes) <= set(_COLUMNS):
                raise ValueError("unknown profile attribute")
            assignments = [f"{n} = excluded.{n}" for n in sets] + [f"{n} = NULL" for n in removes]
            conn.execute(
                f"INSERT INTO items (pk, sk, {', '.join(sets)}) "
                f"VALUES (?, ?, {', '.join('?' for _ in sets)}) "
                f"ON CONFLICT (pk, sk) DO UPDATE SET {', '.join(assignments)}",
                (user_key, PROFILE_SK, *sets.values()),
            )
            # A snapshot saved after these changes were made is newer: it stays.
            newer = conn.execute(
                "SELECT 1 FROM items WHERE pk = ? AND sk = ? AND resume_saved_at > ?",
                (user_key, RESUME_SK, as_of),
            ).fetchone()
            if newer is None and clear_resume:
                conn.execute("DELETE FROM items WHERE pk = ? AND sk = ?", (user_key, RESUME_SK))
            elif newer is None and resume is not None:
                self._upsert(conn, user_key, RESUME_SK, resume_attrs(resume, as_of))
            lock_item = lock_attrs(lock, now) if lock is not None else None
            if lock_item is not None:
                row = conn.execute(
                    "SELECT lock, expires_at FROM items WHERE pk = ? AND sk = ?",
                    (user_key, LOCK_SK),
                ).fetchone()
                # Inside BEGIN IMMEDIATE: no other writer between this read and the write.
                if lock_may_replace(
                    None if row is None else dict(row), lock_item, server_time(now)
                ):
                    self._upsert(conn, user_key, LOCK_SK, lock_item)
            if consent is False:
                conn.execute("DELETE FROM items WHERE pk = ? AND sk LIKE 'log#%'", (user_key,))
            if consent is True:
                for _, sk, attrs in planned:
                    self._upsert(conn, user_key, sk, attrs)
                done = dropped | {rid for rid, _, _ in planned}
            else:
                done = dropped | {rid for e in entries if (rid := entry_rid(e)) is not None}
                if entries:
                    log.info("cramp log off: %d log entries dropped", len(entries))
            self._purge(conn, now)
        return Saved(entries=frozenset(done))

    def delete_user(self, user_key: str) -> None:
        with self._connect(write=True) as conn:
            deleted = conn.execute("DELETE FROM items WHERE pk = ?", (user_key,)).rowcount
        log.info("deleted %d stored items", deleted)
