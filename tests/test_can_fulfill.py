"""CanFulfillIntentRequest through the real skill: YES only where it can help, no side effects.

Every envelope goes through build_skill + handle_envelope, with a store factory that records
any call: the tests prove the request never builds (so never reads or writes) the store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cramp_coach.alexa.can_fulfill import IN_SESSION_ONLY, can_fulfill
from cramp_coach.alexa.events import INTENT_EVENTS
from cramp_coach.alexa.handle import handle_envelope
from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import load_content
from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.memory import Store
from tests.conftest import T0

MODEL = Path(__file__).resolve().parents[1] / "interaction_models" / "en-US.json"
MANIFEST = Path(__file__).resolve().parents[1] / "skill-package" / "skill.json"
Slots = dict[str, tuple[str, str | None]]
UNKNOWN_ID = "UNKNOWN"


class StoreTouched(AssertionError):
    pass


class RecordingFactory:
    """A store factory that records every call and refuses to build anything."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Store:
        self.calls += 1
        raise StoreTouched("the store was built for a CanFulfillIntentRequest")


def cfir_envelope(intent: str, slots: Slots | None = None, session: bool = False) -> dict[str, Any]:
    """A CanFulfillIntentRequest as Alexa sends it: an intent with slots, usually no session."""
    envelope = Session().intent(intent, T0, slots)
    request = envelope["request"]
    request["type"] = "CanFulfillIntentRequest"
    request.pop("dialogState", None)
    if not session:
        envelope.pop("session")
    return envelope


@pytest.fixture
def factory() -> RecordingFactory:
    return RecordingFactory()


def ask(factory: RecordingFactory, intent: str, slots: Slots | None = None, **kw: Any) -> Any:
    skill = build_skill(store_factory=factory)
    response = handle_envelope(skill, cfir_envelope(intent, slots, **kw))
    assert factory.calls == 0, "the store was touched"
    body = response["response"]
    # A question about the skill: nothing spoken, no card, no directive, no session decision.
    assert set(body) == {"canFulfillIntent"}, body
    assert not (response.get("sessionAttributes") or {}).get("cramp")
    return body["canFulfillIntent"]


def model_intents() -> dict[str, list[str]]:
    data = json.loads(MODEL.read_text(encoding="utf-8"))
    return {
        i["name"]: [s["name"] for s in i.get("slots", [])]
        for i in data["interactionModel"]["languageModel"]["intents"]
    }


ROUTINES = sorted(load_content().muscles)


@pytest.mark.parametrize("muscle", ROUTINES)
@pytest.mark.parametrize("helper", [None, ("her", "PARTNER"), ("my", "ALONE")])
def test_every_muscle_with_a_routine_is_yes(
    factory: RecordingFactory, muscle: str, helper: tuple[str, str] | None
) -> None:
    slots: Slots = {"muscle": (muscle.lower().replace("_", " "), muscle)}
    if helper:
        slots["helper"] = helper
    answer = ask(factory, "CrampIntent", slots)
    assert answer["canFulfill"] == "YES"
    assert answer["slots"]["muscle"] == {"canUnderstand": "YES", "canFulfill": "YES"}
    if helper:
        assert answer["slots"]["helper"] == {"canUnderstand": "YES", "canFulfill": "YES"}


@pytest.mark.parametrize("vague", ["LEG", "THIGH", "FOOT", "KNEE"])
def test_vague_places_are_maybe(factory: RecordingFactory, vague: str) -> None:
    answer = ask(factory, "CrampIntent", {"muscle": (vague.lower(), vague)})
    assert answer["canFulfill"] == "MAYBE"
    assert answer["slots"]["muscle"] == {"canUnderstand": "YES", "canFulfill": "NO"}


def test_a_cramp_without_a_place_is_maybe(factory: RecordingFactory) -> None:
    answer = ask(factory, "CrampIntent")
    assert answer["canFulfill"] == "MAYBE"
    assert answer.get("slots") in (None, {})


@pytest.mark.parametrize("place", ["CHEST", "TRUNK", "FACE", "ALL_OVER"])
def test_out_of_scope_places_get_yes_because_the_red_flag_advice_is_spoken(
    factory: RecordingFactory, place: str
) -> None:
    answer = ask(factory, "CrampIntent", {"muscle": (place.lower(), place)})
    assert answer["canFulfill"] == "YES"
    # ...and the same request, sent for real, speaks that red flag's script.
    content = load_content()
    script = content.red_flags[content.out_of_scope[place]].script
    real = handle_envelope(
        build_skill(store_factory=RecordingFactory()),
        Session().intent("CrampIntent", T0, {"muscle": (place.lower(), place)}),
    )
    assert script[:40] in real["response"]["outputSpeech"]["ssml"]


