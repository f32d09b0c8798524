"""Handlers that answer or remember rather than move the steps: help, the questions people
ask, the cramp log and its consent, the voice, stopping and the end of a session.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from msgspec.structs import replace

from cramp_coach.content import Content
from cramp_coach.core.model import FREQ_THRESHOLD, FREQ_WINDOW_S, Event, Profile
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import AskingMuscle, Confirming, Finished, Paused
from cramp_coach.core.routine import Routines, log_outcome
from cramp_coach.core.speak import Speaker, join
from cramp_coach.core.state import State

_P = Profile | None


class InfoAnswers:
    routines: Routines  # set by the Conversation
    restate: Callable[[State, Event], Outcome]  # "repeat": set by the Conversation

    def __init__(self, content: Content, speaker: Speaker) -> None:
        self.c = content
        self.s = speaker

    def _tail(self, st: State) -> tuple[str, str | None, bool]:
        """How an answer ends: in a routine the question still open (a leg check is never
        left behind "say next"), else the way on; otherwise goodnight."""
        if st.routine is not None:
            return self.routines.prompt(st.routine), self.s.p("reprompt_step"), False
        return "", None, True

    def _answer(self, st: State, text: str, prefs: dict[str, object] | None = None) -> Outcome:
        tail, reprompt, end = self._tail(st)
        if isinstance(st.phase, Paused):
            st = st.with_phase(Paused(st.phase.routine))
        out = self.s.say(st, join(text, tail), reprompt, end=end)
        if end and st.routine is not None:
            out = replace(out, save_resume=True)
        return replace(out, prefs=dict(prefs or {}))

    def help(self, st: State, e: Event, profile: _P) -> Outcome:
        if st.routine is not None:
            tail = self.routines.prompt(st.routine)  # the question still open, or the way on
            if tail == self.s.p("prompt_next"):
                tail = ""  # the help has just said "say next"
            return self.s.say(st, join(self.s.p("help_routine"), tail), self.s.p("reprompt_step"))
        return self.s.say(st.with_phase(AskingMuscle()), self.s.p("help_idle"),
                          self.s.p("help_reprompt"))  # fmt: skip

    def disclaimer(self, st: State, e: Event, profile: _P) -> Outcome:
        tail = self.s.p("prompt_next") if st.routine is not None else self.s.p("ask_muscle")
        if st.routine is None:
            st = st.with_phase(AskingMuscle())
        return self.s.say(st, join(self.s.p("disclaimer"), tail), self.s.p("generic_reprompt"))

    def repeat(self, st: State, e: Event, profile: _P) -> Outcome:
        return self.restate(st, e)  # rebuilt from the state, never replayed (restate.py)

    def doctor(self, st: State, e: Event, profile: _P) -> Outcome:
        text = join(self.c.doctor_advice.text, self.c.red_flags["RF_FREQ"].script)
        return self._answer(st, text)

    def emergency_number(self, st: State, e: Event, profile: _P) -> Outcome:
        return self._answer(st, join(self.s.p("emergency_number"), self.s.p("urgent_number")))

    def count(self, st: State, e: Event, profile: _P) -> Outcome:
        if st.ctx.log_consent is not True:
            return self._answer(st, self.s.p("count_no_log"))
        recent: list[tuple[float, str]] = []
        if profile is not None:
            pairs = zip(profile.recent_starts, profile.recent_muscles, strict=False)
            recent = [(t, m) for t, m in pairs if e.now - t < FREQ_WINDOW_S]
        seen = {round(t) for t, _ in recent}
        recent += [
            (u.started_at, u.muscle)
            for u in st.ctx.unsaved
            if round(u.started_at) not in seen and e.now - u.started_at < FREQ_WINDOW_S
        ]
        if not recent:
            return self._answer(st, self.s.p("count_none"))
        many = len(recent) > 1
        speech = self.s.p("count_some", count=len(recent)) if many else self.s.p("count_one")
        common, _ = Counter(m for _, m in recent).most_common(1)[0]
        if many and common in self.c.muscles:
            speech = join(speech, self.s.p("count_detail", name=self.c.muscles[common].name))
        if len(recent) >= FREQ_THRESHOLD:
            speech = join(speech, self.c.red_flags["RF_FREQ"].script)
        return self._answer(st, speech)

    def _consent(self, st: State, keep: bool, key: str) -> Outcome:
        """The one way the log is switched on or off: in the session and in the store."""
        after_relief = isinstance(st.phase, Confirming)
        if after_relief:
            st = st.with_phase(Finished())  # the question after relief: answered, goodnight
        st = st.with_context(replace(st.ctx, log_consent=keep))
        if after_relief and not st.ctx.bedtime_offered:
            # Then the bedtime stretch, offered once (PROTOCOLS 3a), instead of goodnight.
            short = {
                "log_consent_yes": "log_consent_yes_offer",
                "log_consent_no": "log_consent_no_offer",
            }
            out = self.offer_bedtime(st, self.s.p(short.get(key, key)))
            return replace(out, prefs={"log_consent": keep})
        return self._answer(st, self.s.p(key), {"log_consent": keep})

    if TYPE_CHECKING:  # defined by EndingAnswers (ending_answers.py), which every Answers has

        def offer_bedtime(self, st: State, lead: str = "", *, tips: bool = False) -> Outcome: ...

    def log_on(self, st: State, e: Event, profile: _P) -> Outcome:
        return self._consent(st, True, "log_on")

    def log_off(self, st: State, e: Event, profile: _P) -> Outcome:
        return self._consent(st, False, "log_off")

    def delete_history(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = st.routine
        if routine is not None:
            st = log_outcome(st, routine, "stopped")
        st = st.with_phase(Confirming("delete"))
        return self.s.say(st, self.s.p("delete_confirm"), self.s.p("yes_no_reprompt"))

    def confirm_yes(self, st: State, e: Event, profile: _P) -> Outcome:
        phase = st.phase
        assert isinstance(phase, Confirming)
        if phase.about == "log_consent":
            return self._consent(st, True, "log_consent_yes")
        # Deleting forgets everything, the 12-hour red-flag memory included.
        st = st.with_context(
            replace(st.ctx, unsaved=(), prior_lock=None, lock_unsaved=None)
        ).with_phase(Finished())
        return replace(self.s.say(st, self.s.p("deleted"), end=True), delete_history=True)

    def confirm_again(self, st: State, e: Event, profile: _P) -> Outcome:
        """ "Next" is no answer to a yes/no question: asked once more, briefly; then no."""
        phase = st.phase
        assert isinstance(phase, Confirming)
        if phase.tries >= 1:
            return self.confirm_no(st, e, profile)
        key = "delete_confirm" if phase.about == "delete" else "log_consent_again"
        st = st.with_phase(replace(phase, tries=1))
        return self.s.say(st, self.s.p(key), self.s.p("yes_no_reprompt"))

    def confirm_no(self, st: State, e: Event, profile: _P) -> Outcome:
        phase = st.phase
        assert isinstance(phase, Confirming)
        if phase.about == "log_consent":
            return self._consent(st, False, "log_consent_no")
        return self.s.say(st.with_phase(Finished()), self.s.p("delete_kept"), end=True)

    def voice(self, st: State, e: Event, profile: _P) -> Outcome:
        quiet = e.volume != "NORMAL"
        st = st.with_context(replace(st.ctx, quiet=quiet))
        lead = self.s.p("voice_quiet" if quiet else "voice_normal")
        if st.routine is None:
            st = st.with_phase(AskingMuscle())
            out = self.s.say(
                st, join(lead, self.s.p("ask_muscle")), self.s.p("ask_muscle_reprompt")
            )
        else:
            out = self.routines.speak(st, st.routine, lead=lead)
        return replace(out, prefs={"quiet": quiet})

    def fallback_idle(self, st: State, e: Event, profile: _P) -> Outcome:
        st = st.with_phase(AskingMuscle())
        return self.s.say(st, self.s.p("fallback_idle"), self.s.p("ask_muscle_reprompt"))

    def better_idle(self, st: State, e: Event, profile: _P) -> Outcome:
        st = st.with_phase(Finished())
        speech = join(
            self.s.p("better_no_routine"), self.c.reassurance.text, self.closing_warning()
        )
        return self.s.say(st, speech, end=True)

    def closing_warning(self) -> str:
        """What to watch for afterwards, said after the reassurance (PROTOCOLS 3)."""
        warning = self.c.aftercare_warning
        return warning.text if warning else ""

    def stop(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = st.routine
        if routine is None:
            return self.s.say(st, self.s.p("stop"), end=True)
        st = log_outcome(st, routine, "stopped")
        key = "bedtime_stop" if routine.track == "bedtime" else "stop_in_routine"
        out = self.s.say(st, self.s.p(key), end=True)
        return replace(out, save_resume=True, routine_ended="stopped")

    def session_ended(self, st: State, e: Event, profile: _P) -> Outcome:
        # Silence or an error closed the session: keep the routine for a later "continue".
        routine = st.routine
        out = Outcome(state=st, speech="", end_session=True)
        if routine is None:
            return out
        # The entry may be stored already: writing it again (same rid) updates its outcome.
        st = log_outcome(st, routine, "interrupted")
        return replace(out, state=st, save_resume=True, routine_ended="interrupted")
