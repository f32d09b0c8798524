"""The state to and from JSON it must never trust: strict decoding, and the store's snapshot.

The state lives in Alexa session attributes between turns (and a routine in the store between
sessions), so it must survive JSON and must never be trusted: `decode_state` reads it strictly
(msgspec.convert: strict types, unknown keys refused) and checks every id against the content.
Anything wrong starts afresh, calmly; a session can never get stuck on it. Apart from state.py so
that the types stay plain data.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import msgspec
from msgspec.structs import fields

from cramp_coach.content import BEDTIME, Content
from cramp_coach.core.model import LogEntry
from cramp_coach.core.phases import (
    PHASES,
    Checking,
    Clarifying,
    InRoutine,
    Locked,
    Paused,
    PriorCheck,
    ResumeOffer,
    Routine,
)
from cramp_coach.core.state import MAX_UNSAVED, OUTCOMES, STATE_VERSION, Context, State

log = logging.getLogger(__name__)


# Each phase class by its `kind` field's default ("idle", "routine", ...).
_BY_KIND = {field.default: cls for cls in PHASES for field in fields(cls) if field.name == "kind"}
# msgspec.convert is strict: a string is never a number, a bool never an int, an unknown key
# is refused (the state classes forbid them); JSON's 1700000000 for 1700000000.0 and its
# lists for tuples are accepted.
_DECODE_ERRORS = (msgspec.ValidationError, KeyError, TypeError, ValueError)


def decode_routine(data: Any, content: Content) -> Routine | None:
    """A routine from the store or the attributes, or None when any part is wrong."""
    try:
        routine = msgspec.convert(data, Routine)
    except _DECODE_ERRORS:
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
    try:
        if not isinstance(data, dict) or data.get("v") != STATE_VERSION:
            raise ValueError("unknown state version")
        raw_phase = data["phase"]
        cls = _BY_KIND[raw_phase["kind"]]
        phase = msgspec.convert(raw_phase, cls)
        raw_ctx = data["ctx"]
        if isinstance(raw_ctx, dict):
            # Sessions begun before "repeat" was rebuilt from the state carried the words
            # themselves: ignored, never spoken.
            raw_ctx = {k: v for k, v in raw_ctx.items() if k not in _RETIRED_CTX}
        ctx = msgspec.convert(raw_ctx, Context)
    except _DECODE_ERRORS:
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
    return {"routine": msgspec.to_builtins(routine), "variant": state.ctx.variant}


def decode_snapshot(data: Any, content: Content) -> ResumeOffer | None:
    if not isinstance(data, dict) or data.get("variant") not in ("partner", "alone"):
        return None
    routine = decode_routine(data.get("routine"), content)
    if routine is None:
        return None
    return ResumeOffer(routine, "alone" if data["variant"] == "alone" else "partner")
