#!/usr/bin/env python3
"""Build every locale's interaction model from the grammar, the base model and an overlay.

    python tools/build_locale_models.py          # write interaction_models/<locale>.json
    python tools/build_locale_models.py --check  # exit 1 if a committed model is stale

``interaction_models/source/base.json`` is the hand-edited model (intents, slot types, the
samples and synonyms no grammar rule makes). ``interaction_models/source/grammar.json`` is the
sentence grammar (tools/model_grammar.py): its generated samples and slot values are added to
the base for every locale. ``interaction_models/overlays/<locale>.json`` says only what that
locale adds or words differently:

    {
      "locale": "en-GB",
      "grammar": {"who": ["me"], ...},                 # added to the grammar's word lists
      "replace": {"mom": "mum"},                       # whole words, in samples and values
      "samples": {"CrampIntent": ["..."]},             # extra samples for existing intents
      "synonyms": {"HELPER": {"PARTNER": ["..."]}}     # extra synonyms for existing values
    }

Run by ``make models``; tests/test_locale_models.py fails when a generated file is not
what this script writes, so after changing the base, the grammar or an overlay run it again.
A generated or overlay sample another intent already owns, a phrase another id owns, an
intent, type or id the base does not have, or a model past Alexa's limits (LIMITS) is an
error: the model stays free of ambiguity, and deployable, in every locale.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import model_grammar

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = ROOT / "interaction_models"
OVERLAYS_DIR = MODELS_DIR / "overlays"
SOURCE_DIR = MODELS_DIR / "source"
SOURCE_LOCALE = "base"
OVERLAY_KEYS = {"locale", "replace", "samples", "synonyms", "note", "grammar"}
# Alexa's documented limits, with our own margin where none is documented:
# - 50,000 custom slot values (values and synonyms) across every custom slot type of a skill
#   (ASK "custom slot type" reference; quoted in alexa-js/alexa-app#34);
# - the SMAPI modelDefinition is at most 1,000,000 characters (alexa/ask-cli#9);
# - a slot value is at most 140 characters (developer console; m0ngr31/kanzi#263);
# - samples: no documented count per intent, so a budget of 3,000 per intent and 200
#   characters per sample keeps the build small and every intent trainable.
LIMITS = {
    "slot_values": 50_000,
    "model_chars": 1_000_000,
    "value_chars": 140,
    "samples_per_intent": 3_000,
    "sample_chars": 200,
}


class ModelError(ValueError):
    """An overlay does not fit the source model; the message names the file and place."""


def _replace_words(text: str, replace: dict[str, str]) -> str:
    for old, new in replace.items():
        text = re.sub(rf"(?<![\w']){re.escape(old)}(?![\w'])", new, text)
    return text


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _add_grammar(model: dict[str, Any], grammar: dict[str, Any], name: str) -> None:
    """Add the grammar's samples and slot values to ``model``; a clash is an error."""
    intents = {i["name"]: i for i in model["intents"]}
    owner_of_sample = {s: i["name"] for i in model["intents"] for s in i.get("samples", [])}
    for intent_name, samples in model_grammar.intent_samples(grammar).items():
        intent = intents.get(intent_name)
        if intent is None:  # a new intent with no slots: the grammar is its only source
            intent = intents[intent_name] = {"name": intent_name, "slots": [], "samples": []}
            model["intents"].append(intent)
        declared = {slot["name"] for slot in intent.get("slots", [])}
        for sample in samples:
            undeclared = set(model_grammar.slots_of(sample)) - declared
            if undeclared:
                raise ModelError(f"{name}: {intent_name} {sample!r}: no slot {sorted(undeclared)}")
            owner = owner_of_sample.get(sample)
            if owner is not None and owner != intent_name:
                raise ModelError(f"{name}: grammar sample {sample!r} ({intent_name}) is {owner}'s")
            if owner is None:
                intent.setdefault("samples", []).append(sample)
                owner_of_sample[sample] = intent_name
    types = {t["name"]: t for t in model.get("types", [])}
    generated = {
        "MUSCLE": model_grammar.muscle_values(grammar),
        "SYMPTOM": model_grammar.symptom_values(grammar),
    }
    for type_name, by_id in generated.items():
        values = {v.get("id"): v["name"] for v in types[type_name]["values"]}
        owner_of_phrase = {
            phrase: value_id
            for value_id, value_name in values.items()
            for phrase in [value_name["value"], *value_name.get("synonyms", [])]
        }
        for value_id, phrases in by_id.items():
            if value_id not in values:
                raise ModelError(f"{name}: grammar {type_name}.{value_id}: no such value")
            for phrase in phrases:
                owner = owner_of_phrase.get(phrase)
                if owner is not None and owner != value_id:
                    raise ModelError(
                        f"{name}: grammar {type_name}.{value_id}: {phrase!r} is {owner}'s"
                    )
                if owner is None:
                    values[value_id].setdefault("synonyms", []).append(phrase)
                    owner_of_phrase[phrase] = value_id


