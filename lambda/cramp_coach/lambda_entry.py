"""AWS Lambda entry point (template.yaml: Handler cramp_coach.lambda_entry.handler).

Only what every request needs is imported here; the DynamoDB store builds its boto3 client
the first time a request needs stored memory (see persistence/dynamodb.py: make_client).
"""

from __future__ import annotations

import os
from typing import Any

from cramp_coach.persistence import user_salt
from cramp_coach.skill import build_skill, configure_logging, handle_envelope

configure_logging()
user_salt()  # a missing salt fails the init (Runtime.ImportModuleError names it), not a request
# SnapStart is off by default (template.yaml). When it is switched on, this init runs once per
# published version and is snapshotted, so building the boto3 client here takes it off every
# restored cold start. Without SnapStart it stays lazy: the first request that needs the store
# (a session's first turn, for the 12-hour red-flag lock) builds it; CanFulfillIntentRequest
# and an empty SessionEndedRequest never pay for the AWS SDK.
_skill = build_skill(prepare_store=os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one Alexa request envelope and return the response envelope."""
    return handle_envelope(_skill, event, context)
