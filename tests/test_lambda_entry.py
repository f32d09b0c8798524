"""The Lambda entry point: what a cold start imports, with and without SnapStart."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = (
    "import sys, cramp_coach.lambda_entry as e;"
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
    out = subprocess.run(
        [sys.executable, "-c", "import json;" + PROBE],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_a_plain_cold_start_does_not_import_the_aws_sdk() -> None:
    assert _import_entry() == {"sdk": False, "handler": True}


def test_a_snapstart_init_prepares_the_dynamodb_client_for_the_snapshot() -> None:
    assert _import_entry(AWS_LAMBDA_INITIALIZATION_TYPE="snap-start") == {
        "sdk": True,
        "handler": True,
    }


def test_the_handler_answers_a_real_envelope(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAMP_STORE", "none")  # read when the store is first needed
    from cramp_coach.lambda_entry import handler
    from cramp_coach.local.envelopes import Session

    response = handler(Session().launch(1_795_230_000.0), None)
    assert "Which muscle is cramping?" in response["response"]["outputSpeech"]["ssml"]
