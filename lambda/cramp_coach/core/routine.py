"""Moving through a routine: one step per turn, holds again, easing, a gentler track.

Every function takes the state and the routine and returns an Outcome whose state is new. How
the step a move lands on is spoken (its count, the leg check before a rub) is in
routine_steps.py, the base of Routines.
"""

from __future__ import annotations

import hashlib
import re

from msgspec.structs import replace

from cramp_coach.content import BEDTIME, Step
from cramp_coach.core.model import MAX_HOLD_REPEATS, Event, LogEntry
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import InRoutine, Routine, Track
from cramp_coach.core.routine_steps import RoutineSteps, choice_end, choice_start
from cramp_coach.core.safety import CLOT_FLAGS
from cramp_coach.core.speak import join
from cramp_coach.core.state import MAX_UNSAVED, State


def log_outcome(state: State, routine: Routine, outcome: str) -> State:
    """Record how the routine is going in its cramp-log entry (it rides until stored).
    The bedtime stretch is no cramp: it never writes one (RF-FREQ counts cramps)."""
    if routine.track == "bedtime":
        return state
    entries = [e for e in state.ctx.unsaved if e.rid != routine.rid]
    entry = LogEntry(routine.rid, routine.started_at, routine.muscle, state.ctx.variant, outcome)
    kept = (*entries, entry)[-MAX_UNSAVED:]  # decode_state refuses more
    return state.with_context(replace(state.ctx, unsaved=kept))


