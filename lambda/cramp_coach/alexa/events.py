"""A request envelope -> the core's Event: its kind, the time, the words heard and the slot ids.

Which intent means which event (`INTENT_EVENTS`), the request's own time (never far ahead of
the clock), its locale, and the hashed user key the store is read under.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils.request_util import get_locale
from ask_sdk_model.intent_request import IntentRequest
from ask_sdk_model.slu.entityresolution.status_code import StatusCode

from cramp_coach.alexa import reminder_requests
from cramp_coach.content import load_content, resolve_locale
from cramp_coach.core import Event
from cramp_coach.memory import user_key

if TYPE_CHECKING:  # imported for a Connections.Response only: a one-shot never loads it
    from ask_sdk_model.interfaces.connections.connections_response import ConnectionsResponse

log = logging.getLogger("cramp_coach")

# Every intent in the interaction model and the core event it becomes.
INTENT_EVENTS: dict[str, str] = {
    "CrampIntent": "cramp",
    "ClarifyIntent": "clarify",
    "BetterIntent": "better",
    "StillCrampingIntent": "still_cramping",
    "HurtsIntent": "hurts",
    "AloneIntent": "alone",
    "HelperIntent": "helper",
    "SkipIntent": "skip",
    "SymptomIntent": "symptom",
    "DisclaimerIntent": "disclaimer",
    "PreventionIntent": "prevention",
    "CrampCountIntent": "count",
    "DeleteHistoryIntent": "delete_history",
    "VoiceIntent": "voice",
    "DoctorIntent": "doctor",
    "EmergencyNumberIntent": "emergency_number",
    "HoldTimeIntent": "hold_time",
    "DontKnowIntent": "dont_know",
    "LogOnIntent": "log_on",
    "LogOffIntent": "log_off",
    "HoldOnIntent": "hold_on",
    "OtherSideIntent": "other_side",
    "HowToStopIntent": "how_to_stop",
    "WhyIntent": "why",
    "AgainIntent": "again",
    "HeatIceIntent": "heat_ice",
    "PainkillerIntent": "painkiller",
    "BedtimeIntent": "bedtime",
    "ReminderIntent": "reminder",
    "StopReminderIntent": "stop_reminder",
    "AMAZON.NextIntent": "next",
    "AMAZON.PreviousIntent": "previous",
    "AMAZON.RepeatIntent": "repeat",
    "AMAZON.StartOverIntent": "start_over",
    "AMAZON.PauseIntent": "pause",
    "AMAZON.ResumeIntent": "resume",
    "AMAZON.YesIntent": "yes",
    "AMAZON.NoIntent": "no",
    "AMAZON.HelpIntent": "help",
    "AMAZON.FallbackIntent": "fallback",
    "AMAZON.StopIntent": "stop",
    "AMAZON.CancelIntent": "stop",
    "AMAZON.NavigateHomeIntent": "stop",
}


# A request dated further ahead than this is read as now: a timestamp from the future would
# make the 12-hour lock look expired (Alexa's own clocks agree within seconds).
FUTURE_SKEW_S = 300.0


def request_time(handler_input: HandlerInput) -> float:
    """The request's own timestamp (what the ten-minute rule counts from), else the clock;
    never later than this machine's clock allows."""
    stamp = getattr(handler_input.request_envelope.request, "timestamp", None)
    clock = time.time()
    if isinstance(stamp, datetime):
        return min(stamp.timestamp(), clock + FUTURE_SKEW_S)
    return clock


def request_locale(handler_input: HandlerInput) -> str:
    """The content folder for the request's locale (en-GB, ...; the English base if unknown)."""
    try:
        locale = get_locale(handler_input)
    except AttributeError:  # no request at all
        locale = None
    return resolve_locale(locale)


def request_locale_raw(handler_input: HandlerInput) -> str:
    """The request's own locale ("en-GB"), for what Alexa itself will say (a reminder)."""
    try:
        locale = get_locale(handler_input)
    except AttributeError:
        locale = None
    return str(locale) if isinstance(locale, str) and locale else "en-US"


def request_type(handler_input: HandlerInput) -> str:
    request = handler_input.request_envelope.request
    return str(request.object_type) if request is not None else ""


def _slot_id(request: IntentRequest, name: str) -> tuple[str | None, str | None]:
    """(resolved id, heard value) of a slot. Unmatched speech gives ("UNKNOWN", value)."""
    slots = (request.intent.slots if request.intent else None) or {}
    slot = slots.get(name)
    if slot is None or not slot.value:
        return None, None
    heard = str(slot.value).strip().lower()
    authorities = slot.resolutions.resolutions_per_authority if slot.resolutions else None
    for authority in authorities or []:
        code = authority.status.code if authority.status else None
        value = authority.values[0].value if authority.values else None
        if code == StatusCode.ER_SUCCESS_MATCH and value is not None:
            return str(value.id), heard
    return "UNKNOWN", heard


