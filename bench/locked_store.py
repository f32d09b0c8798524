"""The web service with its SQLite file held by another process: N concurrent requests.

    .venv/bin/python -m bench.locked_store [--requests 40] [--threads 4]
    .venv/bin/python -m bench.locked_store --code /work/main/lambda   # another version's code

It starts `cramp-coach serve` (waitress, verification off: loopback only) on a fresh SQLite
file, takes that file's write lock in this process (BEGIN EXCLUSIVE, as another process in a
long write would), then sends N one-shot requests at once ("her calf is cramping", each a new
user and session), one connection each, and reports when each answer came back, counted from
the moment all were sent. Alexa waits 8 s for an answer; the store's turn budget is 1.5 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.hosting.local.loopback import free_port

ROOT = Path(__file__).resolve().parents[1]
ALEXA_WAIT_S = 8.0
TURN_BUDGET_S = 1.5


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def _post(port: int, body: bytes) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def _speech(answer: dict[str, Any]) -> str:
    return str(((answer.get("response") or {}).get("outputSpeech") or {}).get("ssml", ""))


def run(requests: int, threads: int, code: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "cramp-coach.sqlite3"
        env = {
            **os.environ,
            "CRAMP_STORE": "sqlite",
            "CRAMP_SQLITE_PATH": str(db),
            "CRAMP_SPOOL_PATH": str(Path(tmp) / "spool.sqlite3"),
            "CRAMP_METRICS": "off",
        }
        env.pop("SKILL_ID", None)
        if code:
            env["PYTHONPATH"] = code
        port = free_port()
        argv = [sys.executable, "-m", "cramp_coach", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--threads", str(threads)]
        argv += ["--no-verify-signatures-for-local-testing"]
        proc = subprocess.Popen(
            argv, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_ready(port, proc)
            now = time.time()
            warm = Session(user_id="amzn1.ask.account.BENCHWARM")
            _post(port, json.dumps(warm.launch(now)).encode())  # creates the file and schema
            bodies = []
            for n in range(requests):
                session = Session(user_id=f"amzn1.ask.account.BENCH{n:04d}")
                envelope = session.intent(
                    "CrampIntent", now, {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
                )
                bodies.append(json.dumps(envelope).encode())
            holder = sqlite3.connect(db, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a long write
            results: list[tuple[float, int, str]] = [(0.0, 0, "")] * requests
            gate = threading.Barrier(requests + 1)

            def one(i: int) -> None:
                gate.wait()
                started = time.monotonic()
                try:
                    status, answer = _post(port, bodies[i])
                    results[i] = (time.monotonic() - started, status, _speech(answer))
                except OSError as exc:
                    results[i] = (time.monotonic() - started, 0, type(exc).__name__)

            workers = [threading.Thread(target=one, args=(i,)) for i in range(requests)]
            for w in workers:
                w.start()
            gate.wait()
            for w in workers:
                w.join()
            holder.execute("ROLLBACK")
            holder.close()
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    seconds = sorted(r[0] for r in results)
    steps = sum("Help them sit back" in r[2] for r in results)
    calm = sum("something went wrong" in r[2] for r in results)
    warned = sum("couldn't check earlier warnings" in r[2] for r in results)
    return {
        "requests": requests,
        "threads": threads,
        "code": code or "this checkout",
        "ok": sum(r[1] == 200 for r in results),
        "steps": steps,
        "calm_fallback": calm,
        "safety_line": warned,
        "within_budget": sum(s <= TURN_BUDGET_S + 0.5 for s in seconds),
        "within_8s": sum(s < ALEXA_WAIT_S for s in seconds),
        "p50_s": round(statistics.median(seconds), 3),
        "p90_s": round(seconds[int(0.9 * (len(seconds) - 1))], 3),
        "max_s": round(seconds[-1], 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--code", help="a lambda/ folder to import cramp_coach from instead")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = run(args.requests, args.threads, args.code)
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
