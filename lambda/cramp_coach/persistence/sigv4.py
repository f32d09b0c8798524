"""AWS Signature Version 4 for the one request shape DynamoHttpClient sends.

Every DynamoDB JSON API call is a POST of a JSON body with no query string, so the canonical
request here has an empty query and signs every header it is given. The steps are those of
the SigV4 specification: canonical request -> string to sign -> HMAC key chain -> signature.
tests/test_dynamodb_http.py checks the result against botocore's signer and against a server
that verifies signatures (moto with IAM authentication on).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def credentials_from_env() -> Credentials | None:
    """The keys Lambda (without SnapStart) and most CI systems put in the environment."""
    key_id = os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key_id or not secret:
        return None
    return Credentials(key_id, secret, os.environ.get("AWS_SESSION_TOKEN") or None)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC chain over date, region, service and "aws4_request"."""
    key = _hmac(f"AWS4{secret}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def authorization(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    region: str,
    service: str,
    amz_date: str,
) -> str:
    """The Authorization header for a request without a query string.

    `headers` are the headers to sign (host and x-amz-date among them), names in any case;
    `amz_date` is the request's X-Amz-Date value (YYYYMMDDTHHMMSSZ).
    """
    if not path.startswith("/") or "?" in path:
        raise ValueError("path must be absolute and carry no query string")
    # Names in lower case, values trimmed with inner runs of spaces collapsed, sorted by name.
    canonical_headers = sorted(
        (name.lower(), " ".join(value.split())) for name, value in headers.items()
    )
    signed = ";".join(name for name, _ in canonical_headers)
    canonical_request = "\n".join(
        [
            method.upper(),
            path,
            "",  # the canonical query string: none
            "".join(f"{name}:{value}\n" for name, value in canonical_headers),
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    key = signing_key(credentials.secret_access_key, date, region, service)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
