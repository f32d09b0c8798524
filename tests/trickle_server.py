"""A loopback proxy in front of moto's server that misbehaves the way a sick table does.

It speaks just enough HTTP/1.1 over a raw socket to sit between the store's boto3 client and
moto's server, and its `mode` can change between turns:

- "pass": forward each call and answer at once;
- "trickle": forward the call (the table applies it), then answer one byte every `interval`
  seconds (botocore's read timeout is per socket read, so it never trips); with `limit` set,
  only the first `limit` bytes trickle and the rest follows at once (a bounded stall);
- "slow": forward, then wait `delay` seconds before answering (a table recovering slowly);
- "hang": read the call and never answer (until closed);
- "throttle": answer 400 ProvisionedThroughputExceededException without forwarding;
- "refuse": close the connection at once without answering.

`forwarded` counts the calls that reached the table; `calls` every call received.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import socketserver
import threading
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

import pytest

from tests.dynamo_server import THROTTLED, LoopbackMoto


class TrickleProxy:
    def __init__(self, upstream: str, mode: str = "pass") -> None:
        self.upstream = urlsplit(upstream)
        self.mode = mode
        self.interval = 0.5
        self.delay = 0.5
        self.limit: int | None = None
        self.calls = 0
        self.forwarded = 0
        self._closing = threading.Event()
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn: socket.socket = self.request
                conn.settimeout(30)
                reader = conn.makefile("rb")
                try:
                    while not outer._closing.is_set():
                        request = _read_request(reader)
                        if request is None or not outer._answer(conn, *request):
                            return
                except OSError:
                    return
                finally:
                    reader.close()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _answer(self, conn: socket.socket, headers: dict[str, str], body: bytes) -> bool:
        """Answer one call the current mode's way; False to close the connection."""
        mode = self.mode
        with self._lock:
            self.calls += 1
        if mode == "refuse":
            return False
        if mode == "hang":
            self._closing.wait(60)
            return False
        if mode == "throttle":
            conn.sendall(_response(400, THROTTLED, {}))
            return True
        status, data, extra = self._forward(headers, body)
        raw = _response(status, data, extra)
        if mode == "slow" and self._closing.wait(self.delay):
            return False
        if mode == "trickle":
            slow = len(raw) if self.limit is None else min(self.limit, len(raw))
            for i in range(slow):
                if self._closing.wait(self.interval):
                    return False
                conn.sendall(raw[i : i + 1])
            conn.sendall(raw[slow:])
            return True
        conn.sendall(raw)
        return True

    def _forward(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes, dict[str, str]]:
        target = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=10)
        try:
            names = ("content-type", "x-amz-target", "x-amz-date", "authorization")
            sent = {n: headers[n] for n in names if n in headers}
            target.request("POST", "/", body=body, headers=sent)
            response = target.getresponse()
            data = response.read()
            crc = response.getheader("x-amz-crc32")
            with self._lock:
                self.forwarded += 1
            return response.status, data, {"x-amz-crc32": crc} if crc else {}
        finally:
            target.close()

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()


def _read_request(reader: BinaryIO) -> tuple[dict[str, str], bytes] | None:
    """One HTTP request from the socket's file: (lower-cased headers, body), None at EOF."""
    line = reader.readline(65537)
    if not line:
        return None
    headers: dict[str, str] = {}
    while True:
        line = reader.readline(65537)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = reader.read(length) if length else b""
    return headers, body


def _response(status: int, body: bytes, extra: dict[str, str]) -> bytes:
    reason = {200: "OK", 400: "Bad Request"}.get(status, "Status")
    lines = [
        f"HTTP/1.1 {status} {reason}",
        "Content-Type: application/x-amz-json-1.0",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in extra.items()),
        "",
        "",
    ]
    return "\r\n".join(lines).encode("latin-1") + body


@contextlib.contextmanager
def trickle_proxy(upstream: str, mode: str = "pass") -> Iterator[TrickleProxy]:
    proxy = TrickleProxy(upstream, mode)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def proxy(moto_server: LoopbackMoto) -> Iterator[TrickleProxy]:
    """A misbehaving proxy in front of the test's moto server (set `.mode` to choose how)."""
    with trickle_proxy(moto_server.endpoint) as server:
        yield server
