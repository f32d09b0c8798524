"""Memory around the conversation core: load the profile when the core needs it, save what a
turn changed, and never let the store hold up the speech.

The adapters (ASK handlers) call `Memory`; the store behind it is any `persistence.Store`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict

from cramp_coach.core import Outcome, Profile, snapshot
from cramp_coach.core.state import State
from cramp_coach.persistence import Store

log = logging.getLogger("cramp_coach")


class Memory:
    """Loads the profile only when the core needs it and saves without ever blocking speech."""

    def __init__(self, store_factory: Callable[[], Store]) -> None:
        self._factory = store_factory
        self._store: Store | None = None

    def prepare(self) -> None:
        """Build the store (and its AWS client) now, e.g. during a SnapStart init."""
        store = self.store
        if hasattr(store, "client"):
            store.client  # noqa: B018  (the DynamoStore property builds its SDK client)

    @property
    def store(self) -> Store:
        # Built on first use: requests that never need memory never import the AWS SDK.
        if self._store is None:
            self._store = self._factory()
        return self._store

    def load(self, key: str, now: float) -> Profile | None:
        try:
            return self.store.load(key, now)
        except Exception as exc:
            # The type only: a traceback or message could carry stored data.
            log.error("store load failed (%s); carrying on without memory", type(exc).__name__)
            return None

    def save(self, key: str, now: float, outcome: Outcome) -> State:
        """Write what this turn changed, and what earlier turns could not write.

        Returns the state to keep: outcome.state without what the store now has. The
        red-flag lock and "never offer that routine again" ride in the state until a save
        succeeds, so one failed write cannot reopen a stopped routine on the next launch.
        """
        state = outcome.state
        ctx = state.ctx
        if outcome.delete_history:
            try:
                self.store.delete_user(key)
            except Exception as exc:
                log.error("store delete failed (%s)", type(exc).__name__)
            return state.saved()
        lock = ctx.lock_unsaved
        changes = bool(
            ctx.unsaved
            or outcome.prefs
            or outcome.save_resume
            or ctx.clear_resume
            or lock
            or outcome.freq_advised
        )
        if not changes:
            return state
        try:
            self.store.save(
                key,
                now,
                entries=[asdict(entry) for entry in ctx.unsaved],
                prefs=dict(outcome.prefs),
                resume=snapshot(state) if outcome.save_resume else None,
                clear_resume=ctx.clear_resume,
                freq_advised=outcome.freq_advised,
                lock=asdict(lock) if lock else None,
            )
        except Exception as exc:
            log.error(
                "store save failed (%s); %d log entries kept for the next turn",
                type(exc).__name__,
                len(ctx.unsaved),
            )
            return state
        return state.saved()

    def forget(self, key: str) -> None:
        try:
            self.store.delete_user(key)
        except Exception as exc:
            log.error("store delete failed (%s)", type(exc).__name__)