@pytest.mark.parametrize(
    "heard", ["elbow", "ear lobe", "my left pinky", "banana", "the wifi", "asdf qwerty"]
)
def test_muscles_that_match_nothing_are_no(factory: RecordingFactory, heard: str) -> None:
    answer = ask(factory, "CrampIntent", {"muscle": (heard, None), "helper": ("her", "PARTNER")})
    assert answer["canFulfill"] == "NO"
    assert answer["slots"]["muscle"] == {"canUnderstand": "NO", "canFulfill": "NO"}


def test_a_muscle_id_without_a_routine_never_gets_yes() -> None:
    content = load_content()
    # Every MUSCLE id of the model; only those with a routine may ever get YES as a routine.
    ids = {
        v["id"]
        for t in json.loads(MODEL.read_text())["interactionModel"]["languageModel"]["types"]
        if t["name"] == "MUSCLE"
        for v in t["values"]
    } | {"ELBOW", "SHOULDER", UNKNOWN_ID}
    for mid in ids:
        for intent in ("CrampIntent", "HoldTimeIntent"):
            answer = can_fulfill(content, intent, {"muscle": (mid, mid.lower())})
            if answer.can_fulfill == "YES" and intent == "CrampIntent":
                assert mid in content.muscles or mid in content.out_of_scope, mid
            if intent == "HoldTimeIntent" and answer.can_fulfill == "YES":
                assert mid in content.muscles, mid


@pytest.mark.parametrize(
    ("heard", "symptom"),
    [
        ("she can't breathe", "RF_PE"),
        ("her calf is swollen and hot", "RF_DVT"),
        ("chest pain", "RF_CHEST"),
        ("she's pregnant", "PREGNANT"),
        ("it's my son", "CHILD"),
        ("the baby is stiff and twitching", "RF_INFANT"),
        ("I get cramps every night", "RF_FREQ"),
    ],
)
def test_red_flag_sentences_are_yes(factory: RecordingFactory, heard: str, symptom: str) -> None:
    answer = ask(factory, "SymptomIntent", {"symptom": (heard, symptom)})
    assert answer["canFulfill"] == "YES"
    assert answer["slots"]["symptom"] == {"canUnderstand": "YES", "canFulfill": "YES"}


def test_every_symptom_value_of_the_model_is_yes(factory: RecordingFactory) -> None:
    types = json.loads(MODEL.read_text())["interactionModel"]["languageModel"]["types"]
    values = [v["id"] for t in types if t["name"] == "SYMPTOM" for v in t["values"]]
    assert values
    for value in values:
        assert ask(factory, "SymptomIntent", {"symptom": ("x", value)})["canFulfill"] == "YES"


def test_a_symptom_that_matches_nothing_is_no(factory: RecordingFactory) -> None:
    answer = ask(factory, "SymptomIntent", {"symptom": ("purple hiccups", None)})
    assert answer["canFulfill"] == "NO"
    assert answer["slots"]["symptom"] == {"canUnderstand": "NO", "canFulfill": "NO"}


def test_unmatched_helper_or_side_lowers_yes_to_maybe(factory: RecordingFactory) -> None:
    answer = ask(factory, "CrampIntent", {"muscle": ("calf", "CALF"), "side": ("middle", None)})
    assert answer["canFulfill"] == "MAYBE"
    assert answer["slots"]["muscle"]["canFulfill"] == "YES"
    assert answer["slots"]["side"] == {"canUnderstand": "NO", "canFulfill": "NO"}
    both = ask(factory, "CrampIntent", {"muscle": ("calf", "CALF"), "side": ("left", "LEFT")})
    assert both["canFulfill"] == "YES"


@pytest.mark.parametrize("intent", ["PreventionIntent", "DisclaimerIntent", "BedtimeIntent"])
def test_questions_the_content_answers_are_yes(factory: RecordingFactory, intent: str) -> None:
    assert ask(factory, intent)["canFulfill"] == "YES"


def test_cramp_count_is_maybe_because_it_depends_on_what_is_stored(
    factory: RecordingFactory,
) -> None:
    assert ask(factory, "CrampCountIntent")["canFulfill"] == "MAYBE"


@pytest.mark.parametrize("intent", sorted(IN_SESSION_ONLY))
def test_in_session_intents_are_no(factory: RecordingFactory, intent: str) -> None:
    assert ask(factory, intent)["canFulfill"] == "NO"


