"""Alexa request verification for the self-hosted web service, with `cryptography` only.

The SDK's own verifier needs certvalidator and oscrypto, which fail to import on OpenSSL
versions with a two-digit patch number (certvalidator_shim.py says why and how that is
avoided). `AlexaRequestVerifier` makes Amazon's documented checks instead: the certificate
URL rules, the chain to a trust store for ``echo-api.amazon.com``, validity dates,
SHA256withRSA over the raw body, the timestamp; `SkillIdVerifier` the skill id.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The SDK imports certvalidator: the shim must be in place first (certvalidator_shim.py).
from cramp_coach.hosting import certvalidator_shim  # noqa: F401

# isort: split

from ask_sdk_model.request_envelope import RequestEnvelope
from ask_sdk_webservice_support.verifier import (
    AbstractVerifier,
    VerificationException,
)
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509.verification import (
    PolicyBuilder,
    Store,
    VerificationError,
)

from cramp_coach.alexa.envelope import foreign
from cramp_coach.hosting.certificates import (
    CERT_URL_HEADER,
    CERT_URL_HOST,
    FAILED_URL_HOLD,
    FAILED_URLS_KEPT,
    FETCH_ATTEMPTS,
    FETCH_BUDGET_S,
    FETCH_RETRY_DELAY_S,
    KNOWN_URL_HOLD,
    KNOWN_URLS_KEPT,
    SIGNATURE_HEADER,
    SIGNING_NAME,
    SKILL_EVENT_TOLERANCE,
    TIMESTAMP_TOLERANCE,
    UNKNOWN_DOWNLOADS,
    CertificateFetchError,
    Clock,
    Fetcher,
    TrustAnchors,
    check_cert_url,
    default_trust_anchors,
    fetch_certificate_chain,
    load_trust_anchors,
    utc_now,
)

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

log = logging.getLogger("cramp_coach.hosting.verification")


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
