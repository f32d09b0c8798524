"""Load and validate the per-locale content files into frozen value types (msgspec Structs).

The medical content (``protocols.json``) and the skill's own phrases (``phrases.json``)
are data, so a bad edit must fail loudly at load time with a message that names the file
and the place, never halfway through a night.

A language base (``en/``) holds the complete content, with no phone numbers: it is what a
locale the skill does not have hears ("your local emergency number"). A locale folder
(``en-GB/``) holds only what differs, overlaid key by key on the base (steps and other
listed items by their ``id``). An overlay may change wording and add phone numbers and
their sources; it may not add keys, change a hold, a level, an id, a source tag or a list
of red flags, so a locale can never drop a step or weaken a red flag.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from msgspec.structs import replace

from cramp_coach.content.locale_content import Content, number_fields
from cramp_coach.content.parse import _parse, parse_content
from cramp_coach.content.schema import (
    BASE_LANGUAGE,
    BEDTIME,
    CALL_PHRASE,
    CHOICE_PARTS,
    CONTENT_DIR,
    CONTEXT_FLAGS,
    COUNTRY_TEMPLATES,
    FIXED_KEYS,
    FLAG_TEXTS,
    LEVELS,
    MAX_STEP_WORDS,
    NUMBER_KINDS,
    NUMBER_PHRASES,
    OPEN_TABLES,
    PHASES,
    ROUTINE_MUSCLES,
    Beat,
    Bedtime,
    Check,
    ContentError,
    Level,
    Muscle,
    PhoneNumber,
    RedFlag,
    Sourced,
    Step,
    Vague,
    language_document,
    language_file,
)
from cramp_coach.content.symptoms import read_symptom_files

# The package's public names: the shapes (schema.py), a locale's Content (locale_content.py),
# parsing (parse.py) and loading (here).
__all__ = [
    "BASE_LANGUAGE",
    "BEDTIME",
    "CALL_PHRASE",
    "CHOICE_PARTS",
    "CONTENT_DIR",
    "CONTEXT_FLAGS",
    "COUNTRY_TEMPLATES",
    "FIXED_KEYS",
    "FLAG_TEXTS",
    "LEVELS",
    "MAX_STEP_WORDS",
    "NUMBER_KINDS",
    "NUMBER_PHRASES",
    "OPEN_TABLES",
    "PHASES",
    "ROUTINE_MUSCLES",
    "Beat",
    "Bedtime",
    "Check",
    "Content",
    "ContentError",
    "Level",
    "Muscle",
    "PhoneNumber",
    "RedFlag",
    "Sourced",
    "Step",
    "Vague",
    "available_locales",
    "load_content",
    "merged_documents",
    "number_fields",
    "overlay",
    "parse_content",
    "resolve_locale",
    "validate_all",
]


def _read(file: Path, required: bool) -> Any:
    if not file.is_file():
        if required:
            raise ContentError(f"{file.parent.name}/{file.name}: missing")
        return {}
    try:
        if language_file(file):
            return language_document(file)
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ContentError(f"{file.parent.name}/{file.name}: not valid JSON: {err}") from err


def overlay(base: Any, over: Any, file: str, where: str = "") -> Any:
    """``over`` laid on ``base`` key by key; lists of objects merge by their ``id``.

    Raises ContentError naming ``file`` and the path for a key the base does not have
    (outside the open tables) or a change to structure rather than wording.
    """
    here = where or "top level"
    if isinstance(over, dict):
        if not isinstance(base, dict):
            raise ContentError(f"{file}: {here}: the base has no object here")
        merged = dict(base)
        top = where.split(".")[0].split("[")[0]
        for key, value in over.items():
            path = f"{where}.{key}" if where else key
            if key not in base:
                if top in OPEN_TABLES:
                    merged[key] = value
                    continue
                raise ContentError(f"{file}: {path}: unknown key (not in the base content)")
            if key in FIXED_KEYS and value != base[key]:
                raise ContentError(f"{file}: {path}: an overlay may not change {key!r}")
            if top in OPEN_TABLES and (value is None or base[key] is None):
                merged[key] = value
                continue
            merged[key] = overlay(base[key], value, file, path)
        return merged
    if isinstance(over, list):
        if not isinstance(base, list) or not all(
            isinstance(item, dict) and "id" in item for item in [*base, *over]
        ):
            raise ContentError(
                f"{file}: {here}: only lists of items with an id can be overlaid (by id)"
            )
        index = {item["id"]: i for i, item in enumerate(base)}
        merged_list = list(base)
        for item in over:
            if item["id"] not in index:
                raise ContentError(f"{file}: {here}[id={item['id']}]: no such id in the base")
            i = index[item["id"]]
            merged_list[i] = overlay(base[i], item, file, f"{here}[id={item['id']}]")
        return merged_list
    if isinstance(over, str) and isinstance(base, str):
        return over
    raise ContentError(f"{file}: {here}: an overlay may only change wording (text)")


def _language(locale: str) -> str:
    return locale.split("-")[0]


def available_locales() -> list[str]:
    """Every locale the skill has (``en-GB``, ...): a folder overlaid on its language base."""
    return list(_locales_in(CONTENT_DIR))


@cache
def _locales_in(content_dir: Path) -> tuple[str, ...]:
    # Read once per process: every request resolves its locale, and must not list a folder.
    return tuple(
        sorted(
            p.name
            for p in content_dir.iterdir()
            if p.is_dir()
            and "-" in p.name
            and (content_dir / _language(p.name) / "protocols.json").is_file()
            and ((p / "protocols.json").is_file() or (p / "phrases.json").is_file())
        )
    )


def resolve_locale(locale: object) -> str:
    """The content folder for a request's locale: itself, else the English base.

    Never raises: a locale the skill does not have (en-NZ, fr-FR, garbage) gets the base
    content, which names no phone number ("your local emergency number").
    """
    if not isinstance(locale, str):
        return BASE_LANGUAGE
    wanted = locale.strip().replace("_", "-").lower()
    for known in _locales_in(CONTENT_DIR):
        if known.lower() == wanted:
            return known
    return BASE_LANGUAGE


def merged_documents(folder_name: str) -> tuple[Any, Any, Path, Path]:
    """(protocols, phrases, protocols file, phrases file) of a content folder, overlaid on
    its language base; not yet validated."""
    language = _language(folder_name)
    base_dir = CONTENT_DIR / language
    protocols = _read(base_dir / "protocols.json", required=True)
    phrases = _read(base_dir / "phrases.json", required=True)
    pfile, sfile = base_dir / "protocols.json", base_dir / "phrases.json"
    if folder_name != language:
        folder = CONTENT_DIR / folder_name
        pfile, sfile = folder / "protocols.json", folder / "phrases.json"
        protocols = overlay(protocols, _read(pfile, False), f"{folder_name}/{pfile.name}")
        phrases = overlay(phrases, _read(sfile, False), f"{folder_name}/{sfile.name}")
    return protocols, phrases, pfile, sfile


@cache
def _load(folder_name: str) -> Content:
    protocols, phrases, pfile, sfile = merged_documents(folder_name)
    language = _language(folder_name)
    locale_dir = CONTENT_DIR / folder_name if folder_name != language else None
    symptoms = read_symptom_files(CONTENT_DIR / language, locale_dir)
    content = _parse(protocols, phrases, pfile, sfile, symptoms)
    if content.locale != folder_name:
        raise ContentError(f"{folder_name}/{pfile.name}: locale: must be {folder_name!r}")
    from cramp_coach.content.countries import load_countries  # it imports this module

    table = load_countries()
    base = _read(CONTENT_DIR / language / "phrases.json", required=True)
    number_free = {
        key: base[key]
        for key, text in content.phrases.items()
        if number_fields(text) and isinstance(base.get(key), str) and not number_fields(base[key])
    }
    return replace(
        content,
        home=table.homes.get(folder_name),
        countries=table.countries,
        number_free=number_free,
    )


def load_content(locale: object = "en-US") -> Content:
    """One locale's content (falling back to its language base); cached per content folder.

    Never raises for an unknown locale (see `resolve_locale`); a broken content file still
    raises ContentError, naming the file and the place.
    """
    return _load(resolve_locale(locale))


def validate_all() -> dict[str, Content]:
    """Load the base and every locale: what tests and CI run to catch a bad edit."""
    return {name: _load(name) for name in [BASE_LANGUAGE, *available_locales()]}
