"""What one turn comes to: the speech, the new state, and what the adapters should do or store.

Its own module because it names both the core's plain data (model.py) and the conversation's
state (state.py), which is itself built from that data: here neither needs the other back.
"""

from __future__ import annotations

from typing import Any

import msgspec

from cramp_coach.core.model import Reminder, Screen
from cramp_coach.core.state import State


class Outcome(msgspec.Struct):
    """What to say and what the adapters should remember."""

    state: State
    speech: str  # SSML body without the <speak> wrapper
    reprompt: str | None = None
    end_session: bool = False
    card_title: str | None = None
    card_text: str | None = None
    save_resume: bool = False  # store the state's routine as the resumable one
    prefs: dict[str, Any] = msgspec.field(default_factory=dict)  # preference changes to store
    delete_history: bool = False
    freq_advised: bool = False
    red_flag_raised: str | None = None  # a red flag newly spoken this turn (for metrics)
    routine_ended: str | None = None  # how a routine ended this turn (for metrics)
    screen: Screen | None = None
    # This turn speaks a number to call and the device's country is not known yet: the adapter
    # may look it up and run the turn again with Event.country (docs/emergency-numbers.md).
    wants_country: bool = False
    reminder: Reminder | None = None  # the adapter creates or cancels it, then speaks its answer
