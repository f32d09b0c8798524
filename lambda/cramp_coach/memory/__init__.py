"""Where the skill remembers users between sessions, behind one small interface.

`Store` is all the adapters know. `store_from_env()` picks the implementation from
CRAMP_STORE: ``sqlite`` (the default locally: an embedded file, no server, no AWS),
``dynamodb`` (set by template.yaml in AWS) or ``none``.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Protocol

import msgspec

from cramp_coach.core.model import Profile

RETENTION_S = 90 * 24 * 3600  # profile and log items expire (TTL) 90 days after the last write
DEFAULT_SALT = "cramp-coach-local"  # public: for local use only, never in Lambda
SALT_ENV = "CRAMP_USER_SALT"


class ConfigurationError(RuntimeError):
    """The deployment is missing a setting it must not run without."""


class StoreError(Exception):
    """The store could not be reached or refused the request; the caller keeps talking."""


# Log entries one save writes at most (four BatchWriteItem calls): a backlog beyond this
# drains over the following turns, oldest first, so no turn's speech waits on it.
MAX_ENTRIES_PER_SAVE = 100


class Saved(msgspec.Struct, frozen=True):
    """What one save has done: the caller keeps riding whatever is not done yet.

    `entries` holds the rids of the entries the store is finished with: written, or dropped
    for good (invalid, or the log is off). An entry whose rid is missing was not written.
    """

    lock: bool = True  # the red-flag lock is written (or there was none to write)
    resume: bool = True  # the resume snapshot is written or cleared (or nothing to do)
    profile: bool = True  # preferences, consent and freq_advised are applied
    entries: frozenset[str] = frozenset()

    @staticmethod
    def nothing() -> Saved:
        return Saved(lock=False, resume=False, profile=False)

    @staticmethod
    def everything(entries: list[dict[str, Any]]) -> Saved:
        return Saved(entries=frozenset(str(e.get("rid")) for e in entries))

    def complete(self, entries: list[dict[str, Any]]) -> bool:
        return (
            self.lock
            and self.resume
            and self.profile
            and all(str(e.get("rid")) in self.entries for e in entries)
        )


class Store(Protocol):
    def load(self, user_key: str, now: float) -> Profile:
        """Preferences, the resumable routine (30 minutes), the red-flag lock (12 hours) and
        the last seven days of the cramp log."""
        ...

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
        """Write the lock, write or clear the resume snapshot, merge profile changes, and
        upsert log entries (keyed by started_at and rid) only while the log is on: in that
        order (the most important first), within the turn's budget (cramp_coach.memory.turn).

        Returns what is done; whatever is not (the budget ran out, the table failed) the
        caller keeps and passes again later. Raises StoreError only when nothing was done.
        At most MAX_ENTRIES_PER_SAVE entries are written, oldest first.

        `as_of`: when these changes were made (default `now`). A resume snapshot saved after
        it is never overwritten or cleared by them (a late or deferred write loses to a newer
        one). The log is on when prefs sets "log_consent": True, or else the stored consent is
        True; otherwise the entries are dropped. "log_consent": False also deletes the log.
        """
        ...

    def delete_user(self, user_key: str) -> None:
        """Forget everything about this user, the lock included."""
        ...


class NullStore:
    """Remembers nothing: used when CRAMP_STORE=none."""

    def load(self, user_key: str, now: float) -> Profile:
        return Profile(log_consent=False)  # nothing is kept, so there is no log to offer

    def save(self, user_key: str, now: float, **changes: Any) -> Saved:
        # Nothing is kept, so everything is done: no log, no resume, no lock.
        return Saved.everything(list(changes.get("entries") or []))

    def delete_user(self, user_key: str) -> None:
        return None


def user_salt() -> str:
    """CRAMP_USER_SALT; the public local default only outside AWS Lambda.

    In Lambda (AWS_LAMBDA_FUNCTION_NAME is set) an empty salt is an error, never a fallback:
    hashing with a published salt would make the stored keys guessable from user ids.
    """
    salt = os.environ.get(SALT_ENV, "")
    if salt:
        return salt
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise ConfigurationError(
            f"{SALT_ENV} is empty in AWS Lambda: refusing to hash user ids with the public local "
            "salt. Deploy with template.yaml, which sets it from the stack's generated "
            "UserIdSaltSecret, or set it to a long random secret."
        )
    return DEFAULT_SALT


def user_key(user_id: str) -> str:
    """One-way key for a user: never store or log the Alexa user id itself."""
    return hashlib.sha256(f"{user_salt()}:{user_id}".encode()).hexdigest()


def store_from_env() -> Store:
    kind = os.environ.get("CRAMP_STORE", "sqlite").lower()
    if kind == "none":
        return NullStore()
    if kind == "dynamodb":
        from cramp_coach.memory.dynamodb import DynamoStore

        return DynamoStore(table_name=os.environ["CRAMP_TABLE"])
    if kind == "sqlite":
        from cramp_coach.memory.sqlite import SqliteStore

        return SqliteStore.from_env()
    raise ValueError(f"CRAMP_STORE must be sqlite, dynamodb or none, not {kind!r}")
