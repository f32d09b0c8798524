"""Issue 21: a warning that is never lost, never weakened, and lets the right person back in.

Real parts only where the store is concerned: moto's server on loopback (behind
tests/trickle_server.py's misbehaving proxy), real SQLite files, real spool files. Every
assertion is on what a listener hears or on what is stored.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import lock_faults
from cramp_coach.alexa.handle import handle_envelope
from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import Content, load_content
from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.memory import user_key
from cramp_coach.memory.dynamodb import DynamoStore
from cramp_coach.memory.items import LOCK_SK
from cramp_coach.memory.sqlite import SqliteStore
from tests.conftest import T0, Conversation
from tests.dynamo_server import LoopbackMoto, create_table, items_of, moto_server
from tests.memory_store import MemoryStore
from tests.persistence_envelopes import Device
from tests.spoken import LEG_RUBS
from tests.trickle_server import TrickleProxy, proxy

__all__ = ["moto_server", "proxy"]  # fixtures, imported for pytest

CONTENT = load_content("en-US")
USER = "amzn1.ask.account.LOCKMEMORYUSER"
KEY = user_key(USER)
PE = CONTENT.red_flags["RF_PE"].script
DVT = CONTENT.red_flags["RF_DVT"].script
STEP1_PARTNER = CONTENT.muscles["CALF"].partner[0].text
STEP1_ALONE = CONTENT.muscles["CALF"].alone[0].text

pytestmark = pytest.mark.usefixtures("spool")


def text(ssml: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", ssml).split())


def flagged(night: Conversation, flag: str, helper: str = "PARTNER") -> None:
    """`flag` raised in one session about `helper`'s calf; then a new session begins."""
    night.cramp("CALF", helper=helper)
    night.symptom(flag)
    night.say("Stop")
    night.session.restart()


# ------------------------------------------------------------------ point 4: PROTOCOLS 4.1
def test_the_warning_records_who_it_was_about(night: Conversation, store: MemoryStore) -> None:
    flagged(night, "RF_DVT", helper="ALONE")
    assert store.lock is not None and store.lock["about"] == "speaker"


def test_about_the_other_person_no_gives_this_persons_steps(
    night: Conversation, content: Content
) -> None:
    flagged(night, "RF_PE", helper="PARTNER")  # "her": an emergency about the partner
    asked = night.cramp("CALF", helper="ALONE", after=3600)  # "my calf"
    assert PE in asked.speech and asked.speech.endswith(content.phrase("prior_same_person"))
    steps = night.say("No")
    assert steps.speech.startswith(STEP1_ALONE)


def test_about_the_other_person_yes_then_checked_since(night: Conversation) -> None:
    flagged(night, "RF_DVT", helper="PARTNER")
    night.cramp("CALF", helper="ALONE", after=3600)
    seen = night.say("Yes")  # the same person after all
    assert seen.speech == CONTENT.phrase("prior_seen") and seen.state["mode"] == "prior_check"
    steps = night.say("Yes")
    assert steps.speech.startswith(STEP1_ALONE)
    spoken = [steps.speech]
    for _ in range(7):
        spoken.append(night.say("Next").speech)
        calf_check = CONTENT.muscles["CALF"].check
        if (calf_check.text if calf_check else CONTENT.safety_check.text) in spoken[-1]:
            spoken.append(night.say("No").speech)
    assert not any(rub in s for s in spoken for rub in LEG_RUBS), "never a rub within 12 h"
    assert any(CONTENT.phrase("skip_rub_clot") in s for s in spoken), spoken


@pytest.mark.parametrize("answer", ["No", "FallbackIntent", "DontKnowIntent"])
def test_same_person_not_checked_or_unclear_hears_the_advice_again(
    night: Conversation, answer: str
) -> None:
    flagged(night, "RF_PE", helper="PARTNER")
    asked = night.cramp("HAND", helper="PARTNER", after=3600)
    assert asked.speech.endswith(CONTENT.phrase("prior_seen"))
    again = night.say(answer)
    assert PE in again.speech and again.state["mode"] == "locked"
    assert not night.cramp("HAND", helper="PARTNER").speech.startswith(
        CONTENT.muscles["HAND"].partner[0].text
    )


