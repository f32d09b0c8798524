"""Signed Alexa requests for the web-service benchmarks (and the tests that borrow them).

``make_pki`` writes a throw-away PKI into a folder: a root CA (root.pem, the only trust
anchor the server is given) and a leaf for echo-api.amazon.com (chain.pem, what the server
"downloads" from CERT_URL); it returns the leaf's private key. ``signed_pool`` signs fresh
envelopes (launch, cramp intent, next) with that key, as Alexa signs its requests.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SKILL_ID = "amzn1.ask.skill.bench-0000"
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-bench.pem"


def make_pki(directory: Path) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    usage = dict(
        content_commitment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = (
        x509.CertificateBuilder()
        .subject_name(name("Bench Root"))
        .issuer_name(name("Bench Root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                key_encipherment=False,
                key_cert_sign=True,
                crl_sign=True,
                **usage,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("echo-api.amazon.com"))
        .issuer_name(root.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("echo-api.amazon.com")]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                key_cert_sign=False,
                crl_sign=False,
                **usage,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "root.pem").write_bytes(root.public_bytes(pem))
    (directory / "chain.pem").write_bytes(leaf.public_bytes(pem) + root.public_bytes(pem))
    return leaf_key


def signed_pool(leaf_key: Any, size: int) -> list[tuple[bytes, dict[str, str]]]:
    """Fresh signed requests (timestamps now; Alexa itself may resend within 150 s)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from cramp_coach.hosting.local.envelopes import Session

    now = time.time()
    pool = []
    for i in range(size):
        session = Session(skill_id=SKILL_ID)
        envelope = [
            session.launch(now),
            session.intent(
                "CrampIntent", now, {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
            ),
            session.intent("AMAZON.NextIntent", now),
        ][i % 3]
        body = json.dumps(envelope).encode()
        signature = base64.b64encode(leaf_key.sign(body, padding.PKCS1v15(), hashes.SHA256()))
        pool.append(
            (
                body,
                {
                    "Content-Type": "application/json",
                    "SignatureCertChainUrl": CERT_URL,
                    "Signature-256": signature.decode(),
                },
            )
        )
    return pool
