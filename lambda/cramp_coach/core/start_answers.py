"""Starting steps: the answers to a safety question, a muscle named (or not), the launch and
its resume offer. Every new routine starts in `start`, so a red flag from the last 12 hours is
heard first. The end of a routine is in ending_answers.py (the base of StartAnswers).
"""

from __future__ import annotations

from typing import Literal

from msgspec.structs import replace

from cramp_coach.core.ending_answers import EndingAnswers
from cramp_coach.core.model import (
    LONG_CRAMP_S,
    RESUME_WINDOW_S,
    Event,
    Profile,
)
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import (
    PRIOR_QUESTIONS,
    AskingMuscle,
    Checking,
    Clarifying,
    Idle,
    InRoutine,
    Locked,
    PriorCheck,
    ResumeOffer,
)
from cramp_coach.core.safety import CLOT_FLAGS
from cramp_coach.core.speak import join
from cramp_coach.core.state import LockRecord, State, person
from cramp_coach.core.state_codec import decode_snapshot

_P = Profile | None
# The red flag an unanswered safety question falls back to (PROTOCOLS 4.1).
_PRECAUTION = {
    "leg": "RF_DVT",
    "breath": "RF_PE",
    "heat": "RF_HEAT",
    "baby": "RF_INFANT",
    "blood": "RF_ISCH",
}


