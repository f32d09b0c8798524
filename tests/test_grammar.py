"""The models are generated from the sentence grammar, and hold every sentence it promises.

interaction_models/source/grammar.json (tools/model_grammar.py) promises combinations: every
filler with every muscle phrase and cramp phrase, every possessive with every muscle noun, every
answer head with every symptom... These tests read the promise back out of each generated
locale model: every promised sample and slot value is there, no sample belongs to two intents,
the model stays within Alexa's limits, and a clash is refused when the model is built.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_locale_models as builder  # noqa: E402
import model_grammar  # noqa: E402

SOURCE = ROOT / "interaction_models" / "source"
LOCALES = ("en-US", "en-GB", "en-AU", "en-CA", "en-IN")


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


GRAMMAR = _json(SOURCE / "grammar.json")


def overlay(locale: str) -> dict[str, Any]:
    return _json(ROOT / "interaction_models" / "overlays" / f"{locale}.json")


def model(locale: str) -> dict[str, Any]:
    lm: dict[str, Any] = _json(ROOT / "interaction_models" / f"{locale}.json")["interactionModel"][
        "languageModel"
    ]
    return lm


def _words(locale: str, text: str) -> str:
    return builder._replace_words(text, overlay(locale).get("replace", {}))


@pytest.mark.parametrize("locale", LOCALES)
def test_every_promised_sample_is_in_the_locale_model(locale: str) -> None:
    grammar = model_grammar.merge(GRAMMAR, overlay(locale).get("grammar", {}))
    have = {i["name"]: set(i.get("samples", [])) for i in model(locale)["intents"]}
    owner = {s: name for name, samples in have.items() for s in samples}
    missing = []
    for intent, samples in model_grammar.intent_samples(grammar).items():
        for sample in samples:
            # A generated sample another hand-written intent owned is refused at build time, so
            # each promised sentence is in its own intent.
            if owner.get(_words(locale, sample)) != intent:
                missing.append(f"{intent}: {sample}")
    assert not missing, missing[:20]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_promised_muscle_and_symptom_phrase_is_a_slot_value(locale: str) -> None:
    grammar = model_grammar.merge(GRAMMAR, overlay(locale).get("grammar", {}))
    types = {t["name"]: t["values"] for t in model(locale)["types"]}
    for type_name, promised in (
        ("MUSCLE", model_grammar.muscle_values(grammar)),
        ("SYMPTOM", model_grammar.symptom_values(grammar)),
    ):
        owner = {
            phrase: v["id"]
            for v in types[type_name]
            for phrase in [v["name"]["value"], *v["name"].get("synonyms", [])]
        }
        wrong = [
            f"{value_id}: {p}"
            for value_id, phrases in promised.items()
            for p in phrases
            if owner.get(_words(locale, p)) != value_id
        ]
        assert not wrong, wrong[:20]


def test_the_grammar_covers_the_structures_people_use() -> None:
    """Issue 22's list: who, every muscle's synonyms with each, cramp phrases, sides, fillers."""
    for who in ("my", "her", "his", "their", "the", "my wife's", "my husband's",
                "my partner's", "dad's"):  # fmt: skip
        assert who in GRAMMAR["who"]
    # Who has it ("I've got", "my wife has") is the {helper} slot: the speaker picks the steps.
    assert "CrampIntent: {helper} <have_verb> <cramp_noun> in {muscle}" in GRAMMAR["patterns"]
    assert not any(h.split()[0] in ("I", "I've", "she", "he") for h in GRAMMAR["haver"])
    said = ("is cramping", "has a cramp", "has cramped up", "is locked", "has seized",
            "has gone into a knot", "is spasming", "has a charley horse",
            "won't relax")  # fmt: skip
    for phrase in said:
        assert phrase in GRAMMAR["singular_cramp"]
    assert GRAMMAR["sides"] == ["left", "right"]
    for filler in ("um", "okay so", "it's", "alexa it's"):
        assert filler in GRAMMAR["fillers"]
    values = model_grammar.muscle_values(GRAMMAR)
    assert "the muscle above her heel" in values["CALF"]
    assert "my wife's left calf" not in values["CALF"]  # sides ride with one-word possessives
    assert {"my wife's calf", "her left calf", "his hammy's"} <= set(
        values["CALF"] + values["HAMSTRING"]
    )
    for who in ("mum's", "me"):
        assert who in overlay("en-GB")["grammar"]["who"] + overlay("en-AU")["grammar"]["who"]


def test_expansion_is_the_cross_product_of_the_lists() -> None:
    lists = {"a": ["um", ""], "b": ["is locked", "won't relax"]}
    assert model_grammar.expand("<a> {muscle} <b>", lists) == [
        "um {muscle} is locked",
        "um {muscle} won't relax",
        "{muscle} is locked",
        "{muscle} won't relax",
    ]
    with pytest.raises(KeyError):
        model_grammar.expand("<nope> {muscle}", lists)


@pytest.mark.parametrize("locale", LOCALES)
def test_no_sample_in_two_intents_and_within_alexas_limits(locale: str) -> None:
    owners: dict[str, str] = {}
    for intent in model(locale)["intents"]:
        for sample in intent.get("samples", []):
            folded = " ".join(sample.lower().split())
            assert owners.setdefault(folded, intent["name"]) == intent["name"], folded
    document = _json(ROOT / "interaction_models" / f"{locale}.json")
    figures = builder.measure(document)
    print(f"{locale}: {figures} (limits {builder.LIMITS})", file=sys.stderr)
    assert all(figures[k] <= builder.LIMITS[k] for k in builder.LIMITS), figures


def test_the_builder_refuses_a_clash_and_a_model_past_the_limits() -> None:
    base = _json(SOURCE / "base.json")
    clash = copy.deepcopy(GRAMMAR)
    clash["intents"]["HoldOnIntent"]["bodies"].append("next")  # AMAZON.NextIntent's word
    with pytest.raises(builder.ModelError, match="NextIntent"):
        builder.build(base, {"locale": "en-US"}, "test", clash)
    shared = copy.deepcopy(GRAMMAR)
    shared["muscles"]["SHIN"]["nouns"].append("calf")  # the calf's own word
    with pytest.raises(builder.ModelError, match="CALF"):
        builder.build(base, {"locale": "en-US"}, "test", shared)
    huge = copy.deepcopy(GRAMMAR)
    huge["fillers"] += [f"filler {n}" for n in range(400)]
    with pytest.raises(builder.ModelError, match="limits"):
        builder.build(base, {"locale": "en-US"}, "test", huge)


# ------------------------------------------------------------------ words around a cramp phrase
# The skill reads only slot values, never the sample's own words. So a cramp phrase that may be
# followed by the symptom slot ("{muscle} <singular_cramp_then> {symptom}": "my calf's cramping
# mate", "... and it's swollen") must neither hold a warning phrase nor end in the first words
# of one that the slot would then hold only in part ("has gone" + "dead": numb). The others are
# said only whole, or with an address word after them ("_closed").
CRAMP_LISTS = ("singular_cramp", "plural_cramp", "contracted_cramp")


def _grammar(locale: str) -> dict[str, Any]:
    return model_grammar.merge(GRAMMAR, overlay(locale).get("grammar", {}))


def _hidden(phrase: str, locale: str) -> list[str]:
    """The warning phrases of the locale's symptom model that `phrase` holds, or splits when
    a slot follows it (the rest, read alone in that slot, means less)."""
    from cramp_coach.content import load_content
    from cramp_coach.core.symptom_reading import read_concepts

    model = load_content(locale).symptoms

    def fits(token: str, word: str) -> bool:
        return word.startswith(token[:-1]) if token.endswith("*") else word in (token, token + "s")

    said, out = phrase.split(), []
    for _, terms in model.concepts:
        for term in terms:
            words = term.split()
            inside = any(
                all(fits(t, said[i + k]) for k, t in enumerate(words))
                for i in range(len(said) - len(words) + 1)
            )
            for k in range(1, min(len(said), len(words) - 1) + 1):
                if all(fits(words[j], said[len(said) - k + j]) for j in range(k)):
                    whole = read_concepts((term.replace("*", ""),), model).present
                    rest = " ".join(w.rstrip("*") for w in words[k:])
                    if not whole <= read_concepts((rest,), model).present:
                        out.append(f"splits {term!r}")
            if inside:
                out.append(f"holds {term!r}")
    return out


@pytest.mark.parametrize("locale", LOCALES)
def test_every_cramp_phrase_is_either_followed_by_words_or_said_whole(locale: str) -> None:
    grammar = _grammar(locale)
    for name in CRAMP_LISTS:
        then, closed = set(grammar[f"{name}_then"]), set(grammar[f"{name}_closed"])
        assert then.isdisjoint(closed), (locale, name, then & closed)
        undecided = set(grammar[name]) ^ (then | closed)
        assert not undecided, (locale, name, undecided)


@pytest.mark.parametrize("locale", LOCALES)
def test_a_cramp_phrase_before_the_symptom_slot_hides_no_warning(locale: str) -> None:
    grammar = _grammar(locale)
    hidden = {
        phrase: why
        for name in CRAMP_LISTS
        for phrase in grammar[f"{name}_then"]
        if (why := _hidden(phrase, locale))
    }
    assert not hidden, (locale, hidden)
    for phrase in ("has gone", "gone", "is paining a lot", "cramping again"):
        assert _hidden(phrase, locale), phrase  # the check can fail


def test_cramp_states_and_address_words_are_never_followed_by_a_slot() -> None:
    """'Hard as a rock' is tight (RF-SWELL with swelling): said as sample words it must end the
    sentence, or a slot after it could carry the swelling while the tightness is dropped."""
    closed = ("<cramp_states>", "<address>", "_closed>")
    for pattern in GRAMMAR["patterns"]:
        _, _, template = pattern.partition(":")
        for piece in closed:
            at = template.find(piece)
            assert at < 0 or "{" not in template[at:], pattern
    for locale in LOCALES:
        for word in _grammar(locale)["address"]:
            assert not _hidden(word, locale), (locale, word)


# ------------------------------------------------------------------ words beside a slot
# Alexa sends the skill the slot values, never a sample's own words. So a sample word beside a
# slot must not be part of a warning phrase whose reading the slot's words alone would lose.
# "{muscle} is cramping after {symptom}" kept the "after" of "after exercise" out of the slot:
# "my calf is cramping after exercise and I feel faint" was read as fainting alone (the clot's
# RF-PE, not RF-HEAT's cooling). "both {muscle} are cramping" kept the "both" of "both hands
# are cramping" out: RF-HAND was heard as one hand's cramp, and got the steps. Checked for
# CrampIntent, the one-shot that carries a whole report: the muscle slot with the values it
# resolves to, the symptom slot with whatever words follow a sample's last word.
#
# Splits in samples older than this check, found by it and not yet reviewed (each loses part
# of a phrase: "our baby" asks the baby question instead of RF-INFANT, "her bump" loses the
# pregnancy, "really hot" reads as a warm leg). The test fails when one is fixed, so the list
# only shrinks; a new sample must not add to it.
KNOWN_SPLITS = frozenset(
    {
        "cramp {symptom}",
        "cramps {symptom}",
        "her {symptom}",
        "is {symptom}",
        "my {symptom}",
        "our {symptom}",
        "really {symptom}",
        "the {symptom}",
    }
)
_ANSWERS = frozenset({"ADULT", "ALL_CLEAR", "NO", "YES", "UNSURE"})  # answers, not warnings


def _split_phrases(samples: list[str], muscles: dict[str, str], locale: str) -> dict[str, set[str]]:
    """'<sample words> {slot} <sample words>' -> the warning phrases of the locale's symptom
    model those sample words split with the slot, where the slot's words alone read less
    (other red flags, flags or questions). The muscle slot holds one of `muscles` (phrase ->
    id); the symptom slot may hear any words; the helper and side slots carry no warning."""
    from cramp_coach.content import load_content
    from cramp_coach.core.safety import read_words

    content = load_content(locale)

    def fits(token: str, word: str) -> bool:
        return word.startswith(token[:-1]) if token.endswith("*") else word in (token, token + "s")

    @functools.cache
    def reading(text: str, muscle: str | None) -> tuple[object, ...]:
        f = read_words((text,), content, muscle, set())
        return (sorted(f.red_flags), sorted(f.flags), f.unsure, f.ask_baby, f.ask_blood, f.still)

    @functools.cache
    def muscle_of(middle: tuple[str, ...]) -> str | None:
        """The id of a muscle value the words in the slot would be (None: not a value)."""
        ids = [
            value_id
            for phrase, value_id in muscles.items()
            if len(phrase.split()) == len(middle) and all(map(fits, middle, phrase.split()))
        ]
        return ids[0] if ids else None

    terms = [
        term.split()
        for concept, words in content.symptoms.concepts
        if concept not in _ANSWERS
        for term in words
    ]
    longest = max(map(len, terms))
    # A phrase can be split only by sample words it holds: look phrases up by their words.
    holding: dict[str, list[list[str]]] = {}
    wild: list[list[str]] = []
    for words in terms:
        for token in set(words):
            if token.endswith("*"):
                wild.append(words)
            else:
                holding.setdefault(token, []).append(words)
    contexts = set()  # (slot, the sample words before it, after it), as far as a phrase reaches
    for sample in samples:
        parts = re.split(r"\{(\w+)\}", sample.lower())
        for at in range(1, len(parts), 2):
            if parts[at] in ("muscle", "symptom"):
                before = tuple(parts[at - 1].split()[-longest:])
                contexts.add((parts[at], before, tuple(parts[at + 1].split()[:longest])))
    found: dict[str, set[str]] = {}
    for slot, before, after in contexts:
        said = {w.removesuffix("s") for w in before + after} | set(before + after)
        candidates = {id(t): t for w in said for t in holding.get(w, [])}
        candidates |= {id(t): t for t in wild}
        for words in candidates.values():
            for k in range(min(len(before), len(words) - 1) + 1):
                if not all(fits(words[j], before[len(before) - k + j]) for j in range(k)):
                    continue
                for m in range(min(len(after), len(words) - k - 1) + 1):
                    tail = words[len(words) - m :]
                    if k + m == 0 or not all(map(fits, tail, after)):
                        continue
                    middle = words[k : len(words) - m]
                    muscle = muscle_of(tuple(middle)) if slot == "muscle" else None
                    if slot == "muscle" and muscle is None:
                        continue
                    whole = " ".join(w.rstrip("*") for w in words)
                    part = " ".join(w.rstrip("*") for w in middle)
                    if reading(whole, muscle) != reading(part, muscle):
                        glue = " ".join([*before[len(before) - k :], f"{{{slot}}}", *after[:m]])
                        found.setdefault(glue, set()).add(whole)
    return found


def _muscles(locale: str) -> dict[str, str]:
    types = {t["name"]: t["values"] for t in model(locale)["types"]}
    return {
        phrase.lower(): v["id"]
        for v in types["MUSCLE"]
        for phrase in [v["name"]["value"], *v["name"].get("synonyms", [])]
    }


@pytest.mark.parametrize("locale", LOCALES)
def test_no_one_shot_sample_keeps_part_of_a_warning_out_of_its_slot(locale: str) -> None:
    cramp = next(i for i in model(locale)["intents"] if i["name"] == "CrampIntent")
    found = _split_phrases(cramp["samples"], _muscles(locale), locale)
    new = {glue: sorted(found[glue])[:4] for glue in set(found) - KNOWN_SPLITS}
    assert not new, (locale, new)
    if locale == "en-US":
        fixed = KNOWN_SPLITS - set(found)
        assert not fixed, f"no longer split, take them off KNOWN_SPLITS: {sorted(fixed)}"


def test_the_split_check_finds_the_two_faults_it_was_written_for() -> None:
    values = _muscles("en-US")
    old = ["{muscle} is cramping after {symptom}", "both {muscle} are cramping"]
    found = _split_phrases(old, values, "en-US")
    assert "after exercise" in found["after {symptom}"]
    assert "both hands are cramping" in found["both {muscle} are cramping"]
    now = ["{muscle} is cramping {symptom}", "{muscle} are cramping"]
    assert not _split_phrases(now, values, "en-US")


def test_both_rides_inside_the_muscle_value() -> None:
    values = model_grammar.muscle_values(GRAMMAR)
    said = {
        "both hands",
        "both my hands",
        "both of her hands",
        "my hands are both",
        "hands are both",
    }
    assert said <= set(values["HAND"])
    assert {"both calves", "both of his calves", "her feet are both"} <= set(
        values["CALF"] + values["FOOT"]
    )
    assert not [p for p in GRAMMAR["patterns"] if "both {muscle}" in p]
