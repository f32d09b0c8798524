"""Bounded load test of the web service on 127.0.0.1 (a benchmark, not a test).

    .venv/bin/python bench/load_webservice.py [--levels 1,4,16] [--requests 1500]
                                              [--max-seconds 20] [--server serve]
                                              [--workers 4]

Starts the server (default: `cramp-coach serve` as it runs, waitress; or gunicorn's workers,
see SERVERS) with the real app and *full* request verification: a throw-away PKI (root CA
-> leaf for echo-api.amazon.com, bench/signed_requests.py) is generated for the run, the root
is the only trust anchor and the certificate download is served from memory (as in the tests;
no network). Each request is a correctly signed, fresh envelope (launch, cramp intent, next),
so the measured path is signature + chain (cached) + timestamp + skill id + skill. For each
concurrency level it sends at most --requests requests or runs at most --max-seconds, then
prints req/s and p50/p99 latency. Exits 1 on any error (non-200 or transport failure).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cramp_coach.hosting.local.loopback import free_port, wait_until_healthy

# The PKI and the signed requests; imported under the names tests/ and bench/slow_clients.py
# import from here.
if TYPE_CHECKING or __package__:  # bench.load_webservice: python -m, the tests (and mypy)
    from bench.signed_requests import CERT_URL, SKILL_ID
    from bench.signed_requests import make_pki as _make_pki
    from bench.signed_requests import signed_pool as _signed_pool
else:  # python bench/load_webservice.py, and the servers' load_webservice (bench/ on sys.path)
    from signed_requests import CERT_URL, SKILL_ID
    from signed_requests import make_pki as _make_pki
    from signed_requests import signed_pool as _signed_pool

PKI_ENV = "CRAMP_BENCH_PKI_DIR"


# --- server side: the WSGI factory the server loads ----------------------------------------


def make_app() -> Any:
    """The real app, verification on, test PKI: ``serve(app_factory=make_app)`` or
    ``gunicorn 'load_webservice:make_app()'``."""
    from cryptography import x509

    from cramp_coach.alexa.skill import build_skill
    from cramp_coach.hosting.verification import CertificateFetchError
    from cramp_coach.hosting.webservice import create_app
    from cramp_coach.memory import NullStore

    pki = Path(os.environ[PKI_ENV])
    chain = (pki / "chain.pem").read_bytes()
    root = x509.load_pem_x509_certificate((pki / "root.pem").read_bytes())

    def fetch(url: str) -> bytes:
        if url != CERT_URL:
            raise CertificateFetchError("unknown certificate URL")
        return chain

    return create_app(
        build_skill(store_factory=NullStore),
        verify=True,
        skill_id=SKILL_ID,
        trust_anchors=[root],
        fetcher=fetch,
    )


# --- servers: each a command line for (port, workers) ------------------------------------

HERE = Path(__file__).resolve().parent


def _gunicorn(port: int, *extra: str) -> list[str]:
    from gunicorn.config import Config

    no_socket = ["--no-control-socket"] if "control_socket_disable" in Config().settings else []
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--pythonpath",
        str(HERE),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        *no_socket,
        *extra,
        "load_webservice:make_app()",
    ]


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); {code}"]


SERVERS: dict[str, Callable[[int, int], list[str]]] = {
    # `cramp-coach serve` exactly (its defaults), only the app factory swapped for the PKI.
    "serve": lambda port, _workers: _python(
        "from load_webservice import make_app; from cramp_coach.hosting.serve import serve; "
        f"serve('127.0.0.1', {port}, app_factory=make_app)"
    ),
    # What `cramp-coach serve` ran before issue 16 (with 2 workers), and gunicorn's others.
    "gunicorn-sync": lambda port, workers: _gunicorn(port, "-w", str(workers)),
    "gunicorn-gthread": lambda port, workers: _gunicorn(port, "-w", str(workers), "--threads", "8"),
    "gunicorn-gevent": lambda port, workers: _gunicorn(port, "-w", str(workers), "-k", "gevent"),
    # For the comparison only (not dependencies): pip install cheroot.
    "cheroot": lambda port, _workers: _python(
        "from load_webservice import make_app; from cheroot.wsgi import Server; "
        f"Server(('127.0.0.1', {port}), make_app(), numthreads=16).safe_start()"
    ),
}


# --- client side --------------------------------------------------------------------------


def _run_level(
    port: int,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    pool: list[tuple[bytes, dict[str, str]]],
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    remaining = [max_requests]
    deadline = time.monotonic() + max_seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        try:
            while time.monotonic() < deadline:
                with lock:
                    if remaining[0] <= 0:
                        break
                    remaining[0] -= 1
                body, headers = rng.choice(pool)
                start = time.perf_counter()
                try:
                    conn.request("POST", "/", body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    if response.status != 200 or b'"response"' not in payload:
                        with lock:
                            errors.append(f"{response.status} {payload[:120]!r}")
                except (OSError, http.client.HTTPException) as error:
                    conn.close()  # reconnect on the next request
                    with lock:
                        errors.append(f"{type(error).__name__}: {error}")
                    continue
                mine.append(time.perf_counter() - start)
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "concurrency": concurrency,
        "requests": len(latencies) + len(errors),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "seconds": elapsed,
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "mean": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--requests", type=int, default=1500, help="per level, at most")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="per level, at most")
    parser.add_argument("--server", default="serve", choices=sorted(SERVERS))
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.levels.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        leaf_key = _make_pki(Path(tmp))
        port = free_port()
        env = {**os.environ, PKI_ENV: tmp, "CRAMP_STORE": "none", "SKILL_ID": SKILL_ID}
        command = SERVERS[args.server](port, args.workers)
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            wait_until_healthy(port, proc)
            _run_level(port, args.workers, args.warmup, 10, _signed_pool(leaf_key, 12))
            results = []
            for level in levels:
                pool = _signed_pool(leaf_key, 48)  # re-signed per level: timestamps stay fresh
                results.append(_run_level(port, level, args.requests, args.max_seconds, pool))
        finally:
            proc.terminate()
            proc.wait(15)

    where = args.server if args.server in ("serve", "cheroot") else f"{args.server} x{args.workers}"
    print(
        f"\ncramp-coach web service, {where} on 127.0.0.1, "
        f"verification ON (signed requests), {os.cpu_count()} CPUs"
    )
    print(
        f"{'concurrency':>11} {'requests':>9} {'errors':>7} {'seconds':>8} "
        f"{'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    )
    for r in results:
        print(
            f"{r['concurrency']:>11} {r['requests']:>9} {r['errors']:>7} {r['seconds']:>8.2f} "
            f"{r['rps']:>8.1f} {r['p50']:>8.2f} {r['p99']:>8.2f}"
        )
    failed = [r for r in results if r["errors"]]
    for r in failed:
        print(f"concurrency {r['concurrency']}: first error: {r['first_error']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
