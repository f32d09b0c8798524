"""The store's time budget for one turn, counted from the request's arrival.

Alexa waits 8 s for an answer and the function is stopped at 7 s; the speech must never wait on
the table for more than TURN_BUDGET_S in all, whatever the table does. The entry points
(Lambda handler, web service) call `begin()` the moment a request arrives; the store asks
`remaining()` before and during each call. A context variable, so each thread of a threaded
web server has its own turn.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

TURN_BUDGET_S = 1.5

_DEADLINE: ContextVar[float | None] = ContextVar("cramp_coach_turn_deadline", default=None)


def begin(arrived: float | None = None, budget: float = TURN_BUDGET_S) -> float:
    """Start a turn: store work may run until `arrived + budget` (time.monotonic seconds).

    Returns the deadline.
    """
    deadline = (time.monotonic() if arrived is None else arrived) + budget
    _DEADLINE.set(deadline)
    return deadline


def deadline() -> float:
    """This turn's deadline; a turn nobody began (a test, a script) begins now."""
    found = _DEADLINE.get()
    return begin() if found is None else found


def remaining() -> float:
    """Seconds of store time left in this turn (0 once it is spent)."""
    return max(0.0, deadline() - time.monotonic())


def end() -> None:
    """Forget the turn (the next request on this thread begins its own)."""
    _DEADLINE.set(None)
