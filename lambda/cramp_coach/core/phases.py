"""The phases of a conversation: one frozen type per phase, with only the fields it needs.

A routine's position (Routine) rides in the phases that have one. The phases are the map the
rules are drawn on (rules.py has a table per phase type); what the session knows besides its
phase (Context) and the State that holds both are in state.py, their decoding in state_codec.py.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import msgspec

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


class Routine(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
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


class Idle(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: Literal["idle"] = "idle"


class AskingMuscle(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    tries: int = 0  # misses so far; two lead to the calf default (PROTOCOLS section 5)
    warned: bool = False  # warning words were heard while asking: never the calf default (4.1)
    kind: Literal["asking_muscle"] = "asking_muscle"


class Clarifying(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    vague: str  # LEG | THIGH | FOOT | KNEE
    tries: int = 0
    kind: Literal["clarifying"] = "clarifying"


class InRoutine(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    routine: Routine
    kind: Literal["routine"] = "routine"


class Paused(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    routine: Routine
    kind: Literal["paused"] = "paused"


class ResumeOffer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    routine: Routine  # the interrupted routine, from the store
    variant: Variant = "partner"
    kind: Literal["resume_offer"] = "resume_offer"


class Checking(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A safety question asked before going on: a clear "no" carries on, "yes" is a red flag."""

    about: About
    muscle: str | None = None  # the routine to start after a clear "no"
    tries: int = 0
    kind: Literal["checking"] = "checking"


class PriorCheck(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A later session asks about a warning of the last 12 hours before any steps
    (PROTOCOLS 4.1): "same_person" (the request is about the other person) or "seen" (has a
    doctor, nurse or paramedic checked it since)."""

    question: Literal["same_person", "seen"]
    muscle: str  # the routine asked for: started only after a clear answer
    kind: Literal["prior_check"] = "prior_check"


# The phrase each PriorCheck question is asked with.
PRIOR_QUESTIONS = {"same_person": "prior_same_person", "seen": "prior_seen"}


class Locked(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A stopping red flag was spoken: nothing in this session leads back to the steps."""

    flag: str
    level: Level
    asking_breath: bool = False  # RF_DVT is followed by the breathing question
    breath_retried: bool = False  # an unclear answer asked it once more; the next is RF-PE
    kind: Literal["locked"] = "locked"


class Confirming(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A yes/no question outside a routine whose answer changes what is stored."""

    about: Literal["delete", "log_consent"]
    tries: int = 0  # "next" or words that answer nothing asked it once more
    kind: Literal["confirming"] = "confirming"


class Offered(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A yes/no offer outside a routine: the bedtime stretch (PROTOCOLS 3a: at the end of
    aftercare, after RF-FREQ, as the prevention answer) or a nightly reminder after it."""

    what: Literal["bedtime", "reminder"]
    tips: bool = False  # the offer answered "how do I prevent cramps": a no hears the rest
    kind: Literal["offered"] = "offered"


class Finished(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
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
