"""The conversation's rules, in one place: (state, event, profile) -> outcome.

How a turn is decided, in this order:

1. Safety guard: a red flag in the event (slot ids, out-of-scope places, words in any
   raw slot text) wins from every phase. A stopping (E/U) flag locks the steps.
2. Lock guard: in the lock, only repeat, help, the disclaimer, stop, the number to call
   and a more serious red flag do anything; everything else repeats the advice.
3. Answers: while a safety question is open, words that answer it become its yes or no
   (PROTOCOLS 4.1); an unclear answer asks once more, then counts as yes for safety.
4. Context: routine-level advice, notes, pregnancy/child/heat flags, out-of-scope answers,
   the "my baby" question and unsure words (which ask the safety question) are taken
   before the phase sees the event.
5. Ten-minute guard (G1): a routine still going after ten minutes stops with RF-LONG.
6. The phase's own table: `Conversation.tables[phase type][event kind]` (phase_tables.py).

Pure: no ASK, no I/O, no clock (time comes in the event).
"""

from __future__ import annotations

import string
from typing import Any

from msgspec.structs import replace

from cramp_coach.content import COUNTRY_TEMPLATES, NUMBER_PHRASES, Content, number_fields
from cramp_coach.core.answers import Answers
from cramp_coach.core.bedtime import BedtimeAnswers
from cramp_coach.core.model import LONG_CRAMP_S, Event, Profile
from cramp_coach.core.night_answers import NightAnswers
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phase_tables import Handler, phase_tables
from cramp_coach.core.phases import (
    AskingMuscle,
    Finished,
    Idle,
    Locked,
    Offered,
    ResumeOffer,
)
from cramp_coach.core.profile_context import apply_profile
from cramp_coach.core.restate import Restater
from cramp_coach.core.routine import Routines
from cramp_coach.core.safety import CLOT_FLAGS, detect, severity
from cramp_coach.core.speak import Speaker, join
from cramp_coach.core.speech import wrap_voice
from cramp_coach.core.state import State, as_answered
from cramp_coach.core.state_codec import decode_state
from cramp_coach.core.symptom_reading import muscle_in_words

# Events the ten-minute rule lets through: they neither continue nor restart the steps.
# Events that carry only words (no intent of their own) and may be read as "still cramping".
_WORDS_EVENTS = frozenset({"symptom", "fallback", "cramp", "clarify"})
_TEN_MINUTE_EXEMPT = frozenset(
    {"better", "help", "disclaimer", "stop", "emergency_number", "doctor"}
)


def needs_profile(state: State, event: Event) -> bool:
    """Whether the adapter must load the stored profile before this event.

    Always on a session's first turn: a red flag from the last 12 hours must be heard
    again before any steps, so even the cold one-shot reads the store (safety first).
    """
    if event.kind in ("launch", "count"):
        return True
    if event.kind == "resume" and state.routine is None:
        return True
    if isinstance(state.phase, ResumeOffer) and event.kind in ("yes", "next", "resume"):
        return True  # the store must agree that the routine is still resumable
    return not state.ctx.profile_loaded and event.kind not in ("session_ended", "stop")


