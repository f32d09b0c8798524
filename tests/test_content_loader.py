"""The content loader rejects broken content files with a message that says where."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from cramp_coach.content import CONTENT_DIR, ContentError, available_locales, parse_content


def _docs() -> tuple[dict[str, Any], dict[str, Any]]:
    folder = CONTENT_DIR / "en"
    return (
        json.loads((folder / "protocols.json").read_text()),
        json.loads((folder / "phrases.json").read_text()),
    )


def _breaks(mutate: Any, message: str) -> None:
    protocols, phrases = _docs()
    broken = copy.deepcopy(protocols)
    mutate(broken)
    with pytest.raises(ContentError, match=message):
        parse_content(broken, phrases)


def test_the_shipped_content_loads() -> None:
    protocols, phrases = _docs()
    content = parse_content(protocols, phrases)
    assert len(content.muscles) == 9
    assert available_locales() == ["en-AU", "en-CA", "en-GB", "en-IN", "en-US"]


def test_the_shared_language_documents_stay_as_read() -> None:
    """Every locale is laid over the same parsed en/ documents (read once per process): loading
    them all, and the export, must leave those documents as the files say."""
    from cramp_coach.content import __main__ as content_main
    from cramp_coach.content import _load, validate_all
    from cramp_coach.content.schema import language_document

    _load.cache_clear()
    validate_all()
    content_main.export()
    for name in ("protocols.json", "phrases.json", "symptoms.json"):
        file = CONTENT_DIR / "en" / name
        assert language_document(file) == json.loads(file.read_text(encoding="utf-8")), name


def test_unknown_key_is_named() -> None:
    _breaks(lambda d: d["muscles"]["CALF"].update(colour="red"), r"muscles.CALF: unknown key")


def test_missing_steps_are_named() -> None:
    _breaks(lambda d: d["muscles"]["NECK"].update(alone=[]), r"muscles.NECK.alone")


def test_missing_muscle_is_named() -> None:
    _breaks(lambda d: d["muscles"].pop("SHIN"), r"missing key\(s\) \['SHIN'\]")


def test_hold_must_be_a_number() -> None:
    _breaks(
        lambda d: d["muscles"]["CALF"]["partner"][4].update(hold="thirty"),
        r"CALF.partner\[4\].hold",
    )


def test_a_step_over_thirty_words_is_too_long_to_say() -> None:
    _breaks(lambda d: d["muscles"]["CALF"]["partner"][0].update(text="word " * 31), r"31 words")


def test_unknown_red_flag_reference() -> None:
    _breaks(lambda d: d["out_of_scope"].update(CHEST="RF_NOPE"), r"unknown red flag")


def test_level_must_be_known() -> None:
    _breaks(lambda d: d["red_flags"]["RF_PE"].update(level="mild"), r"RF_PE.level")


def test_markup_characters_are_refused_in_spoken_text() -> None:
    _breaks(lambda d: d["muscles"]["CALF"]["alone"][0].update(text="Sit & stretch"), r"'&'")


@pytest.mark.parametrize("locale", ["xx-XX", "en-NZ", "en-ZA", "fr-FR", "", "en-", "../en-GB"])
def test_a_locale_the_skill_does_not_have_gets_the_base_without_numbers(locale: str) -> None:
    from cramp_coach.content import load_content

    content = load_content(locale)
    assert content.locale == "en"
    assert content.phone_numbers == {}
    assert content.phrase("emergency_number") == "Use your local emergency number."


def test_a_digit_in_spoken_text_is_refused() -> None:
    _breaks(
        lambda d: d["red_flags"]["RF_PE"].update(script="Call 999 now."),
        r"red_flags.RF_PE.script: spoken text must not contain digits",
    )


def test_a_number_needs_a_listed_source() -> None:
    number = {"digits": "999", "spoken": "9 9 9", "source": "NOPE"}
    _breaks(lambda d: d["numbers"].update(emergency=number), r"numbers.emergency.source")


def test_a_known_number_must_be_spoken_by_its_phrase() -> None:
    protocols, phrases = _docs()
    protocols["numbers"]["emergency"] = {"digits": "999", "spoken": "9 9 9", "source": "NHS"}
    with pytest.raises(ContentError, match=r"emergency_number: must speak the number"):
        parse_content(protocols, phrases)


def test_a_placeholder_without_its_number_is_refused() -> None:
    protocols, phrases = _docs()
    phrases["urgent_number"] = "Call the line on {urgent_spoken}."
    with pytest.raises(ContentError, match=r"phrases.json: urgent_number: uses \{urgent_spoken\}"):
        parse_content(protocols, phrases)
