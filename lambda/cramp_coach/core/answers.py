"""What each event does in each phase: the handlers named in rules.Conversation's tables.

Each handler takes (state, event, profile) and returns an Outcome with a new state. The
safety handlers (red flags, the lock, the safety questions) come first in this file.
"""

from __future__ import annotations

from dataclasses import replace

from cramp_coach.content import Content
from cramp_coach.core.info import InfoAnswers
from cramp_coach.core.model import (
    FREQ_THRESHOLD,
    FREQ_WINDOW_S,
    LONG_CRAMP_S,
    RESUME_WINDOW_S,
    Event,
    Outcome,
    Profile,
)
from cramp_coach.core.routine import log_outcome
from cramp_coach.core.safety import CLOT_FLAGS, severity
from cramp_coach.core.speak import Speaker, join
from cramp_coach.core.state import (
    About,
    AskingMuscle,
    Checking,
    Clarifying,
    Confirming,
    Finished,
    InRoutine,
    Level,
    Locked,
    LockRecord,
    Paused,
    Question,
    ResumeOffer,
    Routine,
    State,
    Variant,
    decode_snapshot,
)

_P = Profile | None


def frequent(profile: Profile, now: float) -> bool:
    """RF-FREQ: three or more routines in seven days, advised at most once a week."""
    if profile.freq_advised_at is not None and now - profile.freq_advised_at < FREQ_WINDOW_S:
        return False
    starts = {round(t) for t in profile.recent_starts if now - t < FREQ_WINDOW_S}
    return len(starts) + 1 >= FREQ_THRESHOLD  # this night's routine counts too


