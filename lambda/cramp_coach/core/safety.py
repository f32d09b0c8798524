"""Red flags, whatever words they came in: slot ids first, then a scan of the raw text.

Alexa's model resolves most red flags to a SYMPTOM id. What it cannot resolve still
arrives as raw slot text ("I'm struggling to breathe and my chest hurts" in a muscle
slot), so every heard text is scanned with the locale's rules (content: safety_net).
The most serious finding wins; a negated term ("not swollen") is not trusted either
way: the skill asks the safety question instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from cramp_coach.content import CONTEXT_FLAGS, Content, SafetyNet, SafetyRule
from cramp_coach.core.model import Event

CLOT_FLAGS = ("RF_DVT", "RF_PREG", "RF_SWELL")  # never rub a leg flagged for a clot
_NEGATION_WINDOW = 3  # words before a term that can negate it ("isn't really swollen")
# Only denials count: "can't breathe" is a red flag, "doesn't look swollen" is unsure.


@dataclass(frozen=True)
class Finding:
    red_flags: tuple[str, ...] = ()  # most serious first
    flags: tuple[str, ...] = ()  # PREGNANT, CHILD, EXERCISE_HEAT
    unsure: bool = False  # a warning word we cannot place: ask the safety question

    def __bool__(self) -> bool:
        return bool(self.red_flags or self.flags or self.unsure)


def normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).split())


def _term(term: str) -> str:
    # "swell*" matches every word that starts with "swell"; other words match whole.
    return " ".join(
        re.escape(w.rstrip("*")) + (r"[a-z']*" if w.endswith("*") else "") for w in term.split()
    )


@cache
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a rule's terms (measured: a regex per term made the warm turn 3x slower)."""
    return re.compile(r"(?<![a-z'])(?:" + "|".join(map(_term, terms)) + r")(?![a-z'])")


@cache
def _ordered(net: SafetyNet) -> tuple[SafetyRule, ...]:
    # Context first (and the IGNOREs), so "after a run she fainted" is read as heat, and
    # "so hot in here" is the room, not a hot leg. Once per locale, not once per turn.
    return tuple(sorted(net.rules, key=lambda r: r.target not in ("IGNORE", *CONTEXT_FLAGS)))


def _negated(text: str, start: int, negations: frozenset[str]) -> bool:
    before = text[:start].split()[-_NEGATION_WINDOW:]
    return any(word in negations for word in before)


def _applies(rule: SafetyRule, muscle: str | None, flags: set[str]) -> bool:
    if rule.muscles and muscle not in rule.muscles:
        return False
    return not rule.flags or bool(flags & set(rule.flags))


def scan(texts: tuple[str, ...], content: Content, muscle: str | None, flags: set[str]) -> Finding:
    """What the raw words say, by the locale's ordered rules."""
    net = content.safety_net
    found: list[str] = []
    unsure = False
    for raw in texts:
        text = normalize(raw)
        for rule in _ordered(net):
            if not _applies(rule, muscle, flags | set(found)):
                continue
            for match in list(_pattern(rule.terms).finditer(text)):
                # Each match is consumed, so the rules' order decides: "baby toe" is a toe
                # (an IGNORE rule), "heart disease" is not chest pain.
                text = text[: match.start()] + " " * len(match.group()) + text[match.end() :]
                if rule.target == "IGNORE":
                    continue
                if _negated(text, match.start(), net.negations) or rule.target == "ASK":
                    unsure = True
                elif rule.target not in found:
                    found.append(rule.target)
    if "PREGNANT" in found and "RF_INFANT" in found:
        found.remove("RF_INFANT")  # "pregnant with our baby" is not about an infant
    return _finding(found, content, unsure)


def _finding(ids: list[str], content: Content, unsure: bool) -> Finding:
    red = [i for i in ids if i in content.red_flags]
    flags = tuple(i for i in ids if i in CONTEXT_FLAGS)
    return Finding(tuple(sorted(red, key=lambda i: severity(i, content))), flags, unsure)


def severity(flag_id: str, content: Content) -> int:
    """0 emergency, 1 urgent, 2 routine: lower is more serious."""
    return ("emergency", "urgent", "routine").index(content.red_flags[flag_id].level)


def detect(event: Event, content: Content, muscle: str | None, flags: set[str]) -> Finding:
    """Everything in this event that is about safety: slot ids, out-of-scope places, words."""
    ids: list[str] = []
    if event.symptom == "INFANT":
        ids.append("RF_INFANT")
    elif event.symptom in content.red_flags or event.symptom in CONTEXT_FLAGS:
        ids.append(event.symptom)
    if event.muscle in content.out_of_scope:
        ids.append(content.out_of_scope[event.muscle])
    words = scan(event.heard, content, event.muscle or muscle, flags | set(ids))
    merged = ids + [i for i in (*words.red_flags, *words.flags) if i not in ids]
    if "PREGNANT" in (*merged, *flags) and "RF_DVT" in merged and "RF_PREG" not in merged:
        merged.append("RF_PREG")  # in pregnancy a swollen leg is the pregnancy red flag too
    # A flag or red flag read from the slots makes a vague warning word moot.
    return _finding(merged, content, words.unsure and not merged)
