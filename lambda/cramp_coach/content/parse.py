"""One locale's merged documents (protocols.json and phrases.json) -> `Content`, validated."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cramp_coach.content.locale_content import Content
from cramp_coach.content.reader import (
    _bedtime,
    _check,
    _check_number_phrases,
    _phone_numbers,
    _Reader,
    _symptom_model,
)
from cramp_coach.content.schema import (
    BASE_LANGUAGE,
    CALL_PHRASE,
    FLAG_TEXTS,
    LEVELS,
    ROUTINE_MUSCLES,
    TOP_SOURCED,
    Muscle,
    RedFlag,
    Vague,
)


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
            "bedtime",
            *TOP_SOURCED,
        },
    )
    red_flags: dict[str, RedFlag] = {}
    for rf_id, raw in r.obj(top["red_flags"], "red_flags", set(), set(top["red_flags"])).items():
        data = r.obj(raw, f"red_flags.{rf_id}", {"level", "trigger", "script", "source"}, {"call"})
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
        if (
            rf.call is not None
            and phone_numbers.get("emergency")
            and ("{emergency_spoken}" not in phrases[rf.call])
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
    digit = re.compile(r"\d").search  # once, not a cache lookup for each of ~900 texts
    for where, text in content.spoken_texts():
        if digit(text):
            # A number is written once, in `numbers`, and spoken through a placeholder.
            file = s if where.startswith("phrases.") else r
            raise file.fail(where, "spoken text must not contain digits (use `numbers`)")
    return content


def parse_content(protocols: Any, phrases: Any, name: str = BASE_LANGUAGE) -> Content:
    """Validate already-decoded documents (used by tests to check broken variants)."""
    return _parse(protocols, phrases, Path(f"{name}/protocols.json"), Path(f"{name}/phrases.json"))