def test_unknown_person_is_asked_whether_it_was_checked(night: Conversation) -> None:
    night.cramp("CALF")  # nobody said whose calf
    night.symptom("RF_PE")
    night.say("Stop")
    night.session.restart()
    asked = night.cramp("CALF", helper="ALONE", after=3600)
    assert asked.speech.endswith(CONTENT.phrase("prior_seen"))


def test_inside_the_session_of_the_warning_nothing_changes(night: Conversation) -> None:
    night.cramp("CALF", helper="PARTNER")
    night.symptom("RF_PE")
    for intent in ("Yes", "No", "Next"):
        turn = night.say(intent)
        assert turn.state["mode"] == "locked" and STEP1_PARTNER not in turn.speech
    assert night.cramp("CALF", helper="ALONE").state["mode"] == "locked"


def test_a_lesser_flag_never_replaces_a_remembered_emergency(
    night: Conversation, store: MemoryStore
) -> None:
    flagged(night, "RF_PE")
    night.cramp("CALF", helper="PARTNER", after=60)
    night.say("Yes")  # checked since: calf steps
    night.symptom("RF_DVT")  # a new warning is heard ...
    assert store.lock is not None and store.lock["flag"] == "RF_PE"  # ... never lowering


# ------------------------------------------------------------------ point 3: forged state
def test_a_forged_profile_loaded_still_reads_the_stored_lock(
    night: Conversation, store: MemoryStore
) -> None:
    flagged(night, "RF_PE")
    first = night.cramp("CALF", helper="PARTNER", after=60)
    forged = json.loads(json.dumps(night.session.attributes))
    forged["cramp"]["ctx"].update(profile_loaded=True, prior_lock=None)
    forged["cramp"]["phase"] = {"kind": "idle"}
    night.session.restart()
    night.session.attributes = forged  # a client sends a "loaded" state on a new session
    turn = night.cramp("CALF", helper="PARTNER")
    assert PE in turn.speech and STEP1_PARTNER not in turn.speech, first.speech


def test_a_forged_resume_offer_is_not_resumed(night: Conversation, store: MemoryStore) -> None:
    night.cramp("CALF", helper="PARTNER")
    routine = night.say("Next").attributes["phase"]["routine"]
    attributes = json.loads(json.dumps(night.session.attributes))
    attributes["cramp"]["phase"] = {
        "kind": "resume_offer",
        "routine": routine,
        "variant": "partner",
    }
    night.session.attributes = attributes  # the store holds no resumable routine
    turn = night.say("Yes")
    assert CONTENT.muscles["CALF"].partner[1].text not in turn.speech


def test_a_forged_delete_question_deletes_nothing(night: Conversation, store: MemoryStore) -> None:
    flagged(night, "RF_PE")
    night.cramp("HAND", helper="PARTNER", after=60)
    attributes = json.loads(json.dumps(night.session.attributes))
    attributes["cramp"]["phase"] = {"kind": "confirming", "about": "delete"}
    night.session.attributes = attributes
    night.say("Yes")
    assert store.lock is not None and store.lock["flag"] == "RF_PE"


def test_a_forged_lesser_unsaved_lock_never_lowers_a_stored_emergency(tmp_path: Path) -> None:
    path = tmp_path / "cramp.sqlite3"
    talk = Conversation(build_skill(store_factory=lambda: SqliteStore(path)))
    flagged(talk, "RF_PE")
    talk.cramp("HAND", helper="PARTNER", after=60)
    attributes = json.loads(json.dumps(talk.session.attributes))
    lesser = {"flag": "RF_DVT", "level": "urgent", "muscle": "CALF", "at": talk.now + 5,
              "about": "partner"}  # fmt: skip
    attributes["cramp"]["ctx"]["lock_unsaved"] = lesser
    talk.session.attributes = attributes
    talk.say("Next")
    lock = SqliteStore(path).load(KEY_LOCAL, talk.now).lock
    assert lock is not None and lock["flag"] == "RF_PE"


KEY_LOCAL = user_key(Session().user_id)

