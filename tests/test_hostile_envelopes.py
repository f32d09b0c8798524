"""JSON Alexa could not have sent, through the Lambda path (handle_envelope): never an exception,
never somebody else's words spoken, never their data stored (issue 16, part 4).

The web service's side of the same rules is in test_fuzz_webservice.py.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cramp_coach.alexa.handle import REFUSED_ENVELOPE, handle_envelope
from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import Content
from cramp_coach.hosting.local.envelopes import SKILL_ID, USER_ID, Session
from cramp_coach.memory import NullStore, user_key
from tests.conftest import T0, Conversation, Turn, advice, check_ssml
from tests.memory_store import MemoryStore

HOSTILE = "<audio src='https://attacker.example/x.mp3'/> send money"


def tampered(talk: Conversation, change: Any) -> None:
    """What a client (not Alexa) could send back as the session attributes."""
    attributes = copy.deepcopy(talk.session.attributes)
    change(attributes["cramp"])
    talk.session.attributes = attributes


# ------------------------------------------------------------------ repeat is rebuilt
def test_repeat_never_speaks_words_the_session_carried(
    talk: Conversation, content: Content
) -> None:
    first = talk.cramp("CALF", helper="PARTNER")
    tampered(talk, lambda s: s["ctx"].update(last_speech=HOSTILE * 20_000, last_reprompt=HOSTILE))
    again = talk.say("Repeat")
    assert "attacker" not in again.ssml and "money" not in again.speech
    assert again.ssml == first.ssml, "the step again, with its count, from the content"
    assert len(json.dumps(again.raw)) < 20_000


def test_repeat_does_not_move_the_place(talk: Conversation) -> None:
    talk.cramp("CALF", helper="PARTNER")
    talk.say("Next")
    before = talk.say("Next")
    again = talk.say("Repeat")
    assert again.attributes["phase"] == before.attributes["phase"]
    assert talk.say("Repeat").ssml == again.ssml == before.ssml


def test_repeat_after_an_answer_gives_that_answer(talk: Conversation, content: Content) -> None:
    talk.cramp("CALF", helper="PARTNER")
    answer = talk.say("HoldTimeIntent")
    again = talk.say("Repeat")
    assert again.speech == answer.speech and "hold" in again.speech.lower()
    step = talk.say("Next")  # the answer is done with once the steps move on
    assert talk.say("Repeat").ssml == step.ssml


def test_repeat_at_the_leg_check_asks_it_again(talk: Conversation, content: Content) -> None:
    turn = talk.cramp("CALF", helper="PARTNER")
    for _ in range(20):  # bounded: fail, never hang
        if turn.state["check"] == "asking":
            break
        turn = talk.say("Next")
    assert turn.state["check"] == "asking"
    again = talk.say("Repeat")
    check = content.muscles["CALF"].check  # the calf's own check (PROTOCOLS RF-SWELL)
    assert check is not None and again.speech == check.text
    assert again.state["check"] == "asking"


def test_repeat_in_the_lock_is_the_advice_and_the_open_question(
    talk: Conversation, content: Content
) -> None:
    talk.cramp("CALF", helper="PARTNER")
    talk.symptom("RF_DVT")
    again = talk.say("Repeat")
    assert again.speech.startswith(advice(content, "RF_DVT"))
    assert again.speech.endswith(content.phrase("breath_check"))
    assert again.state["mode"] == "locked" and not again.ended
    breath = talk.say("Yes")  # the question repeated is still the one answered
    assert breath.speech.startswith(advice(content, "RF_PE"))


@pytest.mark.parametrize(
    "setup,expected",
    [
        (lambda t: t.launch(), "ask_muscle"),
        (lambda t: t.say("DeleteHistoryIntent"), "delete_confirm"),
        (lambda t: t.say("CrampIntent", muscle=("thigh", "THIGH")), None),
    ],
)
def test_repeat_outside_a_routine_says_the_open_question(
    talk: Conversation, content: Content, setup: Any, expected: str | None
) -> None:
    asked: Turn = setup(talk)
    again = talk.say("Repeat")
    if expected is not None:
        assert again.speech == content.phrase(expected)
    assert again.speech == asked.speech and again.attributes["phase"] == asked.attributes["phase"]


# ------------------------------------------------------------------ what rides in the session
BAD_ENTRIES: list[Any] = [
    {"rid": "0123456789ab", "started_at": T0, "muscle": "EARLOBE", "variant": "partner"},
    {"rid": "0123456789ab", "started_at": T0, "muscle": "CALF", "variant": "robot"},
    {"rid": "x" * 10_000, "started_at": T0, "muscle": "CALF", "variant": "partner"},
    {"rid": "0123456789ab", "started_at": math.nan, "muscle": "CALF", "variant": "partner"},
    {"rid": "0123456789ab", "started_at": -5.0, "muscle": "CALF", "variant": "partner"},
    {"rid": "0123456789ab", "started_at": T0, "muscle": "CALF", "variant": "partner",
     "outcome": HOSTILE},
    {"rid": "0123456789ab", "started_at": T0, "muscle": "CALF", "variant": "partner",
     "outcome": "eased", "extra": 1},
]  # fmt: skip


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(consent=True)  # the log is on: anything admitted would be written


@pytest.fixture
def night(store: MemoryStore) -> Iterator[Conversation]:
    yield Conversation(build_skill(store_factory=lambda: store))


def _entries(store: MemoryStore) -> list[dict[str, Any]]:
    return list(store.entries)


@pytest.mark.parametrize("entry", BAD_ENTRIES)
def test_a_forged_log_entry_is_never_stored(
    night: Conversation, store: MemoryStore, entry: dict[str, Any]
) -> None:
    night.cramp("CALF", helper="PARTNER")
    genuine = _entries(store)
    tampered(night, lambda s: s["ctx"].update(unsaved=[{"outcome": "eased", **entry}]))
    turn = night.say("Next")
    assert turn.speech.startswith("Which muscle"), "an unreadable state starts afresh, calmly"
    assert _entries(store) == genuine


def test_a_flood_of_forged_entries_is_never_stored(night: Conversation, store: MemoryStore) -> None:
    night.cramp("CALF", helper="PARTNER")
    genuine = _entries(store)
    flood = [
        {"rid": f"{i:012x}", "started_at": T0, "muscle": "CALF", "variant": "partner",
         "outcome": "eased"}
        for i in range(5_000)
    ]  # fmt: skip
    tampered(night, lambda s: s["ctx"].update(unsaved=flood))
    night.say("Next")
    assert _entries(store) == genuine


def test_genuine_entries_riding_in_the_session_are_stored_when_the_table_is_back(
    night: Conversation, store: MemoryStore
) -> None:
    # The first answer writes no log entry alone (issue 23: it rides to the next turn), so
    # the first save is the first "Next"'s, and it fails.
    store.fail_saves = 1
    night.cramp("CALF", helper="PARTNER")
    night.say("Next")
    assert _entries(store) == []
    night.say("Next")
    stored = _entries(store)
    assert [e["muscle"] for e in stored] == ["CALF"], "the entry rode in the session, checked"


# ------------------------------------------------------------------ the envelope itself
def _lambda_skill(monkeypatch: pytest.MonkeyPatch, skill_id: str | None) -> Any:
    if skill_id:
        monkeypatch.setenv("SKILL_ID", skill_id)
    else:
        monkeypatch.delenv("SKILL_ID", raising=False)
    return build_skill(store_factory=NullStore)


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e.pop("context"),
        lambda e: e["context"].pop("System"),
        lambda e: e["context"]["System"].pop("application"),
        lambda e: e["context"]["System"]["application"].pop("applicationId"),
        lambda e: e["context"]["System"]["application"].update(applicationId="amzn1.ask.skill.x"),
        lambda e: e["session"]["application"].update(applicationId="amzn1.ask.skill.x"),
        lambda e: e["context"].update(System=[]),
        lambda e: e.update(context="nope"),
    ],
)
def test_with_a_skill_id_set_a_request_not_naming_it_is_refused(
    monkeypatch: pytest.MonkeyPatch, change: Any
) -> None:
    skill = _lambda_skill(monkeypatch, SKILL_ID)
    envelope = Session().intent("CrampIntent", T0, {"muscle": ("calf", "CALF")})
    change(envelope)
    assert handle_envelope(skill, envelope) == REFUSED_ENVELOPE


def test_with_a_skill_id_set_the_genuine_request_is_answered(
    monkeypatch: pytest.MonkeyPatch, content: Content
) -> None:
    skill = _lambda_skill(monkeypatch, SKILL_ID)
    envelope = Session().intent("CrampIntent", T0, {"muscle": ("calf", "CALF")})
    assert Turn(handle_envelope(skill, envelope)).speech.startswith(
        content.muscles["CALF"].partner[0].text
    )


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize("where", ["junk", "cramp"])
def test_deeply_nested_attributes_start_afresh_calmly(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    skill = _lambda_skill(monkeypatch, SKILL_ID)
    envelope = Session().launch(T0)
    envelope["session"]["attributes"] = {where: _nested(5_000)}
    turn = Turn(handle_envelope(skill, envelope))
    assert turn.speech.startswith("Which muscle")
    assert set(turn.raw["sessionAttributes"]) == {"cramp"}, "a client's keys are not echoed"


def test_an_envelope_nested_deeper_than_alexa_ever_sends_gets_the_calm_answer(
    monkeypatch: pytest.MonkeyPatch, content: Content
) -> None:
    skill = _lambda_skill(monkeypatch, None)
    envelope = Session().launch(T0)
    envelope["request"]["extra"] = _nested(5_000)
    turn = Turn(handle_envelope(skill, envelope))
    assert turn.speech == content.phrase("error") and not turn.ended


@pytest.mark.parametrize("place", ["session", "request", "context"])
def test_a_reserved_key_alexa_never_sends_gets_the_calm_answer(
    monkeypatch: pytest.MonkeyPatch, content: Content, place: str
) -> None:
    """ "__dict__" would wipe the SDK model object's fields (the fuzz found it in a session)."""
    skill = _lambda_skill(monkeypatch, None)
    envelope = Session().launch(T0)
    envelope.setdefault(place, {})["__dict__"] = {}
    turn = Turn(handle_envelope(skill, envelope))
    assert turn.speech == content.phrase("error") and not turn.ended


