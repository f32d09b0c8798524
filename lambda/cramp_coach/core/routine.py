"""Moving through a routine: one step per turn, holds counted, the leg checked before a rub.

Every function takes the state and the routine and returns an Outcome whose state is new.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import replace

from cramp_coach.content import BEDTIME, Content, Step
from cramp_coach.core.model import MAX_HOLD_REPEATS, Event, LogEntry
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import InRoutine, Question, Routine, Track
from cramp_coach.core.safety import CLOT_FLAGS
from cramp_coach.core.speak import Speaker, join
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


class Routines:
    def __init__(
        self, content: Content, speaker: Speaker, finish: Callable[[State, Routine], Outcome]
    ) -> None:
        self.c = content
        self.s = speaker
        self._finish = finish  # the end of aftercare: the conversation says goodnight

    def is_leg(self, routine: Routine) -> bool:
        return self.c.routine_muscle(routine.muscle).leg

    def steps(self, state: State, routine: Routine) -> tuple[Step, ...]:
        return self.s.track(routine, state.ctx.variant)

    # ------------------------------------------------------------------ the leg check (G3)
    def check_text(self, routine: Routine) -> str:
        """The muscle's own check (the shin's compartment question), else the shared one."""
        check = self.c.routine_muscle(routine.muscle).check
        return check.text if check else self.c.safety_check.text

    def check_flag(self, routine: Routine) -> str:
        check = self.c.routine_muscle(routine.muscle).check
        return check.flag if check else "RF_DVT"

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

    # ------------------------------------------------------------------ speaking a step
    def speak(
        self,
        state: State,
        routine: Routine,
        *,
        lead: str = "",
        note: str = "",
        counting: bool = False,
        text: str | None = None,
    ) -> Outcome:
        """The current step, then the question that belongs after it (`text`: other words for
        the step's action, its `again`)."""
        steps = self.steps(state, routine)
        step = steps[routine.step]
        p = self.s.p
        if self._rub_of_leg(routine, step) and not (
            routine.check == "clear" and not routine.no_massage
        ):
            # Whatever path lands on a rub of a leg (continue, a switch of muscle, the end of
            # the steps), the rub waits for a clear no to its check (G3, 4.1).
            if routine.no_massage or routine.step == 0:
                kept = replace(routine, question=None)
                skip = p("skip_rub_clot" if routine.no_massage else "skip_rub_unchecked")
                speech = join(lead, skip, p("prompt_next"))
                return self.s.say(state.with_phase(InRoutine(kept)), speech, p("reprompt_step"))
            # Asked from the step before, so a clear no comes back to this rub (advance).
            asked = replace(routine, step=routine.step - 1, check="asking", question=None)
            speech = join(lead, p("before_rub"), self.check_text(routine))
            return self.s.say(state.with_phase(InRoutine(asked)), speech, p("yes_no_reprompt"))
        if (step.ask or step.when) and routine.chosen != routine.step:
            # Offered or chosen, never chained: ask the step's question (at a choice's start).
            first = _choice_start(steps, routine.step)
            again = routine.question == "choice_again"  # asked once already
            question: Question = "offer" if step.offer else "choice_again" if again else "choice"
            asked = replace(routine, step=first, question=question)
            ask = steps[first].ask or ""
            reprompt = p("yes_no_reprompt") if step.offer else join(ask, p("choice_skip"))
            return self.s.say(state.with_phase(InRoutine(asked)), join(lead, note, ask), reprompt)
        if step.position_first and not counting:
            # Position first, then the count: the count starts when they say next.
            routine = replace(routine, question="position")
            return self._out(
                state, routine, lead, note, p("position_prompt"), count_now=False, text=text
            )
        counted = step.hold is not None and (bool(step.beats) or step.hold <= 60)
        if counted and self._check_due(routine):
            # The quick check after the first hold (PROTOCOLS section 1), never before step 1.
            routine = replace(routine, check="asking", question=None)
            return self._out(
                state, routine, lead, note, self.check_text(routine), counting, text=text
            )
        if counted and step.phase == "stretch" and routine.track != "bedtime":
            routine = replace(routine, question="easing")
            tail = p("prompt_after_hold")
            return self._out(state, routine, lead, note, tail, counting, text=text)
        routine = replace(routine, question=None)
        joined = self._joined_after(steps, routine)
        if joined is not None:
            # The next step belongs to this turn (aftercare: fewer turns for a tired ear).
            action = "" if counting else text or step.text
            said = join(lead, action, self.s.count(step, text), note)
            return self.speak(state, replace(routine, step=joined), lead=said)
        return self._out(state, routine, lead, note, p("prompt_next"), counting, text=text)

    def _joined_after(self, steps: tuple[Step, ...], routine: Routine) -> int | None:
        """The step said in the same turn after this one, if the next one is `joined`."""
        index = routine.step + 1
        while index < len(steps) and steps[index].when and not steps[index].ask:
            index += 1  # the other answers of a choice already answered
        if index >= len(steps) or not steps[index].joined:
            return None
        if self._rub_of_leg(routine, steps[index]):
            return None  # a rub waits for its check (G3)
        return index

    def _check_due(self, routine: Routine) -> bool:
        asked_yet = routine.check in ("unasked", "unanswered")
        return asked_yet and routine.track != "aftercare" and self.is_leg(routine)

    def _out(
        self,
        state: State,
        routine: Routine,
        lead: str,
        note: str,
        tail: str,
        counting: bool = False,
        count_now: bool = True,
        text: str | None = None,
    ) -> Outcome:
        reprompt = self.s.p("yes_no_reprompt" if routine.check == "asking" else "reprompt_step")
        if routine.question == "position":
            reprompt = self.s.p("position_wait")
        return self.s.step(
            state.with_phase(InRoutine(routine)),
            routine,
            lead=lead,
            note=note,
            tail=tail,
            reprompt=reprompt,
            count_now=count_now,
            only_count=counting,
            text=text,
        )

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

    def _rub_of_leg(self, routine: Routine, step: Step) -> bool:
        # Every track, aftercare too: whatever path reaches a rub of a leg passes the check.
        return step.phase == "massage" and self.is_leg(routine)

    # ------------------------------------------------------------------ asked steps
    def accept(self, state: State, routine: Routine) -> Outcome:
        """A clear yes to an offer: the offered step, played now."""
        return self.speak(state, replace(routine, chosen=routine.step, question=None))

    def skip_asked(self, state: State, routine: Routine, lead: str = "") -> Outcome:
        """An offer declined, or a choice left unanswered: on past it, none of it played."""
        end = _choice_end(self.steps(state, routine), routine.step)
        return self.advance(state, replace(routine, step=end, question=None), lead=lead)

    def choose(self, state: State, routine: Routine, event: Event) -> Outcome | None:
        """The step an answer to a choice picks (None: the words pick no single one)."""
        steps = self.steps(state, routine)
        heard = {w for text in event.heard for w in re.findall(r"[a-z']+", text.lower())}
        said = heard | {event.part or "", event.kind}
        end = _choice_end(steps, routine.step)
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
            back = replace(back, step=_choice_start(steps, back.step))  # the one question
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


def _choice_start(steps: tuple[Step, ...], index: int) -> int:
    """The step that asks the choice `index` belongs to (itself for an offer or a plain step)."""
    while index > 0 and steps[index].when and not steps[index].ask:
        index -= 1
    return index


def _choice_end(steps: tuple[Step, ...], index: int) -> int:
    """The last answer of the choice asked at `index` (itself for an offer)."""
    while index + 1 < len(steps) and steps[index + 1].when and not steps[index + 1].ask:
        index += 1
    return index
