"""Load and validate the per-locale content files into frozen dataclasses.

The medical content (``<locale>/protocols.json``) and the skill's own phrases
(``<locale>/phrases.json``) are data, so a bad edit must fail loudly at load time
with a message that names the file and the place, never halfway through a night.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

CONTENT_DIR = Path(__file__).parent
MAX_STEP_WORDS = 30
PHASES = ("setup", "stretch", "massage", "care")
LEVELS = ("emergency", "urgent", "routine")
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

    @property
    def stops_routine(self) -> bool:
        # PROTOCOLS section 4: any E or U trigger stops the protocol; R advice does not.
        return self.level != "routine"


@dataclass(frozen=True)
class SafetyRule:
    """Words that point at a red flag or flag, optionally only with some muscles or flags."""

    terms: tuple[str, ...]  # lower case; a trailing * matches any ending
    target: str  # a red-flag id, a context flag, ASK (the safety question) or IGNORE
    muscles: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SafetyNet:
    negations: frozenset[str]
    rules: tuple[SafetyRule, ...]


CONTEXT_FLAGS = ("PREGNANT", "CHILD", "EXERCISE_HEAT")
FLAG_TEXTS = ("PREGNANT", "PREGNANT_ALONE", "CHILD", "EXERCISE_HEAT")


@dataclass(frozen=True)
class Content:
    locale: str
    emergency_number: str
    sources: dict[str, str]
    muscles: dict[str, Muscle]
    vague: dict[str, Vague]
    out_of_scope: dict[str, str]
    aftercare: tuple[Step, ...]
    reassurance: Sourced
    prevention: tuple[Sourced, ...]
    red_flags: dict[str, RedFlag]
    flags: dict[str, Sourced]
    opening: Sourced
    safety_check: Sourced
    closing_after_red_flag: Sourced
    gentle_stop: Sourced
    doctor_advice: Sourced
    hold_advice: Sourced
    safety_net: SafetyNet
    phrases: dict[str, str]
    numbers: dict[int, str]  # number words for counts and durations ("thirty")

    def phrase(self, key: str, **values: object) -> str:
        """A phrase from phrases.json with ``{name}`` placeholders filled."""
        return self.phrases[key].format(**values)

    def aftercare_for(self, muscle_id: str | None) -> tuple[Step, ...]:
        is_leg = muscle_id is None or self.muscles[muscle_id].leg
        return tuple(s for s in self.aftercare if is_leg or not s.legs_only)


class _Reader:
    """Walks a JSON document and raises ContentError naming the exact path."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, where: str, problem: str) -> ContentError:
        return ContentError(f"{self.file.name}: {where}: {problem}")

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

    def step(self, value: Any, where: str, allow_legs_only: bool = False) -> Step:
        optional = {"position_first", "beats"} | ({"legs_only"} if allow_legs_only else set())
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
        return Step(
            id=self.text(data["id"], f"{where}.id"),
            text=text,
            hold=hold,
            phase=data["phase"],
            source=self.text(data["source"], f"{where}.source"),
            legs_only=legs_only,
            position_first=position_first,
            beats=beats,
        )

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
        return tuple(self.step(v, f"{where}[{i}]", legs_only) for i, v in enumerate(value))


