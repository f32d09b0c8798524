"""`cramp-coach serve` (waitress) on loopback, with slow and hostile clients beside genuine ones.

Each server is a real process started and stopped here: ``serve()`` with the settings of
`cramp-coach serve`, only the app factory swapped for the benchmarks' throw-away PKI (so the
genuine requests are really signed and verified), or the CLI itself, unverified.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.load_webservice import PKI_ENV, _make_pki, _signed_pool
from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.hosting.local.loopback import free_port, wait_until_healthy
from cramp_coach.hosting.webservice import MAX_BODY_BYTES
from tests.test_webservice_gunicorn import _env, _stop

BENCH = Path(__file__).resolve().parent.parent / "bench"
BENCH_SKILL_ID = "amzn1.ask.skill.bench-0000"
HANG_GUARD_S = 10  # a client timeout, only so that a stalled server fails instead of hanging


def _call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_GUARD_S)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


@dataclass
class Signed:
    port: int
    leaf_key: Any
    stderr: Path

    def genuine(self) -> tuple[bytes, dict[str, str]]:
        """A freshly signed cramp-intent envelope (timestamp now)."""
        return _signed_pool(self.leaf_key, 2)[1]


def _start_serve(port: int, env: dict[str, str], stderr: Path, **options: Any) -> Any:
    settings = "".join(f", {key}={value!r}" for key, value in options.items())
    code = (
        f"import sys; sys.path.insert(0, {str(BENCH)!r}); "
        "from load_webservice import make_app; from cramp_coach.hosting.serve import serve; "
        f"serve('127.0.0.1', {port}, app_factory=make_app{settings})"
    )
    with stderr.open("w") as err:
        return subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    folder = tmp_path_factory.mktemp("pki")
    return folder, _make_pki(folder)


def _signed_server(pki_dir: tuple[Path, Any], folder: Path, **options: Any) -> Iterator[Signed]:
    port = free_port()
    stderr = folder / "stderr.txt"
    env = _env(SKILL_ID=BENCH_SKILL_ID, **{PKI_ENV: str(pki_dir[0])})
    proc = _start_serve(port, env, stderr, **options)
    try:
        wait_until_healthy(port, proc, timeout_s=30)
        yield Signed(port, pki_dir[1], stderr)
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def signed(pki_dir: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    """`cramp-coach serve`'s defaults (4 threads), verification on."""
    yield from _signed_server(pki_dir, tmp_path_factory.mktemp("serve"))


# --- slow clients -------------------------------------------------------------------------


