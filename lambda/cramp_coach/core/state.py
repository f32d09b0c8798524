"""Where the conversation is: one type per phase, with only the fields that phase needs.

The state lives in Alexa session attributes between turns (and a routine in the store
between sessions), so it must survive JSON and must never be trusted: `decode_state`
reads it strictly (dacite, strict types and keys) and checks every id against the
content. Anything wrong starts afresh, calmly; a session can never get stuck on it.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast, get_args

from cramp_coach.content import BEDTIME, Content
from cramp_coach.core.model import Event, LogEntry

if TYPE_CHECKING:
    import dacite

log = logging.getLogger(__name__)

STATE_VERSION = 2

Variant: TypeAlias = Literal["partner", "alone"]
# "bedtime": the bedtime stretch (PROTOCOLS 3a), routine id BEDTIME; never a cramp.
Track: TypeAlias = Literal["main", "gentle", "aftercare", "bedtime"]
# The leg check before any massage (G3): asked after the first hold or before a rub.
LegCheck: TypeAlias = Literal["unasked", "asking", "asking_again", "unanswered", "clear"]
# What the last turn asked inside a routine, so that "yes" and "no" mean something.
# "leg", "breath" and "heat" are safety questions asked mid-routine (unclear words, heat).
# "offer" and "choice" ("choice_again" after an unclear answer) ask a step's own question.
# "check_breath": the leg check (which also asks about breathing) had no clear answer twice, so
# its breathing half is asked alone; a clear no goes on past the rub.
Question: TypeAlias = Literal[
    "easing", "end_of_steps", "position", "leg", "breath", "heat", "blood", "offer", "choice",
    "choice_again", "check_breath",
]  # fmt: skip
Level: TypeAlias = Literal["emergency", "urgent"]
# What a safety question asks about; "blood": a cold leg, has it gone pale or numb (RF-ISCH).
About: TypeAlias = Literal["leg", "breath", "heat", "baby", "blood"]
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


@dataclass(frozen=True)
class Routine:
    """A position in one muscle's steps."""

    muscle: str
    started_at: float  # G1: the ten-minute clock runs from the first step
    rid: str  # the cramp-log entry this routine writes
    track: Track = "main"
    step: int = 0
    repeats: int = 0  # G9: holds repeated on "still cramping"
    check: LegCheck = "unasked"
    question: Question | None = None
    no_massage: bool = False  # a clot was flagged in the last 12 hours: never rub a leg
    retried: bool = False  # the open safety question was asked once more after an unclear answer
    chosen: int = -1  # the asked step (offer or choice) the listener picked: it is played
    # "Still cramping" sent the listener back to a stretch that waits for them to get into
    # position: the count on "next" is a repeated hold (G9 counts holds actually made).
    repeating: bool = False


@dataclass(frozen=True)
class Idle:
    kind: Literal["idle"] = "idle"


@dataclass(frozen=True)
class AskingMuscle:
    tries: int = 0  # misses so far; two lead to the calf default (PROTOCOLS section 5)
    warned: bool = False  # warning words were heard while asking: never the calf default (4.1)
    kind: Literal["asking_muscle"] = "asking_muscle"


@dataclass(frozen=True)
class Clarifying:
    vague: str  # LEG | THIGH | FOOT | KNEE
    tries: int = 0
    kind: Literal["clarifying"] = "clarifying"


@dataclass(frozen=True)
class InRoutine:
    routine: Routine
    kind: Literal["routine"] = "routine"


@dataclass(frozen=True)
class Paused:
    routine: Routine
    kind: Literal["paused"] = "paused"


@dataclass(frozen=True)
class ResumeOffer:
    routine: Routine  # the interrupted routine, from the store
    variant: Variant = "partner"
    kind: Literal["resume_offer"] = "resume_offer"


@dataclass(frozen=True)
class Checking:
    """A safety question asked before going on: a clear "no" carries on, "yes" is a red flag."""

    about: About
    muscle: str | None = None  # the routine to start after a clear "no"
    tries: int = 0
    kind: Literal["checking"] = "checking"


@dataclass(frozen=True)
class PriorCheck:
    """A later session asks about a warning of the last 12 hours before any steps
    (PROTOCOLS 4.1): "same_person" (the request is about the other person) or "seen" (has a
    doctor, nurse or paramedic checked it since)."""

    question: Literal["same_person", "seen"]
    muscle: str  # the routine asked for: started only after a clear answer
    kind: Literal["prior_check"] = "prior_check"


