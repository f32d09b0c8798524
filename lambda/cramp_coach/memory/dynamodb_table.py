"""One DynamoDB table under the store: building and priming its client, each call bounded by
the turn's deadline (retried within it, skipped for the rest of a turn once one failed), and
the key, query and batch helpers the store's reads and writes are made of."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from cramp_coach.memory import StoreError, turn
from cramp_coach.memory.dynamodb_calls import (
    BACKOFF_S,
    BATCH_SIZE,
    CALL_ATTEMPTS,
    ENDPOINT_ENV,
    MIN_CALL_S,
    RETRYABLE,
    _error_code,
    _is_botocore_error,
    _to_av,
    make_client,
    within,
)

log = logging.getLogger(__name__)


class DynamoTable:
    """The plumbing of one table (pk = user key, sk = profile | log#...); DynamoStore adds the
    Store protocol's reads and writes on top."""

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
        # Deadlines of the turns in which a call failed: the rest of such a turn skips the store.
        self._failed: OrderedDict[float, None] = OrderedDict()

    @property
    def spool_scope(self) -> str:
        """Which store deferred writes (persistence.deferred) are for: this table."""
        return f"dynamodb:{self.table_name}@{self._endpoint_url or 'aws'}"

    def spool_path(self) -> Any:
        """Outside Lambda, deferred writes are kept in data/ (CRAMP_SPOOL_PATH overrides)."""
        from cramp_coach.memory.deferral import default_spool_path

        return default_spool_path()

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

    def _mark_failed(self, deadline: float) -> None:
        with self._lock:
            self._failed[deadline] = None
            while len(self._failed) > 64:  # only the current turns matter
                self._failed.popitem(last=False)

    def _call(self, operation: str, method: str, *, tolerate: str = "", **kwargs: Any) -> Any:
        """One API call within the turn's deadline, retried (throttling, a dropped connection)
        while the deadline allows. `tolerate`: an error code that is an answer, not a failure
        (returned as None). Any other failure marks the turn failed and raises StoreError."""
        deadline = turn.current()
        assert deadline is not None  # every caller runs inside turn.bounded()
        with self._lock:
            skipped = deadline in self._failed
        if skipped:
            raise StoreError(f"DynamoDB {operation} skipped for the rest of this turn")
        # Building the client (importing botocore) counts against the turn too: on a busy
        # machine it can take a good part of the budget. Left unfinished, it completes on its
        # worker thread and the next turn has it.
        client = self._client or within(deadline, "client", lambda: self.client)
        for attempt in range(CALL_ATTEMPTS):
            try:
                with self._calling(operation):
                    try:
                        return within(
                            deadline, operation, lambda: getattr(client, method)(**kwargs)
                        )
                    except Exception as exc:
                        if tolerate and _error_code(exc) == tolerate:
                            return None
                        raise
            except StoreError as exc:
                code = str(exc).rsplit(": ", 1)[-1]
                backoff = BACKOFF_S * 2**attempt * random.uniform(0.5, 1.0)
                again = code in RETRYABLE and attempt + 1 < CALL_ATTEMPTS
                if not again or time.monotonic() + backoff + MIN_CALL_S >= deadline:
                    self._mark_failed(deadline)
                    raise
                time.sleep(backoff)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _key(self, user_key: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": user_key}, "sk": {"S": sk}}

    def _query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = self._call("Query", "query", TableName=self.table_name, **kwargs)
            items.extend(page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                return items
            kwargs["ExclusiveStartKey"] = last

    def _item(self, user_key: str, sk: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        return self._key(user_key, sk) | {k: _to_av(v) for k, v in attrs.items()}

    def _batch(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One BatchWriteItem (<= 25 requests), UnprocessedItems retried while the deadline
        allows. Returns the requests still unprocessed (throttled) when it ran out."""
        attempt = 0
        while requests:
            result = self._call(
                "BatchWriteItem", "batch_write_item", RequestItems={self.table_name: requests}
            )
            requests = result.get("UnprocessedItems", {}).get(self.table_name, [])
            if not requests:
                break
            # Unprocessed means throttled: back off a little, if the deadline allows.
            backoff = BACKOFF_S * 2**attempt * random.uniform(0.5, 1.0)
            deadline = turn.current()
            if deadline is None or time.monotonic() + backoff + MIN_CALL_S >= deadline:
                break
            time.sleep(backoff)
            attempt += 1
        return requests

    def _delete_keys(self, user_key: str, keys: list[str]) -> None:
        """Delete these sort keys of the user, in batches of 25; unprocessed ones are retried."""
        for start in range(0, len(keys), BATCH_SIZE):
            requests: list[dict[str, Any]] = [
                {"DeleteRequest": {"Key": self._key(user_key, sk)}}
                for sk in keys[start : start + BATCH_SIZE]
            ]
            if self._batch(requests):
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
