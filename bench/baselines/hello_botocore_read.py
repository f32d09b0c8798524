"""Baseline 3, the floor for any safe design: the hello world plus one botocore read.

Baseline 1's handlers with a DynamoDB client built at import (botocore directly, the way
Cramp Coach builds its own, with the same Config) and one strongly consistent Query of the
user's items in Cramp Coach's table before the launch answer: the least a skill can do that
must read a stored 12-hour lock before it speaks. Nothing of Cramp Coach is imported.

Environment: CRAMP_TABLE (the table), CRAMP_USER_SALT (the user key is the same salted hash),
AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB to point botocore at a local server.
"""

from __future__ import annotations

import hashlib
import os

import botocore.session
from ask_sdk_core.dispatch_components.request_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils.predicate import is_intent_name, is_request_type
from ask_sdk_model.response import Response
from botocore.config import Config

_TABLE = os.environ.get("CRAMP_TABLE", "cramp-coach")
_client = botocore.session.get_session().create_client(
    "dynamodb",
    region_name=os.environ.get("AWS_REGION", "us-east-1"),
    config=Config(
        connect_timeout=1.0,
        read_timeout=1.0,
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=10,
    ),
)


def _stored_items(user_id: str) -> int:
    key = hashlib.sha256(f"{os.environ.get('CRAMP_USER_SALT', '')}:{user_id}".encode())
    page = _client.query(
        TableName=_TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": key.hexdigest()}},
        ConsistentRead=True,
    )
    return len(page.get("Items", []))


class GreetOnLaunch(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("LaunchRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        user = handler_input.request_envelope.context.system.user
        found = _stored_items(user.user_id if user else "")
        text = f"Hello. I remember {found} things. Say hello to hear it again."
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
