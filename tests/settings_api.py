"""Alexa's Settings API on loopback, for the tests: HTTPS with a certificate of its own.

GET /v2/devices/{deviceId}/settings/System.timeZone answers as the test sets it (a device id
"zone.Area.City" answers Area/City unless set):
("zone", "Pacific/Auckland") -> 200 with the JSON string; ("204",) no value; ("403",) and
("500",) errors with an Error body; ("hang",) holds the request until the server stops (or
`release()`). Counts requests per device, and checks the bearer token.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TOKEN = "loopback-api-access-token"
PATH_PREFIX = "/v2/devices/"
PATH_SUFFIX = "/settings/System.timeZone"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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


class SettingsApi:
    def __init__(self, folder: Path) -> None:
        self.cert, key = make_certificate(folder)
        self.answers: dict[str, tuple[str, ...]] = {}  # device id -> how to answer
        self.requests: dict[str, int] = {}
        self.bad_tokens = 0
        self._released = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path
                if not (path.startswith(PATH_PREFIX) and path.endswith(PATH_SUFFIX)):
                    self._send(404, b'{"message":"not found"}')
                    return
                device = path[len(PATH_PREFIX) : -len(PATH_SUFFIX)]
                api.requests[device] = api.requests.get(device, 0) + 1
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    api.bad_tokens += 1
                    self._send(401, b'{"type":"INVALID_ACCESS_TOKEN","message":"no"}')
                    return
                # The e2e runner's devices name their zone: "zone.Pacific.Auckland".
                zone = device[5:].replace(".", "/") if device.startswith("zone.") else None
                answer = api.answers.get(device, ("zone", zone) if zone else ("204",))
                if answer[0] == "zone":
                    self._send(200, json.dumps(answer[1]).encode())
                elif answer[0] == "204":
                    self.send_response(204)
                    self.end_headers()
                elif answer[0] == "hang":
                    api._released.wait(10)
                    self._send(503, b'{"message":"late"}')
                else:
                    body = json.dumps({"type": "ERROR", "message": "no"}).encode()
                    self._send(int(answer[0]), body)

            def _send(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (the skill's timeout)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@contextmanager
def settings_api(folder: Path) -> Iterator[SettingsApi]:
    api = SettingsApi(folder)
    try:
        yield api
    finally:
        api.close()
