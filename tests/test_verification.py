"""Certificate download and trust-anchor rules, against real HTTPS servers on loopback.

The certificate download runs the real downloader (urllib, TLS) against HTTPS servers on
127.0.0.1 with their own test CA: redirects to another host or to plain http are refused
(and the target is never contacted), a transient failure is tried once more, a 4xx is not.
Requests go through the web service over real HTTP, signed with the test PKI of
test_webservice.py, so each rule is seen as Alexa's requests would see it: status code and
whether the skill ran. The holds after a failure are driven by an injected clock.
"""

from __future__ import annotations

import http.server
import ipaddress
import os
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model.request_envelope import RequestEnvelope
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from cramp_coach.hosting.verification import (
    FAILED_URL_HOLD,
    KNOWN_URL_HOLD,
    AlexaRequestVerifier,
    CertificateFetchError,
    VerificationException,
    default_trust_anchors,
    fetch_certificate_chain,
    load_trust_anchors,
)
from cramp_coach.hosting.webservice import create_app
from tests.test_webservice import (
    CERT_URL,
    NOW,
    SKILL_ID,
    Service,
    _serve,
    _spy_skill,
    calf_envelope,
    make_leaf,
    make_root,
    pem,
    signed_headers,
)

S3 = "https://s3.amazonaws.com"
HANG_GUARD_S = 10  # only so that a broken build fails instead of hanging


# --- HTTPS servers on loopback --------------------------------------------------------------


@dataclass
class Origin:
    """A loopback HTTP(S) server that records every path asked of it."""

    port: int = 0
    hits: list[str] = field(default_factory=list)
    routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]] = field(
        default_factory=dict
    )


