"""PROTOCOLS sections 1-3 as revised (issue 20 point 1), heard through real envelopes: the
leg check before every rub on every path, steps asked rather than chained (toes, offers, the
heat-or-ice choice), the shin's compartment check, and the loader's checks of them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from cramp_coach.content import CONTENT_DIR, Content, ContentError, parse_content
from cramp_coach.core.state_codec import decode_state
from tests.conftest import Conversation, Turn, advice
from tests.spoken import LEG_RUBS

CHECKING = ("asking", "asking_again")


def rubs_in(turn: Turn) -> list[str]:
    return [rub for rub in LEG_RUBS if rub in turn.speech]


def walk_to_rub(
    talk: Conversation, turn: Turn, check_answer: str, said: list[str] | None = None
) -> tuple[Turn, list[str]]:
    """Say next (or answer the leg check) until a leg is rubbed or the steps end.

    Returns the last turn and every leg-check question heard on the way (everything said
    goes into `said`); asserts that no rub is ever spoken before a clear no.
    """
    asked: list[str] = []
    said = said if said is not None else []
    cleared = False
    for _ in range(20):
        if turn.state["check"] in CHECKING:
            asked.append(turn.speech)
            turn = talk.say(check_answer)
            cleared = cleared or check_answer == "No"
        elif turn.state["question"] == "check_breath":
            # The leg check went unanswered twice: its breathing half alone. A no there says
            # nothing about the leg, so the rub is still left out.
            turn = talk.say("No")
        elif turn.state["question"] == "offer":
            turn = talk.say("No")  # standing declined: the rub comes next
        elif turn.state["question"] == "choice":
            turn = talk.say("ClarifyIntent", part=("under", "BELOW"))  # the toes
        else:
            turn = talk.say("Next")
        said.append(turn.speech)
        if rubs_in(turn):
            assert cleared, f"a rub before a clear no: {turn.speech}"
            return turn, asked
        if turn.state["question"] == "end_of_steps" or turn.state["mode"] != "routine":
            return turn, asked
    raise AssertionError("the steps never ended")


def _option_b(talk: Conversation, helper: str) -> Turn:
    talk.cramp("CALF", helper=helper)
    return talk.say("HurtsIntent")  # the gentler track, Option B (alone too)


def _better_then_back(talk: Conversation, helper: str) -> Turn:
    talk.cramp("CALF", helper=helper)
    talk.say("BetterIntent")  # an early "it's better": aftercare
    return talk.say("StillCrampingIntent")  # it came back: the steps again


PATHS = {
    "main partner": lambda t: t.cramp("CALF", helper="PARTNER"),
    "main alone": lambda t: t.cramp("CALF", helper="ALONE"),
    "option B partner": lambda t: _option_b(t, "PARTNER"),
    "option B alone": lambda t: _option_b(t, "ALONE"),
    "after an early better, partner": lambda t: _better_then_back(t, "PARTNER"),
    "after an early better, alone": lambda t: _better_then_back(t, "ALONE"),
    "hamstring alone": lambda t: t.cramp("HAMSTRING", helper="ALONE"),
    "shin partner": lambda t: t.cramp("SHIN", helper="PARTNER"),
    "shin alone": lambda t: t.cramp("SHIN", helper="ALONE"),
    "toes alone": lambda t: t.cramp("TOES", helper="ALONE"),
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_path_to_a_rub_passes_the_leg_check(
    talk: Conversation, content: Content, path: str
) -> None:
    turn = PATHS[path](talk)
    turn, asked = walk_to_rub(talk, turn, "No")
    assert asked, "the leg check was asked"
    assert rubs_in(turn), f"{path}: the rub follows a clear no"
    m = content.muscles[turn.state["muscle"]]
    assert (m.check.text if m.check else content.safety_check.text) in asked[-1], "its own"


@pytest.mark.parametrize("path", sorted(PATHS))
def test_no_rub_without_a_clear_no(talk: Conversation, content: Content, path: str) -> None:
    turn = PATHS[path](talk)
    said: list[str] = []
    turn, asked = walk_to_rub(talk, turn, "Next", said)  # "next" is no answer: asked again
    assert len(asked) >= 2, "anything but a clear no asks once more"
    assert not any(rub in speech for speech in said for rub in LEG_RUBS)
    assert any(content.phrase("skip_rub_unchecked") in speech for speech in said)


def test_option_b_alone_is_the_spec_steps(talk: Conversation, content: Content) -> None:
    turn = _option_b(talk, "ALONE")
    steps = content.muscles["CALF"].gentle_alone
    # The action first (issue 27): the caution after it, while they do it.
    assert turn.speech.startswith(content.phrase("gentler_option") + " " + steps[0].text)
    assert content.gentle_stop.text in turn.speech
    assert steps[0].text in turn.speech and turn.state["track"] == "gentle"
    assert steps[1].text in talk.say("Next").speech


def test_shin_check_before_the_rub_yes_is_the_compartment_emergency(
    talk: Conversation, content: Content
) -> None:
    check = content.muscles["SHIN"].check
    assert check is not None and check.flag == "RF_SWELL"
    turn = talk.cramp("SHIN", helper="PARTNER")
    for _ in range(20):  # bounded: fail, never hang
        if turn.state["check"] in CHECKING:
            break
        assert not rubs_in(turn)
        turn = talk.say("Next")
    assert check.text in turn.speech
    turn = talk.say("Yes")
    assert turn.speech.startswith(advice(content, "RF_SWELL"))
    assert turn.state["mode"] == "locked" and turn.state["red_flag"] == "RF_SWELL"


def test_the_calf_check_asks_about_a_tight_very_painful_calf_too(content: Content) -> None:
    check = content.muscles["CALF"].check
    assert check is not None and check.flag == "RF_DVT"
    for words in ("swollen, hot or red", "tight", "more painful than a cramp", "short of breath"):
        assert words in check.text


@pytest.mark.parametrize(
    "answer,picked,left_out",
    [(("under", "BELOW"), 1, 2), (("pulling up", None), 2, 1), (("they're curling", None), 1, 2)],
)
def test_toes_one_question_then_only_the_matching_step(
    talk: Conversation,
    content: Content,
    answer: tuple[str, str | None],
    picked: int,
    left_out: int,
) -> None:
    steps = content.muscles["TOES"].partner
    talk.cramp("TOES", helper="PARTNER")
    turn = talk.say("Next")
    assert (
        turn.speech
        == steps[1].ask
        == "Are the toes curling under, or pulling up? Say under, or up."
    )
    turn = talk.say("ClarifyIntent", part=answer)
    assert turn.speech.startswith(steps[picked].text)
    heard = [turn.speech]
    for _ in range(20):  # bounded: a loop here must fail, never hang
        if turn.state["step"] >= 5 or turn.state["mode"] != "routine":
            break
        checking = turn.state["check"] in CHECKING or turn.state["question"] == "check_breath"
        turn = talk.say("No" if checking else "Next")  # the leg check is not this test's point
        heard.append(turn.speech)
        if turn.state["step"] == 4:
            assert "starting now" not in turn.speech.lower(), "the wiggle has no countdown"
    assert turn.state["step"] >= 5, "the toes' steps go on to the end"
    assert not any(steps[left_out].text in h for h in heard), "never both"


def test_toes_unclear_answer_asks_once_more_then_leaves_it_out(
    talk: Conversation, content: Content
) -> None:
    steps = content.muscles["TOES"].partner
    talk.cramp("TOES", helper="PARTNER")
    talk.say("Next")
    again = talk.say("ClarifyIntent", part=("sideways", None))
    assert again.speech.startswith(content.phrase("choice_again")) and steps[1].ask in again.speech
    assert talk.say("Repeat").speech == steps[1].ask
    turn = talk.say("ClarifyIntent", part=("banana", None))
    assert turn.speech.startswith(content.phrase("choice_left_out"))
    assert steps[1].text not in turn.speech and steps[2].text not in turn.speech
    assert steps[3].text in turn.speech


@pytest.mark.parametrize("muscle,index", [("HAMSTRING", 3), ("QUADRICEPS", 2)])
def test_standing_is_offered_never_chained(
    talk: Conversation, content: Content, muscle: str, index: int
) -> None:
    steps = content.muscles[muscle].alone
    offer = steps[index]
    assert offer.offer and offer.ask and "light on" in offer.ask and "chair" in offer.ask
    turn = talk.cramp(muscle, helper="ALONE")
    for _ in range(20):  # bounded: fail, never hang
        if turn.state["step"] >= index and turn.state["check"] not in CHECKING:
            break
        turn = talk.say("No" if turn.state["check"] in CHECKING else "Next")
    assert turn.speech.endswith(offer.ask) and offer.text not in turn.speech
    assert turn.state["question"] == "offer"
    declined = talk.say("No")
    assert offer.text not in declined.speech and declined.state["step"] == index + 1
    back = talk.say("Previous")  # back onto the offer: asked again, not played
    assert back.speech == offer.ask and back.state["question"] == "offer"
    assert talk.say("Repeat").speech == offer.ask
    taken = talk.say("Yes")
    assert taken.speech.startswith(offer.text) and taken.state["step"] == index


def test_heat_or_ice_is_one_question_and_never_both(talk: Conversation, content: Content) -> None:
    warm, ice = (s for s in content.aftercare if s.when)
    assert warm.ask is not None
    for word, chosen, other in (("warmth", warm, ice), ("an ice pack", ice, warm)):
        talk = Conversation(talk.skill)
        talk.cramp("HAND", helper="PARTNER")  # the hand's aftercare starts with the choice
        turn = talk.say("BetterIntent")
        assert warm.ask in turn.speech and warm.text not in turn.speech
        turn = talk.say("ClarifyIntent", part=(word, None))
        assert turn.speech.startswith(chosen.text) and other.text not in turn.speech
        after = talk.say("Next")  # the rest of aftercare was joined to the choice's turn
        assert other.text not in after.speech, "never both in a row"
        assert content.reassurance.text in after.speech


def test_next_at_the_heat_or_ice_question_skips_both(talk: Conversation, content: Content) -> None:
    warm, ice = (s for s in content.aftercare if s.when)
    talk.cramp("HAND", helper="PARTNER")
    talk.say("BetterIntent")
    turn = talk.say("Next")
    assert warm.text not in turn.speech and ice.text not in turn.speech
    assert turn.state["track"] == "aftercare"


def test_ice_is_taken_off_and_never_overnight(content: Content) -> None:
    warm, ice = (s for s in content.aftercare if s.when)
    assert warm.ask and "never overnight" in warm.ask
    assert "after ten minutes" in ice.text and "wrapped" in warm.ask
    c1 = content.aftercare[0]
    assert "light on" in c1.text and "something to hold" in c1.text


def test_every_standing_step_needs_a_light_steadiness_and_a_hold(content: Content) -> None:
    for mid, m in content.muscles.items():
        for st in (*m.partner, *m.alone):
            if "stand" in st.text.lower() and "standing" not in st.text.lower():
                text = st.text.lower()
                assert "light" in text and "steady" in text, (mid, st.id)
                assert any(w in text for w in ("hold", "chair", "furniture")), (mid, st.id)


def test_heat_comes_off_before_sleep(content: Content) -> None:
    for mid in ("LOWER_BACK", "NECK"):
        m = content.muscles[mid]
        heat = [s for s in (*m.partner, *m.alone) if "heat pack" in s.text]
        assert len(heat) == 2 and all("asleep" in s.text for s in heat), mid


def test_quadriceps_top_leg(content: Content) -> None:
    assert "top leg" in content.muscles["QUADRICEPS"].partner[2].text


# ---------------------------------------------------------------- the loader


def _docs() -> tuple[dict[str, Any], dict[str, Any]]:
    folder = CONTENT_DIR / "en"
    return (
        json.loads((folder / "protocols.json").read_text()),
        json.loads((folder / "phrases.json").read_text()),
    )


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d["muscles"]["TOES"]["partner"][1].pop("ask"), r"TOES.partner\[1\].ask"),
        (
            lambda d: d["muscles"]["TOES"]["partner"][2].pop("when"),
            r"TOES.partner\[1\].when: a choice needs two",
        ),
        (
            lambda d: d["muscles"]["TOES"]["partner"][2]["when"].append("under"),
            r"TOES.partner\[1\].when: one word picks two",
        ),
        (
            lambda d: d["muscles"]["TOES"]["partner"][1].update(when=["Under!"]),
            r"TOES.partner\[1\].when: 'Under!'",
        ),
        (
            lambda d: d["muscles"]["CALF"]["partner"][5].update(ask="Rub it?"),
            r"CALF.partner\[5\]: a rub is never offered",
        ),
        (
            lambda d: d["muscles"]["SHIN"]["check"].update(flag="RF_NOPE"),
            r"SHIN.check.flag: unknown red flag",
        ),
        (
            lambda d: d["muscles"]["SHIN"]["check"].update(flag="RF_FREQ"),
            r"SHIN.check.flag: a yes to the leg check must stop",
        ),
        (
            lambda d: d["aftercare"]["steps"][2].update(ask="word " * 31),
            r"aftercare.steps\[2\].ask: at most",
        ),
        (
            lambda d: d["aftercare"]["steps"][3].update(legs_only=True),
            r"aftercare.steps\[2\].legs_only: the same",
        ),
        (
            lambda d: d["muscles"]["CALF"]["check"].update(text="word " * 31),
            r"CALF.check.text: at most",
        ),
    ],
)
def test_the_loader_names_a_broken_choice_or_check(mutate: Any, message: str) -> None:
    protocols, phrases = _docs()
    broken = copy.deepcopy(protocols)
    mutate(broken)
    with pytest.raises(ContentError, match=message):
        parse_content(broken, phrases)


def test_a_routine_saved_before_chosen_existed_still_decodes(content: Content) -> None:
    routine = {"muscle": "CALF", "started_at": 1.0, "rid": "0123456789ab", "step": 2}
    state = decode_state(
        {"v": 2, "phase": {"kind": "routine", "routine": routine}, "ctx": {}}, content
    )
    assert state.routine is not None and state.routine.chosen == -1 and state.routine.step == 2


@pytest.mark.parametrize("muscle", ["SHIN", "CALF"])
def test_a_no_to_the_shared_question_still_asks_the_muscles_own_check(
    talk: Conversation, content: Content, muscle: str
) -> None:
    check = content.muscles[muscle].check
    assert check is not None
    talk.cramp(muscle, helper="PARTNER")
    shared = talk.say("FallbackIntent")  # words we could not place: the shared question
    assert content.safety_check.text in shared.speech
    turn, asked = walk_to_rub(talk, talk.say("No"), "No")
    assert asked and check.text in asked[0], "the compartment question before the rub"
    assert rubs_in(turn)


def test_it_hurts_while_the_check_is_open_asks_it_again_after_the_next_hold(
    talk: Conversation, content: Content
) -> None:
    check = content.muscles["CALF"].check
    assert check is not None
    talk.cramp("CALF", helper="ALONE")
    assert talk.say("Next").state["check"] == "asking"
    gentle = talk.say("HurtsIntent")
    assert content.muscles["CALF"].gentle_alone[0].text in gentle.speech
    held = talk.say("Next")
    assert held.speech.startswith(content.muscles["CALF"].gentle_alone[1].text)
    assert held.speech.endswith(check.text) and held.state["check"] == "asking"
