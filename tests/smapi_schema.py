"""The ASK SMAPI JSON schema (npm ask-smapi-model's spec.json) as jsonschema validators.

spec.json is a Swagger 2.0 document: its definitions are JSON Schema, except that
polymorphic types (a skill manifest's `interfaces`, for example) name their subtypes through
`discriminator` and `x-discriminator-value`, which JSON Schema does not know. `validator()`
rewrites each such base type into "the base properties, and when `type` is V, subtype V", so
an ALEXA_PRESENTATION_APL interface is checked against AlexaPresentationAplInterface, and an
unknown interface type is an error.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "node_modules" / "ask-smapi-model" / "spec.json"
MANIFEST = "v1.skill.Manifest.SkillManifestEnvelope"
INTERACTION_MODEL = "v1.skill.interactionModel.InteractionModelData"
_REF = "#/definitions/"


@cache
def definitions() -> dict[str, Any]:
    if not SPEC.is_file():
        raise FileNotFoundError(f"{SPEC} is missing: run `npm ci` (make does it)")
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    defs: dict[str, Any] = copy.deepcopy(spec["definitions"])
    for base, schema in list(spec["definitions"].items()):
        field = schema.get("discriminator")
        if not isinstance(field, str):
            continue
        subtypes: dict[str, str] = {}
        for name, sub in spec["definitions"].items():
            refs = [part.get("$ref") for part in sub.get("allOf", []) if isinstance(part, dict)]
            value = sub.get("x-discriminator-value")
            if _REF + base in refs and isinstance(value, str):
                subtypes[value] = name
                defs[name] = copy.deepcopy(sub)
                for part in defs[name]["allOf"]:
                    if part.get("$ref") == _REF + base:
                        part["$ref"] = _REF + base + "__base"
        plain = {k: v for k, v in schema.items() if k != "discriminator"}
        defs[base + "__base"] = plain
        if not subtypes:
            defs[base] = plain
            continue
        defs[base] = {
            "allOf": [
                {"$ref": _REF + base + "__base"},
                {"properties": {field: {"enum": sorted(_allowed(spec, base, subtypes))}}},
                *(
                    {"if": {"properties": {field: {"const": value}}}, "then": {"$ref": _REF + name}}
                    for value, name in sorted(subtypes.items())
                ),
            ]
        }
    return defs


def _allowed(spec: dict[str, Any], base: str, subtypes: dict[str, str]) -> set[str]:
    """The discriminator's values: its subtypes, and the values of an enum named after the
    base + "Type" (InterfaceType lists CAN_FULFILL_INTENT_REQUEST, which has no subtype)."""
    names = spec["definitions"].get(base + "Type", {}).get("enum", [])
    return set(subtypes) | {n for n in names if isinstance(n, str)}


def validator(root: str) -> Draft7Validator:
    schema = {"$ref": _REF + root, "definitions": definitions()}
    return Draft7Validator(schema)


def errors(root: str, document: Any) -> list[str]:
    """Every schema violation, as "path: message" lines (empty: valid)."""
    found = validator(root).iter_errors(document)
    return sorted(f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in found)
