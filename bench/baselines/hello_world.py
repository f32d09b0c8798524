"""Baseline 1: the smallest useful ask-sdk-core skill (a hello world), as a Lambda entry point.

Three handlers (launch, a hello intent, stop/cancel), no persistence, no interceptors: the
floor every ask-sdk-core skill pays on a cold start (interpreter, ask-sdk-core and
ask-sdk-model imports, one request deserialized, dispatched and serialized).
"""

from __future__ import annotations

from ask_sdk_core.dispatch_components.request_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils.predicate import is_intent_name, is_request_type
from ask_sdk_model.response import Response


class GreetOnLaunch(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("LaunchRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        text = "Hello. Say hello to hear it again."
        return handler_input.response_builder.speak(text).ask(text).response


class GreetOnIntent(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("HelloWorldIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.speak("Hello world.").response


class Goodbye(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(
            is_intent_name("AMAZON.StopIntent")(handler_input)
            or is_intent_name("AMAZON.CancelIntent")(handler_input)
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        builder = handler_input.response_builder
        return builder.speak("Goodbye.").set_should_end_session(True).response


_builder = SkillBuilder()
for _handler in (GreetOnLaunch(), GreetOnIntent(), Goodbye()):
    _builder.add_request_handler(_handler)

handler = _builder.lambda_handler()
