"""Ids fixed by PROTOCOLS.md and ARCHITECTURE.md, written out once for the tests.

Hard-coded on purpose: the tests compare the content and the model against the spec,
not against the code's own idea of it.
"""

from __future__ import annotations

# PROTOCOLS.md section 2, in its order.
ROUTINE_MUSCLES = (
    "CALF", "FOOT_ARCH", "TOES", "HAMSTRING", "QUADRICEPS", "SHIN", "LOWER_BACK", "HAND", "NECK",
)  # fmt: skip
LEG_MUSCLES = frozenset({"CALF", "FOOT_ARCH", "TOES", "HAMSTRING", "QUADRICEPS", "SHIN"})

# PROTOCOLS.md section 4, "-" written "_".
RED_FLAGS = frozenset(
    {
        "RF_PE", "RF_DVT", "RF_LONG", "RF_HEAT", "RF_HEAT2", "RF_RHABDO", "RF_FLUID",
        "RF_NEURO", "RF_CHEST", "RF_TRUNK", "RF_CES", "RF_BACK", "RF_MENING", "RF_HAND",
        "RF_SWELL", "RF_TOXIN", "RF_PREG", "RF_CHILD", "RF_INFANT", "RF_FREQ", "RF_MED",
        "RF_WASTE", "RF_WALK", "RF_STROKE", "RF_ISCH", "RF_TEAR",
        # Rows of section 4 with two levels: one id per level.
        "RF_NEURO_WORSE", "RF_BACK_INJURY", "RF_BACK_SLOW", "RF_CHILD_WEAK", "RF_PREG_PE",
    }
)  # fmt: skip

# Ids for the second level of a section-4 row: the words decide them (core/safety.py reads
# combinations), so the SYMPTOM slot has no value for them.
SUB_LEVEL_FLAGS = frozenset(
    {"RF_NEURO_WORSE", "RF_BACK_INJURY", "RF_BACK_SLOW", "RF_CHILD_WEAK", "RF_PREG_PE"}
)
