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
import http.client
import json
import logging
import posixpath
import re
import ssl
import sys
import threading
import time
import types
import urllib.error
import urllib.request
import warnings
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

from cramp_coach.envelope import foreign  # noqa: E402

__all__ = [
    "CERT_URL_HOST",
    "SIGNING_NAME",
    "AlexaRequestVerifier",
    "CertificateFetchError",
    "Clock",
    "Fetcher",
    "SkillIdVerifier",
    "TrustAnchors",
    "VerificationException",
    "check_cert_url",
    "default_trust_anchors",
    "fetch_certificate_chain",
    "load_trust_anchors",
    "utc_now",
]

log = logging.getLogger("cramp_coach.verification")

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
# Alexa waits 8 s for the whole answer: all download attempts together stay within this.
FETCH_BUDGET_S = 3.0
FETCH_TIMEOUT_S = FETCH_BUDGET_S  # one attempt alone may use the whole budget
FETCH_ATTEMPTS = 2  # a transient failure (reset, 5xx, timeout) is tried once more...
FETCH_RETRY_DELAY_S = 0.2  # ...after this pause
# A URL whose chain could not be fetched or did not validate is refused without a new fetch
# for a while: a caller sending made-up URLs cannot keep a worker waiting on downloads. A URL
# that has validated before (Amazon's real one) is held only briefly, so that one failed
# download of the genuine certificate never refuses genuine requests for long.
FAILED_URL_HOLD = timedelta(seconds=30)
KNOWN_URL_HOLD = timedelta(seconds=2)
FAILED_URLS_KEPT = 64
KNOWN_URLS_KEPT = 64
# Downloads of URLs that have not validated before, at once (waitress runs 4 threads).
UNKNOWN_DOWNLOADS = 2

Clock = Callable[[], datetime]
Fetcher = Callable[[str], bytes]  # certificate URL -> PEM bytes; raises CertificateFetchError


class CertificateFetchError(Exception):
    """The certificate chain could not be downloaded (network, HTTP error, too large).

    `transient` failures (resets, timeouts, 5xx) are worth one more attempt; a redirect, a
    4xx or an oversized chain is not.
    """

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


def utc_now() -> datetime:
    return datetime.now(UTC)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Amazon's certificate URL must serve the chain itself: any 3xx is a failed download
    (never another host, never plain http)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError for the 3xx


def fetch_certificate_chain(
    url: str, timeout: float = FETCH_TIMEOUT_S, context: ssl.SSLContext | None = None
) -> bytes:
    """One HTTPS download of a PEM chain: short timeout, size cap, no redirects.

    Only called on allowed URLs; `context` replaces the default TLS context (tests).
    """
    if urlsplit(url).scheme.lower() != CERT_URL_SCHEME:
        raise CertificateFetchError("certificate chain not fetched: not https")
    opener = urllib.request.build_opener(
        _NoRedirects(), urllib.request.HTTPSHandler(context=context)
    )
    try:
        with opener.open(url, timeout=timeout) as response:
            if response.status != 200:
                raise CertificateFetchError(
                    f"certificate chain not fetched: HTTP {response.status}", transient=False
                )
            data: bytes = response.read(MAX_CERT_BYTES + 1)
    except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
        error.close()
        raise CertificateFetchError(
            f"certificate chain not fetched: HTTP {error.code}", transient=error.code >= 500
        ) from None
    except (OSError, ValueError, http.client.HTTPException) as error:  # timeouts, TLS, resets
        reason = type(error).__name__
        raise CertificateFetchError(f"certificate chain not fetched: {reason}") from error
    if len(data) > MAX_CERT_BYTES:
        raise CertificateFetchError("certificate chain too large", transient=False)
    return data


# One block from BEGIN to its END, never across another block's markers: a truncated block
# cannot swallow the certificate after it.
_PEM_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----(?:(?!-----).)*-----END CERTIFICATE-----", re.DOTALL
)


@dataclass(frozen=True)
class TrustAnchors:
    """The roots that loaded, and how many of the bundle's were skipped or warned about."""

    certificates: list[x509.Certificate]
    skipped: int
    warned: int


def load_trust_anchors(pem_bundle: bytes) -> TrustAnchors:
    """Each certificate of a PEM bundle on its own: one root that does not parse (today, or
    after a cryptography upgrade turns a warning into an error) is skipped, not fatal."""
    certificates: list[x509.Certificate] = []
    skipped = warned = 0
    for block in _PEM_BLOCK.findall(pem_bundle):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                certificate = x509.load_pem_x509_certificate(block)
            except ValueError:
                skipped += 1
                continue
        if caught:  # e.g. a negative serial number: still usable today
            warned += 1
        certificates.append(certificate)
    if skipped or warned:
        log.log(
            logging.WARNING if skipped else logging.INFO,
            "trust anchors: %d loaded, %d skipped (unparsable), %d with parser warnings",
            len(certificates),
            skipped,
            warned,
        )
    return TrustAnchors(certificates, skipped, warned)


def default_trust_anchors() -> list[x509.Certificate]:
    """Public roots: certifi's bundle if installed, else the system's default CA file."""
    path: str | None
    try:
        import certifi

        path = certifi.where()
    except ImportError:  # pragma: no cover - certifi is normally present
        path = ssl.get_default_verify_paths().cafile
    if not path:  # pragma: no cover
        raise RuntimeError("no CA bundle found: install certifi")
    with open(path, "rb") as handle:
        return load_trust_anchors(handle.read()).certificates


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


