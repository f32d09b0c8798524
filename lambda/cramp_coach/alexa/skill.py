"""ASK adapter: turns Alexa requests into core events and core outcomes into responses.

Thin on purpose. Everything the listener hears is decided in `cramp_coach.core`; this
module only reads the envelope (intent, slots, timestamp), loads and saves memory
around the core, and builds the response.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ask_sdk_core.dispatch_components.exception_components import AbstractExceptionHandler
from ask_sdk_core.dispatch_components.request_components import (
    AbstractRequestHandler,
    AbstractRequestInterceptor,
    AbstractResponseInterceptor,
)
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_core.utils.request_util import get_locale
from ask_sdk_model.context import Context
from ask_sdk_model.intent_request import IntentRequest
from ask_sdk_model.interfaces.connections.connections_response import ConnectionsResponse
from ask_sdk_model.interfaces.system.system_state import SystemState
from ask_sdk_model.request_envelope import RequestEnvelope
from ask_sdk_model.response import Response
from ask_sdk_model.response_envelope import ResponseEnvelope
from ask_sdk_model.services.api_client import ApiClient
from ask_sdk_model.slu.entityresolution.status_code import StatusCode
from ask_sdk_model.ui.simple_card import SimpleCard

from cramp_coach.alexa import metrics, reminders
from cramp_coach.alexa.can_fulfill_handler import CanFulfillHandler
from cramp_coach.alexa.device_country import BoundedApiClient, device_country, device_tag
from cramp_coach.alexa.envelope import STATE_KEY, admitted, foreign
from cramp_coach.content import load_content, resolve_locale
from cramp_coach.core import Conversation, Event, Outcome, Profile, needs_profile, symptom_reading
from cramp_coach.core.state import State
from cramp_coach.memory import Store, store_from_env, turn, user_key, user_salt
from cramp_coach.memory.load_save import Memory

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


def _now(handler_input: HandlerInput) -> float:
    """The request's own timestamp (what the ten-minute rule counts from), else the clock;
    never later than this machine's clock allows."""
    stamp = getattr(handler_input.request_envelope.request, "timestamp", None)
    clock = time.time()
    if isinstance(stamp, datetime):
        return min(stamp.timestamp(), clock + FUTURE_SKEW_S)
    return clock


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


