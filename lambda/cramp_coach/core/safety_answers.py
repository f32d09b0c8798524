"""The safety handlers: raising a red flag, the closed lock, flags that change the steps, and
the safety question for words the skill could not place. They come first in every turn.
"""

from __future__ import annotations

from msgspec.structs import replace

from cramp_coach.content import Content
from cramp_coach.core.info import InfoAnswers
from cramp_coach.core.model import Event, Profile
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import (
    About,
    AskingMuscle,
    Checking,
    InRoutine,
    Level,
    Locked,
    Question,
)
from cramp_coach.core.routine import log_outcome
from cramp_coach.core.safety import CLOT_FLAGS, Finding, read_words, severity
from cramp_coach.core.speak import join, plain
from cramp_coach.core.state import LockRecord, State, person

_P = Profile | None


def _names_breathing(text: str, content: Content) -> bool:
    return "BREATH" in read_words((text,), content, None, set()).concepts


# Events that carry only words: they may answer an open safety question.
_WORDS = frozenset({"symptom", "fallback", "clarify", "dont_know", "still_cramping"})
# Moving on is no answer to a safety question (PROTOCOLS 4.1: a miss is never a step).
_NOT_AN_ANSWER = frozenset({"next", "skip", "resume", "better", "still_cramping"})
# Events the lock answers itself, whatever question is open.
_NOT_ANSWERS = frozenset(
    {"stop", "repeat", "disclaimer", "emergency_number", "help", "session_ended"}
)


