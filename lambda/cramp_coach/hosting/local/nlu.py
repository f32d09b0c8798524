"""Resolve a typed utterance against the interaction model, the way Alexa would.

Good enough to try the skill locally and to test that the model and the code agree:
each sample is a sequence of literal words and slots; a slot takes a run of words that is
one of its type's values or synonyms, and every way of splitting the utterance is tried, so
samples with adjacent slots ("{helper} {muscle} is cramping") and slot values that share
words with the literal around them ("her leg's gone {symptom}") split where they fit. The
sample with the most literal text wins, then the one that fills more slots. An utterance
that only fits with an unknown slot value resolves with ER_SUCCESS_NO_MATCH, as Alexa does:
the words heard still arrive in the slot. That loose fit never uses a sample that has no
symptom slot and whose literal words are themselves a warning ("{muscle} is rock hard"): the
skill reads only the slots, so "her leg's swollen and her calf is rock hard" read that way
would lose the tightness (a sample with a symptom slot is made to carry such words).

The interaction models are the repository's `interaction_models/`; a built package carries a
copy as `cramp_coach/interaction_models` (pyproject.toml maps it), so the chat works from an
installed package as well as from a checkout.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any


def _models_dir() -> Path:
    """The models inside a built package, else the checkout's own (source or editable install)."""
    package = Path(__file__).resolve().parents[1]
    for folder in (package, *package.parents):
        if (folder / "interaction_models" / "en-US.json").is_file():
            return folder / "interaction_models"
    return package / "interaction_models"


