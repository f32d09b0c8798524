"""The night display: APL documents checked by apl-suggester per viewport, the countdown in
step with the spoken count, and the directive only for devices with a screen."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from cramp_coach.alexa import display
from cramp_coach.alexa.handle import handle_envelope
from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import Content, load_content
from cramp_coach.core.model import Screen
from cramp_coach.core.speech import Voice, hold_plan
from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.memory import NullStore
from tests.conftest import T0, Conversation

REPO = Path(__file__).resolve().parents[1]
VALIDATOR = Path(__file__).parent / "apl" / "validate.js"
# From a small round Echo Spot to a 15-inch Show, landscape and portrait.
PROFILES = [
    "hubRound",
    "hubLandscapeSmall",
    "hubLandscapeMedium",
    "hubLandscape",
    "hubLandscapeExtraLarge",
    "hubPortraitMedium",
]
APL_DEVICE = {"Alexa.Presentation.APL": {"runtime": {"maxVersion": "2023.2"}}}

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (REPO / "node_modules" / "apl-suggester").is_dir(),
    reason="node and apl-suggester (npm ci) are needed",
)

STEP = Screen(
    kind="step",
    title="calf",
    progress="Step 3 of 7",
    text="Keep that steady stretch, then ask if the muscle is softening.",
    holds=(30,),
    lead_words=14,
)
SCREENS: dict[str, Screen] = {
    "step_30s": STEP,
    "step_two_holds": Screen("step", "lower back", "Step 2 of 5", "Hug one knee.", (20, 20), 8),
    "step_waits_for_position": Screen(
        "step", "hamstring", "Step 4 of 6", "Hook a sheet round the foot.", (30,), 9, None, True
    ),
    "step_no_hold": Screen("step", "calf", "Step 1 of 7", "Help them sit back or lie down."),
    "info": Screen("info", "prevention", "", "Stretch your calves before bed."),
    "red_flag_emergency": Screen(
        "red_flag", "get help", "", "Call emergency services now: you can't breathe.", number="911"
    ),
    "red_flag_urgent": Screen("red_flag", "get help", "", "Get the leg checked today."),
}


def run_validator(cases: list[dict[str, Any]]) -> dict[str, Any]:
    payload = json.dumps({"cases": cases, "profiles": PROFILES})
    done = subprocess.run(
        ["node", str(VALIDATOR)],
        input=payload,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@cache
def validated() -> dict[str, Any]:
    cases = []
    for name, screen in SCREENS.items():
        document, datasources = display.render(screen)
        cases.append({"name": name, "document": document, "datasources": datasources})
    return run_validator(cases)


# ----------------------------------------------------------------- apl-suggester, per viewport
@needs_node
@pytest.mark.parametrize("name", list(SCREENS))
def test_documents_validate_for_every_viewport_profile(name: str) -> None:
    result = validated()
    assert set(result["profiles"]) == set(PROFILES)
    case = next(c for c in result["cases"] if c["name"] == name)
    assert case["warnings"] == []
    assert len(case["viewports"]) >= len(PROFILES)
    for viewport in case["viewports"]:
        where = f"{name} on {viewport['profile']} {viewport['device']['id']}"
        assert viewport["warnings"] == [], where
        assert viewport["unbound"] == [], where


@needs_node
def test_each_viewport_gets_its_layout_and_sizes_readable_across_a_bedroom() -> None:
    case = next(c for c in validated()["cases"] if c["name"] == "step_30s")
    for viewport in case["viewports"]:
        device, sizes, layout = viewport["device"], viewport["sizes"], viewport["layout"]
        where = f"{viewport['profile']} {device['id']}: {sizes}"
        if device["shape"] == "round":
            assert layout.startswith("Echo Spot"), where
        elif device["height"] > device["width"]:
            assert layout.startswith("Portrait"), where
        else:
            assert layout.startswith("Landscape"), where
        shortest = min(device["width"], device["height"])
        # The count fills a fifth of the shortest side or more; the words stay large.
        assert sizes["count"] >= 0.18 * shortest, where
        assert sizes["action"] >= (22 if device["shape"] == "round" else 32), where
        assert sizes["title"] >= 22 and sizes["progress"] >= 22, where
        assert sizes["nextLabel"] >= 22, where
    # Bigger screens get bigger type: the 15-inch Show over the Echo Show 5.
    by_device = {v["device"]["id"]: v["sizes"] for v in case["viewports"]}
    assert by_device["hoyaLandscape"]["count"] > by_device["echoShow5"]["count"]
    assert by_device["hoyaLandscape"]["action"] > by_device["echoShow5"]["action"]


@needs_node
def test_red_flag_screen_shows_only_the_number_and_the_advice() -> None:
    case = next(c for c in validated()["cases"] if c["name"] == "red_flag_emergency")
    for viewport in case["viewports"]:
        assert set(viewport["sizes"]) == {"call", "advice"}
        assert viewport["sizes"]["call"] > viewport["sizes"]["advice"]
    _, datasources = display.render(SCREENS["red_flag_emergency"])
    assert datasources["night"]["call"] == "Call 911"
    _, urgent = display.render(SCREENS["red_flag_urgent"])
    assert urgent["night"]["call"] == ""  # no number to call: only the advice


def _planted(name: str, change: Any) -> dict[str, Any]:
    document, datasources = display.render(STEP)
    document = copy.deepcopy(document)
    datasources = copy.deepcopy(datasources)
    change(document, datasources)
    return {"name": name, "document": document, "datasources": datasources}


def _typo(document: dict[str, Any], _: dict[str, Any]) -> None:
    frame = document["mainTemplate"]["items"][0]
    frame["items"][2]["items"][0]["items"][0]["colr"] = "#ffffff"


def _bad_delay(document: dict[str, Any], _: dict[str, Any]) -> None:
    document["onMount"][0]["commands"][0]["delay"] = "soon"


def _bad_dimension(document: dict[str, Any], _: dict[str, Any]) -> None:
    document["mainTemplate"]["items"][0]["width"] = "100pixels"


def _missing_data(_: dict[str, Any], datasources: dict[str, Any]) -> None:
    del datasources["night"]["progress"]


def _round_only_error(document: dict[str, Any], _: dict[str, Any]) -> None:
    round_layout = document["mainTemplate"]["items"][0]["items"][0]
    round_layout["paddingTop"] = "lots"


@needs_node
def test_the_validator_fails_on_planted_errors() -> None:
    result = run_validator(
        [
            _planted("typo", _typo),
            _planted("bad_delay", _bad_delay),
            _planted("bad_dimension", _bad_dimension),
            _planted("missing_data", _missing_data),
            _planted("round_only", _round_only_error),
        ]
    )
    cases = {c["name"]: c for c in result["cases"]}

    def everything(name: str) -> list[dict[str, str]]:
        case = cases[name]
        return [*case["warnings"], *(w for v in case["viewports"] for w in v["warnings"])]

    assert any("colr" in w["errorMessage"] for w in everything("typo"))
    assert any(w["path"].endswith("/delay") for w in everything("bad_delay"))
    assert all(v["warnings"] for v in cases["bad_delay"]["viewports"])
    assert cases["bad_dimension"]["warnings"]
    assert all("night.progress" in v["unbound"] for v in cases["missing_data"]["viewports"])
    # An error inside the round layout shows on the Echo Spot only.
    by_shape = {v["device"]["shape"]: bool(v["warnings"]) for v in cases["round_only"]["viewports"]}
    assert by_shape == {"round": True, "rectangle": False}


# ----------------------------------------------------------------- night colours
def _luminance(hex_color: str) -> float:
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _color_values(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.lower().endswith("color") and isinstance(value, str):
                found.append(value)
            found += _color_values(value)
    elif isinstance(node, list):
        for value in node:
            found += _color_values(value)
    return found


@pytest.mark.parametrize("name", ["step", "red_flag"])
def test_nothing_bright(name: str) -> None:
    document = display.document(name)
    text = json.dumps(document).lower()
    palette = document["resources"][0]["colors"]
    used = _color_values(document)
    # Every colour drawn is a palette entry; the palette is plain hex, no named colours.
    assert used and all(v.startswith("@") and v[1:] in palette for v in used), used
    colors = list(palette.values())
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colors), colors
    for color in colors:
        assert _luminance(color) <= 0.25, color  # white is 1.0
    assert _luminance(palette["nightBackground"]) <= 0.005  # near-black ground
    assert document["theme"] == "dark"
    # Only the background fills the screen; everything drawn is text, a thin bar or a border.
    filled = re.findall(r'"backgroundcolor": "@(\w+)"', text)
    assert set(filled) <= {"nightbackground", "nightbar", "nightbutton"}
    assert _luminance(palette["nightButton"]) <= 0.01


# ----------------------------------------------------------------- countdown == spoken count
_LEFT = re.compile(r"(\w[\w-]*) left\.")


def _spoken(content: Content, seconds: int) -> tuple[list[int], list[int], bool]:
    """(breaks in ms, the numbers named "N left", the final five spoken) from the real SSML."""
    ssml = Voice(content).countdown(seconds)
    breaks = [int(ms) for ms in re.findall(r'<break time="(\d+)ms"/>', ssml)]
    words = {w.lower(): n for n, w in content.number_words.items()}
    marks = []
    for word in _LEFT.findall(ssml):
        lower = word.lower()
        if lower in words:
            marks.append(words[lower])
        else:
            tens, ones = lower.split("-")
            marks.append(words[tens] + words[ones])
    return breaks, marks, content.phrase("hold_final") in ssml


@pytest.mark.parametrize("seconds", [3, 5, 8, 10, 12, 15, 20, 25, 30, 45, 60])
def test_countdown_matches_the_speech_break_by_break(seconds: int) -> None:
    content = load_content()
    breaks, marks, final = _spoken(content, seconds)
    timeline = display.hold_timeline(seconds, start_ms=0)
    assert timeline is not None
    assert list(timeline.breaks_ms) == breaks
    assert list(timeline.marks) == marks
    assert timeline.spoken_final == final
    # The count's total is the spoken hold's breaks plus the final five counted aloud.
    assert sum(breaks) / 1000 + (5 if final else 0) == seconds
    assert timeline.ticks[0].show == seconds and timeline.ticks[-1].show == 0
    shown = [t.show for t in timeline.ticks]
    assert shown == list(range(seconds, -1, -1))  # every second, once, in order
    # Each break ends with the screen on the number the voice names next.
    t, i = 0, 0
    for silence in breaks:
        t += silence
        at_end = [tick for tick in timeline.ticks if tick.at_ms == t and tick.kind == "silence"]
        assert at_end, (seconds, t)
        if i < len(marks) and at_end[0].show == marks[i]:
            t += display.words_ms(display.MARK_WORDS)  # the screen waits while "N left" is said
            i += 1
    assert i == len(marks)
    finals = [tick for tick in timeline.ticks if tick.kind == "final"]
    assert [f.show for f in finals] == ([4, 3, 2, 1, 0] if final else [])
    assert timeline.end_ms == t + (5 * display.FINAL_TICK_MS if final else 0)


def test_holds_too_long_to_count_are_shown_still() -> None:
    assert hold_plan(90) is None
    assert display.hold_timeline(90, 0) is None
    document, datasources = display.render(Screen("step", "calf", "Step 7 of 7", "Walk.", (90,)))
    assert document["onMount"] == []
    assert datasources["night"]["hasCount"] is False


def _simulate(commands: list[dict[str, Any]], start: int = 0) -> tuple[int, list[tuple[int, str]]]:
    """When each SetValue fires, walking Sequential/Parallel like an APL runtime."""
    t, fired = start, []
    for command in commands:
        t += command.get("delay", 0)
        kind = command["type"]
        if kind == "SetValue":
            fired.append((t, command["value"]))
        elif kind == "Sequential":
            t, inner = _simulate(command["commands"], t)
            fired += inner
        elif kind == "Parallel":
            ends = []
            for branch in command["commands"]:
                end, inner = _simulate([branch], t)
                ends.append(end)
                fired += inner
            t = max(ends)
        elif kind == "AnimateItem":
            t += command["duration"]
    return t, fired


@pytest.mark.parametrize("name", ["step_30s", "step_two_holds"])
def test_the_documents_own_commands_run_the_datasource_timeline(name: str) -> None:
    screen = SCREENS[name]
    document, datasources = display.render(screen)
    timelines = display.countdown(screen)
    assert len(timelines) == len(screen.holds)
    # The first number appears once the lead has been spoken, at the documented rate.
    assert timelines[0].start_ms == round(screen.lead_words / display.WORDS_PER_SECOND * 1000)
    end, fired = _simulate(document["onMount"])
    expected = [(tick.at_ms, str(tick.show)) for tl in timelines for tick in tl.ticks]
    assert sorted(fired) == expected
    assert end == timelines[-1].end_ms
    assert document["onMount"][0]["screenLock"] is True
    holds = datasources["night"]["holds"]
    assert [h["seconds"] for h in holds] == list(screen.holds)
    for hold, tl in zip(holds, timelines, strict=True):
        assert hold["breaksMs"] == list(tl.breaks_ms) and hold["endMs"] == tl.end_ms
    bars = [c for c in json.dumps(document["onMount"]).split('"AnimateItem"')][1:]
    assert len(bars) == len(screen.holds)


def test_a_hold_that_waits_for_position_stands_still_until_next() -> None:
    document, datasources = display.render(SCREENS["step_waits_for_position"])
    assert document["onMount"] == []
    night = datasources["night"]
    assert night["hasCount"] is True and night["count"] == "30"
    assert "next" in night["caption"]


def test_step_without_a_hold_has_no_count_but_a_next_target() -> None:
    document, datasources = display.render(SCREENS["step_no_hold"])
    assert document["onMount"] == []
    assert datasources["night"]["hasCount"] is False and datasources["night"]["hasNext"] is True
    _, info = display.render(SCREENS["info"])
    assert info["night"]["hasNext"] is False


# ----------------------------------------------------------------- through the real skill
def _with_apl(envelope: dict[str, Any]) -> dict[str, Any]:
    envelope["context"]["System"]["device"]["supportedInterfaces"] = copy.deepcopy(APL_DEVICE)
    return envelope


def test_a_show_gets_the_night_step_and_a_speaker_gets_no_directive() -> None:
    skill = build_skill(store_factory=NullStore)
    slots = {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
    speaker = handle_envelope(skill, Session().intent("CrampIntent", T0, slots))
    assert "directives" not in speaker["response"]
    show = handle_envelope(skill, _with_apl(Session().intent("CrampIntent", T0, slots)))
    (directive,) = show["response"]["directives"]
    assert directive["type"] == "Alexa.Presentation.APL.RenderDocument"
    assert directive["token"] == display.TOKEN
    night = directive["datasources"]["night"]
    assert night["title"] == "calf" and night["progress"] == "Step 1 of 7"
    assert directive["document"]["mainTemplate"]["parameters"] == ["night"]
    # The spoken words are the same with or without a screen.
    assert show["response"]["outputSpeech"] == speaker["response"]["outputSpeech"]


def test_the_core_screen_is_drawn_when_the_core_gives_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from cramp_coach.alexa import skill as adapter
    from cramp_coach.core import Conversation as Core

    handle = Core.handle

    def with_screen(self: Core, *args: Any, **kw: Any) -> Any:
        out = handle(self, *args, **kw)
        out.screen = STEP
        return out

    monkeypatch.setattr(Core, "handle", with_screen)
    skill = adapter.build_skill(store_factory=NullStore)
    slots = {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
    response = handle_envelope(skill, _with_apl(Session().intent("CrampIntent", T0, slots)))
    (directive,) = response["response"]["directives"]
    assert directive["datasources"]["night"]["progress"] == "Step 3 of 7"
    assert directive["document"]["onMount"] == display.render(STEP)[0]["onMount"]


def test_a_red_flag_on_a_show_draws_the_red_flag_screen_with_the_number() -> None:
    skill = build_skill(store_factory=NullStore)
    talk = Conversation(skill)
    talk.cramp("CALF", helper="PARTNER")
    envelope = _with_apl(
        talk.session.intent("SymptomIntent", T0 + 30, {"symptom": ("can't breathe", "RF_PE")})
    )
    response = handle_envelope(skill, envelope)
    (directive,) = response["response"]["directives"]
    assert "red flag" in directive["document"]["description"]
    night = directive["datasources"]["night"]
    assert night["call"] == f"Call {load_content().emergency.digits}"  # type: ignore[union-attr]
    assert load_content().red_flags["RF_PE"].script[:30] in night["text"]


def test_tapping_next_is_the_same_as_saying_next() -> None:
    skill = build_skill(store_factory=NullStore)
    talk = Conversation(skill)
    talk.cramp("CALF", helper="PARTNER")
    envelope = _with_apl(talk.session.intent("AMAZON.NextIntent", T0 + 20))
    request = envelope["request"]
    request.update(
        type="Alexa.Presentation.APL.UserEvent",
        token=display.TOKEN,
        arguments=["next"],
        source={"type": "TouchWrapper", "handler": "Press", "id": "next"},
    )
    for key in ("intent", "dialogState"):
        request.pop(key)
    tapped = talk.send(envelope)
    said = Conversation(skill)
    said.cramp("CALF", helper="PARTNER")
    spoken = said.say("Next", after=15)
    assert tapped.state["step"] == 1 == spoken.state["step"]
    assert tapped.speech == spoken.speech
    # Any other tap is not a step forward.
    other = _with_apl(talk.session.intent("AMAZON.NextIntent", T0 + 40))
    other["request"].update(type="Alexa.Presentation.APL.UserEvent", arguments=["zoom"])
    other["request"].pop("intent")
    assert talk.send(other).state["step"] == 1


def test_a_canfulfill_request_from_a_show_gets_no_directive() -> None:
    envelope = _with_apl(Session().intent("CrampIntent", T0, {"muscle": ("calf", "CALF")}))
    envelope["request"]["type"] = "CanFulfillIntentRequest"
    envelope["request"].pop("dialogState")
    response = handle_envelope(build_skill(store_factory=NullStore), envelope)
    assert set(response["response"]) == {"canFulfillIntent"}


def test_turns_do_not_share_their_countdown() -> None:
    first, _ = display.render(STEP)
    kept = json.dumps(first)
    second, _ = display.render(SCREENS["step_no_hold"])
    assert second["onMount"] == [] and json.dumps(first) == kept
    assert first["onMount"] and first is not second
