"""The bedtime stretch (PROTOCOLS 3a, P-BED) as a listener meets it, through real envelopes.

A routine of the core like a cramp's: counted, navigable, paused and resumed, drawn on a
screen; reached by voice, offered once (end of aftercare, RF-FREQ, the prevention answer);
never in place of help during a cramp, never past a red flag.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cramp_coach.alexa.attributes import sealed
from cramp_coach.content import BEDTIME, Content, available_locales, load_content
from cramp_coach.core import Conversation as Core
from cramp_coach.core import Event
from cramp_coach.core.model import LONG_CRAMP_S, Profile
from cramp_coach.core.phases import Finished, InRoutine, Offered, Paused, Routine
from cramp_coach.core.speech import hold_plan
from cramp_coach.core.state import State
from cramp_coach.core.state_codec import decode_state
from tests.conftest import Conversation, Turn
from tests.memory_store import MemoryStore

BED = load_content("en-US").bedtime


def bedtime_steps(content: Content) -> tuple[Any, ...]:
    return content.bedtime.muscle.partner


def walk_bedtime(talk: Conversation, first: Turn, content: Content) -> Turn:
    """From step 1 to the end, saying next; each step's words heard in order."""
    steps = bedtime_steps(content)
    turn = first
    assert steps[0].text in turn.speech
    for i, step in enumerate(steps[1:], start=1):
        turn = talk.say("Next")
        assert step.text in turn.speech, (i, turn.speech)
        assert turn.state["muscle"] == BEDTIME and turn.state["step"] == i
    return talk.say("Next")


# ------------------------------------------------------------------ the content
@pytest.mark.parametrize("locale", available_locales())
def test_the_routine_is_the_trials_with_sources_and_honest_words(locale: str) -> None:
    content = load_content(locale)
    bed = content.bedtime
    steps = bedtime_steps(content)
    held = [s for s in steps if s.hold]
    # Calf then hamstring, each leg: four counted stretches of three 10 s holds, 10 s rests.
    assert len(held) == 4
    for step in held:
        holds = [b.hold for b in step.beats]
        assert holds == [10, 10, 10, 10, 10], step.id
        assert all(hold_plan(h) is not None for h in holds)  # counted aloud, like every hold
    total = sum(s.hold or 0 for s in steps)
    assert 150 <= total <= 240, f"about three minutes: {total} s"
    # Sources: every tag known; the evidence is HALLEGRAEFF / COCH-STRETCH.
    tags = {t.strip() for s in steps for t in s.source.split(",")}
    tags |= {t.strip() for t in bed.intro.source.split(",")}
    assert {"HALLEGRAEFF", "COCH-STRETCH"} <= tags
    rules = {"DESIGN", "G2", "G4", "G7"}
    assert all(t in content.sources or t in rules for t in tags), tags - set(content.sources)
    # Said honestly: "may", never "will stop" or "prevent" as a promise.
    assert "may mean fewer" in bed.intro.text
    spoken = " ".join(text for where, text in content.spoken_texts() if "bedtime" in where)
    assert not re.search(r"\bwill (stop|prevent|cure)\b|\bguarantee", spoken.lower())
    # The standing rule (G4) before anyone stands, and the seated option for the unsteady.
    caution = bed.muscle.caution
    assert caution is not None and "steady" in caution.text and "seated" in caution.text
    assert "G4" in caution.source
    # The reminder names the routine and nothing about the person's health.
    reminder = bed.reminder_text.text.lower()
    assert "bedtime stretch" in reminder
    for word in ("cramp ", "cramps", "pain", "leg", "health", "doctor"):
        assert word not in reminder, word


