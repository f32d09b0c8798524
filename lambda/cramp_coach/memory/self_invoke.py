"""In AWS Lambda, writes left at a session's end go to an asynchronous invocation of the function
itself (signed with an HMAC keyed from the stack's secret), with a copy in /tmp.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from cramp_coach.memory import Store, turn
from cramp_coach.memory.deferred import INVOKE_RESERVE_S, Pending, bounded, signed_event
from cramp_coach.memory.spool import Spool

log = logging.getLogger("cramp_coach")


def invoked_as(arn: object) -> None:
    """Remember the (qualified) ARN Alexa invoked: the self-invocation goes to the same alias,
    whose EventInvokeConfig (retries, event age) applies."""
    if isinstance(arn, str) and arn.startswith("arn:") and len(arn) < 256:
        _TARGET[:] = [arn]


class SelfInvoke:
    """In AWS Lambda: an asynchronous invocation of this function carries the writes."""

    reserve_s = INVOKE_RESERVE_S

    def __init__(self, function_name: str, fallback: Spool) -> None:
        self.function_name = function_name
        self.fallback = fallback
        self._client: Any | None = None

    def _lambda_client(self, budget: float = 0.0) -> Any:
        if self._client is None:
            # Only on this failure path: most containers never build it.
            from botocore.config import Config
            from botocore.session import Session

            budget = max(0.1, budget or turn.remaining())
            self._client = Session().create_client(
                "lambda",
                config=Config(
                    connect_timeout=budget,
                    read_timeout=budget,
                    retries={"total_max_attempts": 1, "mode": "standard"},
                ),
            )
        return self._client

    def keep(self, pending: Pending) -> bool:
        from cramp_coach.memory.dynamodb_calls import within

        # A copy in /tmp first (local, milliseconds): this environment's next requests honour
        # the lock at once and write it too (idempotent), and it stays if the invocation fails.
        kept_here = self.fallback.keep(pending)
        event = signed_event(bounded(pending))
        try:
            with turn.bounded(INVOKE_RESERVE_S):
                deadline = turn.current()
                assert deadline is not None
                # Building the client (importing botocore) counts against the turn too: left
                # unfinished, it completes on its worker thread and a later turn has it.
                budget = turn.remaining()  # read here: the worker thread has no turn
                client = self._client or within(
                    deadline, "client", lambda: self._lambda_client(budget)
                )
                within(
                    max(deadline, time.monotonic() + 0.05),
                    "Invoke",
                    lambda: client.invoke(
                        FunctionName=_TARGET[0] if _TARGET else self.function_name,
                        InvocationType="Event",
                        Payload=json.dumps(event).encode(),
                    ),
                )
        except Exception as exc:
            log.error("deferred invocation failed (%s); kept in /tmp only", type(exc).__name__)
            return kept_here
        log.info("deferred writes handed to an asynchronous invocation")
        return True

    def pending_for(self, user_key: str) -> Pending | None:
        return self.fallback.pending_for(user_key)

    def drain(self, store: Store, now: float, first: str | None = None) -> int:
        return self.fallback.drain(store, now, first)

    def forget(self, user_key: str) -> None:
        self.fallback.forget(user_key)


_TARGET: list[str] = []  # the ARN this function was invoked by (its alias), once known
