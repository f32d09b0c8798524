"""Property-based fuzzing of the web app with malformed, truncated and unicode-heavy envelopes.

Verification is off here (the point is the parsing and dispatch path behind it), through
the Flask test client for speed. Whatever arrives: never a 5xx, never a traceback in the
body, always a JSON body; a 200 is always a well-formed Alexa response.

The number of envelopes tried is printed (see it with -s) and recorded as the
`fuzz_examples` user property (in --junitxml reports). FUZZ_EXAMPLES overrides the budget.
"""

from __future__ import annotations

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

from cramp_coach.local.envelopes import Session
from cramp_coach.persistence import NullStore
from cramp_coach.skill import build_skill
from cramp_coach.webservice import create_app

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


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    app = create_app(build_skill(store_factory=NullStore), verify=False)
    return app.test_client()


def test_fuzzed_envelopes_never_5xx(client: FlaskClient, record_property: Any) -> None:
    tried = {"n": 0, "ok": 0}
    statuses: dict[int, int] = {}
    # The skill logs every calm fallback with its traceback: keep the run quiet and fast.
    quiet = [
        logging.getLogger(n)
        for n in ("cramp_coach", "cramp_coach.access", "cramp_coach.webservice", "flask.app")
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
