"""The content loader rejects broken content files with a message that says where."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from cramp_coach.content import CONTENT_DIR, ContentError, available_locales, parse_content


def _docs() -> tuple[dict[str, Any], dict[str, Any]]:
    folder = CONTENT_DIR / "en-US"
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
    assert available_locales() == ["en-US"]


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


def test_unknown_locale_is_a_clear_error() -> None:
    from cramp_coach.content import load_content

    with pytest.raises(ContentError, match="no content for locale"):
        load_content("xx-XX")
