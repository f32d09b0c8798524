"""The store's time budget for one turn, counted from the request's arrival.

Alexa waits 8 s for an answer and the function is stopped at 7 s; the speech must never wait on
the table for more than TURN_BUDGET_S in all, whatever the table does. The entry points
(Lambda handler, web service) call `begin()` the moment a request arrives; Memory `claim`s the
turn for one request (user key, request timestamp), so a turn nobody began starts at its first
store work, and a deadline left over from an earlier request on the same thread is never
reused. The store asks `remaining()` before and during each call. A context variable, so each
thread of a threaded web server has its own turn.

Store calls outside any turn (scripts, tests, admin tools: nobody waits for speech) are
bounded per operation: `bounded()` gives each its own, more generous budget.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

TURN_BUDGET_S = 1.5
OUTSIDE_TURN_BUDGET_S = 10.0  # one store operation outside any turn

# (deadline in time.monotonic seconds, the request that claimed it or None: not yet claimed)
_TURN: ContextVar[tuple[float, Hashable | None] | None] = ContextVar(
    "cramp_coach_turn", default=None
)


# When this turn's request arrived (time.monotonic seconds): other bounded work of the turn
# (the Reminders API calls, reminders.py) counts its own budget from here.
_ARRIVED: ContextVar[float | None] = ContextVar("cramp_coach_arrived", default=None)


def begin(arrived: float | None = None, budget: float = TURN_BUDGET_S) -> float:
    """Start a turn: store work may run until `arrived + budget` (time.monotonic seconds).

    Returns the deadline.
    """
    start = time.monotonic() if arrived is None else arrived
    _ARRIVED.set(start)
    deadline = start + budget
    _TURN.set((deadline, None))
    return deadline


def since_arrival(seconds: float) -> float:
    """The moment `seconds` after this turn's request arrived (from now outside a turn)."""
    arrived = _ARRIVED.get()
    return (time.monotonic() if arrived is None else arrived) + seconds


def claim(request: Hashable) -> float:
    """The deadline of this request's turn: the one the entry point began, the one this
    request already claimed, or (nobody began it, or it belongs to an earlier request) a new
    one from now."""
    found = _TURN.get()
    if found is not None and found[1] in (None, request):
        _TURN.set((found[0], request))
        return found[0]
    deadline = time.monotonic() + TURN_BUDGET_S
    _TURN.set((deadline, request))
    return deadline


def current() -> float | None:
    """This turn's deadline, or None outside any turn."""
    found = _TURN.get()
    return None if found is None else found[0]


def remaining() -> float:
    """Seconds of store time left in this turn (0 once it is spent; outside a turn, the
    budget of one operation)."""
    found = current()
    return OUTSIDE_TURN_BUDGET_S if found is None else max(0.0, found - time.monotonic())


@contextmanager
def bounded(budget: float = OUTSIDE_TURN_BUDGET_S) -> Iterator[float]:
    """The current turn's deadline, or (outside a turn) one of `budget` for this block only."""
    found = current()
    if found is not None:
        yield found
        return
    deadline = time.monotonic() + budget
    token = _TURN.set((deadline, None))
    try:
        yield deadline
    finally:
        _TURN.reset(token)


@contextmanager
def reserving(seconds: float) -> Iterator[None]:
    """Hold back `seconds` of the turn during this block (kept for a hand-off after it)."""
    found = _TURN.get()
    if found is None:
        yield
        return
    token = _TURN.set((found[0] - seconds, found[1]))
    try:
        yield
    finally:
        _TURN.reset(token)


def end() -> None:
    """Forget the turn's store deadline (the next request on this thread begins its own)."""
    _TURN.set(None)


def done() -> None:
    """The request is answered: forget its deadline and when it arrived."""
    _TURN.set(None)
    _ARRIVED.set(None)