@pytest.mark.parametrize("intent", sorted(n for n in model_intents() if n.startswith("AMAZON.")))
def test_builtins_are_no(factory: RecordingFactory, intent: str) -> None:
    assert ask(factory, intent)["canFulfill"] == "NO"


@pytest.mark.parametrize("intent", ["OrderPizzaIntent", "PlayMusicIntent", ""])
def test_unknown_intents_are_no(factory: RecordingFactory, intent: str) -> None:
    answer = ask(factory, intent or "X", {"thing": ("pepperoni", None)})
    assert answer["canFulfill"] == "NO"


@pytest.mark.parametrize("intent", sorted(model_intents()))
def test_every_intent_of_the_model_gets_an_answer_without_side_effects(
    factory: RecordingFactory, intent: str
) -> None:
    """Read from the model file, so intents added to the model are covered when they land."""
    slots: Slots = {name: ("something odd", None) for name in model_intents()[intent]}
    answer = ask(factory, intent, slots, session=True)
    assert answer["canFulfill"] in ("YES", "NO", "MAYBE")
    # A value that matches nothing is never understood, whatever the intent.
    for name in slots:
        assert answer["slots"][name] == {"canUnderstand": "NO", "canFulfill": "NO"}
    if slots:
        assert answer["canFulfill"] in ("NO", "MAYBE")  # odd values never give YES


QUESTIONS = ["DoctorIntent", "EmergencyNumberIntent", "HoldTimeIntent"]


@pytest.mark.parametrize("intent", QUESTIONS)
def test_question_intents_follow_the_adapter(intent: str) -> None:
    """YES once the adapter routes them to the core (and the content can answer), NO before."""
    content = load_content()
    assert can_fulfill(content, intent, {}, handled=INTENT_EVENTS).can_fulfill == (
        "YES" if intent in INTENT_EVENTS else "NO"
    )
    assert can_fulfill(content, intent, {}, handled={intent}).can_fulfill == "YES"


def test_hold_time_for_a_muscle() -> None:
    content = load_content()
    handled = {"HoldTimeIntent"}
    calf = can_fulfill(content, "HoldTimeIntent", {"muscle": ("CALF", "calf")}, handled)
    assert calf.can_fulfill == "YES"
    chest = can_fulfill(content, "HoldTimeIntent", {"muscle": ("CHEST", "chest")}, handled)
    assert chest.can_fulfill == "NO"
    leg = can_fulfill(content, "HoldTimeIntent", {"muscle": ("LEG", "leg")}, handled)
    assert leg.can_fulfill == "MAYBE"


def test_the_same_request_in_a_session_leaves_the_session_alone(factory: RecordingFactory) -> None:
    envelope = cfir_envelope("CrampIntent", {"muscle": ("calf", "CALF")}, session=True)
    envelope["session"]["attributes"] = {"cramp": {"mode": "routine", "muscle": "NECK", "step": 2}}
    response = handle_envelope(build_skill(store_factory=factory), envelope)
    assert factory.calls == 0
    assert response["response"]["canFulfillIntent"]["canFulfill"] == "YES"
    # No routine started, nothing moved; and a state the skill never sealed is not echoed
    # (issue 21: every response carries only attributes that decode).
    assert "cramp" not in (response.get("sessionAttributes") or {})


def test_the_handler_answers_only_canfulfill_requests(factory: RecordingFactory) -> None:
    """An ordinary IntentRequest still goes to the conversation (and speaks)."""
    skill = build_skill(store_factory=factory)
    spoken = handle_envelope(
        skill,
        Session().intent(
            "CrampIntent", T0, {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
        ),
    )
    assert "canFulfillIntent" not in spoken["response"]
    assert spoken["response"]["outputSpeech"]["ssml"]
    launch = handle_envelope(skill, Session().launch(T0))
    assert "canFulfillIntent" not in launch["response"]


def test_manifest_declares_the_interface() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    interfaces = manifest["manifest"]["apis"]["custom"]["interfaces"]
    assert {"type": "CAN_FULFILL_INTENT_REQUEST"} in interfaces


def test_answers_without_a_user_id(factory: RecordingFactory) -> None:
    envelope = cfir_envelope("CrampIntent", {"muscle": ("calf", "CALF")})
    envelope["context"]["System"].pop("user")
    response = handle_envelope(build_skill(store_factory=factory), envelope)
    assert response["response"]["canFulfillIntent"]["canFulfill"] == "YES"
    assert factory.calls == 0