class SlowClients:
    """Connections that each hold a partial request (or none) open, trickling bytes."""

    def __init__(self, port: int, count: int, every_s: float = 0.3) -> None:
        self.sockets: list[tuple[str, socket.socket]] = []
        kinds = ("headers", "body", "idle", "silent")
        for n in range(count):
            kind = kinds[n % len(kinds)]
            sock = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD_S)
            if kind == "headers":  # slowloris: headers that never end
                sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            elif kind == "body":  # a body that never arrives in full
                sock.sendall(
                    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 4096\r\n\r\n{"
                )
            elif kind == "idle":  # one answered keep-alive request, then silence
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            self.sockets.append((kind, sock))
        self._stop = threading.Event()
        self._every = every_s
        self.trickled = 0
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        while not self._stop.wait(self._every):
            for kind, sock in self.sockets:
                try:
                    if kind == "headers":
                        sock.sendall(b"X-Slow: 1\r\n")
                    elif kind == "body":
                        sock.sendall(b" ")
                    else:
                        continue
                    self.trickled += 1
                except OSError:
                    pass

    def still_open(self) -> int:
        """How many of the connections the server has not closed."""
        count = 0
        for _, sock in self.sockets:
            sock.setblocking(False)
            try:
                if sock.recv(1) != b"":
                    count += 1  # a response: the server answered, connection open
            except BlockingIOError:
                count += 1  # nothing to read: still open, still held
            except OSError:
                pass
            finally:
                sock.setblocking(True)
        return count

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for _, sock in self.sockets:
            sock.close()


def test_genuine_requests_are_answered_while_slow_clients_hold_connections(
    signed: Signed,
) -> None:
    slow = SlowClients(signed.port, 10)  # more than the 4 threads
    try:
        time.sleep(1)  # let them trickle for a while
        for _ in range(5):
            body, headers = signed.genuine()
            status, payload, _ = _call(signed.port, "POST", "/", body, headers)
            assert status == 200, payload
            assert "outputSpeech" in json.loads(payload)["response"]
        assert slow.trickled > 0
        assert slow.still_open() == 10  # the slow ones were held, not dropped to make room
    finally:
        slow.close()


def test_sixty_four_slow_clients_and_a_genuine_request(signed: Signed) -> None:
    slow = SlowClients(signed.port, 64)
    try:
        body, headers = signed.genuine()
        status, payload, _ = _call(signed.port, "POST", "/", body, headers)
        assert status == 200, payload
        assert slow.still_open() == 64
    finally:
        slow.close()


def test_unsigned_and_other_methods_are_refused(signed: Signed) -> None:
    body, headers = signed.genuine()
    assert _call(signed.port, "POST", "/", body, {"Content-Type": "application/json"})[0] == 400
    for method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"):
        status, _, response_headers = _call(signed.port, method, "/", body, headers)
        assert status == 405, method
        assert response_headers.get("Allow") == "POST", method


def test_oversized_bodies_are_413(signed: Signed) -> None:
    body, headers = signed.genuine()
    big = body[:-1] + b', "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert _call(signed.port, "POST", "/", big, headers)[0] == 413
    conn = http.client.HTTPConnection("127.0.0.1", signed.port, timeout=HANG_GUARD_S)
    try:
        chunks = (b"x" * 8192 for _ in range(MAX_BODY_BYTES // 8192 + 4))
        conn.request("POST", "/", body=chunks, headers=headers, encode_chunked=True)
        assert conn.getresponse().status == 413
    except (ConnectionResetError, BrokenPipeError):  # closed before reading the rest: refused
        pass
    finally:
        conn.close()


def test_server_is_waitress_not_a_development_server(signed: Signed) -> None:
    text = signed.stderr.read_text()
    assert "Serving on http://127.0.0.1:" in text, text
    assert "development server" not in text
    assert "VERIFICATION IS OFF" not in text


def test_idle_and_stalled_connections_are_closed_after_the_idle_timeout(
    pki_dir: tuple[Path, Any], tmp_path: Path
) -> None:
    for server in _signed_server(pki_dir, tmp_path, channel_timeout=2):
        slow = SlowClients(server.port, 4, every_s=60)  # no trickling: all go quiet
        try:
            deadline = time.monotonic() + HANG_GUARD_S
            while slow.still_open() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert slow.still_open() == 0
            body, headers = server.genuine()
            assert _call(server.port, "POST", "/", body, headers)[0] == 200
        finally:
            slow.close()


# --- the command line ---------------------------------------------------------------------


def test_cli_serve_runs_unverified_with_a_loud_warning(tmp_path: Path) -> None:
    port = free_port()
    cli = Path(sys.executable).with_name("cramp-coach")
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as err:
        proc = subprocess.Popen(
            [
                str(cli),
                "serve",
                "--port",
                str(port),
                "--threads",
                "2",
                "--workers",  # the gunicorn-era flag still starts the server
                "2",
                "--no-verify-signatures-for-local-testing",
            ],
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
        try:
            wait_until_healthy(port, proc, timeout_s=30)
            session = Session(skill_id="amzn1.ask.skill.local")
            calf = session.intent("CrampIntent", time.time(), {"muscle": ("calf", "CALF")})
            status, payload, _ = _call(
                port, "POST", "/", json.dumps(calf).encode(), {"Content-Type": "application/json"}
            )
            assert status == 200, payload
            assert "sit back or lie down" in json.loads(payload)["response"]["outputSpeech"]["ssml"]
            assert _call(port, "POST", "/", b"nope")[0] == 400
        finally:
            _stop(proc)
    text = errors.read_text()
    assert "REQUEST VERIFICATION IS OFF" in text
    assert "--workers is ignored" in text
    assert "Serving on" in text


def test_serve_refuses_to_verify_without_a_skill_id() -> None:
    code = "from cramp_coach.hosting.serve import serve; serve('127.0.0.1', 1, verify=True)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "SKILL_ID" in result.stderr
