"""The plain data the conversation core works on: events in, the stored profile, and the
screens and reminders a turn may bring (the state is in state.py, a turn's Outcome in
outcome.py).

Everything here is plain data that survives a round trip through JSON, because
the state lives in Alexa session attributes between turns and in the store
between sessions.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

RESUME_WINDOW_S = 30 * 60  # a routine interrupted within this is offered on launch
LOCK_WINDOW_S = 12 * 3600  # a stopping red flag is remembered this long
LONG_CRAMP_S = 10 * 60  # G1: stop the steps after ten minutes without easing
MAX_HOLD_REPEATS = 3  # G9: repeat a hold at most three times
FREQ_WINDOW_S = 7 * 24 * 3600
FREQ_THRESHOLD = 3  # RF-FREQ: three or more cramps in seven days


class Event(msgspec.Struct, frozen=True):
    """What the listener did, already resolved to content ids by an adapter."""

    kind: str
    now: float
    muscle: str | None = None  # MUSCLE slot id; "UNKNOWN" when a value was heard but not matched
    heard_back: bool = False  # the muscle word was the bare "back" (see ARCHITECTURE.md)
    helper: str | None = None  # PARTNER | ALONE
    part: str | None = None  # BODY_PART id
    symptom: str | None = None  # SYMPTOM id
    volume: str | None = None  # QUIET | NORMAL
    request_id: str = ""  # makes log ids unique when two devices start in the same second
    heard: tuple[str, ...] = ()  # every raw slot text, for the red-flag safety net
    # The device's country (ISO 3166 alpha-2), looked up by the adapter because the core asked
    # (Outcome.wants_country): None when not looked up this turn, "" when looked up and not
    # known (no time zone, a failure, a timeout, a zone without a country).
    country: str | None = None
    time: str | None = None  # a reminder's time as heard: AMAZON.TIME ("22:30") or words
    permission: str | None = None  # the answer to a permission request: ACCEPTED | DENIED | ...


class LogEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One routine in the cramp log. Upserted by (started_at, rid), so saving twice is harmless."""

    rid: str
    started_at: float
    muscle: str
    variant: str
    outcome: str = "in_progress"


class Profile(msgspec.Struct):
    """What the store remembers about one user between sessions."""

    default_variant: str | None = None
    quiet: bool | None = None
    resume: dict[str, Any] | None = None  # a state_codec.snapshot() of an interrupted routine
    resume_saved_at: float | None = None
    recent_starts: list[float] = msgspec.field(default_factory=list)  # starts within FREQ_WINDOW_S
    recent_muscles: list[str] = msgspec.field(default_factory=list)  # parallel to recent_starts
    freq_advised_at: float | None = None
    log_consent: bool | None = None  # None: never asked; the log is kept only when True
    # The red-flag lock: {"flag": "RF_DVT", "level": "urgent", "muscle": "CALF" | None,
    # "at": epoch seconds}; the store returns it only within 12 hours of "at".
    lock: dict[str, Any] | None = None
    # The table could not be read this turn: whatever is here came from the local spool of
    # writes still to be made (memory.py), and a stored lock may have been missed.
    unread: bool = False
    # The device's country as found on an earlier turn (only for the same device: the adapter
    # drops it for another one), so the Settings API is asked once.
    country: str | None = None
    country_device: str | None = None  # an opaque tag of the device it was found for


class Screen(msgspec.Struct, frozen=True):
    """What an Echo Show draws for this turn; built by the core from the same data as the speech.

    The adapter turns it into an APL document and datasource; devices without a screen never
    see it.
    """

    kind: str  # "step" | "red_flag" | "info"
    title: str  # the muscle's name ("calf"), "aftercare", or the red flag's heading
    progress: str  # "Step 3 of 7", or "" when there is no routine position
    text: str  # the action or advice, as spoken (plain text, no SSML)
    holds: tuple[int, ...] = ()  # seconds of each counted hold, in speaking order
    lead_words: int = 0  # words spoken before the first count starts (to pace the screen)
    number: str | None = None  # red flag: the number to call, as digits
    waits_for_position: bool = False  # the count starts on "next", after getting in position


# What the adapter's Reminders API calls came to; the core has a sentence ready for each.
REMINDER_RESULTS = (
    "done", "none", "ask_permission", "no_permission", "bad_time", "limit", "down",
)  # fmt: skip


class Reminder(msgspec.Struct, frozen=True):
    """A nightly reminder the adapter makes (or cancels) through Alexa's Reminders API.

    The core decides and words it; it never calls anything. `create`: one reminder at
    hour:minute every day, in the device's time zone, saying `text` (the routine's name and
    nothing about the person's health). `cancel`: every reminder of this skill. `answers`:
    what to say for each result in REMINDER_RESULTS, so the adapter only picks one.
    """

    action: Literal["create", "cancel"]
    hour: int = 0
    minute: int = 0
    text: str = ""
    answers: tuple[tuple[str, str], ...] = ()
    ends: tuple[str, ...] = ()  # results after which the session ends (the rest keep it open)

    def answer(self, result: str) -> str:
        return dict(self.answers).get(result, dict(self.answers).get("down", ""))
