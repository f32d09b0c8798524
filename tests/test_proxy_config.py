"""deploy/nginx-cramp-coach.conf, the README's proxy advice, run for real: nginx in front of
`cramp-coach serve` on loopback, with only the placeholders (host, certificate, ports, log
paths) filled in. Needs the nginx binary (Debian's nginx-light; `.ci/run` installs it).
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.load_webservice import _make_pki
from cramp_coach.hosting.local.loopback import free_port
from tests.test_webservice_serve import HANG_GUARD_S, Signed, _signed_server

CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "nginx-cramp-coach.conf"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
)
pytestmark = pytest.mark.skipif(NGINX is None, reason="no nginx (.ci/run installs nginx-light)")


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def site_config(listen: int, upstream: int, folder: Path) -> str:
    """The shipped server block with its placeholders filled in, nothing else changed."""
    cert, key = _self_signed(folder)
    text = CONFIG.read_text()
    text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{listen} ssl;")
    text = re.sub(r"\n\s*listen \[::\]:443 ssl;[^\n]*", "", text)
    text = text.replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{upstream};")
    text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", text)
    text = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", text)
    text = re.sub(r"access_log\s+\S+;", f"access_log {folder / 'access.log'};", text)
    return text


def _main_config(folder: Path, site: Path) -> Path:
    temp = folder / "temp"
    temp.mkdir()
    paths = "".join(
        f"    {name}_temp_path {temp / name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = folder / "nginx.conf"
    main.write_text(
        f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        "worker_processes 1;\nevents { worker_connections 512; }\n"
        f"http {{\n{paths}    include {site};\n}}\n"
    )
    return main


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    """`cramp-coach serve` (waitress), verification on, the benchmarks' throw-away PKI."""
    folder = tmp_path_factory.mktemp("pki")
    yield from _signed_server((folder, _make_pki(folder)), tmp_path_factory.mktemp("upstream"))


@pytest.fixture(scope="module")
def proxy(signed: Signed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    assert NGINX is not None
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    site = folder / "cramp-coach.conf"
    site.write_text(site_config(port, signed.port, folder))
    main = _main_config(folder, site)
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(folder), "-c", str(main)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr  # the shipped config is valid nginx
    proc = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(main), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + HANG_GUARD_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    return context


def _call(
    port: int, method: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=HANG_GUARD_S, context=_tls())
    try:
        conn.request(method, "/", body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def test_a_genuine_request_is_answered_through_the_proxy(signed: Signed, proxy: int) -> None:
    body, headers = signed.genuine()
    status, payload, _ = _call(proxy, "POST", body, headers)
    assert status == 200, payload
    assert "outputSpeech" in json.loads(payload)["response"]


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])
def test_the_proxy_answers_only_post(proxy: int, method: str) -> None:
    status, _, headers = _call(proxy, method)
    assert status == 405 and headers.get("Allow") == "POST"


def test_the_proxy_refuses_bodies_over_64k(proxy: int) -> None:
    status, _, _ = _call(proxy, "POST", b"{" + b" " * 70_000 + b"}", {"Content-Type": "text/json"})
    assert status == 413


def test_a_slowloris_is_cut_off_while_genuine_requests_are_answered(
    signed: Signed, proxy: int
) -> None:
    slow = []
    for _ in range(20):
        raw = socket.create_connection(("127.0.0.1", proxy), timeout=HANG_GUARD_S)
        sock = _tls().wrap_socket(raw, server_hostname="localhost")
        sock.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\n")  # headers that never end
        slow.append(sock)
    started = time.monotonic()
    try:
        body, headers = signed.genuine()
        assert _call(proxy, "POST", body, headers)[0] == 200
        for sock in slow:  # client_header_timeout (5 s): each is closed, none held forever
            while sock.recv(4096):
                pass
        assert time.monotonic() - started < HANG_GUARD_S
    finally:
        for sock in slow:
            sock.close()
