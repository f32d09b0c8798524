"""Warm requests: one process, one skill, thousands of requests per type, no database I/O.

The skill is built as the Lambda entry point builds it, but with NullStore (the store is
not what is measured here). Every request is a real envelope (bench.envelopes via
cramp_coach.hosting.local.envelopes); the copies are made before timing, and each call is timed
alone with perf_counter_ns around ``handle_envelope`` (deserialize, dispatch, core,
serialize).
"""

from __future__ import annotations

import copy
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

T0 = 1_795_230_000.0  # 03:00 UTC: the middle of the night
CALF_HER: dict[str, tuple[str, str | None]] = {
    "muscle": ("calf", "CALF"),
    "helper": ("her", "PARTNER"),
}


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(q / 100 * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def request_types() -> dict[str, tuple[str, dict[str, Any]]]:
    """One envelope per request type, each in the session state it is normally sent in."""
    from cramp_coach.alexa.handle import handle_envelope
    from cramp_coach.alexa.skill import build_skill
    from cramp_coach.hosting.local.envelopes import Session
    from cramp_coach.memory import NullStore

    skill = build_skill(store_factory=NullStore)
    launch = Session().launch(T0)
    oneshot = Session().intent("CrampIntent", T0, CALF_HER)
    # "next" and the red flag come mid-routine: the session carries the routine's state.
    session = Session()
    session.absorb(handle_envelope(skill, session.intent("CrampIntent", T0, CALF_HER)))
    following = session.intent("AMAZON.NextIntent", T0 + 20)
    red_flag = session.intent("SymptomIntent", T0 + 20, {"symptom": ("swollen", "RF_DVT")})
    # Name-free "Alexa, her calf is cramping": Alexa asks first, without a session.
    can_fulfill = Session().intent("CrampIntent", T0, CALF_HER)
    can_fulfill["request"]["type"] = "CanFulfillIntentRequest"
    can_fulfill["request"].pop("dialogState")
    can_fulfill.pop("session")
    return {
        "launch": ("LaunchRequest, new session", launch),
        "oneshot": ("CrampIntent her calf, new session", oneshot),
        "next": ("AMAZON.NextIntent mid-routine", following),
        "red_flag": ("SymptomIntent RF_DVT mid-routine", red_flag),
        "can_fulfill": ("CanFulfillIntentRequest her calf, no session", can_fulfill),
    }


def time_calls(
    call: Callable[[dict[str, Any]], Any], envelope: dict[str, Any], count: int
) -> tuple[list[int], list[int]]:
    """Wall and CPU (this thread) nanoseconds of ``count`` calls, each on a fresh copy."""
    wall_clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    walls: list[int] = []
    cpus: list[int] = []
    for _ in range(count):
        fresh = copy.deepcopy(envelope)  # outside the timed region
        wall_start, cpu_start = wall_clock(), cpu_clock()
        call(fresh)
        cpu_end, wall_end = cpu_clock(), wall_clock()
        walls.append(wall_end - wall_start)
        cpus.append(cpu_end - cpu_start)
    return walls, cpus


def _stats(samples_ns: list[int]) -> dict[str, float]:
    ms = sorted(ns / 1e6 for ns in samples_ns)
    return {
        "p50_ms": round(percentile(ms, 50), 4),
        "p90_ms": round(percentile(ms, 90), 4),
        "p99_ms": round(percentile(ms, 99), 4),
        "mean_ms": round(statistics.fmean(ms), 4),
        "max_ms": round(ms[-1], 4),
    }


def measure(requests: int, rounds: int = 5, warmup: int = 200) -> dict[str, Any]:
    """``requests`` timed calls per type, in ``rounds`` interleaved rounds.

    Wall time is what a listener waits for; CPU time of the thread leaves out the moments the
    process was not running (other processes on a shared machine), so when the two p99 differ
    a lot the tail is the machine's, not the code's.
    """
    from cramp_coach.alexa.handle import handle_envelope
    from cramp_coach.alexa.skill import build_skill, configure_logging
    from cramp_coach.memory import NullStore

    configure_logging()  # as lambda_entry does (LOG_LEVEL, default INFO)
    skill = build_skill(store_factory=NullStore)

    def call(envelope: dict[str, Any]) -> Any:
        return handle_envelope(skill, envelope)

    types = request_types()
    walls: dict[str, list[int]] = {name: [] for name in types}
    cpus: dict[str, list[int]] = {name: [] for name in types}
    round_p99: dict[str, list[float]] = {name: [] for name in types}
    for _, envelope in types.values():
        time_calls(call, envelope, warmup)
    per_round = max(1, requests // rounds)
    for _ in range(rounds):
        for name, (_, envelope) in types.items():
            gc.collect()
            wall, cpu = time_calls(call, envelope, per_round)
            walls[name] += wall
            cpus[name] += cpu
            round_p99[name].append(percentile(sorted(ns / 1e6 for ns in wall), 99))
    results: dict[str, Any] = {}
    for name, (label, _) in types.items():
        results[name] = {
            "label": label,
            "requests": len(walls[name]),
            **_stats(walls[name]),
            "p99_ms_median_of_rounds": round(statistics.median(round_p99[name]), 4),
            "cpu": _stats(cpus[name]),
        }
    return {
        "store": "NullStore (no database I/O)",
        "rounds": rounds,
        "types": results,
    }
