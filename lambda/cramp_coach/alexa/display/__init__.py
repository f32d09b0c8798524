"""The night display: the core's `Screen` -> an APL document and its datasource. Pure.

Two documents live next to this file: `step.json` (muscle, "Step 3 of 7", the action, a
countdown, a "Next" tap target) and `red_flag.json` (only the number to call and the advice).
Both are dark (near-black ground, dim warm text, nothing white) and size themselves from the
viewport with `when` conditions: small round (Echo Spot) up to a 15-inch Show, landscape or
portrait.

The countdown runs from the document's own commands. The builder adds an `onMount` Sequential
of SetValue commands (the number shown) and AnimateItem (a thin bar shrinking over each hold)
whose delays follow `cramp_coach.core.speech.hold_plan`, the same pacing the speech uses:

- the count starts after the spoken lead, estimated from `Screen.lead_words` at
  `WORDS_PER_SECOND` (Alexa's default rate is about 150 words a minute; the night voice
  changes the volume, not the rate);
- inside each SSML break the number goes down once a second, so it shows exactly the seconds
  left that the voice names at the end of the break ("Twenty left.");
- while the voice speaks a mark, the number waits for those words (`MARK_WORDS` at the same
  rate); the last five seconds follow the spoken "five, four, three, two, one" at
  `FINAL_TICK_MS` a number;
- a step whose hold waits for the listener to get into position (`waits_for_position`) shows
  the hold's length, still: its count starts on "next".

Estimating the lead is the one approximation: APL SpeakItem with an ssmlToSpeech
transformer would put speech and screen on one timeline, but it moves the speech out of
outputSpeech and into the document, which devices without a screen never get. Left out.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from cramp_coach.core.model import Screen
from cramp_coach.core.speech import hold_plan

HERE = Path(__file__).parent
TOKEN = "cramp-night"
WORDS_PER_SECOND = 2.5
MARK_WORDS = 2  # "Twenty left."
FINAL_TICK_MS = 650  # one number of "Five, four, three, two, one." (a word and a comma pause)
BEAT_CUE_WORDS = 6  # words between two holds of one step ("Now the other knee."), estimated
NEXT_LABEL = "Next"

Json = dict[str, Any]


def words_ms(words: int) -> int:
    return round(words / WORDS_PER_SECOND * 1000)


class Tick(msgspec.Struct, frozen=True):
    """From `at_ms` after the document mounts, the count shows `show`."""

    at_ms: int
    show: int
    kind: str  # "start" | "silence" (inside a break) | "final" (a spoken last-five number)


class HoldTimeline(msgspec.Struct, frozen=True):
    seconds: int
    start_ms: int
    end_ms: int
    breaks_ms: tuple[int, ...]  # the SSML breaks of the spoken count, in order
    marks: tuple[int, ...]  # the "N left" the voice names, in order
    spoken_final: bool
    ticks: tuple[Tick, ...]


def hold_timeline(seconds: int, start_ms: int) -> HoldTimeline | None:
    """The screen's count for one hold, in step with the speech; None if it is not counted."""
    plan = hold_plan(seconds)
    if plan is None:
        return None
    t = start_ms
    shown = seconds
    ticks = [Tick(t, shown, "start")]
    marks: list[int] = []
    for silence, left in plan.pauses:
        for k in range(1, silence + 1):
            ticks.append(Tick(t + k * 1000, shown - k, "silence"))
        t += silence * 1000
        shown = left
        if left >= 10:
            marks.append(left)
            t += words_ms(MARK_WORDS)
    if plan.spoken_final:
        # The voice says "five" as the screen reaches 5, then one number per FINAL_TICK_MS.
        for k in range(1, 6):
            ticks.append(Tick(t + k * FINAL_TICK_MS, 5 - k, "final"))
        t += 5 * FINAL_TICK_MS
    return HoldTimeline(
        seconds=seconds,
        start_ms=start_ms,
        end_ms=t,
        breaks_ms=tuple(s * 1000 for s, _ in plan.pauses),
        marks=tuple(marks),
        spoken_final=plan.spoken_final,
        ticks=tuple(ticks),
    )


