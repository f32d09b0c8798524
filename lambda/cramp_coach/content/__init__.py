"""Load and validate the per-locale content files into frozen dataclasses.

The medical content (``protocols.json``) and the skill's own phrases (``phrases.json``)
are data, so a bad edit must fail loudly at load time with a message that names the file
and the place, never halfway through a night.

A language base (``en/``) holds the complete content, with no phone numbers: it is what a
locale the skill does not have hears ("your local emergency number"). A locale folder
(``en-GB/``) holds only what differs, overlaid key by key on the base (steps and other
listed items by their ``id``). An overlay may change wording and add phone numbers and
their sources; it may not add keys, change a hold, a level, an id, a source tag or a list
of red flags, so a locale can never drop a step or weaken a red flag.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cramp_coach.content.symptoms import (
    SymptomModel,
    SymptomModelError,
    parse_symptom_model,
    read_symptom_files,
)

if TYPE_CHECKING:
    from cramp_coach.content.countries import Country

CONTENT_DIR = Path(__file__).parent
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


@dataclass(frozen=True)
class Sourced:
    text: str
    source: str


@dataclass(frozen=True)
class Beat:
    """One counted part of a step that is held more than once ("now the other knee")."""

    cue: str
    hold: int


@dataclass(frozen=True)
class Step:
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


@dataclass(frozen=True)
class Check:
    """A muscle's own leg check before a rub (G3): its question and the flag a yes raises."""

    text: str
    source: str
    flag: str


@dataclass(frozen=True)
class Muscle:
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


@dataclass(frozen=True)
class Bedtime:
    """The bedtime prevention routine (PROTOCOLS 3a, P-BED): steps run by the same machinery
    as a cramp's, as the routine `BEDTIME` on the track "bedtime"."""

    muscle: Muscle  # id BEDTIME, not a leg (no leg check, no rub), its steps for either variant
    intro: Sourced  # what it is, said honestly ("may mean fewer cramps")
    closing: Sourced
    offer: Sourced  # the one question that offers it (end of aftercare, RF-FREQ, prevention)
    reminder_text: Sourced  # what a nightly reminder says: names the routine, nothing else


@dataclass(frozen=True)
class Vague:
    id: str
    default: str | None
    note: str | None
    question: str | None
    hint: str | None
    answers: dict[str, str]
    choices: tuple[str, ...]


@dataclass(frozen=True)
class RedFlag:
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


@dataclass(frozen=True)
class PhoneNumber:
    """A number to call: the digits (for a screen or a test) and how it is spoken."""

    kind: str
    name: str | None
    digits: str
    spoken: str
    source: str


