"""Property-based fuzzing of the web app with malformed, truncated and unicode-heavy envelopes.

Signature verification is off here (the point is the parsing and dispatch path behind it),
through the Flask test client for speed; the skill-id check runs with SKILL_ID set and is
absent with it unset, as in the two ways the service is configured. Whatever arrives: never a
5xx, never a traceback in the body, always a JSON body; a 200 is always a well-formed Alexa
response. A second fuzz takes the envelope apart where the skill id lives (context,
context.System, application, session.application: missing, null, wrong types, another id)
and nests values hundreds deep: with SKILL_ID set, a request that does not name this skill in
context.System.application (or names another in session.application) is a 400 and the skill
never runs.

The number of envelopes tried is printed (see it with -s) and recorded as the
`fuzz_examples` user property (in --junitxml reports). FUZZ_EXAMPLES overrides the budget.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cramp_coach.alexa.skill import build_skill
from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.hosting.webservice import MAX_JSON_DEPTH, create_app
from cramp_coach.memory import NullStore

SKILL_ID = "amzn1.ask.skill.fuzz"
T = 1_795_230_000.0
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5000"))

# Strings that tend to break things: unicode planes, controls, RTL marks, NULs, long runs.
nasty_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40
) | st.sampled_from(
    [
        "",
        "\x00",
        "\u202e",
        "🦵" * 50,
        "\uff43\uff41\uff4c\uff46",
        "Ca\u0301lf",
        "%s%n",
        "${jndi:x}",
        "\ufeff",
        "null",
        "NaN",
        "-1",
        "1e999",
        "<speak>",
        "]]>",
        "\\u0000",
        "x" * 3000,
    ]
)

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | nasty_text
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(nasty_text, inner, max_size=4),
    max_leaves=12,
)

REQUEST_TYPES = [
    "LaunchRequest",
    "IntentRequest",
    "SessionEndedRequest",
    "AlexaSkillEvent.SkillDisabled",
    "AlexaSkillEvent.SkillEnabled",
    "Display.ElementSelected",
    "CanFulfillIntentRequest",
    "Connections.Response",
    "System.ExceptionEncountered",
    "Nope",
]
INTENTS = [
    "CrampIntent",
    "ClarifyIntent",
    "SymptomIntent",
    "VoiceIntent",
    "AMAZON.NextIntent",
    "AMAZON.StopIntent",
    "AMAZON.HelpIntent",
    "NotAnIntent",
]


def _base_envelopes() -> list[dict[str, Any]]:
    session = Session(skill_id=SKILL_ID)
    return [
        session.launch(T),
        session.intent(
            "CrampIntent", T, {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
        ),
        session.intent("ClarifyIntent", T, {"part": ("front", "FRONT")}),
        session.intent("SymptomIntent", T, {"symptom": ("swollen", "RF_DVT")}),
        session.intent("AMAZON.NextIntent", T),
        session.session_ended(T),
        session.skill_disabled(T),
    ]


BASES = _base_envelopes()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _replace(node: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = dict(node) if isinstance(node, dict) else list(node)
    if delete and not rest:
        del copy[head]
        return copy
    copy[head] = _replace(node[head], rest, value, delete)
    return copy


@st.composite
def mutated_envelope(draw: st.DrawFn) -> bytes:
    """A real envelope with a few nodes replaced by junk or deleted."""
    envelope: Any = draw(st.sampled_from(BASES))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(envelope))[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        delete = draw(st.booleans())
        envelope = _replace(envelope, path, draw(json_value), delete)
    return json.dumps(envelope, ensure_ascii=draw(st.booleans())).encode("utf-8")


@st.composite
def plausible_envelope(draw: st.DrawFn) -> bytes:
    """Well-formed shape, unicode-heavy and random content: types, intents, slots, attributes."""
    envelope: dict[str, Any] = json.loads(json.dumps(draw(st.sampled_from(BASES))))
    request = envelope["request"]
    request["type"] = draw(st.sampled_from(REQUEST_TYPES) | nasty_text)
    request["locale"] = draw(st.sampled_from(["en-US", "de-DE", ""]) | nasty_text)
    # Mostly a valid timestamp, so that most of these reach the skill's handlers.
    request["timestamp"] = draw(
        st.sampled_from(
            ["2026-11-21T03:00:00Z"] * 6 + ["2026-13-45T99:00:00Z", "yesterday", "", "0"]
        )
    )
    request["intent"] = {
        "name": draw(st.sampled_from(INTENTS) | nasty_text),
        "confirmationStatus": "NONE",
        "slots": draw(
            st.dictionaries(
                nasty_text,
                st.fixed_dictionaries(
                    {"name": nasty_text, "value": nasty_text | st.none()},
                    optional={"resolutions": json_value},
                ),
                max_size=3,
            )
        ),
    }
    if "session" in envelope:
        envelope["session"]["attributes"] = draw(
            st.dictionaries(nasty_text, json_value, max_size=3)
            | st.fixed_dictionaries({"cramp": json_value})
        )
    return json.dumps(envelope, ensure_ascii=draw(st.booleans())).encode("utf-8")


@st.composite
def truncated_envelope(draw: st.DrawFn) -> bytes:
    raw = json.dumps(draw(st.sampled_from(BASES))).encode()
    return raw[: draw(st.integers(0, len(raw) - 1))]


PAYLOADS = st.one_of(
    mutated_envelope(),
    plausible_envelope(),
    truncated_envelope(),
    json_value.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    nasty_text.map(lambda s: s.encode("utf-8")),
)


def _nested(depth: int, leaf: Any, as_list: bool) -> Any:
    node = leaf
    for _ in range(depth):
        node = [node] if as_list else {"a": node}
    return node


# Fresh copies: one shared {} put in two places would make the envelope circular.
ODD_VALUES = st.sampled_from([None, [], {}, "", 0, 1.5, True, [SKILL_ID], {"x": SKILL_ID}]).map(
    lambda value: json.loads(json.dumps(value))
)
ID_VALUES = st.sampled_from([SKILL_ID, SKILL_ID.upper(), SKILL_ID + " ", "amzn1.ask.skill.other"])


@st.composite
def skill_id_envelope(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[int, bool, str] | None]:
    """A real envelope with the parts that name the skill removed, emptied or replaced, and
    maybe where to nest a value deep: (depth, as lists, where); nested by the test itself, so
    that hypothesis never has to print a 1000-deep example."""
    envelope: dict[str, Any] = json.loads(json.dumps(draw(st.sampled_from(BASES))))
    system = envelope["context"]["System"]
    edits = [
        lambda: envelope.pop("context"),
        lambda: envelope.update(context=draw(ODD_VALUES)),
        lambda: envelope["context"].pop("System"),
        lambda: envelope["context"].update(System=draw(ODD_VALUES)),
        lambda: system.pop("application"),
        lambda: system.update(application=draw(ODD_VALUES)),
        lambda: system["application"].pop("applicationId"),
        lambda: system["application"].update(applicationId=draw(ODD_VALUES | ID_VALUES)),
    ]
    if "session" in envelope:
        session = envelope["session"]
        edits += [
            lambda: session.pop("application"),
            lambda: session.update(application=draw(ODD_VALUES)),
            lambda: session["application"].update(applicationId=draw(ODD_VALUES | ID_VALUES)),
            lambda: envelope.update(session=draw(ODD_VALUES)),
        ]
    for index in draw(st.lists(st.integers(0, len(edits) - 1), max_size=3, unique=True)):
        # An earlier edit may have removed or replaced what this one edits.
        with contextlib.suppress(KeyError, AttributeError, TypeError):
            edits[index]()
    deep = None
    if draw(st.booleans()):
        deep = (
            draw(st.integers(1, 1200) | st.sampled_from([MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH])),
            draw(st.booleans()),
            draw(st.sampled_from(["attributes", "request", "top"])),
        )
    return envelope, deep


def _nest_into(envelope: dict[str, Any], depth: int, as_list: bool, where: str) -> None:
    deep = _nested(depth, 1, as_list)
    if where == "attributes" and isinstance(envelope.get("session"), dict):
        envelope["session"]["attributes"] = {"deep": deep}
    elif where == "request":
        envelope["request"]["deep"] = deep
    else:
        envelope["deep"] = deep


def _names_this_skill(envelope: dict[str, Any]) -> bool:
    """Amazon's rule, read straight off the JSON."""

    def application_id(holder: Any) -> Any:
        application = holder.get("application") if isinstance(holder, dict) else None
        return application.get("applicationId") if isinstance(application, dict) else None

    context = envelope.get("context")
    system = context.get("System") if isinstance(context, dict) else None
    if application_id(system) != SKILL_ID:
        return False
    session = envelope.get("session")
    if isinstance(session, dict) and isinstance(session.get("application"), dict):
        return application_id(session) == SKILL_ID
    return not (isinstance(session, dict) and session.get("application") is not None)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


