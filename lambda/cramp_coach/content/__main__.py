"""``python -m cramp_coach.content``: validate every locale, or export them for other tools.

    python -m cramp_coach.content            # validate the base and every locale
    python -m cramp_coach.content --export   # JSON: each locale's merged content

The export is what the end-to-end runner (tests/e2e/run.js) reads, so that the node side
never re-implements the overlay: per content folder (``en`` and every locale) the merged
``protocols`` and ``phrases`` (phone-number placeholders filled, others left as they are)
and its ``numbers`` (kind -> digits and spoken form).
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from typing import Any

from cramp_coach.content import Content, ContentError, merged_documents, validate_all


class _Keep(dict[str, str]):
    """Leaves a placeholder that is not a phone number as it is ({name}, {step})."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def export() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, content in validate_all().items():
        protocols, phrases, _, _ = merged_documents(name)
        values = _Keep(content.number_values())
        filled = {
            key: string.Formatter().vformat(text, (), values) if isinstance(text, str) else text
            for key, text in phrases.items()
        }
        numbers = {
            kind: {"digits": n.digits, "spoken": n.spoken, "name": n.name}
            for kind, n in content.phone_numbers.items()
        }
        out[name] = {
            "protocols": protocols,
            "phrases": filled,
            "numbers": numbers,
            "countries": _countries(content),
        }
    return out


def _countries(content: Content) -> dict[str, Any]:
    """Per country of the table: the number sentences and numbers this locale speaks there."""
    out: dict[str, Any] = {}
    for code in content.countries:
        view = content.for_country(code)
        out[code] = {
            "phrases": {
                key: view.phrase(key) for key in ("emergency_number", "urgent_number", "disclaimer")
            },
            "numbers": {
                kind: {"digits": n.digits, "spoken": n.spoken, "name": n.name}
                for kind, n in view.phone_numbers.items()
            },
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cramp_coach.content")
    parser.add_argument("--export", action="store_true", help="print every locale as JSON")
    args = parser.parse_args(argv)
    try:
        if args.export:
            json.dump(export(), sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
        else:
            for name, content in validate_all().items():
                numbers = ", ".join(f"{k} {n.digits}" for k, n in content.phone_numbers.items())
                print(f"{name}: ok ({numbers or 'no numbers: your local emergency number'})")
    except ContentError as err:
        print(f"content error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
