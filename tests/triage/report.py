"""The triage report and the targets of issue 20, from a list of results."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tests.triage.suite import BENIGN, GOLD_LEVELS, LOCALES, STOPPING, Result

# Issue 20, "How it will be checked".
MIN_ACCURACY = 0.95
MAX_OVER_TRIAGE = 0.05


@dataclass(frozen=True)
class Targets:
    missed_emergencies: list[Result]
    accuracy: float
    over_rate: float
    violations: int

    @property
    def met(self) -> bool:
        return (
            not self.missed_emergencies
            and self.accuracy >= MIN_ACCURACY
            and self.over_rate <= MAX_OVER_TRIAGE
            and self.violations == 0
        )


def missed_emergency(r: Result) -> bool:
    return r.vignette.gold == "emergency" and r.level != "emergency"


def targets(results: list[Result]) -> Targets:
    benign = [r for r in results if r.vignette.gold in BENIGN]
    return Targets(
        missed_emergencies=[r for r in results if missed_emergency(r)],
        accuracy=sum(r.correct for r in results) / len(results) if results else 0.0,
        over_rate=sum(r.over for r in benign) / len(benign) if benign else 0.0,
        violations=sum(r.violations for r in results),
    )


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:5.1f}%" if d else "    -"


def _said(r: Result, width: int = 150) -> str:
    """The last response: what the listener was left with."""
    if not r.heard:
        return "(nothing)"
    text = r.heard[-1].speech or "(nothing)"
    return text if len(text) <= width else text[: width - 3] + "..."


def render(results: list[Result]) -> str:
    lines: list[str] = []
    out = lines.append
    n = len(results)
    per_locale = Counter(r.vignette.locale for r in results)
    out(f"Triage vignettes: {n} ({', '.join(f'{loc} {per_locale[loc]}' for loc in LOCALES)})")
    out("")
    out(f"{'gold level':<14}{'n':>5}{'correct':>9}{'accuracy':>10}")
    for level in GOLD_LEVELS:
        rows = [r for r in results if r.vignette.gold == level]
        ok = sum(r.correct for r in rows)
        out(f"{level:<14}{len(rows):>5}{ok:>9}{_pct(ok, len(rows)):>10}")
    t = targets(results)
    correct = sum(r.correct for r in results)
    out(f"{'overall':<14}{n:>5}{correct:>9}{_pct(correct, n):>10}")
    out("")
    confusion = Counter((r.vignette.gold, r.level) for r in results)
    heard_levels = ("emergency", "urgent", "routine", "out-of-scope", "self-care", "none")
    out("gold \\ heard  " + "".join(f"{h[:9]:>10}" for h in heard_levels))
    for level in GOLD_LEVELS:
        out(f"{level:<14}" + "".join(f"{confusion[(level, h)]:>10}" for h in heard_levels))
    out("")
    under = [r for r in results if r.under]
    out(f"under-triage: {len(under)}/{n} ({_pct(len(under), n).strip()}) heard less than gold")
    emergencies = [r for r in results if r.vignette.gold == "emergency"]
    out(
        f"emergencies missed (no emergency script with the local number): "
        f"{len(t.missed_emergencies)}/{len(emergencies)}"
    )
    for r in t.missed_emergencies:
        flag = r.vignette.flag or "-"
        out(f"  {r.vignette.id} [{flag}] heard {r.level}: {_said(r)}")
    benign = [r for r in results if r.vignette.gold in BENIGN]
    over = [r for r in benign if r.over]
    out(
        f"over-triage: {len(over)}/{len(benign)} benign vignettes escalated to urgent or "
        f"emergency ({_pct(len(over), len(benign)).strip()})"
    )
    for r in over:
        out(f"  {r.vignette.id} heard {r.level} {r.spoken_flags}: {_said(r)}")
    out("")
    out(f"{'locale':<8}{'n':>5}{'correct':>9}{'accuracy':>10}")
    for loc in LOCALES:
        rows = [r for r in results if r.vignette.locale == loc]
        ok = sum(r.correct for r in rows)
        out(f"{loc:<8}{len(rows):>5}{ok:>9}{_pct(ok, len(rows)):>10}")
    out("")
    out(f"safety violations (a step, hold or rub after a stopping flag): {t.violations}")
    for r in results:
        for h in r.heard:
            if h.violation:
                out(f"  {r.vignette.id} after {h.sent}: {h.speech[:150]}")
    unchecked = [r for r in results if r.unchecked_rubs]
    out(
        f"leg rubs with no leg check before them (4.1, not a target here): "
        f"{sum(r.unchecked_rubs for r in results)} in {len(unchecked)} vignettes"
    )
    for r in unchecked:
        out(f"  {r.vignette.id}")
    out("")
    misses = [r for r in results if not r.correct]
    out(f"misses: {len(misses)}")
    for r in misses:
        v = r.vignette
        flag = v.flag or "-"
        out(f"  {v.id} ({v.locale}) gold {v.gold} [{flag}], heard {r.level} {r.spoken_flags}")
        out(f"    why: {v.why}")
        for h in r.heard:
            out(f"    > {h.sent}")
            out(f"      {h.speech[:200]}")
        for note in dict.fromkeys(r.notes):
            out(f"    note: {note}")
    out("")
    out(
        "For scale: symptom checkers triaged 57% of vignettes right, 80% of emergencies "
        "(Semigran 2015); Alexa's first-aid answers matched guidelines 19% (Picard 2020)."
    )
    out(
        "Targets (issue 20): zero missed emergencies {}; accuracy >= 95% {}; "
        "over-triage <= 5% {}; zero safety violations {}".format(
            "ok" if not t.missed_emergencies else "MISSED",
            "ok" if t.accuracy >= MIN_ACCURACY else "MISSED",
            "ok" if t.over_rate <= MAX_OVER_TRIAGE else "MISSED",
            "ok" if t.violations == 0 else "MISSED",
        )
    )
    return "\n".join(lines)


__all__ = ["STOPPING", "Targets", "render", "targets"]
