"""Holds counted aloud: the arithmetic a listener relies on."""

from __future__ import annotations

import re

import pytest

from cramp_coach.core.speech import countdown, duration_words, number_words, wrap_voice


def _break_seconds(ssml: str) -> list[float]:
    return [int(ms) / 1000 for ms in re.findall(r'<break time="(\d+)ms"/>', ssml)]


@pytest.mark.parametrize("seconds", [2, 5, 10, 20, 25, 30, 45, 60])
def test_breaks_add_up_to_the_hold_and_never_exceed_ten_seconds(seconds: int) -> None:
    ssml = countdown(seconds)
    breaks = _break_seconds(ssml)
    assert all(b <= 10 for b in breaks)
    # The final "five, four, three, two, one" is spoken, so breaks cover the rest.
    expected = seconds if seconds <= 5 else seconds - 5
    assert sum(breaks) == expected


def test_thirty_seconds_names_each_ten_second_mark() -> None:
    text = re.sub(r"<[^>]+>", "|", countdown(30))
    assert text.split("|") == [
        "Hold for thirty seconds, starting now. ",
        " Twenty left. ",
        " Ten left. ",
        " Five, four, three, two, one. And ease off.",
    ]


def test_the_words_follow_what_the_hands_do() -> None:
    assert countdown(60, "massage").startswith("Keep rubbing for one minute")
    assert countdown(30, "care").startswith("Keep that up for thirty seconds")
    assert countdown(30, announced=True).startswith("Starting now.")


def test_long_holds_are_spoken_as_a_duration_not_waited_out() -> None:
    assert countdown(1200) == "Keep that going for up to twenty minutes."
    assert _break_seconds(countdown(180)) == []


def test_number_words() -> None:
    assert [number_words(n) for n in (1, 20, 25, 45)] == [
        "one",
        "twenty",
        "twenty-five",
        "forty-five",
    ]
    assert duration_words(1) == "one second" and duration_words(300) == "five minutes"


def test_night_voice() -> None:
    assert wrap_voice("Hi.", None) == '<prosody volume="soft">Hi.</prosody>'
    assert wrap_voice("Hi.", True) == '<prosody volume="x-soft">Hi.</prosody>'
    assert wrap_voice("Hi.", False) == "Hi."