# The phrase each PriorCheck question is asked with.
PRIOR_QUESTIONS = {"same_person": "prior_same_person", "seen": "prior_seen"}


@dataclass(frozen=True)
class Locked:
    """A stopping red flag was spoken: nothing in this session leads back to the steps."""

    flag: str
    level: Level
    asking_breath: bool = False  # RF_DVT is followed by the breathing question
    breath_retried: bool = False  # an unclear answer asked it once more; the next is RF-PE
    kind: Literal["locked"] = "locked"


@dataclass(frozen=True)
class Confirming:
    """A yes/no question outside a routine whose answer changes what is stored."""

    about: Literal["delete", "log_consent"]
    tries: int = 0  # "next" or words that answer nothing asked it once more
    kind: Literal["confirming"] = "confirming"


@dataclass(frozen=True)
class Offered:
    """A yes/no offer outside a routine: the bedtime stretch (PROTOCOLS 3a: at the end of
    aftercare, after RF-FREQ, as the prevention answer) or a nightly reminder after it."""

    what: Literal["bedtime", "reminder"]
    tips: bool = False  # the offer answered "how do I prevent cramps": a no hears the rest
    kind: Literal["offered"] = "offered"


@dataclass(frozen=True)
class Finished:
    kind: Literal["finished"] = "finished"


Phase: TypeAlias = (
    Idle
    | AskingMuscle
    | Clarifying
    | InRoutine
    | Paused
    | ResumeOffer
    | Checking
    | PriorCheck
    | Locked
    | Confirming
    | Offered
    | Finished
)
PHASES: tuple[type[Any], ...] = (
    Idle,
    AskingMuscle,
    Clarifying,
    InRoutine,
    Paused,
    ResumeOffer,
    Checking,
    PriorCheck,
    Locked,
    Confirming,
    Offered,
    Finished,
)
_BY_KIND = {cls.kind: cls for cls in PHASES}  # each class's default `kind`


# Who a warning was about (PROTOCOLS 4.1): the partner ("her", "my wife's"), the speaker
# ("my", "I"), or nobody said.
Person: TypeAlias = Literal["partner", "speaker", "unknown"]


@dataclass(frozen=True)
class LockRecord:
    """A stopping red flag, remembered for the user for 12 hours (it rides until stored)."""

    flag: str
    level: Level
    muscle: str | None
    at: float
    about: Person = "unknown"


@dataclass(frozen=True)
class Context:
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


@dataclass(frozen=True)
class State:
    phase: Phase = field(default_factory=Idle)
    ctx: Context = field(default_factory=Context)

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
        return {"v": STATE_VERSION, "phase": asdict(self.phase), "ctx": asdict(self.ctx)}


def _number(value: Any) -> Any:
    # JSON may turn 1700000000.0 into 1700000000; a string or a bool stays wrong.
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@cache
def _dacite() -> tuple[Any, dacite.Config]:
    """dacite and the strict config, imported when a state is first decoded: a new session
    (every cold one-shot) has none, so its cold start never loads them."""
    import dacite

    config = dacite.Config(
        strict=True,
        check_types=True,
        type_hooks={float: _number, tuple[str, ...]: _tuple, tuple[LogEntry, ...]: _tuple},
    )
    return dacite, config


def decode_routine(data: Any, content: Content) -> Routine | None:
    """A routine from the store or the attributes, or None when any part is wrong."""
    dacite, config = _dacite()
    try:
        routine = dacite.from_dict(Routine, data, config=config)
    except (dacite.DaciteError, TypeError, ValueError):
        return None
    return routine if routine_fits(routine, content) else None


_RID = re.compile(r"[0-9a-f]{12}")  # routine.py: the first 12 hex digits of a sha256
_COUNTRY = re.compile(r"(?:[A-Z]{2})?")  # "" (looked up, unknown) or ISO 3166 alpha-2


def _when(moment: float) -> bool:
    """A time the skill could have written (JSON readers accept NaN and Infinity)."""
    return math.isfinite(moment) and moment >= 0