def _san_dns_names(certificate: x509.Certificate) -> set[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return set()
    return {name.lower() for name in san.value.get_values_for_type(x509.DNSName)}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class AlexaRequestVerifier(AbstractVerifier):
    """Signature (certificate URL, chain, SAN, dates, SHA256withRSA) and timestamp checks.

    Plugged into flask-ask-sdk's ``SkillAdapter(verifiers=[...])``: it runs after the
    envelope is parsed and before any handler. Any failure raises VerificationException,
    which the adapter answers with 400. Certificates are cached per URL (bounded LRU) for
    as long as the whole chain is valid. A transient download failure is tried again once,
    all within FETCH_BUDGET_S. A URL that failed is then refused without another download
    for FAILED_URL_HOLD, or only KNOWN_URL_HOLD if it has validated before (bounded too).
    At most UNKNOWN_DOWNLOADS downloads of never-validated URLs run at once; one more is
    refused at once (not held: the URL did not fail).

    `sleep` and `monotonic` pace the retry (tests inject them); `clock` is the wall clock
    for dates, timestamps and the holds.
    """

    def __init__(
        self,
        trust_anchors: Sequence[x509.Certificate] | None = None,
        fetcher: Fetcher | None = None,
        clock: Clock | None = None,
        cache_size: int = 8,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        anchors = list(trust_anchors) if trust_anchors is not None else default_trust_anchors()
        if not anchors:
            raise ValueError("at least one trust anchor is needed")
        self._store = Store(anchors)
        self._fetch: Callable[[str, float], bytes] = (
            fetch_certificate_chain if fetcher is None else (lambda url, _timeout: fetcher(url))
        )
        self._clock = clock or utc_now
        self._sleep = sleep
        self._monotonic = monotonic
        self._cache: OrderedDict[str, _Verified] = OrderedDict()
        self._cache_size = cache_size
        self._failed: OrderedDict[str, datetime] = OrderedDict()  # URL -> refused until
        self._known: OrderedDict[str, None] = OrderedDict()  # URLs that validated before
        self._lock = threading.Lock()  # threaded servers share one verifier
        self._unknown_slots = threading.BoundedSemaphore(UNKNOWN_DOWNLOADS)

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
            known = url in self._known
        # URLs never seen to work share UNKNOWN_DOWNLOADS slots: requests naming made-up URLs
        # cannot keep every thread of the server downloading. A known URL never waits here.
        slots = None if known else self._unknown_slots
        if slots is not None and not slots.acquire(blocking=False):
            raise VerificationException("certificate chain not fetched: downloads busy")
        try:
            verified = self._validate_chain(self._download(url), now)
        except VerificationException:
            with self._lock:
                hold = KNOWN_URL_HOLD if known else FAILED_URL_HOLD
                self._failed[url] = now + hold
                self._failed.move_to_end(url)
                while len(self._failed) > FAILED_URLS_KEPT:
                    self._failed.popitem(last=False)
            raise
        finally:
            if slots is not None:
                slots.release()
        with self._lock:
            self._failed.pop(url, None)
            self._known[url] = None
            self._known.move_to_end(url)
            while len(self._known) > KNOWN_URLS_KEPT:
                self._known.popitem(last=False)
            self._cache[url] = verified
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return verified.key

    def _download(self, url: str) -> bytes:
        deadline = self._monotonic() + FETCH_BUDGET_S
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            try:
                return self._fetch(url, max(0.1, deadline - self._monotonic()))
            except CertificateFetchError as error:
                failure, transient = str(error), error.transient
            except Exception as error:  # an injected or future fetcher failing otherwise
                failure, transient = f"certificate chain not fetched: {type(error).__name__}", True
            # Try again only if the pause and a useful attempt still fit in the budget.
            left = deadline - self._monotonic() - FETCH_RETRY_DELAY_S
            if not transient or attempt == FETCH_ATTEMPTS or left < FETCH_RETRY_DELAY_S:
                break
            self._sleep(FETCH_RETRY_DELAY_S)
        raise VerificationException(failure)

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
            # Web PKI rules: chain to an anchor, dates, key usage, and a SAN matching
            # echo-api.amazon.com (no CN fallback; RFC 6125 wildcards, refused below).
            .build_server_verifier(x509.DNSName(SIGNING_NAME))
        )
        try:
            chain = verifier.verify(leaf, intermediates)
        except VerificationError as error:
            raise VerificationException(f"certificate chain not trusted: {error}") from error
        # RFC 6125 lets *.amazon.com match above; Amazon's rule is the exact name.
        if SIGNING_NAME not in _san_dns_names(leaf):
            raise VerificationException(
                "certificate subjectAltName does not name echo-api.amazon.com exactly"
            )
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
        # The same rule as the Lambda path (envelope.py), on the raw JSON the signature covers.
        try:
            raw = json.loads(serialized_request_env)
        except ValueError:  # the web service parsed it already; never reached
            raw = None
        reason = foreign(raw, self._ids)
        if reason:
            raise VerificationException(reason)
