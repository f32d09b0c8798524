"""Red flags from what people say: words -> symptom concepts -> rules (content: symptoms.json).

Alexa resolves some warning words to a SYMPTOM id, but people describe a clot as "way fatter
and redder than the other one", a baby as "the bub", heatstroke as "really muddled and hot".
Every raw slot text is read with the locale's symptom model:

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

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from cramp_coach.content import CONTEXT_FLAGS, Content
from cramp_coach.content.symptoms import ANSWER_CONCEPTS, SymptomModel
from cramp_coach.core.model import Event

# Never rub a leg flagged for a clot, swelling or a blocked blood supply (G3, RF-SWELL, RF-ISCH).
CLOT_FLAGS = ("RF_DVT", "RF_PREG", "RF_SWELL", "RF_ISCH")
_NEGATION_WINDOW = 3  # words before a concept that can deny it ("isn't really that swollen")
_FILLERS = frozenset({"um", "uh", "er", "erm", "oh", "well", "so", "okay", "ok", "alexa", "hmm"})

Answer = Literal["yes", "no", "unsure"]
_NOT_SYMPTOMS = frozenset({"YES", "NO", "UNSURE", "ADULT", "STILL", "ALL_CLEAR"})


@dataclass(frozen=True)
class Finding:
    red_flags: tuple[str, ...] = ()  # most serious first
    flags: tuple[str, ...] = ()  # PREGNANT, CHILD, EXERCISE_HEAT
    unsure: bool = False  # a warning word we cannot place: ask the safety question
    ask_baby: bool = False  # "my baby": an infant or an adult partner? (RF-INFANT)
    ask_blood: bool = False  # a cold leg: has it gone pale or numb? (RF-ISCH)
    still: bool = False  # vague persistence ("it won't stop"): still cramping, not RF-LONG
    notes: tuple[str, ...] = ()  # phrase keys said before going on (a neck cramp with a headache)
    declines: tuple[str, ...] = ()  # phrase keys: out of scope, no steps, no lock (period cramps)
    concepts: frozenset[str] = field(default_factory=frozenset)  # present, not denied
    denied: frozenset[str] = field(default_factory=frozenset)
    answer: Answer | None = None  # what the words say to a yes/no question

    def __bool__(self) -> bool:
        return bool(self.red_flags or self.flags or self.unsure or self.ask_baby or self.ask_blood)

    @property
    def heard_symptom(self) -> bool:
        """Any symptom or warning concept named and not denied (an answer that means yes).

        Places ("her calf": AT_LEG) and answer words are not symptoms."""
        return any(not c.startswith("AT_") and c not in _NOT_SYMPTOMS for c in self.concepts)


def normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("-", " ")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).split())


_Owners = tuple[str, ...]
_Candidate = tuple[tuple[str, ...], int, _Owners]  # (tokens, characters, owners)


class _TermIndex:
    """Phrases found word by word, the longest at each position first, whole words only.

    Why not one regex: an alternation of ~1,000 phrases is tried phrase by phrase at every
    character (measured: 1.4 ms to read one short sentence, and 85 ms to compile on the first
    request of a cold start). Indexed by first word, a sentence is read in microseconds.
    A phrase word ending in "*" matches any word it begins; the last word may carry "'s" or a
    plural "s" ("the bub's leg", "cramps").
    """

    def __init__(self, owners: dict[str, _Owners]) -> None:
        exact: dict[str, list[_Candidate]] = {}
        prefixed: dict[str, list[_Candidate]] = {}
        for term, who in owners.items():
            tokens = tuple(term.split())
            entry = (tokens, len(term), who)
            first = tokens[0]
            if first.endswith("*"):
                prefixed.setdefault(first[:-1], []).append(entry)
            else:
                exact.setdefault(first, []).append(entry)

        def longest_first(items: list[_Candidate]) -> tuple[_Candidate, ...]:
            return tuple(sorted(items, key=lambda c: (-len(c[0]), -c[1])))

        self._exact = {w: longest_first(c) for w, c in exact.items()}
        self._prefixed = tuple((p, longest_first(c)) for p, c in prefixed.items())

    @staticmethod
    def _fits(token: str, word: str, last: bool) -> bool:
        if token.endswith("*"):
            return word.startswith(token[:-1])
        if word == token:
            return True
        return last and word in (token + "'s", token + "s'", token + "s")

    def _candidates(self, word: str) -> list[_Candidate]:
        keys = {word, word.removesuffix("'s"), word.removesuffix("s'"), word.removesuffix("s")}
        found = [c for key in keys for c in self._exact.get(key, ())]
        found += [c for p, cs in self._prefixed if word.startswith(p) for c in cs]
        return sorted(found, key=lambda c: (-len(c[0]), -c[1]))

    def find(self, words: list[str]) -> list[tuple[int, int, _Owners]]:
        """(first word, word after the last, owners) of each phrase, left to right."""
        found, i = [], 0
        while i < len(words):
            for tokens, _, who in self._candidates(words[i]):
                end = i + len(tokens)
                if end <= len(words) and all(
                    self._fits(t, words[i + k], i + k == end - 1) for k, t in enumerate(tokens)
                ):
                    found.append((i, end, who))
                    i = end
                    break
            else:
                i += 1
        return found


@dataclass(frozen=True)
class _Matcher:
    terms: _TermIndex
    durations: re.Pattern[str]
    ages: re.Pattern[str]


_IGNORE = "IGNORE"


@cache
def _matcher(model: SymptomModel) -> _Matcher:
    """The phrase index and the number patterns, built once per locale."""
    owners: dict[str, list[str]] = {}
    for term in model.ignore:
        owners.setdefault(term, []).append(_IGNORE)
    for concept, words in model.concepts:
        for term in words:
            if concept not in owners.setdefault(term, []):
                owners[term].append(concept)
    terms = _TermIndex({t: tuple(o) for t, o in owners.items()})
    numbers = sorted((w for w, _ in model.number_words), key=len, reverse=True)
    units_after_tens = r"(?: (?:and )?(?:one|two|three|four|five|six|seven|eight|nine))?"
    number = r"(?:\d+|(?:" + "|".join(map(re.escape, numbers)) + ")" + units_after_tens + ")"
    d = model.durations
    units = "|".join(map(re.escape, (*d.minute_words, *d.hour_words)))
    fixed = "|".join(map(re.escape, sorted((p for p, _ in d.fixed), key=len, reverse=True)))
    durations = re.compile(
        rf"(?<![a-z0-9'])(?:(?P<fixed>{fixed})"
        rf"|(?P<every>every )?(?P<n>{number})(?: of)? (?P<unit>{units}))(?![a-z0-9'])"
    )
    a = model.ages
    age_units = "|".join(map(re.escape, (*a.year_words, *a.month_words)))
    ages = re.compile(rf"(?<![a-z0-9'])(?P<n>{number}) (?P<unit>{age_units})(?:'s)?(?![a-z0-9'])")
    return _Matcher(terms, durations, ages)


def _value(words: str, model: SymptomModel) -> int:
    """'twenty five' -> 25, '20' -> 20, 'a' -> 1."""
    table = dict(model.number_words)
    total = 0
    for word in words.split():
        if word.isdigit():
            total += int(word)
        elif word != "and":
            total += table.get(word, 0)
    return total


def _minutes(text: str, model: SymptomModel, matcher: _Matcher) -> int:
    """The longest duration stated, in minutes (0 when none); "every ten minutes" is not one."""
    d, longest = model.durations, 0
    fixed = dict(d.fixed)
    for m in matcher.durations.finditer(text):
        if m.group("fixed"):
            longest = max(longest, fixed[m.group("fixed")])
        elif not m.group("every"):
            n = _value(m.group("n"), model)
            longest = max(longest, n * (60 if m.group("unit") in d.hour_words else 1))
    return longest


def _age_concepts(text: str, model: SymptomModel, matcher: _Matcher) -> set[str]:
    a, found = model.ages, set()
    for m in matcher.ages.finditer(text):
        n = _value(m.group("n"), model)
        years = n if m.group("unit") in a.year_words else 0
        if years < a.infant_under_years:
            found.add("INFANT")
        elif years < a.child_under_years:
            found.add("CHILD")
    return found


def _denied(words_before: list[str], model: SymptomModel) -> bool:
    for word in reversed(words_before[-_NEGATION_WINDOW:]):
        if word in model.negation_blockers:
            return False
        if word in model.negations:
            return True
    return False


@dataclass
class _Read:
    present: set[str] = field(default_factory=set)
    denied: set[str] = field(default_factory=set)
    minutes: int = 0


def _joined_denials(texts: list[str], model: SymptomModel) -> list[str]:
    """A slot that heard only a denial ("not" | "red or swollen") denies what the others name."""
    denials = [t for t in texts if t and all(w in model.negations for w in t.split())]
    if not denials or len(denials) == len(texts):
        return texts
    return [f"{denials[0]} {t}" for t in texts if t not in denials]


def _read(texts: tuple[str, ...], model: SymptomModel) -> _Read:
    matcher = _matcher(model)
    out = _Read()
    for text in _joined_denials([normalize(raw) for raw in texts], model):
        if not text:
            continue
        out.minutes = max(out.minutes, _minutes(text, model, matcher))
        out.present |= _age_concepts(text, model, matcher)
        words = text.split()
        for start, _, owners in matcher.terms.find(words):
            if _IGNORE in owners:
                continue
            answer_only = {c for c in owners if c in ANSWER_CONCEPTS}
            if answer_only and not all(w in _FILLERS for w in words[:start]):
                owners = tuple(c for c in owners if c not in answer_only)
            if not owners:
                continue
            denied = not answer_only and _denied(words[:start], model)
            (out.denied if denied else out.present).update(owners)
    return out


def _answer(read: _Read) -> Answer | None:
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
    read = _read(texts, model)
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
    for rule in model.rules:
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


@cache
def _muscle_terms(model: SymptomModel) -> _TermIndex:
    # The ignored phrases too, so "toe nails" names no toe.
    owners: dict[str, _Owners] = {w: () for w in model.ignore}
    owners.update({w: (m,) for m, words in model.muscle_words for w in words})
    return _TermIndex(owners)


def prepare(content: Content) -> None:
    """Build this locale's phrase indexes and number patterns now rather than on first use:
    in AWS Lambda the init runs at full CPU and a request at a fraction of one."""
    _matcher(content.symptoms)
    _muscle_terms(content.symptoms)


def muscle_in_words(texts: tuple[str, ...], content: Content) -> str | None:
    """The one muscle (or vague place) the words name, or None (none, or more than one)."""
    terms = _muscle_terms(content.symptoms)
    found = {m for t in texts for _, _, who in terms.find(normalize(t).split()) for m in who}
    return found.pop() if len(found) == 1 else None


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