def countdown(screen: Screen) -> tuple[HoldTimeline, ...]:
    """Every counted hold of the screen, placed after the lead (and the cues between holds)."""
    if screen.waits_for_position:
        return ()
    out: list[HoldTimeline] = []
    t = words_ms(screen.lead_words)
    for seconds in screen.holds:
        timeline = hold_timeline(seconds, t)
        if timeline is None:
            continue  # too long to count aloud: spoken as a duration, shown still
        out.append(timeline)
        t = timeline.end_ms + words_ms(BEAT_CUE_WORDS)
    return tuple(out)


def _set_count(value: int, delay: int) -> Json:
    return {
        "type": "SetValue",
        "componentId": "count",
        "property": "text",
        "value": str(value),
        "delay": delay,
    }


def countdown_commands(timelines: tuple[HoldTimeline, ...]) -> list[Json]:
    """The onMount commands: per hold, the bar shrinks while the number follows the ticks."""
    if not timelines:
        return []
    commands: list[Json] = []
    now = 0
    for timeline in timelines:
        start, *rest = timeline.ticks
        commands.append(_set_count(start.show, start.at_ms - now))
        steps: list[Json] = []
        previous = start.at_ms
        for tick in rest:
            steps.append(_set_count(tick.show, tick.at_ms - previous))
            previous = tick.at_ms
        duration = timeline.end_ms - timeline.start_ms
        shrink = {
            "type": "AnimateItem",
            "componentId": "bar",
            "duration": duration,
            "easing": "linear",
            "value": [{"property": "transform", "from": [{"scaleX": 1}], "to": [{"scaleX": 0}]}],
        }
        tail = duration - (previous - timeline.start_ms)
        if tail > 0:
            steps.append({"type": "Idle", "delay": tail})
        commands.append(
            {"type": "Parallel", "commands": [shrink, {"type": "Sequential", "commands": steps}]}
        )
        now = timeline.end_ms
    # screenLock keeps the screen up while the count runs.
    return [{"type": "Sequential", "screenLock": True, "commands": commands}]


@cache
def _document(name: str) -> str:
    return (HERE / f"{name}.json").read_text(encoding="utf-8")


def document(name: str) -> Json:
    """A fresh, private copy of one of the documents ("step" or "red_flag")."""
    loaded: Json = json.loads(_document(name))
    return loaded


@cache
def _shared(name: str) -> Json:
    return document(name)


def _for_turn(name: str, on_mount: list[Json] | None = None) -> Json:
    """The cached document with this turn's onMount: a shallow copy, so it is read-only."""
    doc = dict(_shared(name))
    if on_mount is not None:
        doc["onMount"] = on_mount
    return doc


def _call(number: str | None) -> str:
    return f"Call {number}" if number else ""


def render(screen: Screen) -> tuple[Json, Json]:
    """(document, datasources) for the RenderDocument directive; treat both as read-only."""
    if screen.kind == "red_flag":
        advice: Json = {"title": screen.title, "text": screen.text, "call": _call(screen.number)}
        return _for_turn("red_flag"), {"night": advice}
    timelines = countdown(screen)
    first_hold = screen.holds[0] if screen.holds else None
    has_count = first_hold is not None and (bool(timelines) or screen.waits_for_position)
    if screen.waits_for_position:
        caption = "seconds, from next"
    elif timelines:
        caption = "seconds"
    else:
        caption = ""
    night: Json = {
        "title": screen.title,
        "progress": screen.progress,
        "text": screen.text,
        "hasCount": has_count,
        "count": str(first_hold) if has_count else "",
        "caption": caption,
        "hasNext": screen.kind == "step" and bool(screen.progress),
        "nextLabel": NEXT_LABEL,
        "holds": [
            {
                "seconds": t.seconds,
                "startMs": t.start_ms,
                "endMs": t.end_ms,
                "breaksMs": list(t.breaks_ms),
                "marks": list(t.marks),
                "spokenFinal": t.spoken_final,
            }
            for t in timelines
        ],
    }
    return _for_turn("step", countdown_commands(timelines)), {"night": night}
