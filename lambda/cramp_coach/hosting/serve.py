"""`cramp-coach serve`: the skill's web service under waitress.

waitress reads each request whole in its event loop before a thread runs the app, so slow
clients cost a socket, never a thread (docs/self-hosting.md has the measurements).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from cramp_coach.hosting.arrival import MAX_BODY_BYTES, arrival_server
from cramp_coach.hosting.web_config import warn_unverified
from cramp_coach.hosting.webservice import create_app

# waitress: slow clients cost a socket in its event loop, never a thread. It reads each
# request whole (headers and body, within the size limits) before a thread runs the app.
DEFAULT_THREADS = 4
DEFAULT_CONNECTION_LIMIT = 1000  # waitress stops accepting at this many open connections
CHANNEL_TIMEOUT_S = 20  # a connection idle this long (keep-alive, stalled headers/body) closes
MAX_HEADER_BYTES = 16 * 1024


def _connection_limit(wanted: int) -> int:
    """Below the process's file-descriptor limit, leaving room for the store and logs."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # pragma: no cover - not on Linux/macOS
        return wanted
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, soft - 64))


def serve(
    host: str,
    port: int,
    *,
    verify: bool = True,
    skill_id: str | None = None,
    threads: int = DEFAULT_THREADS,
    connection_limit: int = DEFAULT_CONNECTION_LIMIT,
    channel_timeout: int = CHANNEL_TIMEOUT_S,
    app_factory: Callable[[], Any] | None = None,
) -> None:
    """Run the web service under waitress (blocking). `verify=False` is for local testing.

    `app_factory` replaces ``create_app(verify=..., skill_id=...)`` (the benchmarks' test PKI);
    the server settings stay those of `cramp-coach serve`.
    """
    import waitress

    if threads < 1:
        raise SystemExit("cramp-coach serve: --threads must be at least 1")
    if connection_limit < 1 or channel_timeout < 1:
        raise SystemExit("cramp-coach serve: limits must be at least 1")
    from_env = os.environ.get("SKILL_ID") or None
    if skill_id and from_env and skill_id != from_env:
        raise SystemExit("cramp-coach serve: skill_id differs from SKILL_ID")
    resolved = skill_id or from_env
    if verify and not resolved:
        raise SystemExit(
            "cramp-coach serve: set SKILL_ID to your skill id (amzn1.ask.skill....); "
            "requests are verified and must come from your skill. For local testing only, "
            "use --no-verify-signatures-for-local-testing."
        )
    if not verify:
        warn_unverified()

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = app_factory() if app_factory is not None else create_app(verify=verify, skill_id=resolved)
    waitress.serve(
        app,
        _server=arrival_server,
        host=host,
        port=port,
        threads=threads,
        connection_limit=_connection_limit(connection_limit),
        channel_timeout=channel_timeout,
        cleanup_interval=max(1, min(30, channel_timeout // 2)),
        # select() cannot watch more than 1024 sockets; poll() can.
        asyncore_use_poll=True,
        backlog=1024,
        max_request_header_size=MAX_HEADER_BYTES,
        # waitress answers 413 itself, chunked or not, before the app or a thread sees it.
        max_request_body_size=MAX_BODY_BYTES,
        expose_tracebacks=False,
        ident="cramp-coach",
    )