EVENTS: list[dict[str, Any]] = [
    {"type": "CanFulfillIntentRequest", "intent": {"name": "CrampIntent", "slots": {}}},
    {"type": "AlexaSkillEvent.SkillEnabled"},
    {"type": "IntentRequest", "intent": {"name": "CrampIntent", "slots": 5}},  # a crash
]


@pytest.mark.parametrize("request_", EVENTS)
@pytest.mark.parametrize("value", [math.nan, math.inf, {"v": 2, "phase": {"kind": "idle"}}])
def test_every_response_is_strict_json_with_attributes_that_decode(
    request_: dict[str, Any], value: Any
) -> None:
    session = Session()
    envelope = session.intent("CrampIntent", T0, {"muscle": ("calf", "CALF")})
    envelope["request"] = {**envelope["request"], **request_}
    envelope["session"]["new"] = False
    envelope["session"]["attributes"] = {"cramp": {"v": 2, "phase": {"kind": "idle"},
                                                   "ctx": {"x": value}}}  # fmt: skip
    response = handle_envelope(build_skill(store_factory=MemoryStore), envelope)
    json.loads(json.dumps(response, allow_nan=False))  # strict JSON
    assert "cramp" not in (response.get("sessionAttributes") or {})


# ------------------------------------------------------------------ point 6: memory unread
def test_with_memory_unreadable_the_steps_carry_one_safety_line(
    night: Conversation, store: MemoryStore
) -> None:
    store.fail_loads = 2
    first = night.cramp("CALF", helper="PARTNER")
    line = CONTENT.phrase("memory_unread")
    assert first.speech.startswith(STEP1_PARTNER)
    assert first.speech.endswith(f"{line} {CONTENT.phrase('prompt_next')}")  # after the action
    assert line not in night.say("Next").speech  # once per session


# ------------------------------------------------------------------ point 2: monotonic
def backends(moto: LoopbackMoto, tmp_path: Path) -> list[Any]:
    table = create_table(moto.endpoint)
    return [
        lambda: SqliteStore(tmp_path / "mono.sqlite3"),
        lambda: DynamoStore(table, endpoint_url=moto.endpoint),
    ]


