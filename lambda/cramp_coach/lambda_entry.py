"""AWS Lambda entry point (template.yaml: Handler cramp_coach.lambda_entry.handler).

Only what every request needs is imported here; the DynamoDB store builds its client the
first time a request needs stored memory (see persistence/dynamodb.py: make_client).
"""

from __future__ import annotations

import os
from typing import Any

from cramp_coach.skill import build_skill, configure_logging, handle_envelope

configure_logging()
# Under SnapStart this init runs once per published version and is snapshotted. There are no
# keys in the environment then (container credentials), so the store uses boto3, and building
# its client here takes it off every restored cold start (a launch reads the table).
# Without SnapStart it stays lazy: the one-shot's step 1 needs nothing stored, and a launch
# reads through the standard-library client, which costs next to nothing to build.
_skill = build_skill(prepare_store=os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one Alexa request envelope and return the response envelope."""
    return handle_envelope(_skill, event, context)
