"""What the stored profile brings into a session: preferences, whether RF-FREQ advice is due,
the 12-hour red-flag lock and the device's country.

Applied once, on the first turn that has the profile (rules.Conversation.handle). Apart from
rules.py because it reads stored, untrusted data into the Context, which is a job of its own:
every value is checked before it is kept.
"""

from __future__ import annotations

from msgspec.structs import replace

from cramp_coach.content import Content
from cramp_coach.core.model import FREQ_THRESHOLD, FREQ_WINDOW_S, LOCK_WINDOW_S, Profile
from cramp_coach.core.state import LockRecord, State


def frequent(profile: Profile, now: float) -> bool:
    """RF-FREQ: three or more routines in seven days, advised at most once a week."""
    if profile.freq_advised_at is not None and now - profile.freq_advised_at < FREQ_WINDOW_S:
        return False
    starts = {round(t) for t in profile.recent_starts if now - t < FREQ_WINDOW_S}
    return len(starts) + 1 >= FREQ_THRESHOLD  # this night's routine counts too


def apply_profile(st: State, profile: Profile, now: float, content: Content) -> State:
    """The session's context with what the store remembers (on the first turn that has it)."""
    ctx = st.ctx
    variant = ctx.variant
    if not ctx.variant_known and profile.default_variant in ("partner", "alone"):
        variant = "alone" if profile.default_variant == "alone" else "partner"
    stored = stored_lock(profile, now, content)
    return st.with_context(
        replace(
            st.ctx,
            # Unread (the table failed): the next turn tries again.
            profile_loaded=not profile.unread,
            memory_unread=profile.unread and stored is None and ctx.prior_lock is None,
            quiet=ctx.quiet if ctx.quiet is not None else profile.quiet,
            variant=variant,
            log_consent=profile.log_consent,
            freq_due=frequent(profile, now),
            prior_lock=stored or ctx.prior_lock,
            country=ctx.country if ctx.country is not None else _code(profile.country),
        )
    )


def stored_lock(profile: Profile, now: float, content: Content) -> LockRecord | None:
    """The stored red-flag lock, if it is well formed and from the last 12 hours."""
    raw = profile.lock
    if not isinstance(raw, dict):
        return None
    flag, level, muscle, at = (raw.get(k) for k in ("flag", "level", "muscle", "at"))
    if flag not in content.red_flags or level not in ("emergency", "urgent"):
        return None
    if not isinstance(at, int | float) or not 0 <= now - at < LOCK_WINDOW_S:
        return None
    known_muscle = muscle if muscle in content.muscles else None
    about = raw.get("about")
    return LockRecord(str(flag), "emergency" if level == "emergency" else "urgent",
                      known_muscle, float(at),
                      about if about in ("partner", "speaker") else "unknown")  # fmt: skip


def _code(value: object) -> str | None:
    """A stored country code, or None when it is not one."""
    if isinstance(value, str) and len(value) == 2 and value.isascii() and value.isupper():
        return value
    return None