class Quiet:
    """The skill logs every calm fallback with its traceback: keep the runs quiet and fast."""

    def __enter__(self) -> None:
        self.loggers = [
            logging.getLogger(n)
            for n in (
                "cramp_coach",
                "cramp_coach.access",
                "cramp_coach.hosting.webservice",
                "flask.app",
            )
        ]
        self.saved = [(logger, logger.disabled) for logger in self.loggers]
        for logger in self.loggers:
            logger.disabled = True

    def __exit__(self, *exc: object) -> None:
        for logger, disabled in self.saved:
            logger.disabled = disabled


@pytest.fixture(scope="module", params=["SKILL_ID set", "SKILL_ID unset"])
def client(request: pytest.FixtureRequest) -> FlaskClient:
    skill_id = SKILL_ID if request.param == "SKILL_ID set" else None
    app = create_app(build_skill(store_factory=NullStore), verify=False, skill_id=skill_id)
    return app.test_client()


@pytest.fixture(scope="module")
def guarded() -> tuple[FlaskClient, list[int]]:
    """SKILL_ID set, and a spy counting the requests the skill handles."""
    invoked: list[int] = []
    skill = build_skill(store_factory=NullStore)
    real_invoke = skill.invoke

    def invoke(*args: Any, **kwargs: Any) -> Any:
        invoked.append(1)
        return real_invoke(*args, **kwargs)

    skill.invoke = invoke  # type: ignore[method-assign]
    app = create_app(skill, verify=False, skill_id=SKILL_ID)
    return app.test_client(), invoked


