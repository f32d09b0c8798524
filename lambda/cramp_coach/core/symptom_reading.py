"""Reading raw words with a locale's symptom model: phrases -> concepts, denials, durations, ages.

The text machinery under safety.py (which turns what is read into red flags, flags and
questions): a phrase index looked up word by word, the number patterns for durations and ages,
and the muscle a sentence names. Built once per locale (`prepare`, at init in Lambda).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import TypeVar

import msgspec

from cramp_coach.content import Content
from cramp_coach.content.symptoms import ANSWER_CONCEPTS, Rule, SymptomModel

_T = TypeVar("_T")

_NEGATION_WINDOW = 3  # words before a concept that can deny it ("isn't really that swollen")
# Words that may come before an answer ("um, no", "mate, no", "yaar no") without making it
# something else: hesitations, and the names people call each other across English locales.
_FILLERS = frozenset(
    {"um", "uh", "er", "erm", "oh", "well", "so", "okay", "ok", "alexa", "hmm", "right"}
    | {"mate", "love", "hun", "hon", "honey", "babe", "buddy", "bud", "man", "dude", "bro"}
    | {"pet", "duck", "darl", "darling", "dear", "sweetie", "yaar", "bhai", "ji", "sir"}
)


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
            if len(items) == 1:  # most words begin one phrase only
                return (items[0],)
            return tuple(sorted(items, key=lambda c: (-len(c[0]), -c[1])))

        self._exact = {w: longest_first(c) for w, c in exact.items()}
        self._prefixed = tuple((p, longest_first(c)) for p, c in prefixed.items())
        # The prefixed groups a word can match, by its first letter (in the same order): a
        # word is tried against a few prefixes rather than every one.
        anywhere = tuple(group for group in self._prefixed if not group[0])
        self._prefixed_by_first = {
            first: tuple(g for g in self._prefixed if not g[0] or g[0][0] == first)
            for first in {p[0] for p in prefixed if p}
        }
        self._prefixed_anywhere = anywhere

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
        groups = self._prefixed_by_first.get(word[:1], self._prefixed_anywhere)
        found += [c for p, cs in groups if word.startswith(p) for c in cs]
        if len(found) < 2:
            return found
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


class _Matcher(msgspec.Struct, frozen=True):
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


def _per_model(build: Callable[[SymptomModel], _T]) -> Callable[[SymptomModel], _T]:
    """`build(model)` (itself cached by equality), found again by the model object itself.

    Hashing a SymptomModel walks every word it holds (about 13 us), which every read paid to
    find its matcher. One entry per model object (a content folder's, shared by its country
    views); bounded all the same. The entry holds the model, so its id is not reused.
    """
    known: dict[int, tuple[SymptomModel, _T]] = {}

    def lookup(model: SymptomModel) -> _T:
        hit = known.get(id(model))
        if hit is not None and hit[0] is model:
            return hit[1]
        if len(known) >= 64:
            known.clear()
        value = build(model)
        known[id(model)] = (model, value)
        return value

    return lookup


_matcher_of = _per_model(_matcher)


@cache
def _rule_index(model: SymptomModel) -> tuple[tuple[int, ...], dict[str, tuple[int, ...]]]:
    """(the rules that need no concept, concept -> the rules naming it in `all` or `any`)."""
    free: list[int] = []
    by_concept: dict[str, list[int]] = {}
    for i, rule in enumerate(model.rules):
        if not rule.all and not rule.any:
            free.append(i)
        for concept in {*rule.all, *rule.any}:
            by_concept.setdefault(concept, []).append(i)
    return tuple(free), {c: tuple(rules) for c, rules in by_concept.items()}


_rule_index_of = _per_model(_rule_index)


def rules_for(model: SymptomModel, present: frozenset[str]) -> list[Rule]:
    """The model's rules that may hold with these concepts, in file order.

    A rule holds only if one of its `all` or `any` concepts is present (or it has neither),
    so only those are tried: a handful of the ~60 for the one or two concepts a turn names.
    """
    free, by_concept = _rule_index_of(model)
    found = set(free)
    for concept in present:
        found.update(by_concept.get(concept, ()))
    rules = model.rules
    return [rules[i] for i in sorted(found)]


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


class Reading(msgspec.Struct):
    present: set[str] = msgspec.field(default_factory=set)
    denied: set[str] = msgspec.field(default_factory=set)
    minutes: int = 0


def _joined_denials(texts: list[str], model: SymptomModel) -> list[str]:
    """A slot that heard only a denial ("not" | "red or swollen") denies what the others name."""
    denials = [t for t in texts if t and all(w in model.negations for w in t.split())]
    if not denials or len(denials) == len(texts):
        return texts
    return [f"{denials[0]} {t}" for t in texts if t not in denials]


def read_concepts(texts: tuple[str, ...], model: SymptomModel) -> Reading:
    matcher = _matcher_of(model)
    out = Reading()
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


_WEAK = "~"  # marks a muscle named only by a phrase that is also ignored ("toe nail")


@cache
def _muscle_terms(model: SymptomModel) -> _TermIndex:
    # The ignored phrases too, so "nail polish" or "hot water bottle" names nothing. A muscle
    # word that is also an ignored phrase ("toe nail*", "baby toe*") names its muscle weakly:
    # "cramp near the toe nail" is the toes, "cutting my toenails, now my calf" the calf.
    owners: dict[str, _Owners] = {w: () for w in model.ignore}
    ignored = set(model.ignore)
    for muscle, words in model.muscle_words:
        for word in words:
            owners[word] = (_WEAK + muscle,) if word in ignored else (muscle,)
    return _TermIndex(owners)


_muscle_terms_of = _per_model(_muscle_terms)


def prepare(content: Content) -> None:
    """Build this locale's phrase indexes and number patterns now rather than on first use:
    in AWS Lambda the init runs at full CPU and a request at a fraction of one."""
    _matcher_of(content.symptoms)
    _muscle_terms_of(content.symptoms)
    _rule_index_of(content.symptoms)


def muscle_in_words(texts: tuple[str, ...], content: Content) -> str | None:
    """The one muscle (or vague place) the words name, or None (none, or more than one).

    A weak name ("near the toe nail") counts only when the words name nothing else."""
    terms = _muscle_terms_of(content.symptoms)
    found = {m for t in texts for _, _, who in terms.find(normalize(t).split()) for m in who}
    strong = {m for m in found if not m.startswith(_WEAK)}
    named = strong or {m.removeprefix(_WEAK) for m in found}
    return named.pop() if len(named) == 1 else None
