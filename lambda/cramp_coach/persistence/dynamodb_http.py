"""A small DynamoDB client on the standard library: the JSON API over http.client, SigV4-signed.

Why it exists: creating any boto3 or botocore client costs about 150 ms of imports and model
loading, and a cold launch pays it before saying a word (the launch reads the profile to offer
a resume). DynamoStore calls six operations, and DynamoDB's JSON API takes exactly boto3's
client parameters, so each call here is one signed POST with X-Amz-Target set.

make_client (dynamodb.py) uses it only where that is safe: keys in the environment, as Lambda
gives them without SnapStart, and a region of the standard, China or GovCloud partitions.
Everywhere else (profiles, SSO, container credentials under SnapStart, FIPS) boto3 is used.

It behaves like the boto3 client DynamoStore configures: 1 s connect and read timeouts, two
attempts with a short jittered pause for throttling, 5xx answers, broken connections and a
CRC32 mismatch; a failure raises DynamoHttpError with the service's error code only.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from cramp_coach.persistence.sigv4 import Credentials, authorization, credentials_from_env

SERVICE = "dynamodb"
TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
USER_AGENT = "cramp-coach-dynamodb-http/1"
# Error codes worth one more try (the rest, e.g. ValidationException, will fail again).
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
        "CRC32Mismatch",
    }
)
MAX_PAUSE_S = 0.2  # full jitter before the retry: a throttled turn still speaks promptly


class DynamoHttpError(Exception):
    """A failed call: the operation, the service's error code and the HTTP status (0: none)."""

    def __init__(self, operation: str, code: str, status: int) -> None:
        super().__init__(f"{operation} failed: {code} (HTTP {status})")
        self.operation = operation
        self.code = code
        self.status = status


def endpoint_for(region: str) -> str | None:
    """The public DynamoDB endpoint of a region, or None for a partition this client skips."""
    if re.fullmatch(r"cn-[a-z]+-\d+", region):
        return f"https://dynamodb.{region}.amazonaws.com.cn"
    if re.fullmatch(r"(us-gov|[a-z]{2})-[a-z]+-\d+", region):
        return f"https://dynamodb.{region}.amazonaws.com"
    return None  # ISO, sovereign or unknown partitions: boto3 knows their endpoints


def _error_code(body: bytes, status: int) -> str:
    """The short code of a DynamoDB error body ('...#ThrottlingException' -> the last part)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    kind = parsed.get("__type") if isinstance(parsed, dict) else None
    if isinstance(kind, str) and kind:
        return kind.rsplit("#", 1)[-1]
    # DynamoDB answers in JSON; compatible servers (moto) refuse authentication in AWS's XML.
    xml_code = re.search(rb"<Code>([A-Za-z0-9.]{1,64})</Code>", body)
    if xml_code:
        return xml_code.group(1).decode("ascii")
    return f"HTTP{status}"


class DynamoHttpClient:
    """The subset of boto3's DynamoDB client that DynamoStore uses, same names and shapes.

    Thread-safe: each thread keeps its own keep-alive connection.
    """

    def __init__(
        self,
        region: str,
        endpoint_url: str | None = None,
        *,
        credentials: Callable[[], Credentials | None] = credentials_from_env,
        timeout_s: float = 1.0,
        attempts: int = 2,
    ) -> None:
        url = endpoint_url or endpoint_for(region)
        if url is None:
            raise ValueError(f"no DynamoDB endpoint known for region {region!r}")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the DynamoDB endpoint must be an http or https URL")
        self.region = region
        self._https = parts.scheme == "https"
        self._hostname = parts.hostname
        self._port = parts.port
        # The Host header as sent and signed: the port only when it is not the default one.
        self._host = parts.netloc.rsplit("@", 1)[-1]
        self._path = parts.path or "/"
        self._credentials = credentials
        self._timeout_s = timeout_s
        self._attempts = max(1, attempts)
        self._local = threading.local()

    # ------------------------------------------------------------------ boto3-shaped calls
    def query(self, **params: Any) -> dict[str, Any]:
        return self.call("Query", params)

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self.call("GetItem", params)

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self.call("PutItem", params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self.call("UpdateItem", params)

    def delete_item(self, **params: Any) -> dict[str, Any]:
        return self.call("DeleteItem", params)

    def batch_write_item(self, **params: Any) -> dict[str, Any]:
        return self.call("BatchWriteItem", params)

    # ------------------------------------------------------------------ the wire
    def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One operation, retried once when a retry can help; DynamoHttpError otherwise."""
        body = json.dumps(params, separators=(",", ":")).encode("utf-8")
        failure = DynamoHttpError(operation, "NotAttempted", 0)
        for attempt in range(1, self._attempts + 1):
            if attempt > 1:
                time.sleep(random.uniform(0, MAX_PAUSE_S))
            try:
                status, data, crc32 = self._post(operation, body)
            except (OSError, http.client.HTTPException) as exc:
                # Refused, reset, timed out, or a keep-alive connection the server had closed.
                self._drop_connection()
                failure = DynamoHttpError(operation, type(exc).__name__, 0)
                continue
            if crc32 is not None and crc32.isdigit() and zlib.crc32(data) != int(crc32):
                failure = DynamoHttpError(operation, "CRC32Mismatch", status)
                continue
            if status == 200:
                try:
                    result = json.loads(data) if data else {}
                except ValueError:
                    raise DynamoHttpError(operation, "InvalidResponse", status) from None
                if not isinstance(result, dict):
                    raise DynamoHttpError(operation, "InvalidResponse", status)
                return result
            failure = DynamoHttpError(operation, _error_code(data, status), status)
            if status < 500 and failure.code not in RETRYABLE_CODES:
                raise failure
        raise failure

    def _post(self, operation: str, body: bytes) -> tuple[int, bytes, str | None]:
        credentials = self._credentials()
        if credentials is None:
            raise DynamoHttpError(operation, "NoCredentials", 0)
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Host": self._host,
            "X-Amz-Date": amz_date,
            "X-Amz-Target": TARGET_PREFIX + operation,
        }
        if credentials.session_token:
            headers["X-Amz-Security-Token"] = credentials.session_token
        headers["Authorization"] = authorization(
            method="POST",
            path=self._path,
            headers=headers,
            body=body,
            credentials=credentials,
            region=self.region,
            service=SERVICE,
            amz_date=amz_date,
        )
        headers["User-Agent"] = USER_AGENT  # not signed, as botocore leaves it unsigned too
        connection = self._connection()
        connection.request("POST", self._path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, data, response.getheader("x-amz-crc32")

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._https:
                connection = http.client.HTTPSConnection(
                    self._hostname, self._port, timeout=self._timeout_s, context=_tls_context()
                )
            else:
                connection = http.client.HTTPConnection(
                    self._hostname, self._port, timeout=self._timeout_s
                )
            self._local.connection = connection
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()


_tls: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    """Certificate-verifying TLS (the system's CA store, or AWS_CA_BUNDLE if set), built once."""
    global _tls
    if _tls is None:
        _tls = ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or None)
    return _tls
