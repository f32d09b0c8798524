"""One request envelope in, one response envelope out, for every host (Lambda, the web service,
the chat): `handle_envelope` never raises. A request for another skill is refused, anything
unreadable or failing gets the calm fallback, and nothing but finite JSON goes back.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ask_sdk_core.skill import CustomSkill
from ask_sdk_model.request_envelope import RequestEnvelope

from cramp_coach.alexa.envelope import admitted, dunder_key, foreign
from cramp_coach.content import load_content
from cramp_coach.memory import turn

# A request for another skill is refused: nothing spoken, nothing run, nothing stored.
REFUSED_ENVELOPE: dict[str, Any] = {"version": "1.0", "response": {"shouldEndSession": True}}

log = logging.getLogger("cramp_coach")


def calm_response_envelope(event: Any = None) -> dict[str, Any]:
    """What a malformed request hears: the same calm fallback as any other failure.

    In the request's locale when the raw event still says one.
    """
    request = event.get("request") if isinstance(event, dict) else None
    locale = request.get("locale") if isinstance(request, dict) else None
    try:
        content = load_content(locale if isinstance(locale, str) else None)
    except Exception:  # a locale no folder can be made of: the English base
        content = load_content(None)
    return {
        "version": "1.0",
        "response": {
            "outputSpeech": {"type": "SSML", "ssml": f"<speak>{content.phrase('error')}</speak>"},
            "reprompt": {
                "outputSpeech": {
                    "type": "SSML",
                    "ssml": f"<speak>{content.phrase('ask_muscle_reprompt')}</speak>",
                }
            },
            "shouldEndSession": False,
        },
    }


def handle_envelope(skill: CustomSkill, event: Any, context: Any = None) -> dict[str, Any]:
    """Deserialize one request envelope, run the skill, serialize the response.

    Never raises. A request for another skill (or naming none while a skill id is set) is
    refused with REFUSED_ENVELOPE; anything unreadable, and any failure, gets the calm fallback.
    """
    turn.begin()  # the store's budget for this turn counts from here
    try:
        return _handle(skill, event, context)
    except Exception as exc:  # the type only: a message could quote the request
        log.error("request failed outside the handlers (%s)", type(exc).__name__)
        return calm_response_envelope(event)
    finally:
        turn.done()


def _handle(skill: CustomSkill, event: Any, context: Any) -> dict[str, Any]:
    if not isinstance(event, dict):
        log.warning("request envelope is not a JSON object")
        return calm_response_envelope(event)
    refused = foreign(event, getattr(skill, "skill_id", None))
    if refused:
        log.warning("request refused: %s", refused)
        return dict(REFUSED_ENVELOPE)
    own = admitted(event)
    try:
        payload: str | None = json.dumps(own)
    except Exception:
        payload = None
    # A "__" key always shows in the JSON as '"__': only then is the envelope walked.
    if (payload is None or '"__' in payload) and dunder_key(own):
        log.warning("request envelope with a reserved key")
        return calm_response_envelope(event)
    try:
        if payload is None:
            raise ValueError("not JSON")
        envelope = skill.serializer.deserialize(payload=payload, obj_type=RequestEnvelope)
    except Exception:
        log.warning("unreadable request envelope")
        return calm_response_envelope(event)
    if not isinstance(envelope, RequestEnvelope) or envelope.request is None:
        log.warning("request envelope without a request")
        return calm_response_envelope(event)
    response = skill.invoke(request_envelope=envelope, context=context)
    serialized = skill.serializer.serialize(response)
    if not isinstance(serialized, dict):
        return calm_response_envelope(event)
    return valid_json(serialized, event)


def _finite_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def valid_json(serialized: dict[str, Any], event: Any) -> dict[str, Any]:
    """The response as strict JSON: without session attributes that are not (the gate makes
    that rare), or the calm fallback."""
    if _finite_json(serialized):
        return serialized
    log.warning("response not valid JSON; session attributes dropped")
    serialized = {k: v for k, v in serialized.items() if k != "sessionAttributes"}
    return serialized if _finite_json(serialized) else calm_response_envelope(event)
