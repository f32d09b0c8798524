"""The shapes of the content: the typed, frozen pieces a locale's content is made of.

Steps, holds, red flags, numbers and their sources, as the loader (reader.py, parse.py) builds
them from the JSON files; plus the names and limits the loader checks against.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import msgspec

CONTENT_DIR = Path(__file__).parent


def language_file(file: Path) -> bool:
    """Whether `file` is in one of the package's language base folders (en/, not en-GB/)."""
    return file.parent.parent == CONTENT_DIR and "-" not in file.parent.name


@lru_cache(maxsize=8)
def language_document(file: Path) -> Any:
    """A language base file (en/protocols.json, ...), parsed once per process: each locale
    of the language (en-US and en-CA in one init) is laid over the same documents. Only read:
    overlay copies what it changes, and the parsers copy before they change anything."""
    return json.loads(file.read_text(encoding="utf-8"))


BASE_LANGUAGE = "en"


# The phrases the core appends after an emergency-level and an urgent-level red flag.
NUMBER_PHRASES = {"emergency": "emergency_number", "urgent": "urgent_number"}


# The phrase an emergency turn opens with, unless the red flag names another ("call").
CALL_PHRASE = "call_emergency"


# Kinds of phone number a locale may name; phrases use {<kind>_spoken} and {<kind>_name}.
NUMBER_KINDS = ("emergency", "urgent", "ambulance")


# The phrases a country other than the locale's own is spoken with (Content.for_country):
# {country} and the country's numbers fill them; the base language has them.
COUNTRY_TEMPLATES = ("emergency_number_in", "urgent_number_in")


# Overlay tables that may gain keys a base does not have.
OPEN_TABLES = {"sources", "numbers"}


# Keys an overlay must never change: structure, not wording.
FIXED_KEYS = {
    "id", "source", "level", "hold", "phase", "legs_only", "position_first", "leg", "flag",
    "call", "joined",
}  # fmt: skip


MAX_STEP_WORDS = 30


PHASES = ("setup", "stretch", "massage", "care")


LEVELS = ("emergency", "urgent", "routine")
# The sourced sentences at the top level of protocols.json, one Content field each.
TOP_SOURCED = (
    "opening",
    "safety_check",
    "closing_after_red_flag",
    "gentle_stop",
    "doctor_advice",
    "hold_advice",
)


# BODY_PART ids an answer to a step's choice question may name ("under" is BELOW).
CHOICE_PARTS = ("FRONT", "BACK", "TOP", "BELOW", "ABOVE")


_CHOICE_WORD = re.compile(r"[a-z']+")


ROUTINE_MUSCLES = (
    "CALF",
    "FOOT_ARCH",
    "TOES",
    "HAMSTRING",
    "QUADRICEPS",
    "SHIN",
    "LOWER_BACK",
    "HAND",
    "NECK",
)


Level = Literal["emergency", "urgent", "routine"]


class ContentError(ValueError):
    """A content file does not match the schema; the message says where."""


class Sourced(msgspec.Struct, frozen=True):
    text: str
    source: str


class Beat(msgspec.Struct, frozen=True):
    """One counted part of a step that is held more than once ("now the other knee")."""

    cue: str
    hold: int


class Step(msgspec.Struct, frozen=True):
    id: str
    text: str
    hold: int | None
    phase: str
    source: str
    legs_only: bool = False
    # Get into position first ("hook a sheet", "stand"): the count starts on "next".
    position_first: bool = False
    # Counted parts; their holds add up to `hold`. Empty: one hold of `hold` seconds.
    beats: tuple[Beat, ...] = ()
    # Asked, never chained (PROTOCOLS 2.3, 2.4 A4, 2.5 A3, 3 C3). With `when` empty it is an
    # offer: a clear yes plays the step. Consecutive steps with `when` are one choice: the
    # first asks, and the answer's words pick the one step played (never both).
    ask: str | None = None
    when: tuple[str, ...] = ()
    # A held stretch whose words lean on the step before ("keep that stretch"): how to get
    # back into it after moving on (a rub, the next step), for "still cramping".
    again: str | None = None
    # Said in the same turn as the step before it (aftercare: fewer turns for a tired ear).
    joined: bool = False

    @property
    def offer(self) -> bool:
        return self.ask is not None and not self.when


class Check(msgspec.Struct, frozen=True):
    """A muscle's own leg check before a rub (G3): its question and the flag a yes raises."""

    text: str
    source: str
    flag: str


class Muscle(msgspec.Struct, frozen=True):
    id: str
    name: str
    leg: bool
    partner: tuple[Step, ...]
    alone: tuple[Step, ...]
    gentle: tuple[Step, ...]
    caution: Sourced | None
    pregnancy: Sourced | None
    red_flags: tuple[str, ...]
    gentle_alone: tuple[Step, ...] = ()  # Option B for one person (PROTOCOLS 2.1)
    check: Check | None = None  # None: the shared `safety_check`, a yes is RF_DVT

    def gentle_for(self, variant: str) -> tuple[Step, ...]:
        return self.gentle_alone if variant == "alone" else self.gentle

    def track(self, track: str, variant: str) -> tuple[Step, ...]:
        """A track's steps. Option B eases the cramp another way; once it gives, the
        protocol's own rub follows (G9: "go to the massage"), behind the leg check."""
        main = self.alone if variant == "alone" else self.partner
        gentle = self.gentle_for(variant)
        if track == "gentle" and gentle:
            return (*gentle, *(s for s in main if s.phase == "massage"))
        return main


BEDTIME = "BEDTIME"  # the routine id of the bedtime stretch (PROTOCOLS 3a), never a MUSCLE slot id


class Bedtime(msgspec.Struct, frozen=True):
    """The bedtime prevention routine (PROTOCOLS 3a, P-BED): steps run by the same machinery
    as a cramp's, as the routine `BEDTIME` on the track "bedtime"."""

    muscle: Muscle  # id BEDTIME, not a leg (no leg check, no rub), its steps for either variant
    intro: Sourced  # what it is, said honestly ("may mean fewer cramps")
    closing: Sourced
    offer: Sourced  # the one question that offers it (end of aftercare, RF-FREQ, prevention)
    reminder_text: Sourced  # what a nightly reminder says: names the routine, nothing else


class Vague(msgspec.Struct, frozen=True):
    id: str
    default: str | None
    note: str | None
    question: str | None
    hint: str | None
    answers: dict[str, str]
    choices: tuple[str, ...]


class RedFlag(msgspec.Struct, frozen=True):
    id: str
    level: Level
    trigger: str
    script: str
    source: str
    # Emergency level: the phrase that opens its turn, the action and the number first
    # ("Call 9 1 1 now."); the script after it is the reason. None below emergency.
    call: str | None = None

    @property
    def stops_routine(self) -> bool:
        # PROTOCOLS section 4: any E or U trigger stops the protocol; R advice does not.
        return self.level != "routine"


CONTEXT_FLAGS = ("PREGNANT", "CHILD", "EXERCISE_HEAT")


FLAG_TEXTS = ("PREGNANT", "PREGNANT_ALONE", "CHILD", "EXERCISE_HEAT")


class PhoneNumber(msgspec.Struct, frozen=True):
    """A number to call: the digits (for a screen or a test) and how it is spoken."""

    kind: str
    name: str | None
    digits: str
    spoken: str
    source: str
