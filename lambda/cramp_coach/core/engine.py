"""The conversation: (state, event, profile) -> outcome. Pure: no ASK, no I/O, no clock.

Rules it keeps (DESIGN.md, PROTOCOLS.md):
- the first words of a routine are step 1's action; one action per turn;
- holds are counted aloud inside the response;
- safety wins from every state: an emergency or urgent red flag stops the steps;
- nothing the listener says leads to a dead end.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from cramp_coach.content import Content, Muscle, RedFlag, Step
from cramp_coach.core.model import (
    FREQ_THRESHOLD,
    FREQ_WINDOW_S,
    LONG_CRAMP_S,
    MAX_HOLD_REPEATS,
    RESUME_WINDOW_S,
    Event,
    LogEntry,
    Outcome,
    Profile,
    State,
)
from cramp_coach.core.speech import Voice, wrap_voice

_MODES = frozenset(
    {"idle", "asking_muscle", "clarifying", "routine", "paused", "red_flag", "finished"}
)
_Handler = Callable[[State, Event, Profile | None], Outcome]


def needs_profile(state: State, event: Event) -> bool:
    """Whether the adapter should load the stored profile before this event.

    The cold one-shot ("her calf is cramping") must not wait for the database: step 1
    needs nothing stored, so the profile is loaded only where it changes what is said.
    """
    kind = event.kind
    if kind in ("launch", "count"):
        return True  # the resume offer; the cramp log
    if kind == "resume" and not state.in_routine:
        return True
    if state.question == "resume" and kind in ("yes", "start_over"):
        return True
    if state.track == "aftercare" and kind in ("next", "skip", "yes", "better"):
        return True  # the end of aftercare may bring the frequent-cramps advice
    # Preferences: who usually speaks, when the words did not say.
    return (
        kind == "cramp"
        and event.helper is None
        and not (state.variant_known or state.profile_loaded)
    )


class Conversation:
    """Drives one locale's content. Create once per locale and reuse (it holds no state)."""

    def __init__(self, content: Content) -> None:
        self.c = content
        self.voice = Voice(content)
        self._handlers: dict[str, _Handler] = {
            "launch": self._launch,
            "cramp": self._cramp,
            "clarify": self._clarify,
            "next": self._next,
            "skip": self._next,
            "previous": self._previous,
            "repeat": self._repeat,
            "start_over": self._start_over,
            "pause": self._pause,
            "resume": self._resume,
            "better": self._better,
            "still_cramping": self._still_cramping,
            "hurts": self._hurts,
            "alone": self._variant,
            "helper": self._variant,
            "yes": self._yes,
            "no": self._no,
            "help": self._help,
            "disclaimer": self._disclaimer,
            "prevention": self._prevention,
            "count": self._count,
            "delete_history": self._delete_history,
            "voice": self._voice,
        }

    # ----------------------------------------------------------------- entry point
    def handle(self, state: State, event: Event, profile: Profile | None = None) -> Outcome:
        s = replace(state, flags=list(state.flags), unsaved=[dict(u) for u in state.unsaved])
        if not self._coherent(s):
            # Session attributes that name no muscle, track or step we have: start afresh.
            s = State()
        if profile is not None and not s.profile_loaded:
            self._apply_profile(s, profile)
        out = self._dispatch(s, event, profile)
        if out.speech and event.kind not in ("repeat", "session_ended"):
            out.state.last_speech = out.speech
            out.state.last_reprompt = out.reprompt or ""
        if out.speech:
            out.speech = wrap_voice(out.speech, out.state.quiet)
        if out.reprompt:
            out.reprompt = wrap_voice(out.reprompt, out.state.quiet)
        return out

    def _coherent(self, s: State) -> bool:
        if s.mode not in _MODES or s.track not in ("main", "gentle", "aftercare"):
            return False
        if s.variant not in ("partner", "alone"):
            return False
        if s.muscle is None:
            return not s.in_routine
        if s.muscle not in self.c.muscles:
            return False
        return 0 <= s.step < len(self._track(s))

    def _apply_profile(self, s: State, profile: Profile) -> None:
        s.profile_loaded = True
        if s.quiet is None:
            s.quiet = profile.quiet
        if not s.variant_known and profile.default_variant in ("partner", "alone"):
            s.variant = profile.default_variant

    def _dispatch(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        kind = e.kind
        if kind == "session_ended":
            return self._session_ended(s)
        if kind == "stop":
            return self._stop(s)
        if kind == "symptom":
            return self._symptom(s, e)
        if kind == "cramp" and e.muscle in self.c.out_of_scope:
            return self._red_flag(s, self.c.out_of_scope[e.muscle])
        if s.mode == "red_flag" and kind not in ("repeat", "help", "disclaimer", "yes", "no"):
            return self._locked(s)
        # G1: ten minutes after the first step without easing, the steps stop.
        if (
            s.in_routine
            and s.track != "aftercare"
            and s.started_at is not None
            and e.now - s.started_at >= LONG_CRAMP_S
            and kind not in ("better", "help", "disclaimer", "voice")
        ):
            return self._red_flag(s, "RF_LONG")
        if s.question and kind in ("yes", "no"):
            return self._answer(s, e, profile)
        return self._handlers.get(kind, self._fallback)(s, e, profile)

    # ----------------------------------------------------------------- helpers
    def _p(self, key: str, **values: object) -> str:
        return self.c.phrase(key, **values)

    def _say(self, s: State, speech: str, reprompt: str | None = None, **kw: Any) -> Outcome:
        return Outcome(state=s, speech=speech, reprompt=reprompt, **kw)

    def _take_speaker(self, s: State, e: Event) -> None:
        """Who is speaking picks the variant: a helper's words, or the sufferer's own."""
        if e.helper in ("PARTNER", "ALONE"):
            s.variant = "partner" if e.helper == "PARTNER" else "alone"
            s.variant_known = True

    def _muscle(self, s: State) -> Muscle:
        assert s.muscle is not None
        return self.c.muscles[s.muscle]

    def _track(self, s: State) -> tuple[Step, ...]:
        if s.track == "aftercare":
            return self.c.aftercare_for(s.muscle)
        m = self._muscle(s)
        if s.track == "gentle" and m.gentle:
            return m.gentle
        return m.alone if s.variant == "alone" else m.partner

    def _log_entry(self, s: State) -> dict[str, object] | None:
        for entry in s.unsaved:
            if entry.get("rid") == s.rid:
                return entry
        return None

    def _set_outcome(self, s: State, outcome: str) -> None:
        """Record how the routine ended; the entry rides in the state until stored."""
        if s.rid is None or s.muscle is None or s.started_at is None:
            return
        entry = self._log_entry(s)
        if entry is None:
            entry = LogEntry(s.rid, s.started_at, s.muscle, s.variant).__dict__.copy()
            s.unsaved.append(entry)
        entry["outcome"] = outcome
        entry["variant"] = s.variant

    # ----------------------------------------------------------------- speaking a step
    def _step_speech(self, s: State, lead: str = "", note: str = "") -> Outcome:
        steps = self._track(s)
        step = steps[s.step]
        parts = [step.text]
        if lead:
            parts.insert(0, lead)
        if step.hold:
            said = self.voice.announces_duration(step.text, step.hold)
            parts.append(self.voice.countdown(step.hold, step.phase, announced=said))
        if note:
            parts.append(note)
        ask_safety = (
            step.hold is not None
            and s.track == "main"
            and not s.safety_checked
            and s.muscle is not None
            and self._muscle(s).leg
        )
        s.question = None
        if ask_safety:
            # Asked once, after the first hold, never before step 1 (PROTOCOLS section 1).
            s.safety_checked = True
            s.question = "safety_check"
            parts.append(self.c.safety_check.text)
            reprompt = self._p("yes_no_reprompt")
        elif step.hold and step.hold <= 60 and step.phase == "stretch":
            s.question = "easing"
            parts.append(self._p("prompt_after_hold"))
            reprompt = self._p("reprompt_step")
        else:
            parts.append(self._p("prompt_next"))
            reprompt = self._p("reprompt_step")
        s.mode = "routine"
        return self._say(
            s,
            " ".join(parts),
            reprompt,
            card_title=f"Cramp Coach: {self._card_name(s)}",
            card_text=f"Step {s.step + 1} of {len(steps)}: {step.text}",
        )

    def _card_name(self, s: State) -> str:
        if s.track == "aftercare":
            return "aftercare"
        return self._muscle(s).name

    def _start_routine(self, s: State, muscle_id: str, e: Event, note: str = "") -> Outcome:
        switching = s.in_routine and s.track != "aftercare"
        if switching and s.muscle == muscle_id:
            return self._step_speech(s, lead=self._p("same_muscle", name=self._muscle(s).name))
        self._take_speaker(s, e)
        if "PREGNANT" in s.flags:
            s.variant = "partner"  # G6: the partner does the foot work
        lead = ""
        if switching:
            self._set_outcome(s, "switched_muscle")
            lead = self._p("switch_muscle", name=self.c.muscles[muscle_id].name)
        else:
            # A new routine: its ten-minute clock starts at the first step (G1).
            s.started_at = e.now
        s.rid = hashlib.sha256(f"{e.now}:{muscle_id}:{e.request_id}".encode()).hexdigest()[:12]
        s.muscle, s.track, s.step, s.repeats = muscle_id, "main", 0, 0
        s.clarifying, s.tries = None, 0
        s.safety_checked = False
        self._set_outcome(s, "in_progress")
        notes = [note] if note else []
        m = self.c.muscles[muscle_id]
        if m.caution:
            notes.append(m.caution.text)
        if "PREGNANT" in s.flags and m.pregnancy:
            notes.append(m.pregnancy.text)
        return self._step_speech(s, lead=lead, note=" ".join(notes))

    # ----------------------------------------------------------------- event handlers
    def _launch(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        snapshot = self._resumable(profile, e.now)
        if snapshot is not None:
            s.question = "resume"
            return self._say(
                s,
                self._p("resume_offer", step=snapshot.step + 1, name=self._name_of(snapshot)),
                self._p("resume_offer_reprompt"),
            )
        s.mode, s.tries = "asking_muscle", 0
        return self._say(s, self._p("ask_muscle"), self._p("ask_muscle_reprompt"))

    def _name_of(self, snapshot: State) -> str:
        if snapshot.track == "aftercare":
            return "aftercare"
        return self.c.muscles[snapshot.muscle].name if snapshot.muscle else "cramp"

    def _resumable(self, profile: Profile | None, now: float) -> State | None:
        if profile is None or profile.resume is None or profile.resume_saved_at is None:
            return None
        if now - profile.resume_saved_at > RESUME_WINDOW_S:
            return None
        snapshot = State.from_dict(profile.resume)
        return snapshot if snapshot.in_routine and self._coherent(snapshot) else None

    def _cramp(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        muscle = e.muscle
        if (
            muscle == "LOWER_BACK"
            and e.heard_back
            and s.mode == "routine"
            and (s.muscle != "LOWER_BACK")
        ):
            # Mid-routine, a bare "back" means the previous step, not a back cramp.
            return self._previous(s, e, profile)
        if s.mode == "clarifying" and s.clarifying:
            if muscle == "LOWER_BACK" and e.heard_back:
                return self._clarify(s, replace(e, part="BACK"), profile)
            if muscle in self.c.vague[s.clarifying].choices:
                return self._start_routine(s, muscle, e)
        if muscle in self.c.muscles:
            return self._start_routine(s, muscle, e)
        if s.mode == "routine" and muscle not in self.c.vague:
            # "She has a cramp" mid-routine names no new muscle: keep the place (and the clock).
            return self._step_speech(s, lead=self._p("same_muscle", name=self._card_name(s)))
        if muscle in self.c.vague:
            vague = self.c.vague[muscle]
            if vague.default is not None:
                return self._start_routine(s, vague.default, e, note=vague.note or "")
            self._take_speaker(s, e)
            s.mode, s.clarifying, s.tries = "clarifying", muscle, 0
            assert vague.question is not None
            return self._say(s, vague.question, vague.question)
        return self._unknown_muscle(s, e)

    def _unknown_muscle(self, s: State, e: Event) -> Outcome:
        # PROTOCOLS section 5: unknown after one re-prompt -> the calf, the most common site.
        if s.tries >= 1 or s.mode == "clarifying":
            return self._start_routine(s, "CALF", e, note=self._p("default_calf"))
        self._take_speaker(s, e)
        s.tries += 1
        s.mode = "asking_muscle"
        # "I have a cramp" named no muscle: ask plainly. A word we did not know: say so.
        unclear = e.muscle is not None or e.kind != "cramp"
        question = self._p("ask_muscle_again" if unclear else "ask_muscle")
        return self._say(s, question, self._p("ask_muscle_reprompt"))

    def _clarify(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if s.mode != "clarifying" or not s.clarifying:
            if s.in_routine:
                return self._fallback(s, e, profile)
            return self._unknown_muscle(s, e)
        vague = self.c.vague[s.clarifying]
        target = vague.answers.get(e.part or "")
        if target:
            return self._start_routine(s, target, e)
        if s.tries == 0 and vague.hint:
            s.tries = 1
            return self._say(s, vague.hint, vague.hint)
        return self._start_routine(s, "CALF", e, note=self._p("default_calf"))

    def _not_in_routine(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if s.mode == "clarifying" and s.clarifying:
            q = self.c.vague[s.clarifying].question or ""
            return self._say(s, q, q)
        if s.mode == "finished":
            return self._say(
                s,
                self._p("better_no_routine") + " " + self._p("ask_muscle"),
                self._p("ask_muscle_reprompt"),
            )
        s.mode = "asking_muscle"
        return self._say(s, self._p("ask_muscle"), self._p("ask_muscle_reprompt"))

    def _next(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if not s.in_routine:
            return self._not_in_routine(s, e, profile)
        steps = self._track(s)
        lead = self._p("skipping") if e.kind == "skip" else ""
        if s.step + 1 < len(steps):
            s.step += 1
            return self._step_speech(s, lead=lead)
        if s.track == "aftercare":
            return self._finish(s, profile)
        s.question = "end_of_steps"
        name = self._muscle(s).name
        return self._say(s, self._p("end_of_steps_question", name=name), self._p("yes_no_reprompt"))

    def _previous(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if not s.in_routine:
            return self._not_in_routine(s, e, profile)
        if s.step == 0:
            return self._step_speech(s, lead=self._p("first_step_already"))
        s.step -= 1
        return self._step_speech(s)

    def _repeat(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if s.last_speech:
            # Re-speak exactly what was said (stored before the voice wrapper is applied).
            return self._say(s, s.last_speech, s.last_reprompt or None)
        if s.in_routine:
            return self._step_speech(s)
        return self._not_in_routine(s, e, profile)

    def _start_over(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if s.question == "resume" and profile is not None:
            snapshot = self._resumable(profile, e.now)
            if snapshot is not None and snapshot.muscle:
                s.variant, s.variant_known = snapshot.variant, snapshot.variant_known
                return self._start_routine(s, snapshot.muscle, e)
        if not s.muscle or s.mode not in ("routine", "paused", "finished"):
            return self._not_in_routine(s, e, profile)
        # The ten-minute clock keeps running: starting over is the same cramp.
        s.track, s.step, s.repeats = "main", 0, 0
        return self._step_speech(s, lead=self._p("start_over", name=self._muscle(s).name))

    def _pause(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if not s.in_routine:
            return self._stop(s)
        s.mode, s.question = "paused", None
        speech = self._p("pause", step=s.step + 1, name=self._card_name(s))
        return self._say(s, speech, None, end_session=True, save_resume=True)

    def _resume(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if s.in_routine:
            return self._step_speech(s)
        snapshot = self._resumable(profile, e.now)
        if snapshot is None:
            return self._say(
                s,
                self._p("nothing_to_resume") + " " + self._p("ask_muscle"),
                self._p("ask_muscle_reprompt"),
            )
        restored = replace(
            snapshot,
            quiet=s.quiet,
            profile_loaded=True,
            unsaved=s.unsaved,
            question=None,
            last_speech="",
            last_reprompt="",
        )
        if (
            restored.track != "aftercare"
            and restored.started_at is not None
            and (e.now - restored.started_at >= LONG_CRAMP_S)
        ):
            return self._red_flag(restored, "RF_LONG")
        return self._step_speech(restored, lead=self._p("resuming", step=restored.step + 1))

    def _better(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if not s.in_routine:
            return self._say(
                s,
                self._p("better_no_routine") + " " + self.c.reassurance.text,
                None,
                end_session=True,
            )
        if s.track == "aftercare":
            return self._next(s, e, profile)
        self._set_outcome(s, "eased")
        s.track, s.step, s.question = "aftercare", 0, None
        return self._step_speech(s, lead=self._p("better"))

    def _still_cramping(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if not s.in_routine:
            return self._not_in_routine(s, e, profile)
        if s.track == "aftercare":
            # The cramp came back during aftercare: back to the stretch.
            s.track, s.step = "main", 0
        steps = self._track(s)
        held = [i for i, st in enumerate(steps[: s.step + 1]) if st.hold and st.phase == "stretch"]
        if not held:
            if s.step + 1 < len(steps):
                s.step += 1
                return self._step_speech(s, lead=self._p("go_stretch"))
            return self._say(s, self._p("steps_exhausted"), self._p("reprompt_step"))
        if s.repeats >= MAX_HOLD_REPEATS:
            if s.step + 1 < len(steps):
                s.step += 1
                s.repeats = 0
                return self._step_speech(s, lead=self._p("hold_limit"))
            s.question = None
            return self._say(s, self._p("steps_exhausted"), self._p("reprompt_step"))
        s.repeats += 1
        s.step = held[-1]
        return self._step_speech(s, lead=self._p("hold_again"))

    def _hurts(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if not s.in_routine:
            return self._not_in_routine(s, e, profile)
        stop = self.c.gentle_stop.text
        m = self._muscle(s)
        if s.track == "main" and m.gentle and s.variant == "partner":
            s.track, s.step, s.repeats = "gentle", 0, 0
            return self._step_speech(s, lead=f"{stop} {self._p('gentler_option')}")
        self._set_outcome(s, "too_painful")
        s.track, s.step = "aftercare", 0
        return self._step_speech(s, lead=f"{stop} {self._p('to_aftercare_gentle')}")

    def _variant(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        new = "alone" if e.kind == "alone" else "partner"
        if "PREGNANT" in s.flags:
            new = "partner"
        lead = self._p("now_alone" if new == "alone" else "now_partner")
        changed = new != s.variant
        s.variant, s.variant_known = new, True
        prefs = {"default_variant": new}
        if not s.in_routine:
            out = self._say(s, f"{lead} {self._p('ask_muscle')}", self._p("ask_muscle_reprompt"))
            out.prefs = prefs
            return out
        if changed and s.track in ("main", "gentle"):
            # Keep the position: land on the first step of the same phase in the other variant.
            old_phase = self._phase_before_switch(s, new)
            s.track = "main"
            steps = self._track(s)
            s.step = next((i for i, st in enumerate(steps) if st.phase == old_phase), 0)
        out = self._step_speech(s, lead=lead)
        out.prefs = prefs
        return out

    def _phase_before_switch(self, s: State, new: str) -> str:
        old = replace(s, variant="partner" if new == "alone" else "alone")
        steps = self._track(old)
        return steps[min(s.step, len(steps) - 1)].phase

    def _yes(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if s.in_routine:
            return self._next(s, e, profile)
        return self._not_in_routine(s, e, profile)

    def _no(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if s.in_routine:
            return self._say(s, self._p("no_question_no"), self._p("reprompt_step"))
        return self._stop(s)

    def _answer(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        yes = e.kind == "yes"
        question, s.question = s.question, None
        if question == "safety_check":
            if yes:
                s.question = "breath_check"
                return self._say(s, self._p("breath_check"), self._p("yes_no_reprompt"))
            return self._next(s, e, profile)
        if question == "breath_check":
            return self._red_flag(s, "RF_PE" if yes else "RF_DVT")
        if question == "easing":
            if yes and s.step + 1 >= len(self._track(s)):
                return self._better(s, e, profile)  # eased on the last step: no second question
            if yes:
                return self._next(s, e, profile)
            return self._still_cramping(s, e, profile)
        if question == "end_of_steps":
            if yes:
                return self._better(s, e, profile)
            return self._still_cramping(s, e, profile)
        if question == "resume":
            if yes:
                return self._resume(s, e, profile)
            s.mode = "asking_muscle"
            return self._say(s, self._p("ask_muscle"), self._p("ask_muscle_reprompt"))
        if question == "confirm_delete":
            if yes:
                s.unsaved = []
                return self._say(
                    s,
                    self._p("deleted"),
                    None,
                    end_session=True,
                    delete_history=True,
                    clear_resume=True,
                )
            return self._say(s, self._p("delete_kept"), None, end_session=True)
        return self._fallback(s, e, profile)

    def _finish(self, s: State, profile: Profile | None) -> Outcome:
        parts = [self.c.reassurance.text]
        advised = False
        if self._frequent(s, profile):
            parts.append(self.c.red_flags["RF_FREQ"].script)
            advised = True
        parts.append(self._p("aftercare_done"))
        entry = self._log_entry(s)
        if entry is not None and entry.get("outcome") == "in_progress":
            self._set_outcome(s, "eased")
        s.mode, s.question = "finished", None
        return self._say(
            s, " ".join(parts), None, end_session=True, clear_resume=True, freq_advised=advised
        )

    def _frequent(self, s: State, profile: Profile | None) -> bool:
        """RF-FREQ: three or more routines in seven days, advised once a week, after relief."""
        if profile is None:
            return False
        now = s.started_at or 0.0
        if profile.freq_advised_at is not None and now - profile.freq_advised_at < FREQ_WINDOW_S:
            return False
        starts = {round(t) for t in profile.recent_starts if now - t < FREQ_WINDOW_S}
        starts |= {round(float(u["started_at"])) for u in s.unsaved}
        return len(starts) >= FREQ_THRESHOLD

    def _symptom(self, s: State, e: Event) -> Outcome:
        symptom = e.symptom or ""
        if symptom in ("PREGNANT", "CHILD"):
            return self._flag(s, symptom)
        if symptom == "RF_DVT" and "PREGNANT" in s.flags:
            return self._red_flag(s, "RF_PREG", also="RF_DVT")
        if symptom in self.c.red_flags:
            return self._red_flag(s, symptom)
        # A symptom we could not place: name the emergency signs rather than shrug.
        tail = self._p("prompt_next") if s.in_routine else self._p("ask_muscle")
        reprompt = self._p("reprompt_step") if s.in_routine else self._p("ask_muscle_reprompt")
        return self._say(s, f"{self._p('symptom_unknown')} {tail}", reprompt)

    def _flag(self, s: State, flag: str) -> Outcome:
        if flag not in s.flags:
            s.flags.append(flag)
        text = self.c.flags[flag].text
        if flag == "PREGNANT":
            s.variant = "partner"
        if s.in_routine:
            return self._step_speech(s, lead=text)
        s.mode = "asking_muscle"
        return self._say(s, f"{text} {self._p('ask_muscle')}", self._p("ask_muscle_reprompt"))

    def _red_flag(self, s: State, rf_id: str, also: str | None = None) -> Outcome:
        flags: list[RedFlag] = [self.c.red_flags[rf_id]]
        if also:
            flags.append(self.c.red_flags[also])
        # Emergency first, then urgent (PROTOCOLS section 4).
        flags.sort(key=lambda f: ("emergency", "urgent", "routine").index(f.level))
        parts = [f.script for f in flags]
        if any(f.level == "emergency" for f in flags):
            parts.append(self._p("emergency_number"))
        if not any(f.stops_routine for f in flags):
            # Routine-level advice: say it, then carry on where we were.
            if s.in_routine:
                parts.append(self._p("routine_advice_continue"))
                return self._say(s, " ".join(parts), self._p("reprompt_step"))
            s.mode = "asking_muscle" if s.mode == "idle" else s.mode
            return self._say(s, " ".join(parts), self._p("generic_reprompt"))
        if rf_id == "RF_INFANT" and "INFANT" not in s.flags:
            s.flags.append("INFANT")
        self._set_outcome(s, f"red_flag:{flags[0].id}")
        if s.in_routine or s.muscle:
            parts.append(self.c.closing_after_red_flag.text)
        parts.append(self._p("red_flag_reprompt"))
        s.mode, s.red_flag, s.question = "red_flag", flags[0].id, None
        return self._say(
            s,
            " ".join(parts),
            self._p("red_flag_reprompt"),
            card_title="Cramp Coach: get help",
            card_text=" ".join(f.script for f in flags),
            clear_resume=True,
        )

    def _locked(self, s: State) -> Outcome:
        rf = self.c.red_flags.get(s.red_flag or "")
        parts = [self._p("red_flag_locked")]
        if rf:
            parts.append(rf.script)
            if rf.level == "emergency":
                parts.append(self._p("emergency_number"))
        parts.append(self._p("red_flag_reprompt"))
        return self._say(s, " ".join(parts), self._p("red_flag_reprompt"))

    def _help(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if s.mode == "red_flag":
            return self._locked(s)  # the steps stay stopped: help repeats the advice
        if s.in_routine:
            return self._say(
                s, f"{self._p('help_routine')} {self._p('prompt_next')}", self._p("reprompt_step")
            )
        return self._say(s, self._p("help_idle"), self._p("help_reprompt"))

    def _disclaimer(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        tail = self._p("prompt_next") if s.in_routine else self._p("ask_muscle")
        return self._say(s, f"{self._p('disclaimer')} {tail}", self._p("generic_reprompt"))

    def _prevention(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        tips = " ".join(t.text for t in self.c.prevention)
        tail = self._p("prompt_next") if s.in_routine else ""
        return self._say(
            s,
            f"{self._p('prevention_intro')} {tips} {tail}".strip(),
            None if not s.in_routine else self._p("reprompt_step"),
            end_session=not s.in_routine,
        )

    def _count(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        recent: list[tuple[float, str]] = []
        if profile is not None:
            recent = [
                (t, m)
                for t, m in zip(profile.recent_starts, profile.recent_muscles, strict=False)
                if e.now - t < FREQ_WINDOW_S
            ]
        seen = {round(t) for t, _ in recent}
        for u in s.unsaved:
            t = float(u["started_at"])
            if round(t) not in seen and e.now - t < FREQ_WINDOW_S:
                recent.append((t, str(u["muscle"])))
        if not recent:
            speech = self._p("count_none")
        else:
            speech = (
                self._p("count_one")
                if len(recent) == 1
                else self._p("count_some", count=len(recent))
            )
            common, _ = Counter(m for _, m in recent).most_common(1)[0]
            if len(recent) > 1 and common in self.c.muscles:
                speech += " " + self._p("count_detail", name=self.c.muscles[common].name)
            if len(recent) >= FREQ_THRESHOLD:
                speech += " " + self.c.red_flags["RF_FREQ"].script
        if s.in_routine:
            return self._say(s, f"{speech} {self._p('prompt_next')}", self._p("reprompt_step"))
        return self._say(s, speech, None, end_session=True)

    def _delete_history(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        s.question = "confirm_delete"
        return self._say(s, self._p("delete_confirm"), self._p("yes_no_reprompt"))

    def _voice(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        quiet = e.volume != "NORMAL"
        s.quiet = quiet
        lead = self._p("voice_quiet" if quiet else "voice_normal")
        if s.in_routine:
            out = self._step_speech(s, lead=lead)
        else:
            out = self._say(s, f"{lead} {self._p('ask_muscle')}", self._p("ask_muscle_reprompt"))
        out.prefs = {"quiet": quiet}
        return out

    def _fallback(self, s: State, e: Event, profile: Profile | None) -> Outcome:
        if s.in_routine:
            return self._say(s, self._p("fallback_routine"), self._p("reprompt_step"))
        if s.mode in ("asking_muscle", "clarifying"):
            return (
                self._unknown_muscle(s, e)
                if s.mode == "asking_muscle"
                else self._clarify(s, replace(e, part=None), profile)
            )
        s.mode = "asking_muscle"
        return self._say(s, self._p("fallback_idle"), self._p("ask_muscle_reprompt"))

    def _stop(self, s: State) -> Outcome:
        if s.in_routine:
            self._set_outcome(s, "stopped")
            return self._say(
                s, self._p("stop_in_routine"), None, end_session=True, save_resume=True
            )
        return self._say(s, self._p("stop"), None, end_session=True)

    def _session_ended(self, s: State) -> Outcome:
        # Silence or an error closed the session: keep the routine for a later "continue".
        out = self._say(s, "", None, end_session=True)
        if s.in_routine:
            if (entry := self._log_entry(s)) is not None and entry.get("outcome") == "in_progress":
                entry["outcome"] = "interrupted"
            out.save_resume = True
        return out
