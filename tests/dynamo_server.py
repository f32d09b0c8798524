"""A real DynamoDB-compatible server on loopback for the persistence tests, and fault servers.

moto's server runs in a thread on 127.0.0.1 (no in-process mock: every call goes over HTTP
through the store's real client, timeouts and retries included). Test modules import the
fixtures they use:

    from tests.dynamo_server import moto_server  # noqa: F401

Every store reaches it through boto3, the one production DynamoDB client.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from moto.server import ThreadedMotoServer

from cramp_coach.hosting.local.loopback import free_port
from cramp_coach.memory.dynamodb_calls import table_definition

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


# A developer's own settings must not steer the tests' clients.
UNSET_FOR_TESTS = (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
)


class LoopbackMoto:
    """moto's server on 127.0.0.1 that can be stopped (port refuses) and started again.

    The tables live in moto's in-process backend, so they survive a stop/start on the port.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is None:
            return
        inner = self._server._server  # close the listening socket too: connections are refused
        self._server.stop()
        if inner is not None:
            inner.server_close()
        self._server = None


def admin_client(endpoint: str) -> Any:
    """A plain client for test set-up and inspection (table admin is not the skill's job)."""
    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def create_table(endpoint: str, name: str | None = None) -> str:
    """The table of template.yaml: pk S HASH, sk S RANGE, on demand, TTL on expires_at."""
    name = name or f"cramp-{uuid.uuid4().hex[:8]}"
    client = admin_client(endpoint)
    client.create_table(**table_definition(name))
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True},
    )
    return name


def items_of(endpoint: str, table: str, pk: str) -> list[dict[str, Any]]:
    """Every raw item of one user (paginated), straight from the server."""
    client = admin_client(endpoint)
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "ConsistentRead": True,
    }
    found: list[dict[str, Any]] = []
    while True:
        page = client.query(**kwargs)
        found += page["Items"]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[LoopbackMoto]:
    """One loopback moto server for the whole session, with fake credentials in the env."""
    saved = {k: os.environ.get(k) for k in (*FAKE_AWS_ENV, *UNSET_FOR_TESTS)}
    os.environ.update(FAKE_AWS_ENV)
    for k in UNSET_FOR_TESTS:
        os.environ.pop(k, None)
    server = LoopbackMoto()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class FaultServer:
    """A loopback HTTP server that answers DynamoDB calls badly.

    mode "throttle": 400 ProvisionedThroughputExceededException at once;
    mode "hang": reads the request and never answers (until closed);
    mode "badcrc": 200 with a body whose x-amz-crc32 header does not match;
    mode "proxy": forwards every call to `upstream` (a moto server) untouched, unless
    `failing` is set, when it throttles like mode "throttle".
    """

    def __init__(self, mode: str, upstream: str | None = None) -> None:
        self.mode = mode
        self.requests = 0
        self.failing = mode != "proxy"
        self.seen_headers: list[dict[str, str]] = []
        self.peers: list[tuple[str, int]] = []  # the client's address per request
        self._release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                outer.requests += 1
                outer.seen_headers.append(dict(self.headers.items()))
                outer.peers.append(self.client_address[:2])
                if outer.mode == "hang":
                    outer._release.wait(30)
                    self.close_connection = True
                    return
                if outer.mode == "badcrc":
                    self.answer(200, b"{}", {"x-amz-crc32": "12345"})
                elif outer.mode == "proxy" and not outer.failing:
                    self.forward(body)
                else:
                    self.answer(400, THROTTLED, {})

            def answer(self, status: int, body: bytes, extra: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(body)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def forward(self, body: bytes) -> None:
                assert upstream is not None
                target = urlsplit(upstream)
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
                try:
                    names = ("Content-Type", "X-Amz-Target", "X-Amz-Date", "Authorization")
                    headers = {n: self.headers[n] for n in names if self.headers[n]}
                    conn.request("POST", "/", body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    crc = response.getheader("x-amz-crc32")
                    self.answer(response.status, data, {"x-amz-crc32": crc} if crc else {})
                finally:
                    conn.close()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()


THROTTLED = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    }
).encode()


@contextlib.contextmanager
def fault_server(mode: str, upstream: str | None = None) -> Iterator[FaultServer]:
    server = FaultServer(mode, upstream)
    try:
        yield server
    finally:
        server.close()
