"""The loopback helpers the tests and benchmarks start servers with."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cramp_coach.hosting.local.loopback import free_port, wait_until_healthy


def test_a_server_that_exits_is_reported_not_waited_for() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait(10)
    with pytest.raises(RuntimeError, match="exited with 3"):
        wait_until_healthy(free_port(), process, timeout_s=10)


def test_a_server_that_never_answers_times_out() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(RuntimeError, match="nothing healthy"):
            wait_until_healthy(free_port(), process, timeout_s=0.5)
    finally:
        process.kill()
        process.wait(10)
