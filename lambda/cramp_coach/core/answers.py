"""What each event does in each phase: the handlers named in the tables (phase_tables.py).

Each handler takes (state, event, profile) and returns an Outcome with a new state. The
safety handlers live in safety_answers.py, starting a routine in start_answers.py, its end in
ending_answers.py, answers that do not move the steps in info.py; this file holds the handlers
inside a routine.
"""

from __future__ import annotations

from msgspec.structs import replace

from cramp_coach.core.model import Event, Profile
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import (
    AskingMuscle,
    Checking,
    Clarifying,
    Finished,
    InRoutine,
    Locked,
    Paused,
    Routine,
    Variant,
)
from cramp_coach.core.routine import log_outcome
from cramp_coach.core.speak import join
from cramp_coach.core.start_answers import StartAnswers
from cramp_coach.core.state import State

_P = Profile | None


class Answers(StartAnswers):
    def _r(self, st: State) -> Routine:
        routine = st.routine
        assert routine is not None  # only the routine tables call these handlers
        return routine

    # ================================================================== in a routine
    def next(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        if routine.check in ("asking", "asking_again"):
            return self._check_unclear(st, e, profile)
        if routine.question == "position":
            if routine.repeating:  # back in position after "still cramping": a hold repeated
                routine = replace(routine, repeats=routine.repeats + 1, repeating=False)
            return self.routines.speak(st, routine, counting=True)
        if routine.question == "end_of_steps":
            # "Next" is no answer to "Has the cramp eased?": asked again, briefly.
            return self.s.say(st, self.s.p("end_of_steps_again"), self.s.p("yes_no_reprompt"))
        lead = self.s.p("skipping") if e.kind == "skip" else ""
        if e.kind == "skip" and routine.track == "bedtime":
            return self._skip_stretch(st, routine, lead)
        if routine.question in ("offer", "choice", "choice_again"):
            return self.routines.skip_asked(st, routine, lead=lead)  # next: none of it
        return self.routines.advance(st, routine, lead=lead)

    def _skip_stretch(self, st: State, routine: Routine, lead: str) -> Outcome:
        """Skip in the bedtime stretch: on to the next setup (the seated stretch for anyone
        not steady on their feet, G4), else the next step."""
        steps = self.routines.steps(st, routine)
        later = [i for i in range(routine.step + 1, len(steps)) if steps[i].phase == "setup"]
        if not later:
            return self.routines.advance(st, routine, lead=lead)
        moved = replace(routine, step=later[0], question=None)
        return self.routines.speak(st.with_phase(InRoutine(moved)), moved, lead=lead)

    def _check_unclear(self, st: State, e: Event, profile: _P) -> Outcome:
        """Anything but a clear answer to the leg check asks once more, then carries on."""
        routine = self._r(st)
        if routine.check == "asking":
            st = st.with_phase(InRoutine(replace(routine, check="asking_again")))
            speech = join(self.s.p("yes_or_no_first"), self.routines.check_text(routine))
            return self.s.say(st, speech, self.s.p("yes_no_reprompt"))
        # Unclear twice: no rub until a clear no (4.1), and the breathing half of the question
        # is asked on its own, since only a clear no to that leaves the steps going.
        asked = replace(routine, check="unanswered", question="check_breath", retried=False)
        speech = self.s.p("breath_check")
        return self.s.say(st.with_phase(InRoutine(asked)), speech, self.s.p("yes_no_reprompt"))

    def unclear_answer(self, st: State, e: Event, profile: _P, question: str) -> Outcome:
        """An answer that is neither yes nor no: ask once more, then take the safe side."""
        if isinstance(st.phase, Checking):
            return self.check_again(st, e, profile)
        routine = self._r(st)
        if routine.check in ("asking", "asking_again"):
            return self._check_unclear(st, e, profile)  # no rub until a clear no
        if not routine.retried:
            st = st.with_phase(InRoutine(replace(routine, retried=True)))
            speech = join(self.s.p("yes_or_no_first"), self.s.safety_question(question))
            return self.s.say(st, speech, self.s.p("yes_no_reprompt"))
        if question == "leg":
            # The step goes on without its rub: "no rub until a clear no" (4.1).
            unchecked = replace(routine, check="unanswered", question=None, retried=False)
            return self.routines.speak(st.with_phase(InRoutine(unchecked)), unchecked)
        flag = {"heat": "RF_HEAT", "blood": "RF_ISCH"}.get(question, "RF_PE")
        if question == "breath" and not self.routines.is_leg(routine):
            flag = "RF_CHEST"
        return self.raise_red_flag(st, e, [flag], lead=self.s.p("unsure_is_emergency"))

    def says_eased(self, st: State, e: Event) -> bool:
        """A yes to "Has the cramp eased?" is "it's better"; "next" answers nothing, so the
        ten-minute clock (G1) still counts it."""
        routine = st.routine
        if routine is None or e.kind != "yes" or routine.check in ("asking", "asking_again"):
            return False
        last = routine.step + 1 >= len(self.routines.steps(st, routine))
        return routine.question == "end_of_steps" or (routine.question == "easing" and last)

    def yes_in_routine(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        q = routine.question
        if routine.check in ("asking", "asking_again"):
            return self.raise_red_flag(st, e, [self.routines.check_flag(routine)])
        if q == "leg":
            return self.raise_red_flag(st, e, ["RF_DVT"])
        if q == "offer":
            return self.routines.accept(st, routine)
        if q in ("choice", "choice_again"):
            return self.answer_choice(st, e, profile)
        if q in ("breath", "check_breath"):
            return self.raise_red_flag(
                st, e, ["RF_PE" if self.routines.is_leg(routine) else "RF_CHEST"]
            )
        if q == "blood":
            return self.raise_red_flag(st, e, ["RF_ISCH"])
        if q == "heat":
            return self.raise_red_flag(st, e, ["RF_HEAT"])
        last = routine.step + 1 >= len(self.routines.steps(st, routine))
        if q == "end_of_steps" or (q == "easing" and last):
            return self.better(st, e, profile)
        return self.next(st, e, profile)

    def no_in_routine(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        q = routine.question
        if routine.check in ("asking", "asking_again"):
            cleared = replace(routine, check="clear", question=None)
            return self.routines.advance(st.with_phase(InRoutine(cleared)), cleared)
        if q == "leg":
            # After the safety question's "no", the step in progress again, whole (4.1). The
            # shared question does not ask a muscle's own check (the shin's compartment
            # question): that one is still asked before its rub.
            own = self.c.routine_muscle(routine.muscle).check is not None
            check = routine.check if own else "clear"
            cleared = replace(routine, check=check, question=None, retried=False)
            return self.routines.speak(st.with_phase(InRoutine(cleared)), cleared)
        if q in ("easing", "end_of_steps"):
            return self.still_cramping(st, e, profile)
        if q == "check_breath":
            calm = replace(routine, question=None, retried=False)
            return self.routines.advance(st.with_phase(InRoutine(calm)), calm)
        if q in ("breath", "heat", "blood"):
            calm = replace(routine, question=None, retried=False)
            return self.routines.speak(st, calm, lead=self.s.p("okay"))
        if q == "position":
            return self.s.say(st, self.s.p("position_wait"), self.s.p("position_wait"))
        if q in ("offer", "choice", "choice_again"):
            return self.routines.skip_asked(st, routine, lead=self.s.p("okay"))
        return self.s.say(st, self.s.p("no_question_no"), self.s.p("reprompt_step"))

    def answer_choice(self, st: State, e: Event, profile: _P) -> Outcome:
        """Words that pick one step of a choice; anything else asks once more, then goes on."""
        routine = self._r(st)
        chosen = self.routines.choose(st, routine, e)
        if chosen is not None:
            return chosen
        if routine.question == "choice":
            again = replace(routine, question="choice_again")
            return self.routines.speak(st, again, lead=self.s.p("choice_again"))
        return self.routines.skip_asked(st, routine, lead=self.s.p("choice_left_out"))

    def clarify_in_routine(self, st: State, e: Event, profile: _P) -> Outcome:
        """ "Under", "up", "ice": the answer to a choice; otherwise words we could not place."""
        if self._r(st).question in ("choice", "choice_again"):
            return self.answer_choice(st, e, profile)
        return self.safety_question(st, e, profile)

    def previous(self, st: State, e: Event, profile: _P) -> Outcome:
        return self.routines.previous(st, self._r(st))

    def start_over(self, st: State, e: Event, profile: _P) -> Outcome:
        return self.routines.start_over(st, self._r(st))

    def better(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        if routine.track == "bedtime":
            return self.next(st, replace(e, kind="next"), profile)  # no cramp to ease
        if routine.check in ("asking", "asking_again"):
            return self._check_unclear(st, e, profile)
        return self.routines.better(st, routine)

    def still_cramping(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        if routine.track == "bedtime":
            # A cramp during the bedtime stretch: help now, which muscle?
            return self.ask_muscle(st.with_phase(AskingMuscle()), e, profile)
        if routine.check in ("asking", "asking_again"):
            return self._check_unclear(st, e, profile)
        return self.routines.still_cramping(st, routine)

    def hurts(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        if routine.track == "bedtime":
            # G2: a stretch that hurts stops; enough for tonight.
            st = st.with_phase(Finished()).with_context(replace(st.ctx, clear_resume=True))
            speech = join(self.c.gentle_stop.text, self.s.p("bedtime_hurts"))
            return self.s.say(st, speech, end=True)
        return self.routines.hurts(st, routine)

    def hold_time(self, st: State, e: Event, profile: _P) -> Outcome:
        if st.routine is not None:
            return self.routines.hold_time(st, st.routine)
        return self.s.say(st.with_phase(AskingMuscle()),
                          join(self.c.hold_advice.text, self.s.p("ask_muscle")),
                          self.s.p("ask_muscle_reprompt"))  # fmt: skip

    def cramp_in_routine(self, st: State, e: Event, profile: _P) -> Outcome:
        routine, m = self._r(st), e.muscle
        if routine.question in ("choice", "choice_again") and m not in self.c.muscles:
            return self.answer_choice(st, e, profile)  # "pulling up" heard as a muscle
        if m == "LOWER_BACK" and e.heard_back and routine.muscle != "LOWER_BACK":
            return self.routines.previous(st, routine)  # a bare "back" means the step before
        if m in self.c.muscles and m != routine.muscle:
            st = log_outcome(st, routine, "switched_muscle")
            name = self.c.muscles[m].name
            # The same cramp keeps its ten-minute clock; a cramp during the bedtime stretch
            # starts one now.
            now = e.now if routine.track == "bedtime" else routine.started_at
            out = self.start(st, m, replace(e, now=now), lead=self.s.p("switch_muscle", name=name))
            return replace(out, routine_ended="switched_muscle")
        vague = self.c.vague.get(m or "")
        if vague is not None and routine.muscle not in vague.choices and vague.default is None:
            st = log_outcome(st, routine, "switched_muscle")
            return self.s.say(
                st.with_phase(Clarifying(vague.id)), vague.question or "", vague.question
            )
        return self.where_we_are(st, e, profile)

    def where_we_are(self, st: State, e: Event, profile: _P) -> Outcome:
        """Keep the place without re-counting a hold."""
        routine = self._r(st)
        speech = self.s.p("where_we_are", step=routine.step + 1, name=self.s.name(routine))
        tail = self.routines.prompt(routine)
        return self.s.say(st, join(speech, tail), self.s.p("reprompt_step"))

    def resume_here(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        st = st.with_phase(InRoutine(routine))
        if routine.question is not None or routine.check in ("asking", "asking_again"):
            return self.restate(st, e)  # a question is open: ask it again, don't skip past it
        return self.routines.speak(st, routine)

    def routine_advice_done(self, st: State, e: Event, profile: _P) -> Outcome:
        return self.s.say(st, self.s.p("routine_advice_continue"), self.s.p("reprompt_step"))

    def pause(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        speech = self.s.p("pause", step=routine.step + 1, name=self.s.name(routine))
        return replace(
            self.s.say(st.with_phase(Paused(routine)), speech, end=True), save_resume=True
        )

    def variant(self, st: State, e: Event, profile: _P) -> Outcome:
        new: Variant = "alone" if e.kind == "alone" else "partner"
        prefs = {"default_variant": new}
        routine = st.routine
        if routine is None or isinstance(st.phase, Locked):
            st = st.with_context(replace(st.ctx, variant=new, variant_known=True)).with_phase(
                AskingMuscle()
            )
            lead = self.s.p("now_alone" if new == "alone" else "now_partner")
            out = self.s.say(
                st, join(lead, self.s.p("ask_muscle")), self.s.p("ask_muscle_reprompt")
            )
            return replace(out, prefs=prefs)
        out = self.routines.switch_variant(
            st.with_context(replace(st.ctx, variant_known=True)), routine, new
        )
        return replace(
            out, state=out.state.with_context(replace(out.state.ctx, variant=new)), prefs=prefs
        )
