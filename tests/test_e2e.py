"""End-to-end: the web service on loopback, driven by virtual-alexa (tests/e2e/run.js).

The node runner resolves every utterance through interaction_models/<locale>.json (the
conversation's locale, default en-US), reads each locale's content through
`python -m cramp_coach.content --export`, sends the
request envelopes virtual-alexa builds to the running web service, checks each response
against the conversation scripts in tests/e2e/conversations/, and validates every SSML
string with ssml-check-core. Node packages come from package-lock.json (`npm ci`; `make test`
runs it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.settings_api import TOKEN, SettingsApi, settings_api

ROOT = Path(__file__).resolve().parents[1]
E2E = ROOT / "tests" / "e2e"
RUNNER = E2E / "run.js"
NODE = shutil.which("node")
NODE_PACKAGES = ("virtual-alexa", "ssml-check-core")
SERVER_START_TIMEOUT_S = 30
RUN_TIMEOUT_S = 180
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.MULTILINE)

pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not on PATH: end-to-end suite skipped"
)


def _require_node_modules() -> None:
    modules = ROOT / "node_modules"
    missing = [p for p in NODE_PACKAGES if not (modules / p / "package.json").exists()]
    if missing:
        pytest.fail(
            f"node packages missing ({', '.join(missing)}): run npm ci in {ROOT}", pytrace=False
        )


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[SettingsApi]:
    """Alexa's Settings API on loopback (HTTPS): the runner points every request at it, and a
    conversation's "device" sets the time zone it answers (issue 25)."""
    with settings_api(tmp_path) as api:
        yield api


@pytest.fixture
def skill_url(tmp_path: Path, settings: SettingsApi) -> Iterator[str]:
    """Start tests/e2e/serve_for_e2e.py on a free loopback port; always stop it."""
    port_file = tmp_path / "port"
    log_path = tmp_path / "server.log"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "CRAMP_SETTINGS_API": "on",
        "REQUESTS_CA_BUNDLE": str(settings.cert),
        "CRAMP_SETTINGS_API_HOSTS": "127.0.0.1",
    }
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, str(E2E / "serve_for_e2e.py"), "--port-file", str(port_file)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        url = None
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(
                    f"the e2e server exited ({server.returncode}):\n{_tail(log_path)}",
                    pytrace=False,
                )
            text = port_file.read_text().strip() if port_file.exists() else ""
            if text.isdigit():
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{text}/healthz", timeout=2):
                        url = f"http://127.0.0.1:{text}/"
                        break
                except OSError:
                    pass
            time.sleep(0.05)
        if url is None:
            pytest.fail(
                f"the e2e server did not answer /healthz within {SERVER_START_TIMEOUT_S} s:"
                f"\n{_tail(log_path)}",
                pytrace=False,
            )
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _run_node(
    *args: str, settings: str = "", reminders_url: str = ""
) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    env = {
        **os.environ,
        "E2E_PYTHON": sys.executable,
        "E2E_SETTINGS_API": settings,
        "E2E_SETTINGS_TOKEN": TOKEN,
    }
    if reminders_url:
        env["E2E_REMINDERS_URL"] = reminders_url  # conversations with "reminders" use it
    return subprocess.run(
        [NODE, str(RUNNER), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


@pytest.fixture
def reminders_url() -> Iterator[str]:
    """The Reminders API stand-in on loopback (tests/reminders_server.py); always stopped."""
    from tests.reminders_server import RemindersServer

    server = RemindersServer().start()
    try:
        yield server.url
    finally:
        server.stop()


def test_conversation_scripts_against_the_running_web_service(
    skill_url: str, settings: SettingsApi, reminders_url: str
) -> None:
    _require_node_modules()
    result = _run_node("--url", skill_url, settings=settings.endpoint, reminders_url=reminders_url)
    output = result.stdout + result.stderr
    summary = SUMMARY.findall(result.stdout)
    assert result.returncode == 0 and summary and summary[-1][1] == "0", (
        f"end-to-end suite failed (exit {result.returncode}):\n{output}"
    )
    assert int(summary[-1][0]) > 0, output


# ------------------------------------------------- the runner itself must be able to fail


class _FakeSkill:
    """A loopback 'skill' that answers every request with a fixed response body."""

    def __init__(self, body: dict[str, Any]) -> None:
        from werkzeug.serving import make_server
        from werkzeug.wrappers import Request, Response

        payload = json.dumps(body)

        @Request.application
        def app(request: Request) -> Response:
            return Response(payload, mimetype="application/json")

        self.server = make_server("127.0.0.1", 0, app)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _FakeSkill:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _one_turn_script(tmp_path: Path, turn: dict[str, Any]) -> Path:
    script = tmp_path / "one.json"
    script.write_text(json.dumps({"conversations": [{"name": "probe", "turns": [turn]}]}))
    return script


def _fake_response(ssml: str) -> dict[str, Any]:
    reprompt = {"outputSpeech": {"type": "SSML", "ssml": "<speak>Hm?</speak>"}}
    return {
        "version": "1.0",
        "sessionAttributes": {},
        "response": {
            "outputSpeech": {"type": "SSML", "ssml": ssml},
            "reprompt": reprompt,
            "shouldEndSession": False,
        },
    }


def test_the_runner_fails_on_an_ssml_issue(tmp_path: Path) -> None:
    _require_node_modules()
    script = _one_turn_script(tmp_path, {"launch": True, "says": ["bread"]})
    with _FakeSkill(_fake_response("<speak>Bread & butter</speak>")) as fake:
        result = _run_node("--url", fake.url, str(script))
    assert result.returncode != 0, result.stdout
    assert "Invalid & character" in result.stdout
    assert result.stdout.rstrip().endswith("0 passed, 1 failed")


def test_the_runner_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    _require_node_modules()
    script = _one_turn_script(
        tmp_path,
        {
            "say": "Alexa, tell cramp coach her calf is cramping",
            "intent": "CrampIntent",
            "says": ["Help them sit back"],
        },
    )
    with _FakeSkill(_fake_response("<speak>Something else entirely.</speak>")) as fake:
        result = _run_node("--url", fake.url, str(script))
    assert result.returncode != 0, result.stdout
    assert 'should say "Help them sit back"' in result.stdout
    assert result.stdout.rstrip().endswith("0 passed, 1 failed")


def test_the_runner_fails_on_another_locales_number(tmp_path: Path) -> None:
    _require_node_modules()
    script = tmp_path / "gb.json"
    conversation = {"name": "probe", "turns": [{"launch": True}]}
    script.write_text(json.dumps({"locale": "en-GB", "conversations": [conversation]}))
    with _FakeSkill(_fake_response("<speak>Call 9 1 1 now.</speak>")) as fake:
        result = _run_node("--url", fake.url, str(script))
    assert result.returncode != 0, result.stdout
    assert 'names another locale\'s number "9 1 1"' in result.stdout
    assert result.stdout.rstrip().endswith("0 passed, 1 failed")


def test_the_runner_fails_on_an_emergency_without_the_locales_number(tmp_path: Path) -> None:
    _require_node_modules()
    from cramp_coach.content import load_content

    script = tmp_path / "au.json"
    conversation = {"name": "probe", "turns": [{"launch": True}]}
    script.write_text(json.dumps({"locale": "en-AU", "conversations": [conversation]}))
    words = load_content("en-AU").red_flags["RF_CHEST"].script
    with _FakeSkill(
        _fake_response(f"<speak>{words} Use your local emergency number.</speak>")
    ) as fake:
        result = _run_node("--url", fake.url, str(script))
    assert result.returncode != 0, result.stdout
    assert "without the en-AU emergency number first" in result.stdout
