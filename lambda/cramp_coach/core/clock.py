"""A bedtime reminder's time: read from what Alexa heard, said back in words.

Alexa's AMAZON.TIME gives "22:30" (or "10:30" when no part of the day was said, or a part of
the day alone: "NI", "EV"); the local chat and a slot Alexa could not fill give the words
("half ten", "ten thirty p.m."). Both are read here. A bedtime reminder is in the evening:
a bare hour from five to eleven is p.m. unless "a.m." or "morning" was said; midnight to
half past four stays in the small hours. Pure: no clock, no locale files (the number words
come from the content).
"""

from __future__ import annotations

import re

_HHMM = r"^t?(\d{1,2})(?::|\.)(\d{2})$"  # compiled by `re` on first use, not at import
_AM = frozenset({"am", "a.m.", "a.m", "morning"})
_PM = frozenset({"pm", "p.m.", "p.m", "night", "evening", "tonight"})
_FILLER = frozenset(
    {"at", "every", "each", "o'clock", "oclock", "in", "the", "around", "about", "please", "", "a"}
)  # fmt: skip


def _numbers(number_words: dict[int, str]) -> dict[str, int]:
    words = {w.lower(): n for n, w in number_words.items()}
    for tens in (20, 30, 40, 50):
        for ones in range(1, 10):
            if tens in number_words and ones in number_words:
                words[f"{number_words[tens]}-{number_words[ones]}".lower()] = tens + ones
                words[f"{number_words[tens]} {number_words[ones]}".lower()] = tens + ones
    words.update({str(n): n for n in range(60)})
    words.update({f"{n:02d}": n for n in range(10)})
    return words


def _evening(hour: int, minute: int, half: str | None) -> tuple[int, int] | None:
    if not 0 <= minute < 60:
        return None
    if half == "am":
        if not 1 <= hour <= 12:
            return None
        return (0 if hour == 12 else hour), minute
    if half == "pm":
        if not 1 <= hour <= 12:
            return None
        return (12 if hour == 12 else hour + 12), minute
    if not 0 <= hour < 24:
        return None
    if 5 <= hour <= 11:
        hour += 12  # "ten": a bedtime reminder is at night
    return hour, minute


def reminder_time(value: str | None, number_words: dict[int, str]) -> tuple[int, int] | None:
    """(hour, minute) on the 24-hour clock, or None when no one time was said."""
    if not value:
        return None
    text = value.strip().lower()
    text = re.sub(r"\bp\.? ?m\b\.?", " pm ", text)
    text = re.sub(r"\ba\.? ?m\b\.?", " am ", text)
    # "ten pm" written together ("10pm") and trailing punctuation.
    text = re.sub(r"(\d)(am|pm)\b", r"\1 \2", text).replace(",", " ").strip()
    whole = re.match(_HHMM, text.replace(" ", ""))
    if whole:
        return _evening(int(whole.group(1)), int(whole.group(2)), None)
    words = [w for w in text.split() if w not in _FILLER]
    half: str | None = None
    if any(w in _AM for w in words):
        half = "am"
    elif any(w in _PM for w in words):
        half = "pm"
    words = [w for w in words if w not in _AM | _PM | {"at", "in", "the"}]
    if words in (["midnight"],):
        return 0, 0
    if words in (["noon"], ["midday"]):
        return 12, 0
    numbers = _numbers(number_words)
    joined = " ".join(words)
    match = re.match(_HHMM, joined.replace(" ", ""))
    if match:
        return _evening(int(match.group(1)), int(match.group(2)), half)
    for lead, minute, back in (
        ("half past ", 30, 0), ("half ", 30, 0), ("quarter past ", 15, 0),
        ("quarter to ", 45, 1), ("a quarter past ", 15, 0), ("a quarter to ", 45, 1),
    ):  # fmt: skip
        if joined.startswith(lead):
            hour = numbers.get(joined[len(lead) :].strip())
            if hour is None:
                return None
            return _evening(hour - back, minute, half)
    if joined in numbers:
        return _evening(numbers[joined], 0, half)
    # "ten thirty", "ten oh five", "ten forty-five", "ten forty five"
    first, _, rest = joined.partition(" ")
    rest = rest.strip()
    if first in numbers and rest:
        if rest.startswith("oh ") and rest[3:] in numbers and numbers[rest[3:]] < 10:
            return _evening(numbers[first], numbers[rest[3:]], half)
        if rest in numbers and numbers[rest] >= 10:
            return _evening(numbers[first], numbers[rest], half)
    return None


def spoken_time(hour: int, minute: int, say: dict[str, str], number: dict[int, str]) -> str:
    """ "ten thirty p.m.", "ten p.m.", "midnight": the reminder's time said back."""
    if hour == 0 and minute == 0:
        return say["midnight"]
    half = say["pm"] if hour >= 12 else say["am"]
    twelve = hour % 12 or 12
    parts = [number.get(twelve, str(twelve))]
    if minute:
        if minute < 10:
            parts += [say["oh"], number.get(minute, str(minute))]
        else:
            parts.append(_two_digit(minute, number))
    parts.append(half)
    return " ".join(parts)


def _two_digit(n: int, number: dict[int, str]) -> str:
    if n in number:
        return number[n]
    tens, ones = divmod(n, 10)
    return f"{number.get(tens * 10, str(tens * 10))}-{number.get(ones, str(ones))}"
