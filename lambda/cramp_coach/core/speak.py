"""The one place that turns decisions into words: steps with their counts, red-flag advice,
cards and the screen. Handlers decide the next state; they ask this module what to say.
"""

from __future__ import annotations

import re

from cramp_coach.content import Content, RedFlag, Step
from cramp_coach.core.model import Screen
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import Routine
from cramp_coach.core.speech import Voice, hold_plan
from cramp_coach.core.state import State

_TAGS = re.compile(r"<[^>]+>")


def plain(ssml: str) -> str:
    return " ".join(_TAGS.sub(" ", ssml).split())


def join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


class Speaker:
    def __init__(self, content: Content) -> None:
        self.c = content
        self.voice = Voice(content)

    def p(self, key: str, **values: object) -> str:
        text = self.c.phrases[key]
        if "{" not in text and "}" not in text:
            return text  # what format() would give: most phrases have no placeholder
        return self.c.phrase(key, **values)

    # ------------------------------------------------------------------ routines
    def track(self, routine: Routine, variant: str) -> tuple[Step, ...]:
        if routine.track == "aftercare":
            return self.c.aftercare_for(routine.muscle)
        return self.c.routine_muscle(routine.muscle).track(routine.track, variant)

    def name(self, routine: Routine) -> str:
        if routine.track == "aftercare":
            return self.p("aftercare_name")
        return self.c.routine_muscle(routine.muscle).name

    def count(self, step: Step, text: str | None = None) -> str:
        """The counted part of a step: its beats, or one hold, or the duration to keep it up
        (`text`: the words the action was spoken with, when not the step's own)."""
        if step.hold is None:
            return ""
        if step.beats:
            return self.voice.beats(step.beats, step.phase)
        said = self.voice.announces_duration(text or step.text, step.hold)
        return self.voice.countdown(step.hold, step.phase, announced=said)

    def step(
        self,
        state: State,
        routine: Routine,
        *,
        lead: str = "",
        note: str = "",
        tail: str,
        reprompt: str,
        count_now: bool = True,
        only_count: bool = False,
        text: str | None = None,
    ) -> Outcome:
        """Speak the routine's current step: the action, its count, a note, then the prompt."""
        steps = self.track(routine, state.ctx.variant)
        step = steps[routine.step]
        counted = self.count(step, text) if count_now else ""
        action = "" if only_count else text or step.text
        before_count = join(lead, action)
        speech = join(before_count, counted, note, tail)
        holds = tuple(b.hold for b in step.beats) or (
            (step.hold,) if step.hold and hold_plan(step.hold) else ()
        )
        progress = self.p("progress", step=routine.step + 1, total=len(steps))
        name = self.name(routine)
        return Outcome(
            state=state,
            speech=speech,
            reprompt=reprompt,
            card_title=self.p("card_title", name=name),
            card_text=self.p("card_step", step=routine.step + 1, total=len(steps), text=step.text),
            screen=Screen(
                kind="step",
                title=name,
                progress=progress,
                text=step.text,
                holds=holds if counted else (),
                lead_words=len(plain(before_count).split()),
                waits_for_position=not count_now,
            ),
        )

    def safety_question(self, about: str) -> str:
        """The words of a safety question: the shared leg check, breathing, heat, baby, blood."""
        if about == "blood":
            return self.p("blood_check")
        if about == "heat":
            return self.c.flags["EXERCISE_HEAT"].text
        if about == "baby":
            return self.p("baby_check")
        return self.c.safety_check.text if about == "leg" else self.p("breath_check")

    # ------------------------------------------------------------------ red flags
    def number_for(self, flags: list[RedFlag]) -> str:
        """The number to call follows the most serious level (one source: the locale's content)."""
        if any(f.level == "emergency" for f in flags):
            return self.p("emergency_number")
        if any(f.level == "urgent" for f in flags):
            return self.p("urgent_number")
        return ""

    def call(self, flag_ids: list[str]) -> str:
        """An emergency's first words: the action and the number ("Call 9 1 1 now."), from the
        locale's phrases and numbers; "" below emergency level."""
        for f in (self.c.red_flags[i] for i in flag_ids):
            if f.level == "emergency" and f.call:
                return self.p(f.call)
        return ""

    def advice(self, flag_ids: list[str]) -> str:
        """What a red flag says: an emergency opens with the call and gives the reason after,
        with nothing less serious after it; an urgent flag ends with the same-day line."""
        flags = [self.c.red_flags[i] for i in flag_ids]
        call = self.call(flag_ids)
        if call:
            return join(call, *(f.script for f in flags if f.level == "emergency"))
        return join(*(f.script for f in flags), self.number_for(flags))

    def red_flag_reprompt(self, flag_ids: list[str]) -> str:
        """Heard after silence: an emergency's call once more, in one sentence, then the offer."""
        return join(self.call(flag_ids), self.p("red_flag_reprompt"))

    def red_flag_screen(self, flag_ids: list[str], advice: str | None = None) -> Screen:
        """`advice`: self.advice(flag_ids), when the caller has it already."""
        flags = [self.c.red_flags[i] for i in flag_ids]
        emergency = any(f.level == "emergency" for f in flags)
        return Screen(
            kind="red_flag",
            title=self.p("red_flag_title_emergency" if emergency else "red_flag_title_urgent"),
            progress="",
            text=plain(self.advice(flag_ids) if advice is None else advice),
            number=self.c.emergency.digits if emergency and self.c.emergency else None,
        )

    def say(
        self,
        state: State,
        speech: str,
        reprompt: str | None = None,
        *,
        end: bool = False,
    ) -> Outcome:
        return Outcome(
            state=state, speech=speech, reprompt=None if end else reprompt, end_session=end
        )