class StartAnswers(EndingAnswers):
    def check_yes(self, st: State, e: Event, profile: _P) -> Outcome:
        phase = st.phase
        assert isinstance(phase, Checking)
        if phase.about == "heat":
            return self.raise_red_flag(st, e, ["RF_HEAT"])
        if phase.about == "blood":
            return self.raise_red_flag(st, e, ["RF_ISCH"])
        if phase.about == "baby":
            return self.raise_red_flag(st, e, ["RF_INFANT"])
        if phase.about == "leg":
            return self.raise_red_flag(st, e, ["RF_DVT"])
        leg = phase.muscle is None or self.c.muscles[phase.muscle].leg
        return self.raise_red_flag(st, e, ["RF_PE" if leg else "RF_CHEST"])

    def check_no(self, st: State, e: Event, profile: _P, unanswered: bool = False) -> Outcome:
        phase = st.phase
        assert isinstance(phase, Checking)
        if phase.muscle is None:
            return self.ask_muscle(st.with_phase(AskingMuscle()), e, profile)
        out = self.start(st, phase.muscle, e)
        routine = out.state.routine
        own_check = routine is not None and self.c.routine_muscle(routine.muscle).check is not None
        if routine is not None and phase.about == "leg" and not own_check:  # else: asked later
            checked = replace(routine, check="unanswered" if unanswered else "clear")
            out = replace(out, state=out.state.with_phase(InRoutine(checked)))
        return out

    def check_again(self, st: State, e: Event, profile: _P) -> Outcome:
        phase = st.phase
        assert isinstance(phase, Checking)
        if phase.tries >= 1:
            # Unclear twice: never a step and never the calf default; the question's own red
            # flag, as a precaution (PROTOCOLS 4.1).
            lead = "" if phase.about == "leg" else self.s.p("unsure_is_emergency")
            flag = _PRECAUTION[phase.about]
            if phase.about == "breath" and phase.muscle is not None:
                flag = "RF_PE" if self.c.muscles[phase.muscle].leg else "RF_CHEST"
            return self.raise_red_flag(st, e, [flag], lead=lead)
        st = st.with_phase(replace(phase, tries=1))
        question = self.s.safety_question(phase.about)
        return self.s.say(
            st, join(self.s.p("yes_or_no_first"), question), self.s.p("yes_no_reprompt")
        )

    # ================================================================== starting steps
    def start(self, st: State, muscle: str, e: Event, *, lead: str = "", note: str = "") -> Outcome:
        """Every new routine starts here, so a red flag from the last 12 hours is heard first,
        with its question (PROTOCOLS 4.1), before any steps."""
        lock = st.ctx.prior_lock
        if lock is not None and st.ctx.prior_answer is None:
            return self._ask_prior(st, lock, muscle, e, lead)
        out = self.routines.start(st, muscle, e, lead=lead, note=note)
        routine = out.state.routine
        if routine is None:
            return out
        if lock is not None and st.ctx.prior_answer == "seen" and lock.flag in CLOT_FLAGS:
            # Checked since, but never a rub of a leg flagged for a clot, swelling or blood
            # supply within the window.
            routine = replace(routine, no_massage=True)
            out = replace(out, state=out.state.with_phase(InRoutine(routine)))
        ctx = out.state.ctx
        if ctx.memory_unread and not ctx.memory_warned:
            # The table could not be read: the steps go ahead (a cramp needs help now), with
            # one short safety line after the first action, once a session.
            out = replace(
                out,
                speech=self.after_action(out.speech, self.s.p("memory_unread")),
                state=out.state.with_context(replace(ctx, memory_warned=True)),
            )
        return out

    def after_action(self, speech: str, line: str) -> str:
        """`line` after the step's action, before the prompt that ends the step."""
        p = self.s.p
        for tail in (p("prompt_next"), p("position_prompt"), p("prompt_after_hold")):
            if tail and speech.rstrip().endswith(tail):
                return join(speech.rstrip()[: -len(tail)].rstrip(), line, tail)
        return join(speech, line)

    def _ask_prior(self, st: State, lock: LockRecord, muscle: str, e: Event, lead: str) -> Outcome:
        """The earlier warning once, then "the same person?" when this request is about the
        other one, else "checked since?"."""
        asker = person(st, e)
        other = "unknown" not in (lock.about, asker) and asker != lock.about
        question: Literal["same_person", "seen"] = "same_person" if other else "seen"
        advice = "" if st.ctx.prior_lock_heard else self._prior_advice(lock)
        st = st.with_phase(PriorCheck(question, muscle)).with_context(
            replace(st.ctx, prior_lock_heard=True)
        )
        speech = join(lead, advice, self.s.p(PRIOR_QUESTIONS[question]))
        return self.s.say(st, speech, self.s.p("yes_no_reprompt"))

    def _prior_advice(self, lock: LockRecord) -> str:
        return join(self.s.p("prior_lock"), self.s.advice([lock.flag]))

    def prior_yes(self, st: State, e: Event, profile: _P) -> Outcome:
        phase = st.phase
        assert isinstance(phase, PriorCheck)
        if phase.question == "same_person":
            st = st.with_phase(replace(phase, question="seen"))
            return self.s.say(st, self.s.p("prior_seen"), self.s.p("yes_no_reprompt"))
        st = st.with_context(replace(st.ctx, prior_answer="seen")).with_phase(Idle())
        return self.start(st, phase.muscle, e)

    def prior_no(self, st: State, e: Event, profile: _P) -> Outcome:
        phase = st.phase
        assert isinstance(phase, PriorCheck)
        if phase.question == "same_person":
            st = st.with_context(replace(st.ctx, prior_answer="other")).with_phase(Idle())
            return self.start(st, phase.muscle, e)
        return self._prior_stands(st)

    def prior_unclear(self, st: State, e: Event, profile: _P) -> Outcome:
        """Anything but a clear yes or no: "same person?" goes on to "checked since?";
        "checked since?" leaves the advice standing, no steps."""
        phase = st.phase
        assert isinstance(phase, PriorCheck)
        if phase.question == "same_person":
            st = st.with_phase(replace(phase, question="seen"))
            return self.s.say(st, self.s.p("prior_seen"), self.s.p("yes_no_reprompt"))
        return self._prior_stands(st)

    def _prior_stands(self, st: State) -> Outcome:
        lock = st.ctx.prior_lock
        assert lock is not None  # decode_state never lets PriorCheck in without it
        st = st.with_phase(Locked(lock.flag, lock.level))
        speech = join(self.s.advice([lock.flag]), self.s.p("red_flag_reprompt"))
        out = self.s.say(st, speech, self.s.red_flag_reprompt([lock.flag]))
        return replace(out, screen=self.s.red_flag_screen([lock.flag]))

    def cramp(self, st: State, e: Event, profile: _P) -> Outcome:
        m, phase = e.muscle, st.phase
        if isinstance(phase, Clarifying):
            if m == "LOWER_BACK" and e.heard_back:
                return self.clarify(st, replace(e, part="BACK"), profile)
            if m in self.c.vague[phase.vague].choices:
                return self.start(st, m, e)
        if m in self.c.muscles:
            return self.start(st, m, e)
        if m in self.c.vague:
            vague = self.c.vague[m]
            if vague.default is not None:
                return self.start(st, vague.default, e, note=vague.note or "")
            st = st.with_phase(Clarifying(m))
            return self.s.say(st, vague.question or "", vague.question)
        return self.miss(st, e, profile)

    def miss(self, st: State, e: Event, profile: _P) -> Outcome:
        """Not a muscle: ask once more, then the documented default (PROTOCOLS section 5)."""
        phase = st.phase
        if isinstance(phase, Clarifying):
            vague = self.c.vague[phase.vague]
            if phase.tries == 0 and vague.hint:
                return self.s.say(st.with_phase(replace(phase, tries=1)), vague.hint, vague.hint)
            return self.start(st, "CALF", e, note=self.s.p("default_calf"))
        tries = phase.tries if isinstance(phase, AskingMuscle) else 0
        warned = isinstance(phase, AskingMuscle) and phase.warned
        if tries >= 1 and not warned:
            return self.start(st, "CALF", e, note=self.s.p("default_calf"))
        st = st.with_phase(AskingMuscle(tries + 1, warned))
        unclear = e.muscle is not None or e.kind != "cramp"
        key = "ask_muscle_again" if unclear else "ask_muscle"
        return self.s.say(st, self.s.p(key), self.s.p("ask_muscle_reprompt"))

    def clarify(self, st: State, e: Event, profile: _P) -> Outcome:
        phase = st.phase
        assert isinstance(phase, Clarifying)
        target = self.c.vague[phase.vague].answers.get(e.part or "")
        return self.start(st, target, e) if target else self.miss(st, e, profile)

    def ask_muscle(self, st: State, e: Event, profile: _P) -> Outcome:
        st = st.with_phase(AskingMuscle())
        return self.s.say(st, self.s.p("ask_muscle"), self.s.p("ask_muscle_reprompt"))

    def launch(self, st: State, e: Event, profile: _P) -> Outcome:
        lock = st.ctx.prior_lock
        if lock is not None and st.ctx.prior_answer is None:
            # The warning first; the question comes with a request for steps (start).
            st = st.with_context(replace(st.ctx, prior_lock_heard=True))
            st = st.with_phase(AskingMuscle())
            return self.s.say(st, join(self._prior_advice(lock), self.s.p("prior_lock_other")),
                              self.s.p("ask_muscle_reprompt"))  # fmt: skip
        offer = self._resumable(profile, e.now)
        if offer is not None:
            name = self.s.name(offer.routine)
            speech = self.s.p("resume_offer", step=offer.routine.step + 1, name=name)
            return self.s.say(st.with_phase(offer), speech, self.s.p("resume_offer_reprompt"))
        return self.ask_muscle(st, e, profile)

    def _resumable(self, profile: _P, now: float) -> ResumeOffer | None:
        if profile is None or profile.resume is None or profile.resume_saved_at is None:
            return None
        if not 0 <= now - profile.resume_saved_at <= RESUME_WINDOW_S or profile.lock:
            return None  # too old, or a red flag came after: never offered again
        return decode_snapshot(profile.resume, self.c)

    def resume(self, st: State, e: Event, profile: _P) -> Outcome:
        # The store must agree: only a snapshot it still holds (unexpired, no red flag since)
        # is resumed, whatever the session's offer says (a client could have written it).
        offer = self._resumable(profile, e.now)
        if isinstance(st.phase, ResumeOffer) and (
            offer is None or offer.routine.rid != st.phase.routine.rid
        ):
            offer = None
        if offer is None:
            st = st.with_phase(AskingMuscle())
            speech = join(self.s.p("nothing_to_resume"), self.s.p("ask_muscle"))
            return self.s.say(st, speech, self.s.p("ask_muscle_reprompt"))
        if st.ctx.prior_lock is not None:
            return self.start(st, offer.routine.muscle, e)
        st = st.with_context(replace(st.ctx, variant=offer.variant)).with_phase(
            InRoutine(offer.routine)
        )
        clocked = offer.routine.track not in ("aftercare", "bedtime")
        if e.now - offer.routine.started_at >= LONG_CRAMP_S and clocked:
            return self.raise_red_flag(st, e, ["RF_LONG"])
        lead = self.s.p("resuming", step=offer.routine.step + 1)
        return self.routines.speak(st, replace(offer.routine, question=None), lead=lead)

    def start_over_offer(self, st: State, e: Event, profile: _P) -> Outcome:
        offer = st.phase
        assert isinstance(offer, ResumeOffer)
        return self.start(
            st.with_context(replace(st.ctx, variant=offer.variant)), offer.routine.muscle, e
        )
