"""The web service over real HTTP on loopback, with real signature verification.

A test PKI (root CA -> leaf with SAN echo-api.amazon.com) is generated here with
`cryptography`; the trust anchors, the certificate download and the clock are injected into
`create_app`, and verification runs in full. Each refusal asserts the skill never ran.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug.serving import BaseWSGIServer, make_server

from cramp_coach.alexa.skill import build_skill
from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.hosting.verification import (
    CertificateFetchError,
    check_cert_url,
    fetch_certificate_chain,
)
from cramp_coach.hosting.webservice import (
    ACCESS_LOG,
    MAX_BODY_BYTES,
    ConfigurationError,
    create_app,
)
from cramp_coach.memory import NullStore

NOW = datetime(2026, 11, 21, 3, 0, 0, tzinfo=UTC)
SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-12.pem"
EXPECTED_START = "Help them sit back or lie down"


# --- a test PKI ---------------------------------------------------------------------------


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_root(common_name: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _key()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=365))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_leaf(
    issuer_key: rsa.RSAPrivateKey,
    issuer: x509.Certificate,
    san: str | list[str] = "echo-api.amazon.com",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _key()
    names = [san] if isinstance(san, str) else san
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - timedelta(days=30))
        .not_valid_after(not_after or NOW + timedelta(days=300))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )
    return key, cert


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def sign(key: rsa.RSAPrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


@dataclass
class Pki:
    root_key: rsa.RSAPrivateKey
    root: x509.Certificate
    leaf_key: rsa.RSAPrivateKey
    leaf: x509.Certificate
    chains: dict[str, bytes]  # certificate URL -> PEM served by the injected fetcher
    keys: dict[str, rsa.RSAPrivateKey]  # certificate URL -> the key its leaf signs with


@pytest.fixture(scope="module")
def pki() -> Pki:
    root_key, root = make_root("Cramp Coach Test Root CA")
    leaf_key, leaf = make_leaf(root_key, root)
    foreign_key, foreign_root = make_root("Someone Else's Root CA")
    stranger_key, stranger_leaf = make_leaf(foreign_key, foreign_root)
    other_key, other_name = make_leaf(root_key, root, san="echo-api.example.com")
    # RFC 6125 (cryptography's server verifier) lets these match; Amazon's rule does not.
    wildcard_key, wildcard = make_leaf(root_key, root, san="*.amazon.com")
    uppercase_key, uppercase = make_leaf(
        root_key, root, san=["www.example.com", "ECHO-API.Amazon.COM"]
    )
    old_key, expired = make_leaf(
        root_key, root, not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=1)
    )
    base = "https://s3.amazonaws.com/echo.api/"
    chains = {
        CERT_URL: pem(leaf, root),
        base + "foreign.pem": pem(stranger_leaf, foreign_root),
        base + "wrong-name.pem": pem(other_name),
        base + "wildcard.pem": pem(wildcard, root),
        base + "uppercase.pem": pem(uppercase, root),
        base + "expired.pem": pem(expired),
        base + "garbage.pem": b"-----BEGIN CERTIFICATE-----\nnot a certificate\n",
    }
    keys = {
        base + "foreign.pem": stranger_key,
        base + "wrong-name.pem": other_key,
        base + "wildcard.pem": wildcard_key,
        base + "uppercase.pem": uppercase_key,
        base + "expired.pem": old_key,
    }
    return Pki(root_key, root, leaf_key, leaf, chains, keys)


# --- a real server on loopback ------------------------------------------------------------


@dataclass
class Service:
    port: int
    fetched: list[str] = field(default_factory=list)
    invoked: list[int] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str = "/",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes, dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read(), dict(response.getheaders())
        finally:
            conn.close()

    def post(
        self, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        merged = {"Content-Type": "application/json", **(headers or {})}
        return self.request("POST", "/", body, merged)


def _serve(app: Any) -> Iterator[BaseWSGIServer]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(5)


def _spy_skill(invoked: list[int]) -> Any:
    skill = build_skill(store_factory=NullStore)
    real_invoke = skill.invoke

    def invoke(*args: Any, **kwargs: Any) -> Any:
        invoked.append(1)
        return real_invoke(*args, **kwargs)

    skill.invoke = invoke  # type: ignore[method-assign]  # the spy: counts every time the skill actually handles a request
    return skill


def _fetcher(pki: Pki, fetched: list[str]) -> Callable[[str], bytes]:
    def fetch(url: str) -> bytes:
        fetched.append(url)
        if url.endswith("/unreachable.pem"):
            # The real downloader against a closed loopback port: a genuine URLError.
            return fetch_certificate_chain("https://127.0.0.1:9/echo.api/x.pem", timeout=2)
        if url.endswith("/raises-raw.pem"):
            raise OSError("connection reset")  # what a careless fetcher would let escape
        if url in pki.chains:
            return pki.chains[url]
        # Any other URL "exists" and serves the good chain: so a refusal of a foreign URL
        # is due to the URL rules, never to the download.
        return pki.chains[CERT_URL]

    return fetch


@pytest.fixture(scope="module")
def service(pki: Pki) -> Iterator[Service]:
    svc = Service(port=0)
    app = create_app(
        _spy_skill(svc.invoked),
        verify=True,
        skill_id=SKILL_ID,
        trust_anchors=[pki.root],
        fetcher=_fetcher(pki, svc.fetched),
        clock=lambda: NOW,
    )
    for server in _serve(app):
        svc.port = server.server_port
        yield svc


def calf_envelope(at: datetime = NOW, skill_id: str = SKILL_ID) -> bytes:
    envelope = Session(skill_id=skill_id).intent(
        "CrampIntent", at.timestamp(), {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
    )
    return json.dumps(envelope).encode()


def signed_headers(key: rsa.RSAPrivateKey, body: bytes, url: str = CERT_URL) -> dict[str, str]:
    return {"SignatureCertChainUrl": url, "Signature-256": sign(key, body)}


def plain(ssml: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", ssml).split())


def speech_of(body: bytes) -> str:
    return str(json.loads(body)["response"]["outputSpeech"]["ssml"])


# --- accepted -----------------------------------------------------------------------------


def test_signed_request_is_answered_with_the_right_speech(service: Service, pki: Pki) -> None:
    body = calf_envelope()
    before = len(service.invoked)
    status, payload, headers = service.post(body, signed_headers(pki.leaf_key, body))
    assert status == 200, payload
    assert headers["Content-Type"].startswith("application/json")
    ssml = speech_of(payload)
    assert ssml.startswith("<speak>"), ssml
    assert plain(ssml).startswith(EXPECTED_START), ssml
    assert len(service.invoked) == before + 1


def test_certificate_is_fetched_once_and_cached(service: Service, pki: Pki) -> None:
    service.fetched.clear()
    for _ in range(3):
        body = calf_envelope()
        status, _, _ = service.post(body, signed_headers(pki.leaf_key, body))
        assert status == 200
    assert service.fetched.count(CERT_URL) <= 1


def test_equivalent_certificate_url_forms_are_accepted(service: Service, pki: Pki) -> None:
    # Amazon's own examples of valid URLs: scheme and host in any case, explicit :443, dots.
    for url in (
        "HTTPS://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        "https://S3.AMAZONAWS.COM/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem",
    ):
        body = calf_envelope()
        status, payload, _ = service.post(body, signed_headers(pki.leaf_key, body, url))
        assert status == 200, (url, payload)


def test_exact_signing_name_is_matched_case_insensitively(service: Service, pki: Pki) -> None:
    url = "https://s3.amazonaws.com/echo.api/uppercase.pem"
    body = calf_envelope()
    status, payload, _ = service.post(body, signed_headers(pki.keys[url], body, url))
    assert status == 200, payload


def test_health_endpoint(service: Service) -> None:
    status, payload, headers = service.request("GET", "/healthz")
    assert status == 200
    assert json.loads(payload) == {"status": "ok"}
    assert headers.get("Cache-Control") == "no-store"


def test_access_log_is_json_without_user_id_or_slot_values(service: Service, pki: Pki) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    ACCESS_LOG.addHandler(handler)
    try:
        body = calf_envelope()
        assert service.post(body, signed_headers(pki.leaf_key, body))[0] == 200
        assert service.post(b"{}", {})[0] == 400
    finally:
        ACCESS_LOG.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    ok = next(line for line in lines if line["status"] == 200)
    assert ok["method"] == "POST" and ok["path"] == "/"
    assert ok["request_type"] == "IntentRequest" and ok["intent"] == "CrampIntent"
    assert isinstance(ok["duration_ms"], float)
    refused = next(line for line in lines if line["status"] == 400)
    assert refused["refused"]
    text = stream.getvalue()
    for secret in ("LOCALUSER", "amzn1.ask.account", "amzn1.echo-api.session", "calf", "her"):
        assert secret not in text


# --- refused: 4xx and the skill never runs ------------------------------------------------


def _refusals(pki: Pki) -> dict[str, Callable[[], tuple[bytes, dict[str, str]]]]:
    keys = pki.keys
    base = "https://s3.amazonaws.com/echo.api/"

    def signed_for(
        url: str, key: rsa.RSAPrivateKey | None = None
    ) -> Callable[[], tuple[bytes, dict[str, str]]]:
        def build() -> tuple[bytes, dict[str, str]]:
            body = calf_envelope()
            return body, signed_headers(key or pki.leaf_key, body, url)

        return build

    def unsigned() -> tuple[bytes, dict[str, str]]:
        return calf_envelope(), {}

    def no_signature() -> tuple[bytes, dict[str, str]]:
        return calf_envelope(), {"SignatureCertChainUrl": CERT_URL}

    def sha1_header_only() -> tuple[bytes, dict[str, str]]:
        body = calf_envelope()
        sig = base64.b64encode(pki.leaf_key.sign(body, padding.PKCS1v15(), hashes.SHA1()))
        return body, {"SignatureCertChainUrl": CERT_URL, "Signature": sig.decode()}

    def wrong_key() -> tuple[bytes, dict[str, str]]:
        body = calf_envelope()
        return body, signed_headers(_key(), body)

    def signature_not_base64() -> tuple[bytes, dict[str, str]]:
        return calf_envelope(), {"SignatureCertChainUrl": CERT_URL, "Signature-256": "@@@"}

    def tampered() -> tuple[bytes, dict[str, str]]:
        body = calf_envelope()
        headers = signed_headers(pki.leaf_key, body)
        return body.replace(b'"CALF"', b'"HAND"'), headers

    def stale() -> tuple[bytes, dict[str, str]]:
        body = calf_envelope(NOW - timedelta(seconds=151))
        return body, signed_headers(pki.leaf_key, body)

    def future() -> tuple[bytes, dict[str, str]]:
        body = calf_envelope(NOW + timedelta(seconds=151))
        return body, signed_headers(pki.leaf_key, body)

    def wrong_skill() -> tuple[bytes, dict[str, str]]:
        body = calf_envelope(skill_id="amzn1.ask.skill.someone-else")
        return body, signed_headers(pki.leaf_key, body)

    def edited(
        change: Callable[[dict[str, Any]], None],
    ) -> Callable[[], tuple[bytes, dict[str, str]]]:
        def build() -> tuple[bytes, dict[str, str]]:
            envelope = json.loads(calf_envelope())
            change(envelope)
            body = json.dumps(envelope).encode()
            return body, signed_headers(pki.leaf_key, body)

        return build

    def no_session_application(envelope: dict[str, Any]) -> None:
        del envelope["session"]["application"]
        envelope["context"]["System"]["application"]["applicationId"] = "amzn1.ask.skill.other"

    def set_session_app(envelope: dict[str, Any]) -> None:
        envelope["session"]["application"]["applicationId"] = "amzn1.ask.skill.other"

    def deep(envelope: dict[str, Any]) -> None:
        node: dict[str, Any] = envelope["session"]["attributes"]
        for _ in range(600):
            node["a"] = {}
            node = node["a"]

    def non_json() -> tuple[bytes, dict[str, str]]:
        body = b"this is not json {"
        return body, signed_headers(pki.leaf_key, body)

    def not_utf8() -> tuple[bytes, dict[str, str]]:
        body = b'{"version": "1.0", "x": "\xff\xfe"}'
        return body, signed_headers(pki.leaf_key, body)

    def json_array() -> tuple[bytes, dict[str, str]]:
        body = b"[1, 2, 3]"
        return body, signed_headers(pki.leaf_key, body)

    def not_an_envelope() -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"version": "1.0", "request": {"type": 5}}).encode()
        return body, signed_headers(pki.leaf_key, body)

    return {
        "unsigned": unsigned,
        "no signature header": no_signature,
        "only the SHA-1 Signature header": sha1_header_only,
        "wrongly signed": wrong_key,
        "signature not base64": signature_not_base64,
        "tampered body": tampered,
        "stale timestamp": stale,
        "timestamp from the future": future,
        "url wrong host": signed_for("https://s3.evil.com/echo.api/echo-api-cert.pem"),
        "url host lookalike": signed_for("https://s3.amazonaws.com.evil.com/echo.api/c.pem"),
        "url userinfo": signed_for("https://evil.com@s3.amazonaws.com/echo.api/c.pem"),
        "url http scheme": signed_for("http://s3.amazonaws.com/echo.api/echo-api-cert.pem"),
        "url wrong path": signed_for("https://s3.amazonaws.com/invalid.path/echo-api-cert.pem"),
        "url path case": signed_for("https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem"),
        "url path escapes": signed_for("https://s3.amazonaws.com/echo.api/../invalid/c.pem"),
        "url encoded path": signed_for("https://s3.amazonaws.com/echo.api/%2e%2e/x/c.pem"),
        "url wrong port": signed_for("https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem"),
        "url bad port": signed_for("https://s3.amazonaws.com:x/echo.api/echo-api-cert.pem"),
        "certificate unreachable": signed_for(base + "unreachable.pem"),
        "certificate fetch raises": signed_for(base + "raises-raw.pem"),
        "certificate not PEM": signed_for(base + "garbage.pem"),
        "chain to a foreign root": signed_for(base + "foreign.pem", keys[base + "foreign.pem"]),
        "certificate for another name": signed_for(
            base + "wrong-name.pem", keys[base + "wrong-name.pem"]
        ),
        "expired certificate": signed_for(base + "expired.pem", keys[base + "expired.pem"]),
        "wrong skill id": wrong_skill,
        "wildcard certificate name": signed_for(base + "wildcard.pem", keys[base + "wildcard.pem"]),
        "no context": edited(lambda e: e.pop("context")),
        "no context.System": edited(lambda e: e["context"].pop("System")),
        "no context.System.application": edited(
            lambda e: e["context"]["System"].pop("application")
        ),
        "no applicationId": edited(
            lambda e: e["context"]["System"]["application"].pop("applicationId")
        ),
        "applicationId not a string": edited(
            lambda e: e["context"]["System"]["application"].update(applicationId=[SKILL_ID])
        ),
        "context null": edited(lambda e: e.update(context=None)),
        "foreign session application id": edited(set_session_app),
        "foreign context id, no session application": edited(no_session_application),
        "session attributes nested 600 deep": edited(deep),
        "a reserved key in the session": edited(lambda e: e["session"].update({"__dict__": {}})),
        "non-JSON body": non_json,
        "body not UTF-8": not_utf8,
        "JSON but not an object": json_array,
        "JSON but not an envelope": not_an_envelope,
    }


REFUSAL_NAMES = [
    "unsigned",
    "no signature header",
    "only the SHA-1 Signature header",
    "wrongly signed",
    "signature not base64",
    "tampered body",
    "stale timestamp",
    "timestamp from the future",
    "url wrong host",
    "url host lookalike",
    "url userinfo",
    "url http scheme",
    "url wrong path",
    "url path case",
    "url path escapes",
    "url encoded path",
    "url wrong port",
    "url bad port",
    "certificate unreachable",
    "certificate fetch raises",
    "certificate not PEM",
    "chain to a foreign root",
    "certificate for another name",
    "expired certificate",
    "wrong skill id",
    "wildcard certificate name",
    "no context",
    "no context.System",
    "no context.System.application",
    "no applicationId",
    "applicationId not a string",
    "context null",
    "foreign session application id",
    "foreign context id, no session application",
    "session attributes nested 600 deep",
    "a reserved key in the session",
    "non-JSON body",
    "body not UTF-8",
    "JSON but not an object",
    "JSON but not an envelope",
]

FOREIGN_URLS = {name for name in REFUSAL_NAMES if name.startswith("url ")}

# Refused for the right reason, not by accident (the access log's "refused" field).
EXPECTED_REASON = {
    "unsigned": "missing",
    "no signature header": "missing",
    "only the SHA-1 Signature header": "missing",
    "wrongly signed": "does not match",
    "signature not base64": "base64",
    "tampered body": "does not match",
    "stale timestamp": "timestamp",
    "timestamp from the future": "timestamp",
    "url wrong host": "host",
    "url host lookalike": "host",
    "url userinfo": "host",
    "url http scheme": "scheme",
    "url wrong path": "path",
    "url path case": "path",
    "url path escapes": "path",
    "url encoded path": "path",
    "url wrong port": "port",
    "url bad port": "malformed",
    "certificate unreachable": "not fetched",
    "certificate fetch raises": "not fetched",
    "certificate not PEM": "not PEM",
    "chain to a foreign root": "not trusted",
    "certificate for another name": "subjectAltName",
    "expired certificate": "not valid at validation time",
    "wrong skill id": "another skill",
    "wildcard certificate name": "exactly",
    "no context": "another skill",
    "no context.System": "another skill",
    "no context.System.application": "another skill",
    "no applicationId": "another skill",
    "applicationId not a string": "another skill",
    "context null": "another skill",
    "foreign session application id": "session.application",
    "foreign context id, no session application": "context.System.application",
    "session attributes nested 600 deep": "nested too deep",
    "a reserved key in the session": "reserved key",
    "non-JSON body": "not JSON",
    "body not UTF-8": "UTF-8",
    "JSON but not an object": "not a JSON object",
    "JSON but not an envelope": "envelope",
}


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(record.getMessage()))


@pytest.mark.parametrize("case", REFUSAL_NAMES)
def test_refused_with_400_and_nothing_handled(case: str, service: Service, pki: Pki) -> None:
    body, headers = _refusals(pki)[case]()
    service.fetched.clear()
    before = len(service.invoked)
    log = _Lines()
    ACCESS_LOG.addHandler(log)
    try:
        status, payload, _ = service.post(body, headers)
    finally:
        ACCESS_LOG.removeHandler(log)
    assert EXPECTED_REASON[case] in log.lines[-1].get("refused", ""), log.lines
    assert status == 400, (case, status, payload)
    assert len(service.invoked) == before, f"{case}: the skill ran"
    assert b"Traceback" not in payload
    assert json.loads(payload)["error"] == "Bad Request"
    if case in FOREIGN_URLS:
        assert service.fetched == [], f"{case}: a foreign certificate URL was fetched"


def test_oversized_body_is_413_and_nothing_handled(service: Service, pki: Pki) -> None:
    envelope = json.loads(calf_envelope())
    envelope["session"]["attributes"] = {"padding": "x" * MAX_BODY_BYTES}
    body = json.dumps(envelope).encode()
    before = len(service.invoked)
    status, _, _ = service.post(body, signed_headers(pki.leaf_key, body))
    assert status == 413
    assert len(service.invoked) == before


def test_oversized_chunked_body_is_refused(service: Service) -> None:
    # No Content-Length: werkzeug still stops reading at the limit.
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    before = len(service.invoked)
    try:
        chunks = (b"x" * 8192 for _ in range(MAX_BODY_BYTES // 8192 + 2))
        conn.request(
            "POST",
            "/",
            body=chunks,
            encode_chunked=True,
            headers={"Content-Type": "application/json"},
        )
        status = conn.getresponse().status
    finally:
        conn.close()
    # werkzeug's dev server gives the app no body at all for chunked requests (400, not
    # JSON); gunicorn passes it and we refuse 413 (tests/test_webservice_gunicorn.py).
    assert 400 <= status < 500
    assert len(service.invoked) == before


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "TRACE"])
def test_other_methods_are_405_with_allow_post(method: str, service: Service, pki: Pki) -> None:
    before = len(service.invoked)
    body = calf_envelope()  # even a genuine signed envelope: the method decides
    status, payload, headers = service.request(
        method, "/", body, signed_headers(pki.leaf_key, body)
    )
    assert status == 405, payload
    assert headers.get("Allow") == "POST"
    assert len(service.invoked) == before


# --- configuration ------------------------------------------------------------------------


def test_verification_needs_a_skill_id(monkeypatch: pytest.MonkeyPatch, pki: Pki) -> None:
    monkeypatch.delenv("SKILL_ID", raising=False)
    with pytest.raises(ConfigurationError):
        create_app(build_skill(store_factory=NullStore), trust_anchors=[pki.root])


def test_unverified_only_with_both_flags(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cramp_coach.hosting import web_config, webservice

    monkeypatch.setenv("CRAMP_VERIFY", "0")
    monkeypatch.delenv("CRAMP_ALLOW_UNVERIFIED", raising=False)
    with pytest.raises(ConfigurationError):
        web_config.verify_from_env()
    monkeypatch.setenv("CRAMP_ALLOW_UNVERIFIED", "1")
    monkeypatch.setenv("CRAMP_STORE", "none")
    app = webservice.app_from_env()
    assert app.extensions["cramp_coach"]["verify"] is False
    assert "REQUEST VERIFICATION IS OFF" in capsys.readouterr().err
    monkeypatch.delenv("CRAMP_VERIFY")
    assert web_config.verify_from_env() is True


@pytest.mark.parametrize(
    "url",
    [
        "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        "HTTPS://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem",
    ],
)
def test_amazon_documented_valid_urls(url: str) -> None:
    check_cert_url(url)


def test_a_failed_certificate_url_is_not_fetched_again_for_a_while(pki: Pki) -> None:
    """Made-up URLs cannot keep a worker downloading: a failed one is refused from memory for
    30 s, then tried again; the real certificate URL is unaffected throughout."""
    clock = {"now": NOW}
    fetched: list[str] = []
    app = create_app(
        _spy_skill([]),
        verify=True,
        skill_id=SKILL_ID,
        trust_anchors=[pki.root],
        fetcher=_fetcher(pki, fetched),
        clock=lambda: clock["now"],
    )
    bad = "https://s3.amazonaws.com/echo.api/garbage.pem"
    svc = Service(port=0)

    def post(url: str) -> int:
        body = calf_envelope(at=clock["now"])
        return svc.post(body, signed_headers(pki.leaf_key, body, url))[0]

    for server in _serve(app):
        svc.port = server.server_port
        assert [post(bad) for _ in range(3)] == [400, 400, 400]
        assert fetched.count(bad) == 1
        assert post(CERT_URL) == 200
        clock["now"] = NOW + timedelta(seconds=29)
        assert post(bad) == 400 and fetched.count(bad) == 1
        clock["now"] = NOW + timedelta(seconds=31)
        assert post(bad) == 400 and fetched.count(bad) == 2
        assert post(CERT_URL) == 200 and fetched.count(CERT_URL) == 1


def test_real_fetch_failure_is_a_fetch_error() -> None:
    with pytest.raises(CertificateFetchError):
        fetch_certificate_chain("https://127.0.0.1:9/echo.api/x.pem", timeout=2)


def test_conflicting_skill_ids_refuse_to_start(monkeypatch: pytest.MonkeyPatch, pki: Pki) -> None:
    monkeypatch.setenv("SKILL_ID", "amzn1.ask.skill.env")
    skill = build_skill(store_factory=NullStore)  # takes SKILL_ID from the environment
    with pytest.raises(ConfigurationError):
        create_app(skill, skill_id="amzn1.ask.skill.other", trust_anchors=[pki.root])
    app = create_app(skill, trust_anchors=[pki.root])
    assert app.extensions["cramp_coach"]["skill_id"] == "amzn1.ask.skill.env"


def test_each_turn_begins_before_verification_and_ends_after(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's per-turn budget (cramp_coach.memory.turn) counts from the request's arrival:
    begun before the body is read or verified, still running in the skill, ended after."""
    from cramp_coach.memory import turn

    events: list[str] = []
    real_begin, real_end = turn.begin, turn.end

    def begin(*args: Any, **kwargs: Any) -> float:
        events.append("begin")
        return real_begin(*args, **kwargs)

    def end() -> None:
        events.append("end")
        real_end()

    def fetch(url: str) -> bytes:
        events.append("verify")
        return pki.chains[CERT_URL]

    monkeypatch.setattr(turn, "begin", begin)
    monkeypatch.setattr(turn, "end", end)
    skill = build_skill(store_factory=NullStore)
    real_invoke = skill.invoke

    def invoke(*args: Any, **kwargs: Any) -> Any:
        events.append("skill")
        assert 0 < turn.remaining() <= turn.TURN_BUDGET_S
        return real_invoke(*args, **kwargs)

    skill.invoke = invoke  # type: ignore[method-assign]
    app = create_app(
        skill, skill_id=SKILL_ID, trust_anchors=[pki.root], fetcher=fetch, clock=lambda: NOW
    )
    svc = Service(port=0)
    for server in _serve(app):
        svc.port = server.server_port
        body = calf_envelope()
        assert svc.post(body, signed_headers(pki.leaf_key, body))[0] == 200
        assert svc.post(b"not json", {})[0] == 400
    # Memory ends the turn once its save is done; the WSGI layer ends it again after the
    # response; the refused request begins and ends its own turn without the skill.
    assert events == ["begin", "verify", "skill", "end", "end", "begin", "end"]
