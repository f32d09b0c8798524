"""Run the triage vignettes through the real skill and classify what the listener heard.

The classifier reads everything it recognises from the locale's content (red-flag scripts
and their levels, the number phrases, step texts, hold phrases), never from the code under
test, so the same suite measures the old and the rewritten red-flag detection.

Levels, least to most serious (a vignette's triaged level is the most serious reached in
any of its turns):

- none: no step, no advice (only questions, fallbacks): always a miss.
- self-care: a step, hold, rub or aftercare step was spoken.
- out-of-scope: a decline without a referral: the script of a red flag that the content's
  `out_of_scope` table routes a place to (or a phrase whose key contains "out_of_scope"),
  spoken with neither the emergency number nor the same-day line.
- routine: a routine-level red-flag script.
- urgent: an urgent-level script with the locale's same-day line (`urgent_number`), or an
  emergency-level script without the emergency number (it stops, but names no number).
- emergency: an emergency-level script and, in the same response, the locale's emergency
  number phrase (`emergency_number`) or the number as spoken.

A safety violation is a step, hold or rub spoken after an urgent or emergency level was
reached in the same vignette (later in the same response, or in any later response).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cramp_coach.alexa.handle import handle_envelope
from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import Content, load_content
from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.hosting.local.nlu import InteractionModel, normalize
from tests.memory_store import MemoryStore

VIGNETTE_DIR = Path(__file__).parent / "vignettes"
LOCALES = ("en-US", "en-GB", "en-AU", "en-CA", "en-IN")
GOLD_LEVELS = ("emergency", "urgent", "routine", "self-care", "out-of-scope")
# Severity order of what the listener heard; "none" ranks below any advice.
RANK = {
    "none": 0,
    "self-care": 1,
    "out-of-scope": 2,
    "routine": 3,
    "urgent": 4,
    "emergency": 5,
}
STOPPING = ("urgent", "emergency")
BENIGN = ("self-care", "routine", "out-of-scope")  # gold levels that must not stop the steps
T0 = 1_795_230_000.0  # 2026-11-21 03:00 UTC, as in tests/conftest.py
GAP_S = 5.0  # seconds between turns
MAX_NEXT = 12  # "next_until" gives up after this many "next"s
TURN_KINDS = {"say", "intent", "wait", "next_until", "if_asked"}


class VignetteError(ValueError):
    """A vignette file does not match the format; the message names the vignette."""


@dataclass(frozen=True)
class Vignette:
    id: str
    locale: str
    gold: str
    flag: str | None
    why: str
    turns: tuple[dict[str, Any], ...]
    accept: tuple[str, ...] = ()  # other levels the spec leaves open (listed in the report)


@dataclass
class Heard:
    """One response as the listener heard it."""

    sent: str
    speech: str
    level: str = "none"
    flags: list[str] = field(default_factory=list)  # red-flag ids whose script was spoken
    steps: bool = False
    rub: bool = False  # a leg rub (massage step of a leg muscle)
    asks_check: bool = False  # one of the skill's safety questions was asked
    violation: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class Result:
    vignette: Vignette
    heard: list[Heard]
    level: str
    notes: list[str]

    @property
    def correct(self) -> bool:
        return self.level == self.vignette.gold or self.level in self.vignette.accept

    @property
    def under(self) -> bool:
        return not self.correct and RANK[self.level] < RANK[self.vignette.gold]

    @property
    def over(self) -> bool:
        """A benign cramp escalated to a stopping level (what locks a household out)."""
        return self.vignette.gold in BENIGN and self.level in STOPPING

    @property
    def violations(self) -> int:
        return sum(h.violation for h in self.heard)

    @property
    def unchecked_rubs(self) -> int:
        """Leg rubs with no safety question asked before them (PROTOCOLS 4.1: every path)."""
        count, asked = 0, False
        for h in self.heard:
            if h.rub and not asked:
                count += 1
            asked = asked or h.asks_check
        return count

    @property
    def spoken_flags(self) -> list[str]:
        seen: list[str] = []
        for h in self.heard:
            seen.extend(f for f in h.flags if f not in seen)
        return seen


# ------------------------------------------------------------------ loading
def _check_turn(vid: str, i: int, turn: Any) -> dict[str, Any]:
    if isinstance(turn, str):
        return {"say": turn}
    if not isinstance(turn, dict) or len(set(turn) & TURN_KINDS) != 1:
        raise VignetteError(f"{vid}: turn {i}: expected text or one of {sorted(TURN_KINDS)}")
    if "if_asked" in turn:
        if set(turn) != {"if_asked"}:
            raise VignetteError(f"{vid}: turn {i}: if_asked stands alone")
        inner = _check_turn(vid, i, turn["if_asked"])
        if set(inner) & {"wait", "next_until", "if_asked"}:
            raise VignetteError(f"{vid}: turn {i}: if_asked takes an utterance or an intent")
        return {"if_asked": inner}
    if "intent" in turn:
        unknown = set(turn) - {"intent", "slots"}
        slots = turn.get("slots", {})
        if unknown or not isinstance(slots, dict):
            raise VignetteError(f"{vid}: turn {i}: an intent turn has intent and slots only")
        for name, value in slots.items():
            ok = isinstance(value, str) or (
                isinstance(value, list)
                and len(value) == 2
                and all(isinstance(v, str) for v in value)
            )
            if not ok:
                raise VignetteError(
                    f"{vid}: turn {i}: slot {name}: raw text, or [heard text, resolved id]"
                )
    return turn


def load_vignettes(folder: Path = VIGNETTE_DIR) -> list[Vignette]:
    out: list[Vignette] = []
    seen: set[str] = set()
    for file in sorted(folder.glob("*.json")):
        for raw in json.loads(file.read_text(encoding="utf-8")):
            vid = str(raw.get("id", "?"))
            where = f"{file.name}: {vid}"
            missing = {"id", "locale", "gold", "why", "turns"} - set(raw)
            if missing:
                raise VignetteError(f"{where}: missing {sorted(missing)}")
            if vid in seen:
                raise VignetteError(f"{where}: duplicate id")
            seen.add(vid)
            if raw["locale"] not in LOCALES:
                raise VignetteError(f"{where}: locale must be one of {LOCALES}")
            accept = tuple(raw.get("accept", ()))
            for level in (raw["gold"], *accept):
                if level not in GOLD_LEVELS:
                    raise VignetteError(f"{where}: level {level!r} not in {GOLD_LEVELS}")
            if not raw["turns"]:
                raise VignetteError(f"{where}: no turns")
            out.append(
                Vignette(
                    id=vid,
                    locale=raw["locale"],
                    gold=raw["gold"],
                    flag=raw.get("flag"),
                    why=raw["why"],
                    turns=tuple(_check_turn(where, i, t) for i, t in enumerate(raw["turns"])),
                    accept=accept,
                )
            )
    return out


# ------------------------------------------------------------------ the listener's ear
def _plain(ssml: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", ssml)).split())


def _fold(text: str) -> str:
    """Case, curly quotes and spacing do not change what a listener hears."""
    return " ".join(text.replace("\u2019", "'").lower().split())


def _filled(content: Content, text: str) -> str:
    """Phone placeholders filled; with any other placeholder, the longest literal part
    (a script that names the muscle or the person is still recognised)."""
    try:
        return text.format(**content.number_values())
    except (KeyError, IndexError, ValueError):
        return max(re.split(r"\{[^}]*\}", text), key=len).strip()


class Ear:
    """What one locale's content lets a listener recognise in a response."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self.scripts = {
            rf_id: (_fold(_filled(content, rf.script)), rf.level.replace("_", "-"))
            for rf_id, rf in content.red_flags.items()
        }
        self.declines = set(content.out_of_scope.values())
        phrases = content.phrases
        self.decline_phrases = [
            _fold(_filled(content, text))
            for key, text in phrases.items()
            if "out_of_scope" in key and "{" not in _filled(content, text)
        ]
        self.emergency_marks = self._marks("emergency_number", content.emergency)
        self.same_day_marks = self._marks("urgent_number", content.urgent)
        steps = [
            s
            for m in content.muscles.values()
            for track in (m.partner, m.alone, m.gentle)
            for s in track
        ] + list(content.aftercare)
        self.step_texts = {_fold(s.text) for s in steps}
        self.step_texts |= {_fold(b.cue) for s in steps for b in s.beats}
        self.rub_texts = {
            _fold(s.text)
            for m in content.muscles.values()
            if m.leg
            for track in (m.partner, m.alone, m.gentle)
            for s in track
            if s.phase == "massage"
        }
        holds: set[str] = set()
        for key, text in phrases.items():
            # The count a hold is spoken with: the literal part before any placeholder.
            if key in ("hold_start", "hold_final") or key.startswith("hold_intro"):
                literal = _fold(text.split("{")[0])
                if len(literal) >= 8:
                    holds.add(literal)
        self.hold_marks = holds
        error = phrases.get("error")
        self.error_mark = _fold(error) if error else None
        self.check_texts = [_fold(content.safety_check.text)] + [
            _fold(_filled(content, text))
            for key, text in phrases.items()
            if key.endswith("_check") and "{" not in _filled(content, text)
        ]
        # A muscle's own leg check (the shin's compartment question, the calf's).
        self.check_texts += [_fold(m.check.text) for m in content.muscles.values() if m.check]

    def _marks(self, phrase_key: str, number: Any) -> list[str]:
        marks = []
        if phrase_key in self.content.phrases:
            marks.append(_fold(self.content.phrase(phrase_key)))
        if number is not None:
            marks.append(_fold(number.spoken))
        return marks

    def hear(self, sent: str, speech: str) -> Heard:
        text = _fold(speech)
        heard = Heard(sent, speech)
        levels = ["none"]
        has_emergency_number = any(m in text for m in self.emergency_marks)
        has_same_day = any(m in text for m in self.same_day_marks)
        for rf_id, (script, level) in self.scripts.items():
            if script not in text:
                continue
            heard.flags.append(rf_id)
            if level == "emergency":
                if has_emergency_number:
                    levels.append("emergency")
                else:
                    levels.append("urgent")
                    heard.notes.append(f"{rf_id}: emergency script without the emergency number")
            elif level == "urgent":
                if has_same_day or has_emergency_number:
                    levels.append("urgent")
                elif rf_id in self.declines:
                    levels.append("out-of-scope")
                else:
                    levels.append("urgent")
                    heard.notes.append(f"{rf_id}: urgent script without the same-day line")
            elif level in RANK:
                levels.append(level)
            else:
                heard.notes.append(f"{rf_id}: unknown level {level!r}")
        if any(p in text for p in self.decline_phrases) and not (
            has_emergency_number or has_same_day
        ):
            levels.append("out-of-scope")
        step_at = [text.find(s) for s in (*self.step_texts, *self.hold_marks) if s in text]
        if self.error_mark and self.error_mark in text:
            heard.notes.append("the error fallback was spoken")
            step_at.append(text.find(self.error_mark))
        if step_at:
            heard.steps = True
            levels.append("self-care")
            # A step spoken after a stopping script in the same response.
            script_at = [
                text.find(script)
                for rf_id, (script, level) in self.scripts.items()
                if rf_id in heard.flags and level in STOPPING
            ]
            if script_at and max(step_at) > min(script_at):
                heard.violation = True
        heard.level = max(levels, key=RANK.__getitem__)
        heard.rub = any(r in text for r in self.rub_texts)
        heard.asks_check = self.asks_check(speech)
        return heard

    def asks_check(self, speech: str) -> bool:
        text = _fold(speech)
        return any(c in text for c in self.check_texts)

    def asks(self, heard: Heard) -> bool:
        """A question left open: a "?" and no step (a listener answers what was asked)."""
        return "?" in heard.speech and not heard.steps


