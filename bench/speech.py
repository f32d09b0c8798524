"""Time to first instruction: seconds of synthesized speech before step 1's action is complete.

The skill's own SSML is rendered with espeak-ng at its default rate, SSML honoured
(``espeak-ng -m -w out.wav``); the WAV is read with the ``wave`` module up to its last
audible sample (espeak-ng ends every file with a short silence, which is not speech). For the
one-shot, the SSML is cut right after step 1's action text (open tags closed again, so the
document stays valid); for the launch path, the whole launch response ("which muscle?") is
added to the answer turn cut the same way. Not counted: the listener's own words, speech
recognition and network time, and the skill's compute (milliseconds, measured elsewhere).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import wave
from array import array
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

T0 = 1_795_230_000.0
SILENCE = 64  # |sample| at or below this (16-bit) counts as silence
TAG = re.compile(r"<(/?)([A-Za-z][\w:-]*)[^>]*?(/?)>")


def espeak() -> str | None:
    return shutil.which("espeak-ng")


def spoken_seconds(ssml: str, workdir: Path) -> float:
    out = workdir / "speech.wav"
    subprocess.run(
        [str(espeak()), "-m", "-w", str(out), ssml], check=True, capture_output=True, timeout=60
    )
    with wave.open(str(out), "rb") as wav:
        rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
        frames = wav.readframes(wav.getnframes())
    if width != 2:
        return len(frames) / (width * channels) / float(rate)
    samples = array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    # The end of the last word, not of the file: espeak-ng pads its output with silence.
    last = len(samples) - 1
    while last >= 0 and abs(samples[last]) <= SILENCE:
        last -= 1
    return (last + 1) / channels / float(rate)


def cut_after(ssml: str, text: str) -> str:
    """The SSML up to the end of ``text``, with every tag still open at that point closed."""
    for candidate in (text, escape(text), escape(text, {"'": "&apos;", '"': "&quot;"})):
        at = ssml.find(candidate)
        if at >= 0:
            end = at + len(candidate)
            break
    else:
        raise ValueError(f"step text not found in the response: {text!r}")
    head = ssml[:end]
    open_tags: list[str] = []
    for closing, name, self_closing in TAG.findall(head):
        if self_closing:
            continue
        if closing:
            if open_tags and open_tags[-1] == name:
                open_tags.pop()
        else:
            open_tags.append(name)
    return head + "".join(f"</{name}>" for name in reversed(open_tags))


def _ssml(response: dict[str, Any]) -> str:
    return str(response["response"]["outputSpeech"]["ssml"])


def measure() -> dict[str, Any]:
    if espeak() is None:
        return {"skipped": "espeak-ng not found (apt-get install -y espeak-ng)"}
    from cramp_coach.alexa.handle import handle_envelope
    from cramp_coach.alexa.skill import build_skill
    from cramp_coach.content import load_content
    from cramp_coach.hosting.local.envelopes import Session
    from cramp_coach.memory import NullStore

    skill = build_skill(store_factory=NullStore)
    step1 = load_content("en-US").muscles["CALF"].partner[0].text
    banner = subprocess.run(
        [str(espeak()), "--version"], capture_output=True, text=True, check=False
    ).stdout
    found = re.search(r"(\d+\.\d+(?:\.\d+)?)", banner)
    version = f"espeak-ng {found.group(1)}" if found else "espeak-ng"

    with tempfile.TemporaryDirectory(prefix="bench-tts-") as tmp:
        work = Path(tmp)
        # Path 1: "Alexa, tell cramp coach her calf is cramping" (one turn).
        oneshot = _ssml(
            handle_envelope(
                skill,
                Session().intent(
                    "CrampIntent", T0, {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
                ),
            )
        )
        oneshot_cut = cut_after(oneshot, step1)
        # Path 2: "Alexa, open cramp coach" -> "which muscle?" -> "calf" (two turns).
        session = Session()
        launch_response = handle_envelope(skill, session.launch(T0))
        session.absorb(launch_response)
        answer = _ssml(
            handle_envelope(
                skill, session.intent("CrampIntent", T0 + 6, {"muscle": ("calf", "CALF")})
            )
        )
        answer_cut = cut_after(answer, step1)
        launch = _ssml(launch_response)

        oneshot_s = spoken_seconds(oneshot_cut, work)
        launch_s = spoken_seconds(launch, work)
        answer_s = spoken_seconds(answer_cut, work)
        oneshot_full_s = spoken_seconds(oneshot, work)
    return {
        "synthesizer": version,
        "step1": step1,
        "oneshot": {
            "turns": 1,
            "seconds": round(oneshot_s, 2),
            "whole_response_seconds": round(oneshot_full_s, 2),
            "ssml_to_step1_end": oneshot_cut,
        },
        "launch_path": {
            "turns": 2,
            "seconds": round(launch_s + answer_s, 2),
            "launch_response_seconds": round(launch_s, 2),
            "answer_to_step1_end_seconds": round(answer_s, 2),
            "launch_ssml": launch,
            "answer_ssml_to_step1_end": answer_cut,
        },
    }
