"""Alexa request verification for the self-hosted web service, with `cryptography` only.

Why this module exists (the oscrypto / OpenSSL 3.0.x problem)
--------------------------------------------------------------
flask-ask-sdk's ``skill_adapter`` imports ``ask_sdk_webservice_support.verifier`` at module
level, and that module imports ``certvalidator``, which imports ``oscrypto``. oscrypto 1.3.0
(the newest release on PyPI) dlopens the system libcrypto and parses its version with the
regex ``\\b(\\d\\.\\d\\.\\d[a-z]*)\\b``: "OpenSSL 3.0.19" has no word boundary after "3.0.1",
so the import dies with ``LibraryNotFoundError: Error detecting the version of libcrypto``.
Every OpenSSL with a two-digit patch number (3.0.10+, 3.1.10+, ...) is affected, which is
most current Linux distributions; AWS Lambda happens not to be.

Options weighed:

* ``oscrypto.use_openssl(libcrypto, libssl)`` only changes *which* library is opened; the
  version regex still runs on its version string and fails the same way. No help.
* Installing oscrypto from its git ``master`` (which has the regex fix) needs a direct URL
  dependency: not installable from PyPI and not reproducible offline. Monkeypatching the
  regex or the ``re`` module during import is fragile and touches a private module.
* What we do: never import certvalidator/oscrypto at all. We do not want them anyway:
  the stock ``RequestVerifier`` fetches the certificate with ``urlopen`` without a timeout
  and lets a fetch failure escape as a 500. ``AlexaRequestVerifier`` below re-implements
  Amazon's documented checks with ``cryptography`` (already a dependency of the SDK):
  certificate URL rules, real chain building to a trust store with the server name
  ``echo-api.amazon.com`` (``cryptography.x509.verification``), validity dates, and
  SHA256withRSA over the raw body from the ``Signature-256`` header; plus the timestamp
  and skill id checks. The only shim is :func:`_install_certvalidator_placeholder`: before
  the SDK is imported it registers a tiny ``certvalidator`` placeholder in ``sys.modules``
  (unless the real one is already loaded) so that the SDK's top-level
  ``from certvalidator import ...`` succeeds without loading oscrypto. The placeholder
  fails closed: if anything ever tried to use it, validation raises its ``ValidationError``,
  which the stock verifier turns into a refused request (400). The web service switches
  the stock verifiers off (``ASK_SDK_VERIFY_SIGNATURE``/``ASK_SDK_VERIFY_TIMESTAMP`` =
  False) and plugs ``AlexaRequestVerifier`` into flask-ask-sdk's ``SkillAdapter`` instead.

This needs no patched package, so it survives ``pip install`` on a fresh machine with any
OpenSSL, and it behaves the same on every machine (oscrypto is never loaded anywhere).
``tests/test_webservice_import.py`` checks it in a fresh interpreter.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import sys
import threading
import types
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit


def _install_certvalidator_placeholder() -> None:
    """Let ``ask_sdk_webservice_support.verifier`` import without certvalidator/oscrypto."""
    if "certvalidator" in sys.modules:  # the real one (or ours) is already loaded: keep it
        return

    class ValidationError(Exception):
        """Placeholder for certvalidator.errors.ValidationError."""

    class PathError(ValidationError):
        """Placeholder for certvalidator.errors.PathError."""

    class CertificateValidator:
        """Fails closed: cramp_coach validates chains with `cryptography` instead."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            raise ValidationError(
                "certvalidator is not loaded (oscrypto cannot parse OpenSSL 3.0.1x versions); "
                "use cramp_coach.verification.AlexaRequestVerifier"
            )

    package = types.ModuleType("certvalidator", "cramp_coach placeholder, see verification.py")
    errors = types.ModuleType("certvalidator.errors")
    package.CertificateValidator = CertificateValidator  # type: ignore[attr-defined]
    package.ValidationError = ValidationError  # type: ignore[attr-defined]
    package.errors = errors  # type: ignore[attr-defined]
    package.__path__ = []  # a package, so `certvalidator.errors` resolves
    package.CRAMP_COACH_PLACEHOLDER = True  # type: ignore[attr-defined]
    errors.ValidationError = ValidationError  # type: ignore[attr-defined]
    errors.PathError = PathError  # type: ignore[attr-defined]
    sys.modules["certvalidator"] = package
    sys.modules["certvalidator.errors"] = errors