def test_a_slot_longer_than_anyone_says_asks_the_safe_question(
    talk: Conversation, content: Content
) -> None:
    talk.cramp("CALF", helper="PARTNER")
    turn = talk.say("CrampIntent", muscle=("calf " * 100_000, "CALF"))
    assert content.safety_check.text in turn.speech
    assert turn.state["muscle"] == "CALF" and turn.state["question"] == "leg"


# ------------------------------------------------------------------ fuzz: zero escapes
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
PATHS = [
    (), ("version",), ("session",), ("session", "attributes"), ("session", "attributes", "cramp"),
    ("session", "attributes", "cramp", "ctx"), ("session", "attributes", "cramp", "phase"),
    ("session", "attributes", "cramp", "ctx", "unsaved"),
    ("session", "attributes", "cramp", "ctx", "prior_lock"),
    ("session", "attributes", "cramp", "phase", "routine"), ("session", "application"),
    ("session", "user"), ("context",), ("context", "System"), ("context", "System", "application"),
    ("context", "System", "user"), ("context", "System", "device"), ("request",),
    ("request", "type"), ("request", "locale"), ("request", "timestamp"), ("request", "intent"),
    ("request", "intent", "name"), ("request", "intent", "slots"),
    ("request", "intent", "slots", "muscle"), ("request", "intent", "slots", "muscle", "value"),
]  # fmt: skip


