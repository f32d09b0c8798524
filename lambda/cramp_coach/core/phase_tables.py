"""Which handler answers which event in which phase: the tables rules.Conversation dispatches on
after its guards (step 6 of a turn, rules.py).

Apart from rules.py so that the guards, in their order, read on one page and the tables on
another; each entry is a bound method of the handlers (answers.py, night_answers.py,
bedtime.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cramp_coach.core.answers import Answers
from cramp_coach.core.bedtime import BedtimeAnswers
from cramp_coach.core.model import Event, Profile
from cramp_coach.core.night_answers import NightAnswers
from cramp_coach.core.outcome import Outcome
from cramp_coach.core.phases import (
    AskingMuscle,
    Checking,
    Clarifying,
    Confirming,
    Finished,
    Idle,
    InRoutine,
    Offered,
    Paused,
    PriorCheck,
    ResumeOffer,
)
from cramp_coach.core.state import State

Handler = Callable[[State, Event, Profile | None], Outcome]


def phase_tables(
    a: Answers, n: NightAnswers, b: BedtimeAnswers
) -> tuple[dict[type[Any], dict[str, Handler]], dict[type[Any], Handler]]:
    """`tables[phase type][event kind]`, and the handler for any other event in a phase
    (`defaults`; else the conversation asks for the muscle)."""
    # Issue 24: the bedtime stretch and its nightly reminder, from every phase.
    bedtime: dict[str, Handler] = {
        "bedtime": b.bedtime, "reminder": b.reminder, "stop_reminder": b.stop_reminder,
        "permission": b.permission, "prevention": b.prevention,
    }  # fmt: skip
    # Issue 22: hold-on, "the other leg", the side of a limb, questions asked mid-cramp.
    night: dict[str, Handler] = {
        "hold_on": n.hold_on, "other_side": n.other_side, "how_to_stop": n.how_to_stop,
        "why": n.question, "again": n.question, "heat_ice": n.question,
        "painkiller": n.question,
    }  # fmt: skip
    routine: dict[str, Handler] = {
        "next": a.next, "skip": a.next, "yes": a.yes_in_routine, "no": a.no_in_routine,
        "previous": a.previous, "start_over": a.start_over, "repeat": a.repeat,
        "pause": a.pause, "resume": a.resume_here, "stop": a.stop, "cramp": n.cramp,
        "better": a.better, "still_cramping": a.still_cramping, "hurts": a.hurts,
        "alone": a.variant, "helper": a.variant, "hold_time": a.hold_time,
        "fallback": a.safety_question, "clarify": n.correct_part,
        "symptom": a.routine_advice_done, "dont_know": a.help,
    }  # fmt: skip
    common: dict[str, Handler] = {
        "launch": a.launch, "help": a.help, "disclaimer": a.disclaimer, "repeat": a.repeat,
        "count": a.count, "delete_history": a.delete_history,
        "voice": a.voice, "doctor": a.doctor, "emergency_number": a.emergency_number,
        "log_on": a.log_on, "log_off": a.log_off, "stop": a.stop, "resume": a.resume,
        "cramp": a.cramp, "alone": a.variant, "helper": a.variant, "better": a.better_idle,
        "hold_time": a.hold_time, "symptom": a.ask_muscle, "fallback": a.fallback_idle,
        **night, **bedtime,
    }  # fmt: skip
    asking: dict[str, Handler] = {
        "fallback": a.miss, "next": a.miss, "dont_know": a.miss, "yes": a.miss,
        "no": a.miss, "clarify": a.miss, "skip": a.miss,
    }  # fmt: skip
    tables: dict[type[Any], dict[str, Handler]] = {
        Idle: common,
        Finished: common,
        AskingMuscle: {**common, **asking},
        Clarifying: {**common, **asking, "clarify": a.clarify},
        InRoutine: {**common, **routine},
        Paused: {**common, **routine, "next": a.resume_here, "yes": a.resume_here},
        ResumeOffer: {**common, "yes": a.resume, "next": a.resume, "no": a.ask_muscle,
                      "start_over": a.start_over_offer},
        Checking: {**common, "yes": a.check_yes, "no": a.check_no, "fallback": a.check_again,
                   "next": a.check_again, "dont_know": a.check_again,
                   "cramp": a.check_again, "still_cramping": a.check_again},
        Confirming: {**common, "yes": a.confirm_yes, "no": a.confirm_no,
                     **dict.fromkeys(("next", "skip", "fallback", "dont_know"),
                                     a.confirm_again)},
        Offered: {**common, "yes": b.offer_yes, "no": b.offer_no, "stop": b.offer_no,
                  "next": a.repeat, "skip": b.offer_no},
        PriorCheck: {**common, "yes": a.prior_yes, "no": a.prior_no,
                     **dict.fromkeys(("fallback", "dont_know", "next", "skip", "resume",
                                      "still_cramping", "better", "clarify"),
                                     a.prior_unclear)},
    }  # fmt: skip
    defaults: dict[type[Any], Handler] = {
        InRoutine: a.where_we_are, Paused: a.where_we_are, Checking: a.check_again,
        Confirming: a.confirm_no, AskingMuscle: a.miss, Clarifying: a.miss,
        PriorCheck: a.prior_unclear,
    }  # fmt: skip
    return tables, defaults
