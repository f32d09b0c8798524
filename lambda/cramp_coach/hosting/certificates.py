"""Amazon's signing certificate: the URL rules, the download and the trust anchors.

Used by `verification.AlexaRequestVerifier`; every limit here keeps a download inside the
turn Alexa waits for (see docs/self-hosting.md).
"""

from __future__ import annotations

import http.client
import logging
import posixpath
import re
import ssl
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

# The SDK imports certvalidator: the shim must be in place first (certvalidator_shim.py).
from cramp_coach.hosting import certvalidator_shim  # noqa: F401

# isort: split
from ask_sdk_webservice_support.verifier import VerificationException
from cryptography import x509

log = logging.getLogger("cramp_coach.hosting.verification")

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
