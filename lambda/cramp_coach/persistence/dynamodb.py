"""DynamoDB store (CRAMP_STORE=dynamodb): the table from template.yaml.

The client is boto3's (make_client), built the first time a request needs stored memory
(every session's first turn: a red flag of the last 12 hours must be heard before any steps;
a CanFulfillIntentRequest or a SessionEndedRequest with nothing to write never builds it).

Calls are bounded so a response still leaves in time when the table is unreachable:
1 s connect and read timeouts, two attempts, and once a call has failed the rest of the same
turn (same user, same request timestamp) goes without the store. Every failure is raised as
StoreError, whose message holds only the operation and an error code (no keys, no values).
Actions used: GetItem, PutItem, UpdateItem, Query, DeleteItem, BatchWriteItem (the IAM policy).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from cramp_coach.core.model import Profile
from cramp_coach.persistence import StoreError
from cramp_coach.persistence.items import (
    LOCK_SK,
    LOG_PREFIX,
    PROFILE_SK,
    RESUME_SK,
    STATE_END,
    consent_after,
    expired,
    lock_attrs,
    log_items,
    log_range,
    profile_from,
    profile_update,
    resume_attrs,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 1.0
# The first try and one retry ("standard" mode: jittered backoff, <= 1 s after a throttle).
# total_max_attempts, not max_attempts: botocore's max_attempts counts retries (2 -> 3 tries).
TOTAL_ATTEMPTS = 2
# Store time one turn may spend before the rest of the turn skips the store (speech first).
TURN_BUDGET_S = 1.5
BATCH_SIZE = 25  # BatchWriteItem's limit
BATCH_ROUNDS = 4  # UnprocessedItems are retried this many times, then StoreError
ENDPOINT_ENV = ("CRAMP_DYNAMODB_ENDPOINT",)  # AWS_ENDPOINT_URL_DYNAMODB is read by botocore


def client_config() -> Any:
    """The botocore Config every DynamoStore client uses (tests build theirs from it too)."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"total_max_attempts": TOTAL_ATTEMPTS, "mode": "standard"},
        max_pool_connections=10,
    )


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
    """A boto3 DynamoDB client, bounded timeouts and retries; endpoint_url: a local server."""
    import boto3  # lazily: see the module docstring

    # A session of its own: boto3's default session is not safe to share across threads.
    session = boto3.session.Session()
    return session.client(
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


class DynamoStore:
    """The Store protocol on one DynamoDB table (pk = user key, sk = profile | log#...)."""

    def __init__(
        self,
        table_name: str,
        client: Any | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.table_name = table_name
        self._client = client
        self._endpoint_url = endpoint_url or next(
            (os.environ[name] for name in ENDPOINT_ENV if os.environ.get(name)), None
        )
        self._lock = threading.Lock()
        # Store time spent per turn (user key, request timestamp); inf once a call failed.
        self._turns: OrderedDict[tuple[str, float], float] = OrderedDict()

    # ------------------------------------------------------------------ plumbing
    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    with self._calling("client"):
                        self._client = make_client(self._endpoint_url)
        return self._client

    @contextmanager
    def _calling(self, operation: str) -> Iterator[None]:
        """Turn SDK failures into StoreError carrying only the operation and an error code."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            if not _is_botocore_error(exc):
                raise
            # from None: the SDK's message may quote request details; the code is enough.
            raise StoreError(f"DynamoDB {operation} failed: {_error_code(exc)}") from None

    @contextmanager
    def _turn(self, user_key: str, now: float) -> Iterator[None]:
        """Account store time to this turn; skip the store once it failed or used its budget."""
        turn = (user_key, now)
        with self._lock:
            spent = self._turns.get(turn, 0.0)
        if spent >= TURN_BUDGET_S:
            raise StoreError("DynamoDB skipped for the rest of this turn")
        started = time.monotonic()
        failed = False
        try:
            yield
        except StoreError:
            failed = True
            raise
        finally:
            elapsed = math.inf if failed else time.monotonic() - started
            with self._lock:
                self._turns[turn] = self._turns.get(turn, 0.0) + elapsed
                self._turns.move_to_end(turn)
                while len(self._turns) > 64:  # only the current turns matter
                    self._turns.popitem(last=False)

    def _key(self, user_key: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": user_key}, "sk": {"S": sk}}

    def _query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            with self._calling("Query"):
                page = self.client.query(TableName=self.table_name, **kwargs)
            items.extend(page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                return items
            kwargs["ExclusiveStartKey"] = last

    def _put(self, user_key: str, sk: str, attrs: Mapping[str, Any]) -> None:
        item = self._key(user_key, sk) | {k: _to_av(v) for k, v in attrs.items()}
        with self._calling("PutItem"):
            self.client.put_item(TableName=self.table_name, Item=item)

    def _delete_keys(self, user_key: str, keys: list[str]) -> None:
        """Delete these sort keys of the user, in batches of 25; unprocessed ones are retried."""
        for start in range(0, len(keys), BATCH_SIZE):
            requests: list[dict[str, Any]] = [
                {"DeleteRequest": {"Key": self._key(user_key, sk)}}
                for sk in keys[start : start + BATCH_SIZE]
            ]
            for attempt in range(BATCH_ROUNDS):
                with self._calling("BatchWriteItem"):
                    result = self.client.batch_write_item(RequestItems={self.table_name: requests})
                requests = result.get("UnprocessedItems", {}).get(self.table_name, [])
                if not requests:
                    break
                time.sleep(0.05 * 2**attempt)  # unprocessed means throttled: back off a little
            if requests:
                raise StoreError("DynamoDB BatchWriteItem left items unprocessed")

    def _sort_keys(self, user_key: str, prefix: str | None = None) -> list[str]:
        condition = "pk = :pk"
        values: dict[str, Any] = {":pk": {"S": user_key}}
        if prefix is not None:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": prefix}
        items = self._query_all(
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ProjectionExpression="#sk",
            ExpressionAttributeNames={"#sk": "sk"},
            ConsistentRead=True,
        )
        return [item["sk"]["S"] for item in items if "S" in item.get("sk", {})]

    def _stored_consent(self, user_key: str) -> bool | None:
        with self._calling("GetItem"):
            found = self.client.get_item(
                TableName=self.table_name,
                Key=self._key(user_key, PROFILE_SK),
                ProjectionExpression="log_consent",
                ConsistentRead=True,
            )
        value = _plain(found.get("Item", {})).get("log_consent")
        return value if isinstance(value, bool) else None

    # ------------------------------------------------------------------ Store protocol
    def load(self, user_key: str, now: float) -> Profile:
        """One strongly consistent Query: the last seven days of the log, the profile, the
        resume snapshot and the lock.

        "profile" and "profile#..." sort after every "log#..." key, so the range from the
        window's start up to "profile#~" holds exactly the items the profile needs. A resume
        snapshot or lock found expired (TTL deletes lazily) is deleted here and then.
        """
        low, _ = log_range(now)
        with self._turn(user_key, now):
            items = self._query_all(
                KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
                ExpressionAttributeValues={
                    ":pk": {"S": user_key},
                    ":low": {"S": low},
                    ":high": {"S": STATE_END},
                },
                ConsistentRead=True,
            )
        found: dict[str, dict[str, Any]] = {}
        logs: list[dict[str, Any]] = []
        for item in items:
            sk = item.get("sk", {}).get("S")
            if sk in (PROFILE_SK, RESUME_SK, LOCK_SK):
                found[sk] = _plain(item)
            elif isinstance(sk, str) and sk.startswith(LOG_PREFIX):
                logs.append(_plain(item))
        stale = [sk for sk in (RESUME_SK, LOCK_SK) if sk in found and expired(found[sk], now)]
        if stale:
            try:
                with self._turn(user_key, now):
                    self._delete_keys(user_key, stale)
            except StoreError as exc:
                log.warning("expired items not deleted yet (%s); TTL will", exc)
        return profile_from(
            found.get(PROFILE_SK), logs, now, found.get(RESUME_SK), found.get(LOCK_SK)
        )

    def save(
        self,
        user_key: str,
        now: float,
        *,
        entries: list[dict[str, Any]],
        prefs: dict[str, Any],
        resume: dict[str, Any] | None,
        clear_resume: bool,
        freq_advised: bool,
        lock: dict[str, Any] | None = None,
    ) -> None:
        """One UpdateItem on the profile, the resume and lock items, then the log entries.

        The profile update SETs only the attributes that changed (plus expires_at), so two
        devices saving at once never overwrite each other's changes. Log entries (PutItem,
        an idempotent upsert) are written only while the log is on; the stored consent is
        read (GetItem) only when this save does not set it and needs it.
        """
        explicit = prefs.get("log_consent")
        needs_consent = (entries or freq_advised) and not isinstance(explicit, bool)
        with self._turn(user_key, now):
            stored = self._stored_consent(user_key) if needs_consent else None
            consent = consent_after(stored, prefs)
            sets, removes = profile_update(
                now, prefs=prefs, freq_advised=freq_advised, consent=consent
            )
            names: dict[str, str] = {}
            values: dict[str, Any] = {}
            set_parts: list[str] = []
            for i, (name, value) in enumerate(sets.items()):
                names[f"#s{i}"] = name
                values[f":s{i}"] = _to_av(value)
                set_parts.append(f"#s{i} = :s{i}")
            remove_parts: list[str] = []
            for i, name in enumerate(removes):
                names[f"#r{i}"] = name
                remove_parts.append(f"#r{i}")
            expression = "SET " + ", ".join(set_parts)
            if remove_parts:
                expression += " REMOVE " + ", ".join(remove_parts)
            with self._calling("UpdateItem"):
                self.client.update_item(
                    TableName=self.table_name,
                    Key=self._key(user_key, PROFILE_SK),
                    UpdateExpression=expression,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
            if clear_resume:
                with self._calling("DeleteItem"):
                    self.client.delete_item(
                        TableName=self.table_name, Key=self._key(user_key, RESUME_SK)
                    )
            elif resume is not None:
                self._put(user_key, RESUME_SK, resume_attrs(resume, now))
            lock_item = lock_attrs(lock, now) if lock is not None else None
            if lock_item is not None:
                self._put(user_key, LOCK_SK, lock_item)
            if consent is False:
                self._delete_keys(user_key, self._sort_keys(user_key, LOG_PREFIX))
            if consent is True:
                for sk, attrs in log_items(entries, now):
                    self._put(user_key, sk, attrs)
            elif entries:
                log.info("cramp log off: %d log entries dropped", len(entries))

    def delete_user(self, user_key: str) -> None:
        """Every item of the user (profile, resume, lock, log), in batches of 25."""
        keys = self._sort_keys(user_key)
        self._delete_keys(user_key, keys)
        log.info("deleted %d stored items", len(keys))
