"""Baseline 2: the persistence pattern of the ASK SDK's own samples, as a Lambda entry point.

What the SDK's samples and the Alexa-hosted Python template do at import time: build a
boto3 DynamoDB *resource*, hand it to ``ask_sdk_dynamodb.adapter.DynamoDbAdapter`` and make a
``CustomSkillBuilder`` with that adapter. The launch handler then reads the user's
persistent attributes (one GetItem) to greet a returning user, which is the work our own cold
launch does (it reads the stored profile to offer a resume).

Environment: OFFICIAL_TABLE (table name, partition key ``id``: the adapter's default),
AWS_DEFAULT_REGION (the adapter module needs it at import), AWS_ENDPOINT_URL_DYNAMODB to point
boto3 at a local server.
"""

from __future__ import annotations

import os

import boto3
from ask_sdk_core.dispatch_components.request_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_core.utils.predicate import is_request_type
from ask_sdk_dynamodb.adapter import DynamoDbAdapter
from ask_sdk_model.response import Response

_resource = boto3.resource("dynamodb", region_name=os.environ.get("AWS_DEFAULT_REGION"))
_adapter = DynamoDbAdapter(
    table_name=os.environ.get("OFFICIAL_TABLE", "official-persistence"),
    create_table=False,
    dynamodb_resource=_resource,
)


class LaunchWithMemory(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("LaunchRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        stored = handler_input.attributes_manager.persistent_attributes
        step = stored.get("resume_step")
        if step is not None:
            text = f"Welcome back. You stopped at step {step}. Shall we continue?"
        else:
            text = "Welcome. Which muscle is cramping?"
        return handler_input.response_builder.speak(text).ask(text).response


_builder = CustomSkillBuilder(persistence_adapter=_adapter)
_builder.add_request_handler(LaunchWithMemory())

handler = _builder.lambda_handler()