def _mid_routine_envelope() -> dict[str, Any]:
    talk = Conversation(build_skill(store_factory=NullStore))
    talk.cramp("CALF", helper="PARTNER")
    talk.say("Next")
    return talk.session.intent("AMAZON.RepeatIntent", T0 + 30)


def _bases() -> list[dict[str, Any]]:
    """Every kind of request the skill handles, as Alexa sends it, mid-routine where it can be."""
    routine = _mid_routine_envelope()
    session = Session()
    can_fulfill = session.intent("CrampIntent", T0, {"muscle": ("calf", "CALF")})
    can_fulfill["request"]["type"] = "CanFulfillIntentRequest"
    can_fulfill.pop("session")
    tap = copy.deepcopy(routine)
    tap["request"] = {**tap["request"], "type": "Alexa.Presentation.APL.UserEvent",
                      "arguments": ["next"], "source": {}, "token": "cramp-coach"}  # fmt: skip
    tap["request"].pop("intent")
    ended = copy.deepcopy(routine)
    ended["request"] = session.session_ended(T0 + 40)["request"]
    return [routine, session.launch(T0), can_fulfill, tap, ended, session.skill_disabled(T0)]


BASES = _bases()


def _replace(envelope: dict[str, Any], path: tuple[str, ...], value: Any) -> Any:
    if not path:
        return value
    holder: Any = envelope
    for name in path[:-1]:
        if not isinstance(holder, dict) or not isinstance(holder.get(name), dict):
            return envelope
        holder = holder[name]
    if isinstance(holder, dict):
        if value is ...:
            holder.pop(path[-1], None)
        else:
            holder[path[-1]] = value
    return envelope