# Must run before anything imports ask_sdk_webservice_support or flask_ask_sdk.
_install_certvalidator_placeholder()

from ask_sdk_model.request_envelope import RequestEnvelope  # noqa: E402
from ask_sdk_webservice_support.verifier import (  # noqa: E402
    AbstractVerifier,
    VerificationException,
)
from cryptography import x509  # noqa: E402
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402
from cryptography.hazmat.primitives.hashes import SHA256  # noqa: E402
from cryptography.x509.verification import (  # noqa: E402
    PolicyBuilder,
    Store,
    VerificationError,
)

__all__ = [
    "CERT_URL_HOST",
    "SIGNING_NAME",
    "AlexaRequestVerifier",
    "CertificateFetchError",
    "Clock",
    "Fetcher",
    "SkillIdVerifier",
    "VerificationException",
    "check_cert_url",
    "default_trust_anchors",
    "fetch_certificate_chain",
    "utc_now",
]

# Amazon's rules: https://developer.amazon.com/docs/custom-skills/host-a-custom-skill-as-a-web-service.html
CERT_URL_SCHEME = "https"
CERT_URL_HOST = "s3.amazonaws.com"
CERT_URL_PORT = 443
CERT_URL_PATH_PREFIX = "/echo.api/"
SIGNING_NAME = "echo-api.amazon.com"
SIGNATURE_HEADER = "Signature-256"
CERT_URL_HEADER = "SignatureCertChainUrl"
TIMESTAMP_TOLERANCE = timedelta(seconds=150)
# Amazon sends AlexaSkillEvent.* requests up to an hour late (documented exception).
SKILL_EVENT_TOLERANCE = timedelta(hours=1)
MAX_CERT_BYTES = 64 * 1024  # the real chain is about 6 KiB
FETCH_TIMEOUT_S = 3.0  # Alexa waits 8 s for the whole answer; never spend them all here
# A URL whose chain could not be fetched or did not validate is refused without a new fetch
# for this long: a caller sending made-up URLs cannot keep a worker waiting on downloads.
FAILED_URL_HOLD = timedelta(seconds=30)
FAILED_URLS_KEPT = 64

Clock = Callable[[], datetime]
Fetcher = Callable[[str], bytes]  # certificate URL -> PEM bytes; raises CertificateFetchError


class CertificateFetchError(Exception):
    """The certificate chain could not be downloaded (network, HTTP error, too large)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def fetch_certificate_chain(url: str, timeout: float = FETCH_TIMEOUT_S) -> bytes:
    """Download a PEM chain with a short timeout and a size cap. Only called on allowed URLs."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data: bytes = response.read(MAX_CERT_BYTES + 1)
    except (OSError, ValueError, urllib.error.URLError) as error:  # URLError, timeouts, TLS
        reason = type(error).__name__
        raise CertificateFetchError(f"certificate chain not fetched: {reason}") from error
    if len(data) > MAX_CERT_BYTES:
        raise CertificateFetchError("certificate chain too large")
    return data


def default_trust_anchors() -> list[x509.Certificate]:
    """Public roots: certifi's bundle if installed, else the system's default CA file."""
    path: str | None
    try:
        import certifi

        path = certifi.where()
    except ImportError:  # pragma: no cover - certifi is normally present
        import ssl

        path = ssl.get_default_verify_paths().cafile
    if not path:  # pragma: no cover
        raise RuntimeError("no CA bundle found: install certifi")
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificates(handle.read())


