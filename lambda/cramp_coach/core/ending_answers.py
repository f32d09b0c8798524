"""The end of a routine: reassurance and the closing warning, RF-FREQ advice when it is due,
the cramp-log question once, then the bedtime stretch offered (PROTOCOLS 3a) or goodnight; and
the end of the bedtime stretch, which offers a nightly reminder.

The base of StartAnswers (start_answers.py), apart from it because ending a routine is reached
from the steps (Routines calls `finish`), never from starting one.
"""

from __future__ import annotations

from msgspec.structs import replace

from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import Confirming, Finished, Offered, Routine
from cramp_coach.core.routine import log_outcome
from cramp_coach.core.safety_answers import SafetyAnswers
from cramp_coach.core.speak import join
from cramp_coach.core.state import State


class EndingAnswers(SafetyAnswers):
    """How a routine ends (`finish`, given to Routines) and the bedtime offer made there."""

    def _pregnancy_end(self, st: State) -> str:
        """In pregnancy, the side-sleep advice at the end, to whoever is listening."""
        if "PREGNANT" not in st.ctx.flags:
            return ""
        said = self.c.pregnancy_end_alone if st.ctx.variant == "alone" else self.c.pregnancy_end
        return said.text if said else ""

    def offer_bedtime(self, st: State, lead: str = "", *, tips: bool = False) -> Outcome:
        """The bedtime stretch offered (PROTOCOLS 3a): one short question, once a session."""
        st = st.with_phase(Offered("bedtime", tips)).with_context(
            replace(st.ctx, bedtime_offered=True)
        )
        question = self.s.p("bedtime_prevention_offer") if tips else self.c.bedtime.offer.text
        return self.s.say(st, join(lead, question), self.s.p("yes_no_reprompt"))

    def finish_bedtime(self, st: State) -> Outcome:
        """The end of the stretch: its closing line, then a nightly reminder is offered."""
        st = st.with_phase(Offered("reminder")).with_context(replace(st.ctx, clear_resume=True))
        speech = join(self.c.bedtime.closing.text, self.s.p("reminder_offer"))
        return self.s.say(st, speech, self.s.p("yes_no_reprompt"))

    def finish(self, st: State, routine: Routine) -> Outcome:
        if routine.track == "bedtime":
            return self.finish_bedtime(st)
        parts = [self.c.reassurance.text, self.closing_warning(), self._pregnancy_end(st)]
        advised = st.ctx.freq_due and st.ctx.log_consent is True
        if advised:
            parts.append(self.c.red_flags["RF_FREQ"].script)
        st = st.with_context(replace(st.ctx, clear_resume=True, freq_due=False))
        if routine.track == "aftercare":
            st = log_outcome(st, routine, "eased")  # stored already or not: same rid, same entry
        # The log question only when it fits: never asked before, the store read, and a calm
        # ending (no pregnancy, child or heat advice, no frequent-cramps advice this turn).
        calm = not st.ctx.flags and not advised
        if st.ctx.log_consent is None and st.ctx.profile_loaded and calm:
            st = st.with_phase(Confirming("log_consent"))
            speech = join(*parts, self.s.p("log_consent_ask"))
            return replace(
                self.s.say(st, speech, self.s.p("yes_no_reprompt")), freq_advised=advised
            )
        if not st.ctx.bedtime_offered:
            # Offered once, briefly, at the end of aftercare (and after RF-FREQ's advice).
            return replace(self.offer_bedtime(st, join(*parts)), freq_advised=advised)
        out = self.s.say(
            st.with_phase(Finished()), join(*parts, self.s.p("aftercare_done")), end=True
        )
        return replace(out, freq_advised=advised)