# ------------------------------------------------------------------ by voice, counted through
def test_by_voice_counted_through_with_the_standing_rule_then_a_reminder_offered(
    talk: Conversation, content: Content
) -> None:
    turn = talk.say("BedtimeIntent")
    assert turn.speech.startswith(content.bedtime.intro.text)
    caution = content.bedtime.muscle.caution
    assert caution is not None
    assert turn.speech.index(caution.text) < turn.speech.index(bedtime_steps(content)[0].text)
    assert turn.state["track"] == "bedtime" and not turn.ended
    steps = bedtime_steps(content)
    turn2 = talk.say("Next")
    # The first stretch: its cues and counts in one response, "five, four, three, two, one".
    assert steps[1].text in turn2.speech
    assert turn2.speech.count("Five, four, three, two, one.") == 5
    assert turn2.ssml.count("<break") >= 5
    assert "Is it easing" not in turn2.speech  # no cramp to ease
    turn = turn2
    for i, step in enumerate(steps[2:], start=2):
        turn = talk.say("Next")
        assert step.text in turn.speech and turn.state["step"] == i
    end = talk.say("Next")
    assert content.bedtime.closing.text in end.speech
    assert end.speech.endswith(content.phrase("reminder_offer")) and not end.ended
    assert talk.say("No").ended


def test_pause_resume_repeat_back_and_start_over_work_as_in_a_cramp(
    night: Conversation, content: Content
) -> None:
    night.say("BedtimeIntent")
    night.say("Next")
    paused = night.say("Pause")
    assert paused.ended and "bedtime stretch" in paused.speech
    resumed = night.launch(after=60)
    assert "bedtime stretch" in resumed.speech and resumed.state["mode"] == "resume_offer"
    turn = night.say("Resume")
    assert bedtime_steps(content)[1].text in turn.speech and turn.state["step"] == 1
    again = night.say("Repeat")
    assert bedtime_steps(content)[1].text in again.speech and again.state["step"] == 1
    back = night.say("Previous")
    assert back.state["step"] == 0
    over = night.say("StartOver")
    assert over.state["step"] == 0 and over.state["track"] == "bedtime"
    held = night.say("HoldOnIntent")
    assert held.state["mode"] == "paused" and not held.ended
    assert night.say("Resume").state["step"] == 0


def test_skip_goes_to_the_seated_stretch_for_anyone_unsteady(
    talk: Conversation, content: Content
) -> None:
    talk.say("BedtimeIntent")
    turn = talk.say("SkipIntent")
    seated = next(i for i, s in enumerate(bedtime_steps(content)) if i and s.phase == "setup")
    assert turn.state["step"] == seated
    assert bedtime_steps(content)[seated].text in turn.speech


def test_a_stretch_that_hurts_stops_and_a_cramp_during_it_gets_help_now(
    talk: Conversation, content: Content
) -> None:
    talk.say("BedtimeIntent")
    hurts = talk.say("HurtsIntent")
    assert content.gentle_stop.text in hurts.speech and hurts.ended
    talk.say("BedtimeIntent")
    talk.say("Next")
    how = talk.say("HowToStopIntent")
    assert how.speech.startswith("Which muscle is cramping?")
    talk.say("BedtimeIntent")
    still = talk.say("StillCrampingIntent")
    assert still.speech.startswith("Which muscle is cramping?")
    talk.say("BedtimeIntent")
    cramp = talk.cramp("CALF")
    assert content.muscles["CALF"].partner[0].text in cramp.speech
    assert cramp.state["track"] == "main"
    # The cramp's own ten-minute clock starts now, not when the stretch began.
    assert cramp.state["started_at"] == talk.now


def test_the_bedtime_stretch_writes_no_cramp_log_and_has_no_ten_minute_clock(
    night: Conversation, store: MemoryStore, content: Content
) -> None:
    night.say("LogOnIntent")
    night.say("BedtimeIntent")
    turn = night.say("Next", after=LONG_CRAMP_S + 60)  # long past ten minutes
    assert bedtime_steps(content)[1].text in turn.speech
    assert "longer than usual" not in turn.speech
    assert not turn.state["ctx"]["unsaved"]
    night.say("Stop")
    assert store.consent is True  # the log is on, and still no entry: the stretch is no cramp
    assert store.entries == []


def test_on_a_screen_the_night_display_counts_each_hold(content: Content) -> None:
    core = Core(content)
    state = State()
    out = core.handle(state, Event("bedtime", 1000.0), Profile())
    out = core.handle(out.state, Event("next", 1010.0))
    screen = out.screen
    assert screen is not None and screen.kind == "step"
    assert screen.title == content.bedtime.muscle.name
    assert screen.holds == (10, 10, 10, 10, 10)
    assert screen.progress == content.phrase("progress", step=2, total=len(bedtime_steps(content)))
    from cramp_coach.alexa import display

    document, datasources = display.render(screen)
    assert document and datasources["night"]["hasCount"]


