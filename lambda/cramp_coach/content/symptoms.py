"""The symptom model: everyday words -> symptom concepts -> rules -> red flags (symptoms.json).

PROTOCOLS.md section 4 names red flags by what a person has, often in combination (a stiff
neck *with* a fever; heat *with* confusion; pale *and* cold). People say those things in
their own words ("way fatter and redder than the other one", "the bub", "really muddled").
So the content keeps three layers, each data:

- ``concepts``: a symptom or a context, with the words people use for it;
- ``rules``: which concepts together make which red flag, context flag or question;
- ``ignore``: phrases that look like a warning word and are not ("toe nail", "hot water
  bottle"), consumed before anything else.

A locale folder may only *add* words (``<locale>/symptoms.json``: ``{"add": {CONCEPT:
[...]}, "ignore": [...]}``), never remove one, so a locale can never weaken a red flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from cramp_coach.content.schema import language_document, language_file

# What a rule may lead to besides a red-flag id (core/safety.py reads these).
CONTEXT_OUTCOMES = ("PREGNANT", "CHILD", "EXERCISE_HEAT")
SPECIAL_OUTCOMES = ("ASK", "ASK_BABY", "ASK_BLOOD", "STILL")
PREFIXED_OUTCOMES = ("NOTE:", "DECLINE:")  # + a phrase key
# Concepts the reader computes rather than matches: a stated duration and its size.
DERIVED_CONCEPTS = ("LONG", "HOUR_PLUS")
# Concepts that mean something only as the first words of an answer ("yes she's ...").
ANSWER_CONCEPTS = ("YES", "NO")


class SymptomModelError(ValueError):
    """A symptoms.json that does not fit the model; the message names the file and place."""


class Rule(msgspec.Struct, frozen=True):
    then: str
    all: tuple[str, ...] = ()  # every one present
    any: tuple[str, ...] = ()  # at least one present (when given)
    also: tuple[str, ...] = ()  # and at least one of these too (when given)
    none: tuple[str, ...] = ()  # none present

    def holds(self, present: frozenset[str]) -> bool:
        return (
            all(c in present for c in self.all)
            and (not self.any or any(c in present for c in self.any))
            and (not self.also or any(c in present for c in self.also))
            and not any(c in present for c in self.none)
        )


class Durations(msgspec.Struct, frozen=True):
    minute_words: tuple[str, ...]
    hour_words: tuple[str, ...]
    fixed: tuple[tuple[str, int], ...]  # phrase -> minutes
    long_minutes: int  # RF-LONG: a stated duration at least this long
    hour_plus_minutes: int  # RF-HEAT2: heat or exercise cramps past this


class Ages(msgspec.Struct, frozen=True):
    year_words: tuple[str, ...]
    month_words: tuple[str, ...]
    infant_under_years: int
    child_under_years: int


class SymptomModel(msgspec.Struct, frozen=True):
    negations: frozenset[str]
    negation_blockers: frozenset[str]  # a negation does not reach past these ("no, she's ...")
    number_words: tuple[tuple[str, int], ...]
    durations: Durations
    ages: Ages
    ignore: tuple[str, ...]
    concepts: tuple[tuple[str, tuple[str, ...]], ...]  # concept -> its words, in file order
    muscle_concepts: tuple[tuple[str, tuple[str, ...]], ...]  # muscle id -> concepts it implies
    # Muscle id (or vague place) -> the words that name it, for a muscle slot Alexa heard but
    # could not resolve ("my babe's calf"): the words still say which muscle.
    muscle_words: tuple[tuple[str, tuple[str, ...]], ...]
    flag_concepts: tuple[tuple[str, str], ...]  # session flag -> the concept it implies
    rules: tuple[Rule, ...]


def _fail(file: str, where: str, problem: str) -> SymptomModelError:
    return SymptomModelError(f"{file}: {where}: {problem}")


def _words(file: str, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
        raise _fail(file, where, "expected a list of non-empty strings")
    # The whole list at once (about 3,000 words a locale), word by word only to name a bad one:
    # joined by newlines (none inside a word), it is lower case and single-spaced throughout.
    blob = "\n".join(value)
    if (
        blob != blob.lower()
        or blob.count("\n") != len(value) - 1
        or " ".join(blob.split()) != blob.replace("\n", " ")
    ):
        bad = [w for w in value if w != w.lower() or w != " ".join(w.split())]
        if bad:
            raise _fail(file, where, f"words must be lower case with single spaces: {bad[:3]}")
    return tuple(value)


def _ids(file: str, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(w, str) and w.isupper() for w in value):
        raise _fail(file, where, "expected a list of upper-case concept ids")
    return tuple(value)


def _keys(
    file: str, where: str, value: Any, required: set[str], optional: Iterable[str] = ()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(file, where, "expected an object")
    missing = required - set(value)
    unknown = set(value) - required - set(optional)
    if missing:
        raise _fail(file, where, f"missing {sorted(missing)}")
    if unknown:
        raise _fail(file, where, f"unknown {sorted(unknown)}")
    return value


def parse_symptom_model(
    base: Any,
    additions: Any,
    file: str,
    red_flags: Iterable[str],
    muscles: Iterable[str],
    phrases: Iterable[str],
    places: Iterable[str] = (),
) -> SymptomModel:
    """Validate symptoms.json (plus a locale's additions) against the content's ids."""
    top = _keys(
        file,
        "top level",
        base,
        {
            "source", "negations", "negation_blockers", "number_words", "durations", "ages",
            "ignore", "concepts", "muscle_words", "muscle_concepts", "flag_concepts", "rules",
        },
    )  # fmt: skip
    if not isinstance(top["source"], str) or not top["source"]:
        raise _fail(file, "source", "say where the rules come from")
    concepts_raw = _keys(file, "concepts", top["concepts"], set(), set(top["concepts"]))
    concepts = {cid: list(_words(file, f"concepts.{cid}", w)) for cid, w in concepts_raw.items()}
    ignore = list(_words(file, "ignore", top["ignore"]))
    if additions is not None:
        extra = _keys(file, "locale additions", additions, set(), {"add", "ignore", "note"})
        for cid, words in _keys(file, "add", extra.get("add", {}), set(), set(concepts)).items():
            concepts[cid] += [
                w for w in _words(file, f"add.{cid}", words) if w not in concepts[cid]
            ]
        ignore += list(_words(file, "ignore (locale)", extra.get("ignore", [])))

    known = set(concepts) | set(DERIVED_CONCEPTS)
    red = set(red_flags)
    keys = set(phrases)
    rules: list[Rule] = []
    for i, raw in enumerate(top["rules"]):
        where = f"rules[{i}]"
        data = _keys(file, where, raw, {"then", "why"}, {"all", "any", "also", "none"})
        then = data["then"]
        ok = then in red or then in CONTEXT_OUTCOMES or then in SPECIAL_OUTCOMES
        for prefix in PREFIXED_OUTCOMES:
            if isinstance(then, str) and then.startswith(prefix):
                if then.removeprefix(prefix) not in keys:
                    raise _fail(file, f"{where}.then", f"no phrase {then.removeprefix(prefix)!r}")
                ok = True
        if not ok:
            raise _fail(file, f"{where}.then", f"unknown outcome {then!r}")
        parts = {
            k: _ids(file, f"{where}.{k}", data.get(k, [])) for k in ("all", "any", "also", "none")
        }
        unknown = {c for ids in parts.values() for c in ids} - known
        if unknown:
            raise _fail(file, where, f"unknown concept(s) {sorted(unknown)}")
        if not parts["all"] and not parts["any"]:
            raise _fail(file, where, "a rule needs `all` or `any`")
        rules.append(Rule(then, parts["all"], parts["any"], parts["also"], parts["none"]))

    muscle_ids = set(muscles)
    named = _keys(file, "muscle_words", top["muscle_words"], set(), muscle_ids | set(places))
    muscle_words = {m: _words(file, f"muscle_words.{m}", w) for m, w in named.items()}
    muscle_concepts = _keys(file, "muscle_concepts", top["muscle_concepts"], set(), muscle_ids)
    flag_concepts = _keys(file, "flag_concepts", top["flag_concepts"], set(), CONTEXT_OUTCOMES)
    for muscle_id, cids in muscle_concepts.items():
        unknown_ids = set(_ids(file, f"muscle_concepts.{muscle_id}", cids)) - set(concepts)
        if unknown_ids:
            raise _fail(file, f"muscle_concepts.{muscle_id}", f"unknown {sorted(unknown_ids)}")
    for flag, cid in flag_concepts.items():
        if cid not in concepts:
            raise _fail(file, f"flag_concepts.{flag}", f"unknown concept {cid!r}")

    numbers = _keys(file, "number_words", top["number_words"], set(), set(top["number_words"]))
    if not all(isinstance(v, int) and v > 0 for v in numbers.values()):
        raise _fail(file, "number_words", "values are positive whole numbers")
    d = _keys(
        file, "durations", top["durations"],
        {"minute_words", "hour_words", "fixed", "long_minutes", "hour_plus_minutes"},
    )  # fmt: skip
    fixed = _keys(file, "durations.fixed", d["fixed"], set(), set(d["fixed"]))
    a = _keys(
        file, "ages", top["ages"],
        {"year_words", "month_words", "infant_under_years", "child_under_years"},
    )  # fmt: skip
    return SymptomModel(
        negations=frozenset(_words(file, "negations", top["negations"])),
        negation_blockers=frozenset(_words(file, "negation_blockers", top["negation_blockers"])),
        number_words=tuple(numbers.items()),
        durations=Durations(
            _words(file, "durations.minute_words", d["minute_words"]),
            _words(file, "durations.hour_words", d["hour_words"]),
            tuple((k, int(v)) for k, v in fixed.items()),
            int(d["long_minutes"]),
            int(d["hour_plus_minutes"]),
        ),
        ages=Ages(
            _words(file, "ages.year_words", a["year_words"]),
            _words(file, "ages.month_words", a["month_words"]),
            int(a["infant_under_years"]),
            int(a["child_under_years"]),
        ),
        ignore=tuple(ignore),
        concepts=tuple((cid, tuple(words)) for cid, words in concepts.items()),
        muscle_concepts=tuple((m, tuple(cids)) for m, cids in muscle_concepts.items()),
        muscle_words=tuple(muscle_words.items()),
        flag_concepts=tuple(flag_concepts.items()),
        rules=tuple(rules),
    )


def read_symptom_files(base_dir: Path, locale_dir: Path | None) -> tuple[Any, Any, str]:
    """(base document, locale additions or None, the file name errors should name)."""
    import json

    base_file = base_dir / "symptoms.json"
    if language_file(base_file):
        base = language_document(base_file)
    else:
        base = json.loads(base_file.read_text(encoding="utf-8"))
    if locale_dir is None or not (locale_dir / "symptoms.json").is_file():
        return base, None, f"{base_dir.name}/symptoms.json"
    extra_file = locale_dir / "symptoms.json"
    return (
        base,
        json.loads(extra_file.read_text(encoding="utf-8")),
        f"{locale_dir.name}/symptoms.json",
    )
