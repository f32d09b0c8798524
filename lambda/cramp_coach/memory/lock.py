"""The 12-hour red-flag lock as stored: its shape, and the one rule every store keeps.

A lock is written only if it raises, renews or replaces an expired one (`lock_may_replace`):
a lesser flag from another device never lowers a stored emergency. Expiry is judged by the
server's clock (`server_time`), so a request dated ahead cannot clear anyone's lock.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

from cramp_coach.memory.values import finite, short_text

LOCK_TTL_S = 12 * 3600  # the red-flag lock, 12 hours after the flag was raised
LOCK_LEVELS = ("urgent", "emergency")  # in rising order: a lock never falls back down
LOCK_ABOUT = ("partner", "speaker", "unknown")  # who the warning was about
# How the stored JSON names an emergency: the stores' conditions look for exactly this text.
EMERGENCY_MARK = '"level":"emergency"'


def lock_attrs(lock: Mapping[str, Any], now: float) -> dict[str, Any] | None:
    """The lock item (expires 12 hours after its "at"), or None when invalid or already over."""
    flag = short_text(lock.get("flag"))
    level = lock.get("level")
    muscle = lock.get("muscle")
    about = lock.get("about", "unknown")
    at = finite(lock.get("at"))
    if flag is None or level not in LOCK_LEVELS or at is None or at < 0:
        return None
    if muscle is not None and short_text(muscle) is None:
        return None
    if about not in LOCK_ABOUT:
        return None
    ends = math.ceil(at + LOCK_TTL_S)
    if ends <= now:
        return None
    value = {"flag": flag, "level": level, "muscle": muscle, "at": at, "about": about}
    return {"lock": json.dumps(value, separators=(",", ":")), "expires_at": ends}


def server_time(request_now: float) -> float:
    """The clock for deleting and overriding items: this machine's, or the request's when that
    is earlier (a test's or a late write's past date only ever keeps more)."""
    return min(request_now, time.time())


def lock_may_replace(
    stored: Mapping[str, Any] | None, new: Mapping[str, Any], server_now: float
) -> bool:
    """The monotonic rule for the lock item, the same in both stores: a new lock (lock_attrs)
    replaces the stored one only if that one is gone or expired (by the server's clock), or
    the new one is more serious, or as serious and lasting at least as long (a renewal).
    A lesser flag never lowers a stored emergency; an older copy never shortens a newer one.
    DynamoStore says the same in a ConditionExpression (persistence.dynamodb)."""
    if stored is None or not isinstance(stored.get("lock"), str):
        return True
    ends = stored.get("expires_at")
    if not isinstance(ends, int | float) or ends <= server_now:
        return True
    was_emergency = EMERGENCY_MARK in stored["lock"]
    is_emergency = EMERGENCY_MARK in str(new.get("lock"))
    if is_emergency and not was_emergency:
        return True
    if was_emergency and not is_emergency:
        return False
    return bool(new.get("expires_at", 0) >= ends)
