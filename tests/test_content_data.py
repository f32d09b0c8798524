"""Checks on the medical content data (content/en/protocols.json, the language base every
locale overlays) against PROTOCOLS.md rules. tests/test_locales.py checks the overlays."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cramp_coach.content import parse_content
from tests.spec import LEG_MUSCLES, RED_FLAGS, ROUTINE_MUSCLES

PROTOCOLS = (
    Path(__file__).resolve().parents[1]
    / "lambda"
    / "cramp_coach"
    / "content"
    / "en"
    / "protocols.json"
)
DATA = json.loads(PROTOCOLS.read_text(encoding="utf-8"))
PHRASES = json.loads((PROTOCOLS.parent / "phrases.json").read_text(encoding="utf-8"))

SOURCE_KEYS = [
    "seed000",
    "seed001",
    "seed002",
    "seed003",
    "seed004",
    "NHS",
    "NHS-NI",
    "NHS-OLD",
    "MAYO",
    "MAYO-ST",
    "MAYO-H2T",
    "CC-CARE",
    "CC-SPASM",
    "AAFP",
    "AAOS",
    "AAOS2",
    "MEDLINE",
    "MERCK",
    "UTD",
    "UTD-PT",
    "HEAT-ARC",
    "HEAT-CDC",
    "NIOSH",
    "HSE-PREG",
    "NCT-PREG",
    "NZ-SIDE",
    "DVT-UCLH",
    "DVT-GLOS",
    "ICE-NHS",
    "HALLEGRAEFF",
    "COCH-MG",
    "HC-AAP",
    "SEATTLE",
    "NEMOURS",
    "INFANT-CA",
    "MENING",
    "CSP-BACK",
    "NHSI-BACK",
    "CS-BACK",
    "CES-NHS",
    "UCLH-NECK",
    "HARVARD-HAND",
    "COMP-NHS",
    "ISCH",
    "ACH",
    "PREECL",
    "STROKE",
    "BACK-NHS",
    "COCH-STRETCH",
]
LEVEL = {  # PROTOCOLS.md section 4, revised 2026-12-06 (one id per level where a row has two)
    "RF_PE": "emergency",
    "RF_DVT": "urgent",
    "RF_LONG": "urgent",
    "RF_HEAT": "emergency",
    "RF_HEAT2": "urgent",
    "RF_RHABDO": "emergency",
    "RF_FLUID": "urgent",
    "RF_NEURO": "routine",
    "RF_NEURO_WORSE": "urgent",
    "RF_STROKE": "emergency",
    "RF_CHEST": "emergency",
    "RF_TRUNK": "urgent",
    "RF_CES": "emergency",
    "RF_BACK": "urgent",
    "RF_BACK_INJURY": "emergency",
    "RF_BACK_SLOW": "routine",
    "RF_MENING": "emergency",
    "RF_HAND": "urgent",
    "RF_SWELL": "emergency",
    "RF_ISCH": "emergency",
    "RF_TEAR": "urgent",
    "RF_TOXIN": "urgent",
    "RF_PREG": "urgent",
    "RF_PREG_PE": "urgent",
    "RF_CHILD": "urgent",
    "RF_CHILD_WEAK": "emergency",
    "RF_INFANT": "emergency",
    "RF_FREQ": "routine",
    "RF_MED": "routine",
    "RF_WASTE": "routine",
    "RF_WALK": "routine",
}


def all_steps():
    for mid, m in DATA["muscles"].items():
        for variant in ("partner", "alone", "gentle", "gentle_alone"):
            for step in m.get(variant, []):
                yield f"{mid}.{variant}.{step['id']}", step
    for step in DATA["aftercare"]["steps"]:
        yield f"aftercare.{step['id']}", step


def spoken_texts():
    for where, step in all_steps():
        yield where, step["text"]
        if "ask" in step:
            yield f"{where}.ask", step["ask"]
    for mid, m in DATA["muscles"].items():
        for key in ("caution", "pregnancy", "check"):
            if key in m:
                yield f"{mid}.{key}", m[key]["text"]
    for vid, v in DATA["vague"].items():
        for key in ("note", "question", "hint"):
            if key in v:
                yield f"vague.{vid}.{key}", v[key]
    yield "reassurance", DATA["aftercare"]["reassurance"]["text"]
    yield "aftercare.warning", DATA["aftercare"]["warning"]["text"]
    for i, p in enumerate(DATA["prevention"]):
        yield f"prevention[{i}]", p["text"]
    for rid, rf in DATA["red_flags"].items():
        yield f"red_flags.{rid}", rf["script"]
    for fid, f in DATA["flags"].items():
        yield f"flags.{fid}", f["text"]
    for key in ("opening", "safety_check", "closing_after_red_flag", "gentle_stop"):
        yield key, DATA[key]["text"]


def all_source_fields():
    for where, step in all_steps():
        yield where, step["source"]
    for mid, m in DATA["muscles"].items():
        for key in ("caution", "pregnancy", "check"):
            if key in m:
                yield f"{mid}.{key}", m[key]["source"]
    yield "reassurance", DATA["aftercare"]["reassurance"]["source"]
    yield "aftercare.warning", DATA["aftercare"]["warning"]["source"]
    for i, p in enumerate(DATA["prevention"]):
        yield f"prevention[{i}]", p["source"]
    for rid, rf in DATA["red_flags"].items():
        yield f"red_flags.{rid}", rf["source"]
    for fid, f in DATA["flags"].items():
        yield f"flags.{fid}", f["source"]
    for key in ("opening", "safety_check", "closing_after_red_flag", "gentle_stop"):
        yield key, DATA[key]["source"]


def test_loader_accepts_the_data():
    phrases = json.loads((PROTOCOLS.parent / "phrases.json").read_text(encoding="utf-8"))
    content = parse_content(DATA, phrases)
    assert set(content.muscles) == set(ROUTINE_MUSCLES)
    assert set(content.red_flags) == RED_FLAGS


def test_every_source_key_is_listed():
    assert set(DATA["sources"]) == set(SOURCE_KEYS)


@pytest.mark.parametrize(("where", "source"), list(all_source_fields()))
def test_source_tags_resolve(where, source):
    tags = [t.strip() for t in source.split(",")]
    assert tags and all(tags), where
    for tag in tags:
        assert tag in DATA["sources"] or tag == "DESIGN" or re.fullmatch(r"G[1-9]", tag), (
            where,
            tag,
        )


def test_muscles_shape():
    assert set(DATA["muscles"]) == set(ROUTINE_MUSCLES)
    for mid, m in DATA["muscles"].items():
        assert m["leg"] is (mid in LEG_MUSCLES), mid
        assert m["partner"] and m["alone"], mid
        # Ids are the spec's step numbers; the shin's step 5 is its check (muscle `check`).
        ids = [s["id"] for s in m["partner"]]
        numbers = [i for i in range(1, 9) if not (mid == "SHIN" and i == 5)]
        assert ids == [str(i) for i in numbers[: len(ids)]], mid
        alone = [s["id"] for s in m["alone"]]
        assert alone == [f"A{i}" for i in range(1, len(alone) + 1)], mid
        for rf in m["red_flags"]:
            assert rf in DATA["red_flags"], (mid, rf)
    assert [s["id"] for s in DATA["muscles"]["CALF"]["gentle"]] == ["B1", "B2", "B3"]
    assert [s["id"] for s in DATA["muscles"]["CALF"]["gentle_alone"]] == ["AB1", "AB2", "AB3"]
    assert DATA["muscles"]["SHIN"]["check"]["flag"] == "RF_SWELL"
    assert DATA["muscles"]["CALF"]["check"]["flag"] == "RF_DVT"
    assert "caution" in DATA["muscles"]["QUADRICEPS"]
    assert "pregnancy" in DATA["muscles"]["CALF"]
    assert DATA["muscles"]["LOWER_BACK"]["red_flags"] == ["RF_CES", "RF_BACK"]
    assert DATA["muscles"]["HAND"]["red_flags"] == ["RF_HAND"]
    assert set(DATA["muscles"]["NECK"]["red_flags"]) == {"RF_MENING", "RF_NEURO"}
    assert "RF_SWELL" in DATA["muscles"]["SHIN"]["red_flags"]
    assert "RF_DVT" in DATA["muscles"]["CALF"]["red_flags"]


def test_partner_and_alone_address_the_right_person():
    for mid, m in DATA["muscles"].items():
        for s in m["alone"] + m.get("gentle_alone", []):
            assert not re.search(r"\b(their|they|they.re)\b", s["text"], re.I), (mid, s["id"])
        for s in m["partner"] + m.get("gentle", []):
            assert not re.search(
                r"\byour (leg|foot|toes|knee|thigh|calf|head|neck|back|shin)\b", s["text"], re.I
            ), (mid, s["id"])


@pytest.mark.parametrize(("where", "step"), list(all_steps()))
def test_step_fields(where, step):
    assert len(step["text"].split()) <= 30, where
    assert step["phase"] in ("setup", "stretch", "massage", "care"), where
    assert step["hold"] is None or (type(step["hold"]) is int and step["hold"] > 0), where


def test_holds_match_protocols():
    m = DATA["muscles"]
    holds = lambda mid, v: [s["hold"] for s in m[mid][v]]  # noqa: E731
    assert holds("CALF", "partner") == [None, None, None, None, 30, 60, 30]
    assert holds("CALF", "gentle") == [None, 10, 30]  # B3: relax 5, push 10, twice, each counted
    assert holds("CALF", "alone") == [None, 30, 30, 30, 60]
    assert holds("CALF", "gentle_alone") == [None, 10, 30]
    assert holds("FOOT_ARCH", "partner") == [None, None, 30, 10, 60, 20]
    assert holds("FOOT_ARCH", "alone") == [None, 30, 10, 60, 20]
    # Toe wiggle (step 5) is a movement, not a hold: no countdown.
    assert holds("TOES", "partner") == [None, None, None, 30, None, 30, 20]
    assert holds("TOES", "alone") == [None, None, None, 30, None, 30, 20]
    assert holds("HAMSTRING", "partner") == [None, 10, None, 30, None, 60]
    assert holds("HAMSTRING", "alone") == [None, 30, 20, 20, 60]
    assert holds("QUADRICEPS", "partner") == [None, None, None, 30, None, 60]
    assert holds("QUADRICEPS", "alone") == [None, 30, 30, 60]
    assert holds("SHIN", "partner") == [None, None, None, 30, 60]
    assert holds("SHIN", "alone") == [None, None, 30, 60]
    # Knee hug 5 s each side; knee rolls 2 s per side, five times: every part counted.
    assert holds("LOWER_BACK", "partner") == [None, None, 1200, 30, 10, 20, None]
    beats = lambda mid, v, i: [b["hold"] for b in m[mid][v][i]["beats"]]  # noqa: E731
    assert beats("LOWER_BACK", "partner", 4) == [5, 5]
    assert beats("LOWER_BACK", "partner", 5) == [2] * 10
    assert beats("CALF", "gentle", 2) == [5, 10, 5, 10]
    assert holds("HAND", "partner") == [None, None, 30, 20, 60, 300]
    assert holds("NECK", "partner") == [None, 1200, None, None]
    after = DATA["aftercare"]["steps"]
    assert [s["id"] for s in after] == ["C1", "C2", "C3-warm", "C3-ice", "C6", "C7"]
    assert [s["hold"] for s in after] == [30, 180, None, None, None, None]
    assert [s["legs_only"] for s in after] == [True, True, False, False, False, True]


@pytest.mark.parametrize(("where", "text"), list(spoken_texts()))
def test_spoken_text_is_for_the_ear(where, text):
    assert text.isascii(), where
    for bad in ("(", ")", "&", "<", ">", "[", "]", "/", "A&E", "911", "NHS", "`", '"'):
        assert bad not in text, (where, bad)
    assert not re.search(r"\d", text), (where, "numbers must be words")
    assert re.search(r"[.?!]$", text), (where, "ends like a sentence")


def test_red_flags():
    assert set(DATA["red_flags"]) == RED_FLAGS
    for rid, rf in DATA["red_flags"].items():
        assert rf["level"] == LEVEL[rid], rid
        if rf["level"] == "emergency":
            # The call opens the turn (a phrase with the locale's number); the script is the
            # reason after it, and never softens it with a same-day line.
            assert rf.get("call", "call_emergency") in PHRASES, rid
            assert "call emergency services" not in rf["script"].lower(), rid
            assert "today" not in rf["script"].lower(), rid
    scripts = {rid: rf["script"] for rid, rf in DATA["red_flags"].items()}
    assert "checked by a doctor soon" in scripts["RF_NEURO"]
    assert "stroke" in scripts["RF_STROKE"]
    assert "call the doctor now" in scripts["RF_CHILD"]
    assert "too weak to stand" in scripts["RF_CHILD_WEAK"]
    assert "today" in scripts["RF_BACK"] and "fall or accident" in scripts["RF_BACK_INJURY"]
    # RF-HEAT: what to do while waiting; RF-RHABDO and RF-CES may go straight to hospital.
    assert scripts["RF_HEAT"].startswith("While you wait")
    assert "Stop all exercise and drink water." in scripts["RF_RHABDO"]
    assert DATA["red_flags"]["RF_RHABDO"]["call"] == "call_emergency_or_ed"
    assert DATA["red_flags"]["RF_CES"]["call"] == "call_emergency_or_ed"
    assert "midwife" in scripts["RF_PREG_PE"]
    assert DATA["out_of_scope"] == {
        "CHEST": "RF_CHEST",
        "TRUNK": "RF_TRUNK",
        "FACE": "RF_NEURO",
        "ALL_OVER": "RF_NEURO",
    }


def test_flags_and_top_level():
    assert "call emergency services" in DATA["flags"]["CHILD"]["text"]
    assert "urgent appointment" in DATA["flags"]["PREGNANT"]["text"]
    assert DATA["safety_check"]["text"] == (
        "Quick check: is the leg swollen, hot or red, or is anyone short of breath?"
    )
    assert DATA["closing_after_red_flag"]["text"] == "I'll stop the cramp steps now."
    # The base names no phone number: a locale the skill does not have hears none, never a
    # wrong one. Each locale's numbers are in its overlay (tests/test_locales.py).
    assert DATA["numbers"] == {"emergency": None, "urgent": None} and DATA["locale"] == "en"


def test_no_mineral_or_quinine_fix():
    for where, text in spoken_texts():
        assert not re.search(r"magnesium|quinine|banana|potassium|supplement", text, re.I), where


def test_vague():
    v = DATA["vague"]
    assert v["LEG"]["default"] == "CALF"
    assert v["THIGH"]["answers"] == {"FRONT": "QUADRICEPS", "BACK": "HAMSTRING"}
    assert v["FOOT"]["answers"] == {"TOP": "SHIN"}
    assert v["FOOT"]["choices"] == ["FOOT_ARCH", "TOES", "SHIN"]
    assert v["KNEE"]["answers"] == {"BELOW": "CALF", "ABOVE": "HAMSTRING"}


def test_file_format():
    raw = PROTOCOLS.read_text(encoding="utf-8")
    assert raw == json.dumps(DATA, indent=2, ensure_ascii=False) + "\n"
