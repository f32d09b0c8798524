"""Embedded store (CRAMP_STORE=sqlite, the local default): one SQLite file, no server, no AWS.

It holds the same logical items as the DynamoDB table (see persistence.items) in one table
keyed (pk, sk). WAL mode and short transactions on a fresh connection per call let two
processes (the terminal chat and the web service) share the file. Expired items are never
returned and are purged on every save, like DynamoDB's TTL.
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
from cramp_coach.persistence import StoreError
from cramp_coach.persistence.items import (
    LOG_ATTRS,
    PROFILE_ATTRS,
    PROFILE_SK,
    log_items,
    log_range,
    profile_from,
    profile_update,
)

log = logging.getLogger(__name__)

DEFAULT_NAME = "cramp-coach.sqlite3"
BUSY_TIMEOUT_S = 2.0  # wait this long for another process's write, then give up (StoreError)
_COLUMNS = tuple(dict.fromkeys(PROFILE_ATTRS + LOG_ATTRS))  # every attribute, once
_TYPES = {
    "quiet": "INTEGER",
    "expires_at": "INTEGER",
    "resume_saved_at": "REAL",
    "freq_advised_at": "REAL",
    "started_at": "REAL",
}
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
    repo = Path(__file__).resolve().parents[3]  # lambda/cramp_coach/persistence/sqlite.py
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
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
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
        if "quiet" in item:
            item["quiet"] = bool(item["quiet"])
        return item

    # ------------------------------------------------------------------ Store protocol
    def load(self, user_key: str, now: float) -> Profile:
        low, high = log_range(now)
        with self._connect(write=False) as conn:
            rows = conn.execute(
                "SELECT * FROM items WHERE pk = ? AND (sk = ? OR sk BETWEEN ? AND ?) "
                "AND (expires_at IS NULL OR expires_at > ?)",
                (user_key, PROFILE_SK, low, high, now),
            ).fetchall()
        profile = next((self._attrs(r) for r in rows if r["sk"] == PROFILE_SK), None)
        logs = [self._attrs(r) for r in rows if r["sk"] != PROFILE_SK]
        return profile_from(profile, logs, now)

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
    ) -> None:
        """Upsert each log entry whole, merge only the changed profile attributes."""
        sets, removes = profile_update(
            now, prefs=prefs, resume=resume, clear_resume=clear_resume, freq_advised=freq_advised
        )
        # Column names come from persistence.items, never from the request: safe to format in.
        if not set(sets).union(removes) <= set(_COLUMNS):
            raise ValueError("unknown profile attribute")
        assignments = [f"{n} = excluded.{n}" for n in sets] + [f"{n} = NULL" for n in removes]
        set_sql = ", ".join(assignments)
        profile_sql = (
            f"INSERT INTO items (pk, sk, {', '.join(sets)}) "
            f"VALUES (?, ?, {', '.join('?' for _ in sets)}) "
            f"ON CONFLICT (pk, sk) DO UPDATE SET {set_sql}"
        )
        log_sql = (
            f"INSERT OR REPLACE INTO items (pk, sk, {', '.join(LOG_ATTRS)}) "
            f"VALUES (?, ?, {', '.join('?' for _ in LOG_ATTRS)})"
        )
        with self._connect(write=True) as conn:
            for sk, attrs in log_items(entries, now):
                conn.execute(log_sql, (user_key, sk, *(attrs[n] for n in LOG_ATTRS)))
            conn.execute(profile_sql, (user_key, PROFILE_SK, *sets.values()))
            conn.execute("DELETE FROM items WHERE expires_at <= ?", (now,))

    def delete_user(self, user_key: str) -> None:
        with self._connect(write=True) as conn:
            deleted = conn.execute("DELETE FROM items WHERE pk = ?", (user_key,)).rowcount
        log.info("deleted %d stored items", deleted)
