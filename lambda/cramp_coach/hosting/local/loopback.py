"""Running a server on 127.0.0.1 for a while: a free port, and waiting until it answers.

Shared by the tests and the benchmarks that start the web service or a DynamoDB server.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
from typing import Any


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(
    port: int, process: subprocess.Popen[Any], timeout_s: float = 30, path: str = "/healthz"
) -> None:
    """Return once GET `path` answers 200; RuntimeError if the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            try:
                conn.request("GET", path)
                if conn.getresponse().status == 200:
                    return
            finally:
                conn.close()
        except OSError:
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"nothing healthy on port {port} after {timeout_s:.0f} s")
