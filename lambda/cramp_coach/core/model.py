"""The data the conversation core works on: events in, state and outcomes out.

Everything here is plain data that survives a round trip through JSON, because
the state lives in Alexa session attributes between turns and in the store
between sessions.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from typing import Any

log = logging.getLogger(__name__)

RESUME_WINDOW_S = 30 * 60  # a routine interrupted within this is offered on launch
LONG_CRAMP_S = 10 * 60  # G1: stop the steps after ten minutes without easing
MAX_HOLD_REPEATS = 3  # G9: repeat a hold at most three times
FREQ_WINDOW_S = 7 * 24 * 3600
FREQ_THRESHOLD = 3  # RF-FREQ: three or more cramps in seven days


@dataclass(frozen=True)
class Event:
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


@dataclass
class LogEntry:
    """One routine in the cramp log. Upserted by (started_at, rid), so saving twice is harmless."""

    rid: str
    started_at: float
    muscle: str
    variant: str
    outcome: str = "in_progress"


@dataclass
class Profile:
    """What the store remembers about one user between sessions."""

    default_variant: str | None = None
    quiet: bool | None = None
    resume: dict[str, Any] | None = None  # a State.to_dict() snapshot
    resume_saved_at: float | None = None
    recent_starts: list[float] = field(default_factory=list)  # starts within FREQ_WINDOW_S
    recent_muscles: list[str] = field(default_factory=list)  # parallel to recent_starts
    freq_advised_at: float | None = None
    log_consent: bool | None = None  # the opt-in cramp log; None = never asked
    # The red-flag lock: {"flag": "RF_DVT", "level": "urgent", "muscle": "CALF" or None,
    # "at": epoch seconds}; the store returns it only within 12 hours of "at".
    lock: dict[str, Any] | None = None


@dataclass
class State:
    """The conversation's position; lives in session attributes."""

    mode: str = "idle"  # idle|asking_muscle|clarifying|routine|paused|red_flag|finished
    muscle: str | None = None
    variant: str = "partner"  # partner | alone
    track: str = "main"  # main | gentle | aftercare
    step: int = 0
    repeats: int = 0
    started_at: float | None = None
    rid: str | None = None
    clarifying: str | None = None
    tries: int = 0
    flags: list[str] = field(default_factory=list)
    red_flag: str | None = None
    question: str | None = None
    safety_checked: bool = False
    variant_known: bool = False  # the listener told us who is speaking
    quiet: bool | None = None
    profile_loaded: bool = False
    last_speech: str = ""
    last_reprompt: str = ""
    unsaved: list[dict[str, Any]] = field(default_factory=list)  # LogEntry dicts not yet stored

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> State:
        """Rebuild from session attributes; anything corrupt yields a fresh state, not a crash."""
        if not isinstance(data, dict):
            return cls()
        known = {f.name: f for f in fields(cls)}
        fresh = cls()
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name not in known:
                continue
            default = getattr(fresh, name)
            if default is None or isinstance(value, type(default)):
                values[name] = value
            elif isinstance(default, float) and isinstance(value, int):
                values[name] = float(value)
            else:
                log.warning("dropping corrupt session attribute %s", name)
                return cls()
        try:
            return cls(**values)
        except TypeError:
            return cls()

    @property
    def in_routine(self) -> bool:
        return self.mode in ("routine", "paused") and self.muscle is not None


@dataclass
class Outcome:
    """What to say and what the adapters should remember."""

    state: State
    speech: str  # SSML body without the <speak> wrapper
    reprompt: str | None = None
    end_session: bool = False
    card_title: str | None = None
    card_text: str | None = None
    save_resume: bool = False  # store the state as the resumable routine
    clear_resume: bool = False
    prefs: dict[str, Any] = field(default_factory=dict)  # preference changes to store
    delete_history: bool = False
    freq_advised: bool = False
    red_flag_raised: str | None = None  # id of a red flag newly spoken this turn ("RF_DVT")
    # How a routine ended this turn: eased, stopped, red_flag, switched_muscle, too_painful,
    # interrupted.
    routine_ended: str | None = None