def _handler(origin: Origin) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            origin.hits.append(self.path)
            route = origin.routes.get(self.path)
            if route is None:
                self.send_error(404)
            else:
                route(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet test output

    return Handler


def _run(origin: Origin, context: ssl.SSLContext | None) -> Iterator[Origin]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(origin))
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    origin.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A CA and a server certificate for 127.0.0.1 and localhost."""
    ca_key, ca = make_root("Loopback TLS Test CA")
    key, _ = make_root("unused")  # any RSA key
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(ca.not_valid_before_utc.tzinfo) - timedelta(days=1))
        .not_valid_after(datetime.now(ca.not_valid_before_utc.tzinfo) + timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(pem(cert))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client = ssl.create_default_context(cadata=pem(ca).decode())
    return Tls(server, client)


@dataclass
class Pki:
    root: x509.Certificate
    key: Any
    chain: bytes


@pytest.fixture(scope="module")
def pki() -> Pki:
    root_key, root = make_root("Cramp Coach Test Root CA")
    leaf_key, leaf = make_leaf(root_key, root)
    return Pki(root, leaf_key, pem(leaf, root))


def _send(status: int, body: bytes = b"", **headers: str) -> Callable[[Any], None]:
    def respond(handler: Any) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def _once_then(first: Callable[[Any], None], then: Callable[[Any], None]) -> Callable[[Any], None]:
    calls = [0]

    def respond(handler: Any) -> None:
        calls[0] += 1
        (first if calls[0] == 1 else then)(handler)

    return respond


def _reset(handler: Any) -> None:
    handler.close_connection = True
    handler.connection.close()  # no response at all: the client sees a reset or EOF


@dataclass
class Origins:
    s3: Origin  # stands in for s3.amazonaws.com
    other: Origin  # another HTTPS host: must never be contacted
    plain: Origin  # a plain-http server: must never be contacted

    def fetcher(self, tls: Tls) -> Callable[[str], bytes]:
        """The real downloader, pointed at the loopback stand-in for s3.amazonaws.com."""

        def fetch(url: str) -> bytes:
            assert url.lower().startswith(S3.lower())
            local = f"https://127.0.0.1:{self.s3.port}" + url[len(S3) :]
            return fetch_certificate_chain(local, timeout=3, context=tls.client)

        return fetch


@pytest.fixture
def origins(tls: Tls, pki: Pki) -> Iterator[Origins]:
    s3, other, plain = Origin(), Origin(), Origin()
    for _ in _run(other, tls.server):
        for _ in _run(plain, None):
            for _ in _run(s3, tls.server):
                good = _send(200, pki.chain, **{"Content-Type": "application/x-pem-file"})
                other.routes["/echo.api/good.pem"] = good
                plain.routes["/echo.api/good.pem"] = good
                s3.routes.update(
                    {
                        "/echo.api/good.pem": good,
                        "/echo.api/to-other-host.pem": _send(
                            302, Location=f"https://localhost:{other.port}/echo.api/good.pem"
                        ),
                        "/echo.api/to-http.pem": _send(
                            301, Location=f"http://127.0.0.1:{plain.port}/echo.api/good.pem"
                        ),
                        "/echo.api/same-host-307.pem": _send(307, Location="/echo.api/good.pem"),
                        "/echo.api/flaky.pem": _once_then(_send(503), good),
                        "/echo.api/reset-once.pem": _once_then(_reset, good),
                        "/echo.api/gone.pem": _send(404),
                        "/echo.api/always-503.pem": _send(503),
                        "/echo.api/huge.pem": _send(200, b"x" * (65 * 1024)),
                    }
                )
                yield Origins(s3, other, plain)


# --- the downloader itself ------------------------------------------------------------------


def test_downloader_fetches_over_https(origins: Origins, tls: Tls, pki: Pki) -> None:
    assert origins.fetcher(tls)(f"{S3}/echo.api/good.pem") == pki.chain


@pytest.mark.parametrize(
    "path", ["/echo.api/to-other-host.pem", "/echo.api/to-http.pem", "/echo.api/same-host-307.pem"]
)
def test_downloader_follows_no_redirect(path: str, origins: Origins, tls: Tls) -> None:
    with pytest.raises(CertificateFetchError, match="HTTP 30") as caught:
        origins.fetcher(tls)(S3 + path)
    assert caught.value.transient is False
    assert origins.other.hits == [] and origins.plain.hits == []
    assert origins.s3.hits == [path]  # not even the same host's target


def test_downloader_never_uses_plain_http(origins: Origins) -> None:
    with pytest.raises(CertificateFetchError, match="not https"):
        fetch_certificate_chain(f"http://127.0.0.1:{origins.plain.port}/echo.api/good.pem")
    assert origins.plain.hits == []


def test_downloader_caps_the_size(origins: Origins, tls: Tls) -> None:
    with pytest.raises(CertificateFetchError, match="too large"):
        origins.fetcher(tls)(f"{S3}/echo.api/huge.pem")


# --- through the web service ----------------------------------------------------------------


@pytest.fixture
def web(origins: Origins, tls: Tls, pki: Pki) -> Iterator[Service]:
    svc = Service(port=0)
    app = create_app(
        _spy_skill(svc.invoked),
        verify=True,
        skill_id=SKILL_ID,
        trust_anchors=[pki.root],
        fetcher=origins.fetcher(tls),
        clock=lambda: NOW,
    )
    for server in _serve(app):
        svc.port = server.server_port
        yield svc


def _post(web: Service, pki: Pki, path: str) -> tuple[int, bytes]:
    body = calf_envelope()
    status, payload, _ = web.post(body, signed_headers(pki.key, body, S3 + path))
    return status, payload


def test_genuine_request_through_the_real_downloader(
    web: Service, pki: Pki, origins: Origins
) -> None:
    assert _post(web, pki, "/echo.api/good.pem")[0] == 200
    assert web.invoked == [1]


@pytest.mark.parametrize(
    "path", ["/echo.api/to-other-host.pem", "/echo.api/to-http.pem", "/echo.api/same-host-307.pem"]
)
def test_redirected_certificate_url_is_refused(
    path: str, web: Service, pki: Pki, origins: Origins
) -> None:
    status, payload = _post(web, pki, path)
    assert status == 400, payload
    assert web.invoked == []
    assert origins.other.hits == [] and origins.plain.hits == []
    assert origins.s3.hits == [path]  # a redirect is not transient: not asked again


@pytest.mark.parametrize("path", ["/echo.api/flaky.pem", "/echo.api/reset-once.pem"])
def test_one_transient_failure_is_retried_and_the_request_answered(
    path: str, web: Service, pki: Pki, origins: Origins
) -> None:
    status, payload = _post(web, pki, path)
    assert status == 200, payload
    assert web.invoked == [1]
    assert origins.s3.hits == [path, path]


def test_a_persistent_failure_is_tried_twice_then_refused(
    web: Service, pki: Pki, origins: Origins
) -> None:
    assert _post(web, pki, "/echo.api/always-503.pem")[0] == 400
    assert origins.s3.hits == ["/echo.api/always-503.pem"] * 2
    assert web.invoked == []


def test_a_missing_certificate_is_not_retried(web: Service, pki: Pki, origins: Origins) -> None:
    assert _post(web, pki, "/echo.api/gone.pem")[0] == 400
    assert origins.s3.hits == ["/echo.api/gone.pem"]


# --- retry pacing and holds (injected clocks) -----------------------------------------------

_SERIALIZER = DefaultSerializer()


class Scripted:
    """A fetcher whose answer per URL the test sets: bytes, or an exception to raise."""

    def __init__(self, answers: dict[str, bytes | Exception]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        answer = self.answers[url]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _verify(verifier: AlexaRequestVerifier, pki: Pki, url: str, at: datetime) -> None:
    body = calf_envelope(at=at)
    envelope = _SERIALIZER.deserialize(payload=body.decode(), obj_type=RequestEnvelope)
    verifier.verify(signed_headers(pki.key, body, url), body.decode(), envelope)


def test_retry_waits_briefly_and_stays_inside_the_budget(pki: Pki) -> None:
    slept: list[float] = []
    now = [100.0]
    fetch = Scripted({CERT_URL: OSError("connection reset")})
    verifier = AlexaRequestVerifier(
        [pki.root], fetch, lambda: NOW, sleep=slept.append, monotonic=lambda: now[0]
    )
    with pytest.raises(VerificationException, match="not fetched"):
        _verify(verifier, pki, CERT_URL, NOW)
    assert fetch.calls == [CERT_URL, CERT_URL] and slept == [pytest.approx(0.2)]

    # A first attempt that used nearly the whole 3 s budget leaves no room for a second.
    def slow_failure(url: str) -> bytes:
        now[0] += 2.9
        raise CertificateFetchError("certificate chain not fetched: TimeoutError")

    late = AlexaRequestVerifier(
        [pki.root], slow_failure, lambda: NOW, sleep=slept.append, monotonic=lambda: now[0]
    )
    slept.clear()
    with pytest.raises(VerificationException):
        _verify(late, pki, CERT_URL, NOW)
    assert slept == []


def test_a_url_that_worked_is_held_only_briefly_after_a_failure(pki: Pki) -> None:
    clock = [NOW]
    other = f"{S3}/echo.api/other.pem"
    fetch = Scripted({CERT_URL: pki.chain, other: pki.chain})
    verifier = AlexaRequestVerifier(
        [pki.root], fetch, lambda: clock[0], cache_size=1, sleep=lambda _: None
    )
    _verify(verifier, pki, CERT_URL, NOW)  # validated: a known URL from now on
    _verify(verifier, pki, other, NOW)  # evicts it from the one-entry cache
    fetch.answers[CERT_URL] = CertificateFetchError("certificate chain not fetched: HTTP 503")
    fetch.calls.clear()
    with pytest.raises(VerificationException):
        _verify(verifier, pki, CERT_URL, NOW)
    assert fetch.calls == [CERT_URL, CERT_URL]  # retried once

    fetch.answers[CERT_URL] = pki.chain  # S3 is back
    clock[0] = NOW + timedelta(seconds=1)
    with pytest.raises(VerificationException, match="failed recently"):
        _verify(verifier, pki, CERT_URL, clock[0])
    assert len(fetch.calls) == 2  # held: no download
    clock[0] = NOW + KNOWN_URL_HOLD + timedelta(milliseconds=100)
    _verify(verifier, pki, CERT_URL, clock[0])  # accepted again after about 2 s
    assert len(fetch.calls) == 3
    assert timedelta(seconds=3) >= KNOWN_URL_HOLD


def test_an_unknown_url_that_failed_keeps_the_long_hold(pki: Pki) -> None:
    clock = [NOW]
    made_up = f"{S3}/echo.api/made-up.pem"
    fetch = Scripted({made_up: CertificateFetchError("HTTP 404", transient=False)})
    verifier = AlexaRequestVerifier([pki.root], fetch, lambda: clock[0], sleep=lambda _: None)
    with pytest.raises(VerificationException):
        _verify(verifier, pki, made_up, NOW)
    assert fetch.calls == [made_up]  # not transient: one attempt
    for seconds in (3, 29):
        clock[0] = NOW + timedelta(seconds=seconds)
        with pytest.raises(VerificationException, match="failed recently"):
            _verify(verifier, pki, made_up, clock[0])
    assert fetch.calls == [made_up]
    clock[0] = NOW + FAILED_URL_HOLD + timedelta(seconds=1)
    with pytest.raises(VerificationException):
        _verify(verifier, pki, made_up, clock[0])
    assert fetch.calls == [made_up, made_up]


def test_made_up_urls_cannot_occupy_every_thread_with_downloads(pki: Pki) -> None:
    release = threading.Event()
    started = threading.Semaphore(0)

    def fetch(url: str) -> bytes:
        if url == CERT_URL:
            return pki.chain
        started.release()
        release.wait(HANG_GUARD_S)  # a slow download that the test lets finish
        raise CertificateFetchError("HTTP 404", transient=False)

    verifier = AlexaRequestVerifier([pki.root], fetch, lambda: NOW, sleep=lambda _: None)
    _verify(verifier, pki, CERT_URL, NOW)  # the genuine URL: validated and cached
    errors: list[str] = []

    def attack(n: int) -> None:
        try:
            _verify(verifier, pki, f"{S3}/echo.api/made-up-{n}.pem", NOW)
        except VerificationException as error:
            errors.append(str(error))

    attackers = [threading.Thread(target=attack, args=(n,)) for n in range(2)]
    for thread in attackers:
        thread.start()
    assert started.acquire(timeout=HANG_GUARD_S) and started.acquire(timeout=HANG_GUARD_S)
    with pytest.raises(VerificationException, match="busy"):  # a third: refused at once
        _verify(verifier, pki, f"{S3}/echo.api/made-up-3.pem", NOW)
    _verify(verifier, pki, CERT_URL, NOW)  # genuine requests meanwhile: still verified
    release.set()
    for thread in attackers:
        thread.join(HANG_GUARD_S)
    assert len(errors) == 2
    # A URL refused as busy was not held: it is downloaded once a slot is free.
    with pytest.raises(VerificationException, match="404"):
        _verify(verifier, pki, f"{S3}/echo.api/made-up-3.pem", NOW)


# --- trust anchors --------------------------------------------------------------------------


def _negative_serial_root() -> bytes:
    """A self-signed root whose serial number is negative (DER edited after signing): today
    cryptography loads it with a warning; a future release will refuse to parse it."""
    key, _ = make_root("unused")
    serial = b"\x7f" + os.urandom(15)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Negative Serial")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Negative Serial")]))
        .public_key(key.public_key())
        .serial_number(int.from_bytes(serial, "big"))
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    encoded = b"\x02\x10" + serial
    assert der.count(encoded) == 1
    der = der.replace(encoded, b"\x02\x10\x80" + serial[1:])
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def _bad_bundle(pki: Pki) -> bytes:
    garbage = b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    broken_base64 = b"-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        negative = _negative_serial_root()
    truncated = b"-----BEGIN CERTIFICATE-----\nMIIB\n"  # no END: must not swallow the next
    return b"# a CA bundle\n" + negative + garbage + broken_base64 + truncated + pem(pki.root)


def test_one_unparsable_root_cannot_disable_verification(pki: Pki) -> None:
    bundle = _bad_bundle(pki)
    with pytest.raises(ValueError):  # why roots are loaded one at a time
        x509.load_pem_x509_certificates(bundle)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cryptography's warning about a root is not fatal
        anchors = load_trust_anchors(bundle)
    assert (anchors.skipped, anchors.warned) == (2, 1)
    assert pki.root in anchors.certificates and len(anchors.certificates) == 2

    svc = Service(port=0)
    app = create_app(
        _spy_skill(svc.invoked),
        skill_id=SKILL_ID,
        trust_anchors=anchors.certificates,
        fetcher=lambda url: pki.chain,
        clock=lambda: NOW,
    )
    for server in _serve(app):
        svc.port = server.server_port
        body = calf_envelope()
        status, payload, _ = svc.post(body, signed_headers(pki.key, body))
        assert status == 200, payload
        assert svc.invoked == [1]


def test_public_roots_load_with_warnings_as_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        anchors = default_trust_anchors()
    assert len(anchors) > 100  # certifi's bundle, every root that parses
