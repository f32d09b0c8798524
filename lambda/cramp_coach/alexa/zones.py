"""A time zone's country, from the IANA time zone data's own tables (PyPI `tzdata`).

`country_of("Pacific/Auckland") == "NZ"`. No table of ours: the package ships
`zone.tab` (one country per row; a row may name a link such as Europe/Guernsey),
`zone1970.tab` (a zone's countries, the one with the zone's most populous city first) and
every zone's TZif file. In that order:

1. `zone.tab` names the zone: its country (Europe/London -> GB, Europe/Jersey -> JE).
2. `zone1970.tab` names it: its first country.
3. Otherwise it is a backward link (Europe/Belfast, US/Eastern, Asia/Calcutta, NZ): the
   package ships a link as a copy of its target's TZif data, so the zone of `zone1970.tab`
   with the same bytes is its target, and the target's first country is the answer
   (Europe/Belfast -> Europe/London -> GB). No single target, no country.

Anything else (Etc/UTC, an unknown or malformed name) has no country: None. Read on first
use only (not at import), and cached: a few milliseconds, once per process.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

# A zone name as IANA spells them: letters, digits, "_", "-", "+", one or more "/" parts
# (compiled by `re` on first use, not at import).
_ZONE = r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}"


def _zoneinfo() -> resources.abc.Traversable:
    return resources.files("tzdata").joinpath("zoneinfo")


def _rows(name: str) -> list[list[str]]:
    text = _zoneinfo().joinpath(name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@cache
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    """(zone.tab: zone -> country, zone1970.tab: zone -> its first country)."""
    one = {row[2]: row[0] for row in _rows("zone.tab") if len(row) >= 3}
    first = {row[2]: row[0].split(",")[0] for row in _rows("zone1970.tab") if len(row) >= 3}
    return one, first


@cache
def _by_data() -> dict[bytes, list[str]]:
    """TZif bytes -> the zone1970.tab zones with exactly that data."""
    found: dict[bytes, list[str]] = {}
    for zone in _tables()[1]:
        data = _tzif(zone)
        if data is not None:
            found.setdefault(data, []).append(zone)
    return found


def _tzif(zone: str) -> bytes | None:
    try:
        node = _zoneinfo()
        for part in zone.split("/"):
            node = node.joinpath(part)
        return node.read_bytes() if node.is_file() else None
    except (OSError, ValueError):
        return None


@cache
def country_of(zone: str) -> str | None:
    """The ISO 3166 alpha-2 country of an IANA zone name, or None."""
    if not isinstance(zone, str) or len(zone) > 64 or not re.fullmatch(_ZONE, zone):
        return None
    one, first = _tables()
    if zone in one:
        return one[zone]
    if zone in first:
        return first[zone]
    data = _tzif(zone)
    if data is None or not data.startswith(b"TZif"):
        return None
    targets = {first[target] for target in _by_data().get(data, [])}
    return targets.pop() if len(targets) == 1 else None


def zones_by_country() -> dict[str, set[str]]:
    """Every zone name the package maps to a country (zone.tab and zone1970.tab rows, and
    the backward links of the `zones` list that resolve), by country: for tests and docs."""
    names = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    one, first = _tables()
    out: dict[str, set[str]] = {}
    for zone in {*one, *first, *names}:
        country = country_of(zone)
        if country is not None:
            out.setdefault(country, set()).add(zone)
    return out


def data_version() -> str:
    import tzdata

    return str(getattr(tzdata, "IANA_VERSION", "unknown"))
