"""Every locale's content: complete, validated, the same medicine as the base, its own numbers.

The base (content/en) is checked against PROTOCOLS.md in tests/test_content_data.py; here
each overlay is held to it: same routines, steps, holds, red flags and source tags, only
wording and phone numbers differ, and no locale ever speaks another locale's number.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from cramp_coach.content import (
    CONTENT_DIR,
    Content,
    ContentError,
    available_locales,
    load_content,
    overlay,
    validate_all,
)

LOCALES = ["en-AU", "en-CA", "en-GB", "en-IN", "en-US"]
EXPECTED_NUMBERS = {
    "en-US": ("911", None),
    "en-CA": ("911", "811"),
    "en-GB": ("999", "111"),
    "en-AU": ("000", "1800 633 422"),
    "en-IN": ("112", None),
}


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "X"


def filled(content: Content, text: str) -> str:
    """A phrase as spoken: phone placeholders filled, the others (step, name) blanked."""
    return string.Formatter().vformat(text, (), _Blank(content.number_values()))


def spoken(content: Content) -> Iterator[tuple[str, str]]:
    for where, text in content.spoken_texts():
        yield where, filled(content, text)


def number_forms(content: Content) -> set[str]:
    forms: set[str] = set()
    for number in content.phone_numbers.values():
        forms |= {number.digits, number.spoken}
    return forms


def test_every_locale_is_listed_and_loads() -> None:
    assert available_locales() == LOCALES
    loaded = validate_all()
    assert sorted(loaded) == ["en", *LOCALES]
    for locale in LOCALES:
        assert loaded[locale].locale == locale


@pytest.mark.parametrize("locale", LOCALES)
def test_the_locale_has_its_own_numbers_with_sources(locale: str) -> None:
    content = load_content(locale)
    emergency, urgent = EXPECTED_NUMBERS[locale]
    assert content.emergency is not None and content.emergency.digits == emergency
    assert (content.urgent.digits if content.urgent else None) == urgent
    for number in content.phone_numbers.values():
        assert content.sources[number.source].startswith("http"), number


@pytest.mark.parametrize("locale", LOCALES)
def test_the_number_phrases_speak_the_numbers(locale: str) -> None:
    content = load_content(locale)
    assert content.emergency is not None
    assert content.emergency.spoken in content.phrase("emergency_number")
    urgent_words = content.phrase("urgent_number")
    if content.urgent is not None:
        assert content.urgent.spoken in urgent_words
    else:
        assert not re.search(r"\d", urgent_words)


@pytest.mark.parametrize("locale", LOCALES)
def test_no_spoken_string_names_a_number_but_the_locales_own(locale: str) -> None:
    content = load_content(locale)
    own = sorted(number_forms(content), key=len, reverse=True)
    others = set().union(*(number_forms(load_content(o)) for o in LOCALES)) - set(own)
    for where, text in spoken(content):
        rest = text
        for form in own:
            rest = rest.replace(form, " ")
        assert not re.search(r"\d", rest), (where, text)
        for other in others:
            # "triple zero" or "9 1 1" in a locale that does not have it
            assert other not in text, (where, other)


def test_the_base_names_no_number_at_all() -> None:
    base = load_content("xx-XX")
    assert base.locale == "en" and base.phone_numbers == {}
    for where, text in spoken(base):
        assert not re.search(r"\d", text), where
        assert "triple zero" not in text, where
    assert "your local emergency number" in base.phrase("emergency_number")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_medicine_is_the_bases(locale: str) -> None:
    """Same routines, step ids, holds, phases, sources, red flags and levels as the base."""
    base, content = load_content("en"), load_content(locale)
    assert set(content.muscles) == set(base.muscles)
    for mid, muscle in base.muscles.items():
        theirs = content.muscles[mid]
        assert theirs.red_flags == muscle.red_flags, mid
        for variant in ("partner", "alone", "gentle"):
            mine = [
                (s.id, s.hold, s.phase, s.source, s.beats and len(s.beats))
                for s in getattr(muscle, variant)
            ]
            other = [
                (s.id, s.hold, s.phase, s.source, s.beats and len(s.beats))
                for s in getattr(theirs, variant)
            ]
            assert other == mine, (mid, variant)
    assert [(s.id, s.hold, s.source) for s in content.aftercare] == [
        (s.id, s.hold, s.source) for s in base.aftercare
    ]
    assert {k: (f.level, f.source) for k, f in content.red_flags.items()} == {
        k: (f.level, f.source) for k, f in base.red_flags.items()
    }
    assert content.out_of_scope == base.out_of_scope
    assert set(base.sources) <= set(content.sources)


@pytest.mark.parametrize("locale", LOCALES)
def test_red_flags_are_never_weakened(locale: str) -> None:
    content = load_content(locale)
    for rf in content.red_flags.values():
        if rf.level == "emergency":
            # The turn opens with the call and the locale's own number (Speaker.advice).
            assert rf.call is not None, (locale, rf.id)
            call = content.phrase(rf.call)
            assert call.startswith("Call ") and content.emergency is not None, (locale, rf.id)
            assert content.emergency.spoken in call, (locale, rf.id)


@pytest.mark.parametrize("locale", LOCALES)
def test_overlays_hold_only_what_differs(locale: str) -> None:
    base = json.loads((CONTENT_DIR / "en" / "protocols.json").read_text(encoding="utf-8"))
    over = json.loads((CONTENT_DIR / locale / "protocols.json").read_text(encoding="utf-8"))
    assert len(json.dumps(over)) < len(json.dumps(base)) / 4
    base_phrases = json.loads((CONTENT_DIR / "en" / "phrases.json").read_text(encoding="utf-8"))
    phrases_file = CONTENT_DIR / locale / "phrases.json"
    over_phrases = json.loads(phrases_file.read_text(encoding="utf-8"))
    for key, text in over_phrases.items():
        assert base_phrases[key] != text, f"{locale}/phrases.json: {key} repeats the base"


def test_british_words_where_they_belong() -> None:
    gb = load_content("en-GB")
    assert "A and E" in gb.phrase("call_emergency_or_ed")
    assert "GP" in gb.red_flags["RF_FREQ"].script
    assert "towards" in gb.muscles["CALF"].partner[2].text
    assert "Painkillers" in gb.reassurance.text
    assert "NHS 111" in gb.phrase("urgent_number") or "1 1 1" in gb.phrase("urgent_number")
    assert "toward " in load_content("en-US").muscles["CALF"].partner[2].text


# --- the overlay rules ---------------------------------------------------------------------


def test_an_unknown_key_in_an_overlay_names_the_file_and_path() -> None:
    with pytest.raises(ContentError, match=r"en-GB/protocols.json: muscles.CALF.colour: unknown"):
        overlay(
            {"muscles": {"CALF": {"name": "calf"}}},
            {"muscles": {"CALF": {"colour": "red"}}},
            "en-GB/protocols.json",
        )


def test_steps_merge_by_id_and_an_unknown_id_is_named() -> None:
    base = {"steps": [{"id": "1", "text": "a", "hold": 5}, {"id": "2", "text": "b", "hold": None}]}
    merged = overlay(base, {"steps": [{"id": "2", "text": "B"}]}, "x")
    assert merged == {
        "steps": [{"id": "1", "text": "a", "hold": 5}, {"id": "2", "text": "B", "hold": None}]
    }
    with pytest.raises(ContentError, match=r"x: steps\[id=9\]: no such id"):
        overlay(base, {"steps": [{"id": "9", "text": "c"}]}, "x")


@pytest.mark.parametrize(
    ("over", "problem"),
    [
        ({"steps": [{"id": "1", "hold": 60}]}, r"may not change 'hold'"),
        ({"steps": [{"id": "1", "source": "DESIGN"}]}, r"may not change 'source'"),
        ({"rf": {"level": "routine"}}, r"may not change 'level'"),
        ({"flags": ["RF_DVT"]}, r"only lists of items with an id"),
        ({"steps": [{"id": "1", "text": 3}]}, r"may only change wording"),
    ],
)
def test_an_overlay_changes_wording_never_the_medicine(
    over: dict[str, object], problem: str
) -> None:
    base = {
        "steps": [{"id": "1", "text": "a", "hold": 5, "source": "NHS"}],
        "rf": {"level": "emergency"},
        "flags": ["RF_PE"],
    }
    with pytest.raises(ContentError, match=problem):
        overlay(base, over, "en-GB/protocols.json")


def test_a_broken_overlay_file_fails_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import cramp_coach.content as content_module

    shutil.copytree(CONTENT_DIR / "en", tmp_path / "en")
    (tmp_path / "en-GB").mkdir()
    (tmp_path / "en-GB" / "protocols.json").write_text(
        json.dumps({"red_flags": {"RF_PE": {"level": "urgent"}}}), encoding="utf-8"
    )
    monkeypatch.setattr(content_module, "CONTENT_DIR", tmp_path)
    content_module._load.cache_clear()
    try:
        assert content_module.available_locales() == ["en-GB"]
        with pytest.raises(ContentError, match=r"en-GB/protocols.json: red_flags.RF_PE.level"):
            content_module.validate_all()
    finally:
        content_module._load.cache_clear()


def test_an_overlay_must_name_its_own_locale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import cramp_coach.content as content_module

    shutil.copytree(CONTENT_DIR / "en", tmp_path / "en")
    shutil.copytree(CONTENT_DIR / "en-GB", tmp_path / "en-GB")
    protocols = json.loads((tmp_path / "en-GB" / "protocols.json").read_text(encoding="utf-8"))
    protocols["locale"] = "en-US"
    (tmp_path / "en-GB" / "protocols.json").write_text(json.dumps(protocols), encoding="utf-8")
    monkeypatch.setattr(content_module, "CONTENT_DIR", tmp_path)
    content_module._load.cache_clear()
    try:
        with pytest.raises(ContentError, match=r"en-GB/protocols.json: locale: must be 'en-GB'"):
            content_module.validate_all()
    finally:
        content_module._load.cache_clear()