class Answers(InfoAnswers):
    def __init__(self, content: Content, speaker: Speaker) -> None:
        super().__init__(content, speaker)

    def _r(self, st: State) -> Routine:
        routine = st.routine
        assert routine is not None  # only the routine tables call these handlers
        return routine

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
        also = flags[1] if len(flags) > 1 else None
        record = LockRecord(primary, level, muscle, e.now)
        prior = st.ctx.prior_lock
        if prior is not None and severity(prior.flag, self.c) < severity(primary, self.c):
            record = prior  # the 12-hour memory never falls to a less serious flag
        st = st.with_phase(Locked(primary, level, also, asking_breath=clot)).with_context(
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
        if e.kind == "repeat" and st.ctx.last_speech:
            return self.s.say(st, st.ctx.last_speech, st.ctx.last_reprompt or None)
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
    def check_yes(self, st: State, e: Event, profile: _P) -> Outcome:
        phase = st.phase
        assert isinstance(phase, Checking)
        if phase.about == "heat":
            return self.raise_red_flag(st, e, ["RF_HEAT"])
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
        if routine is not None and phase.about == "leg":
            checked = replace(routine, check="unanswered" if unanswered else "clear")
            out = replace(out, state=out.state.with_phase(InRoutine(checked)))
        return out

    def check_again(self, st: State, e: Event, profile: _P) -> Outcome:
        phase = st.phase
        assert isinstance(phase, Checking)
        if phase.tries >= 1:
            return self.check_no(st, e, profile, unanswered=True)  # no dead end: carry on
        st = st.with_phase(replace(phase, tries=1))
        question = self.c.safety_check.text if phase.about == "leg" else self.s.p("breath_check")
        if phase.about == "heat":
            question = self.c.flags["EXERCISE_HEAT"].text
        return self.s.say(
            st, join(self.s.p("yes_or_no_first"), question), self.s.p("yes_no_reprompt")
        )

    # ================================================================== starting steps
    def start(self, st: State, muscle: str, e: Event, *, lead: str = "", note: str = "") -> Outcome:
        """Every new routine starts here, so a red flag from the last 12 hours is heard first."""
        lock = st.ctx.prior_lock
        if lock is not None:
            advice = join(self.s.p("prior_lock"), self.s.advice([lock.flag]))
            if lock.level == "emergency":
                st = st.with_phase(Locked(lock.flag, "emergency")).with_context(
                    replace(st.ctx, prior_lock_heard=True)
                )
                return self.s.say(st, join(advice, self.s.p("red_flag_reprompt")),
                                  self.s.p("red_flag_reprompt"))  # fmt: skip
            # A clot flag said without a muscle counts for every leg.
            unnamed_leg = lock.muscle is None and lock.flag in CLOT_FLAGS
            if lock.muscle == muscle or (unnamed_leg and self.c.muscles[muscle].leg):
                name = self.c.muscles[muscle].name
                st = st.with_phase(AskingMuscle()).with_context(
                    replace(st.ctx, prior_lock_heard=True)
                )
                speech = join(advice, self.s.p("prior_lock_same", name=name))
                return self.s.say(st, speech, self.s.p("ask_muscle_reprompt"))
            if not st.ctx.prior_lock_heard:
                lead = join(advice, lead)
                st = st.with_context(replace(st.ctx, prior_lock_heard=True))
        return self.routines.start(st, muscle, e, lead=lead, note=note)

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
        if tries >= 1:
            return self.start(st, "CALF", e, note=self.s.p("default_calf"))
        st = st.with_phase(AskingMuscle(tries + 1))
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
        if lock is not None:
            advice = join(self.s.p("prior_lock"), self.s.advice([lock.flag]))
            st = st.with_context(replace(st.ctx, prior_lock_heard=True))
            if lock.level == "emergency":
                st = st.with_phase(Locked(lock.flag, "emergency"))
                return self.s.say(st, join(advice, self.s.p("red_flag_reprompt")),
                                  self.s.p("red_flag_reprompt"))  # fmt: skip
            st = st.with_phase(AskingMuscle())
            return self.s.say(st, join(advice, self.s.p("prior_lock_other")),
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
        offer = st.phase if isinstance(st.phase, ResumeOffer) else self._resumable(profile, e.now)
        if offer is None:
            st = st.with_phase(AskingMuscle())
            speech = join(self.s.p("nothing_to_resume"), self.s.p("ask_muscle"))
            return self.s.say(st, speech, self.s.p("ask_muscle_reprompt"))
        if st.ctx.prior_lock is not None:
            return self.start(st, offer.routine.muscle, e)
        st = st.with_context(replace(st.ctx, variant=offer.variant)).with_phase(
            InRoutine(offer.routine)
        )
        if e.now - offer.routine.started_at >= LONG_CRAMP_S and offer.routine.track != "aftercare":
            return self.raise_red_flag(st, e, ["RF_LONG"])
        lead = self.s.p("resuming", step=offer.routine.step + 1)
        return self.routines.speak(st, replace(offer.routine, question=None), lead=lead)

    def start_over_offer(self, st: State, e: Event, profile: _P) -> Outcome:
        offer = st.phase
        assert isinstance(offer, ResumeOffer)
        return self.start(
            st.with_context(replace(st.ctx, variant=offer.variant)), offer.routine.muscle, e
        )

    def finish(self, st: State, routine: Routine) -> Outcome:
        parts = [self.c.reassurance.text]
        advised = st.ctx.freq_due and st.ctx.log_consent is True
        if advised:
            parts.append(self.c.red_flags["RF_FREQ"].script)
        st = st.with_context(replace(st.ctx, clear_resume=True, freq_due=False))
        if routine.track == "aftercare":
            st = log_outcome(st, routine, "eased")  # stored already or not: same rid, same entry
        if st.ctx.log_consent is None and st.ctx.profile_loaded:
            st = st.with_phase(Confirming("log_consent"))
            speech = join(*parts, self.s.p("log_consent_ask"))
            return replace(
                self.s.say(st, speech, self.s.p("yes_no_reprompt")), freq_advised=advised
            )
        out = self.s.say(
            st.with_phase(Finished()), join(*parts, self.s.p("aftercare_done")), end=True
        )
        return replace(out, freq_advised=advised)

    # ================================================================== in a routine
    def next(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        if routine.check in ("asking", "asking_again"):
            return self._check_unclear(st, e, profile)
        if routine.question == "position":
            return self.routines.speak(st, routine, counting=True)
        if routine.question == "end_of_steps":
            return self.routines.better(st, routine)  # every step is done: on to aftercare
        lead = self.s.p("skipping") if e.kind == "skip" else ""
        return self.routines.advance(st, routine, lead=lead)

    def _check_unclear(self, st: State, e: Event, profile: _P) -> Outcome:
        """Anything but a clear answer to the leg check asks once more, then carries on."""
        routine = self._r(st)
        if routine.check == "asking":
            st = st.with_phase(InRoutine(replace(routine, check="asking_again")))
            speech = join(self.s.p("yes_or_no_first"), self.c.safety_check.text)
            return self.s.say(st, speech, self.s.p("yes_no_reprompt"))
        st = st.with_phase(InRoutine(replace(routine, check="unanswered")))
        return self.routines.advance(st, self._r(st))

    def yes_in_routine(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        q = routine.question
        if routine.check in ("asking", "asking_again") or q == "leg":
            return self.raise_red_flag(st, e, ["RF_DVT"])
        if q == "breath":
            return self.raise_red_flag(
                st, e, ["RF_PE" if self.routines.is_leg(routine) else "RF_CHEST"]
            )
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
            cleared = replace(routine, check="clear", question=None)
            return self.where_we_are(st.with_phase(InRoutine(cleared)), e, profile)
        if q in ("easing", "end_of_steps"):
            return self.still_cramping(st, e, profile)
        if q in ("breath", "heat"):
            return self.routines.speak(st, replace(routine, question=None), lead=self.s.p("okay"))
        if q == "position":
            return self.s.say(st, self.s.p("position_wait"), self.s.p("position_wait"))
        return self.s.say(st, self.s.p("no_question_no"), self.s.p("reprompt_step"))

    def previous(self, st: State, e: Event, profile: _P) -> Outcome:
        return self.routines.previous(st, self._r(st))

    def start_over(self, st: State, e: Event, profile: _P) -> Outcome:
        return self.routines.start_over(st, self._r(st))

    def better(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        if routine.check in ("asking", "asking_again"):
            return self._check_unclear(st, e, profile)
        return self.routines.better(st, routine)

    def still_cramping(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        if routine.check in ("asking", "asking_again"):
            return self._check_unclear(st, e, profile)
        return self.routines.still_cramping(st, routine)

    def hurts(self, st: State, e: Event, profile: _P) -> Outcome:
        return self.routines.hurts(st, self._r(st))

    def hold_time(self, st: State, e: Event, profile: _P) -> Outcome:
        if st.routine is not None:
            return self.routines.hold_time(st, st.routine)
        return self.s.say(st.with_phase(AskingMuscle()),
                          join(self.c.hold_advice.text, self.s.p("ask_muscle")),
                          self.s.p("ask_muscle_reprompt"))  # fmt: skip

    def cramp_in_routine(self, st: State, e: Event, profile: _P) -> Outcome:
        routine, m = self._r(st), e.muscle
        if m == "LOWER_BACK" and e.heard_back and routine.muscle != "LOWER_BACK":
            return self.routines.previous(st, routine)  # a bare "back" means the step before
        if m in self.c.muscles and m != routine.muscle:
            st = log_outcome(st, routine, "switched_muscle")
            name = self.c.muscles[m].name
            out = self.start(
                st, m, replace(e, now=routine.started_at), lead=self.s.p("switch_muscle", name=name)
            )
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
        return self.s.say(st, join(speech, self.s.p("prompt_next")), self.s.p("reprompt_step"))

    def resume_here(self, st: State, e: Event, profile: _P) -> Outcome:
        routine = self._r(st)
        return self.routines.speak(st.with_phase(InRoutine(routine)), routine)

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