def test_concurrent_sessions_never_lower_a_lock(moto_server: LoopbackMoto, tmp_path: Path) -> None:
    """Device B (calf steps) and device A race: A raises RF-PE while B says "her calf is
    swollen" (RF-DVT), ten times over, on SQLite and on DynamoDB: 0 downgrades."""
    downgrades = 0
    for factory in backends(moto_server, tmp_path):
        for n in range(10):
            user = f"amzn1.ask.account.RACE{n}"
            skill = build_skill(store_factory=factory)
            a, b = Device(skill, user), Device(skill, user)
            b.cramp(T0 + n)
            a.cramp(T0 + n)
            go = threading.Barrier(2)

            def pe(a: Device = a, go: threading.Barrier = go, at: float = T0 + n) -> None:
                go.wait()
                a.intent("SymptomIntent", at + 10, symptom=("she can't breathe", "RF_PE"))

            def dvt(b: Device = b, go: threading.Barrier = go, at: float = T0 + n) -> None:
                go.wait()
                b.intent("SymptomIntent", at + 11, symptom=("her calf is swollen", "RF_DVT"))

            threads = [threading.Thread(target=pe), threading.Thread(target=dvt)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            lock = factory().load(user_key(user), T0 + n + 60).lock
            downgrades += lock is None or lock["flag"] != "RF_PE"
    assert downgrades == 0


def test_a_request_dated_ahead_purges_nothing(tmp_path: Path) -> None:
    path = tmp_path / "purge.sqlite3"
    store = SqliteStore(path)
    now = time.time()
    lock = {"flag": "RF_PE", "level": "emergency", "muscle": None, "at": now, "about": "unknown"}
    store.save(KEY, now, entries=[], prefs={}, resume=None, clear_resume=False,
               freq_advised=False, lock=lock)  # fmt: skip
    store.load("0" * 64, now + 13 * 3600)  # another user's request, dated 13 hours ahead
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM items WHERE sk = ?", (LOCK_SK,)).fetchone()[0]


# ------------------------------------------------------------------ points 1 and 7
FAULTS = ("refuse", "throttle", "hang", "trickle")
ENDS = ("goodbye", "session_ended", "nothing")


def lock_matrix_case(store_factory: Any, fault: Any, heal: Any, end: str, recovered: bool) -> bool:
    """One case of the fault matrix (the same one `python -m bench.lock_faults` times): True
    when steps were spoken after the stopping flag."""
    steps_spoken, _ = lock_faults.case(
        store_factory, fault, heal, end, recovered, USER, next_env=lambda: None
    )
    return steps_spoken


@pytest.mark.parametrize("recovered", [False, True])
@pytest.mark.parametrize("end", ENDS)
def test_fault_matrix_dynamodb_self_hosted(
    moto_server: LoopbackMoto, proxy: TrickleProxy, end: str, recovered: bool
) -> None:
    """A lock raised while the table refuses: no steps next session, however it ended."""
    table = create_table(moto_server.endpoint)
    proxy.interval, proxy.limit = 0.5, None

    def fault() -> None:
        proxy.mode = "refuse"

    def heal() -> None:
        proxy.mode = "pass"

    factory = lambda: DynamoStore(table, endpoint_url=proxy.endpoint)  # noqa: E731
    assert not lock_matrix_case(factory, fault, heal, end, recovered)
    if recovered:
        assert any(i["sk"]["S"] == LOCK_SK for i in items_of(moto_server.endpoint, table, KEY))


@pytest.mark.parametrize("mode", ["hang", "throttle"])
def test_fault_matrix_slow_faults_with_nothing_after(
    moto_server: LoopbackMoto, proxy: TrickleProxy, mode: str
) -> None:
    table = create_table(moto_server.endpoint)

    def fault() -> None:
        proxy.mode = mode

    factory = lambda: DynamoStore(table, endpoint_url=proxy.endpoint)  # noqa: E731
    assert not lock_matrix_case(factory, fault, lambda: None, "nothing", False)


@pytest.fixture
def lambda_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The deployed function's environment; its self-invocation fails (nothing listens)."""
    from cramp_coach.hosting.local.loopback import free_port

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "cramp-skill")
    monkeypatch.setenv("CRAMP_USER_SALT", "lock-memory-test-salt")
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("CRAMP_SPOOL_PATH", str(tmp_path / "tmp" / "deferred.sqlite3"))
    yield


@pytest.mark.parametrize("end", ENDS)
def test_fault_matrix_lambda_same_environment(
    moto_server: LoopbackMoto, proxy: TrickleProxy, lambda_mode: None, end: str
) -> None:
    table = create_table(moto_server.endpoint)

    def fault() -> None:
        proxy.mode = "refuse"

    factory = lambda: DynamoStore(table, endpoint_url=proxy.endpoint)  # noqa: E731
    assert not lock_matrix_case(factory, fault, lambda: None, end, False)


@pytest.mark.parametrize("end", ["nothing"])  # the other ends: bench/lock_faults.py
def test_fault_matrix_sqlite_file_locked(tmp_path: Path, end: str) -> None:
    path = tmp_path / "data" / "cramp-coach.sqlite3"
    SqliteStore(path).load(KEY, T0)  # the file exists
    holder = sqlite3.connect(path, isolation_level=None)

    def fault() -> None:
        holder.execute("BEGIN EXCLUSIVE")

    try:
        assert not lock_matrix_case(lambda: SqliteStore(path), fault, lambda: None, end, False)
    finally:
        holder.close()


def test_a_request_that_waited_gets_the_calm_fallback_at_once() -> None:
    from cramp_coach.hosting.arrival import ARRIVED_KEY, TurnClock

    called: list[bool] = []
    clock = TurnClock(lambda environ, start: called.append(True) or [b""])
    body = json.dumps(Session().launch(T0)).encode()
    started: list[str] = []
    import io

    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        ARRIVED_KEY: time.monotonic() - 6.0,
    }
    answer = b"".join(clock(environ, lambda status, headers: started.append(status)))
    assert not called and started == ["200 OK"]
    assert "something went wrong" in json.loads(answer)["response"]["outputSpeech"]["ssml"]


