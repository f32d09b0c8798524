"""Reading the content files: typed values out of JSON, each error naming the file and the place."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cramp_coach.content.schema import (
    _CHOICE_WORD,
    BASE_LANGUAGE,
    BEDTIME,
    CHOICE_PARTS,
    CONTENT_DIR,
    COUNTRY_TEMPLATES,
    MAX_STEP_WORDS,
    NUMBER_KINDS,
    NUMBER_PHRASES,
    PHASES,
    Beat,
    Bedtime,
    Check,
    ContentError,
    Muscle,
    PhoneNumber,
    RedFlag,
    Sourced,
    Step,
)
from cramp_coach.content.symptoms import (
    SymptomModel,
    SymptomModelError,
    parse_symptom_model,
    read_symptom_files,
)


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