# ------------------------------------------------------------------ offered where it helps
def test_offered_once_at_the_end_of_aftercare_yes_starts_it(
    talk: Conversation, content: Content
) -> None:
    talk.cramp("CALF")
    turn = talk.say("BetterIntent")
    while turn.state["mode"] == "routine":
        if turn.state["question"] in ("choice", "choice_again"):
            turn = talk.say("ClarifyIntent", part=("warmth", None))
        else:
            turn = talk.say("Next")
    assert turn.speech.endswith(content.bedtime.offer.text) and not turn.ended
    yes = talk.say("Yes")
    assert yes.speech.startswith(content.bedtime.intro.text)
    assert yes.state["track"] == "bedtime"


def test_the_offer_is_made_once_a_session(talk: Conversation, content: Content) -> None:
    talk.say("PreventionIntent")
    talk.say("No", after=1)
    # The same session would not offer it again; a new one (after "no" ended it) may.
    core = Core(content)
    offered = State(Finished()).with_context(State().ctx.__class__(bedtime_offered=True))
    out = core.handle(offered, Event("again", 1000.0), Profile())
    assert content.bedtime.offer.text not in out.speech


def test_rf_freq_in_the_persons_words_gives_the_advice_then_the_offer(
    talk: Conversation, content: Content
) -> None:
    turn = talk.say("SymptomIntent", symptom=("I get cramps most nights", None))
    assert turn.speech.startswith(content.red_flags["RF_FREQ"].script)
    assert turn.speech.endswith(content.bedtime.offer.text)
    assert turn.state["mode"] == "offered"


def test_rf_freq_from_the_opt_in_log_is_said_before_the_offer(content: Content) -> None:
    core = Core(content)
    now = 10 * 86400.0
    profile = Profile(log_consent=True, recent_starts=[now - 86400, now - 2 * 86400])
    out = core.handle(State(), Event("cramp", now, muscle="HAND"), profile)
    for i in range(40):
        if isinstance(out.state.phase, Offered) or out.end_session:
            break
        kind = "better" if i == 0 else "next"
        out = core.handle(out.state, Event(kind, now + 5 * (i + 1)))
    freq = content.red_flags["RF_FREQ"].script
    assert freq in out.speech and out.freq_advised
    assert out.speech.index(freq) < out.speech.index(content.bedtime.offer.text)


def test_what_if_it_happens_again_after_the_cramp_offers_the_stretch(
    talk: Conversation, content: Content
) -> None:
    turn = talk.say("AgainIntent")
    assert content.phrase("answer_again") in turn.speech
    assert turn.speech.endswith(content.bedtime.offer.text)


# ------------------------------------------------------------------ never in place of help
@pytest.mark.parametrize(
    "intent", ["BedtimeIntent", "PreventionIntent", "ReminderIntent", "StopReminderIntent"]
)
def test_mid_cramp_the_step_in_progress_comes_first(
    talk: Conversation, content: Content, intent: str
) -> None:
    talk.cramp("CALF")
    turn = talk.say(intent)
    assert content.phrase("bedtime_after_cramp") in turn.speech
    assert turn.state["track"] == "main" and turn.state["step"] == 0 and not turn.ended
    assert content.bedtime.intro.text not in turn.speech
    assert "reminder" not in turn.raw["response"].get("directives", [{}])[0].get("name", "x")


def test_how_do_i_stop_this_mid_cramp_is_about_now(talk: Conversation, content: Content) -> None:
    talk.cramp("CALF")
    turn = talk.say("HowToStopIntent")
    assert content.muscles["CALF"].partner[0].text in turn.speech
    assert content.bedtime.offer.text not in turn.speech