class Routines(RoutineSteps):
    """Moving through a routine: starting it, next and back, the holds again, easing, a
    harder or gentler track, alone or helped; every move speaks through RoutineSteps.speak."""

    # ------------------------------------------------------------------ starting
    def start(
        self, state: State, muscle: str, event: Event, *, lead: str = "", note: str = ""
    ) -> Outcome:
        """A new routine at step 1; its ten-minute clock starts now (G1)."""
        seed = f"{event.now}:{muscle}:{event.request_id}".encode()
        prior = state.ctx.prior_lock
        routine = Routine(
            muscle=muscle,
            started_at=event.now,
            rid=hashlib.sha256(seed).hexdigest()[:12],
            no_massage=bool(prior and prior.flag in CLOT_FLAGS),
            track="bedtime" if muscle == BEDTIME else "main",
        )
        if muscle == BEDTIME:
            # What it is, honestly, and the standing rule (G4) before anyone stands up.
            bed = self.c.bedtime
            caution = bed.muscle.caution.text if bed.muscle.caution else ""
            return self.speak(state, routine, lead=join(lead, bed.intro.text, caution), note=note)
        m = self.c.muscles[muscle]
        notes = [note]
        if m.caution:
            notes.append(m.caution.text)
        if "PREGNANT" in state.ctx.flags and m.pregnancy:
            notes.append(m.pregnancy.text)
        state = log_outcome(state, routine, "in_progress")
        return self.speak(state, routine, lead=lead, note=join(*notes))

    # ------------------------------------------------------------------ moving
    def advance(self, state: State, routine: Routine, *, lead: str = "") -> Outcome:
        """Next step, never into a rub of a leg that has not been checked (G3)."""
        steps = self.steps(state, routine)
        index, notes = routine.step + 1, [lead]
        while index < len(steps):
            if steps[index].when and not steps[index].ask:
                index += 1  # the other answers of a choice already asked: never both
                continue
            if not self._rub_of_leg(routine, steps[index]):
                break
            if routine.check == "clear" and not routine.no_massage:
                break
            if routine.no_massage:
                notes.append(self.s.p("skip_rub_clot"))
            elif routine.check != "unanswered":
                # Ask before the rub, on every track; a clear "no" comes back here.
                asked = replace(routine, check="asking", question=None)
                speech = join(lead, self.s.p("before_rub"), self.check_text(routine))
                return self.s.say(
                    state.with_phase(InRoutine(asked)), speech, self.s.p("yes_no_reprompt")
                )
            else:
                notes.append(self.s.p("skip_rub_unchecked"))
            index += 1
        if index < len(steps):
            moved = replace(routine, step=index, question=None)
            return self.speak(state, moved, lead=join(*notes))
        if routine.track in ("aftercare", "bedtime"):
            return self._finish(state, routine)
        asked = replace(routine, step=len(steps) - 1, question="end_of_steps")
        speech = join(*notes, self.s.p("end_of_steps_question", name=self.s.name(routine)))
        return self.s.say(state.with_phase(InRoutine(asked)), speech, self.s.p("yes_no_reprompt"))

    # ------------------------------------------------------------------ asked steps
    def accept(self, state: State, routine: Routine) -> Outcome:
        """A clear yes to an offer: the offered step, played now."""
        return self.speak(state, replace(routine, chosen=routine.step, question=None))

    def skip_asked(self, state: State, routine: Routine, lead: str = "") -> Outcome:
        """An offer declined, or a choice left unanswered: on past it, none of it played."""
        end = choice_end(self.steps(state, routine), routine.step)
        return self.advance(state, replace(routine, step=end, question=None), lead=lead)

    def choose(self, state: State, routine: Routine, event: Event) -> Outcome | None:
        """The step an answer to a choice picks (None: the words pick no single one)."""
        steps = self.steps(state, routine)
        heard = {w for text in event.heard for w in re.findall(r"[a-z']+", text.lower())}
        said = heard | {event.part or "", event.kind}
        end = choice_end(steps, routine.step)
        picked = [i for i in range(routine.step, end + 1) if said & set(steps[i].when)]
        if len(picked) != 1:
            return None
        return self.speak(state, replace(routine, step=picked[0], chosen=picked[0], question=None))

    def previous(self, state: State, routine: Routine) -> Outcome:
        if routine.step == 0:
            return self.speak(state, routine, lead=self.s.p("first_step_already"))
        steps = self.steps(state, routine)
        back = replace(routine, step=routine.step - 1)
        while back.step > 0 and self._rub_of_leg(back, steps[back.step]):
            if back.check == "clear" and not back.no_massage:
                break
            back = replace(back, step=back.step - 1)
        if steps[back.step].when and back.chosen != back.step:
            back = replace(back, step=choice_start(steps, back.step))  # the one question
        return self.speak(state, back)

    def start_over(self, state: State, routine: Routine) -> Outcome:
        # The ten-minute clock keeps running: starting over is the same cramp.
        track: Track = "bedtime" if routine.track == "bedtime" else "main"
        again = replace(routine, track=track, step=0, repeats=0, question=None, chosen=-1)
        return self.speak(state, again, lead=self.s.p("start_over", name=self.s.name(again)))

    def _held(self, steps: tuple[Step, ...], routine: Routine, upto: int) -> list[int]:
        """The counted stretches up to `upto` the listener has been given (never an offer
        declined or a choice's other answer)."""
        return [
            i
            for i, st in enumerate(steps[: upto + 1])
            if st.hold
            and st.phase == "stretch"
            and st.hold <= 60
            and (not (st.ask or st.when) or routine.chosen == i)
        ]

    def still_cramping(self, state: State, routine: Routine) -> Outcome:
        """Back to the last stretch and its count (G9), at most three repeated holds; a step
        without a hold goes back to the stretch before it, or on to the first one."""
        p = self.s.p
        if routine.track == "aftercare":
            main = replace(routine, track="main", step=0, chosen=-1, question=None)
            first = self._held(self.steps(state, main), main, len(self.steps(state, main)))
            if not first:
                return self.speak(state, main, lead=p("go_stretch"))
            routine = replace(main, step=first[0], repeats=0)
            return self._hold_again(state, routine, first[0], moved=True)
        steps = self.steps(state, routine)
        waiting = routine.question == "position" and not routine.repeating
        held = self._held(steps, routine, routine.step - 1 if waiting else routine.step)
        if held and routine.repeats < MAX_HOLD_REPEATS:
            return self._hold_again(state, routine, held[-1], moved=held[-1] != routine.step)
        if held:
            lead = p("hold_limit")
        elif self._held(steps, routine, len(steps)):
            lead = p("go_stretch")  # the first hold is still ahead: on to it
        else:
            # No held stretch in these steps (the neck): the movement again, slowly.
            moves = [i for i, st in enumerate(steps[: routine.step + 1]) if st.phase == "stretch"]
            if moves and routine.repeats < MAX_HOLD_REPEATS:
                again = replace(routine, step=moves[-1], repeats=routine.repeats + 1)
                return self.speak(state, again, lead=p("move_again"))
            lead = p("move_on")
        if routine.step + 1 < len(steps):
            return self.advance(state, replace(routine, repeats=0), lead=lead)
        done = replace(routine, question=None)  # the last step: nothing to move on to
        return self.s.say(
            state.with_phase(InRoutine(done)), p("steps_exhausted"), p("reprompt_step")
        )

    def _hold_again(self, state: State, routine: Routine, index: int, *, moved: bool) -> Outcome:
        """The stretch at `index` once more, with its count: its words for getting back into
        it when the listener has moved on since; a hold that waits for the position counts
        when they say next, so only a hold actually made is a repeat."""
        step = self.steps(state, routine)[index]
        target = replace(routine, step=index, question=None, chosen=routine.chosen)
        text = step.again if moved and step.again else None
        if step.position_first and (moved or routine.question == "position"):
            waiting = replace(target, question="position", repeating=True)
            return self._out(
                state, waiting, self.s.p("stretch_again"), "", self.s.p("position_prompt"),
                count_now=False, text=text,
            )  # fmt: skip
        again = replace(target, repeats=routine.repeats + 1, repeating=False)
        # Still in position after its count: the count alone.
        counting = step.position_first
        return self.speak(state, again, lead=self.s.p("hold_again"), text=text, counting=counting)

    def hurts(self, state: State, routine: Routine) -> Outcome:
        stop = self.c.gentle_stop.text
        m = self.c.routine_muscle(routine.muscle)
        if routine.check in ("asking", "asking_again"):
            routine = replace(routine, check="unasked")  # never answered: asked again later
        if routine.track == "main" and m.gentle_for(state.ctx.variant):
            # Option B, with a helper or alone (PROTOCOLS 2.1); its rub is still checked.
            # The action first; G2's caution after it, while they do it.
            gentle = replace(routine, track="gentle", step=0, repeats=0, question=None, chosen=-1)
            return self.speak(state, gentle, lead=self.s.p("gentler_option"), note=stop)
        state = log_outcome(state, routine, "too_painful")
        after = replace(routine, track="aftercare", step=0, question=None, chosen=-1)
        out = self.speak(state, after, lead=self.s.p("to_aftercare_gentle"))
        return replace(out, routine_ended="too_painful")

    def better(self, state: State, routine: Routine) -> Outcome:
        if routine.track == "aftercare":
            return self.advance(state, routine)
        state = log_outcome(state, routine, "eased")
        after = replace(routine, track="aftercare", step=0, repeats=0, question=None, chosen=-1)
        return replace(self.speak(state, after, lead=self.s.p("better")), routine_ended="eased")

    def switch_variant(self, state: State, routine: Routine, variant: str) -> Outcome:
        """Alone <-> helped keeps the position: the first step of the same phase."""
        lead = self.s.p("now_alone" if variant == "alone" else "now_partner")
        if routine.track in ("aftercare", "bedtime") or variant == state.ctx.variant:
            return self.speak(state, routine, lead=lead)
        old = self.steps(state, routine)
        phase = old[min(routine.step, len(old) - 1)].phase
        switched = state.with_context(
            replace(state.ctx, variant="alone" if variant == "alone" else "partner")
        )
        gentle = routine.track == "gentle" and bool(
            self.c.muscles[routine.muscle].gentle_for(switched.ctx.variant)
        )
        # The gentler option stays gentle, written for whoever is now doing it (PROTOCOLS 2.1).
        moved = replace(routine, track="gentle" if gentle else "main", question=None, chosen=-1)
        new = self.steps(switched, moved)
        index = next((i for i, st in enumerate(new) if st.phase == phase), 0)
        return self.speak(switched, replace(moved, step=index), lead=lead)

    def hold_time(self, state: State, routine: Routine) -> Outcome:
        """How long this step is held: its own hold, or that it has none and what to do."""
        p = self.s.p
        steps = self.steps(state, routine)
        step = steps[routine.step]
        if step.beats and len({b.hold for b in step.beats}) == 1:
            answer = p("hold_time_each", duration=self.s.voice.duration(step.beats[0].hold))
        elif step.hold:
            key = {"stretch": "hold_time_step", "massage": "hold_time_rub"}.get(step.phase)
            answer = p(key or "hold_time_other", duration=self.s.voice.duration(step.hold))
        elif any(s.hold for s in steps[routine.step + 1 :]):
            answer = p("hold_time_later")  # a setup or a movement: the hold is still ahead
        else:
            answer = p("hold_time_none")
        return self.s.say(state, join(answer, self.prompt(routine)), p("reprompt_step"))

    def prompt(self, routine: Routine) -> str:
        """How a turn that answers something mid-routine ends: the question still open, asked
        again briefly, or the way on."""
        p = self.s.p
        if routine.check in ("asking", "asking_again"):
            return p("check_pending")  # briefly: the whole check again on "repeat"
        q = routine.question
        if q == "end_of_steps":
            return p("end_of_steps_again")
        if q == "easing":
            return p("prompt_after_hold")
        if q == "position":
            return p("position_prompt")
        if q in ("breath", "check_breath"):
            return self.s.safety_question("breath")
        if q in ("leg", "heat", "blood"):
            return self.s.safety_question(q)
        return p("prompt_next")
