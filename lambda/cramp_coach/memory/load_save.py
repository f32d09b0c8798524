"""Memory around the conversation core: load the profile when the core needs it, save what a
turn changed, and never let the store hold up the speech.

The adapters (ASK handlers) call `Memory`; the store behind it is any `persistence.Store`.
All store work of one request (load, save, draining older writes) shares one deadline
(cramp_coach.memory.turn), claimed for the request's user key and timestamp.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, replace

from cramp_coach.core import Outcome, Profile, snapshot
from cramp_coach.core.model import FREQ_WINDOW_S, RESUME_WINDOW_S
from cramp_coach.core.state import State
from cramp_coach.memory import Saved, Store, turn
from cramp_coach.memory.deferral import deferral_for
from cramp_coach.memory.deferred import Deferral, Pending
from cramp_coach.memory.items import entry_rid
from cramp_coach.memory.lock import lock_attrs, lock_may_replace, server_time

log = logging.getLogger("cramp_coach")

# A user's own "forget me" (SkillDisabled, out of session: nobody waits for speech) may take
# longer than a turn's budget; the function's 7 s timeout still bounds it.
FORGET_BUDGET_S = 5.0


class Memory:
    """Loads the profile only when the core needs it and saves without ever blocking speech."""

    def __init__(
        self,
        store_factory: Callable[[], Store],
        deferral_factory: Callable[[], Deferral] | None = None,
    ) -> None:
        self._factory = store_factory
        self._store: Store | None = None
        self._deferral_factory = deferral_factory or (lambda: deferral_for(self.store))
        self._deferral: Deferral | None = None

    def prepare(self) -> None:
        """Build the store (and its AWS client) now, and prime it where it can be (a Lambda
        init, which runs at full CPU: lambda_entry)."""
        store = self.store
        if hasattr(store, "client"):
            store.client  # noqa: B018  (the DynamoStore property builds its SDK client)
        prime = getattr(store, "prime", None)
        if callable(prime):
            prime()

    @property
    def store(self) -> Store:
        # Built on first use: requests that never need memory never import the AWS SDK.
        if self._store is None:
            self._store = self._factory()
        return self._store

    @property
    def deferral(self) -> Deferral:
        if self._deferral is None:
            self._deferral = self._deferral_factory()
        return self._deferral

    def load(self, key: str, now: float) -> Profile:
        """The stored profile with this user's writes still waiting in the spool on top.

        The spool is read whether or not the table answered: a lock kept there while the
        table was down still counts. When the table could not be read the profile says so
        (`unread`), and holds only what the spool had.
        """
        turn.claim((key, now))
        try:
            profile = self.store.load(key, now)
        except Exception as exc:
            # The type only: a traceback or message could carry stored data.
            log.error("store load failed (%s); carrying on with the spool only", type(exc).__name__)
            profile = Profile(unread=True)
        return self._with_deferred(key, now, profile)

    def _with_deferred(self, key: str, now: float, profile: Profile) -> Profile:
        """The profile as it will be once this user's deferred writes are made: a lock or a
        cleared routine from a session that ended while the table was down still counts."""
        try:
            pending = self.deferral.pending_for(key)
        except Exception as exc:
            log.warning("deferred writes not read (%s)", type(exc).__name__)
            return profile
        if pending is None:
            return profile
        kept_lock = lock_attrs(pending.lock, now) if pending.lock else None
        stored_lock = lock_attrs(profile.lock, now) if profile.lock else None
        if kept_lock is not None and lock_may_replace(stored_lock, kept_lock, server_time(now)):
            # The more serious of the two (or the later, as serious) counts.
            profile = replace(profile, lock=dict(pending.lock or {}))
        stored_at = profile.resume_saved_at
        if stored_at is None or stored_at <= pending.at:
            if pending.clear_resume:
                profile = replace(profile, resume=None, resume_saved_at=None)
            elif pending.resume is not None and now - pending.at <= RESUME_WINDOW_S:
                profile = replace(profile, resume=dict(pending.resume), resume_saved_at=pending.at)
        if profile.log_consent is True:
            known = set(profile.recent_starts)
            extra = [
                (float(e["started_at"]), str(e["muscle"]))
                for e in pending.entries
                if isinstance(e.get("started_at"), int | float)
                and e["started_at"] not in known
                and now - e["started_at"] < FREQ_WINDOW_S
            ]
            if extra:
                stored = zip(profile.recent_starts, profile.recent_muscles, strict=False)
                recent = sorted([*stored, *extra])
                profile = replace(
                    profile,
                    recent_starts=[t for t, _ in recent],
                    recent_muscles=[m for _, m in recent],
                )
        return profile

    def save(self, key: str, now: float, outcome: Outcome, *, first: bool = False) -> State:
        """Write what this turn changed, and what earlier turns could not write.

        Returns the state to keep: outcome.state without what the store now has. The red-flag
        lock, "never offer that routine again" and the log entries ride in the state until
        written; a save that runs out of time writes what it can, most important first, and
        the rest keeps riding. When the session ends with writes left, they are handed to the
        deferral (persistence.deferred), which makes them later.

        `first`: the session's first turn (its first answer, the one a cold start makes the
        listener wait for). It makes the profile read and only the writes that cannot wait:
        a log entry alone rides to the session's next turn or its end.
        """
        turn.claim((key, now))
        try:
            return self._save(key, now, outcome, first)
        finally:
            turn.end()  # this request's store work is over

    def _save(self, key: str, now: float, outcome: Outcome, first: bool = False) -> State:
        state = outcome.state
        ctx = state.ctx
        if outcome.delete_history:
            self._delete(key)
            return state.saved()
        entries = [item for item in map(asdict, ctx.unsaved) if entry_rid(item)]
        if len(entries) < len(ctx.unsaved):
            log.warning("%d unsendable log entries dropped", len(ctx.unsaved) - len(entries))
        lock = ctx.lock_unsaved
        resume = snapshot(state) if outcome.save_resume else None
        changes = bool(
            ctx.unsaved
            or outcome.prefs
            or outcome.save_resume
            or ctx.clear_resume
            or lock
            or outcome.freq_advised
        )
        ending = outcome.end_session
        if not changes:
            self._drain(key, now)
            return state
        if first and not ending and _only_entries(outcome):
            # A session's first answer (a cold one-shot's step 1) does not wait for a log
            # entry's write: the entry rides in the session, as an unwritten one always does,
            # and the next turn or the session's end writes it (or hands it to the deferral).
            # The lock, the resume snapshot and preferences are never held back like this.
            return state

        # A failed lock save is kept outside the session at once (write-ahead), so time is
        # held back for that as for a session's end.
        reserve = self._reserve_s() if ending or (lock and lock != ctx.lock_kept) else 0.0
        with turn.reserving(reserve):
            try:
                saved = self.store.save(
                    key,
                    now,
                    entries=entries,
                    prefs=dict(outcome.prefs),
                    resume=resume,
                    clear_resume=ctx.clear_resume,
                    freq_advised=outcome.freq_advised,
                    lock=asdict(lock) if lock else None,
                )
            except Exception as exc:
                log.error("store save failed (%s)", type(exc).__name__)
                saved = Saved.nothing()
        left = tuple(e for e in ctx.unsaved if e.rid in _rids(entries) - saved.entries)
        kept = state.with_context(
            replace(
                ctx,
                unsaved=left,
                lock_unsaved=None if saved.lock else ctx.lock_unsaved,
                lock_kept=None if saved.lock else ctx.lock_kept,
                clear_resume=ctx.clear_resume and not saved.resume,
            )
        )
        pending = Pending(
            key,
            now,
            entries=tuple(asdict(e) for e in left),
            lock=asdict(kept.ctx.lock_unsaved) if kept.ctx.lock_unsaved else None,
            clear_resume=kept.ctx.clear_resume,
            resume=None if saved.resume else resume,
        )
        if pending.empty():
            self._drain(key, now)
            return kept
        unsaved_lock = kept.ctx.lock_unsaved
        if unsaved_lock is not None and not ending and unsaved_lock != kept.ctx.lock_kept:
            # Write-ahead: a stopping flag the table did not take goes to the spool now (and,
            # in Lambda, to a self-invocation), not only at the session's end: a session that
            # simply times out, or whose SessionEndedRequest is lost, must not lose it.
            ahead = Pending(key, now, lock=pending.lock, clear_resume=pending.clear_resume)
            if self._keep(ahead):
                kept = kept.with_context(replace(kept.ctx, lock_kept=unsaved_lock))
        log.warning(
            "store save incomplete: %d log entries%s%s wait",
            len(left),
            ", the lock" if pending.lock else "",
            ", the resume change" if pending.clear_resume or pending.resume else "",
        )
        if ending and self._keep(pending):
            return kept.saved()  # the session's attributes are gone: the deferral has them
        return kept

    def _reserve_s(self) -> float:
        try:
            return self.deferral.reserve_s
        except Exception as exc:  # no deferral can be built: nothing to hold time back for
            log.warning("deferred writes unavailable (%s)", type(exc).__name__)
            return 0.0

    def _keep(self, pending: Pending) -> bool:
        try:
            return self.deferral.keep(pending)
        except Exception as exc:
            log.error("deferred writes not kept (%s): lost", type(exc).__name__)
            return False

    def _drain(self, key: str, now: float) -> None:
        """Older sessions' writes (this user's first), while this turn's budget lasts."""
        if turn.remaining() <= 0.2:
            return
        try:
            self.deferral.drain(self.store, now, first=key)
        except Exception as exc:
            log.warning("deferred writes wait (%s)", type(exc).__name__)

    def forget(self, key: str) -> None:
        turn.end()
        with turn.bounded(FORGET_BUDGET_S):
            self._delete(key)

    def _delete(self, key: str) -> None:
        """Everything of this user: the table's items and what waits in the spool for it."""
        try:
            self.store.delete_user(key)
        except Exception as exc:
            log.error("store delete failed (%s)", type(exc).__name__)
        try:
            self.deferral.forget(key)
        except Exception as exc:
            log.error("deferred writes not forgotten (%s)", type(exc).__name__)


def _only_entries(outcome: Outcome) -> bool:
    """Whether log entries are this turn's only changes to store."""
    ctx = outcome.state.ctx
    return bool(
        ctx.unsaved
        and not (
            outcome.prefs
            or outcome.save_resume
            or ctx.clear_resume
            or ctx.lock_unsaved
            or outcome.freq_advised
            or outcome.delete_history
        )
    )


def _rids(entries: list[dict[str, object]]) -> set[str]:
    return {rid for e in entries if (rid := entry_rid(e)) is not None}
