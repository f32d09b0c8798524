"""A DynamoDB client without the AWS SDK: the JSON API over http.client, signed with SigV4.

DynamoStore calls only query, put_item, update_item and batch_write_item with low-level
attribute values, and DynamoDB's JSON API takes exactly boto3's client parameter names, so
each method is one signed POST (X-Amz-Target: DynamoDB_20120810.<Operation>). Credentials
come from the environment, where Lambda puts the function role's keys. Prototype quality:
one retry on 5xx, throttling and broken connections; errors raise SigV4ClientError carrying
the service's error code.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import time
from typing import Any
from urllib.parse import urlsplit

SERVICE = "dynamodb"
RETRYABLE = ("ThrottlingException", "ProvisionedThroughputExceededException",
             "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable")


class SigV4ClientError(Exception):
    def __init__(self, code: str, status: int) -> None:
        super().__init__(f"{code} (HTTP {status})")
        self.response = {"Error": {"Code": code}}  # what DynamoStore's error mapping reads


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign(method: str, host: str, path: str, headers: dict[str, str], body: bytes,
         region: str, key_id: str, secret: str, amz_date: str) -> str:
    """The Authorization header value of a SigV4-signed request (no query string)."""
    names = sorted(headers)
    canonical = "\n".join([
        method, path, "",
        "".join(f"{name}:{headers[name].strip()}\n" for name in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{amz_date[:8]}/{region}/{SERVICE}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    signing_key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), amz_date[:8]), region),
                              SERVICE), "aws4_request")
    signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}")


class SigV4DynamoClient:
    def __init__(self, region: str | None = None, endpoint_url: str | None = None,
                 timeout_s: float = 1.0) -> None:
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get(
            "AWS_DEFAULT_REGION") or "us-east-1"
        url = urlsplit(endpoint_url or f"https://dynamodb.{self.region}.amazonaws.com")
        self._https = url.scheme == "https"
        self._host = url.netloc
        self._timeout = timeout_s
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = kind(self._host, timeout=self._timeout)
        return self._conn

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        for attempt in range(2):
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            headers = {
                "content-type": "application/x-amz-json-1.0",
                "host": self._host,
                "x-amz-date": amz_date,
                "x-amz-target": f"DynamoDB_20120810.{operation}",
            }
            token = os.environ.get("AWS_SESSION_TOKEN")
            if token:
                headers["x-amz-security-token"] = token
            headers["authorization"] = sign(
                "POST", self._host, "/", headers, body, self.region,
                os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], amz_date)
            try:
                conn = self._connection()
                conn.request("POST", "/", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                self._conn = None
                if attempt:
                    raise
                continue
            if response.status == 200:
                return json.loads(data) if data else {}
            try:
                code = str(json.loads(data).get("__type", "")).rsplit("#", 1)[-1]
            except ValueError:
                code = ""
            code = code or f"HTTP{response.status}"
            if attempt == 0 and (response.status >= 500 or code in RETRYABLE):
                time.sleep(0.05)
                continue
            raise SigV4ClientError(code, response.status)
        raise SigV4ClientError("RetriesExhausted", 0)

    def query(self, **params: Any) -> dict[str, Any]:
        return self._call("Query", params)

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self._call("GetItem", params)

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self._call("PutItem", params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self._call("UpdateItem", params)

    def delete_item(self, **params: Any) -> dict[str, Any]:
        return self._call("DeleteItem", params)

    def batch_write_item(self, **params: Any) -> dict[str, Any]:
        return self._call("BatchWriteItem", params)