class SafetyAnswers(InfoAnswers):
    # ================================================================== safety
    def raise_red_flag(self, st: State, e: Event, ids: list[str], lead: str = "") -> Outcome:
        ordered = sorted(dict.fromkeys(ids), key=lambda i: (severity(i, self.c), i != "RF_PREG"))
        # Only the most serious level is spoken: "call now" is never followed by "check today".
        top = self.c.red_flags[ordered[0]].level
        flags = [f for f in ordered if self.c.red_flags[f].level == top][:2]
        primary = flags[0]
        emergency = any(self.c.red_flags[f].level == "emergency" for f in flags)
        routine = st.routine
        advice = self.s.advice(flags)
        parts = [lead, advice]
        if routine is not None:
            st = log_outcome(st, routine, f"red_flag:{primary}")
            parts.append(self.c.closing_after_red_flag.text)
        clot = not emergency and any(f in CLOT_FLAGS for f in flags)
        # A possible clot: ask about breathing next; "yes" there is RF-PE.
        tail = self.s.p("breath_check" if clot else "red_flag_reprompt")
        muscle = routine.muscle if routine else e.muscle
        muscle = muscle if muscle in self.c.muscles else None  # the bedtime stretch: none
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
            reprompt=self.s.p("yes_no_reprompt") if clot else self.s.red_flag_reprompt(flags),
            card_title=self.s.p("card_help_title"),
            card_text=plain(advice),
            red_flag_raised=primary,
            routine_ended="red_flag" if routine is not None else None,
            screen=self.s.red_flag_screen(flags, advice),
        )

    def locked(self, st: State, e: Event, profile: _P, finding: Finding | None = None) -> Outcome:
        """The closed lock: a few events do what they say; everything else repeats the advice."""
        phase = st.phase
        assert isinstance(phase, Locked)
        if phase.asking_breath and e.kind not in _NOT_ANSWERS:
            answer = self.as_answer("breath", e, finding if finding is not None else Finding()).kind
            if answer == "yes":
                return self.raise_red_flag(st, e, ["RF_PE", phase.flag])
            if answer == "doubt":
                lead = self.s.p("unsure_is_emergency")
                return self.raise_red_flag(st, e, ["RF_PE", phase.flag], lead=lead)
            if answer == "unclear" and e.kind in _WORDS:
                if phase.breath_retried:
                    # Unclear twice: treat it as an emergency (PROTOCOLS 4.1).
                    lead = self.s.p("unsure_is_emergency")
                    return self.raise_red_flag(st, e, ["RF_PE", phase.flag], lead=lead)
                st = st.with_phase(replace(phase, breath_retried=True))
                speech = join(self.s.p("yes_or_no_first"), self.s.p("breath_check"))
                return self.s.say(st, speech, self.s.p("yes_no_reprompt"))
            if answer == "no":
                st = st.with_phase(replace(phase, asking_breath=False))
        phase = st.phase
        assert isinstance(phase, Locked)
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
            # In an emergency, the number to call and nothing softer after it.
            call = self.s.call([phase.flag])
            return self.s.say(
                st, join(call or self._numbers(), self.s.p("red_flag_reprompt")),
                self.s.red_flag_reprompt([phase.flag]),
            )  # fmt: skip
        # Short: the most serious advice and its number, then the question still open, or the
        # offer to hear it all again.
        flags = [phase.flag]
        tail = self.s.p("breath_check" if phase.asking_breath else "red_flag_reprompt")
        reprompt = (
            self.s.p("yes_no_reprompt") if phase.asking_breath else self.s.red_flag_reprompt(flags)
        )
        out = self.s.say(st, join(self.s.advice(flags), tail), reprompt)
        return replace(out, screen=self.s.red_flag_screen(flags))

    # -- answers to the skill's own safety questions (PROTOCOLS 4.1)
    def open_question(self, st: State) -> About | None:
        """The yes/no safety question the last turn asked, outside the lock."""
        phase = st.phase
        if isinstance(phase, Checking):
            return phase.about
        routine = st.routine
        if not isinstance(phase, InRoutine) or routine is None:
            return None
        if routine.check in ("asking", "asking_again"):
            return "leg"
        if routine.question in ("leg", "breath", "heat", "blood"):
            return routine.question
        if routine.question == "check_breath":
            return "breath"
        return None

    def as_answer(
        self, question: About, e: Event, finding: Finding, about_breath: bool = False
    ) -> Event:
        """The event as an answer: kind "yes", "no", "doubt", "unclear", or itself when it is no
        answer.

        A symptom named ("yes she's a bit breathless", "her leg's red") is yes. A doubt
        ("maybe", "I think so", "a bit", "not sure") is "doubt" when the question asks about
        breathing (4.1: treated as the emergency), otherwise unclear (asked once more).
        """
        doubt = "doubt" if about_breath or question == "breath" else "unclear"
        if e.kind == "yes" or (e.kind == "no" and finding.heard_symptom):
            return replace(e, kind="yes")
        if e.kind == "no":
            return e
        if e.kind == "dont_know":
            return replace(e, kind=doubt)
        words = e.kind in _WORDS or (e.kind == "cramp" and question == "baby")
        if e.kind in _NOT_AN_ANSWER and not finding.heard_symptom:
            return replace(e, kind="unclear")  # "next" to a yes/no safety question: ask again
        if not words and not finding.heard_symptom and finding.answer is None:
            return e  # stop, repeat, help, a muscle named: the phase's own handlers decide
        named = e.symptom in self.c.red_flags or e.symptom in ("PREGNANT", "CHILD", "INFANT")
        if finding.heard_symptom or (e.kind == "symptom" and named):
            return replace(e, kind="yes")
        if finding.answer in ("yes", "no"):
            return replace(e, kind=finding.answer)
        if finding.answer == "unsure":
            return replace(e, kind=doubt)
        if question == "baby" and (e.helper is not None or "ADULT" in finding.concepts):
            return replace(e, kind="no")  # "it's my wife": an adult
        return replace(e, kind="unclear")

    def asks_breath(self, st: State, question: About) -> bool:
        """Whether the open question asks about breathing too (the calf's and the shared leg
        check do: "... or is anyone short of breath?"). Read from the question's own words."""
        if question == "breath":
            return True
        if question != "leg":
            return False
        routine = st.routine
        checking = routine is not None and routine.check in ("asking", "asking_again")
        text = self.routines.check_text(routine) if checking and routine else None
        return _names_breathing(text or self.c.safety_check.text, self.c)

    def doubt_is_emergency(self, st: State, e: Event) -> Outcome:
        """A doubt about breathing is treated as an emergency (PROTOCOLS 4.1)."""
        routine = st.routine
        muscle = routine.muscle if routine else e.muscle
        leg = muscle not in self.c.muscles or self.c.muscles[str(muscle)].leg
        lead = self.s.p("unsure_is_emergency")
        return self.raise_red_flag(st, e, ["RF_PE" if leg else "RF_CHEST"], lead=lead)

    def decline(self, st: State, e: Event, declines: tuple[str, ...], lead: str) -> Outcome:
        """Out of scope and not urgent (period cramps): say so, no steps, no lock."""
        speech = join(lead, self.s.p(declines[0]))
        if st.routine is not None:
            return self.s.say(st, join(speech, self.s.p("prompt_next")), self.s.p("reprompt_step"))
        return self.s.say(
            st.with_phase(AskingMuscle()), speech, self.s.p("out_of_scope_period_reprompt")
        )

    def ask_blood(self, st: State, e: Event, lead: str) -> Outcome:
        """A cold leg is enough to ask about its blood supply (RF-ISCH)."""
        return self._ask(st, e, "blood", join(lead, self.s.p("blood_check")))

    def ask_baby(self, st: State, e: Event, lead: str) -> Outcome:
        """ "My baby" may be a partner: ask once (RF-INFANT); "no" starts that muscle's steps."""
        routine = st.routine
        muscle = routine.muscle if routine else e.muscle if e.muscle in self.c.muscles else None
        st = st.with_phase(Checking("baby", muscle))
        return self.s.say(st, join(lead, self.s.p("baby_check")), self.s.p("yes_no_reprompt"))

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
            asked: dict[str, Question] = {"heat": "heat", "leg": "leg", "blood": "blood"}
            question = asked.get(about, "breath")
            st = st.with_phase(InRoutine(replace(routine, question=question, retried=False)))
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
        question = self.s.safety_question(about)
        opener = self.s.p(
            "fallback_routine" if e.kind in ("fallback", "clarify") else "safety_unsure"
        )
        return self._ask(st, e, about, join(lead, opener, question))

    # -- the answers to a safety question outside a routine
