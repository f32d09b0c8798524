"""The pure conversation core: no ASK types, no I/O. The rules live in core/rules.py."""

from cramp_coach.core.model import Event, LogEntry, Profile, Screen
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.rules import Conversation, needs_profile
from cramp_coach.core.state import State
from cramp_coach.core.state_codec import snapshot

__all__ = [
    "Conversation",
    "Event",
    "LogEntry",
    "Outcome",
    "Profile",
    "Screen",
    "State",
    "needs_profile",
    "snapshot",
]
