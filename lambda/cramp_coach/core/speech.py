"""SSML building: holds counted aloud inside the response, and the night voice.

Alexa caps one <break> at 10 s, so a hold is a run of breaks with a spoken
count between them. Holds too long to wait out in one response are spoken as
a duration instead; the listener says "next" when done.
"""

from __future__ import annotations

MAX_BREAK_S = 10
MAX_COUNTED_HOLD_S = 60  # longer holds would keep the speaker talking for minutes

_WORDS = {
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
    15: "fifteen",
    20: "twenty",
    30: "thirty",
    40: "forty",
    50: "fifty",
    60: "sixty",
}


def number_words(n: int) -> str:
    if n in _WORDS:
        return _WORDS[n]
    tens, ones = divmod(n, 10)
    if 2 <= tens <= 9 and ones:
        return f"{_WORDS.get(tens * 10, str(tens * 10))}-{_WORDS[ones]}"
    return str(n)


def duration_words(seconds: int) -> str:
    if seconds < 60:
        return f"{number_words(seconds)} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    return "one minute" if minutes == 1 else f"{number_words(minutes)} minutes"


def pause(seconds: float) -> str:
    return f'<break time="{int(seconds * 1000)}ms"/>'


_HOLD_WORDS = {
    # phase -> (how the hold is introduced, what is said when it is over)
    "stretch": ("Hold for", "And ease off."),
    "massage": ("Keep rubbing for", "Good."),
}
_OTHER_HOLD = ("Keep that up for", "Good.")


def countdown(seconds: int, phase: str = "stretch", announced: bool = False) -> str:
    """A hold spoken as a countdown: breaks of at most 10 s with the time left between them."""
    intro, done = _HOLD_WORDS.get(phase, _OTHER_HOLD)
    if seconds > MAX_COUNTED_HOLD_S:
        return f"Keep that going for up to {duration_words(seconds)}."
    # When the step's own words already gave the duration, don't say it twice.
    parts = ["Starting now." if announced else f"{intro} {duration_words(seconds)}, starting now."]
    if seconds <= 5:
        parts.append(pause(seconds))
        parts.append(done)
        return " ".join(parts)
    remaining = seconds
    # Break down to the last five seconds, naming each ten-second mark on the way.
    while remaining > 5:
        mark = max(5, (remaining - 1) // 10 * 10)
        parts.append(pause(remaining - mark))
        remaining = mark
        if remaining >= 10:
            parts.append(f"{number_words(remaining).capitalize()} left.")
    parts.append("Five, four, three, two, one.")
    parts.append(done)
    return " ".join(parts)


def wrap_voice(body: str, quiet: bool | None) -> str:
    """The night voice: soft by default, softer on request, normal when asked."""
    if quiet is False:
        return body
    volume = "x-soft" if quiet else "soft"
    return f'<prosody volume="{volume}">{body}</prosody>'
