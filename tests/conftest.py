"""Shared test helpers: drive the real skill with real request envelopes."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cramp_coach.alexa.handle import handle_envelope
from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import Content, load_content
from cramp_coach.core.speak import Speaker
from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.memory import NullStore
from tests.memory_store import MemoryStore

# No test asks Alexa's Settings API on the Internet: a test that wants it serves it on
# loopback and turns it on (tests/test_device_country.py); subprocesses inherit this.
os.environ.setdefault("CRAMP_SETTINGS_API", "off")

T0 = 1_795_230_000.0  # 2026-11-21 03:00 UTC: the middle of the night
MAX_SSML_CHARS = 8000
MAX_BREAK_MS = 10_000


def check_ssml(ssml: str) -> None:
    """What Alexa would reject: not XML, a break over 10 s, over 8000 characters."""
    assert ssml.startswith("<speak>") and ssml.endswith("</speak>"), ssml
    assert len(ssml) <= MAX_SSML_CHARS, f"{len(ssml)} characters"
    ET.fromstring(ssml)  # raises on malformed XML
    for value, unit in re.findall(r'<break time="(\d+)(ms|s)"', ssml):
        ms = int(value) * (1 if unit == "ms" else 1000)
        assert ms <= MAX_BREAK_MS, f"break of {ms} ms"


def advice(content: Content, flag: str) -> str:
    """How a red flag's advice begins when spoken: an emergency opens with the call and the
    locale's number, then the reason (core.speak.Speaker.advice)."""
    return Speaker(content).advice([flag])


def plain(ssml: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", ssml).split())


def flat_state(attributes: dict[str, Any]) -> dict[str, Any]:
    """The session state as a listener-facing summary: phase ("mode") and routine position."""
    phase = dict(attributes.get("phase") or {})
    ctx = dict(attributes.get("ctx") or {})
    routine = dict(phase.get("routine") or {})
    return {
        "mode": phase.get("kind", "idle"),
        "phase": phase,
        "muscle": routine.get("muscle"),
        "step": routine.get("step", 0),
        "track": routine.get("track"),
        "check": routine.get("check"),
        "question": routine.get("question"),
        "started_at": routine.get("started_at"),
        "red_flag": phase.get("flag"),
        "variant": ctx.get("variant"),
        "flags": ctx.get("flags", []),
        "ctx": ctx,
    }


class Turn:
    def __init__(self, response: dict[str, Any]) -> None:
        self.raw = response
        body = response.get("response", {})
        self.ssml: str = body.get("outputSpeech", {}).get("ssml", "")
        self.speech = plain(self.ssml)
        self.reprompt = plain(body.get("reprompt", {}).get("outputSpeech", {}).get("ssml", ""))
        self.ended: bool = bool(body.get("shouldEndSession"))
        self.attributes: dict[str, Any] = (response.get("sessionAttributes") or {}).get("cramp", {})
        self.state = flat_state(self.attributes)
        if self.ssml:
            check_ssml(self.ssml)
        reprompt_ssml = body.get("reprompt", {}).get("outputSpeech", {}).get("ssml")
        if reprompt_ssml:
            check_ssml(reprompt_ssml)


class Conversation:
    """A listener talking to the skill: each call is one turn, seconds apart."""

    def __init__(self, skill: Any, start: float = T0) -> None:
        self.skill = skill
        self.session = Session()
        self.now = start

    def send(self, envelope: dict[str, Any]) -> Turn:
        response = handle_envelope(self.skill, envelope)
        self.session.absorb(response)
        return Turn(response)

    def launch(self, after: float = 5) -> Turn:
        self.now += after
        return self.send(self.session.launch(self.now))

    def say(self, intent: str, after: float = 5, **slots: tuple[str, str | None]) -> Turn:
        self.now += after
        name = intent if "." in intent or intent.endswith("Intent") else f"AMAZON.{intent}Intent"
        return self.send(self.session.intent(name, self.now, dict(slots)))

    def cramp(
        self, muscle: str, heard: str | None = None, helper: str | None = None, after: float = 5
    ) -> Turn:
        slots: dict[str, tuple[str, str | None]] = {"muscle": (heard or muscle.lower(), muscle)}
        if helper:
            slots["helper"] = ("her" if helper == "PARTNER" else "my", helper)
        return self.say("CrampIntent", after, **slots)

    def symptom(self, symptom: str, after: float = 5) -> Turn:
        return self.say("SymptomIntent", after, symptom=(symptom.lower(), symptom))

    def end(self, after: float = 16) -> Turn:
        self.now += after
        return self.send(self.session.session_ended(self.now))


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content("en-US")


@pytest.fixture
def skill() -> Any:
    return build_skill(store_factory=NullStore)


@pytest.fixture
def talk(skill: Any) -> Iterator[Conversation]:
    yield Conversation(skill)


@pytest.fixture
def store() -> MemoryStore:
    """A store in memory that outlives sessions (the 12-hour lock, the cramp log)."""
    return MemoryStore()


@pytest.fixture
def night(store: MemoryStore) -> Conversation:
    """A listener whose sessions share `store`."""
    return Conversation(build_skill(store_factory=lambda: store))


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Deferred writes (and the lock's write-ahead) go to a file of the test's own."""
    path = tmp_path / "spool" / "deferred.sqlite3"
    monkeypatch.setenv("CRAMP_SPOOL_PATH", str(path))
    return path
