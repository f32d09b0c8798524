#!/usr/bin/env python3
"""Build each locale's interaction model from en-US.json plus a small per-locale overlay.

    python tools/build_locale_models.py          # write interaction_models/<locale>.json
    python tools/build_locale_models.py --check  # exit 1 if a committed model is stale

en-US.json is the one hand-edited model. ``interaction_models/overlays/<locale>.json``
says only what that locale adds or words differently:

    {
      "locale": "en-GB",
      "replace": {"mom": "mum"},                       # whole words, in samples and values
      "samples": {"CrampIntent": ["..."]},             # extra samples for existing intents
      "synonyms": {"HELPER": {"PARTNER": ["..."]}}     # extra synonyms for existing values
    }

Run by ``make models``; tests/test_locale_models.py fails when a generated file is not
what this script writes, so after changing en-US.json (or an overlay) run it again.
An overlay that names an intent, slot type or value id that en-US.json does not have, or
adds a sample or synonym another intent or id already owns, is an error: the model stays
free of ambiguity in every locale.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = ROOT / "interaction_models"
OVERLAYS_DIR = MODELS_DIR / "overlays"
SOURCE_LOCALE = "en-US"
OVERLAY_KEYS = {"locale", "replace", "samples", "synonyms", "note"}


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


def build(source: dict[str, Any], overlay: dict[str, Any], name: str) -> dict[str, Any]:
    """The locale's model document: ``source`` with ``overlay`` applied."""
    unknown = set(overlay) - OVERLAY_KEYS
    if unknown:
        raise ModelError(f"{name}: unknown key(s) {sorted(unknown)}")
    document = copy.deepcopy(source)
    model = document["interactionModel"]["languageModel"]
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
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def generated(models_dir: Path = MODELS_DIR) -> dict[Path, str]:
    """Target file -> the text this script writes there, for every overlay."""
    source = json.loads((models_dir / f"{SOURCE_LOCALE}.json").read_text(encoding="utf-8"))
    out: dict[Path, str] = {}
    for path in sorted((models_dir / "overlays").glob("*.json")):
        overlay = json.loads(path.read_text(encoding="utf-8"))
        locale = overlay.get("locale")
        if locale != path.stem:
            raise ModelError(f"overlays/{path.name}: locale must be {path.stem!r}")
        out[models_dir / f"{locale}.json"] = render(build(source, overlay, f"overlays/{path.name}"))
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