@cache
def ear(locale: str) -> Ear:
    return Ear(load_content(locale))


@cache
def model(locale: str) -> InteractionModel:
    return InteractionModel.for_locale(locale)


# ------------------------------------------------------------------ driving the skill
def _invocation(locale: str) -> re.Pattern[str]:
    name = re.escape(model(locale).invocation)
    return re.compile(
        rf"^(?:alexa )?(?:open|launch|start|ask|tell) {name}(?: (?:to|that|about|for)\b)? ?(.*)$"
    )


def _slots(raw: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """Raw text arrives unresolved (ER_SUCCESS_NO_MATCH); [text, id] arrives resolved."""
    return {
        name: (value, None) if isinstance(value, str) else (value[0], value[1])
        for name, value in raw.items()
    }


class Night:
    """One vignette's conversation: real envelopes through handle.handle_envelope."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.store = MemoryStore()
        self.skill = build_skill(store_factory=lambda: self.store)
        self.session = Session(locale=locale)
        self.open = False
        self.now = T0

    def _new_session(self) -> None:
        self.session = Session(user_id=self.session.user_id, locale=self.locale)

    def send(self, envelope: dict[str, Any]) -> str:
        response = handle_envelope(self.skill, envelope)
        self.session.absorb(response)
        body = response.get("response", {})
        self.open = not body.get("shouldEndSession", True)
        return _plain(body.get("outputSpeech", {}).get("ssml", ""))

    def utter(self, text: str) -> tuple[str, str]:
        self.now += GAP_S
        words = normalize(text)
        invoked = _invocation(self.locale).match(words)
        if invoked or not self.open:
            # A one-shot, or words after the session closed: Alexa starts a new session.
            self._new_session()
            words = invoked.group(1) if invoked else words
            if not words:
                return "LaunchRequest", self.send(self.session.launch(self.now))
        resolution = model(self.locale).resolve(words)
        label = resolution.intent + "".join(
            f" {n}={v!r}->{i or 'NO_MATCH'}" for n, (v, i) in resolution.slots.items()
        )
        envelope = self.session.intent(resolution.intent, self.now, resolution.slots)
        return label, self.send(envelope)

    def intent(self, name: str, slots: dict[str, Any]) -> tuple[str, str]:
        self.now += GAP_S
        if not self.open:
            self._new_session()
        resolved = _slots(slots)
        label = name + "".join(f" {n}={v!r}->{i or 'NO_MATCH'}" for n, (v, i) in resolved.items())
        return label, self.send(self.session.intent(name, self.now, resolved))


def run_vignette(v: Vignette) -> Result:
    night = Night(v.locale)
    listener = ear(v.locale)
    heard: list[Heard] = []
    notes: list[str] = []

    def take(label: str, speech: str) -> Heard:
        h = listener.hear(label, speech)
        heard.append(h)
        return h

    def send(turn: dict[str, Any]) -> None:
        if "say" in turn:
            take(*night.utter(str(turn["say"])))
        else:
            take(*night.intent(str(turn["intent"]), dict(turn.get("slots", {}))))

    for turn in v.turns:
        if "if_asked" in turn:
            if heard and listener.asks(heard[-1]):
                send(turn["if_asked"])
        elif "wait" in turn:
            night.now += float(turn["wait"])
        elif "next_until" in turn:
            for _ in range(MAX_NEXT):
                h = take(*night.intent("AMAZON.NextIntent", {}))
                if listener.asks_check(h.speech) or h.level in STOPPING:
                    break
            else:
                notes.append(f"the {turn['next_until']} question never came")
        else:
            send(turn)
    stopped = False
    for h in heard:
        if stopped and h.steps:
            h.violation = True
        stopped = stopped or h.level in STOPPING
        notes.extend(h.notes)
    level = max((h.level for h in heard), key=RANK.__getitem__, default="none")
    return Result(v, heard, level, notes)


def run_all(vignettes: list[Vignette] | None = None) -> list[Result]:
    return [run_vignette(v) for v in (vignettes if vignettes is not None else load_vignettes())]
