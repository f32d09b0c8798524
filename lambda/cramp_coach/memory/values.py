"""Values read back from a store are checked before use: finite numbers, short codes.

Items come back from a file or a table that anything may have written; a value that is not what
the skill writes is treated as missing, never trusted.
"""

from __future__ import annotations

import math

MAX_TEXT = 64  # muscle ids, variants and outcomes are short codes; anything longer is corrupt


def finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def short_text(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_TEXT else None