class Conversation:
    """Drives one locale's content. Create once per locale and reuse (it holds no state)."""

    def __init__(self, content: Content) -> None:
        self.c = content
        self.s = Speaker(content)
        # The same rules for a device in another country: that country's numbers (by code).
        self._by_country: dict[str, Conversation] = {}
        # The sentences that speak a number to call, as this content says them: a turn that
        # says one wants the device's country when it is not known yet.
        self._number_texts = tuple(
            content.phrase(key)
            for key, text in content.phrases.items()
            if key not in COUNTRY_TEMPLATES
            and (key in NUMBER_PHRASES.values() or number_fields(text))
            and {f for _, f, _, _ in string.Formatter().parse(text) if f} <= number_fields(text)
        )
        self.a = Answers(content, self.s)
        self.r = Routines(content, self.s, self.a.finish)
        self.a.routines = self.r
        restater = Restater(content, self.s, self.r)
        self.a.restate = lambda st, e: restater(st, e, self._answer_for)
        a = self.a
        n = NightAnswers(a)
        b = self.b = BedtimeAnswers(a)
        self.tables, self.defaults = phase_tables(a, n, b)

    def _answer_for(self, st: State, kind: str) -> Handler | None:
        """The handler that gave answer `kind` in this phase (for "repeat")."""
        if isinstance(st.phase, Locked):
            # The lock answers only these itself; any other answer repeats its advice.
            return self.a.locked if kind in ("disclaimer", "emergency_number") else None
        return self.tables.get(type(st.phase), {}).get(kind)

    def decode(self, attributes: Any) -> State:
        return decode_state(attributes, self.c)

    # ------------------------------------------------------------------ the turn
    def handle(self, state: State, event: Event, profile: Profile | None = None) -> Outcome:
        """One turn. The numbers to call are the device's country's when it is known (this
        turn's Event.country, the session's, or the profile's), else the locale's; a turn that
        speaks one while the country is not known says so (Outcome.wants_country)."""
        if profile is not None and not state.ctx.profile_loaded:
            state = apply_profile(state, profile, event.now, self.c)
        learned = event.country if state.ctx.country is None else None
        if learned is not None:
            state = state.with_context(replace(state.ctx, country=learned))
        here = self.in_country(state.ctx.country)
        out = here._turn(state, event, profile)
        if learned:
            out = replace(out, prefs={**out.prefs, "country": learned})
        if state.ctx.country is None and self._speaks_number(out):
            out = replace(out, wants_country=True)
        return out

    def in_country(self, code: str | None) -> Conversation:
        """The conversation for a device in country `code`: this one, or the same content
        with that country's numbers (Content.for_country), built once."""
        view = self.c.for_country(code)
        if view is self.c or code is None:
            return self
        found = self._by_country.get(code)
        if found is None:
            found = self._by_country[code] = Conversation(view)
        return found

    def _speaks_number(self, out: Outcome) -> bool:
        if out.screen is not None and out.screen.number is not None:
            return True
        return any(text in out.speech for text in self._number_texts)

    def _turn(self, state: State, event: Event, profile: Profile | None) -> Outcome:
        if event.helper in ("PARTNER", "ALONE") and not isinstance(state.phase, Locked):
            state = state.with_context(
                replace(
                    state.ctx,
                    variant="partner" if event.helper == "PARTNER" else "alone",
                    variant_known=True,
                )
            )
        out = self._dispatch(state, event, profile)
        ctx = out.state.ctx
        if out.speech and event.kind not in ("repeat", "session_ended"):
            # What "repeat" says again: this answer, or else the place the state is in.
            answered = as_answered(event.kind)
            if ctx.answered != answered:
                out = replace(out, state=out.state.with_context(replace(ctx, answered=answered)))
        return replace(
            out,
            speech=wrap_voice(out.speech, ctx.quiet) if out.speech else "",
            reprompt=wrap_voice(out.reprompt, ctx.quiet) if out.reprompt else None,
        )

    def _dispatch(self, st: State, e: Event, profile: Profile | None) -> Outcome:
        a = self.a
        if e.kind == "session_ended":
            return a.session_ended(st, e, profile)
        routine = st.routine
        muscle = routine.muscle if routine else None
        finding = detect(e, self.c, muscle, set(st.ctx.flags))
        stopping = [f for f in finding.red_flags if self.c.red_flags[f].stops_routine]
        # 1. A stopping red flag wins, unless the lock already holds one at least as serious.
        if stopping and not (
            isinstance(st.phase, Locked)
            and severity(stopping[0], self.c) >= severity(st.phase.flag, self.c)
        ):
            return a.raise_red_flag(st, e, stopping)
        # 2. The lock is closed.
        if isinstance(st.phase, Locked):
            return a.locked(st, e, profile, finding)
        # 3. An open safety question: "yes she's a bit breathless", "maybe", a bare symptom or
        # "no chest pain" answer it (PROTOCOLS 4.1); an unclear answer asks once more.
        question = a.open_question(st)
        if question is not None:
            e = a.as_answer(question, e, finding, a.asks_breath(st, question))
            if e.kind == "doubt":
                return a.doubt_is_emergency(st, e)
            if e.kind == "unclear":
                return a.unclear_answer(st, e, profile, question)
        # A muscle Alexa heard but could not resolve ("my babe's calf"), or named in words that
        # warn of nothing: the words still say which muscle.
        unplaced = e.kind == "cramp" and e.muscle == "UNKNOWN"
        idle_words = e.kind == "symptom" and st.routine is None and e.muscle is None
        if (unplaced or idle_words) and not finding.red_flags and not finding.ask_baby:
            named = muscle_in_words(e.heard, self.c)
            if named is not None:
                e = replace(e, kind="cramp", muscle=named)
        # 4. Advice that does not stop the steps, flags that change them, unsure words.
        advice = [f for f in finding.red_flags if f not in stopping]
        lead = join(self.s.advice(advice) if advice else "", *map(self.s.p, finding.notes))
        st, flag_text, ask = a.take_flags(st, e, finding.flags, lead)
        if ask is not None:
            return ask
        if finding.declines:
            return a.decline(st, e, finding.declines, join(lead, flag_text))
        if question is None:
            if finding.ask_baby:
                return a.ask_baby(st, e, join(lead, flag_text))
            if finding.ask_blood:
                return a.ask_blood(st, e, join(lead, flag_text))
            if finding.still and st.routine is not None and e.kind in _WORDS_EVENTS:
                e = replace(e, kind="still_cramping")  # "it won't stop" is not RF-LONG (4)
            elif finding.unsure or (e.kind == "symptom" and not finding and not finding.still):
                return a.safety_question(st, e, profile, lead=join(lead, flag_text))
        # Cramps most nights, in the person's own words, outside any steps: the advice (the
        # lead), then the bedtime stretch offered once (PROTOCOLS 3a).
        if (
            "RF_FREQ" in advice
            and st.routine is None
            and not st.ctx.bedtime_offered
            and isinstance(st.phase, Idle | AskingMuscle | Finished | Offered)
            and e.kind in ("symptom", "fallback", "prevention", "doctor", "count")
        ):
            return a.offer_bedtime(st, lead)
        # 5. Ten minutes without easing (G1).
        routine = st.routine
        if (
            routine is not None
            and routine.track not in ("aftercare", "bedtime")  # bedtime: no cramp, no clock
            and e.now - routine.started_at >= LONG_CRAMP_S
            and e.kind not in _TEN_MINUTE_EXEMPT
            and not a.says_eased(st, e)
        ):
            return a.raise_red_flag(st, e, ["RF_LONG"])
        # 6. The phase's table.
        kind = type(st.phase)
        handler = self.tables[kind].get(e.kind) or self.defaults.get(kind, a.ask_muscle)
        out = handler(st, e, profile)
        phase = out.state.phase
        if finding.red_flags and isinstance(phase, AskingMuscle) and not phase.warned:
            # Warning words were heard ("cramping all over"): a later miss asks again rather
            # than starting the calf default (PROTOCOLS 4.1, section 5).
            out = replace(out, state=out.state.with_phase(replace(phase, warned=True)))
        if flag_text:
            if out.screen is not None and out.screen.kind == "step":
                # A step is spoken: its action first, what pregnancy or a child changes after
                # it, while they do it (the first words are an action).
                out = replace(out, speech=a.after_action(out.speech, flag_text))
            else:
                lead = join(lead, flag_text)
        return replace(out, speech=join(lead, out.speech)) if lead else out


__all__ = ["CLOT_FLAGS", "Conversation", "needs_profile"]
