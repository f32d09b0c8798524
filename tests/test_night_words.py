"""What people say at night besides a muscle, as a listener hears the answers (issue 22).

Hold-on words wait with the session open and "continue" picks the step up again; "the other
leg" keeps the same steps; "actually it's the front" mid-hamstring switches to the quadriceps;
"how do I stop this" mid-cramp is the step in progress, never the bedtime tips and goodbye; each
question gets one or two sentences of the spec's wording, then the step in progress.
"""

from __future__ import annotations

import re

import pytest

from cramp_coach.content import Content, load_content
from tests.conftest import Conversation


def _sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s])


def _mid_calf(talk: Conversation) -> None:
    talk.cramp("CALF", helper="PARTNER")


def test_hold_on_waits_with_the_session_open_and_continue_resumes(
    talk: Conversation, content: Content
) -> None:
    _mid_calf(talk)
    step_one = content.muscles["CALF"].partner[0].text
    turn = talk.say("HoldOnIntent")
    assert turn.speech == "Okay, I'll wait. Say continue when you're ready."
    assert not turn.ended and turn.reprompt
    assert turn.state["mode"] == "paused" and turn.state["step"] == 0
    turn = talk.say("Resume", after=12)
    assert step_one in turn.speech and not turn.ended


def test_the_other_leg_is_acknowledged_with_the_same_step(
    talk: Conversation, content: Content
) -> None:
    _mid_calf(talk)
    turn = talk.say("OtherSideIntent")
    assert turn.speech.startswith("Same steps for either leg.")
    assert content.muscles["CALF"].partner[0].text in turn.speech
    assert turn.state["muscle"] == "CALF" and not turn.ended


def test_actually_its_the_front_mid_hamstring_switches_to_the_quadriceps(
    talk: Conversation, content: Content
) -> None:
    talk.cramp("HAMSTRING", helper="PARTNER")
    turn = talk.say("ClarifyIntent", part=("the front", "FRONT"))
    assert turn.state["muscle"] == "QUADRICEPS"
    assert content.muscles["QUADRICEPS"].partner[0].text in turn.speech
    # A part that names no other muscle still gets the safety question, as before.
    turn = talk.say("ClarifyIntent", part=("the top", "TOP"))
    assert turn.state["muscle"] == "QUADRICEPS" and "?" in turn.speech


def test_actually_its_the_back_mid_quadriceps_is_the_hamstring_not_the_lower_back(
    talk: Conversation,
) -> None:
    talk.cramp("QUADRICEPS", helper="PARTNER")
    turn = talk.say("CrampIntent", muscle=("back", "LOWER_BACK"))
    assert turn.state["muscle"] == "HAMSTRING"


def test_how_do_i_stop_this_mid_cramp_is_the_step_not_the_bedtime_tips(
    talk: Conversation, content: Content
) -> None:
    _mid_calf(talk)
    turn = talk.say("HowToStopIntent")
    assert content.prevention[0].text not in turn.speech
    assert content.muscles["CALF"].partner[0].text in turn.speech
    assert not turn.ended and turn.state["muscle"] == "CALF"


@pytest.mark.parametrize(
    "intent,words",
    [
        ("PainkillerIntent", "won't stop a cramp midway"),
        ("HeatIceIntent", "wrapped ice pack"),
        ("WhyIntent", "pass on their own"),
        ("AgainIntent", "every night before bed"),
    ],
)
def test_a_question_mid_cramp_is_answered_briefly_then_back_to_the_step(
    talk: Conversation, intent: str, words: str
) -> None:
    _mid_calf(talk)
    turn = talk.say(intent)
    answer, _, rest = turn.speech.partition("We're on step 1 of the calf steps.")
    assert words in answer and 1 <= _sentences(answer) <= 2
    assert rest.strip() == "Say next when you're ready." and not turn.ended


def test_the_painkiller_answer_is_the_spec_sentence_in_each_locale() -> None:
    for locale in ("en-US", "en-GB", "en-AU", "en-IN"):
        reassurance = load_content(locale).reassurance.text
        assert load_content(locale).phrase("answer_painkiller") in reassurance, locale


def test_a_question_before_any_cramp_asks_for_the_muscle(talk: Conversation) -> None:
    turn = talk.say("HeatIceIntent")
    assert "Which muscle" in turn.speech and not turn.ended
    turn = talk.say("HoldOnIntent")
    assert turn.speech.startswith("Okay, I'll wait.") and not turn.ended


def test_a_lock_is_not_opened_by_the_new_words(talk: Conversation) -> None:
    _mid_calf(talk)
    talk.symptom("RF_PE")
    for intent in ("HoldOnIntent", "OtherSideIntent", "HowToStopIntent", "PainkillerIntent"):
        turn = talk.say(intent)
        assert turn.state["mode"] == "locked", intent
