"""CloudWatch metrics in embedded metric format (EMF): one JSON line on stdout per event.

In Lambda everything on stdout goes to the function's log group, and CloudWatch Logs turns
lines that follow the EMF specification into metrics: no PutMetricData call, no permission,
no extra latency, no dependency (this module is the whole emitter; it imports nothing that
the standard library has not already loaded).

Two counters, namespace ``CrampCoach``:

- ``RedFlagRaised`` with dimension ``RedFlag`` (a content id such as ``RF_DVT``), once per red
  flag newly spoken;
- ``RoutineEnded`` with dimension ``Outcome`` (eased, stopped, red_flag, switched_muscle,
  too_painful, interrupted).

Nothing else goes into a record: no user id, no key, no slot value, no utterance. Values that
are not a known outcome or a well-formed red-flag id are dropped, so free text can never
reach the metrics. Emitted in Lambda (AWS_LAMBDA_FUNCTION_NAME set) unless CRAMP_METRICS=off;
elsewhere only with CRAMP_METRICS=emf (the terminal chat prints no metric lines).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import TextIO

NAMESPACE = "CrampCoach"
OUTCOMES = frozenset(
    {"eased", "stopped", "red_flag", "switched_muscle", "too_painful", "interrupted"}
)
_RED_FLAG_ID = re.compile(r"RF_[A-Z0-9_]{1,28}")


def enabled() -> bool:
    setting = os.environ.get("CRAMP_METRICS", "").lower()
    if setting in ("emf", "on"):
        return True
    if setting == "off":
        return False
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def record(metric: str, dimension: str, value: str, now: float | None = None) -> dict[str, object]:
    """One EMF document counting 1 of `metric` for `dimension` = `value`."""
    return {
        "_aws": {
            "Timestamp": int((time.time() if now is None else now) * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [[dimension]],
                    "Metrics": [{"Name": metric, "Unit": "Count"}],
                }
            ],
        },
        dimension: value,
        metric: 1,
    }


def turn_records(
    red_flag_raised: str | None, routine_ended: str | None, now: float | None = None
) -> list[dict[str, object]]:
    """The records one turn produces (nothing for a turn without either event)."""
    records: list[dict[str, object]] = []
    if red_flag_raised is not None and _RED_FLAG_ID.fullmatch(red_flag_raised):
        records.append(record("RedFlagRaised", "RedFlag", red_flag_raised, now))
    if routine_ended in OUTCOMES:
        records.append(record("RoutineEnded", "Outcome", routine_ended, now))
    return records


def emit_turn(
    red_flag_raised: str | None,
    routine_ended: str | None,
    stream: TextIO | None = None,
) -> None:
    """Write this turn's records to stdout (or `stream`), one line each, when enabled."""
    if stream is None and not enabled():
        return
    out = stream if stream is not None else sys.stdout
    for doc in turn_records(red_flag_raised, routine_ended):
        out.write(json.dumps(doc, separators=(",", ":")) + "\n")
    out.flush()