def _heard_texts(request: IntentRequest) -> tuple[str, ...]:
    """Every raw slot text, resolved or not: the core reads them for red-flag words."""
    slots = (request.intent.slots if request.intent else None) or {}
    return tuple(str(slot.value) for slot in slots.values() if slot is not None and slot.value)


# Alexa's slot values are what one person said in one breath, well under this. Longer text
# is not from Alexa: it is not scanned or matched, and the turn asks the safe question.
MAX_HEARD_CHARS = 1000


def event_from(handler_input: HandlerInput) -> Event:
    request = handler_input.request_envelope.request
    now = request_time(handler_input)
    kind = request_type(handler_input)
    if kind == "LaunchRequest":
        return Event("launch", now)
    if kind == "SessionEndedRequest":
        return Event("session_ended", now)
    if kind == "Alexa.Presentation.APL.UserEvent":
        # A tap on the night display's "Next" (SendEvent with the argument "next"). Read by
        # its type name: the APL model is imported only for devices with a screen.
        arguments = getattr(request, "arguments", None)
        tapped = "next" if list(arguments or [])[:1] == ["next"] else "fallback"
        return Event(tapped, now, request_id=str(getattr(request, "request_id", "") or ""))
    if kind == "Connections.Response":  # the SDK's model for this type is ConnectionsResponse
        from ask_sdk_model.interfaces.connections.connections_response import ConnectionsResponse

        if isinstance(request, ConnectionsResponse):
            return _permission_event(request, now)
    if not isinstance(request, IntentRequest) or request.intent is None:
        return Event("fallback", now)
    event_kind = INTENT_EVENTS.get(str(request.intent.name), "fallback")
    heard_texts = _heard_texts(request)
    if sum(len(text) for text in heard_texts) > MAX_HEARD_CHARS:
        log.warning("slot values too long for speech; asked the safe question")
        return Event("fallback", now, request_id=str(request.request_id or ""))
    muscle, heard = _slot_id(request, "muscle")
    helper, _ = _slot_id(request, "helper")
    part, _ = _slot_id(request, "part")
    symptom, _ = _slot_id(request, "symptom")
    volume, _ = _slot_id(request, "volume")
    _, time_heard = _slot_id(request, "time")  # AMAZON.TIME: "22:30", or the words heard
    _, side_heard = _slot_id(request, "side")
    # Who has the cramp may also be said inside the muscle or side words ("back of my thigh",
    # "my" + "wife's" + "left calf"): a partner's word there wins over a "my" heard in the
    # helper slot or in front of it, since "my wife's calf" is hers; a speaker's word counts
    # only when the helper slot said nothing.
    who_words = set(f"{heard or ''} {side_heard or ''}".split())
    if helper != "PARTNER" and who_words:
        content = load_content(request_locale(handler_input))
        alone = set(content.phrase("speaker_alone_words").split())
        partner = set(content.phrase("speaker_partner_words").split())
        if who_words & partner:
            helper = "PARTNER"
        elif helper != "ALONE" and who_words & alone:
            helper = "ALONE"
    return Event(
        event_kind,
        now,
        request_id=str(request.request_id or ""),
        muscle=muscle,
        heard_back=heard == "back",
        helper=helper if helper in ("PARTNER", "ALONE") else None,
        part=part,
        symptom=symptom,
        volume=volume,
        heard=heard_texts,
        time=time_heard,
    )


def _permission_event(request: ConnectionsResponse, now: float) -> Event:
    """Alexa's answer to the reminders permission asked by voice: ACCEPTED, DENIED or
    NOT_ANSWERED; the time asked for rides in the token (reminder_requests.permission_directive)."""
    payload = request.payload if isinstance(request.payload, dict) else {}
    status = payload.get("status") if str(request.name or "") == "AskFor" else None
    return Event(
        "permission",
        now,
        request_id=str(request.request_id or ""),
        permission=str(status) if status in ("ACCEPTED", "DENIED", "NOT_ANSWERED") else None,
        time=reminder_requests.token_time(request.token),
    )


def user_key_of(handler_input: HandlerInput) -> str:
    system = (
        handler_input.request_envelope.context.system
        if (handler_input.request_envelope.context)
        else None
    )
    user = system.user.user_id if system and system.user else None
    return user_key(user or "anonymous")
