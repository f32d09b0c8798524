#!/usr/bin/env python3
"""Write docs/content.md from the content files: what the skill says, and on whose authority.

    python tools/build_content_doc.py          # write docs/content.md
    python tools/build_content_doc.py --check  # exit 1 if docs/content.md is stale

Generated, never edited by hand: the muscles with their steps (for a helper, for someone alone,
and the gentler option), holds and source tags; aftercare; every red flag with its level and
script; each locale's numbers; and the sources table. Run by ``make docs``;
tests/test_docs.py fails while the page is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "lambda"))

from cramp_coach.content import Content, Step, load_content  # noqa: E402

OUT = REPO / "docs" / "content.md"
LOCALES = ("en-US", "en-CA", "en-GB", "en-IN", "en-AU")
LEVELS = ("emergency", "urgent", "routine")


def cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def steps_table(steps: tuple[Step, ...]) -> list[str]:
    rows = ["| # | what is said | hold | source |", "|---|---|---|---|"]
    for number, step in enumerate(steps, 1):
        hold = f"{step.hold} s" if step.hold else "-"
        said = f"{step.ask} / {step.text}" if step.ask else step.text
        rows.append(f"| {number} | {cell(said)} | {hold} | {step.source} |")
    return rows


def source_cell(where: str) -> str:
    if where.startswith("http"):
        return f"<{where}>"
    return "the project's seed article (archived with the project, not public)"


def render(base: Content) -> str:
    out = [
        "# The content: steps, red flags and their sources",
        "",
        "Generated from `lambda/cramp_coach/content/` by `make docs`",
        "(`tools/build_content_doc.py`); edit the content files, not this page. The English base",
        "is shown; each locale overlays its own wording and numbers (`docs/locales.md`). A source",
        "tag names a row of the sources table at the end; `DESIGN` marks a rule of the skill's own",
        "conversation design rather than a clinical source.",
        "",
        "## Muscles",
        "",
    ]
    for muscle in base.muscles.values():
        out += [f"### {muscle.name.capitalize()} (`{muscle.id}`)", ""]
        for title, steps in (
            ("With a helper", muscle.partner),
            ("Alone", muscle.alone),
            ("The gentler option, with a helper", muscle.gentle),
            ("The gentler option, alone", muscle.gentle_alone),
        ):
            if steps:
                out += [f"{title}:", "", *steps_table(steps), ""]
        if muscle.check:
            out += [f"Before a rub: {cell(muscle.check.text)} ({muscle.check.source})", ""]
        if muscle.caution:
            out += [f"Caution: {cell(muscle.caution.text)} ({muscle.caution.source})", ""]
    out += ["## Aftercare", "", *steps_table(base.aftercare), ""]
    out += [
        "## Red flags",
        "",
        "Levels: **emergency** (call emergency services now), **urgent** (same day), **routine**",
        "(a doctor's visit). Emergency and urgent flags stop the steps.",
        "",
        "| id | level | what is said | source |",
        "|---|---|---|---|",
    ]
    flags = sorted(base.red_flags.values(), key=lambda f: (LEVELS.index(f.level), f.id))
    for flag in flags:
        out.append(f"| `{flag.id}` | {flag.level} | {cell(flag.script)} | {flag.source} |")
    out += [
        "",
        "## Numbers per locale",
        "",
        "| locale | kind | number | spoken | source |",
        "|---|---|---|---|---|",
    ]
    sources = dict(base.sources)
    for locale in LOCALES:
        content = load_content(locale)
        sources.update(content.sources)
        for kind, number in content.phone_numbers.items():
            out.append(
                f"| {locale} | {kind} | {number.digits} | {number.spoken} | {number.source} |"
            )
    out += ["", "## Sources", "", "| tag | where |", "|---|---|"]
    for tag in sorted(sources):
        out.append(f"| {tag} | {source_cell(sources[tag])} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    page = render(load_content("en"))
    if args.check:
        if OUT.read_text(encoding="utf-8") != page:
            print("docs/content.md is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
