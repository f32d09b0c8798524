"""The country table (``en/countries.json``): each country's emergency number, and where it has
one, its same-day advice line, each with its source.

The device's time zone names its country (cramp_coach.alexa.zones, from the IANA data); this table
names what to call there. A locale's home country (``homes``: en-GB -> GB, ...) keeps the
locale's own numbers and wording (Northern Ireland's sentence in en-GB, India's 108); any
other country is spoken through the locale's ``emergency_number_in`` / ``urgent_number_in``
phrases, with the country's name and numbers (Content.for_country).
"""

from __future__ import annotations

import re
import string
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from cramp_coach.content import NUMBER_KINDS, ContentError, PhoneNumber

COUNTRIES_FILE = Path(__file__).parent / "en" / "countries.json"
_CODE = re.compile(r"[A-Z]{2}")


class Country(msgspec.Struct, frozen=True):
    code: str  # ISO 3166-1 alpha-2, as the IANA zone tables name it
    name: str  # as spoken after "In": "the UK", "New Zealand"
    numbers: dict[str, PhoneNumber]  # "emergency" always; "urgent", "ambulance" where known
    emergency_note: str | None = None  # said after the emergency number (may use its numbers)
    urgent_note: str | None = None  # said after the urgent line (Northern Ireland, provinces)


class CountryTable(msgspec.Struct, frozen=True):
    countries: dict[str, Country]
    homes: dict[str, str]  # locale folder -> its home country
    sources: dict[str, str]


def _fail(where: str, problem: str) -> ContentError:
    return ContentError(f"en/countries.json: {where}: {problem}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, "expected text")
    return value


def _number(kind: str, raw: Any, where: str, sources: dict[str, str]) -> PhoneNumber:
    if not isinstance(raw, dict) or not {"digits", "spoken", "source"} <= set(raw):
        raise _fail(where, "expected digits, spoken and source")
    unknown = set(raw) - {"digits", "spoken", "source", "name"}
    if unknown:
        raise _fail(where, f"unknown keys {sorted(unknown)}")
    digits = _text(raw["digits"], f"{where}.digits")
    if not digits.replace(" ", "").isdigit():
        raise _fail(f"{where}.digits", "expected the digits to dial")
    spoken = _text(raw["spoken"], f"{where}.spoken")
    if re.sub(r"\D", "", spoken) not in ("", digits.replace(" ", "")):
        raise _fail(f"{where}.spoken", f"speaks other digits than {digits!r}")
    source = _text(raw["source"], f"{where}.source")
    if source not in sources:
        raise _fail(f"{where}.source", f"unknown source {source!r}")
    name = _text(raw["name"], f"{where}.name") if "name" in raw else None
    return PhoneNumber(kind, name, digits, spoken, source)


def _note(value: Any, where: str, numbers: dict[str, PhoneNumber]) -> str | None:
    if value is None:
        return None
    text = _text(value, where)
    if re.search(r"\d", text):
        raise _fail(where, "spoken text must not contain digits (use a number's placeholder)")
    for _, field, _, _ in string.Formatter().parse(text):
        if field and (field.split("_")[0] not in numbers or not field.endswith("_spoken")):
            raise _fail(where, f"uses {{{field}}}, which this country's numbers do not fill")
    return text


def parse_countries(document: Any) -> CountryTable:
    if not isinstance(document, dict) or not {"homes", "countries", "sources"} <= set(document):
        raise _fail("top level", "expected homes, countries and sources")
    sources = document["sources"]
    if not isinstance(sources, dict) or not all(isinstance(v, str) for v in sources.values()):
        raise _fail("sources", "expected an object of texts")
    countries: dict[str, Country] = {}
    raw_countries = document["countries"]
    if not isinstance(raw_countries, dict):
        raise _fail("countries", "expected an object")
    allowed = {"name", "emergency_note", "urgent_note", *NUMBER_KINDS}
    for code, raw in raw_countries.items():
        where = f"countries.{code}"
        if not _CODE.fullmatch(code):
            raise _fail(where, "keys are ISO 3166 alpha-2 codes")
        if not isinstance(raw, dict) or "emergency" not in raw or "name" not in raw:
            raise _fail(where, "every country has a name and an emergency number")
        if set(raw) - allowed:
            raise _fail(where, f"unknown keys {sorted(set(raw) - allowed)}")
        numbers = {
            kind: _number(kind, raw[kind], f"{where}.{kind}", sources)
            for kind in NUMBER_KINDS
            if raw.get(kind) is not None
        }
        if "urgent" in numbers and numbers["urgent"].name is None:
            raise _fail(f"{where}.urgent", "an urgent line needs the name it is spoken by")
        if raw.get("urgent_note") is not None and "urgent" not in numbers:
            raise _fail(f"{where}.urgent_note", "a note on an urgent line the country lacks")
        countries[code] = Country(
            code,
            _text(raw["name"], f"{where}.name"),
            numbers,
            _note(raw.get("emergency_note"), f"{where}.emergency_note", numbers),
            _note(raw.get("urgent_note"), f"{where}.urgent_note", numbers),
        )
    homes = document["homes"]
    if not isinstance(homes, dict) or not all(h in countries for h in homes.values()):
        raise _fail("homes", "every locale's home must be a country of the table")
    return CountryTable(countries, dict(homes), dict(sources))


@cache
def load_countries() -> CountryTable:
    import json

    try:
        document = json.loads(COUNTRIES_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise _fail("top level", f"unreadable ({type(err).__name__})") from err
    return parse_countries(document)
