"""Where the conversation is: the phase (phases.py), what the session knows besides (Context),
and State, which holds both.

The state lives in Alexa session attributes between turns, so everything here is plain frozen
data; state_codec.py reads it back (strictly: it must never be trusted) and keeps a routine
for the store between sessions.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias, cast, get_args

import msgspec
from msgspec.structs import replace

from cramp_coach.core.model import Event, LogEntry
from cramp_coach.core.phases import Idle, InRoutine, Level, Paused, Phase, Routine, Variant

STATE_VERSION = 2

# Answers "repeat" gives again (restate.py): each is rebuilt from the content and the phase.
Answered: TypeAlias = Literal[
    "doctor", "prevention", "disclaimer", "hold_time", "emergency_number", "help"
]


def as_answered(kind: str) -> Answered | None:
    """The event kind as an answer "repeat" can give again, or None."""
    return cast(Answered, kind) if kind in get_args(Answered) else None


# Log entries riding in the session: a session starts a handful of routines at most; the
# bound (what one save takes: persistence.items) keeps what a client sends back small.
MAX_UNSAVED = 100  # == persistence.MAX_ENTRIES_PER_SAVE (a test keeps them equal)
# How a logged routine ended (routine.py and the handlers write these; "red_flag:" + flag id).
OUTCOMES = frozenset(
    {"in_progress", "interrupted", "eased", "too_painful", "stopped", "switched_muscle"}
)


# Who a warning was about (PROTOCOLS 4.1): the partner ("her", "my wife's"), the speaker
# ("my", "I"), or nobody said.
Person: TypeAlias = Literal["partner", "speaker", "unknown"]


class LockRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A stopping red flag, remembered for the user for 12 hours (it rides until stored)."""

    flag: str
    level: Level
    muscle: str | None
    at: float
    about: Person = "unknown"


class Context(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the session knows besides the phase."""

    variant: Variant = "partner"
    variant_known: bool = False  # the listener said who is speaking
    quiet: bool | None = None
    flags: tuple[str, ...] = ()  # PREGNANT, CHILD, EXERCISE_HEAT said in this session
    profile_loaded: bool = False
    log_consent: bool | None = None  # from the store; None: never asked
    freq_due: bool = False  # RF-FREQ advice is due after relief (from the stored log)
    prior_lock: LockRecord | None = None  # a stopping red flag from an earlier session
    prior_lock_heard: bool = False  # its advice was repeated in this session
    # How this session answered the 12-hour questions (PROTOCOLS 4.1): "other" (the cramp is
    # another person's), "seen" (a doctor, nurse or paramedic has checked it since).
    prior_answer: Literal["other", "seen"] | None = None
    memory_unread: bool = False  # the table could not be read and nothing was kept locally
    memory_warned: bool = False  # the short safety line for that was spoken
    lock_unsaved: LockRecord | None = None  # this session's lock, until the store has it
    lock_kept: LockRecord | None = None  # that lock is in the local spool too (memory.py)
    clear_resume: bool = False  # a stopped routine must not be offered again: until stored
    unsaved: tuple[LogEntry, ...] = ()  # cramp-log entries not yet stored
    answered: Answered | None = None  # the last turn answered this question ("repeat")
    # The device's country (Event.country, Profile.country): None never looked up in this
    # session; "" looked up, not known (the locale's numbers); else ISO 3166 alpha-2.
    country: str | None = None
    bedtime_offered: bool = False  # the bedtime stretch was offered once in this session


def person(st: State, e: Event) -> Person:
    """Who this turn is about: the event's helper slot ("her" / "my"), else who the session
    knows is speaking, else unknown."""
    helper = e.helper
    if helper == "PARTNER":
        return "partner"
    if helper == "ALONE":
        return "speaker"
    if st.ctx.variant_known:
        return "speaker" if st.ctx.variant == "alone" else "partner"
    return "unknown"


class State(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    phase: Phase = msgspec.field(default_factory=Idle)
    ctx: Context = msgspec.field(default_factory=Context)

    @property
    def routine(self) -> Routine | None:
        return self.phase.routine if isinstance(self.phase, InRoutine | Paused) else None

    def with_phase(self, phase: Phase) -> State:
        return replace(self, phase=phase)

    def with_context(self, ctx: Context) -> State:
        # Callers write with_context(replace(st.ctx, field=...)): mypy checks every field name.
        return replace(self, ctx=ctx)

    def saved(self) -> State:
        """The state after the store has taken its pending writes."""
        return self.with_context(
            replace(self.ctx, unsaved=(), lock_unsaved=None, lock_kept=None, clear_resume=False)
        )

    def to_attributes(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "phase": msgspec.to_builtins(self.phase),
            "ctx": msgspec.to_builtins(self.ctx),
        }
