"""AWS Lambda entry point (template.yaml: Handler cramp_coach.hosting.lambda_entry.handler).

Only what every request needs is imported here; the DynamoDB store builds its boto3 client
the first time a request needs stored memory (see persistence/dynamodb.py: make_client).

Two kinds of event arrive: Alexa request envelopes, and this function's own asynchronous
invocations carrying writes a session could not make before it ended (persistence/deferred.py:
signed with an HMAC keyed from the stack's salt; anything else is refused).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from cramp_coach.alexa.skill import build_skill, configure_logging, handle_envelope
from cramp_coach.memory import Store, StoreError, deferred, store_from_env, user_salt

log = logging.getLogger("cramp_coach")

configure_logging()
user_salt()  # a missing salt fails the init (Runtime.ImportModuleError names it), not a request
# SnapStart is off by default (template.yaml). When it is switched on, this init runs once per
# published version and is snapshotted, so building the boto3 client here takes it off every
# restored cold start. Without SnapStart it stays lazy: the first request that needs the store
# (a session's first turn, for the 12-hour red-flag lock) builds it; CanFulfillIntentRequest
# and an empty SessionEndedRequest never pay for the AWS SDK.
_skill = build_skill(prepare_store=os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start")
_deferred_store: list[Store] = []  # built on the first deferred-writes event only
# Left of the function's timeout when a deferred write gives up (it raises: Lambda retries).
_DEFERRED_MARGIN_S = 1.0


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one Alexa request envelope and return the response envelope (or, for a
    deferred-writes event, write it)."""
    if deferred.is_deferred_event(event):
        return _write_deferred(event, context)
    deferred.invoked_as(getattr(context, "invoked_function_arn", None))
    return handle_envelope(_skill, event, context)  # begins the turn's store budget at once


def _write_deferred(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Verify and write; raise while the table fails, so Lambda retries the event later."""
    left_ms = getattr(context, "get_remaining_time_in_millis", lambda: 7000)()
    time_left = left_ms / 1000 - _DEFERRED_MARGIN_S
    if not _deferred_store:
        _deferred_store.append(store_from_env())
    try:
        deferred.apply_event(event, _deferred_store[0], time_left)
    except deferred.InvalidDeferred as exc:
        # Not ours (no retry): only why, never what it carried.
        log.warning("deferred-writes event refused: %s", exc)
        return {"written": False}
    except StoreError:
        log.error("deferred writes failed; Lambda will retry the event")
        raise
    return {"written": True}