def _session_id(handler_input: HandlerInput) -> str:
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
    now = _now(handler_input)
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
    if helper not in ("PARTNER", "ALONE") and heard:
        # Some muscle synonyms carry the speaker ("back of my thigh"): who is speaking still counts.
        words = set(heard.split())
        content = load_content(request_locale(handler_input))
        alone = set(content.phrase("speaker_alone_words").split())
        partner = set(content.phrase("speaker_partner_words").split())
        # "my wife's calf": the partner's word wins over the "my" in front of it.
        helper = "PARTNER" if words & partner else "ALONE" if words & alone else None
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
    NOT_ANSWERED; the time asked for rides in the token (reminders.permission_directive)."""
    payload = request.payload if isinstance(request.payload, dict) else {}
    status = payload.get("status") if str(request.name or "") == "AskFor" else None
    return Event(
        "permission",
        now,
        request_id=str(request.request_id or ""),
        permission=str(status) if status in ("ACCEPTED", "DENIED", "NOT_ANSWERED") else None,
        time=reminders.token_time(request.token),
    )


def _user_key(handler_input: HandlerInput) -> str:
    system = (
        handler_input.request_envelope.context.system
        if (handler_input.request_envelope.context)
        else None
    )
    user = system.user.user_id if system and system.user else None
    return user_key(user or "anonymous")


def supports_apl(handler_input: HandlerInput) -> bool:
    """Only screens (Echo Show) get the step drawn; a plain speaker would reject the directive."""
    context = handler_input.request_envelope.context
    device = context.system.device if context and context.system else None
    interfaces = device.supported_interfaces if device else None
    return bool(interfaces and interfaces.alexa_presentation_apl is not None)


def _speak(
    handler_input: HandlerInput, outcome: Outcome, api_client: ApiClient | None = None
) -> Response:
    builder = handler_input.response_builder
    if outcome.reminder is not None:
        # The core decided; the Reminders API is called here, and its result picks the words.
        outcome, directive = reminders.carry_out(
            handler_input, outcome, request_locale_raw(handler_input), api_client
        )
        if directive is not None:
            builder.add_directive(directive)
    screen = outcome.screen if supports_apl(handler_input) else None
    if screen is not None:
        # Here, not at import: a speaker without a screen (most one-shots) never loads the
        # APL model package (about 8 ms of a cold start) or the documents.
        from ask_sdk_model.interfaces.alexa.presentation.apl.render_document_directive import (
            RenderDocumentDirective,
        )

        from cramp_coach.alexa import display

        document, datasources = display.render(screen)
        builder.add_directive(
            RenderDocumentDirective(token=display.TOKEN, document=document, datasources=datasources)
        )
    if outcome.speech:
        builder.speak(outcome.speech)
    if outcome.reprompt and not outcome.end_session:
        builder.ask(outcome.reprompt)
    if outcome.card_title and outcome.card_text:
        builder.set_card(SimpleCard(outcome.card_title, outcome.card_text))
    builder.set_should_end_session(outcome.end_session)
    return builder.response


class ConversationHandler(AbstractRequestHandler):
    """Launch, every intent of the model, and the end of a session: all go through the core."""

    def __init__(
        self,
        conversation: Callable[[str], Conversation],
        memory: Memory,
        api_client: ApiClient | None = None,
    ) -> None:
        self._conversation = conversation
        self._memory = memory
        self._api_client = api_client

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return request_type(handler_input) in (
            "LaunchRequest",
            "IntentRequest",
            "SessionEndedRequest",
            "Alexa.Presentation.APL.UserEvent",
            "Connections.Response",
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        # A request without a session (some one-shot paths, malformed envelopes) starts fresh.
        in_session = handler_input.request_envelope.session is not None
        attributes: dict[str, Any] = {}
        if in_session:
            # The manager's own dict (never a copy): what we write here is what Alexa gets back.
            attributes = handler_input.attributes_manager.session_attributes  # type: ignore[assignment]
        conversation = self._conversation(request_locale(handler_input))
        session = handler_input.request_envelope.session
        session_id = _session_id(handler_input)
        raw = attributes.get(STATE_KEY)
        checked = getattr(handler_input, _CHECKED, None)
        if checked is not None and checked[0] is raw:
            state = checked[1]  # AttributesGate checked exactly this
        else:
            state = checked_state(conversation, raw, session_id, bool(session and session.new))
        event = event_from(handler_input)
        key = _user_key(handler_input)
        profile = self._memory.load(key, event.now) if needs_profile(state, event) else None
        tag = device_tag(handler_input)
        if profile is not None and profile.country_device != tag:
            profile = replace(profile, country=None)  # found for another device
        outcome = conversation.handle(state, event, profile)
        if outcome.wants_country:
            # The turn speaks a number to call: the device's country, once, bounded; then the
            # same turn again with it (the core is pure: same state, same event, same profile).
            event = replace(event, country=device_country(handler_input))
            outcome = conversation.handle(state, event, profile)
        if "country" in outcome.prefs and tag is not None:
            outcome = replace(outcome, prefs={**outcome.prefs, "country_device": tag})
        first = bool(session and session.new)
        outcome = replace(outcome, state=self._memory.save(key, event.now, outcome, first=first))
        metrics.emit_turn(outcome.red_flag_raised, outcome.routine_ended)
        attributes[STATE_KEY] = sealed(outcome.state, session_id)
        log.info(
            "turn",
            extra={
                "event": event.kind,
                "phase": outcome.state.phase.kind,
                "end": outcome.end_session,
            },
        )
        if event.kind == "session_ended":
            return handler_input.response_builder.response
        return _speak(handler_input, outcome, self._api_client)


class SkillDisabledHandler(AbstractRequestHandler):
    """AlexaSkillEvent.SkillDisabled: the user disabled the skill, so forget them."""

    def __init__(self, memory: Memory) -> None:
        self._memory = memory

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return request_type(handler_input) == "AlexaSkillEvent.SkillDisabled"

    def handle(self, handler_input: HandlerInput) -> Response:
        self._memory.forget(_user_key(handler_input))
        log.info("skill disabled: user data deleted")
        return handler_input.response_builder.response


class UnhandledRequestHandler(AbstractRequestHandler):
    """Any other request type (display events, unknown events): a calm no-op."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return True

    def handle(self, handler_input: HandlerInput) -> Response:
        log.info("ignored request", extra={"request_type": request_type(handler_input)})
        return handler_input.response_builder.response


