"""Red flags from what people say: words -> symptom concepts -> rules (content: symptoms.json).

Alexa resolves some warning words to a SYMPTOM id, but people describe a clot as "way fatter
and redder than the other one", a baby as "the bub", heatstroke as "really muddled and hot".
Every raw slot text is read with the locale's symptom model (steps 1 to 4: symptom_reading.py):

1. phrases that only look like warnings are consumed first ("toe nail", "hot water bottle");
2. every other phrase becomes a concept, longest phrase first ("lips are blue" is breathing,
   not a pale leg), whole words only, so "babe" is not "baby";
3. a concept with a denial just before it in the same clause ("not swollen", "no chest
   pain", "she isn't breathless") counts as denied, not present; "no, she's breathless" is
   not a denial;
4. a stated duration is read as a number ("twenty minutes", "half an hour"), an age too
   ("my 70 year old husband" is an adult, "our two year old" a toddler);
5. the rules combine the concepts (with the muscle and the session's flags) into red flags,
   context flags, questions and notes. The most serious red flag comes first.

A resolved SYMPTOM id still counts unless the words account for it (`_explains`): they read
at least as seriously, or carry the reading the spec gives instead ("it won't stop" is still
cramping, not RF-LONG). A gap in the words never lowers the level.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from cramp_coach.content import CONTEXT_FLAGS, Content
from cramp_coach.core.model import Event
from cramp_coach.core.symptom_reading import Reading, read_concepts, rules_for

# Never rub a leg flagged for a clot, swelling or a blocked blood supply (G3, RF-SWELL, RF-ISCH).
CLOT_FLAGS = ("RF_DVT", "RF_PREG", "RF_SWELL", "RF_ISCH")

Answer = Literal["yes", "no", "unsure"]
_NOT_SYMPTOMS = frozenset({"YES", "NO", "UNSURE", "ADULT", "STILL", "ALL_CLEAR"})


class Finding(msgspec.Struct, frozen=True):
    red_flags: tuple[str, ...] = ()  # most serious first
    flags: tuple[str, ...] = ()  # PREGNANT, CHILD, EXERCISE_HEAT
    unsure: bool = False  # a warning word we cannot place: ask the safety question
    ask_baby: bool = False  # "my baby": an infant or an adult partner? (RF-INFANT)
    ask_blood: bool = False  # a cold leg: has it gone pale or numb? (RF-ISCH)
    still: bool = False  # vague persistence ("it won't stop"): still cramping, not RF-LONG
    notes: tuple[str, ...] = ()  # phrase keys said before going on (a neck cramp with a headache)
    declines: tuple[str, ...] = ()  # phrase keys: out of scope, no steps, no lock (period cramps)
    concepts: frozenset[str] = msgspec.field(default_factory=frozenset)  # present, not denied
    denied: frozenset[str] = msgspec.field(default_factory=frozenset)
    answer: Answer | None = None  # what the words say to a yes/no question

    def __bool__(self) -> bool:
        return bool(self.red_flags or self.flags or self.unsure or self.ask_baby or self.ask_blood)

    @property
    def heard_symptom(self) -> bool:
        """Any symptom or warning concept named and not denied (an answer that means yes).

        Places ("her calf": AT_LEG) and answer words are not symptoms."""
        return any(not c.startswith("AT_") and c not in _NOT_SYMPTOMS for c in self.concepts)


def _answer(read: Reading) -> Answer | None:
    present = read.present
    if "YES" in present:
        return "yes"
    if "UNSURE" in present:
        return "unsure"
    symptoms = present - {"ADULT", "ALL_CLEAR", "NO"}
    if "NO" in present or (("ALL_CLEAR" in present or read.denied) and not symptoms):
        return "no"
    return None


def read_words(
    texts: tuple[str, ...], content: Content, muscle: str | None, flags: set[str]
) -> Finding:
    """What the raw words say, by the locale's symptom model."""
    model = content.symptoms
    read = read_concepts(texts, model)
    present = set(read.present)
    d = model.durations
    if read.minutes >= d.long_minutes:
        present.add("LONG")
    if read.minutes >= d.hour_plus_minutes:
        present.add("HOUR_PLUS")
    for muscle_id, concepts in model.muscle_concepts:
        if muscle == muscle_id:
            present.update(concepts)
    for flag, concept in model.flag_concepts:
        if flag in flags:
            present.add(concept)
    outcomes: list[str] = []
    frozen = frozenset(present)
    for rule in rules_for(model, frozen):
        if rule.then not in outcomes and rule.holds(frozen):
            outcomes.append(rule.then)
    red = [o for o in outcomes if o in content.red_flags]
    return Finding(
        red_flags=tuple(sorted(red, key=lambda i: severity(i, content))),
        flags=tuple(o for o in outcomes if o in CONTEXT_FLAGS),
        unsure="ASK" in outcomes,
        ask_baby="ASK_BABY" in outcomes,
        ask_blood="ASK_BLOOD" in outcomes,
        still="STILL" in outcomes,
        notes=tuple(o.removeprefix("NOTE:") for o in outcomes if o.startswith("NOTE:")),
        declines=tuple(o.removeprefix("DECLINE:") for o in outcomes if o.startswith("DECLINE:")),
        concepts=frozenset(read.present),
        denied=frozenset(read.denied - read.present),
        answer=_answer(read),
    )


