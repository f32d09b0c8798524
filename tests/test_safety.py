"""Safety that cannot be talked out of (issue 11), through real request envelopes.

Each test is a night a listener could have: the red flag, then the words that used to
lead back to the steps.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from cramp_coach.content import Content
from tests.conftest import Conversation, Turn, advice
from tests.memory_store import MemoryStore
from tests.spoken import LEG_RUBS, STEP_TEXTS

COUNT_WORDS = ("starting now", "left.", "five, four, three, two, one")


def speaks_steps(turn: Turn) -> bool:
    text = turn.speech.lower()
    return any(t.lower() in text for t in STEP_TEXTS) or any(w in text for w in COUNT_WORDS)


def new_session(talk: Conversation) -> None:
    talk.session.restart()


def flagged_then_new_session(night: Conversation, flag: str) -> None:
    """A calf routine stopped by `flag` in one session; the next session begins."""
    night.cramp("CALF", helper="PARTNER")
    night.symptom(flag)
    night.say("Stop")
    new_session(night)


# ------------------------------------------------------------------ the lock is closed
@pytest.mark.parametrize(
    "symptom,flag",
    [("RF_DVT", "RF_DVT"), ("RF_PE", "RF_PE"), ("INFANT", "RF_INFANT"), ("RF_CHEST", "RF_CHEST")],
)
def test_nothing_said_after_a_stopping_red_flag_leads_back_to_the_steps(
    night: Conversation, content: Content, symptom: str, flag: str
) -> None:
    night.cramp("CALF", helper="PARTNER")
    first = night.say("SymptomIntent", symptom=("it's bad", symptom))
    assert first.speech.startswith(advice(content, flag))
    tries: list[tuple[str, dict[str, Any]]] = [
        ("Yes", {}),
        ("No", {}),
        ("CrampIntent", {"muscle": ("her calf", "CALF"), "helper": ("her", "PARTNER")}),
        ("Next", {}),
        ("Resume", {}),
        ("StartOver", {}),
        ("BetterIntent", {}),
        ("StillCrampingIntent", {}),
        ("AloneIntent", {}),
        ("FallbackIntent", {}),
        ("ClarifyIntent", {"part": ("front", "FRONT")}),
        ("CrampIntent", {"muscle": ("leg", "LEG")}),
        ("Help", {}),
        ("Repeat", {}),
    ]
    for intent, slots in tries:
        turn = night.say(intent, **slots)
        assert turn.state["mode"] == "locked", intent
        assert not speaks_steps(turn), (intent, turn.speech)
        assert content.red_flags[turn.state["red_flag"]].script in turn.speech, intent
        assert not turn.ended


def test_the_lock_rises_to_a_more_serious_flag_and_never_falls(
    night: Conversation, content: Content
) -> None:
    night.cramp("CALF", helper="PARTNER")
    night.symptom("RF_DVT")
    turn = night.say("SymptomIntent", symptom=("she fainted", "RF_PE"))
    assert turn.speech.startswith(advice(content, "RF_PE"))
    assert turn.state["red_flag"] == "RF_PE"
    assert content.phrase("call_emergency") in turn.speech
    calmer = night.symptom("RF_HAND")
    assert calmer.state["red_flag"] == "RF_PE" and not speaks_steps(calmer)


def test_a_swollen_calf_asks_about_breathing_and_yes_is_the_emergency(
    night: Conversation, content: Content
) -> None:
    turn = night.say("CrampIntent", muscle=("calf", "CALF"), symptom=("swollen", "RF_DVT"))
    assert turn.speech.startswith(advice(content, "RF_DVT"))
    assert content.phrase("breath_check") in turn.speech
    assert not speaks_steps(turn)
    turn = night.say("Yes")
    assert turn.speech.startswith(advice(content, "RF_PE"))
    assert content.phrase("call_emergency") in turn.speech


# ------------------------------------------------------------------ the quick check
def calf_check(content: Content) -> str:
    """The calf asks its own check: the shared question plus the compartment one (RF-SWELL)."""
    check = content.muscles["CALF"].check
    assert check is not None
    return check.text


def test_yes_to_the_quick_check_stops_at_once_with_the_clot_advice(
    night: Conversation, content: Content
) -> None:
    night.cramp("CALF", helper="ALONE")
    held = night.say("Next")
    assert calf_check(content) in held.speech
    turn = night.say("Yes")
    assert turn.speech.startswith(advice(content, "RF_DVT"))
    assert "don't rub" in turn.speech
    assert content.phrase("breath_check") in turn.speech
    assert turn.state["mode"] == "locked"
    assert night.say("Yes").speech.startswith(advice(content, "RF_PE"))


def test_anything_but_a_clear_no_asks_again_and_no_massage_until_then(
    night: Conversation, content: Content
) -> None:
    night.cramp("CALF", helper="PARTNER")
    turn = night.say("Next")
    for _ in range(3):
        turn = night.say("Next")
    assert calf_check(content) in turn.speech  # after the first hold (step 5)
    again = night.say("Next")
    assert again.speech.startswith(content.phrase("yes_or_no_first"))
    assert calf_check(content) in again.speech
    # Still not a no: the breathing half alone (4.1), then on without the rub.
    breath = night.say("StillCrampingIntent")
    assert breath.speech == content.phrase("breath_check")
    on = night.say("No")
    assert not any(rub in on.speech for rub in LEG_RUBS)
    assert content.phrase("skip_rub_unchecked") in on.speech
    assert content.muscles["CALF"].partner[6].text in on.speech
    assert calf_check(content) in on.speech, "asked again after the next hold"


def test_a_clear_no_lets_the_rub_through(night: Conversation, content: Content) -> None:
    night.cramp("CALF", helper="PARTNER")
    for _ in range(4):
        night.say("Next")
    rub = night.say("No")
    assert rub.speech.startswith(content.muscles["CALF"].partner[5].text)


def test_massage_is_checked_first_when_the_check_never_came(
    night: Conversation, content: Content
) -> None:
    night.cramp("CALF", helper="PARTNER")
    night.say("BetterIntent")  # aftercare has no rub of the leg
    # Back to the held stretch and its count; the check, still unasked, comes after the hold.
    turn = night.say("StillCrampingIntent")
    assert calf_check(content) in turn.speech
    assert not any(rub in turn.speech for rub in LEG_RUBS)


# ------------------------------------------------------------------ the safety net
@pytest.mark.parametrize(
    "sentence,flag",
    [
        ("I'm struggling to breathe and my chest hurts", "RF_PE"),
        ("he says he can't catch his breath", "RF_PE"),
        ("her leg has gone all puffy", "RF_DVT"),
        ("it's gone dark and hot", "RF_DVT"),
        ("he coughed up blood", "RF_PE"),
        ("she passed out", "RF_PE"),
        ("the baby's leg keeps stiffening", "RF_INFANT"),
        ("my toddler has a cramp", "RF_INFANT"),
        ("it's been cramping for twenty minutes", "RF_LONG"),
        ("his face is drooping", "RF_STROKE"),
        ("I can't control my bladder", "RF_CES"),
    ],
)
def test_a_whole_sentence_in_the_muscle_slot_reaches_its_red_flag(
    night: Conversation, content: Content, sentence: str, flag: str
) -> None:
    night.cramp("CALF", helper="PARTNER")
    night.say("Next")
    turn = night.say("CrampIntent", muscle=(sentence, None))  # ER_SUCCESS_NO_MATCH
    assert turn.speech.startswith(advice(content, flag)), turn.speech
    assert not speaks_steps(turn)
    assert turn.state["mode"] == "locked"


def test_a_one_shot_sentence_with_a_muscle_and_a_red_flag_never_starts_the_steps(
    night: Conversation, content: Content
) -> None:
    turn = night.say("CrampIntent", muscle=("the baby's leg keeps stiffening", "LEG"))
    assert turn.speech.startswith(advice(content, "RF_INFANT"))
    assert not speaks_steps(turn)


def test_a_fallback_mid_routine_asks_one_safety_question_and_keeps_the_place(
    night: Conversation, content: Content
) -> None:
    night.cramp("CALF", helper="PARTNER")
    night.say("Next")
    turn = night.say("FallbackIntent")
    assert not speaks_steps(turn)
    assert "say next" not in turn.speech.lower()
    assert turn.speech.endswith("?") and turn.state["step"] == 1
    kept = night.say("No")  # after the safety question's "no", the step again, whole (4.1)
    assert kept.speech.startswith(content.muscles["CALF"].partner[1].text)
    assert night.say("Next").speech.startswith(content.muscles["CALF"].partner[2].text)


def test_negated_warning_words_ask_rather_than_guess(night: Conversation, content: Content) -> None:
    night.cramp("CALF", helper="PARTNER")
    turn = night.say("SymptomIntent", symptom=("it isn't swollen", None))
    assert content.safety_check.text in turn.speech and turn.state["mode"] == "routine"


def test_everyday_helper_words_are_not_symptoms(night: Conversation, content: Content) -> None:
    night.cramp("CALF", helper="ALONE")
    turn = night.say("HelperIntent")
    assert turn.state["mode"] == "routine" and turn.state["variant"] == "partner"
    words = night.say("CrampIntent", muscle=("my wife is here to help", None))
    assert words.state["mode"] == "routine"


# ------------------------------------------------------------------ flags
def test_a_baby_gets_no_steps_even_with_a_muscle(night: Conversation, content: Content) -> None:
    turn = night.say("CrampIntent", muscle=("calf", "CALF"), symptom=("the newborn", "INFANT"))
    assert turn.speech.startswith(advice(content, "RF_INFANT"))
    assert not speaks_steps(turn)
    assert not speaks_steps(night.cramp("CALF", helper="PARTNER"))


def test_a_child_hears_the_child_signs_and_then_the_steps(
    night: Conversation, content: Content
) -> None:
    turn = night.say("CrampIntent", muscle=("calf", "CALF"), symptom=("my son", "CHILD"))
    # The first words are the action; the child's signs right after it (issue 27).
    step1 = content.muscles["CALF"].partner[0].text
    assert turn.speech.startswith(step1 + " " + content.flags["CHILD"].text)
    weak = night.say("CrampIntent", muscle=("he can't stand up, he's too weak", None))
    assert weak.speech.startswith(advice(content, "RF_CHILD_WEAK"))  # E (RF-CHILD)


def test_heat_or_exercise_asks_the_heat_question_first(
    night: Conversation, content: Content
) -> None:
    heat = ("after a run", "EXERCISE_HEAT")
    turn = night.say("CrampIntent", muscle=("calf", "CALF"), symptom=heat)
    assert turn.speech == content.flags["EXERCISE_HEAT"].text
    assert night.say("Yes").speech.startswith(advice(content, "RF_HEAT"))


def test_heat_question_answered_no_starts_the_steps(night: Conversation, content: Content) -> None:
    night.say("CrampIntent", muscle=("calf", "CALF"), symptom=("after football", "EXERCISE_HEAT"))
    assert night.say("No").speech.startswith(content.muscles["CALF"].partner[0].text)


# ------------------------------------------------------------------ the lock outlives the session
def test_an_emergency_is_remembered_for_twelve_hours(
    night: Conversation, store: MemoryStore, content: Content
) -> None:
    night.cramp("CALF", helper="PARTNER")
    night.symptom("RF_PE")
    night.end()
    assert store.lock is not None and store.lock["flag"] == "RF_PE"
    assert store.lock["about"] == "partner"
    new_session(night)
    turn = night.cramp("HAND", helper="PARTNER", after=3600)
    # PROTOCOLS 4.1: the warning again, then "checked since?" (same person), no steps.
    assert content.red_flags["RF_PE"].script in turn.speech
    assert turn.speech.endswith(content.phrase("prior_seen"))
    assert not speaks_steps(turn) and turn.state["mode"] == "prior_check"
    refused = night.say("No")
    assert content.red_flags["RF_PE"].script in refused.speech
    assert not speaks_steps(refused) and refused.state["mode"] == "locked"
    new_session(night)
    later = night.cramp("HAND", helper="PARTNER", after=12 * 3600)
    assert later.speech.startswith(content.muscles["HAND"].partner[0].text)


def test_after_a_clot_flag_checked_since_gives_steps_but_never_a_leg_rub(
    night: Conversation, store: MemoryStore, content: Content
) -> None:
    flagged_then_new_session(night, "RF_DVT")
    same = night.cramp("CALF", helper="PARTNER", after=600)
    assert same.speech.startswith(content.phrase("prior_lock"))
    assert content.red_flags["RF_DVT"].script in same.speech and not speaks_steps(same)
    other = night.say("Yes")  # a doctor, nurse or paramedic has checked it since
    assert other.speech.startswith(content.muscles["CALF"].partner[0].text)
    spoken = [other.speech]
    for _ in range(6):
        spoken.append(night.say("Next").speech)
        calf_check = content.muscles["CALF"].check
        if (calf_check.text if calf_check else content.safety_check.text) in spoken[-1]:
            spoken.append(night.say("No").speech)
    assert not any(t in s for s in spoken for t in LEG_RUBS)
    assert any(content.phrase("skip_rub_clot") in s for s in spoken)


def test_a_stopped_routine_is_never_offered_again_even_when_the_save_failed(
    night: Conversation, store: MemoryStore, content: Content
) -> None:
    night.cramp("CALF", helper="PARTNER")
    night.say("Next")
    night.say("Pause")  # a resumable routine is stored
    assert store.resume is not None
    new_session(night)
    night.say("Resume")
    store.fail_saves = 1  # the red-flag turn's write fails
    night.symptom("RF_DVT")
    assert store.lock is None
    night.end()  # the end of the session writes what the failed turn could not
    assert store.lock is not None and store.resume is None
    new_session(night)
    launch = night.launch(after=60)
    assert "You were on step" not in launch.speech
    assert content.red_flags["RF_DVT"].script in launch.speech


def test_delete_my_history_clears_the_lock(
    night: Conversation, store: MemoryStore, content: Content
) -> None:
    flagged_then_new_session(night, "RF_DVT")
    night.say("DeleteHistoryIntent", after=60)
    assert night.say("Yes").ended
    assert store.lock is None
    new_session(night)
    assert night.cramp("CALF", helper="PARTNER").speech.startswith(
        content.muscles["CALF"].partner[0].text
    )


# ------------------------------------------------------------------ corrupt state
@pytest.mark.parametrize(
    "corrupt",
    [
        {"v": 2, "phase": {"kind": "routine", "routine": {"muscle": "CALF", "started_at": "03:00",
                                                           "rid": "x"}}, "ctx": {}},
        {"v": 2, "phase": {"kind": "locked", "flag": "RF_NOPE", "level": "urgent"}, "ctx": {}},
        {"v": 2, "phase": {"kind": "routine", "routine": {"muscle": "CALF", "started_at": 1.0,
                                                           "rid": "x", "step": 40}}, "ctx": {}},
        {"v": 2, "phase": {"kind": "idle"}, "ctx": {"flags": "PREGNANT"}},
        {"v": 2, "phase": {"kind": "idle"}, "ctx": {"variant": "both"}},
        {"v": 2, "phase": {"kind": "teleport"}, "ctx": {}},
        {"v": 1, "mode": "routine"},
        [1, 2, 3],
    ],
)  # fmt: skip
def test_a_wrong_type_anywhere_starts_afresh_calmly(night: Conversation, corrupt: object) -> None:
    for _ in range(2):  # and stays unstuck on the next turn
        night.session.attributes = {"cramp": corrupt}
        night.session.new = False
        turn = night.say("Next")
        assert turn.speech.startswith("Which muscle is cramping?")
        assert "Sorry, something went wrong" not in turn.speech


# ------------------------------------------------------------------ holds that match the spec
def _breaks(turn: Turn) -> list[int]:
    return [int(ms) // 1000 for ms in re.findall(r'<break time="(\d+)ms"/>', turn.ssml)]


def test_knee_hugs_and_rolls_are_counted_each_side(night: Conversation, content: Content) -> None:
    night.cramp("LOWER_BACK", helper="PARTNER")
    for _ in range(4):
        turn = night.say("Next")
    assert "Hug the first knee in." in turn.speech and "Now swap to the other knee." in turn.speech
    assert _breaks(turn) == [5, 5]
    rolls = night.say("Next")
    assert _breaks(rolls) == [2] * 10
    heat = content.muscles["LOWER_BACK"].partner[2]
    night.say("StartOver")
    night.say("Next")
    towel = night.say("Next")
    assert towel.speech.startswith(heat.text)
    assert towel.speech.count("twenty minutes") == 1, "never say the duration twice"


def test_the_gentle_option_counts_each_push(night: Conversation) -> None:
    night.cramp("CALF", helper="PARTNER")
    night.say("HurtsIntent")
    night.say("Next")  # B2, the first hold: the leg check follows it (Option B too)
    turn = night.say("No")
    # Relax 5, push 10, twice: each push is 5 s of quiet, then "five, four, three, two, one".
    assert _breaks(turn) == [5, 5, 5, 5]
    assert turn.speech.count("Five, four, three, two, one.") == 2


def test_position_first_then_the_count(night: Conversation, content: Content) -> None:
    night.cramp("CALF", helper="ALONE")
    night.say("Next")
    sheet = content.muscles["CALF"].alone[2]
    turn = night.say("No")  # the quick check is clear: on to the sheet
    assert turn.speech.startswith(sheet.text) and not _breaks(turn)
    assert content.phrase("position_prompt") in turn.speech
    count = night.say("Next")
    assert count.speech.startswith("Hold for thirty seconds, starting now.")
    assert sheet.text not in count.speech and sum(_breaks(count)) == 25


# ------------------------------------------------------------------ no dead ends
@pytest.mark.parametrize("answer", ["No", "DontKnowIntent", "Next", "FallbackIntent"])
def test_which_muscle_never_loops_and_no_is_not_goodbye(
    night: Conversation, content: Content, answer: str
) -> None:
    night.launch()
    again = night.say(answer)
    assert not again.ended and again.state["mode"] == "asking_muscle"
    default = night.say(answer)
    assert default.speech.startswith(content.muscles["CALF"].partner[0].text)
    assert content.phrase("default_calf") in default.speech


@pytest.mark.parametrize("answer", ["No", "DontKnowIntent", "Next"])
def test_a_clarifying_question_gets_a_hint_then_the_default(
    night: Conversation, content: Content, answer: str
) -> None:
    night.cramp("THIGH", heard="thigh")
    assert night.say(answer).speech == content.vague["THIGH"].hint
    assert night.say(answer).state["muscle"] == "CALF"


@pytest.mark.parametrize("intent", ["Repeat", "Next", "StillCrampingIntent"])
def test_past_ten_minutes_nothing_speaks_the_steps_again(
    night: Conversation, content: Content, intent: str
) -> None:
    night.cramp("CALF", helper="PARTNER")
    turn = night.say(intent, after=601)
    assert turn.speech.startswith(advice(content, "RF_LONG"))
    assert not speaks_steps(turn)


# ------------------------------------------------------------------ answers (PROTOCOLS 4.1)
def _to_the_leg_check(night: Conversation, content: Content) -> Turn:
    night.cramp("CALF", helper="PARTNER")
    turn = night.say("Next")
    for _ in range(10):  # bounded: fail, never hang
        if turn.speech.rstrip().endswith("short of breath?"):
            return turn
        turn = night.say("Next")
    raise AssertionError("the leg check never came")


def test_an_unclear_leg_check_twice_asks_the_breathing_half_alone(
    night: Conversation, content: Content
) -> None:
    _to_the_leg_check(night, content)
    night.say("FallbackIntent")
    turn = night.say("FallbackIntent")
    assert turn.speech == content.phrase("breath_check") and turn.state["mode"] == "routine"
    on = night.say("No")
    assert "leave out the rub" in on.speech and not any(t in on.speech for t in LEG_RUBS)
    assert on.state["mode"] == "routine"


def test_an_unclear_breathing_answer_twice_is_treated_as_an_emergency(
    night: Conversation, content: Content
) -> None:
    _to_the_leg_check(night, content)
    night.say("FallbackIntent")
    night.say("FallbackIntent")
    again = night.say("FallbackIntent")
    assert again.speech.startswith(content.phrase("yes_or_no_first"))
    last = night.say("FallbackIntent")
    assert last.speech.startswith(content.phrase("unsure_is_emergency"))
    assert content.red_flags["RF_PE"].script in last.speech and last.state["mode"] == "locked"


@pytest.mark.parametrize(
    "answer",
    [
        ("SymptomIntent", {"symptom": ("a bit breathless", "RF_PE")}),
        ("SymptomIntent", {"symptom": ("she's a bit short of breath", None)}),
        ("DontKnowIntent", {}),
        ("SymptomIntent", {"symptom": ("i think so", None)}),
        ("SymptomIntent", {"symptom": ("maybe", None)}),
    ],
)
def test_after_a_clot_warning_any_doubt_about_breathing_is_the_emergency(
    night: Conversation, content: Content, answer: tuple[str, dict[str, Any]]
) -> None:
    night.cramp("CALF", helper="PARTNER")
    warned = night.say("SymptomIntent", symptom=("her calf is red and swollen", "RF_DVT"))
    assert warned.state["red_flag"] == "RF_DVT"
    intent, slots = answer
    turn = night.say(intent, **slots)
    assert turn.state["red_flag"] == "RF_PE", turn.speech
    assert content.phrase("call_emergency") in turn.speech


def test_a_clear_no_to_breathing_leaves_the_clot_advice(
    night: Conversation, content: Content
) -> None:
    night.cramp("CALF", helper="PARTNER")
    night.say("SymptomIntent", symptom=("her calf is red and swollen", "RF_DVT"))
    turn = night.say("SymptomIntent", symptom=("no chest pain and she's breathing fine", None))
    assert turn.state["red_flag"] == "RF_DVT"
    assert content.phrase("call_emergency") not in turn.speech


def test_my_baby_asks_once_and_an_adult_gets_the_steps(
    night: Conversation, content: Content
) -> None:
    asked = night.say("CrampIntent", muscle=("calf", "CALF"), symptom=("my baby's", None))
    assert asked.speech == content.phrase("baby_check")
    steps = night.say("CrampIntent", helper=("my wife", "PARTNER"))
    assert steps.speech.startswith(content.muscles["CALF"].partner[0].text)


def test_a_one_shot_the_model_missed_gets_the_safety_line(
    night: Conversation, content: Content
) -> None:
    turn = night.say("FallbackIntent")
    assert turn.speech.endswith(content.phrase("ask_muscle_again"))
    assert "trouble breathing" in turn.speech


def test_a_doubt_to_the_leg_check_that_asks_about_breathing_is_the_emergency(
    night: Conversation, content: Content
) -> None:
    _to_the_leg_check(night, content)
    turn = night.say("DontKnowIntent")  # "not sure": the check asks about breathing too
    assert turn.speech.startswith(content.phrase("unsure_is_emergency"))
    assert turn.state["red_flag"] == "RF_PE"


def test_warning_words_while_asking_never_lead_to_the_calf_default(
    night: Conversation, content: Content
) -> None:
    first = night.say("CrampIntent", muscle=("cramping all over, everywhere", None))
    assert content.red_flags["RF_NEURO"].script in first.speech
    for _ in range(3):
        turn = night.say("FallbackIntent")
        assert not any(t in turn.speech for t in STEP_TEXTS), turn.speech
        assert turn.state["mode"] == "asking_muscle"


def test_a_cold_leg_asks_about_its_blood_supply(night: Conversation, content: Content) -> None:
    night.cramp("CALF", helper="PARTNER")
    asked = night.say("SymptomIntent", symptom=("her foot is freezing", None))
    assert asked.speech == content.phrase("blood_check") and asked.state["mode"] == "routine"
    yes = night.say("Yes")
    assert yes.speech.startswith(advice(content, "RF_ISCH"))
    assert content.phrase("call_emergency") in yes.speech


def test_a_cold_leg_that_is_not_pale_goes_on(night: Conversation, content: Content) -> None:
    night.cramp("CALF", helper="PARTNER")
    night.say("SymptomIntent", symptom=("her foot is freezing", None))
    on = night.say("No")
    assert on.speech.startswith(content.phrase("okay")) and on.state["mode"] == "routine"
