"""Holds counted aloud: the arithmetic a listener relies on."""

from __future__ import annotations

import re

import pytest

from cramp_coach.content import Beat, load_content
from cramp_coach.core.speech import Voice, hold_plan, wrap_voice

VOICE = Voice(load_content("en-US"))


def _break_seconds(ssml: str) -> list[float]:
    return [int(ms) / 1000 for ms in re.findall(r'<break time="(\d+)ms"/>', ssml)]


@pytest.mark.parametrize("seconds", [2, 5, 10, 20, 25, 30, 45, 60])
def test_breaks_add_up_to_the_hold_and_never_exceed_ten_seconds(seconds: int) -> None:
    ssml = VOICE.countdown(seconds)
    breaks = _break_seconds(ssml)
    assert all(b <= 10 for b in breaks)
    # The final "five, four, three, two, one" is spoken, so breaks cover the rest.
    expected = seconds if seconds <= 5 else seconds - 5
    assert sum(breaks) == expected


@pytest.mark.parametrize("seconds", range(1, 61))
def test_the_plan_is_the_speech(seconds: int) -> None:
    plan = hold_plan(seconds)
    assert plan is not None
    silences = [silence for silence, _ in plan.pauses]
    assert silences == _break_seconds(VOICE.countdown(seconds))
    assert sum(silences) + (5 if plan.spoken_final else 0) == seconds
    assert plan.pauses[-1][1] == (5 if plan.spoken_final else 0)


def test_thirty_seconds_names_each_ten_second_mark() -> None:
    text = re.sub(r"<[^>]+>", "|", VOICE.countdown(30))
    assert text.split("|") == [
        "Hold for thirty seconds, starting now. ",
        " Twenty left. ",
        " Ten left. ",
        " Five, four, three, two, one. And ease off.",
    ]


def test_the_words_follow_what_the_hands_do() -> None:
    assert VOICE.countdown(60, "massage").startswith("Keep rubbing for one minute")
    assert VOICE.countdown(30, "care").startswith("Keep that up for thirty seconds")
    assert VOICE.countdown(30, announced=True).startswith("Starting now.")


def test_long_holds_are_spoken_as_a_duration_not_waited_out() -> None:
    assert VOICE.countdown(1200) == "Keep that going for up to twenty minutes."
    assert _break_seconds(VOICE.countdown(180)) == []
    assert hold_plan(61) is None


def test_a_duration_the_step_already_said_is_not_said_again() -> None:
    text = "Lay a warm towel over the tight area, for up to twenty minutes."
    assert VOICE.announces_duration(text, 1200)
    assert VOICE.countdown(1200, "care", announced=True) == ""
    assert VOICE.announces_duration("If it grips again, repeat the thirty-second stretch.", 30)


def test_beats_count_each_part() -> None:
    ssml = VOICE.beats((Beat("Hug one knee.", 5), Beat("Now the other.", 5)), "stretch")
    assert _break_seconds(ssml) == [5, 5]
    assert ssml.index("Hug one knee.") < ssml.index("Now the other.")


def test_number_words() -> None:
    assert [VOICE.number(n) for n in (1, 20, 25, 45)] == [
        "one",
        "twenty",
        "twenty-five",
        "forty-five",
    ]
    assert VOICE.duration(1) == "one second" and VOICE.duration(300) == "five minutes"


def test_night_voice() -> None:
    assert wrap_voice("Hi.", None) == '<prosody volume="soft">Hi.</prosody>'
    assert wrap_voice("Hi.", True) == '<prosody volume="x-soft">Hi.</prosody>'
    assert wrap_voice("Hi.", False) == "Hi."