def routine_fits(routine: Routine, content: Content) -> bool:
    if (routine.muscle == BEDTIME) != (routine.track == "bedtime"):
        return False  # the bedtime stretch runs on its own track, and nothing else does
    muscle = content.muscles.get(routine.muscle)
    if routine.muscle == BEDTIME:
        muscle = content.bedtime.muscle
    if muscle is None or routine.repeats < 0 or routine.step < 0 or routine.chosen < -1:
        return False
    if not _when(routine.started_at) or not _RID.fullmatch(routine.rid):
        return False
    if routine.track == "aftercare":
        count = len(content.aftercare_for(routine.muscle))
        return routine.step < count and routine.chosen < count
    # The alone and gentle tracks are shorter: the step must exist in the longest one.
    longest = max(len(muscle.track(routine.track, v)) for v in ("partner", "alone"))
    return routine.step < longest and routine.chosen < longest


def decode_state(data: Any, content: Content) -> State:
    """Session attributes -> State. Missing means a new session; anything corrupt starts afresh."""
    if data is None:
        return State()
    dacite, config = _dacite()
    try:
        if not isinstance(data, dict) or data.get("v") != STATE_VERSION:
            raise ValueError("unknown state version")
        raw_phase = data["phase"]
        cls = _BY_KIND[raw_phase["kind"]]
        phase = dacite.from_dict(cls, raw_phase, config=config)
        raw_ctx = data["ctx"]
        if isinstance(raw_ctx, dict):
            # Sessions begun before "repeat" was rebuilt from the state carried the words
            # themselves: ignored, never spoken.
            raw_ctx = {k: v for k, v in raw_ctx.items() if k not in _RETIRED_CTX}
        ctx = dacite.from_dict(Context, raw_ctx, config=config)
    except (dacite.DaciteError, KeyError, TypeError, ValueError):
        log.warning("session state unreadable; starting afresh")
        return State()
    state = State(phase, ctx)
    if not _fits(state, content):
        log.warning("session state names content we do not have; starting afresh")
        return State()
    return state


_RETIRED_CTX = frozenset({"last_speech", "last_reprompt"})


def _entry_fits(entry: LogEntry, content: Content) -> bool:
    outcome_ok = entry.outcome in OUTCOMES or (
        entry.outcome.startswith("red_flag:")
        and entry.outcome.removeprefix("red_flag:") in content.red_flags
    )
    return (
        outcome_ok
        and entry.muscle in content.muscles
        and entry.variant in ("partner", "alone")
        and _when(entry.started_at)
        and bool(_RID.fullmatch(entry.rid))
    )


def _fits(state: State, content: Content) -> bool:
    phase, ctx = state.phase, state.ctx
    if isinstance(phase, InRoutine | Paused | ResumeOffer) and not routine_fits(
        phase.routine, content
    ):
        return False
    if isinstance(phase, Clarifying) and phase.vague not in content.vague:
        return False
    if isinstance(phase, Checking) and phase.muscle not in (None, *content.muscles):
        return False
    if isinstance(phase, PriorCheck) and (
        phase.muscle not in (*content.muscles, BEDTIME) or ctx.prior_lock is None
    ):
        return False
    if isinstance(phase, Locked) and phase.flag not in content.red_flags:
        return False
    locks = [lock for lock in (ctx.prior_lock, ctx.lock_unsaved, ctx.lock_kept) if lock is not None]
    if any(
        lock.flag not in content.red_flags
        or lock.muscle not in (None, *content.muscles)
        or not _when(lock.at)
        for lock in locks
    ):
        return False
    if len(ctx.unsaved) > MAX_UNSAVED or not all(_entry_fits(e, content) for e in ctx.unsaved):
        return False
    if ctx.country is not None and not _COUNTRY.fullmatch(ctx.country):
        return False
    if len({e.rid for e in ctx.unsaved}) != len(ctx.unsaved):
        return False  # the core keeps one entry per routine
    return all(f in content.flags or f == "EXERCISE_HEAT" for f in ctx.flags)


def snapshot(state: State) -> dict[str, Any] | None:
    """What the store keeps of an interrupted routine, to offer it on the next launch."""
    routine = state.routine
    if routine is None:
        return None
    return {"routine": asdict(routine), "variant": state.ctx.variant}


def decode_snapshot(data: Any, content: Content) -> ResumeOffer | None:
    if not isinstance(data, dict) or data.get("variant") not in ("partner", "alone"):
        return None
    routine = decode_routine(data.get("routine"), content)
    if routine is None:
        return None
    return ResumeOffer(routine, "alone" if data["variant"] == "alone" else "partner")
