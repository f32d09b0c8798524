"""Code, content and the interaction model stay in step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cramp_coach.alexa.events import INTENT_EVENTS
from cramp_coach.content import Content, load_content
from cramp_coach.hosting.local.nlu import MODELS_DIR
from tests.spec import SUB_LEVEL_FLAGS

LOCALES = sorted(p.stem for p in MODELS_DIR.glob("*.json"))
# Words main moved into phrases.json for the core being rewritten (card titles, "step N of
# M", the aftercare name); today's engine does not read them yet. Drop this set once it does.
AWAITING_CORE = {"card_title", "card_step", "card_help_title", "aftercare_name"}


def _model(locale: str = "en-US") -> dict[str, Any]:
    path = MODELS_DIR / f"{locale}.json"
    return json.loads(path.read_text())["interactionModel"]["languageModel"]  # type: ignore[no-any-return]


def _ids(type_name: str, locale: str = "en-US") -> set[str]:
    types = {t["name"]: t for t in _model(locale)["types"]}
    return {v["id"] for v in types[type_name]["values"]}


@pytest.fixture(params=LOCALES)
def locale(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def content(locale: str) -> Content:
    """The content each locale's model is checked against (overrides conftest's en-US)."""
    return load_content(locale)


def test_every_model_intent_has_a_handler_and_vice_versa(locale: str) -> None:
    in_model = {i["name"] for i in _model(locale)["intents"]}
    assert in_model == set(INTENT_EVENTS), (
        f"in the model only: {sorted(in_model - set(INTENT_EVENTS))}; "
        f"in the code only: {sorted(set(INTENT_EVENTS) - in_model)}"
    )


def test_every_locale_model_has_content() -> None:
    from cramp_coach.content import available_locales

    assert sorted(p.stem for p in MODELS_DIR.glob("*.json")) == available_locales()


def test_every_muscle_id_is_known_to_the_content(content: Content, locale: str) -> None:
    assert content.locale == locale
    known = set(content.muscles) | set(content.vague) | set(content.out_of_scope)
    assert _ids("MUSCLE", locale) == known


def test_every_symptom_id_is_a_red_flag_or_flag(content: Content, locale: str) -> None:
    from cramp_coach.content import CONTEXT_FLAGS

    ids = _ids("SYMPTOM", locale)
    # The second level of a section-4 row is read from the words, never sent as an id.
    must = (set(content.red_flags) - SUB_LEVEL_FLAGS) | set(CONTEXT_FLAGS) | {"INFANT"}
    assert must <= ids, f"red flags and flags the model cannot send: {sorted(must - ids)}"
    assert ids <= must, f"SYMPTOM ids the core does not know: {sorted(ids - must)}"


def test_every_clarifying_answer_is_a_body_part(content: Content, locale: str) -> None:
    answers = {a for v in content.vague.values() for a in v.answers}
    assert answers <= _ids("BODY_PART", locale)


def test_every_phrase_the_code_uses_exists(content: Content) -> None:
    import re

    source = "".join(
        p.read_text() for p in (Path(__file__).parents[1] / "lambda/cramp_coach").rglob("*.py")
    )
    used = set(re.findall(r'_p\(\s*"(\w+)"', source)) | set(
        re.findall(r"phrase\(\s*'(\w+)'", source)
    )
    used |= set(re.findall(r'phrase\(\s*"(\w+)"', source)) | set(re.findall(r"_p\('(\w+)'", source))
    missing = used - set(content.phrases)
    assert not missing, f"phrases used in code but not in phrases.json: {sorted(missing)}"
    # The symptom model names the phrases of its notes and out-of-scope answers.
    rules = {r.then.split(":", 1)[1] for r in content.symptoms.rules if ":" in r.then}
    unused = {k for k in content.phrases if f'"{k}"' not in source and f"'{k}'" not in source}
    unused -= rules
    # A red flag names the phrase its emergency turn opens with ("call").
    unused -= {rf.call for rf in content.red_flags.values() if rf.call}
    unused -= AWAITING_CORE
    assert not unused, f"phrases.json entries no code uses: {sorted(unused)}"
