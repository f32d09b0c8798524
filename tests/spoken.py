"""What a listener would recognise in speech: every step's words and the leg rubs (en-US)."""

from __future__ import annotations

from cramp_coach.content import load_content

CONTENT = load_content("en-US")
_TRACKS = tuple(
    (m, t) for m in CONTENT.muscles.values() for t in (m.partner, m.alone, m.gentle, m.gentle_alone)
)
# A step's own question (an offer, a choice) is a step too: never after a stopping red flag.
# The bedtime stretch's steps are steps as well (issue 24): never past a lock either.
STEP_TEXTS = frozenset(
    text for _, t in _TRACKS for s in t for text in (s.text, s.ask) if text is not None
) | frozenset(s.text for s in CONTENT.bedtime.muscle.partner)
LEG_RUBS = frozenset(s.text for m, t in _TRACKS if m.leg for s in t if s.phase == "massage")