def test_skill_id_and_deep_nesting_never_5xx(
    guarded: tuple[FlaskClient, list[int]], record_property: Any
) -> None:
    client, invoked = guarded
    tried = {"n": 0, "refused": 0}

    @settings(
        max_examples=max(200, MAX_EXAMPLES // 4),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(drawn=skill_id_envelope())
    def run(drawn: tuple[dict[str, Any], tuple[int, bool, str] | None]) -> None:
        tried["n"] += 1
        envelope, deep_spec = json.loads(json.dumps(drawn[0])), drawn[1]  # drawn stays printable
        if deep_spec is not None:
            _nest_into(envelope, *deep_spec)
        try:
            body = json.dumps(envelope).encode()
        except RecursionError:  # deeper than json itself can write: nothing to send
            return
        before = len(invoked)
        response = client.post("/", data=body, headers={"Content-Type": "application/json"})
        assert response.status_code < 500, (body[:300], response.data[:300])
        assert b"Traceback" not in response.data
        payload = json.loads(response.data)
        try:
            deep = _depth(envelope) > MAX_JSON_DEPTH
        except RecursionError:
            deep = True
        if deep or not _names_this_skill(envelope):
            tried["refused"] += 1
            assert response.status_code in (400, 413), (body[:300], payload)
            assert len(invoked) == before, "the skill ran on a request it must refuse"
        elif response.status_code == 200:
            assert payload["version"] == "1.0"

    with Quiet():
        run()
    print(f"fuzz_webservice skill ids: {tried['n']} tried, {tried['refused']} refused")
    record_property("fuzz_skill_id_examples", tried["n"])
    assert tried["refused"] > 0


def test_fuzzed_envelopes_never_5xx(client: FlaskClient, record_property: Any) -> None:
    tried = {"n": 0, "ok": 0}
    statuses: dict[int, int] = {}
    # The skill logs every calm fallback with its traceback: keep the run quiet and fast.
    quiet = [
        logging.getLogger(n)
        for n in (
            "cramp_coach",
            "cramp_coach.access",
            "cramp_coach.hosting.webservice",
            "flask.app",
        )
    ]
    levels = [(logger, logger.level, logger.disabled) for logger in quiet]
    for logger in quiet:
        logger.disabled = True
    started = time.monotonic()

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        body=PAYLOADS,
        content_type=st.sampled_from(
            [
                "application/json",
                "application/json; charset=utf-8",
                "text/plain",
                "application/x-www-form-urlencoded",
                "",
            ]
        ),
    )
    def run(body: bytes, content_type: str) -> None:
        tried["n"] += 1
        headers = {"Content-Type": content_type} if content_type else {}
        response = client.post("/", data=body, headers=headers)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (body[:300], response.data[:300])
        assert b"Traceback" not in response.data
        payload = json.loads(response.data)
        if response.status_code == 200:
            tried["ok"] += 1
            assert payload["version"] == "1.0"
            assert isinstance(payload["response"], dict)
        else:
            assert 400 <= response.status_code < 500
            assert "error" in payload

    try:
        run()
    finally:
        for logger, level, disabled in levels:
            logger.setLevel(level)
            logger.disabled = disabled
    elapsed = time.monotonic() - started
    summary = (
        f"fuzz_webservice: {tried['n']} envelopes tried in {elapsed:.1f} s, "
        f"{tried['ok']} answered 200, statuses {dict(sorted(statuses.items()))}"
    )
    print(summary)
    record_property("fuzz_examples", tried["n"])
    record_property("fuzz_statuses", json.dumps(statuses))
    assert tried["n"] >= min(MAX_EXAMPLES, 1000)
