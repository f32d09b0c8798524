"""The web service's access log: one JSON line per request (method, path, status, duration,
request type, intent name, refusal reason), never a user id or a slot value.
"""

from __future__ import annotations

import contextlib
import logging
import sys

from flask import g

from cramp_coach.hosting.verification import VerificationException

ACCESS_LOG = logging.getLogger("cramp_coach.access")


def _configure_access_log() -> None:
    if not ACCESS_LOG.handlers:  # idempotent: create_app may run many times (tests, workers)
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        ACCESS_LOG.addHandler(handler)
        ACCESS_LOG.setLevel(logging.INFO)
        ACCESS_LOG.propagate = False


class _RefusalFilter(logging.Filter):
    """flask-ask-sdk logs each refused request with a full traceback (log flooding under
    attack). Keep one line, and hand the reason to the access log instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Request verification failed" and record.exc_info:
            error = record.exc_info[1]
            reason = str(error) if isinstance(error, VerificationException) else "verification"
            with contextlib.suppress(RuntimeError):  # outside a request context
                g.refused = reason
            record.msg = f"request refused: {reason}"
            record.exc_info = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _short(value: object) -> str | None:
    """Only short strings reach the log (type and intent names are short identifiers)."""
    return value[:80] if isinstance(value, str) else None
