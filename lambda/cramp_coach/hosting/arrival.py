"""When a request arrived: the per-turn store budget of the web service counts from it.

waitress stamps each request when it has read it whole (`arrival_server`), before it waits
for a thread; `TurnClock`, the app's outermost WSGI layer, starts the turn's budget
(cramp_coach.memory.turn) from that moment and answers a request that waited too long with
the calm fallback at once.
"""

from __future__ import annotations

import logging

# Import order matters: verification registers the certvalidator placeholder that lets
# flask_ask_sdk import on OpenSSL 3.0.1x (see cramp_coach/hosting/verification.py).
from cramp_coach.hosting import verification  # noqa: F401

# isort: split

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from cramp_coach.memory import turn

log = logging.getLogger("cramp_coach.hosting.webservice")

MAX_BODY_BYTES = 64 * 1024  # real envelopes are a few KiB; Alexa never sends more than ~20

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# Where `cramp-coach serve` (waitress) puts the moment a request was read whole: time.monotonic().
ARRIVED_KEY = "cramp_coach.arrived"


# A request that waited this long for a thread is answered with the calm fallback at once:
# Alexa gives a turn 8 s, and a late answer is no answer (issue 21).
LATE_S = 5.0


class TurnClock:
    """Outermost WSGI layer: the store's per-turn budget (cramp_coach.memory.turn) counts from the
    request's arrival (ARRIVED_KEY, when the server read it whole, before it waited for a
    thread), else from the moment the server hands it over. A request that already waited
    LATE_S gets the calm fallback without running the skill."""

    def __init__(self, inner: WsgiApp) -> None:
        self._inner = inner

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        arrived = environ.get(ARRIVED_KEY)
        now = time.monotonic()
        if not isinstance(arrived, float) or not now - 60 <= arrived <= now:
            arrived = now
        if now - arrived >= LATE_S and environ.get("REQUEST_METHOD") == "POST":
            return _late(environ, start_response, now - arrived)
        turn.begin(arrived)
        try:
            # Flask has built the whole body and run its teardown by the time this returns.
            return self._inner(environ, start_response)
        finally:
            turn.end()


def _late(environ: dict[str, Any], start_response: Callable[..., Any], waited: float) -> Any:
    """The calm fallback, in the request's locale when its body says one: nothing stored,
    nothing run, and no words of the request used but the locale."""
    from cramp_coach.alexa.handle import calm_response_envelope

    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY_BYTES)
        parsed: Any = json.loads(environ["wsgi.input"].read(length)) if length else None
    except (ValueError, OSError, KeyError, RecursionError):
        parsed = None
    body = json.dumps(calm_response_envelope(parsed), allow_nan=False).encode()
    log.warning("request waited %.1f s for a thread: calm fallback", waited)
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def arrival_server(app: Any, **kw: Any) -> Any:
    """waitress's server, with each request stamped when it was read whole (ARRIVED_KEY):
    its turn budget then counts from there, not from when a thread was free."""
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.server import BaseWSGIServer, create_server
    from waitress.task import WSGITask

    class Parser(HTTPRequestParser):  # type: ignore[misc]
        arrived: float | None = None

        def received(self, data: bytes) -> int:
            n: int = super().received(data)
            if self.completed and self.arrived is None:
                self.arrived = time.monotonic()
            return n

    class Task(WSGITask):  # type: ignore[misc]
        def get_environment(self) -> dict[str, Any]:
            environ: dict[str, Any] = super().get_environment()
            environ[ARRIVED_KEY] = getattr(self.request, "arrived", None)
            return environ

    class Channel(HTTPChannel):  # type: ignore[misc]
        parser_class = Parser
        task_class = Task

    server = create_server(app, **kw)
    # One server per listening socket; several are kept in the socket map.
    for one in [server, *dict(getattr(server, "map", None) or {}).values()]:
        if isinstance(one, BaseWSGIServer):
            one.channel_class = Channel
    return server
