"""AWS Lambda entry point (template.yaml: Handler cramp_coach.hosting.lambda_entry.handler).

Lambda runs this module's import (the init) at full CPU and each invocation at memory/1769 of
a vCPU (a quarter of one at 512 MB, a fourteenth at 128 MB). So everything a session's first
turn needs is done here, once per container: the DynamoDB client is built (its botocore
imports, service model and credentials), and the content of this region's locales is loaded
with its symptom models compiled. The first request then makes one read (the 12-hour
red-flag lock) and its own work. Anything the one-shot does not use stays out of the init:
the APL model (speaking.speak, for screens only), the spool's sqlite3, a Lambda client.

Two kinds of event arrive: Alexa request envelopes, and this function's own asynchronous
invocations carrying writes a session could not make before it ended (memory/deferred.py:
signed with an HMAC keyed from the stack's salt; anything else is refused).
"""

from __future__ import annotations

import gc
import os

# In Lambda (the runtime sets AWS_LAMBDA_FUNCTION_NAME and AWS_LAMBDA_INITIALIZATION_TYPE)
# the init prepares everything; imported anywhere else (tests, tools) the store and content
# stay lazy, read from the environment when first needed.
_IN_LAMBDA = bool(
    os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE")
)
if _IN_LAMBDA:
    # The init's imports, client and content make some 100,000 objects that live as long as
    # the container, and under a thousand of cyclic garbage: the cycle collector's passes over
    # them cost a tenth of the init (measured: 10 ms without the DynamoDB client, 35 ms with
    # it). It is off until the init is done (see the end of the module).
    gc.disable()

import logging  # noqa: E402
from typing import Any  # noqa: E402

from cramp_coach.alexa.handle import handle_envelope  # noqa: E402
from cramp_coach.alexa.skill import build_skill, configure_logging  # noqa: E402
from cramp_coach.memory import (  # noqa: E402
    Store,
    StoreError,
    deferred,
    self_invoke,
    store_from_env,
    user_salt,
)

log = logging.getLogger("cramp_coach")

# The locales each of the skill's endpoints serves (ARCHITECTURE "Locales"); another locale
# still works, its content loaded on its first request.
REGION_LOCALES: dict[str, tuple[str, ...]] = {
    "us-east-1": ("en-US", "en-CA"),
    "eu-west-1": ("en-GB", "en-IN"),
    "us-west-2": ("en-AU",),
}


def init_locales(region: str | None) -> tuple[str, ...]:
    """The locales whose content the init loads: this region's, else en-US."""
    return REGION_LOCALES.get(region or "", ("en-US",))


configure_logging()
try:
    user_salt()  # a missing salt fails the init (Runtime.ImportModuleError names it), not a request
    _skill = build_skill(
        prepare_store=_IN_LAMBDA,
        preload=init_locales(os.environ.get("AWS_REGION")) if _IN_LAMBDA else (),
    )
finally:
    if _IN_LAMBDA:
        # What the init built is kept to the end: frozen, no collection walks it again.
        gc.freeze()
        gc.enable()
_deferred_store: list[Store] = []  # built on the first deferred-writes event only
# Left of the function's timeout when a deferred write gives up (it raises: Lambda retries).
_DEFERRED_MARGIN_S = 1.0


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one Alexa request envelope and return the response envelope (or, for a
    deferred-writes event, write it)."""
    if deferred.is_deferred_event(event):
        return _write_deferred(event, context)
    self_invoke.invoked_as(getattr(context, "invoked_function_arn", None))
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