def check_cert_url(url: str) -> None:
    """Amazon's SignatureCertChainUrl rules; raises VerificationException when broken.

    https (any case), host s3.amazonaws.com (any case), port 443 if given, and a path that
    after normalisation starts with /echo.api/ (case-sensitive).
    """
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a malformed port
    except ValueError as error:
        raise VerificationException("certificate URL malformed") from error
    if parts.scheme.lower() != CERT_URL_SCHEME:
        raise VerificationException("certificate URL scheme is not https")
    if (parts.hostname or "").lower() != CERT_URL_HOST or parts.username or parts.password:
        raise VerificationException("certificate URL host is not s3.amazonaws.com")
    if port is not None and port != CERT_URL_PORT:
        raise VerificationException("certificate URL port is not 443")
    path = parts.path
    # Encoded or backslash paths could normalise differently on the server: refuse them.
    if "%" in path or "\\" in path or not path.startswith("/"):
        raise VerificationException("certificate URL path not allowed")
    if not posixpath.normpath(path).startswith(CERT_URL_PATH_PREFIX):
        raise VerificationException("certificate URL path does not start with /echo.api/")


@dataclass(frozen=True)
class _Verified:
    """A chain that validated: the leaf's key, usable while every certificate is valid."""

    key: rsa.RSAPublicKey
    not_before: datetime
    not_after: datetime


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    """Case-insensitive lookup that works for werkzeug Headers and plain dicts."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if str(key).lower() == lowered:
                value = candidate
                break
    return None if value is None else str(value)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class AlexaRequestVerifier(AbstractVerifier):
    """Signature (certificate URL, chain, SAN, dates, SHA256withRSA) and timestamp checks.

    Plugged into flask-ask-sdk's ``SkillAdapter(verifiers=[...])``: it runs after the
    envelope is parsed and before any handler. Any failure raises VerificationException,
    which the adapter answers with 400. Certificates are cached per URL (bounded LRU) for
    as long as the whole chain is valid; a URL that failed is refused for FAILED_URL_HOLD
    without another download (bounded too).
    """

    def __init__(
        self,
        trust_anchors: Sequence[x509.Certificate] | None = None,
        fetcher: Fetcher | None = None,
        clock: Clock | None = None,
        cache_size: int = 8,
    ) -> None:
        anchors = list(trust_anchors) if trust_anchors is not None else default_trust_anchors()
        if not anchors:
            raise ValueError("at least one trust anchor is needed")
        self._store = Store(anchors)
        self._fetch = fetcher or fetch_certificate_chain
        self._clock = clock or utc_now
        self._cache: OrderedDict[str, _Verified] = OrderedDict()
        self._cache_size = cache_size
        self._failed: OrderedDict[str, datetime] = OrderedDict()  # URL -> refused until
        self._lock = threading.Lock()  # gthread workers may share one verifier

    # -- AbstractVerifier ------------------------------------------------------------
    def verify(
        self,
        headers: Mapping[str, Any],
        serialized_request_env: str,
        deserialized_request_env: RequestEnvelope,
    ) -> None:
        now = _aware(self._clock())
        # Timestamp first: it is free, and a stale request never costs a certificate fetch.
        self._verify_timestamp(deserialized_request_env, now)
        self._verify_signature(headers, serialized_request_env.encode("utf-8"), now)

    # -- signature ----------------------------------------------------------------------
    def _verify_signature(self, headers: Mapping[str, Any], body: bytes, now: datetime) -> None:
        url = _header(headers, CERT_URL_HEADER)
        signature_b64 = _header(headers, SIGNATURE_HEADER)
        if not url or not signature_b64:
            raise VerificationException("missing SignatureCertChainUrl or Signature-256 header")
        check_cert_url(url)
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError) as error:
            raise VerificationException("Signature-256 is not base64") from error
        key = self._signing_key(url, now)
        try:
            key.verify(signature, body, padding.PKCS1v15(), SHA256())
        except InvalidSignature as error:
            raise VerificationException("signature does not match the body") from error

    def _signing_key(self, url: str, now: datetime) -> rsa.RSAPublicKey:
        with self._lock:
            cached = self._cache.get(url)
            if cached is not None and cached.not_before <= now <= cached.not_after:
                self._cache.move_to_end(url)
                return cached.key
            self._cache.pop(url, None)
            refused_until = self._failed.get(url)
            if refused_until is not None and now < refused_until:
                raise VerificationException("certificate chain failed recently; not fetched again")
        try:
            verified = self._validate_chain(self._download(url), now)
        except VerificationException:
            with self._lock:
                self._failed[url] = now + FAILED_URL_HOLD
                self._failed.move_to_end(url)
                while len(self._failed) > FAILED_URLS_KEPT:
                    self._failed.popitem(last=False)
            raise
        with self._lock:
            self._failed.pop(url, None)
            self._cache[url] = verified
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return verified.key

    def _download(self, url: str) -> bytes:
        try:
            return self._fetch(url)
        except CertificateFetchError as error:
            raise VerificationException(str(error)) from error
        except Exception as error:  # an injected or future fetcher failing otherwise: still 400
            raise VerificationException(
                f"certificate chain not fetched: {type(error).__name__}"
            ) from error

    def _validate_chain(self, pem: bytes, now: datetime) -> _Verified:
        try:
            certificates = x509.load_pem_x509_certificates(pem)
        except ValueError as error:
            raise VerificationException("certificate chain is not PEM") from error
        leaf, intermediates = certificates[0], certificates[1:]
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(now)
            .max_chain_depth(4)
            # Web PKI rules: chain to an anchor, dates, key usage, and the SAN must be
            # exactly echo-api.amazon.com (no CN fallback, wildcards only per RFC 6125).
            .build_server_verifier(x509.DNSName(SIGNING_NAME))
        )
        try:
            chain = verifier.verify(leaf, intermediates)
        except VerificationError as error:
            raise VerificationException(f"certificate chain not trusted: {error}") from error
        key = leaf.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise VerificationException("signing certificate key is not RSA")
        return _Verified(
            key=key,
            not_before=max(c.not_valid_before_utc for c in chain),
            not_after=min(c.not_valid_after_utc for c in chain),
        )

    # -- timestamp ----------------------------------------------------------------------
    def _verify_timestamp(self, envelope: RequestEnvelope, now: datetime) -> None:
        request = getattr(envelope, "request", None)
        stamp = getattr(request, "timestamp", None)
        if not isinstance(stamp, datetime):
            raise VerificationException("request timestamp missing or unreadable")
        kind = getattr(request, "object_type", None)
        tolerance = (
            SKILL_EVENT_TOLERANCE
            if isinstance(kind, str) and kind.startswith("AlexaSkillEvent.")
            else TIMESTAMP_TOLERANCE
        )
        if abs(now - _aware(stamp)) > tolerance:
            raise VerificationException("request timestamp outside the tolerance")


class SkillIdVerifier(AbstractVerifier):
    """The one place the skill id is checked on the web path: a mismatch is a 400.

    A valid signature only proves the request came from Alexa, not from *this* skill.
    """

    def __init__(self, skill_ids: str | Iterable[str]) -> None:
        self._ids = frozenset([skill_ids] if isinstance(skill_ids, str) else skill_ids)
        if not self._ids:
            raise ValueError("no skill id given")

    def verify(
        self,
        headers: Mapping[str, Any],
        serialized_request_env: str,
        deserialized_request_env: RequestEnvelope,
    ) -> None:
        named = application_ids(deserialized_request_env)
        # At least one id, and every id present is ours: no mixing context and session.
        if not named or any(found not in self._ids for found in named):
            raise VerificationException("request is for another skill")


def application_ids(envelope: RequestEnvelope) -> list[object]:
    """Every skill id the request names (context.System and session); Alexa sends both."""
    found: list[object] = []
    for holder in (
        getattr(getattr(envelope, "context", None), "system", None),
        getattr(envelope, "session", None),
    ):
        application = getattr(holder, "application", None)
        if application is not None:
            found.append(getattr(application, "application_id", None))
    return found
