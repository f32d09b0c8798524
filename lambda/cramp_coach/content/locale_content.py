"""`Content`: everything one locale's skill says, and how its phrases are filled.

Phone numbers are written once, in the locale's `numbers`; phrases speak them through
placeholders (`phrase()`), and a view for another country (`for_country`) changes only the
numbers and the country's name.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import TYPE_CHECKING

import msgspec
from msgspec.structs import replace

from cramp_coach.content.schema import (
    BEDTIME,
    COUNTRY_TEMPLATES,
    NUMBER_KINDS,
    NUMBER_PHRASES,
    TOP_SOURCED,
    Bedtime,
    Muscle,
    PhoneNumber,
    RedFlag,
    Sourced,
    Step,
    Vague,
)
from cramp_coach.content.symptoms import (
    SymptomModel,
)

if TYPE_CHECKING:
    from cramp_coach.content.countries import Country


class Content(msgspec.Struct, frozen=True):
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
    countries: dict[str, Country] = msgspec.field(default_factory=dict)  # the country table
    # The base language's wording of each phrase that speaks a number: what a country
    # without that kind of number hears instead (the base names no number).
    number_free: dict[str, str] = msgspec.field(default_factory=dict)
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
        for name in TOP_SOURCED:
            yield name, getattr(self, name).text
        for key, text in self.phrases.items():
            yield f"phrases.{key}", text
        for n, word in self.number_words.items():
            yield f"phrases.number_words.{n}", word

    def aftercare_for(self, muscle_id: str | None) -> tuple[Step, ...]:
        is_leg = muscle_id is None or self.muscles[muscle_id].leg
        return tuple(s for s in self.aftercare if is_leg or not s.legs_only)


def number_fields(text: str) -> set[str]:
    """The phone-number placeholders a phrase uses ({emergency_spoken}, {urgent_name}, ...)."""
    return {
        name
        for _, name, _, _ in string.Formatter().parse(text)
        if name and name.split("_")[0] in NUMBER_KINDS
    }


def _sentences(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)
