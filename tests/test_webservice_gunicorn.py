"""The WSGI object `cramp_coach.hosting.webservice:app` under another WSGI server: gunicorn's CLI.

`cramp-coach serve` runs waitress (tests/test_webservice_serve.py); gunicorn stays a
documented option behind a buffering proxy (deploy/nginx-cramp-coach.conf), so the object it
loads is checked here: verification on by default, unverified only with both variables, and
the app's own 413 for an oversized chunked body (gunicorn passes chunked bodies through).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gunicorn.config import Config

from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.hosting.local.loopback import free_port, wait_until_healthy
from cramp_coach.hosting.webservice import MAX_BODY_BYTES

SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
# gunicorn >= 27 opens a control socket under $HOME; parallel instances would share it.
_NO_CONTROL_SOCKET = (
    ["--no-control-socket"] if "control_socket_disable" in Config().settings else []
)


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SKILL_ID", "CRAMP_VERIFY", "CRAMP_ALLOW_UNVERIFIED")
    }
    env.update(CRAMP_STORE="none", **extra)
    return env


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.terminate()
    try:
        return proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def _call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _calf() -> bytes:
    session = Session(skill_id=SKILL_ID)
    return json.dumps(
        session.intent("CrampIntent", time.time(), {"muscle": ("calf", "CALF")})
    ).encode()


def _gunicorn(port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return subprocess.Popen(
        [
            str(gunicorn),
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            *_NO_CONTROL_SOCKET,
            "cramp_coach.hosting.webservice:app",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def unverified_server() -> Iterator[tuple[int, list[str]]]:
    port = free_port()
    proc = _gunicorn(port, _env(CRAMP_VERIFY="0", CRAMP_ALLOW_UNVERIFIED="1"))
    stderr: list[str] = []
    try:
        wait_until_healthy(port, proc, timeout_s=20)
        yield port, stderr
    finally:
        stderr.append(_stop(proc)[1])


def test_wsgi_app_under_gunicorn_answers(unverified_server: tuple[int, list[str]]) -> None:
    port, _ = unverified_server
    status, body = _call(port, "POST", "/", _calf(), {"Content-Type": "application/json"})
    assert status == 200, body
    assert "sit back or lie down" in json.loads(body)["response"]["outputSpeech"]["ssml"]
    assert _call(port, "GET", "/")[0] == 405
    assert _call(port, "OPTIONS", "/")[0] == 405
    assert _call(port, "POST", "/", b"nope")[0] == 400


def test_oversized_chunked_body_is_413_under_gunicorn(
    unverified_server: tuple[int, list[str]],
) -> None:
    port, _ = unverified_server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        chunks = (b"x" * 8192 for _ in range(MAX_BODY_BYTES // 8192 + 4))
        conn.request("POST", "/", body=chunks, encode_chunked=True)
        assert conn.getresponse().status == 413
    except ConnectionResetError:  # gunicorn may close before reading the rest: also refused
        pass
    finally:
        conn.close()


def test_wsgi_app_object_under_gunicorn_cli_verifies_by_default() -> None:
    port = free_port()
    proc = _gunicorn(port, _env(SKILL_ID=SKILL_ID))
    try:
        wait_until_healthy(port, proc, timeout_s=20)
        status, body = _call(port, "POST", "/", _calf(), {"Content-Type": "application/json"})
        assert status == 400, body  # unsigned
        assert b"Traceback" not in body
    finally:
        _, err = _stop(proc)
    assert "VERIFICATION IS OFF" not in err
    assert "Booting worker" in err


def test_wsgi_app_object_refuses_cramp_verify_0_alone() -> None:
    code = "import cramp_coach.hosting.webservice as w; w.app"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(CRAMP_VERIFY="0"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "CRAMP_ALLOW_UNVERIFIED" in result.stderr