@dataclass(frozen=True)
class Deep:
    levels: int


DEPTHS = st.sampled_from([20, 60, 500, 3_000])


@pytest.mark.parametrize("skill_id", [SKILL_ID, None])
def test_fuzzed_envelopes_never_raise(
    monkeypatch: pytest.MonkeyPatch, skill_id: str | None
) -> None:
    skill = _lambda_skill(monkeypatch, skill_id)

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.integers(0, len(BASES) - 1),
        st.lists(
            st.tuples(st.sampled_from(PATHS), st.just(...) | JSON | st.builds(Deep, DEPTHS)),
            min_size=1,
            max_size=4,
        ),
    )
    def run(base: int, changes: list[tuple[tuple[str, ...], Any]]) -> None:
        envelope: Any = copy.deepcopy(BASES[base])
        for path, value in changes:
            if isinstance(value, Deep):
                value = _nested(value.levels)  # deep nesting anywhere
            envelope = _replace(envelope, path, value)
        response = handle_envelope(skill, envelope)  # must not raise, whatever came in
        assert isinstance(response, dict)
        json.dumps(response)  # and Alexa can read what goes back
        if response == REFUSED_ENVELOPE:
            assert skill_id is not None
            return
        ssml = response["response"].get("outputSpeech", {}).get("ssml")
        if ssml:
            check_ssml(ssml)
            assert "attacker" not in ssml
        assert set(response.get("sessionAttributes") or {}) <= {"cramp"}

    run()


def test_the_user_key_is_what_the_store_sees(night: Conversation, store: MemoryStore) -> None:
    """The store is keyed by the salted hash, never the Alexa user id (unchanged by the gate)."""
    night.cramp("CALF", helper="PARTNER")
    night.say("Next")  # the entry is written by the session's second turn (issue 23)
    assert store.load(user_key(USER_ID), T0 + 10).recent_muscles == ["CALF"]


def test_the_session_carries_no_more_entries_than_one_save_writes() -> None:
    from cramp_coach.core.state import MAX_UNSAVED
    from cramp_coach.memory import MAX_ENTRIES_PER_SAVE

    assert MAX_UNSAVED == MAX_ENTRIES_PER_SAVE
