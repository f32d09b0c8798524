"""The pure conversation core: no ASK types, no I/O. See engine.Conversation."""

from cramp_coach.core.engine import Conversation, needs_profile
from cramp_coach.core.model import Event, LogEntry, Outcome, Profile, Screen, State

__all__ = [
    "Conversation",
    "Event",
    "LogEntry",
    "Outcome",
    "Profile",
    "Screen",
    "State",
    "needs_profile",
]
