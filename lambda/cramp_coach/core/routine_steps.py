"""A routine's steps and how the current one is spoken: the question after it, the count, the
leg check before a rub of a leg (G3), a step joined to the one before.

The base of Routines (routine.py), which moves through the steps and speaks every move here;
apart from it because speaking a step is the one path every move ends on.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec.structs import replace

from cramp_coach.content import Content, Step
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import InRoutine, Question, Routine
from cramp_coach.core.speak import Speaker, join
from cramp_coach.core.state import State


class RoutineSteps:
    """A routine's steps for the listener (helped or alone), its leg check, and the current
    step spoken with what belongs after it."""

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
            first = choice_start(steps, routine.step)
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

    def _rub_of_leg(self, routine: Routine, step: Step) -> bool:
        # Every track, aftercare too: whatever path reaches a rub of a leg passes the check.
        return step.phase == "massage" and self.is_leg(routine)


def choice_start(steps: tuple[Step, ...], index: int) -> int:
    """The step that asks the choice `index` belongs to (itself for an offer or a plain step)."""
    while index > 0 and steps[index].when and not steps[index].ask:
        index -= 1
    return index


def choice_end(steps: tuple[Step, ...], index: int) -> int:
    """The last answer of the choice asked at `index` (itself for an offer)."""
    while index + 1 < len(steps) and steps[index + 1].when and not steps[index + 1].ask:
        index += 1
    return index
