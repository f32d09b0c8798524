"""cramp_coach.lambda_entry with DynamoStore on SigV4DynamoClient (no AWS SDK at all)."""

from __future__ import annotations

import os
from typing import Any

from cramp_coach.skill import build_skill, configure_logging, handle_envelope


def _store() -> Any:
    from bench.prototypes.sigv4_client import SigV4DynamoClient
    from cramp_coach.persistence.dynamodb import DynamoStore

    endpoint = os.environ.get("CRAMP_DYNAMODB_ENDPOINT")
    return DynamoStore(os.environ["CRAMP_TABLE"], client=SigV4DynamoClient(endpoint_url=endpoint))


configure_logging()
_skill = build_skill(store_factory=_store)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_envelope(_skill, event, context)