def _strict(raw: bytes) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"not JSON: {name}")

    return json.loads(raw, parse_constant=refuse)


@pytest.mark.parametrize("request_", EVENTS)
def test_the_web_service_answers_strict_json_too(request_: dict[str, Any]) -> None:
    from cramp_coach.hosting.webservice import create_app

    app = create_app(build_skill(store_factory=MemoryStore), verify=False)
    envelope = Session().intent("CrampIntent", T0, {"muscle": ("calf", "CALF")})
    envelope["request"] = {**envelope["request"], **request_}
    envelope["session"]["new"] = False
    envelope["session"]["attributes"] = {"cramp": {"v": 2, "phase": {"kind": "idle"},
                                                   "ctx": {"x": math.nan}}}  # fmt: skip
    answer = app.test_client().post("/", data=json.dumps(envelope))  # "NaN" in the body
    assert answer.status_code in (200, 400)  # the malformed one is refused before the skill
    assert "cramp" not in (_strict(answer.data).get("sessionAttributes") or {})


def test_the_web_service_with_its_store_locked_answers_in_time() -> None:
    """`cramp-coach serve` for real (2 threads), the SQLite file's write lock held by another
    process, 8 requests at once: each turn's budget counts from its arrival, so the requests
    that waited for a thread skip the store instead of waiting on it again (before: up to 6 s)."""
    from bench.locked_store import run

    figures = run(requests=8, threads=2, code=None)
    assert figures["ok"] == figures["steps"] == figures["safety_line"] == 8, figures
    assert figures["within_budget"] == 8 and figures["max_s"] < 8.0, figures


def _lock(flag: str, level: str, at: float) -> dict[str, Any]:
    return {"flag": flag, "level": level, "muscle": "CALF", "at": at, "about": "partner"}


@pytest.mark.parametrize(
    "first,second,kept",
    [
        (("RF_PE", "emergency", 0), ("RF_DVT", "urgent", 60), "RF_PE"),  # never lowered
        (("RF_DVT", "urgent", 0), ("RF_PE", "emergency", 60), "RF_PE"),  # raised
        (("RF_DVT", "urgent", 0), ("RF_LONG", "urgent", 60), "RF_LONG"),  # renewed
        (("RF_DVT", "urgent", 60), ("RF_LONG", "urgent", 0), "RF_DVT"),  # an older copy: no
        (("RF_PE", "emergency", -13 * 3600), ("RF_DVT", "urgent", 0), "RF_DVT"),  # expired
    ],
)
def test_the_stores_write_the_lock_monotonically(
    moto_server: LoopbackMoto, tmp_path: Path, first: Any, second: Any, kept: str
) -> None:
    now = time.time()
    for factory in backends(moto_server, tmp_path):
        store = factory()
        for flag, level, offset in (first, second):
            store.save(KEY, now + 120, entries=[], prefs={}, resume=None, clear_resume=False,
                       freq_advised=False, lock=_lock(flag, level, now + offset))  # fmt: skip
        lock = store.load(KEY, now + 120).lock
        assert lock is not None and lock["flag"] == kept, (type(store).__name__, lock)


def test_the_chat_says_a_warning_is_remembered_and_how_to_forget_it(tmp_path: Path) -> None:
    import io

    from cramp_coach.hosting.local.chat import run

    path = tmp_path / "data" / "cramp-coach.sqlite3"
    skill = build_skill(store_factory=lambda: SqliteStore(path))
    out = io.StringIO()
    run(skill, ["tell cramp coach her calf is cramping and she can't breathe", "stop"], out,
        interactive=False, store_factory=lambda: SqliteStore(path))  # fmt: skip
    assert "Remembered" not in out.getvalue()
    again = io.StringIO()
    run(skill, ["/forget"], again, interactive=False, store_factory=lambda: SqliteStore(path))
    said = again.getvalue()
    assert said.startswith("(Remembered: a warning from the last 12 hours")
    assert "delete my history" in said and "/forget" in said
    last = io.StringIO()
    run(skill, ["tell cramp coach my calf is cramping"], last, interactive=False,
        store_factory=lambda: SqliteStore(path))  # fmt: skip
    assert "Remembered" not in last.getvalue() and STEP1_ALONE in last.getvalue()


