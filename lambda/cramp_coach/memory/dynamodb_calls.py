"""DynamoDB through botocore: the client and its config, one call bounded by the turn's deadline,
and the attribute-value encoding the table uses.

botocore's timeouts bound each socket read, not a call: `within` runs each call on a worker
thread that the turn waits for only until its deadline (an abandoned call finishes or fails on
its own, and cannot undo a newer write: see items.py and lock.py).
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cramp_coach.memory import StoreError, turn

# Per socket operation (botocore's meaning); the turn's deadline bounds the whole call.
CONNECT_TIMEOUT_S = 1.0


READ_TIMEOUT_S = 1.0


TOTAL_ATTEMPTS = 1  # botocore's own; retries are ours, within the deadline (see _call)


CALL_ATTEMPTS = 3  # per call: the first try and two retries, if the deadline allows


BACKOFF_S = 0.05  # first retry's backoff, doubled each time (jittered)


MIN_CALL_S = 0.02  # a retry is not started with less than this left


TURN_BUDGET_S = turn.TURN_BUDGET_S


BATCH_SIZE = 25  # BatchWriteItem's limit


# Calls still running after their turn gave up on them (a hung or trickling table); past this
# many, new calls are refused at once (the table is as good as down) until some finish.
MAX_IN_FLIGHT = 32


ENDPOINT_ENV = ("CRAMP_DYNAMODB_ENDPOINT",)  # AWS_ENDPOINT_URL_DYNAMODB is read by botocore


# Error codes worth another try within the turn: throttling and the service's own hiccups.
RETRYABLE = frozenset(
    (
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ConnectTimeoutError",
    )
)


_IN_FLIGHT = threading.BoundedSemaphore(MAX_IN_FLIGHT)


_PRIME_ID = "cramp-coach-prime"


_EMPTY_PAGE = b'{"Count":0,"Items":[],"ScannedCount":0}'


class _Canned:
    """A response body as botocore reads one (`stream()`): an empty Query page."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield _EMPTY_PAGE


def client_config() -> Any:
    """The botocore Config every DynamoStore client uses (tests build theirs from it too)."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"total_max_attempts": TOTAL_ATTEMPTS, "mode": "standard"},
        max_pool_connections=10,
    )


def within(deadline: float, operation: str, call: Callable[[], Any]) -> Any:
    """Run `call` on a worker thread; wait for it until `deadline` at most (StoreError then).

    The worker is a daemon thread of its own, not a pool's: a call stuck on a trickling
    table must not hold up the next turn's calls behind it.
    """
    left = deadline - time.monotonic()
    if left <= 0:
        raise StoreError(f"DynamoDB {operation} skipped: the turn's store budget is spent")
    if not _IN_FLIGHT.acquire(blocking=False):
        raise StoreError(f"DynamoDB {operation} skipped: too many calls still in flight")
    box: dict[str, Any] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the waiting turn, or dropped if it left
            box["error"] = exc
        finally:
            _IN_FLIGHT.release()
            finished.set()

    try:
        threading.Thread(target=run, name="cramp-store-call", daemon=True).start()
    except RuntimeError:
        _IN_FLIGHT.release()
        raise StoreError(f"DynamoDB {operation} skipped: no thread") from None
    if not finished.wait(left):
        raise StoreError(f"DynamoDB {operation} failed: DeadlineExceeded")
    if "error" in box:
        raise box["error"]
    return box["value"]


def table_definition(name: str) -> dict[str, Any]:
    """CreateTable arguments for the table template.yaml deploys: for local servers only
    (tests, benchmarks, trying the DynamoDB path locally); the function's role cannot create it.
    """
    return {
        "TableName": name,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def _region(endpoint_url: str | None) -> str | None:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region is None and endpoint_url:
        region = "us-east-1"  # a local server ignores it, but the signature needs one
    return region


def make_client(endpoint_url: str | None = None) -> Any:
    """A botocore DynamoDB client, bounded timeouts and retries; endpoint_url: a local server.

    botocore directly: the store speaks the low-level API (attribute values as sent), so
    boto3's session and resource layers would be imports for nothing.
    """
    from botocore.session import Session  # only where a DynamoStore is built

    # A session of its own, not botocore's shared default one.
    return Session().create_client(
        "dynamodb",
        region_name=_region(endpoint_url),
        endpoint_url=endpoint_url,
        config=client_config(),
    )


def _to_av(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    raise TypeError(f"cannot store a {type(value).__name__}")


def _from_av(value: Mapping[str, Any]) -> Any:
    if "S" in value:
        return value["S"]
    if "N" in value:
        number = float(value["N"])
        return int(number) if number.is_integer() and "." not in value["N"] else number
    if "BOOL" in value:
        return bool(value["BOOL"])
    return None  # NULL or a type this code never writes


def _plain(item: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {name: _from_av(value) for name, value in item.items()}


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str) and code:
            return code
    return type(exc).__name__


def _is_botocore_error(exc: Exception) -> bool:
    if "botocore" not in sys.modules:
        return False  # never imported, so exc cannot be one of its errors
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, BotoCoreError | ClientError)
