"""The bedtime stretch (PROTOCOLS 3a, P-BED) and its nightly reminder (issue 24).

The stretch is a routine like a cramp's (id BEDTIME on the track "bedtime"): the same steps,
counts, navigation, pause and resume, screen. This module only reaches it: asked for by
voice, offered once (end of aftercare, RF-FREQ, the prevention answer), never in place of
help during a cramp; and it decides the reminder: the adapter makes the API calls
(`Outcome.reminder`), the core has already worded every result.
"""

from __future__ import annotations

from msgspec.structs import replace

from cramp_coach.content import BEDTIME
from cramp_coach.core.answers import Answers
from cramp_coach.core.clock import reminder_time, spoken_time
from cramp_coach.core.model import Event, Profile, Reminder
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import (
    AskingMuscle,
    Checking,
    Finished,
    Idle,
    InRoutine,
    Offered,
    Paused,
    PriorCheck,
)
from cramp_coach.core.speak import join
from cramp_coach.core.state import State

_P = Profile | None
# Results after which the reminder's turn ends the session (a bad time asks again).
_ENDS = ("done", "none", "no_permission", "limit", "down")


class BedtimeAnswers:
    def __init__(self, answers: Answers) -> None:
        self.a = answers
        self.s = answers.s
        self.c = answers.c

    # ------------------------------------------------------------------ where we are
    def _cramp_steps(self, st: State) -> bool:
        """A cramp's steps are in progress (or paused): help now comes first."""
        routine = st.routine
        return routine is not None and routine.track != "bedtime"

    def _not_now(self, st: State) -> Outcome:
        """Mid-cramp, the bedtime stretch and its reminder wait: the step in progress."""
        routine = st.routine
        assert routine is not None
        st = st.with_phase(InRoutine(routine))
        here = self.s.p("where_we_are", step=routine.step + 1, name=self.s.name(routine))
        speech = join(self.s.p("bedtime_after_cramp"), here, self.s.p("prompt_next"))
        return self.s.say(st, speech, self.s.p("reprompt_step"))

    # ------------------------------------------------------------------ the stretch
    def bedtime(self, st: State, e: Event, profile: _P) -> Outcome:
        """ "My bedtime stretch": the routine, from step 1 (or where it is, when it runs)."""
        if self._cramp_steps(st):
            return self._not_now(st)
        routine = st.routine
        if routine is not None:  # the stretch itself, running or paused: carry on
            return self.a.resume_here(st, e, profile)
        if isinstance(st.phase, Checking | PriorCheck):
            return self.a.restate(st, e)  # a safety question is open: it is asked again
        return self.start(st, e)

    def start(self, st: State, e: Event, lead: str = "") -> Outcome:
        st = st.with_phase(Idle()).with_context(replace(st.ctx, bedtime_offered=True))
        return self.a.start(st, BEDTIME, e, lead=lead)  # a 12-hour warning is heard first

    def offer(self, st: State, lead: str = "", *, tips: bool = False) -> Outcome:
        return self.a.offer_bedtime(st, lead, tips=tips)

    def prevention(self, st: State, e: Event, profile: _P) -> Outcome:
        """How to prevent cramps: the stretch with its honest evidence, offered, not a list."""
        if self._cramp_steps(st):
            return self._not_now(st)
        if st.routine is not None:
            return self.a.where_we_are(st, e, profile)
        return self.offer(st, self.s.p("bedtime_prevention"), tips=True)

    def offer_yes(self, st: State, e: Event, profile: _P) -> Outcome:
        phase = st.phase
        assert isinstance(phase, Offered)
        if phase.what == "bedtime":
            return self.start(st, e)
        return self.s.say(st, self.s.p("reminder_ask_time"), self.s.p("reminder_ask_time"))

    def offer_no(self, st: State, e: Event, profile: _P) -> Outcome:
        phase = st.phase
        assert isinstance(phase, Offered)
        st = st.with_phase(Finished())
        if phase.tips:
            # The rest of the prevention advice (never the stretch twice, never a cure).
            tips = [t.text for t in self.c.prevention[2:]]
            lead = join(self.s.p("prevention_other_tips"), *tips)
            return self.s.say(st, join(lead, self.s.p("prevention_done")), end=True)
        return self.s.say(st, self.s.p("bedtime_declined"), end=True)

    # ------------------------------------------------------------------ the reminder
    def reminder(self, st: State, e: Event, profile: _P) -> Outcome:
        """ "Remind me every night at ten": a reminder the adapter creates."""
        if self._cramp_steps(st):
            return self._not_now(st)
        when = reminder_time(e.time, self.c.number_words)
        if when is None:
            st = st.with_phase(Offered("reminder"))
            ask = self.s.p("reminder_ask_time")
            return self.s.say(st, ask, ask)
        return self.create(st, *when)

    def create(self, st: State, hour: int, minute: int) -> Outcome:
        p = self.s.p
        say = {
            "am": p("time_am"), "pm": p("time_pm"), "oh": p("time_oh"),
            "midnight": p("time_midnight"),
        }  # fmt: skip
        time = spoken_time(hour, minute, say, self.c.number_words)
        answers = {
            "done": p("reminder_set", time=time),
            "ask_permission": p("reminder_ask_permission"),
            "no_permission": p("reminder_no_permission"),
            "bad_time": p("reminder_bad_time"),
            "limit": p("reminder_limit"),
            "down": p("reminder_down"),
        }
        text = self.c.bedtime.reminder_text.text
        create = Reminder("create", hour, minute, text, tuple(answers.items()), _ENDS)
        return self._reminder(st, create)

    def stop_reminder(self, st: State, e: Event, profile: _P) -> Outcome:
        """ "Stop reminding me": every reminder this skill made is deleted."""
        if self._cramp_steps(st):
            return self._not_now(st)
        p = self.s.p
        answers = {
            "done": p("reminder_cancelled"),
            "none": p("reminder_none"),
            "no_permission": p("reminder_none"),  # without the permission, none can exist
            "down": p("reminder_cancel_down"),
        }
        ends = ("done", "none", "no_permission", "down")
        cancel = Reminder("cancel", answers=tuple(answers.items()), ends=ends)
        return self._reminder(st, cancel)

    def _reminder(self, st: State, reminder: Reminder) -> Outcome:
        if st.routine is None or isinstance(st.phase, Offered):
            st = st.with_phase(Finished())
        elif isinstance(st.phase, InRoutine):
            st = st.with_phase(Paused(st.routine))
        out = self.s.say(st, reminder.answer("done"), self.s.p("reminder_ask_time"), end=True)
        return replace(out, reminder=reminder, save_resume=st.routine is not None)

    def permission(self, st: State, e: Event, profile: _P) -> Outcome:
        """Alexa's answer to the permission request (Connections.Response): granted, the
        reminder asked for (its time rode in the request's token); otherwise nothing."""
        when = reminder_time(e.time, self.c.number_words)
        if e.permission == "ACCEPTED" and when is not None:
            return self.create(st, *when)
        st = st.with_phase(Finished()) if st.routine is None else st
        return self.s.say(st, self.s.p("reminder_denied"), end=True)

    def still_cramping(self, st: State, e: Event, profile: _P) -> Outcome:
        """A cramp during the stretch is help now: which muscle?"""
        return self.a.ask_muscle(st.with_phase(AskingMuscle()), e, profile)