class CalmFallbackExceptionHandler(AbstractExceptionHandler):
    """A crash never reaches the listener: they hear a calm, useful sentence instead."""

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        log.error(
            "unhandled %s while handling a request", type(exception).__name__, exc_info=exception
        )
        try:
            content = load_content(request_locale(handler_input))
        except Exception:  # the content itself failed: still say something calm
            content = load_content("en-US")
        speech = content.phrase("error")
        reprompt = content.phrase("ask_muscle_reprompt")
        return handler_input.response_builder.speak(speech).ask(reprompt).response


_CHECKED = "_cramp_checked_state"  # (raw attributes, the State they were checked as)


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
            session_id = _session_id(handler_input)
            state, canonical = _checked(conversation, raw, session_id, bool(session.new))
            clean = {} if canonical is None else {STATE_KEY: canonical}
            # The conversation handler takes the state checked here (no second decode).
            setattr(handler_input, _CHECKED, (clean.get(STATE_KEY), state))
        except Exception as exc:  # never in the way of the answer: nothing is kept then
            log.warning("session attributes dropped (%s)", type(exc).__name__)
            clean = {}
        attributes.clear()
        attributes.update(clean)


class RequestLogInterceptor(AbstractRequestInterceptor):
    """Logs what kind of request came in: never the user id, never what was said."""

    def process(self, handler_input: HandlerInput) -> None:
        intent = getattr(
            getattr(handler_input.request_envelope.request, "intent", None), "name", None
        )
        log.debug("request", extra={"request_type": request_type(handler_input), "intent": intent})


class ResponseLogInterceptor(AbstractResponseInterceptor):
    def process(self, handler_input: HandlerInput, response: Response | None) -> None:
        end = response.should_end_session if response is not None else None
        log.debug("response", extra={"end_session": end})


class CrampSkill(CustomSkill):
    """The SDK's CustomSkill, for envelopes without context.System too. Alexa always sends
    it; with an api client configured the SDK reads the apiEndpoint from it before any handler
    and would raise on its absence (a 500 in the web service). Such an envelope gets an empty
    System: no user, no device, no api token, so nothing is looked up."""

    def invoke(self, request_envelope: RequestEnvelope, context: Any) -> ResponseEnvelope:
        if request_envelope.context is None or request_envelope.context.system is None:
            request_envelope.context = Context(system=SystemState())
        return super().invoke(request_envelope=request_envelope, context=context)


def build_skill(
    store_factory: Callable[[], Store] | None = None,
    prepare_store: bool = False,
    api_client: ApiClient | None = None,
    preload: Iterable[str] = (),
) -> CustomSkill:
    """The whole skill, ready for Lambda, the web service or the local chat.

    `prepare_store` builds the store (its AWS client) before the first request, and `preload`
    loads these locales' content and compiles their symptom models: what AWS Lambda's init
    should do, since it runs at full CPU while a request gets memory/1769 of a vCPU (see
    lambda_entry). Elsewhere both happen on first use.
    """
    memory = Memory(store_factory or store_from_env)
    if prepare_store:
        try:
            memory.prepare()
        except Exception as exc:
            log.error("store not prepared (%s); it will be built on first use", type(exc).__name__)
    conversations: dict[str, Conversation] = {}

    def conversation(locale: str) -> Conversation:
        # One per content folder (en-GB, ..., or the English base for any other locale), so
        # garbage locales cannot grow the cache.
        folder = resolve_locale(locale)
        if folder not in conversations:
            content = load_content(folder)
            symptom_reading.prepare(content)
            conversations[folder] = Conversation(content)
        return conversations[folder]

    # Service clients (the Settings API for the device's time zone, through
    # handler_input.service_client_factory; reminders, through the handler that makes them)
    # call through api clients bounded in time, never the SDK's unbounded default. CrampSkill
    # gives a request without a context an empty one, so the SDK's token lookup never fails.
    api = api_client or reminders.BoundedApiClient()
    builder = CustomSkillBuilder(api_client=BoundedApiClient())
    skill_id: str | None = os.environ.get("SKILL_ID") or None
    builder.skill_id = skill_id  # type: ignore[assignment]
    builder.add_request_handler(SkillDisabledHandler(memory))
    builder.add_request_handler(CanFulfillHandler(handled=INTENT_EVENTS))  # before the conversation
    builder.add_request_handler(ConversationHandler(conversation, memory, api))
    builder.add_request_handler(UnhandledRequestHandler())
    builder.add_exception_handler(CalmFallbackExceptionHandler())
    builder.add_global_request_interceptor(AttributesGate(conversation))
    builder.add_global_request_interceptor(RequestLogInterceptor())
    builder.add_global_response_interceptor(ResponseLogInterceptor())
    skill = CrampSkill(skill_configuration=builder.skill_configuration)
    for locale in preload:
        try:
            _prime(skill, conversation(locale), locale)
        except Exception as exc:  # never in the way of the init: the first request pays
            log.error("locale %s not prepared (%s)", locale, type(exc).__name__)
    return skill


