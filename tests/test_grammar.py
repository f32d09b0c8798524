"""The models are generated from the sentence grammar, and hold every sentence it promises.

interaction_models/source/grammar.json (tools/model_grammar.py) promises combinations: every
filler with every muscle phrase and cramp phrase, every possessive with every muscle noun, every
answer head with every symptom... These tests read the promise back out of each generated
locale model: every promised sample and slot value is there, no sample belongs to two intents,
the model stays within Alexa's limits, and a clash is refused when the model is built.
"""

from __future__ import annotations

import copy
import json
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
