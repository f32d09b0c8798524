"""ASK adapter: turns Alexa requests into core events and core outcomes into responses.

Thin on purpose. Everything the listener hears is decided in `cramp_coach.core`; this
module only reads the envelope (intent, slots, timestamp), loads and saves memory
around the core, and builds the response.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from ask_sdk_core.dispatch_components.request_components import (
    AbstractRequestHandler,
)
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_model.context import Context
from ask_sdk_model.interfaces.system.system_state import SystemState
from ask_sdk_model.request_envelope import RequestEnvelope
from ask_sdk_model.response import Response
from ask_sdk_model.response_envelope import ResponseEnvelope
from ask_sdk_model.services.api_client import ApiClient
from msgspec.structs import replace

from cramp_coach.alexa import metrics
from cramp_coach.alexa.api_client import DeadlineApiClient
from cramp_coach.alexa.attributes import (
    CHECKED_ATTR,
    AttributesGate,
    checked_state,
    sealed,
    session_id_of,
)
from cramp_coach.alexa.can_fulfill_handler import CanFulfillHandler
from cramp_coach.alexa.device_country import device_country, device_tag
from cramp_coach.alexa.envelope import STATE_KEY
from cramp_coach.alexa.events import (
    INTENT_EVENTS,
    event_from,
    request_locale,
    request_type,
    user_key_of,
)
from cramp_coach.alexa.handlers import (
    CalmFallbackExceptionHandler,
    RequestLogInterceptor,
    ResponseLogInterceptor,
    SkillDisabledHandler,
    UnhandledRequestHandler,
)
from cramp_coach.alexa.priming import prime_locale
from cramp_coach.alexa.serializer import EnvelopeSerializer
from cramp_coach.alexa.speaking import speak
from cramp_coach.content import load_content, resolve_locale
from cramp_coach.core import (
    Conversation,
    needs_profile,
    symptom_reading,
)
from cramp_coach.memory import Store, store_from_env
from cramp_coach.memory.load_save import Memory

log = logging.getLogger("cramp_coach")


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
        session_id = session_id_of(handler_input)
        raw = attributes.get(STATE_KEY)
        checked = getattr(handler_input, CHECKED_ATTR, None)
        if checked is not None and checked[0] is raw:
            state = checked[1]  # AttributesGate checked exactly this
        else:
            state = checked_state(conversation, raw, session_id, bool(session and session.new))
        event = event_from(handler_input)
        key = user_key_of(handler_input)
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
        return speak(handler_input, outcome, self._api_client)


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

    # Alexa's APIs (the Settings API for the device's time zone, the Reminders API) are called
    # through DeadlineApiClient, bounded in time as a whole, never the SDK's unbounded default;
    # the builder's (handler_input.service_client_factory) is the same. CrampSkill gives a
    # request without a context an empty one, so the SDK's token lookup never fails.
    api = api_client or DeadlineApiClient()
    builder = CustomSkillBuilder(api_client=api)
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
    skill.serializer = EnvelopeSerializer()  # the SDK's, reading an envelope in half the time
    for locale in preload:
        try:
            prime_locale(skill, conversation(locale), locale)
        except Exception as exc:  # never in the way of the init: the first request pays
            log.error("locale %s not prepared (%s)", locale, type(exc).__name__)
    return skill


def configure_logging() -> None:
    """The package's log level: Lambda's ApplicationLogLevel (AWS_LAMBDA_LOG_LEVEL, set with
    the JSON log format, whose handler the runtime installs), else LOG_LEVEL, else INFO."""
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO"
    name = {"WARN": "WARNING", "TRACE": "DEBUG", "FATAL": "CRITICAL"}.get(level.upper(), level)
    logging.getLogger("cramp_coach").setLevel(getattr(logging, name.upper(), logging.INFO))