def _parse(protocols: Any, phrases: Any, pfile: Path, sfile: Path) -> Content:
    r = _Reader(pfile)
    top = r.obj(
        protocols,
        "top level",
        {
            "locale",
            "emergency_number",
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
            "safety_net",
        },
    )
    red_flags: dict[str, RedFlag] = {}
    for rf_id, raw in r.obj(top["red_flags"], "red_flags", set(), set(top["red_flags"])).items():
        data = r.obj(raw, f"red_flags.{rf_id}", {"level", "trigger", "script", "source"})
        if data["level"] not in LEVELS:
            raise r.fail(f"red_flags.{rf_id}.level", f"must be one of {LEVELS}")
        red_flags[rf_id] = RedFlag(
            rf_id,
            data["level"],
            r.text(data["trigger"], f"red_flags.{rf_id}.trigger"),
            r.text(data["script"], f"red_flags.{rf_id}.script"),
            r.text(data["source"], f"red_flags.{rf_id}.source"),
        )

    muscles: dict[str, Muscle] = {}
    raw_muscles = r.obj(top["muscles"], "muscles", set(ROUTINE_MUSCLES))
    for mid, raw in raw_muscles.items():
        where = f"muscles.{mid}"
        data = r.obj(
            raw,
            where,
            {"name", "leg", "partner", "alone", "red_flags"},
            {"gentle", "caution", "pregnancy"},
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

    after = r.obj(top["aftercare"], "aftercare", {"steps", "reassurance"})
    flags = {
        fid: r.sourced(raw, f"flags.{fid}")
        for fid, raw in r.obj(top["flags"], "flags", set(FLAG_TEXTS)).items()
    }
    places = {*muscles, *vague, *out_of_scope}
    safety_net = _safety_net(r, top["safety_net"], set(red_flags), places)
    sources = r.obj(top["sources"], "sources", set(), set(top["sources"]))

    s = _Reader(sfile)
    if not isinstance(phrases, dict):
        raise s.fail("top level", "expected an object of phrase strings")
    phrases = dict(phrases)
    numbers_doc = phrases.pop("numbers", {})
    raw_numbers = s.obj(numbers_doc, "numbers", set(), set(numbers_doc or ()))
    numbers: dict[int, str] = {}
    for digits, word in raw_numbers.items():
        if not digits.isdigit():
            raise s.fail(f"numbers.{digits}", "keys are numbers written in digits")
        numbers[int(digits)] = s.text(word, f"numbers.{digits}")
    for key, value in phrases.items():
        s.text(value, key)

    return Content(
        locale=r.text(top["locale"], "locale"),
        emergency_number=r.text(top["emergency_number"], "emergency_number"),
        sources=dict(sources),
        muscles=muscles,
        vague=vague,
        out_of_scope=dict(out_of_scope),
        aftercare=r.steps(after["steps"], "aftercare.steps", legs_only=True),
        reassurance=r.sourced(after["reassurance"], "aftercare.reassurance"),
        prevention=tuple(r.sourced(p, f"prevention[{i}]") for i, p in enumerate(top["prevention"])),
        red_flags=red_flags,
        flags=flags,
        opening=r.sourced(top["opening"], "opening"),
        safety_check=r.sourced(top["safety_check"], "safety_check"),
        closing_after_red_flag=r.sourced(top["closing_after_red_flag"], "closing_after_red_flag"),
        gentle_stop=r.sourced(top["gentle_stop"], "gentle_stop"),
        doctor_advice=r.sourced(top["doctor_advice"], "doctor_advice"),
        hold_advice=r.sourced(top["hold_advice"], "hold_advice"),
        safety_net=safety_net,
        phrases=dict(phrases),
        numbers=numbers,
    )


def _safety_net(r: _Reader, value: Any, red_flags: set[str], places: set[str]) -> SafetyNet:
    data = r.obj(value, "safety_net", {"source", "negations", "rules"})
    r.text(data["source"], "safety_net.source")
    targets = red_flags | set(CONTEXT_FLAGS) | {"ASK", "IGNORE"}
    rules: list[SafetyRule] = []
    for i, raw in enumerate(data["rules"]):
        where = f"safety_net.rules[{i}]"
        rule = r.obj(raw, where, {"terms", "target"}, {"muscles", "flags"})
        if rule["target"] not in targets:
            raise r.fail(f"{where}.target", f"unknown target {rule['target']!r}")
        terms = [r.text(t, f"{where}.terms") for t in rule["terms"]]
        if not terms or any(t != t.lower() for t in terms):
            raise r.fail(f"{where}.terms", "expected a non-empty list of lower-case terms")
        for name, known in (("muscles", places), ("flags", set(CONTEXT_FLAGS))):
            unknown = set(rule.get(name, [])) - known
            if unknown:
                raise r.fail(f"{where}.{name}", f"unknown id(s) {sorted(unknown)}")
        rules.append(
            SafetyRule(
                tuple(terms),
                rule["target"],
                tuple(rule.get("muscles", [])),
                tuple(rule.get("flags", [])),
            )
        )
    negations = frozenset(r.text(n, "safety_net.negations") for n in data["negations"])
    return SafetyNet(negations, tuple(rules))


def parse_content(protocols: Any, phrases: Any, name: str = "en-US") -> Content:
    """Validate already-decoded documents (used by tests to check broken variants)."""
    return _parse(protocols, phrases, Path(f"{name}/protocols.json"), Path(f"{name}/phrases.json"))


@cache
def load_content(locale: str = "en-US") -> Content:
    """Load one locale's content; cached, so a warm Lambda reads the files once."""
    folder = CONTENT_DIR / locale
    pfile, sfile = folder / "protocols.json", folder / "phrases.json"
    if not pfile.is_file():
        raise ContentError(f"no content for locale {locale!r} (looked for {pfile})")
    try:
        protocols = json.loads(pfile.read_text(encoding="utf-8"))
        phrases = json.loads(sfile.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ContentError(f"{locale}: not valid JSON: {err}") from err
    return _parse(protocols, phrases, pfile, sfile)


def available_locales() -> list[str]:
    return sorted(p.name for p in CONTENT_DIR.iterdir() if (p / "protocols.json").is_file())
