"""What people say at night that is neither a muscle nor a step command (issue 22).

Hold-on words pause without closing the session; "the other leg" keeps the same steps; "it's the
front" mid-hamstring switches to the muscle in front; and the few questions asked mid-cramp
("how do I stop this", "can I take a painkiller") get one or two sentences of the spec's own
wording (content phrases), then lead back to the step in progress.
"""

from __future__ import annotations

from msgspec.structs import replace

from cramp_coach.core.answers import Answers
from cramp_coach.core.model import Event, Profile
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import AskingMuscle, Finished, Idle, InRoutine, Paused
from cramp_coach.core.speak import join
from cramp_coach.core.state import State

_P = Profile | None

# A correction by side of the limb, said during that muscle's steps: (muscle, part) -> muscle.
_FLIP: dict[tuple[str, str], str] = {
    ("HAMSTRING", "FRONT"): "QUADRICEPS",
    ("QUADRICEPS", "BACK"): "HAMSTRING",
    ("CALF", "FRONT"): "SHIN",
    ("SHIN", "BACK"): "CALF",
}
# Question event -> the phrase that answers it (content/en/phrases.json, PROTOCOLS wording).
QUESTIONS: dict[str, str] = {
    "why": "answer_why",
    "again": "answer_again",
    "heat_ice": "answer_heat_ice",
    "painkiller": "answer_painkiller",
}


class NightAnswers:
    def __init__(self, answers: Answers) -> None:
        self.a = answers
        self.s = answers.s

    def _in_steps(self, st: State) -> bool:
        return st.routine is not None and isinstance(st.phase, InRoutine | Paused)

    def _back_to_step(self, st: State, lead: str) -> Outcome:
        """``lead``, then where the steps are, the session kept open."""
        routine = st.routine
        assert routine is not None
        here = self.s.p("where_we_are", step=routine.step + 1, name=self.s.name(routine))
        tail = self.a.routines.prompt(routine)
        return self.s.say(st, join(lead, here, tail), self.s.p("reprompt_step"))

    def hold_on(self, st: State, e: Event, profile: _P) -> Outcome:
        """Wait with the session open; the place is saved so a later "continue" resumes."""
        if self._in_steps(st):
            routine = st.routine
            assert routine is not None
            out = self.s.say(st.with_phase(Paused(routine)), self.s.p("hold_on"),
                             self.s.p("hold_on_reprompt"))  # fmt: skip
            return replace(out, save_resume=True)
        return self.s.say(st, self.s.p("hold_on_idle"), self.s.p("ask_muscle_reprompt"))

    def other_side(self, st: State, e: Event, profile: _P) -> Outcome:
        """Either leg takes the same steps: say so, and the step again."""
        if not self._in_steps(st):
            return self.a.ask_muscle(st, e, profile)
        routine = st.routine
        assert routine is not None
        lead = self.s.p("other_side")
        return self.a.routines.speak(st.with_phase(InRoutine(routine)), routine, lead=lead)

    def how_to_stop(self, st: State, e: Event, profile: _P) -> Outcome:
        """Mid-cramp, "how do I stop this" wants the step in progress, not bedtime tips.
        During the bedtime stretch it means a cramp now: which muscle?"""
        routine = st.routine
        if not self._in_steps(st) or (routine is not None and routine.track == "bedtime"):
            return self.a.ask_muscle(st, e, profile)
        assert routine is not None
        return self.a.routines.speak(st.with_phase(InRoutine(routine)), routine)

    def question(self, st: State, e: Event, profile: _P) -> Outcome:
        text = self.s.p(QUESTIONS[e.kind])
        if self._in_steps(st):
            return self._back_to_step(st, text)
        if e.kind == "again" and st.routine is None and not st.ctx.bedtime_offered:
            # "What do I do if it happens again", after the cramp: the bedtime stretch, offered.
            return self.a.offer_bedtime(st, text)
        if isinstance(st.phase, Idle | Finished):
            st = st.with_phase(AskingMuscle())  # the answer ends on the muscle question
        return self.s.say(st, join(text, self.s.p("ask_muscle")), self.s.p("ask_muscle_reprompt"))

    def correct_part(self, st: State, e: Event, profile: _P) -> Outcome:
        """ "Actually it's the front" mid-hamstring: the quadriceps; anything else as before."""
        routine = st.routine
        if routine is None or routine.question in ("choice", "choice_again"):
            return self.a.clarify_in_routine(st, e, profile)  # a choice's answer comes first
        muscle = _FLIP.get((routine.muscle, e.part or ""))
        if muscle is None:
            return self.a.clarify_in_routine(st, e, profile)  # a choice's answer, or the question
        return self.a.cramp_in_routine(st, replace(e, kind="cramp", muscle=muscle), profile)

    def cramp(self, st: State, e: Event, profile: _P) -> Outcome:
        """A bare "back" mid-quadriceps or mid-shin is that limb's back, not the lower back."""
        routine = st.routine
        if routine is not None and e.heard_back:
            muscle = _FLIP.get((routine.muscle, "BACK"))
            if muscle is not None:
                return self.a.cramp_in_routine(st, replace(e, muscle=muscle), profile)
        return self.a.cramp_in_routine(st, e, profile)