def measure(document: dict[str, Any]) -> dict[str, int]:
    """The figures LIMITS bounds, for one model document."""
    model = document["interactionModel"]["languageModel"]
    phrases = [
        p
        for t in model.get("types", [])
        for v in t["values"]
        for p in [v["name"]["value"], *v["name"].get("synonyms", [])]
    ]
    samples = [s for i in model["intents"] for s in i.get("samples", [])]
    return {
        "slot_values": len(phrases),
        "model_chars": len(render(document)),
        "value_chars": max(map(len, phrases), default=0),
        "samples_per_intent": max((len(i.get("samples", [])) for i in model["intents"]), default=0),
        "sample_chars": max(map(len, samples), default=0),
    }


def build(
    source: dict[str, Any],
    overlay: dict[str, Any],
    name: str,
    grammar: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The locale's model document: ``source`` plus the grammar, with ``overlay`` applied."""
    unknown = set(overlay) - OVERLAY_KEYS
    if unknown:
        raise ModelError(f"{name}: unknown key(s) {sorted(unknown)}")
    document = copy.deepcopy(source)
    model = document["interactionModel"]["languageModel"]
    if grammar is not None:
        _add_grammar(model, model_grammar.merge(grammar, overlay.get("grammar", {})), name)
    replace: dict[str, str] = overlay.get("replace", {})

    intents = {i["name"]: i for i in model["intents"]}
    for intent in model["intents"]:
        if "samples" in intent:
            intent["samples"] = _dedupe([_replace_words(s, replace) for s in intent["samples"]])
    values: dict[tuple[str, str], dict[str, Any]] = {}
    for slot_type in model.get("types", []):
        for value in slot_type["values"]:
            value_name = value["name"]
            value_name["value"] = _replace_words(value_name["value"], replace)
            if "synonyms" in value_name:
                synonyms = [_replace_words(s, replace) for s in value_name["synonyms"]]
                value_name["synonyms"] = _dedupe([s for s in synonyms if s != value_name["value"]])
            values[(slot_type["name"], value.get("id") or value_name["value"])] = value

    owner_of_sample = {s: i["name"] for i in model["intents"] for s in i.get("samples", [])}
    for intent_name, extra in overlay.get("samples", {}).items():
        if intent_name not in intents:
            raise ModelError(f"{name}: samples.{intent_name}: no such intent in {SOURCE_LOCALE}")
        intent = intents[intent_name]
        for sample in extra:
            owner = owner_of_sample.get(sample)
            if owner is not None and owner != intent_name:
                raise ModelError(f"{name}: samples.{intent_name}: {sample!r} is {owner}'s")
            intent.setdefault("samples", [])
            if sample not in intent["samples"]:
                intent["samples"].append(sample)
                owner_of_sample[sample] = intent_name

    for type_name, by_id in overlay.get("synonyms", {}).items():
        owner_of_phrase = {
            phrase: value_id
            for (t, value_id), value in values.items()
            if t == type_name
            for phrase in [value["name"]["value"], *value["name"].get("synonyms", [])]
        }
        for value_id, extra in by_id.items():
            if (type_name, value_id) not in values:
                raise ModelError(f"{name}: synonyms.{type_name}.{value_id}: no such value")
            value_name = values[(type_name, value_id)]["name"]
            for phrase in extra:
                owner = owner_of_phrase.get(phrase)
                if owner is not None and owner != value_id:
                    raise ModelError(
                        f"{name}: synonyms.{type_name}.{value_id}: {phrase!r} is {owner}'s"
                    )
                synonyms = value_name.setdefault("synonyms", [])
                if phrase != value_name["value"] and phrase not in synonyms:
                    synonyms.append(phrase)
                    owner_of_phrase[phrase] = value_id
    over = {k: v for k, v in measure(document).items() if v > LIMITS[k]}
    if over:
        raise ModelError(f"{name}: past Alexa's limits {over} (LIMITS {LIMITS})")
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def generated(models_dir: Path = MODELS_DIR) -> dict[Path, str]:
    """Target file -> the text this script writes there, for every overlay."""
    source_dir = models_dir / "source"
    source = json.loads((source_dir / f"{SOURCE_LOCALE}.json").read_text(encoding="utf-8"))
    grammar = json.loads((source_dir / "grammar.json").read_text(encoding="utf-8"))
    out: dict[Path, str] = {}
    for path in sorted((models_dir / "overlays").glob("*.json")):
        overlay = json.loads(path.read_text(encoding="utf-8"))
        locale = overlay.get("locale")
        if locale != path.stem:
            raise ModelError(f"overlays/{path.name}: locale must be {path.stem!r}")
        out[models_dir / f"{locale}.json"] = render(
            build(source, overlay, f"overlays/{path.name}", grammar)
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale models")
    args = parser.parse_args(argv)
    try:
        targets = generated()
    except ModelError as err:
        print(f"build_locale_models: {err}", file=sys.stderr)
        return 2
    stale = []
    for path, text in targets.items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            stale.append(path.name)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"stale: {', '.join(stale)} (run make models)", file=sys.stderr)
        return 1
    verb = "stale" if args.check else "wrote"
    print(f"{verb}: {', '.join(stale) or 'nothing'}; {len(targets)} locale models checked")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
