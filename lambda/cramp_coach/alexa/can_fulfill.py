"""CanFulfillIntentRequest: could the skill help with this request, asked before it is sent?

Alexa asks this for name-free requests ("Alexa, my calf is cramping"): the answer decides
whether the request comes here. The answer is read from the content alone. Pure and fast:
no store, no session, no network, no routine started.

What the skill answers (docs/ARCHITECTURE.md, "Name-free requests"):

- YES: a cramp in a muscle that has a routine; an out-of-scope place (chest, belly, face, all
  over), because the skill then speaks that red flag's advice with the number to call; a
  symptom that is a red flag or a routine-changing flag (pregnant, a child); prevention tips;
  the disclaimer; when to see a doctor; the emergency number; how long to hold a stretch; the
  bedtime stretch ("my bedtime stretch", "stretches to stop cramps").
- MAYBE: a cramp in a vague place (leg, thigh, foot, knee: the skill asks one question or
  uses the calf default), a cramp or symptom with no value (the skill asks), the cramp log
  (it depends on what is stored, which this request must not read), and any otherwise-YES
  request whose helper or side word matched nothing.
- NO: a muscle, symptom or other value that matches nothing (never a YES for a muscle without
  a routine); intents that only make sense inside a routine or about the skill's own
  settings (better, still cramping, it hurts, alone, helper, skip, clarify, voice, delete my
  history, the nightly reminder and its cancelling, hold on, the other leg, and the questions
  asked mid-cramp); every AMAZON built-in
  (stop, help, next, yes...: generic words that belong to the skill the listener is already
  talking to, not a reason to route a cold request here); any intent the adapter does not
  turn into a core event; any intent this module does not know.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal

import msgspec

from cramp_coach.content import CONTEXT_FLAGS, Content

Answer = Literal["YES", "NO", "MAYBE"]
SlotValue = tuple[str | None, str | None]  # (resolved id, "UNKNOWN" or None; heard text)

UNKNOWN = "UNKNOWN"

# Intents that name a situation the skill can take cold, and how each is judged.
_CRAMP = "CrampIntent"
_SYMPTOM = "SymptomIntent"
_HOLD_TIME = "HoldTimeIntent"
_ANSWERED_FROM_CONTENT = (
    "PreventionIntent", "DisclaimerIntent", "DoctorIntent", "BedtimeIntent",
)  # fmt: skip
_EMERGENCY_NUMBER = "EmergencyNumberIntent"
_DEPENDS_ON_STORE = ("CrampCountIntent",)
# In-session only: answers to the skill's own questions, routine controls, settings.
IN_SESSION_ONLY = frozenset(
    {
        "ClarifyIntent",
        "BetterIntent",
        "StillCrampingIntent",
        "HurtsIntent",
        "AloneIntent",
        "HelperIntent",
        "SkipIntent",
        "VoiceIntent",
        "DeleteHistoryIntent",
        # Night words (issue 22): a pause, "the other leg", questions asked mid-cramp.
        "HoldOnIntent",
        "OtherSideIntent",
        "HowToStopIntent",
        "WhyIntent",
        "AgainIntent",
        "HeatIceIntent",
        "PainkillerIntent",
        # The nightly reminder (issue 24): the skill's own setting, asked of the skill by name.
        "ReminderIntent",
        "StopReminderIntent",
    }
)
KNOWN_INTENTS = frozenset(
    {
        _CRAMP,
        _SYMPTOM,
        _HOLD_TIME,
        _EMERGENCY_NUMBER,
        *_ANSWERED_FROM_CONTENT,
        *_DEPENDS_ON_STORE,
        *IN_SESSION_ONLY,
    }
)

_ORDER: dict[Answer, int] = {"NO": 0, "MAYBE": 1, "YES": 2}


class SlotAnswer(msgspec.Struct, frozen=True):
    can_understand: Answer
    can_fulfill: Literal["YES", "NO"]


class FulfillAnswer(msgspec.Struct, frozen=True):
    can_fulfill: Answer
    slots: dict[str, SlotAnswer] = msgspec.field(default_factory=dict)


_YES_SLOT = SlotAnswer("YES", "YES")
_UNDERSTOOD_ONLY = SlotAnswer("YES", "NO")
_NO_SLOT = SlotAnswer("NO", "NO")


def _lowest(*answers: Answer) -> Answer:
    return min(answers, key=_ORDER.__getitem__)


def _has_hold(content: Content, muscle_id: str) -> bool:
    m = content.muscles[muscle_id]
    return any(s.hold for s in (*m.partner, *m.alone, *m.gentle))


def _muscle(content: Content, value_id: str | None, need_hold: bool) -> tuple[Answer, SlotAnswer]:
    """A MUSCLE slot: the intent's answer it allows, and the slot's own answer."""
    if value_id in content.muscles:
        if need_hold and not _has_hold(content, value_id):
            return "NO", _UNDERSTOOD_ONLY
        return "YES", _YES_SLOT
    if value_id in content.vague:
        # Understood, but the skill has to ask (or assume the calf) before it can act.
        return "MAYBE", _UNDERSTOOD_ONLY
    if not need_hold and value_id in content.out_of_scope:
        flag = content.red_flags.get(content.out_of_scope[value_id])
        # Not a routine, but the skill speaks that red flag's advice: useful, so YES.
        return ("YES", _YES_SLOT) if flag is not None and flag.script else ("NO", _NO_SLOT)
    return "NO", _NO_SLOT


def _symptom(content: Content, value_id: str | None) -> tuple[Answer, SlotAnswer]:
    known = {*content.red_flags, *CONTEXT_FLAGS, "INFANT"}  # INFANT is RF_INFANT's slot id
    if value_id in known:
        return "YES", _YES_SLOT
    return "NO", _NO_SLOT


_AUXILIARY: dict[str, frozenset[str]] = {
    "helper": frozenset({"PARTNER", "ALONE"}),
    "side": frozenset({"LEFT", "RIGHT"}),
}


def can_fulfill(
    content: Content,
    intent: str,
    slots: Mapping[str, SlotValue],
    handled: Collection[str] | None = None,
) -> FulfillAnswer:
    """The answer to one CanFulfillIntentRequest.

    `slots` maps each slot name to (resolved id, or "UNKNOWN" when a value was heard but
    matched nothing, or None when empty; the heard text). `handled`, when given, is the set
    of intents the adapter turns into core events: any other intent gets NO, because the
    skill would only answer it with a fallback.
    """
    filled = {name: value for name, value in slots.items() if value[0] or value[1]}
    if intent not in KNOWN_INTENTS or intent in IN_SESSION_ONLY:
        return FulfillAnswer("NO", {name: _NO_SLOT for name in filled})
    if handled is not None and intent not in handled:
        return FulfillAnswer("NO", {name: _NO_SLOT for name in filled})

    answers: dict[str, SlotAnswer] = {}
    verdict: Answer
    if intent in (_CRAMP, _HOLD_TIME):
        muscle_id = filled["muscle"][0] if "muscle" in filled else None
        if "muscle" in filled:
            verdict, answers["muscle"] = _muscle(content, muscle_id, need_hold=intent == _HOLD_TIME)
        elif intent == _HOLD_TIME:
            any_hold = any(_has_hold(content, m) for m in content.muscles)
            verdict = "YES" if any_hold else "NO"
        else:
            verdict = "MAYBE"  # "I have a cramp": the skill asks where
        if intent == _CRAMP and "symptom" in filled:
            # "Her calf is cramping and it's swollen": the red flag's advice is what is said.
            said, answers["symptom"] = _symptom(content, filled["symptom"][0])
            verdict = "YES" if said == "YES" else _lowest(verdict, "MAYBE")
    elif intent == _SYMPTOM:
        if "symptom" in filled:
            verdict, answers["symptom"] = _symptom(content, filled["symptom"][0])
        else:
            verdict = "MAYBE"  # the skill names the emergency signs and asks
    elif intent == _EMERGENCY_NUMBER:
        # Every locale answers: its own number, or "your local emergency number" in the base.
        verdict = "YES" if "emergency_number" in content.phrases else "NO"
    elif intent in _DEPENDS_ON_STORE:
        verdict = "MAYBE"
    else:
        verdict = _content_answer(content, intent)

    for name, (value_id, _) in filled.items():
        if name in answers:
            continue
        allowed = _AUXILIARY.get(name)
        if allowed is not None and value_id in allowed:
            answers[name] = _YES_SLOT
        else:
            # A word we could not place: never a YES for the whole request.
            answers[name] = _NO_SLOT
            verdict = _lowest(verdict, "MAYBE")
    return FulfillAnswer(verdict, answers)


def _content_answer(content: Content, intent: str) -> Answer:
    if intent == "PreventionIntent":
        return "YES" if content.prevention else "NO"
    if intent == "BedtimeIntent":  # "my bedtime stretch", the routine of PROTOCOLS 3a
        return "YES" if content.bedtime.muscle.partner else "NO"
    if intent == "DisclaimerIntent":
        return "YES" if "disclaimer" in content.phrases else "NO"
    # DoctorIntent: when to get checked is what the red-flag triggers and scripts say.
    return "YES" if content.red_flags else "NO"