@dataclass(frozen=True)
class Content:
    locale: str
    phone_numbers: dict[str, PhoneNumber]  # kind ("emergency", "urgent", ...) -> number
    sources: dict[str, str]
    muscles: dict[str, Muscle]
    vague: dict[str, Vague]
    out_of_scope: dict[str, str]
    aftercare: tuple[Step, ...]
    reassurance: Sourced
    aftercare_warning: Sourced | None  # said after the reassurance (PROTOCOLS 3)
    prevention: tuple[Sourced, ...]
    red_flags: dict[str, RedFlag]
    flags: dict[str, Sourced]
    opening: Sourced
    safety_check: Sourced
    closing_after_red_flag: Sourced
    gentle_stop: Sourced
    doctor_advice: Sourced
    hold_advice: Sourced
    symptoms: SymptomModel
    phrases: dict[str, str]
    number_words: dict[int, str]  # for counts and durations ("thirty")
    bedtime: Bedtime
    home: str | None = None  # the country whose numbers the locale speaks (en-GB: GB)
    country: str | None = None  # set on a view for another country (for_country)
    country_name: str | None = None  # that country as spoken ("New Zealand"): fills {country}
    countries: dict[str, Country] = field(default_factory=dict)  # the country table
    # The base language's wording of each phrase that speaks a number: what a country
    # without that kind of number hears instead (the base names no number).
    number_free: dict[str, str] = field(default_factory=dict)
    # In pregnancy, said at the very end, to the helper or to the person alone (PROTOCOLS 2.1).
    pregnancy_end: Sourced | None = None
    pregnancy_end_alone: Sourced | None = None

    def routine_muscle(self, routine_id: str) -> Muscle:
        """A routine's steps and name: a muscle's, or the bedtime stretch's."""
        return self.bedtime.muscle if routine_id == BEDTIME else self.muscles[routine_id]

    @property
    def emergency(self) -> PhoneNumber | None:
        """The locale's emergency number; None in the language base (no number is known)."""
        return self.phone_numbers.get("emergency")

    @property
    def urgent(self) -> PhoneNumber | None:
        """The same-day advice line, where the locale has one."""
        return self.phone_numbers.get("urgent")

    def number_values(self) -> dict[str, str]:
        """The placeholders phrases may use for phone numbers: {emergency_spoken}, ..."""
        values: dict[str, str] = {}
        for kind, number in self.phone_numbers.items():
            values[f"{kind}_spoken"] = number.spoken
            if number.name:
                values[f"{kind}_name"] = number.name
        if self.country_name:
            values["country"] = self.country_name
        return values

    def for_country(self, code: str | None) -> Content:
        """This content as spoken to a device in country `code` (ISO 3166 alpha-2).

        The locale's own content when the country is unknown, not in the table, or the
        locale's home; otherwise the same wording with that country's numbers: the
        emergency and urgent sentences become the locale's `emergency_number_in` /
        `urgent_number_in` (or `urgent_number_none`) with the country's name and notes, and
        a phrase needing a kind of number the country lacks takes the base's wording.
        """
        if not code or code == self.home or code == self.country:
            return self
        country = self.countries.get(code)
        needed = (*COUNTRY_TEMPLATES, "urgent_number_none")
        if country is None or not all(k in self.phrases for k in needed):
            return self
        numbers = dict(country.numbers)
        phrases = dict(self.phrases)
        phrases["emergency_number"] = _sentences(
            self.phrases["emergency_number_in"], country.emergency_note
        )
        if "urgent" in numbers:
            urgent = _sentences(self.phrases["urgent_number_in"], country.urgent_note)
        else:
            urgent = self.phrases["urgent_number_none"]
        phrases["urgent_number"] = urgent
        available = {f"{kind}_spoken" for kind in numbers}
        available |= {f"{kind}_name" for kind, number in numbers.items() if number.name}
        for key, text in self.phrases.items():
            if key in NUMBER_PHRASES.values() or key in COUNTRY_TEMPLATES:
                continue
            if not number_fields(text) <= available:
                phrases[key] = self.number_free[key]
        return replace(
            self,
            phone_numbers=numbers,
            phrases=phrases,
            country=code,
            country_name=country.name,
        )

    def phrase(self, key: str, **values: object) -> str:
        """A phrase from phrases.json with ``{name}`` placeholders filled.

        Phone-number placeholders are filled from the locale's ``numbers`` entry: the one
        place a number is written.
        """
        return self.phrases[key].format(**{**self.number_values(), **values})

    def spoken_texts(self) -> Iterator[tuple[str, str]]:
        """(where, text) for every string the skill may speak, phrases unfilled."""
        for mid, m in self.muscles.items():
            yield f"muscles.{mid}.name", m.name
            for variant in ("partner", "alone", "gentle", "gentle_alone"):
                for st in getattr(m, variant):
                    yield f"muscles.{mid}.{variant}.{st.id}", st.text
                    if st.ask:
                        yield f"muscles.{mid}.{variant}.{st.id}.ask", st.ask
                    if st.again:
                        yield f"muscles.{mid}.{variant}.{st.id}.again", st.again
                    for i, beat in enumerate(st.beats):
                        yield f"muscles.{mid}.{variant}.{st.id}.beats[{i}]", beat.cue
            if m.check:
                yield f"muscles.{mid}.check", m.check.text
            for extra in ("caution", "pregnancy"):
                sourced = getattr(m, extra)
                if sourced is not None:
                    yield f"muscles.{mid}.{extra}", sourced.text
        b = self.bedtime
        yield "bedtime.name", b.muscle.name
        for st in b.muscle.partner:
            yield f"bedtime.steps.{st.id}", st.text
            for i, beat in enumerate(st.beats):
                yield f"bedtime.steps.{st.id}.beats[{i}]", beat.cue
        for extra in ("intro", "closing", "offer", "reminder_text"):
            yield f"bedtime.{extra}", getattr(b, extra).text
        if b.muscle.caution:
            yield "bedtime.caution", b.muscle.caution.text
        for vid, v in self.vague.items():
            for name in ("note", "question", "hint"):
                text = getattr(v, name)
                if text:
                    yield f"vague.{vid}.{name}", text
        for st in self.aftercare:
            yield f"aftercare.{st.id}", st.text
            if st.ask:
                yield f"aftercare.{st.id}.ask", st.ask
        yield "aftercare.reassurance", self.reassurance.text
        if self.aftercare_warning:
            yield "aftercare.warning", self.aftercare_warning.text
        for name in ("pregnancy_end", "pregnancy_end_alone"):
            said = getattr(self, name)
            if said is not None:
                yield f"aftercare.{name}", said.text
        for i, tip in enumerate(self.prevention):
            yield f"prevention[{i}]", tip.text
        for rf_id, rf in self.red_flags.items():
            yield f"red_flags.{rf_id}.script", rf.script
        for fid, flag in self.flags.items():
            yield f"flags.{fid}", flag.text
        for name in (
            "opening",
            "safety_check",
            "closing_after_red_flag",
            "gentle_stop",
            "doctor_advice",
            "hold_advice",
        ):
            yield name, getattr(self, name).text
        for key, text in self.phrases.items():
            yield f"phrases.{key}", text
        for n, word in self.number_words.items():
            yield f"phrases.number_words.{n}", word

    def aftercare_for(self, muscle_id: str | None) -> tuple[Step, ...]:
        is_leg = muscle_id is None or self.muscles[muscle_id].leg
        return tuple(s for s in self.aftercare if is_leg or not s.legs_only)


