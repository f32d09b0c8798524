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
import time
from collections.abc import Mapping
from typing import Any

from cramp_coach.core.model import Profile
from cramp_coach.memory import MAX_ENTRIES_PER_SAVE, Saved, StoreError, turn
from cramp_coach.memory.dynamodb_calls import (
    _PRIME_ID,
    BATCH_SIZE,
    _Canned,
    _plain,
    _to_av,
)
from cramp_coach.memory.dynamodb_table import DynamoTable
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


class DynamoStore(DynamoTable):
    """The Store protocol on one DynamoDB table (pk = user key, sk = profile | log#...)."""

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
