"""Triage quality (issue 20): the vignette suite's targets, and the instrument itself.

The targets are the issue's: zero missed emergencies, overall accuracy at least 95%, at most
5% of benign cramps escalated, and no step, hold or rub after a stopping flag. `make triage`
prints the full report with every miss.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.triage.report import MAX_OVER_TRIAGE, MIN_ACCURACY, render, targets
from tests.triage.suite import (
    BENIGN,
    LOCALES,
    Ear,
    Result,
    Vignette,
    ear,
    load_vignettes,
    run_all,
)

# PROTOCOLS.md section 4 as revised 2026-12-06: every emergency (E) and urgent (U) row.
# RF-BACK, RF-CHILD and RF-NEURO have rows at two levels; each level counts as a row.
SPEC_ROWS = {
    "emergency": (
        "RF-PE", "RF-HEAT", "RF-RHABDO", "RF-STROKE", "RF-CHEST", "RF-CES", "RF-BACK",
        "RF-MENING", "RF-SWELL", "RF-ISCH", "RF-CHILD", "RF-INFANT",
    ),
    "urgent": (
        "RF-DVT", "RF-LONG", "RF-HEAT2", "RF-FLUID", "RF-NEURO", "RF-TRUNK", "RF-BACK",
        "RF-HAND", "RF-TEAR", "RF-TOXIN", "RF-PREG", "RF-CHILD",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def vignettes() -> list[Vignette]:
    return load_vignettes()


@pytest.fixture(scope="module")
def results(vignettes: list[Vignette]) -> list[Result]:
    return run_all(vignettes)


def _misses(rows: list[Result]) -> str:
    return "\n".join(
        f"{r.vignette.id} ({r.vignette.locale}) gold {r.vignette.gold}, heard {r.level}: "
        f"{r.heard[-1].speech[:160] if r.heard else ''}"
        for r in rows
    )


# ------------------------------------------------------------------ the suite as written
def test_the_suite_is_big_enough_and_covers_every_locale(vignettes: list[Vignette]) -> None:
    assert len(vignettes) >= 120
    per_locale = {loc: sum(v.locale == loc for v in vignettes) for loc in LOCALES}
    assert min(per_locale.values()) >= 20, per_locale
    benign = sum(v.gold in BENIGN for v in vignettes)
    assert benign * 3 >= len(vignettes), "at least a third benign, so over-triage is measurable"


def test_every_emergency_and_urgent_row_is_tried_twice_in_two_locales(
    vignettes: list[Vignette],
) -> None:
    locales: dict[tuple[str, str], set[str]] = defaultdict(set)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for v in vignettes:
        if v.flag:
            locales[(v.gold, v.flag)].add(v.locale)
            counts[(v.gold, v.flag)] += 1
    thin = [
        (level, flag)
        for level, flags in SPEC_ROWS.items()
        for flag in flags
        if counts[(level, flag)] < 2 or len(locales[(level, flag)]) < 2
    ]
    assert not thin, thin


def test_vignettes_use_both_spoken_text_and_intents_as_alexa_delivers_them(
    vignettes: list[Vignette],
) -> None:
    turns = [t for v in vignettes for t in v.turns]
    assert sum("say" in t for t in turns) >= 40
    assert sum("intent" in t for t in turns) >= 40
    mid_routine = [v for v in vignettes if any("next_until" in t for t in v.turns)]
    assert len(mid_routine) >= 10


# ------------------------------------------------------------------ the classifier
@pytest.fixture(scope="module")
def gb() -> Ear:
    return ear("en-GB")


def _script(listener: Ear, level: str, decline: bool | None = None) -> str:
    content = listener.content
    for rf_id, rf in content.red_flags.items():
        if rf.level == level and (decline is None or (rf_id in listener.declines) == decline):
            return rf.script
    pytest.skip(f"no {level} red flag in this content")


def test_an_emergency_needs_the_local_number(gb: Ear) -> None:
    script = _script(gb, "emergency")
    number = gb.content.phrase("emergency_number")
    assert gb.hear("t", f"{script} {number}").level == "emergency"
    assert gb.hear("t", script).level == "urgent"  # stops, but the number was never said


def test_urgent_advice_and_a_decline(gb: Ear) -> None:
    script = _script(gb, "urgent", decline=False)
    same_day = gb.content.phrase("urgent_number")
    assert gb.hear("t", f"{script} {same_day}").level == "urgent"
    decline = _script(gb, "urgent", decline=True)
    assert gb.hear("t", decline).level == "out-of-scope"
    assert gb.hear("t", f"{decline} {same_day}").level == "urgent"


def test_steps_are_self_care_and_a_step_after_a_stop_is_a_violation(gb: Ear) -> None:
    step = gb.content.muscles["CALF"].partner[0].text
    assert gb.hear("t", step).level == "self-care"
    script = _script(gb, "urgent", decline=False)
    same_day = gb.content.phrase("urgent_number")
    before = gb.hear("t", f"{step} {script} {same_day}")
    assert before.level == "urgent" and not before.violation
    assert gb.hear("t", f"{script} {same_day} {step}").violation


def test_the_report_prints_every_part(results: list[Result]) -> None:
    text = render(results)
    for part in ("gold level", "overall", "under-triage", "over-triage", "en-IN", "violations"):
        assert part in text


# ------------------------------------------------------------------ the targets (issue 20)
def test_no_emergency_is_missed(results: list[Result]) -> None:
    missed = targets(results).missed_emergencies
    assert not missed, f"{len(missed)} emergencies missed:\n{_misses(missed)}"


def test_overall_accuracy_is_at_least_95_percent(results: list[Result]) -> None:
    t = targets(results)
    wrong = [r for r in results if not r.correct]
    assert t.accuracy >= MIN_ACCURACY, f"accuracy {t.accuracy:.1%}:\n{_misses(wrong)}"


def test_at_most_5_percent_of_benign_cramps_are_escalated(results: list[Result]) -> None:
    t = targets(results)
    over = [r for r in results if r.over]
    assert t.over_rate <= MAX_OVER_TRIAGE, f"over-triage {t.over_rate:.1%}:\n{_misses(over)}"


def test_no_step_hold_or_rub_after_a_stopping_flag(results: list[Result]) -> None:
    bad = [r for r in results if r.violations]
    assert targets(results).violations == 0, _misses(bad)


# ------------------------------------------------------------------ which advice, not only how soon
# Two emergencies can need different advice: after exercise with fainting it is RF-HEAT (cool
# them), not RF-PE (a clot). The level alone does not show which was said, so a vignette that
# names its spec row must hear that row's script (or one under it: RF-PREG-PE is RF-PREG's
# pre-eclampsia row) among the scripts at the level it reached.
# Vignettes known to reach the right level with another row's advice (none today).
WRONG_SCRIPT_KNOWN: frozenset[str] = frozenset()


def test_the_advice_heard_is_the_spec_rows(results: list[Result]) -> None:
    wrong = []
    for r in results:
        v = r.vignette
        if not v.flag or v.gold not in ("emergency", "urgent", "routine"):
            continue
        content = ear(v.locale).content
        reached = {r.level, "emergency"} if r.level == "urgent" else {r.level}
        said = [f for f in r.spoken_flags if content.red_flags[f].level in reached]
        rows = [f.replace("_", "-") for f in said]
        if not any(row == v.flag or row.startswith(f"{v.flag}-") for row in rows):
            wrong.append(v.id)
    assert set(wrong) == WRONG_SCRIPT_KNOWN, [
        (i, next(r.spoken_flags for r in results if r.vignette.id == i)) for i in wrong
    ]
