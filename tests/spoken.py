"""What a listener would recognise in speech: every step's words and the leg rubs (en-US)."""

from __future__ import annotations

from cramp_coach.content import load_content

CONTENT = load_content("en-US")
STEP_TEXTS = frozenset(
    s.text for m in CONTENT.muscles.values() for t in (m.partner, m.alone, m.gentle) for s in t
)
LEG_RUBS = frozenset(
    s.text
    for m in CONTENT.muscles.values()
    if m.leg
    for t in (m.partner, m.alone, m.gentle)
    for s in t
    if s.phase == "massage"
)
