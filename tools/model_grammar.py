"""The sentence grammar the interaction models are generated from (interaction_models/source/).

``grammar.json`` holds word lists (who, muscles and their nouns, cramp phrases, fillers, answer
heads, question bodies...) and ``patterns`` that say how lists combine, one pattern a line:

    "CrampIntent: <fillers> {muscle} <singular_cramp>"

``<name>`` is every entry of the list ``name`` (entries may start with a space or an apostrophe
to glue onto the word before, as in ``leg's twitching``); ``{slot}`` stays a slot. The muscle
values are generated too: every noun of a muscle with every possessive ("my wife's calf"), with
each side for limbs ("her left calf"), the contracted form ("her calf's"), and the nouns that
carry the possessive inside ("the sole of his foot"). Stock virtual-alexa turns each slot into
one greedy ``(.*)`` and never splits two adjacent slots, so who is speaking rides inside the
muscle value instead of a ``{helper}`` slot beside it.

"Both" rides inside the muscle value too ("both my hands", "my hands are both"), from each
muscle's ``pairs`` (the plurals said of both limbs): the skill reads only slot values, and a
"both" left in the sample's own words ("both {muscle} are cramping") never reached the symptom
reading, so "both hands are cramping" (RF-HAND) was heard as one hand's cramp.

A locale's overlay adds to any list under its own ``grammar`` key (merge()). Pure functions:
tools/build_locale_models.py writes the models, tests/test_grammar.py checks every promised
combination is in them.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

_LIST = re.compile(r"<(\w+)>")
_SLOT = re.compile(r"\{(\w+)\}")
# The possessives a side ("left", "right") or a contraction ("calf's") is generated with: the
# one-word ones, so the muscle type stays within Alexa's limits (two-word ones get the noun).
SHORT_WHO = "who_short"
# The possessives said with "both" ("both my hands", "both of her calves", "his feet are both").
PAIR_WHO = "pair_who"


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` added: lists appended (no repeats), mappings merged key by key."""
    out = dict(base)
    for key, value in extra.items():
        here = out.get(key)
        if isinstance(here, dict) and isinstance(value, dict):
            out[key] = merge(here, value)
        elif isinstance(here, list) and isinstance(value, list):
            out[key] = here + [v for v in value if v not in here]
        else:
            out[key] = value
    return out


def tidy(text: str) -> str:
    return " ".join(text.split())


def expand(template: str, lists: dict[str, list[str]]) -> list[str]:
    """Every sentence ``template`` promises: each ``<name>`` replaced by each entry of it."""
    names = _LIST.findall(template)
    missing = [n for n in names if not isinstance(lists.get(n), list)]
    if missing:
        raise KeyError(f"{template!r}: no word list {missing}")
    pieces = _LIST.split(template)  # literal, name, literal, name, ..., literal
    out = []
    for combo in itertools.product(*(lists[n] for n in names)):
        text = pieces[0]
        for word, literal in zip(combo, pieces[2::2], strict=True):
            text += word + literal
        out.append(tidy(text))
    return list(dict.fromkeys(out))


def _contractable(noun: str) -> bool:
    # "calf's cramping": singular nouns only ("calves's" is not said).
    return not noun.endswith("s") and noun != "feet"


def muscle_values(grammar: dict[str, Any]) -> dict[str, list[str]]:
    """MUSCLE id -> every phrase the grammar gives it (the bare nouns included)."""
    who: list[str] = grammar["who"]
    short: list[str] = grammar.get(SHORT_WHO, who)
    sides: list[str] = grammar["sides"]
    out: dict[str, list[str]] = {}
    for muscle_id, spec in grammar["muscles"].items():
        phrases: list[str] = []
        for noun in spec.get("nouns", []):
            phrases.append(noun)
            phrases += [f"{w} {noun}" for w in who]
            if spec.get("sided"):
                phrases += [f"{side} {noun}" for side in sides]
                phrases += [f"{w} {side} {noun}" for w in short for side in sides]
            if _contractable(noun):
                phrases.append(f"{noun}'s")
                phrases += [f"{w} {noun}'s" for w in short]
        for inside in spec.get("inside", []):
            for w in who:
                phrase = inside.replace("{who}", w)
                phrases += [phrase, f"the {phrase}"] if not phrase.startswith("the ") else [phrase]
        phrases += pair_phrases(spec.get("pairs", []), grammar.get(PAIR_WHO, []))
        out[muscle_id] = list(dict.fromkeys(tidy(p) for p in phrases))
    return out


def pair_phrases(pairs: list[str], who: list[str]) -> list[str]:
    """Both limbs, said with "both" before or after: "both hands", "both my hands", "both of
    her hands", "hands are both", "my hands are both" (then "cramping", as in "my hands are
    both cramping")."""
    phrases: list[str] = []
    for noun in pairs:
        phrases += [f"both {noun}", f"{noun} are both"]
        phrases += [f"both {w} {noun}" for w in who]
        phrases += [f"both of {w} {noun}" for w in who]
        phrases += [f"{w} {noun} are both" for w in who]
    return phrases


def symptom_values(grammar: dict[str, Any]) -> dict[str, list[str]]:
    """SYMPTOM id -> the everyday phrases the grammar adds (comparatives, plain phrases)."""
    out: dict[str, list[str]] = {}
    for symptom_id, spec in grammar.get("symptom_values", {}).items():
        phrases = list(spec.get("plain", []))
        for compare in spec.get("compare", []):
            for degree in spec.get("degree", [""]):
                phrases += [f"{degree}{compare}{than}" for than in spec.get("than", [""])]
        out[symptom_id] = list(dict.fromkeys(tidy(p) for p in phrases))
    return out


def intent_samples(grammar: dict[str, Any]) -> dict[str, list[str]]:
    """Intent -> its generated samples: the patterns, then each intent's heads x bodies x tails."""
    lists = {k: v for k, v in grammar.items() if isinstance(v, list)}
    out: dict[str, list[str]] = {}
    for pattern in grammar.get("patterns", []):
        intent, _, template = pattern.partition(":")
        out.setdefault(intent.strip(), []).extend(expand(template.strip(), lists))
    for intent, spec in grammar.get("intents", {}).items():
        bodies: list[str] = spec["bodies"]
        samples = [f"{head} {body}" for head in spec.get("heads", [""]) for body in bodies]
        samples += [f"{body}{tail}" for body in bodies for tail in spec.get("tails", [""])]
        out.setdefault(intent, []).extend(tidy(s) for s in samples)
    return {intent: list(dict.fromkeys(samples)) for intent, samples in out.items()}


def slots_of(sample: str) -> list[str]:
    return _SLOT.findall(sample)
