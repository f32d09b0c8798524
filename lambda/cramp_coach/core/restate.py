"""What "repeat" says: rebuilt from the state and the content, never replayed from the session.

Session attributes come back from the client. Replaying a stored sentence would speak whatever
a client put there (unescaped, unbounded), so the state keeps only *where* the conversation is,
and this module says it again from the content: the step with its count, the question that is
open, the red-flag advice of the lock, or the answer just given (`Context.answered`).
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec.structs import replace

from cramp_coach.content import Content
from cramp_coach.core.model import Event
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import (
    PRIOR_QUESTIONS,
    AskingMuscle,
    Checking,
    Clarifying,
    Confirming,
    InRoutine,
    Locked,
    Offered,
    Paused,
    PriorCheck,
    ResumeOffer,
    Routine,
)
from cramp_coach.core.routine import Routines
from cramp_coach.core.speak import Speaker, join
from cramp_coach.core.state import State

# Given an answered kind and the state, the handler that answers it (None: not here).
AnswerFor = Callable[[State, str], Callable[..., Outcome] | None]


class Restater:
    def __init__(self, content: Content, speaker: Speaker, routines: Routines) -> None:
        self.c = content
        self.s = speaker
        self.r = routines

    def __call__(self, st: State, e: Event, answer_for: AnswerFor) -> Outcome:
        """The last turn's words again; the state does not move."""
        kind = st.ctx.answered
        handler = answer_for(st, kind) if kind is not None else None
        said = handler(st, replace(e, kind=kind), None) if handler and kind else self.here(st)
        # Only the words: repeating never changes the place, stores nothing, ends nothing.
        return Outcome(
            state=st,
            speech=said.speech,
            reprompt=said.reprompt,
            card_title=said.card_title,
            card_text=said.card_text,
            screen=said.screen,
        )

    def here(self, st: State) -> Outcome:
        """What the phase says when it is reached: its question, its step, its advice."""
        phase, p = st.phase, self.s.p
        if isinstance(phase, Locked):
            return self.locked(st, phase)
        if isinstance(phase, InRoutine | Paused):
            return self._routine(st, phase.routine)
        if isinstance(phase, Checking):
            return self.s.say(st, self.s.safety_question(phase.about), p("yes_no_reprompt"))
        if isinstance(phase, Clarifying):
            question = self.c.vague[phase.vague].question or p("ask_muscle")
            return self.s.say(st, question, question)
        if isinstance(phase, ResumeOffer):
            name = self.s.name(phase.routine)
            speech = p("resume_offer", step=phase.routine.step + 1, name=name)
            return self.s.say(st, speech, p("resume_offer_reprompt"))
        if isinstance(phase, PriorCheck):
            return self.s.say(st, p(PRIOR_QUESTIONS[phase.question]), p("yes_no_reprompt"))
        if isinstance(phase, Confirming):
            key = "delete_confirm" if phase.about == "delete" else "log_consent_ask"
            return self.s.say(st, p(key), p("yes_no_reprompt"))
        if isinstance(phase, Offered):
            if phase.what == "reminder":
                return self.s.say(st, p("reminder_offer"), p("yes_no_reprompt"))
            offer = p("bedtime_prevention_offer") if phase.tips else self.c.bedtime.offer.text
            return self.s.say(st, offer, p("yes_no_reprompt"))
        # Idle, AskingMuscle, Finished: which muscle, after the 12-hour advice if there is one.
        lock = st.ctx.prior_lock
        lead = join(p("prior_lock"), self.s.advice([lock.flag])) if lock else ""
        asking = st if isinstance(phase, AskingMuscle) else st.with_phase(AskingMuscle())
        return self.s.say(asking, join(lead, p("ask_muscle")), p("ask_muscle_reprompt"))

    def locked(self, st: State, phase: Locked) -> Outcome:
        """The most serious advice of the lock, its number, and the question still open."""
        p = self.s.p
        tail = p("breath_check") if phase.asking_breath else p("red_flag_reprompt")
        reprompt = (
            p("yes_no_reprompt") if phase.asking_breath else self.s.red_flag_reprompt([phase.flag])
        )
        out = self.s.say(st, join(self.s.advice([phase.flag]), tail), reprompt)
        return replace(out, screen=self.s.red_flag_screen([phase.flag]))

    def _routine(self, st: State, routine: Routine) -> Outcome:
        p = self.s.p
        if routine.check in ("asking", "asking_again"):
            return self.s.say(st, self.r.check_text(routine), p("yes_no_reprompt"))
        if routine.question == "check_breath":
            return self.s.say(st, self.s.safety_question("breath"), p("yes_no_reprompt"))
        if routine.question in ("leg", "breath", "heat", "blood"):
            return self.s.say(st, self.s.safety_question(routine.question), p("yes_no_reprompt"))
        if routine.question == "end_of_steps":
            speech = p("end_of_steps_question", name=self.s.name(routine))
            return self.s.say(st, speech, p("yes_no_reprompt"))
        # The step itself, counted as before (a position-first step waits for "next" again).
        return self.r.speak(st, routine)
