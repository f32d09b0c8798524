"""DynamoDB store (CRAMP_STORE=dynamodb): the table from template.yaml.

The client is botocore's (make_client). In AWS Lambda it is built during the init, at full
CPU (lambda_entry: Memory.prepare), because every session's first turn reads the 12-hour
red-flag lock before any steps; elsewhere it is built the first time a request needs it.

A hard deadline per turn (cramp_coach.memory.turn): all store work of a turn, every call and retry,
ends by the turn's deadline, whatever the table does. botocore's timeouts are per socket read
(a table trickling one byte at a time never trips them) and a read in progress cannot be
aborted, so each call runs on a worker thread and the turn waits for it at most until the
deadline; an abandoned call finishes or fails on its own (at most MAX_IN_FLIGHT at once).
Writes are idempotent upserts, and the resume item is written and cleared only if no newer
snapshot is there (a condition on resume_saved_at), so a late abandoned write cannot undo a
newer one. Throttling and dropped connections are retried here, within the deadline (botocore
makes one attempt). Once a call has failed, the rest of the turn goes without the store. A
save does the most important writes first and reports what it did (persistence.Saved). Every
failure is raised as StoreError, whose message holds only the operation and an error code.
The lock is monotonic: a conditional PutItem never lowers a stored emergency.
Actions used: PutItem, UpdateItem, Query, DeleteItem, BatchWriteItem (the IAM policy).
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from cramp_coach.core.model import Profile
from cramp_coach.memory import MAX_ENTRIES_PER_SAVE, Saved, StoreError, turn
from cramp_coach.memory.dynamodb_calls import (
    _PRIME_ID,
    BACKOFF_S,
    BATCH_SIZE,
    CALL_ATTEMPTS,
    ENDPOINT_ENV,
    MIN_CALL_S,
    RETRYABLE,
    _Canned,
    _error_code,
    _is_botocore_error,
    _plain,
    _to_av,
    make_client,
    within,
)
from cramp_coach.memory.items import (
    LOCK_SK,
    LOG_PREFIX,
    PROFILE_SK,
    RESUME_SK,
    STATE_END,
    consent_after,
    entry_rid,
    expired,
    log_range,
    plan_entries,
    profile_from,
    profile_update,
    resume_attrs,
)
from cramp_coach.memory.lock import EMERGENCY_MARK, lock_attrs, server_time

log = logging.getLogger(__name__)

_RESUME_NOT_NEWER = "attribute_not_exists(resume_saved_at) OR resume_saved_at <= :as_of"
# The monotonic lock (persistence.items.lock_may_replace, said as a condition): the stored
# lock is gone or expired by the server's clock, or the new one is an emergency over a lesser
# one, or as serious and lasting at least as long. Anything else keeps the stored lock.
_LOCK_IF_EMERGENCY = (
    "attribute_not_exists(#lock) OR expires_at <= :now "
    "OR NOT contains(#lock, :em) OR expires_at <= :ends"
)
_LOCK_IF_URGENT = (
    "attribute_not_exists(#lock) OR expires_at <= :now "
    "OR (NOT contains(#lock, :em) AND expires_at <= :ends)"
)

























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

    def prime(self) -> None:
        """One load run through the whole client in this process and answered by a canned
        empty page (botocore's own before-send event), never sent: the first call's one-time
        work (request serialization, endpoint rules, signing, response parsing, this store's
        worker thread) then happens in AWS Lambda's init, at full CPU, instead of in the first
        request at a fraction of a CPU. Nothing is read or written."""
        from botocore.awsrequest import AWSResponse

        client = self.client

        def canned(request: Any, **_: Any) -> Any:
            headers: Any = {"Content-Type": "application/x-amz-json-1.0"}
            return AWSResponse(request.url, 200, headers, _Canned())

        event = "before-send.dynamodb.Query"
        client.meta.events.register(event, canned, unique_id=_PRIME_ID)
        try:
            self.load("0" * 64, time.time())
        finally:
            client.meta.events.unregister(event, unique_id=_PRIME_ID)

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

    def _update_profile(
        self, user_key: str, sets: Mapping[str, Any], removes: list[str]
    ) -> dict[str, Any]:
        """SET only these attributes (and REMOVE those): the profile item after it, plain."""
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
        result = self._call(
            "UpdateItem",
            "update_item",
            TableName=self.table_name,
            Key=self._key(user_key, PROFILE_SK),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return _plain(result.get("Attributes", {}))

    # ------------------------------------------------------------------ Store protocol
    def load(self, user_key: str, now: float) -> Profile:
        """One strongly consistent Query: the last seven days of the log, the profile, the
        resume snapshot and the lock.

        "profile" and "profile#..." sort after every "log#..." key, so the range from the
        window's start up to "profile#~" holds exactly the items the profile needs. A resume
        snapshot or lock found expired (TTL deletes lazily) is deleted here and then, if the
        turn's budget allows (TTL will otherwise).
        """
        low, _ = log_range(now)
        with turn.bounded():
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
            for sk in stale:
                try:
                    # Conditional: never delete a snapshot or lock written since the Query.
                    self._call(
                        "DeleteItem",
                        "delete_item",
                        tolerate="ConditionalCheckFailedException",
                        TableName=self.table_name,
                        Key=self._key(user_key, sk),
                        ConditionExpression="expires_at <= :now",
                        ExpressionAttributeValues={":now": _to_av(math.floor(server_time(now)))},
                    )
                except StoreError as exc:
                    log.warning("expired items not deleted yet (%s); TTL will", exc)
                    break
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
        as_of: float | None = None,
    ) -> Saved:
        """The lock (PutItem), the resume item (conditional PutItem or DeleteItem), the
        profile (UpdateItem), then the log entries (BatchWriteItem, 25 a call, oldest first):
        the most important first, each only if the turn's deadline allows.

        The profile update SETs only the attributes that changed (plus expires_at), so two
        devices saving at once never overwrite each other's changes; it returns the stored
        consent, which decides whether the entries are written (log on) or dropped.
        """
        as_of = now if as_of is None else as_of
        done = {"lock": lock is None, "resume": not (clear_resume or resume is not None)}
        done_entries: set[str] = set()
        wrote = False
        with turn.bounded():
            try:
                lock_item = lock_attrs(lock, now) if lock is not None else None
                if lock_item is not None:
                    self._save_lock(user_key, lock_item, now)
                    wrote = True
                done["lock"] = True
                self._save_resume(user_key, resume, clear_resume, as_of)
                wrote = wrote or not done["resume"]
                done["resume"] = True
                consent = self._save_profile(user_key, now, prefs, freq_advised)
                wrote = done["profile"] = True
                if consent is not True:
                    done_entries = {rid for e in entries if (rid := entry_rid(e)) is not None}
                    if entries:
                        log.info("cramp log off: %d log entries dropped", len(entries))
                else:
                    self._save_entries(user_key, now, entries, done_entries)
            except StoreError as exc:
                if not wrote:
                    raise
                log.warning("store save partly done (%s); the rest waits", exc)
        return Saved(
            lock=done["lock"],
            resume=done["resume"],
            profile=done.get("profile", False),
            entries=frozenset(done_entries),
        )

    def _save_lock(self, user_key: str, lock_item: dict[str, Any], now: float) -> None:
        """PutItem only if it raises, renews or replaces an expired lock; a failed condition
        means a lock at least as serious is stored already: done, nothing to retry."""
        emergency = EMERGENCY_MARK in lock_item["lock"]
        self._call(
            "PutItem",
            "put_item",
            tolerate="ConditionalCheckFailedException",
            TableName=self.table_name,
            Item=self._item(user_key, LOCK_SK, lock_item),
            ConditionExpression=_LOCK_IF_EMERGENCY if emergency else _LOCK_IF_URGENT,
            ExpressionAttributeNames={"#lock": "lock"},
            ExpressionAttributeValues={
                ":now": _to_av(math.floor(server_time(now))),
                ":em": _to_av(EMERGENCY_MARK),
                ":ends": _to_av(lock_item["expires_at"]),
            },
        )

    def _save_resume(
        self, user_key: str, resume: dict[str, Any] | None, clear: bool, as_of: float
    ) -> None:
        """Clear or write the snapshot unless a newer one is stored (that one stays)."""
        if not clear and resume is None:
            return
        condition: dict[str, Any] = {
            "ConditionExpression": _RESUME_NOT_NEWER,
            "ExpressionAttributeValues": {":as_of": _to_av(float(as_of))},
            "tolerate": "ConditionalCheckFailedException",
        }
        key = self._key(user_key, RESUME_SK)
        if clear:
            self._call("DeleteItem", "delete_item", TableName=self.table_name, Key=key, **condition)
        elif resume is not None:
            item = self._item(user_key, RESUME_SK, resume_attrs(resume, as_of))
            self._call("PutItem", "put_item", TableName=self.table_name, Item=item, **condition)

    def _save_profile(
        self, user_key: str, now: float, prefs: dict[str, Any], freq_advised: bool
    ) -> bool | None:
        """Apply prefs (and consent's consequences); returns the log consent after them."""
        explicit = consent_after(None, prefs)
        sets, removes = profile_update(
            now, prefs=prefs, freq_advised=freq_advised, consent=explicit
        )
        stored = self._update_profile(user_key, sets, removes)
        consent = consent_after(
            stored.get("log_consent") if isinstance(stored.get("log_consent"), bool) else None,
            prefs,
        )
        if explicit is None and freq_advised and consent is True:
            # The consent was only known once stored: the advice time is kept only while on.
            self._update_profile(user_key, {"freq_advised_at": float(now)}, [])
        if consent is False and explicit is False:
            self._delete_keys(user_key, self._sort_keys(user_key, LOG_PREFIX))
        return consent

    def _save_entries(
        self, user_key: str, now: float, entries: list[dict[str, Any]], done: set[str]
    ) -> None:
        """Oldest first, 25 a call, at most MAX_ENTRIES_PER_SAVE; `done` gets each rid as it
        is written (or dropped as invalid)."""
        planned, dropped = plan_entries(entries, now, MAX_ENTRIES_PER_SAVE)
        done |= dropped
        for start in range(0, len(planned), BATCH_SIZE):
            chunk = planned[start : start + BATCH_SIZE]
            requests = [
                {"PutRequest": {"Item": self._item(user_key, sk, attrs)}} for _, sk, attrs in chunk
            ]
            left = self._batch(requests)
            unwritten = {r["PutRequest"]["Item"]["sk"]["S"] for r in left}
            done |= {rid for rid, sk, _ in chunk if sk not in unwritten}
            if left:
                return  # still throttled at the deadline: the rest waits, oldest first

    def delete_user(self, user_key: str) -> None:
        """Every item of the user (profile, resume, lock, log), in batches of 25."""
        with turn.bounded():
            keys = self._sort_keys(user_key)
            self._delete_keys(user_key, keys)
        log.info("deleted %d stored items", len(keys))