def test_after_a_red_flag_the_stretch_is_never_spoken(
    night: Conversation, content: Content
) -> None:
    night.symptom("RF_PE")
    locked = night.say("BedtimeIntent")
    assert content.red_flags["RF_PE"].script in locked.speech
    assert bedtime_steps(content)[0].text not in locked.speech
    # A later session within 12 hours: the warning and its question before any stretch.
    night.end()
    night.session.restart()
    later = night.say("BedtimeIntent", after=3600)
    assert content.red_flags["RF_PE"].script in later.speech
    assert bedtime_steps(content)[0].text not in later.speech
    assert later.state["mode"] == "prior_check"


def test_a_red_flag_during_the_stretch_locks_it(talk: Conversation, content: Content) -> None:
    talk.say("BedtimeIntent")
    talk.say("Next")
    turn = talk.symptom("RF_DVT")
    assert content.red_flags["RF_DVT"].script in turn.speech
    assert turn.state["mode"] == "locked"
    nxt = talk.say("Next")
    assert not any(s.text in nxt.speech for s in bedtime_steps(content))


# ------------------------------------------------------------------ the typed state
def test_bedtime_states_survive_the_seal_and_bad_ones_start_afresh(content: Content) -> None:
    routine = Routine(BEDTIME, 1000.0, "0123456789ab", track="bedtime", step=3)
    for phase in (
        InRoutine(routine),
        Paused(routine),
        Offered("bedtime", True),
        Offered("reminder"),
    ):
        state = State(phase)
        assert decode_state(state.to_attributes(), content) == state
        attrs = sealed(state, "session-1")
        assert attrs["seal"]
    wrong = [
        Routine(BEDTIME, 1000.0, "0123456789ab", track="main"),
        Routine("CALF", 1000.0, "0123456789ab", track="bedtime"),
        Routine(BEDTIME, 1000.0, "0123456789ab", track="bedtime", step=99),
    ]
    for routine in wrong:
        assert decode_state(State(InRoutine(routine)).to_attributes(), content) == State()
    bad = State(Offered("bedtime")).to_attributes()
    bad["phase"]["what"] = "something"
    assert decode_state(bad, content) == State()


EVENTS = [
    "bedtime", "reminder", "stop_reminder", "permission", "prevention", "next", "previous",
    "repeat", "pause", "resume", "yes", "no", "skip", "start_over", "better", "hurts",
    "still_cramping", "how_to_stop", "again", "help", "stop", "hold_on", "fallback", "launch",
    "symptom", "cramp",
]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.sampled_from(EVENTS), min_size=1, max_size=25),
    time=st.sampled_from([None, "half ten", "22:30", "NI", "ten", "blah"]),
    locale=st.sampled_from(["en-US", "en-GB", "en-AU"]),
)
def test_any_sequence_keeps_the_state_decodable_and_the_rules(
    kinds: list[str], time: str | None, locale: str
) -> None:
    """Every state reached decodes to itself; the stretch never starts mid-cramp; a reminder
    is only ever decided outside a cramp's steps; a lock never speaks a stretch step."""
    content = load_content(locale)
    core = Core(content)
    state, now = State(), 1_000_000.0
    bed_texts = [s.text for s in bedtime_steps(content)]
    locked = False
    for i, kind in enumerate(kinds):
        now += 7
        extra: dict[str, Any] = {}
        if kind == "cramp":
            extra["muscle"] = "CALF"
        if kind == "symptom":
            extra["symptom"] = "RF_DVT" if i % 3 == 0 else None
            extra["heard"] = ("cramps every night",) if i % 3 else ("swollen",)
        if kind in ("reminder", "permission"):
            extra["time"] = time
            extra["permission"] = "ACCEPTED" if i % 2 else "DENIED"
        before = state
        out = core.handle(state, Event(kind, now, **extra), Profile() if i == 0 else None)
        state = out.state
        assert decode_state(state.to_attributes(), content) == state
        cramp_before = before.routine is not None and before.routine.track != "bedtime"
        if cramp_before and kind in ("bedtime", "prevention", "reminder", "stop_reminder"):
            assert out.reminder is None
            assert state.routine is not None and state.routine.track != "bedtime"
        if locked:
            assert not any(t in out.speech for t in bed_texts)
        if state.phase.kind == "locked":
            locked = True
        if out.end_session:
            state = State()  # a new session: the session attributes are gone
            locked = False
