"""The handlers around the conversation: a disabled skill forgets its user, any other request
type is a calm no-op, a crash is heard as a calm sentence, and every turn is logged without
what was said or who said it.
"""

from __future__ import annotations

import logging

from ask_sdk_core.dispatch_components.exception_components import AbstractExceptionHandler
from ask_sdk_core.dispatch_components.request_components import (
    AbstractRequestHandler,
    AbstractRequestInterceptor,
    AbstractResponseInterceptor,
)
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model.response import Response

from cramp_coach.alexa.events import (
    request_locale,
    request_type,
    user_key_of,
)
from cramp_coach.content import load_content
from cramp_coach.memory.load_save import Memory

log = logging.getLogger("cramp_coach")


class SkillDisabledHandler(AbstractRequestHandler):
    """AlexaSkillEvent.SkillDisabled: the user disabled the skill, so forget them."""

    def __init__(self, memory: Memory) -> None:
        self._memory = memory

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return request_type(handler_input) == "AlexaSkillEvent.SkillDisabled"

    def handle(self, handler_input: HandlerInput) -> Response:
        self._memory.forget(user_key_of(handler_input))
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
