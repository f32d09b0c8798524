"""Code, content and the interaction model stay in step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cramp_coach.content import Content
from cramp_coach.local.nlu import MODELS_DIR
from cramp_coach.skill import INTENT_EVENTS


def _model(path: Path = MODELS_DIR / "en-US.json") -> dict[str, Any]:
    return json.loads(path.read_text())["interactionModel"]["languageModel"]  # type: ignore[no-any-return]


def _ids(type_name: str) -> set[str]:
    types = {t["name"]: t for t in _model()["types"]}
    return {v["id"] for v in types[type_name]["values"]}


def test_every_model_intent_has_a_handler_and_vice_versa() -> None:
    in_model = {i["name"] for i in _model()["intents"]}
    assert in_model == set(INTENT_EVENTS), (
        f"in the model only: {sorted(in_model - set(INTENT_EVENTS))}; "
        f"in the code only: {sorted(set(INTENT_EVENTS) - in_model)}"
    )


def test_every_locale_model_has_content() -> None:
    from cramp_coach.content import available_locales

    assert sorted(p.stem for p in MODELS_DIR.glob("*.json")) == available_locales()


def test_every_muscle_id_is_known_to_the_content(content: Content) -> None:
    known = set(content.muscles) | set(content.vague) | set(content.out_of_scope)
    assert _ids("MUSCLE") == known


def test_every_symptom_id_is_a_red_flag_or_flag(content: Content) -> None:
    from cramp_coach.content import CONTEXT_FLAGS

    ids = _ids("SYMPTOM")
    must = set(content.red_flags) | set(CONTEXT_FLAGS) | {"INFANT"}
    assert must <= ids, f"red flags and flags the model cannot send: {sorted(must - ids)}"
    assert ids <= must, f"SYMPTOM ids the core does not know: {sorted(ids - must)}"


def test_every_clarifying_answer_is_a_body_part(content: Content) -> None:
    answers = {a for v in content.vague.values() for a in v.answers}
    assert answers <= _ids("BODY_PART")


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
    unused = {k for k in content.phrases if f'"{k}"' not in source and f"'{k}'" not in source}
    assert not unused, f"phrases.json entries no code uses: {sorted(unused)}"