class _Reader:
    """Walks a JSON document and raises ContentError naming the exact path."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, where: str, problem: str) -> ContentError:
        return ContentError(f"{self.file.parent.name}/{self.file.name}: {where}: {problem}")

    def obj(
        self, value: Any, where: str, required: set[str], optional: Iterable[str] = ()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "expected an object")
        unknown = set(value) - required - set(optional)
        if unknown:
            raise self.fail(where, f"unknown key(s) {sorted(unknown)}")
        missing = required - set(value)
        if missing:
            raise self.fail(where, f"missing key(s) {sorted(missing)}")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "expected non-empty text")
        for bad in ("<", ">", "&"):
            if bad in value:
                raise self.fail(where, f"spoken text must not contain {bad!r}")
        return value.strip()

    def sourced(self, value: Any, where: str) -> Sourced:
        data = self.obj(value, where, {"text", "source"})
        return Sourced(
            self.text(data["text"], f"{where}.text"), self.text(data["source"], f"{where}.source")
        )

    def prevention(self, value: Any, where: str) -> Sourced:
        data = self.obj(value, where, {"id", "text", "source"})
        self.text(data["id"], f"{where}.id")
        return Sourced(
            self.text(data["text"], f"{where}.text"), self.text(data["source"], f"{where}.source")
        )

    def step(self, value: Any, where: str, allow_legs_only: bool = False) -> Step:
        optional = {"position_first", "beats", "ask", "when", "again", "joined"} | (
            {"legs_only"} if allow_legs_only else set()
        )
        data = self.obj(value, where, {"id", "text", "hold", "phase", "source"}, optional)
        text = self.text(data["text"], f"{where}.text")
        words = len(text.split())
        if words > MAX_STEP_WORDS:
            raise self.fail(
                where, f"step has {words} words; at most {MAX_STEP_WORDS} fit one breath"
            )
        hold = data["hold"]
        if hold is not None and (isinstance(hold, bool) or not isinstance(hold, int) or hold <= 0):
            raise self.fail(
                f"{where}.hold", f"hold must be a whole number of seconds or null, got {hold!r}"
            )
        if data["phase"] not in PHASES:
            raise self.fail(f"{where}.phase", f"must be one of {PHASES}")
        legs_only = data.get("legs_only", False)
        position_first = data.get("position_first", False)
        for name, flag in (("legs_only", legs_only), ("position_first", position_first)):
            if not isinstance(flag, bool):
                raise self.fail(f"{where}.{name}", "must be true or false")
        if position_first and not hold:
            raise self.fail(f"{where}.position_first", "only a step with a hold can wait")
        beats = self.beats(data.get("beats", []), f"{where}.beats")
        if beats and sum(b.hold for b in beats) != hold:
            raise self.fail(f"{where}.beats", f"the beats' holds must add up to hold ({hold})")
        ask = self.text(data["ask"], f"{where}.ask") if "ask" in data else None
        if ask is not None and len(ask.split()) > MAX_STEP_WORDS:
            raise self.fail(f"{where}.ask", f"at most {MAX_STEP_WORDS} words fit one breath")
        when = self.when(data.get("when", []), f"{where}.when")
        again = self.text(data["again"], f"{where}.again") if "again" in data else None
        if again is not None and (len(again.split()) > MAX_STEP_WORDS or not hold):
            raise self.fail(f"{where}.again", "a held step, in one breath")
        joined = data.get("joined", False)
        if not isinstance(joined, bool) or (joined and hold and hold <= 60):
            raise self.fail(f"{where}.joined", "true or false, and never on a counted hold")
        if (ask or when) and data["phase"] == "massage":
            raise self.fail(where, "a rub is never offered or chosen: the leg check guards it")
        return Step(
            id=self.text(data["id"], f"{where}.id"),
            text=text,
            hold=hold,
            phase=data["phase"],
            source=self.text(data["source"], f"{where}.source"),
            legs_only=legs_only,
            position_first=position_first,
            beats=beats,
            ask=ask,
            when=when,
            again=again,
            joined=joined,
        )

    def when(self, value: Any, where: str) -> tuple[str, ...]:
        """The words (or BODY_PART ids) of an answer that picks this step."""
        if not isinstance(value, list):
            raise self.fail(where, "expected a list of answer words")
        for word in value:
            if not isinstance(word, str) or not (
                word in CHOICE_PARTS or _CHOICE_WORD.fullmatch(word)
            ):
                raise self.fail(
                    where, f"{word!r}: expected a lower-case word or one of {CHOICE_PARTS}"
                )
        if len(set(value)) != len(value):
            raise self.fail(where, "a word is listed twice")
        return tuple(value)

    def beats(self, value: Any, where: str) -> tuple[Beat, ...]:
        if not isinstance(value, list):
            raise self.fail(where, "expected a list of {cue, hold}")
        out: list[Beat] = []
        for i, raw in enumerate(value):
            data = self.obj(raw, f"{where}[{i}]", {"cue", "hold"})
            hold = data["hold"]
            if isinstance(hold, bool) or not isinstance(hold, int) or not 0 < hold <= 60:
                raise self.fail(f"{where}[{i}].hold", "must be 1 to 60 seconds")
            out.append(Beat(self.text(data["cue"], f"{where}[{i}].cue"), hold))
        return tuple(out)

    def steps(
        self, value: Any, where: str, allow_empty: bool = False, legs_only: bool = False
    ) -> tuple[Step, ...]:
        if not isinstance(value, list) or (not value and not allow_empty):
            raise self.fail(where, "expected a non-empty list of steps")
        steps = tuple(self.step(v, f"{where}[{i}]", legs_only) for i, v in enumerate(value))
        self.choices(steps, where)
        return steps

    def choices(self, steps: tuple[Step, ...], where: str) -> None:
        """Each run of `when` steps is one question: the first asks, two or more answers,
        and no word picks two of them."""
        i = 0
        while i < len(steps):
            if not steps[i].when:
                i += 1
                continue
            end = i
            while end + 1 < len(steps) and steps[end + 1].when and not steps[end + 1].ask:
                end += 1
            if steps[i].ask is None:
                raise self.fail(f"{where}[{i}].ask", "the first step of a choice asks it")
            if end == i:
                raise self.fail(f"{where}[{i}].when", "a choice needs two or more steps")
            words = [w for s in steps[i : end + 1] for w in s.when]
            if len(set(words)) != len(words):
                raise self.fail(f"{where}[{i}].when", "one word picks two steps of a choice")
            if len({s.legs_only for s in steps[i : end + 1]}) > 1:
                # aftercare_for() drops legs_only steps: a choice must never lose an answer
                raise self.fail(f"{where}[{i}].legs_only", "the same for every answer")
            i = end + 1


def _parse(
    protocols: Any,
    phrases: Any,
    pfile: Path,
    sfile: Path,
    symptoms: tuple[Any, Any, str] | None = None,
) -> Content:
    r = _Reader(pfile)
    top = r.obj(
        protocols,
        "top level",
        {
            "locale",
            "numbers",
            "sources",
            "muscles",
            "vague",
            "out_of_scope",
            "aftercare",
            "prevention",
            "red_flags",
            "flags",
            "opening",
            "safety_check",
            "closing_after_red_flag",
            "gentle_stop",
            "doctor_advice",
            "hold_advice",
            "bedtime",
        },
    )
    red_flags: dict[str, RedFlag] = {}
    for rf_id, raw in r.obj(top["red_flags"], "red_flags", set(), set(top["red_flags"])).items():
        data = r.obj(
            raw, f"red_flags.{rf_id}", {"level", "trigger", "script", "source"}, {"call"}
        )
        if data["level"] not in LEVELS:
            raise r.fail(f"red_flags.{rf_id}.level", f"must be one of {LEVELS}")
        call = data.get("call", CALL_PHRASE if data["level"] == "emergency" else None)
        if call is not None and data["level"] != "emergency":
            raise r.fail(f"red_flags.{rf_id}.call", "only an emergency opens with the call")
        red_flags[rf_id] = RedFlag(
            rf_id,
            data["level"],
            r.text(data["trigger"], f"red_flags.{rf_id}.trigger"),
            r.text(data["script"], f"red_flags.{rf_id}.script"),
            r.text(data["source"], f"red_flags.{rf_id}.source"),
            call,
        )

    muscles: dict[str, Muscle] = {}
    raw_muscles = r.obj(top["muscles"], "muscles", set(ROUTINE_MUSCLES))
    for mid, raw in raw_muscles.items():
        where = f"muscles.{mid}"
        data = r.obj(
            raw,
            where,
            {"name", "leg", "partner", "alone", "red_flags"},
            {"gentle", "gentle_alone", "caution", "pregnancy", "check"},
        )
        for rf in data["red_flags"]:
            if rf not in red_flags:
                raise r.fail(f"{where}.red_flags", f"unknown red flag {rf!r}")
        if not isinstance(data["leg"], bool):
            raise r.fail(f"{where}.leg", "must be true or false")
        muscles[mid] = Muscle(
            id=mid,
            name=r.text(data["name"], f"{where}.name"),
            leg=data["leg"],
            partner=r.steps(data["partner"], f"{where}.partner"),
            alone=r.steps(data["alone"], f"{where}.alone"),
            gentle=r.steps(data.get("gentle", []), f"{where}.gentle", allow_empty=True),
            caution=r.sourced(data["caution"], f"{where}.caution") if "caution" in data else None,
            pregnancy=(
                r.sourced(data["pregnancy"], f"{where}.pregnancy") if "pregnancy" in data else None
            ),
            red_flags=tuple(data["red_flags"]),
            gentle_alone=r.steps(
                data.get("gentle_alone", []), f"{where}.gentle_alone", allow_empty=True
            ),
            check=_check(r, data["check"], f"{where}.check", red_flags)
            if "check" in data
            else None,
        )

    vague: dict[str, Vague] = {}
    for vid, raw in r.obj(top["vague"], "vague", {"LEG", "THIGH", "FOOT", "KNEE"}).items():
        where = f"vague.{vid}"
        if "default" in raw:
            data = r.obj(raw, where, {"default", "note"})
            if data["default"] not in muscles:
                raise r.fail(f"{where}.default", f"unknown muscle {data['default']!r}")
            vague[vid] = Vague(
                vid,
                data["default"],
                r.text(data["note"], f"{where}.note"),
                None,
                None,
                {},
                (data["default"],),
            )
            continue
        data = r.obj(raw, where, {"question", "hint", "answers"}, {"choices"})
        answers = r.obj(data["answers"], f"{where}.answers", set(), set(data["answers"]))
        choices = tuple(data.get("choices", sorted(set(answers.values()))))
        for target in [*answers.values(), *choices]:
            if target not in muscles:
                raise r.fail(where, f"unknown muscle {target!r}")
        vague[vid] = Vague(
            vid,
            None,
            None,
            r.text(data["question"], f"{where}.question"),
            r.text(data["hint"], f"{where}.hint"),
            dict(answers),
            choices,
        )

    out_of_scope = r.obj(
        top["out_of_scope"], "out_of_scope", {"CHEST", "TRUNK", "FACE", "ALL_OVER"}
    )
    for place, rf in out_of_scope.items():
        if rf not in red_flags:
            raise r.fail(f"out_of_scope.{place}", f"unknown red flag {rf!r}")

    after = r.obj(
        top["aftercare"],
        "aftercare",
        {"steps", "reassurance"},
        {"warning", "pregnancy_end", "pregnancy_end_alone"},
    )
    flags = {
        fid: r.sourced(raw, f"flags.{fid}")
        for fid, raw in r.obj(top["flags"], "flags", set(FLAG_TEXTS)).items()
    }
    sources = r.obj(top["sources"], "sources", set(), set(top["sources"]))
    phone_numbers = _phone_numbers(r, top["numbers"], sources)

    s = _Reader(sfile)
    if not isinstance(phrases, dict):
        raise s.fail("top level", "expected an object of phrase strings")
    phrases = dict(phrases)
    numbers_doc = phrases.pop("number_words", {})
    raw_numbers = s.obj(numbers_doc, "number_words", set(), set(numbers_doc or ()))
    numbers: dict[int, str] = {}
    for digits, word in raw_numbers.items():
        if not digits.isdigit():
            raise s.fail(f"number_words.{digits}", "keys are numbers written in digits")
        numbers[int(digits)] = s.text(word, f"number_words.{digits}")
    for key, value in phrases.items():
        s.text(value, key)
    _check_number_phrases(s, phrases, phone_numbers)
    for rf in red_flags.values():
        if rf.call is not None and rf.call not in phrases:
            raise r.fail(f"red_flags.{rf.id}.call", f"no phrase {rf.call!r}")
        if rf.call is not None and phone_numbers.get("emergency") and (
            "{emergency_spoken}" not in phrases[rf.call]
        ):
            raise s.fail(rf.call, "must speak the number through {emergency_spoken}")

    content = Content(
        locale=r.text(top["locale"], "locale"),
        phone_numbers=phone_numbers,
        sources=dict(sources),
        muscles=muscles,
        vague=vague,
        out_of_scope=dict(out_of_scope),
        aftercare=r.steps(after["steps"], "aftercare.steps", legs_only=True),
        reassurance=r.sourced(after["reassurance"], "aftercare.reassurance"),
        aftercare_warning=(
            r.sourced(after["warning"], "aftercare.warning") if "warning" in after else None
        ),
        prevention=tuple(
            r.prevention(p, f"prevention[{i}]") for i, p in enumerate(top["prevention"])
        ),
        red_flags=red_flags,
        flags=flags,
        opening=r.sourced(top["opening"], "opening"),
        safety_check=r.sourced(top["safety_check"], "safety_check"),
        closing_after_red_flag=r.sourced(top["closing_after_red_flag"], "closing_after_red_flag"),
        gentle_stop=r.sourced(top["gentle_stop"], "gentle_stop"),
        doctor_advice=r.sourced(top["doctor_advice"], "doctor_advice"),
        hold_advice=r.sourced(top["hold_advice"], "hold_advice"),
        symptoms=_symptom_model(symptoms, red_flags, muscles, phrases, set(vague)),
        phrases=dict(phrases),
        number_words=numbers,
        bedtime=_bedtime(r, top["bedtime"]),
        pregnancy_end=(
            r.sourced(after["pregnancy_end"], "aftercare.pregnancy_end")
            if "pregnancy_end" in after
            else None
        ),
        pregnancy_end_alone=(
            r.sourced(after["pregnancy_end_alone"], "aftercare.pregnancy_end_alone")
            if "pregnancy_end_alone" in after
            else None
        ),
    )
    for where, text in content.spoken_texts():
        if re.search(r"\d", text):
            # A number is written once, in `numbers`, and spoken through a placeholder.
            file = s if where.startswith("phrases.") else r
            raise file.fail(where, "spoken text must not contain digits (use `numbers`)")
    return content


def _bedtime(r: _Reader, value: Any) -> Bedtime:
    where = "bedtime"
    data = r.obj(
        value, where, {"name", "intro", "caution", "steps", "closing", "offer", "reminder_text"}
    )
    steps = r.steps(data["steps"], f"{where}.steps")
    for i, st in enumerate(steps):
        if st.phase not in ("setup", "stretch") or st.ask or st.when or st.position_first:
            raise r.fail(f"{where}.steps[{i}]", "a plain setup or counted stretch step")
        if st.hold is not None and not st.beats:
            raise r.fail(f"{where}.steps[{i}].beats", "holds and rests are counted as beats")
    muscle = Muscle(
        id=BEDTIME,
        name=r.text(data["name"], f"{where}.name"),
        leg=False,
        partner=steps,
        alone=steps,
        gentle=(),
        caution=r.sourced(data["caution"], f"{where}.caution"),
        pregnancy=None,
        red_flags=(),
    )
    return Bedtime(
        muscle=muscle,
        intro=r.sourced(data["intro"], f"{where}.intro"),
        closing=r.sourced(data["closing"], f"{where}.closing"),
        offer=r.sourced(data["offer"], f"{where}.offer"),
        reminder_text=r.sourced(data["reminder_text"], f"{where}.reminder_text"),
    )


def _check(r: _Reader, value: Any, where: str, red_flags: dict[str, RedFlag]) -> Check:
    data = r.obj(value, where, {"text", "source", "flag"})
    if len(str(data["text"]).split()) > MAX_STEP_WORDS:
        raise r.fail(f"{where}.text", f"at most {MAX_STEP_WORDS} words fit one breath")
    if data["flag"] not in red_flags:
        raise r.fail(f"{where}.flag", f"unknown red flag {data['flag']!r}")
    if not red_flags[data["flag"]].stops_routine:
        raise r.fail(f"{where}.flag", "a yes to the leg check must stop the steps")
    return Check(
        r.text(data["text"], f"{where}.text"),
        r.text(data["source"], f"{where}.source"),
        data["flag"],
    )


def _symptom_model(
    documents: tuple[Any, Any, str] | None,
    red_flags: dict[str, RedFlag],
    muscles: dict[str, Muscle],
    phrases: dict[str, str],
    places: set[str],
) -> SymptomModel:
    base, additions, file = documents or read_symptom_files(CONTENT_DIR / BASE_LANGUAGE, None)
    try:
        return parse_symptom_model(base, additions, file, red_flags, muscles, phrases, places)
    except SymptomModelError as err:
        raise ContentError(str(err)) from err


def _phone_numbers(r: _Reader, value: Any, sources: dict[str, Any]) -> dict[str, PhoneNumber]:
    table = r.obj(value, "numbers", {"emergency", "urgent"}, NUMBER_KINDS)
    out: dict[str, PhoneNumber] = {}
    for kind, raw in table.items():
        if raw is None:
            continue
        where = f"numbers.{kind}"
        data = r.obj(raw, where, {"digits", "spoken", "source"}, {"name"})
        digits = r.text(data["digits"], f"{where}.digits")
        if not digits.replace(" ", "").isdigit():
            raise r.fail(f"{where}.digits", "expected the digits to dial")
        source = r.text(data["source"], f"{where}.source")
        if source not in sources:
            raise r.fail(f"{where}.source", f"unknown source {source!r} (add it to sources)")
        spoken = r.text(data["spoken"], f"{where}.spoken")
        if re.sub(r"\D", "", spoken) not in ("", digits.replace(" ", "")):
            raise r.fail(f"{where}.spoken", f"speaks other digits than {digits!r}")
        name = r.text(data["name"], f"{where}.name") if "name" in data else None
        out[kind] = PhoneNumber(kind, name, digits, spoken, source)
    if "emergency" not in out and table.get("urgent") is not None:
        raise r.fail("numbers.urgent", "a locale with an urgent line needs its emergency number")
    return out


def number_fields(text: str) -> set[str]:
    """The phone-number placeholders a phrase uses ({emergency_spoken}, {urgent_name}, ...)."""
    return {
        name
        for _, name, _, _ in string.Formatter().parse(text)
        if name and name.split("_")[0] in NUMBER_KINDS
    }


def _sentences(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _check_number_phrases(
    s: _Reader, phrases: dict[str, Any], numbers: dict[str, PhoneNumber]
) -> None:
    """Every phone placeholder is known, and every known number is actually spoken."""
    available: set[str] = set()
    for kind, number in numbers.items():
        available.add(f"{kind}_spoken")
        if number.name:
            available.add(f"{kind}_name")
    for key, text in phrases.items():
        if key in COUNTRY_TEMPLATES:
            continue  # filled by a country's numbers (Content.for_country), tested per country
        for _, name, _, _ in string.Formatter().parse(text):
            if name and name.split("_")[0] in NUMBER_KINDS and name not in available:
                raise s.fail(key, f"uses {{{name}}} but this locale's numbers do not have it")
    for kind, key in NUMBER_PHRASES.items():
        if key not in phrases:
            raise s.fail(key, "missing: every locale says its emergency and urgent numbers")
        if kind in numbers and f"{{{kind}_spoken}}" not in phrases[key]:
            raise s.fail(key, f"must speak the number through {{{kind}_spoken}}")
    for kind in numbers:
        if kind not in NUMBER_PHRASES and not any(
            f"{{{kind}_spoken}}" in text for text in phrases.values()
        ):
            raise s.fail("top level", f"no phrase speaks numbers.{kind}")


def parse_content(protocols: Any, phrases: Any, name: str = BASE_LANGUAGE) -> Content:
    """Validate already-decoded documents (used by tests to check broken variants)."""
    return _parse(protocols, phrases, Path(f"{name}/protocols.json"), Path(f"{name}/phrases.json"))


def _read(file: Path, required: bool) -> Any:
    if not file.is_file():
        if required:
            raise ContentError(f"{file.parent.name}/{file.name}: missing")
        return {}
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ContentError(f"{file.parent.name}/{file.name}: not valid JSON: {err}") from err


def overlay(base: Any, over: Any, file: str, where: str = "") -> Any:
    """``over`` laid on ``base`` key by key; lists of objects merge by their ``id``.

    Raises ContentError naming ``file`` and the path for a key the base does not have
    (outside the open tables) or a change to structure rather than wording.
    """
    here = where or "top level"
    if isinstance(over, dict):
        if not isinstance(base, dict):
            raise ContentError(f"{file}: {here}: the base has no object here")
        merged = dict(base)
        top = where.split(".")[0].split("[")[0]
        for key, value in over.items():
            path = f"{where}.{key}" if where else key
            if key not in base:
                if top in OPEN_TABLES:
                    merged[key] = value
                    continue
                raise ContentError(f"{file}: {path}: unknown key (not in the base content)")
            if key in FIXED_KEYS and value != base[key]:
                raise ContentError(f"{file}: {path}: an overlay may not change {key!r}")
            if top in OPEN_TABLES and (value is None or base[key] is None):
                merged[key] = value
                continue
            merged[key] = overlay(base[key], value, file, path)
        return merged
    if isinstance(over, list):
        if not isinstance(base, list) or not all(
            isinstance(item, dict) and "id" in item for item in [*base, *over]
        ):
            raise ContentError(
                f"{file}: {here}: only lists of items with an id can be overlaid (by id)"
            )
        index = {item["id"]: i for i, item in enumerate(base)}
        merged_list = list(base)
        for item in over:
            if item["id"] not in index:
                raise ContentError(f"{file}: {here}[id={item['id']}]: no such id in the base")
            i = index[item["id"]]
            merged_list[i] = overlay(base[i], item, file, f"{here}[id={item['id']}]")
        return merged_list
    if isinstance(over, str) and isinstance(base, str):
        return over
    raise ContentError(f"{file}: {here}: an overlay may only change wording (text)")


def _language(locale: str) -> str:
    return locale.split("-")[0]


def available_locales() -> list[str]:
    """Every locale the skill has (``en-GB``, ...): a folder overlaid on its language base."""
    return list(_locales_in(CONTENT_DIR))


@cache
def _locales_in(content_dir: Path) -> tuple[str, ...]:
    # Read once per process: every request resolves its locale, and must not list a folder.
    return tuple(
        sorted(
            p.name
            for p in content_dir.iterdir()
            if p.is_dir()
            and "-" in p.name
            and (content_dir / _language(p.name) / "protocols.json").is_file()
            and ((p / "protocols.json").is_file() or (p / "phrases.json").is_file())
        )
    )


def resolve_locale(locale: object) -> str:
    """The content folder for a request's locale: itself, else the English base.

    Never raises: a locale the skill does not have (en-NZ, fr-FR, garbage) gets the base
    content, which names no phone number ("your local emergency number").
    """
    if not isinstance(locale, str):
        return BASE_LANGUAGE
    wanted = locale.strip().replace("_", "-").lower()
    for known in _locales_in(CONTENT_DIR):
        if known.lower() == wanted:
            return known
    return BASE_LANGUAGE


def merged_documents(folder_name: str) -> tuple[Any, Any, Path, Path]:
    """(protocols, phrases, protocols file, phrases file) of a content folder, overlaid on
    its language base; not yet validated."""
    language = _language(folder_name)
    base_dir = CONTENT_DIR / language
    protocols = _read(base_dir / "protocols.json", required=True)
    phrases = _read(base_dir / "phrases.json", required=True)
    pfile, sfile = base_dir / "protocols.json", base_dir / "phrases.json"
    if folder_name != language:
        folder = CONTENT_DIR / folder_name
        pfile, sfile = folder / "protocols.json", folder / "phrases.json"
        protocols = overlay(protocols, _read(pfile, False), f"{folder_name}/{pfile.name}")
        phrases = overlay(phrases, _read(sfile, False), f"{folder_name}/{sfile.name}")
    return protocols, phrases, pfile, sfile


@cache
def _load(folder_name: str) -> Content:
    protocols, phrases, pfile, sfile = merged_documents(folder_name)
    language = _language(folder_name)
    locale_dir = CONTENT_DIR / folder_name if folder_name != language else None
    symptoms = read_symptom_files(CONTENT_DIR / language, locale_dir)
    content = _parse(protocols, phrases, pfile, sfile, symptoms)
    if content.locale != folder_name:
        raise ContentError(f"{folder_name}/{pfile.name}: locale: must be {folder_name!r}")
    from cramp_coach.content.countries import load_countries  # it imports this module

    table = load_countries()
    base = _read(CONTENT_DIR / language / "phrases.json", required=True)
    number_free = {
        key: base[key]
        for key, text in content.phrases.items()
        if number_fields(text) and isinstance(base.get(key), str) and not number_fields(base[key])
    }
    return replace(
        content,
        home=table.homes.get(folder_name),
        countries=table.countries,
        number_free=number_free,
    )


def load_content(locale: object = "en-US") -> Content:
    """One locale's content (falling back to its language base); cached per content folder.

    Never raises for an unknown locale (see `resolve_locale`); a broken content file still
    raises ContentError, naming the file and the place.
    """
    return _load(resolve_locale(locale))


def validate_all() -> dict[str, Content]:
    """Load the base and every locale: what tests and CI run to catch a bad edit."""
    return {name: _load(name) for name in [BASE_LANGUAGE, *available_locales()]}