MODELS_DIR = _models_dir()
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
class _Sample:
    intent: str
    # literal words, or (slot name, slot type) for a slot
    tokens: tuple[str | tuple[str, str], ...]
    words: frozenset[str]  # the literal words, all of which the utterance must contain
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
        # the longest value of each type, in words: a slot never takes more in exact matching
        self._longest: dict[str, int] = {}
        for slot_type in model.get("types", []):
            table: dict[str, str] = {}
            for value in slot_type["values"]:
                name = value["name"]
                for phrase in [name["value"], *name.get("synonyms", [])]:
                    table[normalize(phrase)] = value.get("id") or name["value"]
            self.values[slot_type["name"]] = table
            self._longest[slot_type["name"]] = max((len(p.split()) for p in table), default=0)

    @classmethod
    def for_locale(cls, locale: str = "en-US") -> InteractionModel:
        model = cls(MODELS_DIR / f"{locale}.json")
        model.locale = locale
        return model

    locale = "en-US"  # whose symptom words the last resort reads (for_locale sets it)

    @cached_property
    def _samples(self) -> list[_Sample]:
        samples = []
        for intent in self.intents:
            name = str(intent["name"])
            slot_types = {
                s["name"].lower(): (s["name"], s["type"]) for s in intent.get("slots", [])
            }
            for sample in intent.get("samples", []):
                text = normalize(_SLOT.sub(lambda m: f" SLOT{m.group(1)}SLOT ", sample))
                tokens: list[str | tuple[str, str]] = []
                for token in text.split():
                    slot = re.fullmatch(r"slot(\w+)slot", token)
                    tokens.append(slot_types[slot.group(1)] if slot else token)
                literal = [t for t in tokens if isinstance(t, str)]
                samples.append(
                    _Sample(
                        name,
                        tuple(tokens),
                        frozenset(literal),
                        sum(len(t) for t in literal),
                        len(tokens) - len(literal),
                    )
                )
        return samples

    def _split(
        self, tokens: tuple[str | tuple[str, str], ...], words: list[str], exact: bool
    ) -> dict[str, str] | None:
        """The slot texts of the first way `words` fits `tokens`, or None.

        Exact: each slot takes a known value, the longest that lets the rest fit first.
        Loose: each slot takes any words, the fewest first (an unknown value, heard as is).
        """

        def walk(i: int, j: int) -> dict[str, str] | None:
            if i == len(tokens):
                return {} if j == len(words) else None
            token = tokens[i]
            if isinstance(token, str):
                return walk(i + 1, j + 1) if j < len(words) and words[j] == token else None
            slot_name, slot_type = token
            most = len(words) - (len(tokens) - i - 1)  # leave a word for each token after it
            if exact:
                most = min(most, j + self._longest.get(slot_type, 0))
                ends = range(most, j, -1)
            else:
                ends = range(j + 1, most + 1)
            table = self.values.get(slot_type, {})
            for end in ends:
                heard = " ".join(words[j:end])
                if exact and heard not in table:
                    continue
                rest = walk(i + 1, end)
                if rest is not None:
                    return {slot_name: heard, **rest}
            return None

        return walk(0, 0)

    def resolve(self, utterance: str) -> Resolution:
        words = normalize(utterance).split()
        present = set(words)
        for exact in (True, False):
            best: tuple[tuple[int, int], _Sample, dict[str, str]] | None = None
            for sample in self._samples:
                if not exact and (sample.literal == 0 or sample in self._warning_literals):
                    # A bare "{slot}" with an unknown value is not a match; nor is a sample
                    # without a symptom slot whose literal words warn: they would be lost.
                    continue
                rank = (sample.literal, sample.slots)
                if (best is not None and rank <= best[0]) or not sample.words <= present:
                    continue
                heard = self._split(sample.tokens, words, exact)
                if heard is not None:
                    best = (rank, sample, heard)
            if best is not None:
                _, sample, heard = best
                return Resolution(sample.intent, self._slots(sample.intent, heard))
        if self._sounds_like_a_symptom(" ".join(words)):
            # Alexa's model is statistical: a sentence that no sample spells out but that is
            # full of symptom words ("pins and needles in my foot") lands on the intent whose
            # values it resembles, with the words in its custom slot (ER_SUCCESS_NO_MATCH).
            # The stand-in: SymptomIntent's bare {symptom}, when the locale's symptom model
            # finds anything it knows in the words; anything else ("what's the weather")
            # stays FallbackIntent, as Alexa would send it.
            return Resolution("SymptomIntent", {"symptom": (" ".join(words), None)})
        return Resolution("AMAZON.FallbackIntent")

    @cached_property
    def _warning_literals(self) -> frozenset[_Sample]:
        """The samples with a muscle, helper or side slot (a custom type with its own values)
        and no symptom slot whose literal words the locale's symptom model reads as a symptom
        ("{muscle} is rock hard": tight); answers, places and "still cramping" do not count."""
        from cramp_coach.content import load_content
        from cramp_coach.core.safety import read_words

        content = load_content(self.locale)
        return frozenset(
            sample
            for sample in self._samples
            if any(isinstance(t, tuple) and t[1] in self.values for t in sample.tokens)
            and not any(t == ("symptom", "SYMPTOM") for t in sample.tokens)
            and read_words(
                (" ".join(t for t in sample.tokens if isinstance(t, str)),), content, None, set()
            ).heard_symptom
        )

    def _sounds_like_a_symptom(self, text: str) -> bool:
        from cramp_coach.content import load_content
        from cramp_coach.core.safety import read_words
        from cramp_coach.core.symptom_reading import muscle_in_words

        bare = any(
            i["name"] == "SymptomIntent" and "{symptom}" in i.get("samples", [])
            for i in self.intents
        )
        content = load_content(self.locale)
        finding = read_words((text,), content, None, set())
        # Any concept counts: a symptom, a place, or an answer in words ("no, he's my
        # boyfriend, he's a grown man" to the baby question); so does a muscle named in words
        # no sample spells out ("cramp by her big toenail"): Alexa passes those words on too.
        named = muscle_in_words((text,), content) is not None
        return bare and bool(finding.concepts or finding.denied or named)

    def _slots(self, intent: str, heard: dict[str, str]) -> dict[str, tuple[str, str | None]]:
        declared = next(i for i in self.intents if i["name"] == intent)
        types = {s["name"]: s["type"] for s in declared.get("slots", [])}
        return {
            name: (text, self.values.get(types[name], {}).get(text)) for name, text in heard.items()
        }
