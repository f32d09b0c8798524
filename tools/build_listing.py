#!/usr/bin/env python3
"""Write every locale's store listing into the skill manifest from its one source.

    python tools/build_listing.py          # write skill-package/skill.json's listings
    python tools/build_listing.py --check  # exit 1 if the committed listings are stale

``skill-package/listing.json`` holds the name, summary, description paragraphs, example
phrases and keywords every locale shares, and per locale the sentence that names its numbers
(``help_numbers``) plus any example phrases and keywords of its own. The numbers come from the
content the skill speaks (``lambda/cramp_coach/content/<locale>/protocols.json``, ``numbers``),
so the listing can never name a number the skill does not say. Only ``name``, ``summary``,
``description``, ``examplePhrases`` and ``keywords`` of each locale are written; the icons and
everything else in the manifest stay as they are.

Run by ``make models``; tests/test_skill_manifest.py fails while the manifest is stale.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "skill-package" / "listing.json"
MANIFEST = REPO / "skill-package" / "skill.json"
CONTENT = REPO / "lambda" / "cramp_coach" / "content"
WRITTEN = ("name", "summary", "description", "examplePhrases", "keywords")


class ListingError(Exception):
    """The listing source cannot make a listing."""


def locale_numbers(locale: str) -> dict[str, str]:
    """The locale's numbers as the listing shows them: {"emergency": "999", ...}."""
    protocols = json.loads((CONTENT / locale / "protocols.json").read_text(encoding="utf-8"))
    numbers = protocols.get("numbers") or {}
    return {kind: entry["digits"] for kind, entry in numbers.items() if entry}


def listing(locale: str, source: dict[str, Any]) -> dict[str, Any]:
    own = source["locales"][locale]
    numbers = locale_numbers(locale)
    try:
        help_numbers = own["help_numbers"].format(**numbers)
    except KeyError as missing:
        raise ListingError(f"{locale}: help_numbers names {missing}, not in the content") from None
    paragraphs = [text.format(help_numbers=help_numbers) for text in source["description"]]
    return {
        "name": source["name"],
        "summary": source["summary"],
        "description": "\n\n".join(paragraphs),
        "examplePhrases": [*source["examplePhrases"], *own.get("examplePhrases", [])],
        "keywords": [*source["keywords"], *own.get("keywords", [])],
    }


def built_manifest() -> dict[str, Any]:
    source = json.loads(SOURCE.read_text(encoding="utf-8"))
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    locales = manifest["manifest"]["publishingInformation"]["locales"]
    if set(locales) != set(source["locales"]):
        raise ListingError(
            f"skill.json lists {sorted(locales)}, listing.json {sorted(source['locales'])}"
        )
    for locale, entry in locales.items():
        entry.update(listing(locale, source))
        if len(entry["examplePhrases"]) > 3:
            raise ListingError(f"{locale}: Alexa shows at most three example phrases")
    return manifest


def render(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if skill.json is stale")
    args = parser.parse_args(argv)
    try:
        text = render(built_manifest())
    except ListingError as error:
        print(f"build_listing: {error}", file=sys.stderr)
        return 2
    if args.check:
        if MANIFEST.read_text(encoding="utf-8") != text:
            print("skill-package/skill.json is stale: run `make models`", file=sys.stderr)
            return 1
        return 0
    MANIFEST.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
