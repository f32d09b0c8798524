"""Slow and hostile clients beside genuine signed requests (a benchmark, not a test).

    .venv/bin/python bench/slow_clients.py [--slow 0,8,64] [--servers serve]
                                           [--requests 300] [--seconds 15]

For each server and each number of slow clients it starts the server on 127.0.0.1 with the
real app and *full* verification (the throw-away PKI of ``load_webservice.py``), opens the
slow clients, waits for them to settle in, then sends genuine signed requests (two at a time,
a new connection each, 10 s client timeout) and prints p50/p99 of the genuine ones and how many
failed. Bounded: at most --requests genuine requests or --seconds per run.

The slow clients, in equal shares, reconnecting whenever the server closes them:

* ``headers``: slowloris, a request line then one header line a second, never finished;
* ``body``: complete headers for a 4 KiB POST, then the body one byte a second;
* ``idle``: one keep-alive GET /healthz answered, then the connection held open, silent;
* ``silent``: connect and send nothing.

Servers (``--servers``, comma separated):

* ``serve``: ``cramp_coach.hosting.serve.serve()`` exactly as ``cramp-coach serve`` runs it
  (waitress, its defaults), only the app factory swapped for the bench PKI;
* ``gunicorn-sync``: gunicorn, 2 sync workers (what ``cramp-coach serve`` ran before issue 16);
* ``gunicorn-gthread``: gunicorn, 2 workers x 8 threads;
* ``gunicorn-gevent``: gunicorn, 2 gevent workers (needs gevent, not a dependency);
* ``cheroot``: cheroot's WSGI server, 16 threads (needs cheroot, not a dependency).

Exit status 0 always: the figures are the output (print them into the README).
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # `python bench/slow_clients.py` and `python -m bench.slow_clients`
    sys.path.insert(0, str(HERE))

from load_webservice import PKI_ENV, SERVERS, SKILL_ID, _make_pki, _signed_pool  # noqa: E402

from cramp_coach.hosting.local.loopback import free_port, wait_until_healthy  # noqa: E402

TRICKLE_S = 1.0
KINDS = ("headers", "body", "idle", "silent")


# --- slow clients -------------------------------------------------------------------------


def _slow_client(port: int, kind: str, stop: threading.Event, opened: list[int]) -> None:
    """One hostile client of `kind`, reconnecting until `stop` is set."""
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                opened[0] += 1  # a rough count; races only blur the figure
                sock.settimeout(TRICKLE_S * 3)
                if kind == "headers":
                    sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    n = 0
                    while not stop.wait(TRICKLE_S):
                        n += 1
                        sock.sendall(b"X-Slow-%d: 1\r\n" % n)
                elif kind == "body":
                    sock.sendall(
                        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{"
                    )
                    while not stop.wait(TRICKLE_S):
                        sock.sendall(b" ")
                elif kind == "idle":
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    sock.recv(4096)
                    while not stop.wait(TRICKLE_S):
                        sock.setblocking(False)
                        try:
                            if sock.recv(1) == b"":
                                break  # closed by the server: reconnect
                        except BlockingIOError:
                            pass
                        finally:
                            sock.setblocking(True)
                            sock.settimeout(TRICKLE_S * 3)
                else:  # silent
                    while not stop.wait(TRICKLE_S):
                        sock.setblocking(False)
                        try:
                            if sock.recv(1) == b"":
                                break
                        except BlockingIOError:
                            pass
                        finally:
                            sock.setblocking(True)
                            sock.settimeout(TRICKLE_S * 3)
        except OSError:
            pass  # refused, reset or timed out: try again
        stop.wait(0.05)


# --- genuine requests ---------------------------------------------------------------------


def _genuine(
    port: int,
    pool: list[tuple[bytes, dict[str, str]]],
    max_requests: int,
    max_seconds: float,
    concurrency: int = 2,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    left = [max_requests]
    deadline = time.monotonic() + max_seconds

    def worker(offset: int) -> None:
        i = offset
        while time.monotonic() < deadline:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            body, headers = pool[i % len(pool)]
            i += concurrency
            start = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("POST", "/", body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                ok = response.status == 200 and b'"response"' in payload
                problem = "" if ok else f"{response.status}"
            except (OSError, http.client.HTTPException) as error:
                problem = type(error).__name__
            finally:
                conn.close()
            elapsed = time.perf_counter() - start
            with lock:
                if problem:
                    errors.append(problem)
                else:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "answered": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "p50": pct(0.50),
        "p99": pct(0.99),
        "max": latencies[-1] * 1000 if latencies else float("nan"),
        "mean": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


def run_one(
    server: str, slow: int, leaf_key: Any, pki_dir: str, max_requests: int, max_seconds: float
) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, PKI_ENV: pki_dir, "CRAMP_STORE": "none", "SKILL_ID": SKILL_ID}
    proc = subprocess.Popen(
        SERVERS[server](port, 2), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    stop = threading.Event()
    opened = [0]
    clients = [
        threading.Thread(
            target=_slow_client, args=(port, KINDS[n % len(KINDS)], stop, opened), daemon=True
        )
        for n in range(slow)
    ]
    try:
        wait_until_healthy(port, proc, timeout_s=30)
        _genuine(port, _signed_pool(leaf_key, 6), 10, 10)  # warm-up: certificate cached
        for client in clients:
            client.start()
        time.sleep(2 * TRICKLE_S)  # let them take their connections
        result = _genuine(port, _signed_pool(leaf_key, 48), max_requests, max_seconds)
    finally:
        stop.set()
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for client in clients:
            client.join(5)
    result.update(server=server, slow=slow, connections=opened[0])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", default="0,8,64", help="numbers of slow clients")
    parser.add_argument("--servers", default="serve", help=", ".join(SERVERS))
    parser.add_argument("--requests", type=int, default=300, help="genuine, per run, at most")
    parser.add_argument("--seconds", type=float, default=15.0, help="per run, at most")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.slow.split(",")]
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    for server in servers:
        if server not in SERVERS:
            parser.error(f"unknown server {server!r}: one of {', '.join(SERVERS)}")

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        leaf_key = _make_pki(Path(tmp))
        for server in servers:
            for slow in levels:
                results.append(run_one(server, slow, leaf_key, tmp, args.requests, args.seconds))
                r = results[-1]
                print(
                    f"  {server} slow={slow}: {r['answered']} ok, {r['errors']} errors", flush=True
                )

    print(
        f"\ngenuine signed requests (2 at a time, new connection each, 10 s client timeout) "
        f"beside slow clients, 127.0.0.1, {os.cpu_count()} CPUs"
    )
    print(
        f"{'server':>17} {'slow':>5} {'answered':>9} {'errors':>7} "
        f"{'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}"
    )
    for r in results:
        print(
            f"{r['server']:>17} {r['slow']:>5} {r['answered']:>9} {r['errors']:>7} "
            f"{r['p50']:>9.1f} {r['p99']:>9.1f} {r['max']:>9.1f}"
            + (f"  first error: {r['first_error']}" if r["errors"] else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
