"""Where the skill remembers users between sessions, behind one small interface.

`Store` is all the adapters know. `store_from_env()` picks the implementation from
CRAMP_STORE: ``sqlite`` (the default locally: an embedded file, no server, no AWS),
``dynamodb`` (set by template.yaml in AWS) or ``none``.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Protocol

from cramp_coach.core.model import Profile

RETENTION_S = 90 * 24 * 3600  # every stored item expires (TTL) after 90 days
DEFAULT_SALT = "cramp-coach-local"


class StoreError(Exception):
    """The store could not be reached or refused the request; the caller keeps talking."""


class Store(Protocol):
    def load(self, user_key: str, now: float) -> Profile:
        """Preferences, the resumable routine and the last seven days of the cramp log."""
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
    ) -> None:
        """Upsert log entries (keyed by started_at and rid) and merge profile changes."""
        ...

    def delete_user(self, user_key: str) -> None:
        """Forget everything about this user."""
        ...


class NullStore:
    """Remembers nothing: used when CRAMP_STORE=none."""

    def load(self, user_key: str, now: float) -> Profile:
        return Profile(log_consent=False)  # nothing is kept, so there is no log to offer

    def save(self, user_key: str, now: float, **changes: Any) -> None:
        return None

    def delete_user(self, user_key: str) -> None:
        return None


def user_key(user_id: str) -> str:
    """One-way key for a user: never store or log the Alexa user id itself."""
    salt = os.environ.get("CRAMP_USER_SALT") or DEFAULT_SALT
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()


def store_from_env() -> Store:
    kind = os.environ.get("CRAMP_STORE", "sqlite").lower()
    if kind == "none":
        return NullStore()
    if kind == "dynamodb":
        from cramp_coach.persistence.dynamodb import DynamoStore

        return DynamoStore(table_name=os.environ["CRAMP_TABLE"])
    if kind == "sqlite":
        from cramp_coach.persistence.sqlite import SqliteStore

        return SqliteStore.from_env()
    raise ValueError(f"CRAMP_STORE must be sqlite, dynamodb or none, not {kind!r}")
