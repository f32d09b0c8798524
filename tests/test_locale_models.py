"""The locale models are generated from source/ (base + grammar) + overlays, and understand
their locale."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cramp_coach.hosting.local.nlu import MODELS_DIR, InteractionModel

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_locale_models as generator  # noqa: E402

HELD_OUT: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "held_out_locales.json").read_text(encoding="utf-8")
)
CASES = [
    (locale, case)
    for locale, cases in sorted(HELD_OUT.items())
    if locale != "description"
    for case in cases
]


def test_every_overlay_has_its_model_and_every_model_but_en_us_an_overlay() -> None:
    overlays = {p.stem for p in (MODELS_DIR / "overlays").glob("*.json")}
    models = {p.stem for p in MODELS_DIR.glob("*.json")}
    assert models == overlays | {"en-US"}
    assert set(HELD_OUT) - {"description"} == models


@pytest.mark.parametrize("path", sorted(generator.generated()), ids=lambda p: p.name)
def test_committed_models_are_what_the_generator_writes(path: Path) -> None:
    expected = generator.generated()[path]
    assert path.read_text(encoding="utf-8") == expected, (
        f"interaction_models/{path.name} is stale: run `make models` (source/ or "
        "overlays/ changed since it was generated)"
    )


def test_the_check_mode_reports_fresh_models() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_locale_models.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _source() -> dict[str, Any]:
    return json.loads((MODELS_DIR / "source" / "base.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _lm(document: dict[str, Any]) -> dict[str, Any]:
    return document["interactionModel"]["languageModel"]  # type: ignore[no-any-return]


def test_the_overlay_adds_samples_synonyms_and_replaces_words() -> None:
    built = _lm(
        generator.build(
            _source(),
            {
                "replace": {"mom": "mum"},
                "samples": {"BetterIntent": ["right as rain"]},
                "synonyms": {"HELPER": {"PARTNER": ["my missus"]}},
            },
            "test",
        )
    )
    intents = {i["name"]: i for i in built["intents"]}
    assert "right as rain" in intents["BetterIntent"]["samples"]
    helper = next(t for t in built["types"] if t["name"] == "HELPER")
    partner = next(v for v in helper["values"] if v["id"] == "PARTNER")["name"]["synonyms"]
    assert "my missus" in partner and "my mom" not in partner and "my mum" in partner
    assert len(partner) == len(set(partner))


@pytest.mark.parametrize(
    ("overlay", "problem"),
    [
        ({"samples": {"NoSuchIntent": ["x"]}}, "no such intent"),
        ({"samples": {"BetterIntent": ["still cramping"]}}, "StillCrampingIntent's"),
        ({"synonyms": {"MUSCLE": {"NOPE": ["x"]}}}, "no such value"),
        ({"synonyms": {"MUSCLE": {"CALF": ["hamstrings"]}}}, "HAMSTRING's"),
        ({"colour": {}}, "unknown key"),
    ],
)
def test_an_overlay_that_would_make_the_model_ambiguous_is_refused(
    overlay: dict[str, Any], problem: str
) -> None:
    with pytest.raises(generator.ModelError, match=problem):
        generator.build(_source(), overlay, "overlays/xx.json")


@pytest.mark.parametrize(("locale", "case"), CASES, ids=[f"{loc}:{c['say']}" for loc, c in CASES])
def test_held_out_phrasings_resolve_per_locale(locale: str, case: dict[str, Any]) -> None:
    model = InteractionModel.for_locale(locale)
    samples = {s.lower() for i in model.intents for s in i.get("samples", [])}
    assert case["say"] not in samples, "held out means: not a sample of the model"
    resolution = model.resolve(case["say"])
    assert resolution.intent == case["intent"], resolution
    for name, value_id in case.get("slots", {}).items():
        assert resolution.slots[name][1] == value_id, resolution


@pytest.mark.parametrize("locale", ["en-GB", "en-AU", "en-IN"])
def test_locale_words_are_not_in_en_us(locale: str) -> None:
    """The overlays carry words en-US does not understand: the locales really differ."""
    us = InteractionModel.for_locale("en-US")
    misses = [
        c
        for c in HELD_OUT[locale]
        if us.resolve(c["say"]).intent != c["intent"]
        or any(
            us.resolve(c["say"]).slots.get(n, ("", None))[1] != v
            for n, v in c.get("slots", {}).items()
        )
    ]
    assert misses, f"every {locale} held-out phrasing already works in en-US"
