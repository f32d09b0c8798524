"""Session attributes: the core's state, sealed for its session, checked before any handler.

Attributes come back from the client, so they are trusted only when their HMAC seal (keyed
from CRAMP_USER_SALT, over the session id and the state) matches and they decode strictly;
anything else starts afresh. `AttributesGate` cuts every request's attributes to that.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from ask_sdk_core.dispatch_components.request_components import (
    AbstractRequestInterceptor,
)
from ask_sdk_core.handler_input import HandlerInput

from cramp_coach.alexa.envelope import STATE_KEY
from cramp_coach.alexa.events import (
    request_locale,
)
from cramp_coach.core import Conversation
from cramp_coach.core.state import State
from cramp_coach.memory import user_salt

log = logging.getLogger("cramp_coach")

# ---------------------------------------------------------------- the session state's seal
# Session attributes come back from the client. The state is sealed with an HMAC keyed from
# CRAMP_USER_SALT (the stack's secret in Lambda) over the session id and the state as decoded,
# so a state this skill did not write for this session (a forged "profile loaded", resume
# offer, delete question, or a lock taken out) is never trusted: it starts afresh, and the
# first turn of a session always reads the stored lock.
SEAL_KEY = "seal"


@functools.lru_cache(maxsize=4)
def _seal_key_for(salt: str) -> bytes:
    return hmac.new(salt.encode(), b"cramp-coach session state v1", "sha256").digest()


def _seal_key() -> bytes:
    return _seal_key_for(user_salt())


def seal(attributes: dict[str, Any], session_id: str) -> str:
    body = json.dumps(attributes, sort_keys=True, separators=(",", ":"), allow_nan=False)
    mac = hmac.new(_seal_key(), session_id.encode() + b"\0" + body.encode(), "sha256")
    return mac.hexdigest()[:32]


def sealed(state: State, session_id: str) -> dict[str, Any]:
    attributes = state.to_attributes()
    return {**attributes, SEAL_KEY: seal(attributes, session_id)}


def session_id_of(handler_input: HandlerInput) -> str:
    session = handler_input.request_envelope.session
    return str(session.session_id or "") if session is not None else ""


def checked_state(conversation: Conversation, raw: Any, session_id: str, new: bool) -> State:
    """The session's state if this skill sealed it for this session; otherwise afresh."""
    return _checked(conversation, raw, session_id, new)[0]


def _checked(
    conversation: Conversation, raw: Any, session_id: str, new: bool
) -> tuple[State, dict[str, Any] | None]:
    """(the state, its attributes as sealed: only what decodes, nothing a client added), or
    (a fresh State, None)."""
    if raw is None:
        return State(), None
    state = conversation.decode(raw)
    attributes = state.to_attributes()
    try:
        mac = seal(attributes, session_id)
        genuine = isinstance(raw, dict) and hmac.compare_digest(str(raw.get(SEAL_KEY, "")), mac)
    except (TypeError, ValueError):
        genuine = False
    if not genuine or new:
        if state != State():
            log.warning("session state not sealed for this session; starting afresh")
        return State(), None
    return state, {**attributes, SEAL_KEY: mac}


CHECKED_ATTR = "_cramp_checked_state"  # (raw attributes, the State they were checked as)


class AttributesGate(AbstractRequestInterceptor):
    """Before any handler: the session attributes are cut to a state this skill sealed for
    this session, or to nothing. Every response echoes them (CanFulfill, skill events, the
    calm fallback after an exception), so none can carry what the client made up, and all
    of them are valid JSON (no NaN or infinities)."""

    def __init__(self, conversation: Callable[[str], Conversation]) -> None:
        self._conversation = conversation

    def process(self, handler_input: HandlerInput) -> None:
        session = handler_input.request_envelope.session
        if session is None:
            return
        try:
            attributes = handler_input.attributes_manager.session_attributes
        except AttributeError:
            return
        if attributes is None:
            return
        try:
            raw = attributes.get(STATE_KEY)
            conversation = self._conversation(request_locale(handler_input))
            session_id = session_id_of(handler_input)
            state, canonical = _checked(conversation, raw, session_id, bool(session.new))
            clean = {} if canonical is None else {STATE_KEY: canonical}
            # The conversation handler takes the state checked here (no second decode).
            setattr(handler_input, CHECKED_ATTR, (clean.get(STATE_KEY), state))
        except Exception as exc:  # never in the way of the answer: nothing is kept then
            log.warning("session attributes dropped (%s)", type(exc).__name__)
            clean = {}
        attributes.clear()
        attributes.update(clean)
