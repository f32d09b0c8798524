"""Real Alexa request envelopes for the persistence tests, with explicit timestamps.

`Device` plays one Echo: it keeps the session (id and attributes) between turns the way Alexa
does, starts a new session after shouldEndSession, and times every turn around the handler.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ask_sdk_core.skill import CustomSkill

from cramp_coach.skill import handle_envelope

APP_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"
T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC).timestamp()  # a Monday, 2 a.m. UTC
MINUTE = 60.0
DAY = 24 * 3600.0
_ids = itertools.count(1)


def stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def slot(name: str, heard: str, slot_id: str | None, type_name: str) -> dict[str, Any]:
    """A slot as Alexa sends it, with entity resolution (no match when slot_id is None)."""
    authority = f"amzn1.er-authority.echo-sdk.{APP_ID}.{type_name}"
    resolution: dict[str, Any]
    if slot_id is None:
        resolution = {"authority": authority, "status": {"code": "ER_SUCCESS_NO_MATCH"}}
    else:
        resolution = {
            "authority": authority,
            "status": {"code": "ER_SUCCESS_MATCH"},
            "values": [{"value": {"name": heard, "id": slot_id}}],
        }
    return {
        "name": name,
        "value": heard,
        "confirmationStatus": "NONE",
        "source": "USER",
        "resolutions": {"resolutionsPerAuthority": [resolution]},
    }


def _context(user_id: str) -> dict[str, Any]:
    return {
        "System": {
            "application": {"applicationId": APP_ID},
            "user": {"userId": user_id},
            "device": {"deviceId": "amzn1.ask.device.TEST", "supportedInterfaces": {}},
            "apiEndpoint": "https://api.amazonalexa.com",
        }
    }


def envelope(
    request: dict[str, Any], user_id: str, session: dict[str, Any] | None
) -> dict[str, Any]:
    env: dict[str, Any] = {"version": "1.0", "context": _context(user_id), "request": request}
    if session is not None:
        env["session"] = session
    return env


def skill_disabled(user_id: str, ts: float) -> dict[str, Any]:
    """AlexaSkillEvent.SkillDisabled: sent out of session when the user disables the skill."""
    return envelope(
        {
            "type": "AlexaSkillEvent.SkillDisabled",
            "requestId": f"amzn1.echo-api.request.{next(_ids)}",
            "timestamp": stamp(ts),
            "eventCreationTime": stamp(ts),
            "eventPublishingTime": stamp(ts),
            "locale": "en-US",
            "body": {"userInformationPersistenceStatus": "NOT_PERSISTED"},
        },
        user_id,
        None,
    )


@dataclass
class Turn:
    speech: str
    end: bool
    seconds: float
    raw: dict[str, Any]


@dataclass
class Device:
    """One Echo in the household, talking to `skill` for `user_id`."""

    skill: CustomSkill
    user_id: str = "amzn1.ask.account.TESTUSER"
    session_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    turns: list[Turn] = field(default_factory=list)

    def _send(self, request: dict[str, Any], ts: float) -> Turn:
        new = self.session_id is None
        if new:
            self.session_id = f"amzn1.echo-api.session.{next(_ids)}"
            self.attributes = {}
        request = {
            "requestId": f"amzn1.echo-api.request.{next(_ids)}",
            "timestamp": stamp(ts),
            "locale": "en-US",
            **request,
        }
        session = {
            "new": new,
            "sessionId": self.session_id,
            "application": {"applicationId": APP_ID},
            "user": {"userId": self.user_id},
            "attributes": self.attributes,
        }
        started = time.monotonic()
        raw = handle_envelope(self.skill, envelope(request, self.user_id, session))
        seconds = time.monotonic() - started
        response = raw.get("response") or {}
        speech = (response.get("outputSpeech") or {}).get("ssml", "")
        end = bool(response.get("shouldEndSession"))
        self.attributes = raw.get("sessionAttributes") or {}
        if end or request["type"] == "SessionEndedRequest":
            self.session_id = None
        turn = Turn(speech, end, seconds, raw)
        self.turns.append(turn)
        return turn

    def launch(self, ts: float) -> Turn:
        self.session_id = None  # a launch always opens a new session
        return self._send({"type": "LaunchRequest"}, ts)

    def intent(self, name: str, ts: float, **slots: dict[str, Any]) -> Turn:
        intent = {"name": name, "confirmationStatus": "NONE", "slots": slots}
        return self._send({"type": "IntentRequest", "dialogState": "COMPLETED",
                           "intent": intent}, ts)

    def cramp(self, ts: float, muscle: str = "CALF", heard: str = "calf",
              helper: str | None = "PARTNER") -> Turn:
        slots = {"muscle": slot("muscle", heard, muscle, "MUSCLE")}
        if helper is not None:
            word = {"PARTNER": "her", "ALONE": "my"}[helper]
            slots["helper"] = slot("helper", word, helper, "HELPER")
        return self.intent("CrampIntent", ts, **slots)

    def end_session(self, ts: float, reason: str = "USER_INITIATED") -> Turn:
        return self._send({"type": "SessionEndedRequest", "reason": reason}, ts)