def _primer(locale: str, now: float) -> dict[str, Any]:
    """A one-shot envelope ("her calf is cramping") for priming: no real user, no store."""

    def slot(name: str, heard: str, value_id: str) -> dict[str, Any]:
        match = {"code": "ER_SUCCESS_MATCH"}
        value = {"value": {"name": heard, "id": value_id}}
        found = {"authority": "primer", "status": match, "values": [value]}
        return {"name": name, "value": heard, "resolutions": {"resolutionsPerAuthority": [found]}}

    system = {
        "application": {"applicationId": "primer"},
        "user": {"userId": "primer"},
        "device": {"deviceId": "primer", "supportedInterfaces": {}},
    }
    return {
        "version": "1.0",
        "session": {"new": True, "sessionId": "primer", "attributes": {}, "user": {"userId": "p"}},
        "context": {"System": system},
        "request": {
            "type": "IntentRequest",
            "requestId": "primer",
            "timestamp": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "locale": locale,
            "intent": {
                "name": "CrampIntent",
                "slots": {
                    "muscle": slot("muscle", "calf", "CALF"),
                    "helper": slot("helper", "her", "PARTNER"),
                },
            },
        },
    }


def _prime(skill: CustomSkill, conversation: Conversation, locale: str) -> None:
    """A one-shot's first-request work done once, in the init: the envelope deserialized (the
    SDK imports the timestamp parser and the slot models on first use), the core's turn, the
    seal, the response built and serialized. Nothing goes through the store, the handlers,
    the metrics or the log: it only leaves this process's caches warm. In AWS Lambda the
    init runs at full CPU and a request at memory/1769 of one, where this work costs up to
    fourteen times as long."""
    now = time.time()
    envelope = skill.serializer.deserialize(
        payload=json.dumps(_primer(locale, now)), obj_type=RequestEnvelope
    )
    handler_input = HandlerInput(request_envelope=envelope)
    outcome = conversation.handle(State(), event_from(handler_input), Profile())
    attributes: dict[str, object] = {STATE_KEY: sealed(outcome.state, "primer")}
    response = _speak(handler_input, outcome)
    skill.serializer.serialize(
        ResponseEnvelope(version="1.0", response=response, session_attributes=attributes)
    )


def configure_logging() -> None:
    """The package's log level: Lambda's ApplicationLogLevel (AWS_LAMBDA_LOG_LEVEL, set with
    the JSON log format, whose handler the runtime installs), else LOG_LEVEL, else INFO."""
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO"
    name = {"WARN": "WARNING", "TRACE": "DEBUG", "FATAL": "CRITICAL"}.get(level.upper(), level)
    logging.getLogger("cramp_coach").setLevel(getattr(logging, name.upper(), logging.INFO))


# A request for another skill is refused: nothing spoken, nothing run, nothing stored.
REFUSED_ENVELOPE: dict[str, Any] = {"version": "1.0", "response": {"shouldEndSession": True}}


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
        envelope = skill.serializer.deserialize(payload=json.dumps(own), obj_type=RequestEnvelope)
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
