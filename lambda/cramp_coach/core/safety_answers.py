"""The safety handlers: raising a red flag, the closed lock, flags that change the steps, and
the safety question for words the skill could not place. They come first in every turn.
"""

from __future__ import annotations

from dataclasses import replace

from cramp_coach.core.info import InfoAnswers
from cramp_coach.core.model import (
    Event,
    Outcome,
    Profile,
)
from cramp_coach.core.routine import log_outcome
from cramp_coach.core.safety import CLOT_FLAGS, severity
from cramp_coach.core.speak import join
from cramp_coach.core.state import (
    About,
    Checking,
    InRoutine,
    Level,
    Locked,
    LockRecord,
    Question,
    State,
    person,
)

_P = Profile | None


class SafetyAnswers(InfoAnswers):
    # ================================================================== safety
    def raise_red_flag(self, st: State, e: Event, ids: list[str]) -> Outcome:
        ordered = sorted(dict.fromkeys(ids), key=lambda i: (severity(i, self.c), i != "RF_PREG"))
        flags = ordered[:2]
        primary = flags[0]
        emergency = any(self.c.red_flags[f].level == "emergency" for f in flags)
        routine = st.routine
        parts = [self.s.advice(flags)]
        if routine is not None:
            st = log_outcome(st, routine, f"red_flag:{primary}")
            parts.append(self.c.closing_after_red_flag.text)
        clot = not emergency and any(f in CLOT_FLAGS for f in flags)
        # A possible clot: ask about breathing next; "yes" there is RF-PE.
        tail = self.s.p("breath_check" if clot else "red_flag_reprompt")
        muscle = routine.muscle if routine else (e.muscle if e.muscle in self.c.muscles else None)
        level: Level = "emergency" if emergency else "urgent"
        record = LockRecord(primary, level, muscle, e.now, about=person(st, e))
        prior = st.ctx.prior_lock
        if prior is not None and severity(prior.flag, self.c) < severity(primary, self.c):
            record = prior  # the 12-hour memory never falls to a less serious flag
        st = st.with_phase(Locked(primary, level, asking_breath=clot)).with_context(
            replace(st.ctx, lock_unsaved=record, clear_resume=True)
        )
        return Outcome(
            state=st,
            speech=join(*parts, tail),
            reprompt=self.s.p("yes_no_reprompt" if clot else "red_flag_reprompt"),
            card_title=self.s.p("card_help_title"),
            card_text=" ".join(self.c.red_flags[f].script for f in flags),
            red_flag_raised=primary,
            routine_ended="red_flag" if routine is not None else None,
            screen=self.s.red_flag_screen(flags),
        )

    def locked(self, st: State, e: Event, profile: _P) -> Outcome:
        """The closed lock: a few events do what they say; everything else repeats the advice."""
        phase = st.phase
        assert isinstance(phase, Locked)
        if phase.asking_breath and e.kind == "yes":
            return self.raise_red_flag(st, e, ["RF_PE", phase.flag])
        if e.kind == "stop":
            return self.s.say(st, self.s.p("stop_locked"), end=True)
        if e.kind == "repeat":
            return self.restate(st, e)
        if e.kind == "disclaimer":
            return self.s.say(
                st, join(self.s.p("disclaimer"), self.s.p("red_flag_reprompt")),
                self.s.p("red_flag_reprompt"),
            )  # fmt: skip
        if e.kind == "emergency_number":
            return self.s.say(
                st, join(self._numbers(), self.s.p("red_flag_reprompt")),
                self.s.p("red_flag_reprompt"),
            )  # fmt: skip
        if phase.asking_breath and e.kind == "no":
            st = st.with_phase(replace(phase, asking_breath=False))
        # Short: the most serious advice and its number, then the offer to hear it all again.
        flags = [phase.flag]
        speech = join(self.s.advice(flags), self.s.p("red_flag_reprompt"))
        out = self.s.say(st, speech, self.s.p("red_flag_reprompt"))
        return replace(out, screen=self.s.red_flag_screen(flags))

    def _numbers(self) -> str:
        return join(self.s.p("emergency_number"), self.s.p("urgent_number"))

    def take_flags(
        self, st: State, e: Event, flags: tuple[str, ...], lead: str
    ) -> tuple[State, str, Outcome | None]:
        """Pregnancy, a child, heat or exercise: remembered; heat asks its question first."""
        texts: list[str] = []
        for flag in flags:
            if flag in st.ctx.flags:
                continue
            st = st.with_context(replace(st.ctx, flags=(*st.ctx.flags, flag)))
            if flag == "EXERCISE_HEAT":
                question = join(lead, *texts, self.c.flags["EXERCISE_HEAT"].text)
                return st, "", self._ask(st, e, "heat", question)
            if flag == "PREGNANT":
                alone = st.ctx.variant == "alone"
                texts.append(self.c.flags["PREGNANT_ALONE" if alone else "PREGNANT"].text)
            else:
                texts.append(self.c.flags[flag].text)
        return st, join(*texts), None

    def _ask(self, st: State, e: Event, about: About, speech: str) -> Outcome:
        routine = st.routine
        if routine is not None:
            question: Question = (
                "heat" if about == "heat" else "leg" if about == "leg" else "breath"
            )
            st = st.with_phase(InRoutine(replace(routine, question=question)))
        else:
            muscle = e.muscle if e.muscle in self.c.muscles else None
            st = st.with_phase(Checking(about, muscle))
        return self.s.say(st, speech, self.s.p("yes_no_reprompt"))

    def safety_question(self, st: State, e: Event, profile: _P, lead: str = "") -> Outcome:
        """Words we could not place: one short yes/no safety question, and the place is kept."""
        routine = st.routine
        muscle = routine.muscle if routine else e.muscle
        leg = muscle is None or muscle not in self.c.muscles or self.c.muscles[muscle].leg
        check_open = routine is None or routine.check != "clear"
        about: About = "leg" if leg and check_open else "breath"
        question = self.c.safety_check.text if about == "leg" else self.s.p("breath_check")
        opener = self.s.p(
            "fallback_routine" if e.kind in ("fallback", "clarify") else "safety_unsure"
        )
        return self._ask(st, e, about, join(lead, opener, question))

    # -- the answers to a safety question outside a routine
