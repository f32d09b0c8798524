"""cramp_coach.lambda_entry with DynamoStore on a plain botocore client (no boto3 import).

The same client and Config as DynamoStore's make_client, built with botocore.session instead
of boto3.session: boto3's import pulls s3transfer and its resource machinery, which a
low-level DynamoDB client never uses.
"""

from __future__ import annotations

import os
from typing import Any

from cramp_coach.skill import build_skill, configure_logging, handle_envelope


def _store() -> Any:
    import botocore.session

    from cramp_coach.persistence.dynamodb import DynamoStore, client_config

    endpoint = os.environ.get("CRAMP_DYNAMODB_ENDPOINT")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    client = botocore.session.Session().create_client(
        "dynamodb", region_name=region, endpoint_url=endpoint, config=client_config())
    return DynamoStore(os.environ["CRAMP_TABLE"], client=client)


configure_logging()
_skill = build_skill(store_factory=_store)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_envelope(_skill, event, context)
