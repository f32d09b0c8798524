"""Resolve a typed utterance against the interaction model, the way Alexa would.

Good enough to try the skill locally and to test that the model and the code agree:
each sample becomes a regular expression whose slots match the slot type's values
and synonyms; the sample with the most literal words wins. An utterance that only
fits with an unknown slot value resolves with ER_SUCCESS_NO_MATCH, as Alexa does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

MODELS_DIR = Path(__file__).resolve().parents[3] / "interaction_models"
_SLOT = re.compile(r"\{(\w+)\}")


def normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Resolution:
    intent: str
    slots: dict[str, tuple[str, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Pattern:
    intent: str
    regex: re.Pattern[str]
    literal: int  # characters of literal text: more means a more specific sample
    slots: int  # on a tie, the sample that fills more slots explains more of what was said


class InteractionModel:
    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        model = data["interactionModel"]["languageModel"]
        self.invocation: str = model["invocationName"]
        self.intents: list[dict[str, Any]] = model["intents"]
        # value or synonym -> (slot type, id)
        self.values: dict[str, dict[str, str]] = {}
        for slot_type in model.get("types", []):
            table: dict[str, str] = {}
            for value in slot_type["values"]:
                name = value["name"]
                for phrase in [name["value"], *name.get("synonyms", [])]:
                    table[normalize(phrase)] = value.get("id") or name["value"]
            self.values[slot_type["name"]] = table

    @classmethod
    def for_locale(cls, locale: str = "en-US") -> InteractionModel:
        return cls(MODELS_DIR / f"{locale}.json")

    def _compile(self, wildcard: bool) -> list[_Pattern]:
        patterns = []
        for intent in self.intents:
            name = str(intent["name"])
            slot_types = {s["name"]: s["type"] for s in intent.get("slots", [])}
            for sample in intent.get("samples", []):
                text = normalize(_SLOT.sub(lambda m: f" SLOT{m.group(1)}SLOT ", sample))
                parts = []
                literal = 0
                for token in text.split():
                    slot = re.fullmatch(r"slot(\w+)slot", token)
                    if slot:
                        slot_name = next(n for n in slot_types if n.lower() == slot.group(1))
                        if wildcard:
                            alternatives = r"[a-z0-9' ]+?"
                        else:
                            options = sorted(
                                self.values.get(slot_types[slot_name], {}), key=len, reverse=True
                            )
                            alternatives = "|".join(re.escape(o) for o in options) or "(?!)"
                        parts.append(f"(?P<{slot_name}>{alternatives})")
                    else:
                        parts.append(re.escape(token))
                        literal += len(token)
                regex = re.compile("^" + " ".join(parts) + "$")
                patterns.append(_Pattern(name, regex, literal, regex.groups))
        return patterns

    @cached_property
    def _exact(self) -> list[_Pattern]:
        return self._compile(wildcard=False)

    @cached_property
    def _loose(self) -> list[_Pattern]:
        return self._compile(wildcard=True)

    def resolve(self, utterance: str) -> Resolution:
        text = normalize(utterance)
        for patterns, exact in ((self._exact, True), (self._loose, False)):
            best: tuple[tuple[int, int], _Pattern, re.Match[str]] | None = None
            for pattern in patterns:
                match = pattern.regex.match(text)
                rank = (pattern.literal, pattern.slots)
                if match and (best is None or rank > best[0]):
                    best = (rank, pattern, match)
            if best is not None:
                _, pattern, match = best
                if not exact and pattern.literal == 0:
                    continue  # a bare "{slot}" with an unknown value is not a match
                return Resolution(pattern.intent, self._slots(pattern.intent, match))
        return Resolution("AMAZON.FallbackIntent")

    def _slots(self, intent: str, match: re.Match[str]) -> dict[str, tuple[str, str | None]]:
        declared = next(i for i in self.intents if i["name"] == intent)
        types = {s["name"]: s["type"] for s in declared.get("slots", [])}
        slots: dict[str, tuple[str, str | None]] = {}
        for name, heard in match.groupdict().items():
            if heard is not None:
                slots[name] = (heard, self.values.get(types[name], {}).get(heard))
        return slots
