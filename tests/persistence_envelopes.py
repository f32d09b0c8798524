"""Echo devices for the persistence tests, with explicit timestamps.

`Device` plays one Echo on top of cramp_coach.hosting.local.envelopes.Session (the
envelopes the chat and the benchmarks send too): it keeps the session between turns the way
Alexa does, starts a new one on a launch, after shouldEndSession or a SessionEndedRequest,
and times every turn around the handler.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ask_sdk_core.skill import CustomSkill

from cramp_coach.alexa.handle import handle_envelope
from cramp_coach.hosting.local.envelopes import Session

T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC).timestamp()  # a Monday, 2 a.m. UTC
MINUTE = 60.0
DAY = 24 * 3600.0

Slot = tuple[str, str | None]  # (what was heard, the resolved slot id or None: no match)


@dataclass
class Turn:
    speech: str
    end: bool
    seconds: float
    raw: dict[str, Any]


class Device:
    """One Echo in the household, talking to `skill` for `user_id`."""

    def __init__(self, skill: CustomSkill, user_id: str = "amzn1.ask.account.TESTUSER") -> None:
        self.skill = skill
        self.user_id = user_id
        self.session = Session(user_id=user_id)
        self.turns: list[Turn] = []

    @property
    def attributes(self) -> dict[str, Any]:
        """The session attributes the skill last returned (what rides to the next turn)."""
        return self.session.attributes

    def _send(self, envelope: dict[str, Any]) -> Turn:
        started = time.monotonic()
        raw = handle_envelope(self.skill, envelope)
        seconds = time.monotonic() - started
        self.session.absorb(raw)
        if envelope["request"]["type"] == "SessionEndedRequest":
            self.session.restart()
        response = raw.get("response") or {}
        speech = (response.get("outputSpeech") or {}).get("ssml", "")
        turn = Turn(speech, bool(response.get("shouldEndSession")), seconds, raw)
        self.turns.append(turn)
        return turn

    def launch(self, ts: float) -> Turn:
        self.session.restart()  # a launch always opens a new session
        return self._send(self.session.launch(ts))

    def intent(self, name: str, ts: float, **slots: Slot) -> Turn:
        return self._send(self.session.intent(name, ts, slots))

    def cramp(
        self, ts: float, muscle: str = "CALF", heard: str = "calf", helper: str | None = "PARTNER"
    ) -> Turn:
        slots: dict[str, Slot] = {"muscle": (heard, muscle)}
        if helper is not None:
            slots["helper"] = ({"PARTNER": "her", "ALONE": "my"}[helper], helper)
        return self.intent("CrampIntent", ts, **slots)

    def end_session(self, ts: float, reason: str = "USER_INITIATED") -> Turn:
        return self._send(self.session.session_ended(ts, reason))

    def disable_skill(self, ts: float) -> dict[str, Any]:
        """AlexaSkillEvent.SkillDisabled, sent out of session when the user disables the skill."""
        return handle_envelope(self.skill, self.session.skill_disabled(ts))


def log_on(store: Any, user_id: str, ts: float) -> None:
    """The user said yes to keeping a cramp log (the conversation side asks; here, the store)."""
    from cramp_coach.memory import user_key

    store.save(
        user_key(user_id),
        ts,
        entries=[],
        prefs={"log_consent": True},
        resume=None,
        clear_resume=False,
        freq_advised=False,
    )
