"""The Lambda entry point: what a cold start imports, with and without SnapStart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

PROBE = (
    "import sys, cramp_coach.hosting.lambda_entry as e;"
    "print(json.dumps({'sdk': 'botocore' in sys.modules, 'handler': callable(e.handler)}))"
)


def _import_entry(**env: str) -> dict[str, bool]:
    environment = {
        **os.environ,
        "CRAMP_STORE": "dynamodb",
        "CRAMP_TABLE": "cramp-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        **env,
    }
    if "AWS_LAMBDA_INITIALIZATION_TYPE" not in env:
        environment.pop("AWS_LAMBDA_INITIALIZATION_TYPE", None)
    for name in [name for name, value in environment.items() if value == ""]:
        del environment[name]  # "" here means: not set in this environment
    out = subprocess.run(
        [sys.executable, "-c", "import json;" + PROBE],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "store not prepared" not in out.stderr  # a failed preparation is logged there
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_a_plain_cold_start_does_not_import_the_aws_sdk() -> None:
    assert _import_entry() == {"sdk": False, "handler": True}


@pytest.fixture
def container_credentials() -> Iterator[str]:
    """What SnapStart gives a function instead of keys: a loopback credentials endpoint."""
    body = json.dumps(
        {
            "AccessKeyId": "ASIATEST",
            "SecretAccessKey": "test",
            "Token": "test",
            "Expiration": "2099-01-01T00:00:00Z",
        }
    ).encode()

    class Credentials(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.headers["Authorization"] == "token" else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Credentials)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/creds"
    finally:
        server.shutdown()
        server.server_close()


def test_a_snapstart_init_prepares_the_dynamodb_client_for_the_snapshot(
    container_credentials: str,
) -> None:
    """No keys in the environment under SnapStart: boto3 (container credentials) is built in
    the init, so the snapshot holds it and restored starts do not pay for it."""
    assert _import_entry(
        AWS_LAMBDA_INITIALIZATION_TYPE="snap-start",
        AWS_ACCESS_KEY_ID="",
        AWS_SECRET_ACCESS_KEY="",
        AWS_CONTAINER_CREDENTIALS_FULL_URI=container_credentials,
        AWS_CONTAINER_AUTHORIZATION_TOKEN="token",
    ) == {"sdk": True, "handler": True}


def test_the_handler_answers_a_real_envelope(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAMP_STORE", "none")  # read when the store is first needed
    from cramp_coach.hosting.lambda_entry import handler
    from cramp_coach.hosting.local.envelopes import Session

    response = handler(Session().launch(1_795_230_000.0), None)
    assert "Which muscle is cramping?" in response["response"]["outputSpeech"]["ssml"]


def test_an_empty_salt_in_lambda_is_a_startup_error() -> None:
    """Never the public local salt in AWS: the init fails with a message that says why."""
    environment = {**os.environ, "CRAMP_STORE": "none", "AWS_LAMBDA_FUNCTION_NAME": "cramp-skill"}
    environment.pop("CRAMP_USER_SALT", None)
    out = subprocess.run(
        [sys.executable, "-c", "import cramp_coach.hosting.lambda_entry"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "ConfigurationError: CRAMP_USER_SALT is empty in AWS Lambda" in out.stderr
    environment["CRAMP_USER_SALT"] = ""
    out = subprocess.run(
        [sys.executable, "-c", "import cramp_coach.hosting.lambda_entry"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "CRAMP_USER_SALT is empty" in out.stderr


def test_the_salt_keys_users_in_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    from cramp_coach.memory import DEFAULT_SALT, ConfigurationError, user_key

    monkeypatch.delenv("CRAMP_USER_SALT", raising=False)
    local = user_key("amzn1.ask.account.X")  # outside Lambda: the local default
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "cramp-skill")
    with pytest.raises(ConfigurationError):
        user_key("amzn1.ask.account.X")
    monkeypatch.setenv("CRAMP_USER_SALT", "s3cret-salt")
    assert user_key("amzn1.ask.account.X") not in (local, "amzn1.ask.account.X")
    assert DEFAULT_SALT not in user_key("amzn1.ask.account.X")
