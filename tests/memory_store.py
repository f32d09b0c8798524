"""An in-process Store for conversation tests: the contract's behaviour, with faults on demand.

The real stores (SQLite, DynamoDB through moto's server) are tested against the same
contract in test_persistence_contract.py; this one lets a test fail a save on purpose.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from cramp_coach.core.model import LOCK_WINDOW_S, RESUME_WINDOW_S, Profile
from cramp_coach.memory import MAX_ENTRIES_PER_SAVE, Saved


@dataclass
class MemoryStore:
    fail_saves: int = 0  # the next N saves raise, like a table that is down
    fail_loads: int = 0
    # The next save runs out of time after this many writes (lock, resume, profile, then
    # each entry oldest first), like a table too slow for the turn's budget. None: no limit.
    writes_left: int | None = None
    saves: list[dict[str, Any]] = field(default_factory=list)
    consent: bool | None = None
    resume: dict[str, Any] | None = None
    resume_at: float | None = None
    lock: dict[str, Any] | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    prefs: dict[str, Any] = field(default_factory=dict)

    def load(self, user_key: str, now: float) -> Profile:
        if self.fail_loads:
            self.fail_loads -= 1
            raise ConnectionError("store down")
        live_lock = self.lock if self.lock and now - self.lock["at"] < LOCK_WINDOW_S else None
        fresh = self.resume_at is not None and now - self.resume_at <= RESUME_WINDOW_S
        starts = [float(e["started_at"]) for e in self.entries]
        return Profile(
            default_variant=self.prefs.get("default_variant"),
            quiet=self.prefs.get("quiet"),
            resume=copy.deepcopy(self.resume) if fresh else None,
            resume_saved_at=self.resume_at if fresh else None,
            recent_starts=starts,
            recent_muscles=[str(e["muscle"]) for e in self.entries],
            log_consent=self.consent,
            lock=dict(live_lock) if live_lock else None,
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
        if self.fail_saves:
            self.fail_saves -= 1
            raise ConnectionError("store down")
        as_of = now if as_of is None else as_of
        budget = self.writes_left
        self.writes_left = None

        def write() -> bool:
            nonlocal budget
            if budget is None:
                return True
            budget -= 1
            return budget >= 0

        self.saves.append({"entries": entries, "resume": resume, "clear": clear_resume,
                           "lock": lock, "prefs": prefs})  # fmt: skip
        done: dict[str, bool] = {"lock": False, "resume": False, "profile": False}
        written: set[str] = set()
        if lock is not None:
            if not write():
                return Saved(**done)
            self.lock = dict(lock)
        done["lock"] = True
        if clear_resume or resume is not None:
            if not write():
                return Saved(**done)
            newer = self.resume_at is not None and self.resume_at > as_of
            if clear_resume and not newer:
                self.resume, self.resume_at = None, None
            elif resume is not None and not newer:
                self.resume, self.resume_at = copy.deepcopy(resume), as_of
        done["resume"] = True
        if not write():
            return Saved(**done)
        if "log_consent" in prefs:
            self.consent = bool(prefs["log_consent"])
            if not self.consent:
                self.entries = []
        self.prefs.update({k: v for k, v in prefs.items() if k != "log_consent"})
        done["profile"] = True
        if not self.consent:
            return Saved(**done, entries=frozenset(e["rid"] for e in entries))
        oldest = sorted(entries, key=lambda e: float(e["started_at"]))[:MAX_ENTRIES_PER_SAVE]
        for entry in oldest:
            if not write():
                break
            self.entries = [e for e in self.entries if e["rid"] != entry["rid"]] + [entry]
            written.add(entry["rid"])
        return Saved(**done, entries=frozenset(written))

    def delete_user(self, user_key: str) -> None:
        self.__init__()  # type: ignore[misc]