def severity(flag_id: str, content: Content) -> int:
    """0 emergency, 1 urgent, 2 routine: lower is more serious."""
    return ("emergency", "urgent", "routine").index(content.red_flags[flag_id].level)


def _explains(words: Finding, slot: str, content: Content) -> bool:
    """Whether the words account for the SYMPTOM id Alexa resolved them to.

    The slot's id is a coarse reading ("won't stop" -> RF_LONG, "my baby" -> RF_INFANT, "stiff
    neck and headache" -> RF_MENING). The words win when they read at least as seriously, or
    when they carry a reading the spec gives instead: still cramping, a note, an out-of-scope
    answer, the baby question, a denial, a plain "no", a warning word that asks. Otherwise the
    slot's id counts too, so a gap in the words never lowers the level.
    """
    if slot not in content.red_flags:
        return slot in words.flags
    if words.red_flags and severity(words.red_flags[0], content) <= severity(slot, content):
        return True
    softer = bool(
        words.still or words.notes or words.declines or words.ask_baby or words.ask_blood
        or words.denied
    )  # fmt: skip
    return bool(softer or words.answer == "no" or (words.unsure and not words.red_flags))


def detect(event: Event, content: Content, muscle: str | None, flags: set[str]) -> Finding:
    """Everything in this event that is about safety: the words first, then slot ids."""
    named = event.muscle if event.muscle in content.muscles else muscle
    words = read_words(event.heard, content, named, flags)
    ids: list[str] = []
    slot = event.symptom
    if slot == "INFANT":
        slot = "RF_INFANT"
    known = slot in content.red_flags or slot in CONTEXT_FLAGS
    if known and not _explains(words, str(slot), content):
        ids.append(str(slot))
    ask_baby = words.ask_baby
    place = content.out_of_scope.get(event.muscle or "")
    if place is not None and not words.declines:
        ids.append(place)  # chest, belly, face: no steps (PROTOCOLS 2.10)
    merged = [*ids, *(i for i in (*words.red_flags, *words.flags) if i not in ids)]
    if "PREGNANT" in (*merged, *flags) and "RF_DVT" in merged and "RF_PREG" not in merged:
        merged.append("RF_PREG")  # in pregnancy a swollen leg is the pregnancy red flag too
    red = [i for i in merged if i in content.red_flags]
    if "RF_INFANT" in red:
        ask_baby = False
    return Finding(
        red_flags=tuple(sorted(red, key=lambda i: severity(i, content))),
        flags=tuple(i for i in merged if i in CONTEXT_FLAGS),
        # A red flag or flag read makes a vague warning word moot.
        unsure=words.unsure and not merged,
        ask_baby=ask_baby,
        ask_blood=words.ask_blood and not red,
        still=words.still,
        notes=words.notes,
        declines=words.declines,
        concepts=words.concepts,
        denied=words.denied,
        answer=words.answer,
    )
