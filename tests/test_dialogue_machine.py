"""A listener who says anything, in any order: hypothesis.stateful over every event kind.

Invariants, checked after every turn through real envelopes and the real skill:
- every answer parses as SSML (conftest.Turn checks it) and never is the crash fallback;
- after a stopping red flag, nothing in that session speaks a step, a hold or a rub;
- within 12 hours of an emergency flag, no later session speaks a step either, unless that
  session answered PROTOCOLS 4.1's questions: "no" to "the same person?" or "yes" to
  "checked since?";
- after "yes" to the quick check, no rub is spoken in that routine (it is locked);
- a leg is never rubbed before a clear "no" to the leg check;
- corrupt session attributes of any type start afresh instead of sticking.

The lock is recognised from what is spoken (a stopping red flag's script), not from the
state's shape, so the same machine runs against any engine (it found the old lock leak).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import load_content
from tests.conftest import Conversation, Turn
from tests.memory_store import MemoryStore
from tests.spoken import LEG_RUBS, STEP_TEXTS

CONTENT = load_content("en-US")
# The leg check's words: the shared one, and a muscle's own (the shin's compartment check).
LEG_CHECKS = (
    CONTENT.safety_check.text,
    *(m.check.text for m in CONTENT.muscles.values() if m.check),
)
STOPPING = {f.id: f.script for f in CONTENT.red_flags.values() if f.stops_routine}
EMERGENCY = {f.id for f in CONTENT.red_flags.values() if f.level == "emergency"}
MUSCLE_IDS = sorted({*CONTENT.muscles, *CONTENT.vague, *CONTENT.out_of_scope})
SYMPTOM_IDS = sorted({*CONTENT.red_flags, "PREGNANT", "CHILD", "INFANT", "EXERCISE_HEAT"})
PLAIN_INTENTS = [
    "Next", "Previous", "Repeat", "StartOver", "Pause", "Resume", "Yes", "No", "Help",
    "FallbackIntent", "BetterIntent", "StillCrampingIntent", "HurtsIntent", "AloneIntent",
    "HelperIntent", "SkipIntent", "DisclaimerIntent", "PreventionIntent", "CrampCountIntent",
    "DoctorIntent", "EmergencyNumberIntent", "HoldTimeIntent", "DontKnowIntent",
    "BedtimeIntent", "StopReminderIntent", "AgainIntent", "HowToStopIntent", "HoldOnIntent",
]  # fmt: skip
WORDS = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz '"), min_size=0, max_size=40
) | st.sampled_from(
    ["she can't breathe", "it's swollen", "my baby", "wobbly", "the back one", "puffy", "hmm"]
)


def _speaks_steps(turn: Turn) -> bool:
    text = turn.speech
    return any(t in text for t in STEP_TEXTS) or "starting now" in text.lower()


class Night(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore()
        self.talk = Conversation(build_skill(store_factory=lambda: self.store))
        self.locked = False  # a stopping red flag was spoken in this session
        self.emergency_at: float | None = None
        self.check_clear = False  # a clear "no" to the leg check in this routine
        self.cleared = False  # this session answered the 12-hour questions (PROTOCOLS 4.1)
        self.last: Turn | None = None

    def _observe(self, turn: Turn) -> None:
        self.last = turn
        assert "Sorry, something went wrong" not in turn.speech, turn.speech
        if self.locked or (
            not self.cleared
            and self.emergency_at is not None
            and self.talk.now - self.emergency_at < 12 * 3600
        ):
            assert not _speaks_steps(turn), turn.speech
        repeated = turn.speech.startswith(CONTENT.phrase("prior_lock"))
        for flag, script in STOPPING.items():
            # A warning repeated from an earlier session is held by the 12-hour rule below
            # (steps only after the 4.1 question is answered), not by this session's lock.
            if script in turn.speech and not repeated:
                self.locked = True
                if flag in EMERGENCY:
                    self.emergency_at = self.talk.now
        if any(rub in turn.speech for rub in LEG_RUBS):
            assert self.check_clear, f"a leg rub before a clear no: {turn.speech}"

    def _send(self, intent: str, **slots: tuple[str, str | None]) -> None:
        before = self.last
        turn = self.talk.say(intent, **slots)
        asked = before is not None and any(check in before.speech for check in LEG_CHECKS)
        if asked and intent == "No":
            self.check_clear = True
        if before is not None and not self.locked:
            seen = before.speech.endswith(CONTENT.phrase("prior_seen")) and intent == "Yes"
            other = before.speech.endswith(CONTENT.phrase("prior_same_person")) and intent == "No"
            self.cleared = self.cleared or seen or other
        if turn.state["mode"] not in ("routine", "paused"):
            self.check_clear = False
        self._observe(turn)

    @rule(intent=st.sampled_from(PLAIN_INTENTS))
    def plain(self, intent: str) -> None:
        self._send(intent)

    @rule(muscle=st.sampled_from([*MUSCLE_IDS, None]), heard=WORDS, helper=st.booleans())
    def cramp(self, muscle: str | None, heard: str, helper: bool) -> None:
        slots: dict[str, tuple[str, str | None]] = {"muscle": (heard or "calf", muscle)}
        if helper:
            slots["helper"] = ("her", "PARTNER")
        self.check_clear = self.check_clear and muscle is None
        self._send("CrampIntent", **slots)

    @rule(symptom=st.sampled_from([*SYMPTOM_IDS, None]), heard=WORDS)
    def symptom(self, symptom: str | None, heard: str) -> None:
        self._send("SymptomIntent", symptom=(heard or "something", symptom))

    @rule(part=st.sampled_from(["FRONT", "BACK", "TOP", "BELOW", "ABOVE", None]), heard=WORDS)
    def clarify(self, part: str | None, heard: str) -> None:
        self._send("ClarifyIntent", part=(heard or "front", part))

    @rule(time=st.sampled_from(["half ten", "22:30", "ten", "NI", "wobbly"]))
    def remind(self, time: str) -> None:
        """ "Remind me every night at ...": never a reminder in place of a cramp's step."""
        before = self.last
        mid_cramp = before is not None and before.state["mode"] in ("routine", "paused")
        mid_cramp = mid_cramp and before is not None and before.state["track"] != "bedtime"
        self._send("ReminderIntent", time=(time, None))
        turn = self.last
        assert turn is not None
        # No permission in these envelopes: at most Alexa is asked for it; nothing is called.
        kinds = [d.get("type") for d in turn.raw["response"].get("directives") or []]
        assert set(kinds) <= {"Connections.SendRequest"}, kinds
        if mid_cramp or self.locked:
            # Help now comes first: no reminder is decided mid-cramp or past a red flag.
            assert not kinds, turn.speech
            assert CONTENT.phrase("reminder_ask_permission") not in turn.speech

    @rule(minutes=st.sampled_from([1, 5, 11, 60, 13 * 60]))
    def new_session(self, minutes: int) -> None:
        self._observe(self.talk.end())
        self.talk.session.restart()
        self.talk.now += minutes * 60
        self.locked = False
        self.check_clear = False
        self.cleared = False
        self._observe(self.talk.launch())

    @rule(
        garbage=st.one_of(
            st.integers(),
            st.text(max_size=5),
            st.lists(st.integers()),
            st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
        )
    )
    def corrupt(self, garbage: Any) -> None:  # fmt: skip
        self.talk.session.attributes = {"cramp": garbage}
        self.talk.session.new = False
        turn = self.talk.say("Next")
        assert turn.speech.startswith("Which muscle is cramping?"), turn.speech
        self.locked = False
        self.check_clear = False
        self._observe(turn)

    @invariant()
    def open_sessions_have_a_reprompt(self) -> None:
        turn = self.last
        if turn is not None and turn.ssml and not turn.ended:
            assert turn.reprompt, turn.speech


Night.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestNight = Night.TestCase
