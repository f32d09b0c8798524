"""SSML building: holds counted aloud inside the response, and the night voice.

Alexa caps one <break> at 10 s, so a hold is a run of breaks with a spoken
count between them. Holds too long to wait out in one response are spoken as
a duration instead; the listener says "next" when done.

The pacing (`hold_plan`) is pure arithmetic shared with the screen's countdown;
the words (`Voice`) come from the locale's phrases, so a new locale is data only.
"""

from __future__ import annotations

import msgspec

from cramp_coach.content import Beat, Content

MAX_BREAK_S = 10
MAX_COUNTED_HOLD_S = 60  # longer holds would keep the speaker talking for minutes
FINAL_COUNT_S = 5  # "five, four, three, two, one" is spoken, not silent


class HoldPlan(msgspec.Struct, frozen=True):
    """How a counted hold is paced: silences of at most 10 s, and the time left after each."""

    seconds: int
    pauses: tuple[tuple[int, int], ...]  # (silence in seconds, seconds left when it ends)
    spoken_final: bool  # the last five seconds are counted aloud


def hold_plan(seconds: int) -> HoldPlan | None:
    """The pacing of a hold, or None when it is too long to count (spoken as a duration)."""
    if seconds > MAX_COUNTED_HOLD_S:
        return None
    if seconds <= FINAL_COUNT_S:
        return HoldPlan(seconds, ((seconds, 0),), spoken_final=False)
    pauses: list[tuple[int, int]] = []
    remaining = seconds
    # Break down to the last five seconds, naming each ten-second mark on the way.
    while remaining > FINAL_COUNT_S:
        mark = max(FINAL_COUNT_S, (remaining - 1) // 10 * 10)
        pauses.append((remaining - mark, mark))
        remaining = mark
    return HoldPlan(seconds, tuple(pauses), spoken_final=True)


def pause(seconds: float) -> str:
    return f'<break time="{int(seconds * 1000)}ms"/>'


class Voice:
    """The words around holds, in one locale."""

    def __init__(self, content: Content) -> None:
        self._c = content

    def number(self, n: int) -> str:
        words = self._c.number_words
        if n in words:
            return words[n]
        tens, ones = divmod(n, 10)
        if tens * 10 in words and ones in words:
            return f"{words[tens * 10]}-{words[ones]}"
        return str(n)

    def duration(self, seconds: int) -> str:
        p = self._c.phrase
        if seconds < 60:
            unit = p("unit_second" if seconds == 1 else "unit_seconds")
            return f"{self.number(seconds)} {unit}"
        minutes = round(seconds / 60)
        unit = p("unit_minute" if minutes == 1 else "unit_minutes")
        return f"{self.number(minutes)} {unit}"

    def announces_duration(self, text: str, seconds: int) -> bool:
        """Whether a step's own words already say how long ("for thirty seconds")."""
        words = self.duration(seconds)  # "thirty seconds"
        adjective = words.replace(" ", "-").removesuffix("s")  # "a thirty-second stretch"
        return words in text or adjective in text

    def countdown(self, seconds: int, phase: str = "stretch", announced: bool = False) -> str:
        """A hold spoken as a countdown; `announced` when the step's words gave the duration."""
        p = self._c.phrase
        plan = hold_plan(seconds)
        if plan is None:
            # Never repeat a duration the step just said ("for up to twenty minutes").
            return "" if announced else p("hold_long", duration=self.duration(seconds))
        intro_key = {"stretch": "hold_intro_stretch", "massage": "hold_intro_massage"}
        if announced:
            parts = [p("hold_start")]
        else:
            parts = [p(intro_key.get(phase, "hold_intro_other"), duration=self.duration(seconds))]
        parts.append(self._paced(plan))
        parts.append(p("hold_done_stretch" if phase == "stretch" else "hold_done_other"))
        return " ".join(parts)

    def beats(self, beats: tuple[Beat, ...], phase: str) -> str:
        """A counted sequence ("hug one knee ... now the other"): each cue, then its count."""
        p = self._c.phrase
        parts: list[str] = []
        for beat in beats:
            parts.append(beat.cue)
            plan = hold_plan(beat.hold)
            assert plan is not None  # the loader keeps beats short enough to count
            parts.append(self._paced(plan))
        parts.append(p("hold_done_stretch" if phase == "stretch" else "hold_done_other"))
        return " ".join(parts)

    def _paced(self, plan: HoldPlan) -> str:
        parts: list[str] = []
        for silence, left in plan.pauses:
            parts.append(pause(silence))
            if left >= 10:
                parts.append(self._c.phrase("hold_left", count=self.number(left).capitalize()))
        if plan.spoken_final:
            parts.append(self._c.phrase("hold_final"))
        return " ".join(parts)


def wrap_voice(body: str, quiet: bool | None) -> str:
    """The night voice: soft by default, softer on request, normal when asked."""
    if quiet is False:
        return body
    volume = "x-soft" if quiet else "soft"
    return f'<prosody volume="{volume}">{body}</prosody>'