def test_a_genuine_state_with_additions_is_echoed_without_them() -> None:
    """A client copies a genuine sealed state and adds to it: the seal still holds for what
    decodes, and only that is echoed (strict JSON), on a request the conversation ignores."""
    skill = build_skill(store_factory=MemoryStore)
    session = Session()
    session.absorb(
        handle_envelope(skill, session.intent("CrampIntent", T0, {"muscle": ("calf", "CALF")}))
    )
    genuine = json.loads(json.dumps(session.attributes["cramp"]))
    envelope = session.intent("CrampIntent", T0 + 5, {"muscle": ("calf", "CALF")})
    envelope["request"]["type"] = "CanFulfillIntentRequest"
    envelope["session"]["attributes"] = {
        "cramp": {**genuine, "extra": math.nan, "ctx": {**genuine["ctx"], "last_speech": "x" * 9}}
    }
    response = handle_envelope(skill, envelope)
    echoed = _strict(json.dumps(response).encode())["sessionAttributes"]["cramp"]
    assert echoed == genuine


ROUTINE = {"muscle": "CALF", "started_at": T0 + 3600, "rid": "0123456789ab", "step": 2}
FORGED_PHASES: list[dict[str, Any]] = [
    {"kind": "idle"},
    {"kind": "asking_muscle"},
    {"kind": "routine", "routine": ROUTINE},
    {"kind": "paused", "routine": ROUTINE},
    {"kind": "resume_offer", "routine": ROUTINE, "variant": "partner"},
    {"kind": "checking", "about": "leg", "muscle": "CALF"},
    {"kind": "prior_check", "question": "seen", "muscle": "CALF"},
    {"kind": "confirming", "about": "delete"},
    {"kind": "finished"},
]
FORGED_CTX: list[dict[str, Any]] = [
    {"profile_loaded": True},
    {"profile_loaded": True, "prior_answer": "seen", "prior_lock_heard": True},
]


@pytest.mark.parametrize("ctx", FORGED_CTX)
@pytest.mark.parametrize("phase", FORGED_PHASES, ids=lambda p: p["kind"])
@pytest.mark.parametrize("then", ["Yes", "Next", "Resume"])
def test_no_forged_state_leads_to_steps_or_drops_the_lock(
    night: Conversation, store: MemoryStore, phase: dict[str, Any], ctx: dict[str, Any], then: str
) -> None:
    """A stored emergency; a later session whose attributes claim anything at all: no steps
    follow, and the stored lock stays."""
    flagged(night, "RF_PE")
    night.session.attributes = {"cramp": {"v": 2, "phase": phase, "ctx": ctx}}
    night.session.new = False
    spoken = [night.say(then, after=3600).speech, night.say("Yes").speech]
    steps = [s.text for s in CONTENT.muscles["CALF"].partner]
    assert not any(step in said for said in spoken for step in steps), spoken
    assert store.lock is not None and store.lock["flag"] == "RF_PE"


@pytest.mark.parametrize("flag", ["RF_DVT", "RF_SWELL", "RF_ISCH"])
def test_checked_since_never_rubs_a_leg_flagged_for_a_clot_swelling_or_blood_supply(
    night: Conversation, store: MemoryStore, flag: str
) -> None:
    flagged(night, flag)
    assert store.lock is not None and store.lock["flag"] == flag
    asked = night.cramp("CALF", helper="PARTNER", after=600)
    assert asked.speech.endswith(CONTENT.phrase("prior_seen"))
    spoken = [night.say("Yes").speech]
    assert spoken[0].startswith(STEP1_PARTNER)
    for _ in range(7):
        spoken.append(night.say("Next").speech)
        calf_check = CONTENT.muscles["CALF"].check
        if (calf_check.text if calf_check else CONTENT.safety_check.text) in spoken[-1]:
            spoken.append(night.say("No").speech)
    assert not any(rub in s for s in spoken for rub in LEG_RUBS), spoken
    assert any(CONTENT.phrase("skip_rub_clot") in s for s in spoken), spoken
