"""The web service's settings from the environment, refusing to start unverified by accident.

CRAMP_VERIFY=0 turns request verification off only together with CRAMP_ALLOW_UNVERIFIED=1
(local testing); the server then prints a large warning.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

log = logging.getLogger("cramp_coach.hosting.webservice")

UNVERIFIED_BANNER = """
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  WARNING: REQUEST VERIFICATION IS OFF (local testing only)                   !!
!!  Signatures, certificate chains, timestamps and the skill id are NOT checked.!!
!!  Anyone who can reach this port can drive the skill. Never expose it.        !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
"""


class ConfigurationError(ValueError):
    """The service was asked to start in a way that would be unsafe or cannot work."""


def warn_unverified(stream: Any = None) -> None:
    """The loud start-up warning when verification is off."""
    print(UNVERIFIED_BANNER, file=stream or sys.stderr, flush=True)
    log.warning("request verification is OFF: local testing only")


def _flag(value: str | None) -> bool | None:
    if value is None or value.strip() == "":
        return None
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"not a boolean: {value!r}")


def verify_from_env() -> bool:
    """CRAMP_VERIFY=0 turns verification off only together with CRAMP_ALLOW_UNVERIFIED=1."""
    verify = _flag(os.environ.get("CRAMP_VERIFY"))
    if verify is None or verify:
        return True
    if _flag(os.environ.get("CRAMP_ALLOW_UNVERIFIED")) is not True:
        raise ConfigurationError(
            "CRAMP_VERIFY=0 also needs CRAMP_ALLOW_UNVERIFIED=1 (local testing only); "
            "refusing to start without request verification"
        )
    return False
