"""AWS Lambda entry point (template.yaml: Handler cramp_coach.lambda_entry.handler).

Only what every request needs is imported here; the AWS SDK is imported by the
DynamoDB store the first time a request needs stored memory.
"""

from __future__ import annotations

from typing import Any

from cramp_coach.skill import build_skill, configure_logging, handle_envelope

configure_logging()
_skill = build_skill()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one Alexa request envelope and return the response envelope."""
    return handle_envelope(_skill, event, context)
