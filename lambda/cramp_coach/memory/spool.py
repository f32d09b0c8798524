"""The spool: writes a turn could not make, kept in a local SQLite file until the table has them.

Self-hosted (the web service, the chat) it is the deferral; in Lambda a copy in /tmp, read by
the next requests that execution environment serves.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cramp_coach.memory import Saved, Store, turn
from cramp_coach.memory.deferred import (
    MAX_SPOOL_USERS,
    SPOOL_RESERVE_S,
    InvalidDeferred,
    Pending,
    bounded,
    pending_from_json,
)

if TYPE_CHECKING:
    import sqlite3

_SPOOL_BUSY_S = 0.2

log = logging.getLogger("cramp_coach")


_ONE = "SELECT pk, at, body FROM pending WHERE scope = ? AND pk = ?"


def _db() -> Any:
    """sqlite3, imported when a spool file is first opened: a cold start with nothing kept
    (the usual case) never loads it. Its errors can only occur once it is loaded."""
    import sqlite3

    return sqlite3


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
