"""CloudWatch embedded metric format: counts of red flags and routine outcomes, no user data."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from typing import Any

import msgspec
import pytest

from cramp_coach.alexa import metrics
from cramp_coach.alexa.skill import build_skill
from cramp_coach.core import Conversation, Outcome
from cramp_coach.memory import NullStore
from tests.persistence_envelopes import T0, Device

USER = "amzn1.ask.account.METRICSUSER"


def emitted(red_flag: str | None, ended: str | None) -> list[dict[str, Any]]:
    out = io.StringIO()
    metrics.emit_turn(red_flag, ended, stream=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_red_flag_is_one_emf_count_by_id() -> None:
    (doc,) = emitted("RF_DVT", None)
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive == {
        "Namespace": "CrampCoach",
        "Dimensions": [["RedFlag"]],
        "Metrics": [{"Name": "RedFlagRaised", "Unit": "Count"}],
    }
    assert isinstance(doc["_aws"]["Timestamp"], int)
    assert doc["RedFlag"] == "RF_DVT" and doc["RedFlagRaised"] == 1
    assert set(doc) == {"_aws", "RedFlag", "RedFlagRaised"}  # nothing else rides along


@pytest.mark.parametrize("ended", sorted(metrics.OUTCOMES))
def test_every_routine_outcome_is_counted(ended: str) -> None:
    (doc,) = emitted(None, ended)
    assert doc["Outcome"] == ended and doc["RoutineEnded"] == 1
    assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Outcome"]]


@pytest.mark.parametrize("value", ["my calf hurts", "rf_dvt", "RF_", "amzn1.ask.account.X", ""])
def test_free_text_never_becomes_a_dimension(value: str) -> None:
    assert emitted(value, value) == []


def test_nothing_is_printed_outside_lambda(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.delenv("CRAMP_METRICS", raising=False)
    metrics.emit_turn("RF_DVT", "red_flag")
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "cramp-skill")
    assert metrics.enabled()
    monkeypatch.setenv("CRAMP_METRICS", "off")
    assert not metrics.enabled()


def test_the_skill_emits_what_the_core_reports(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After the core returns, the handler writes the turn's records to stdout."""
    real = Conversation.handle

    def reporting(self: Conversation, *args: Any, **kwargs: Any) -> Outcome:
        outcome = real(self, *args, **kwargs)
        return msgspec.structs.replace(outcome, red_flag_raised="RF_DVT", routine_ended="red_flag")

    monkeypatch.setattr(Conversation, "handle", reporting)
    monkeypatch.setenv("CRAMP_METRICS", "emf")
    caplog.set_level(logging.DEBUG, logger="cramp_coach")
    Device(build_skill(store_factory=NullStore), USER).cramp(T0)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert [(d.get("RedFlag"), d.get("Outcome")) for d in lines] == [
        ("RF_DVT", None),
        (None, "red_flag"),
    ]
    everything = (
        json.dumps(lines)
        + caplog.text
        + json.dumps([r.__dict__ for r in caplog.records], default=str)
    )
    assert USER not in everything, everything[everything.find(USER) - 300 :][:400]
    assert "calf" not in everything  # the muscle id (CALF) is fine, the heard word is not


def test_the_emitter_needs_the_standard_library_only() -> None:
    """No dependency: importing metrics.py loads standard-library modules and nothing else."""
    code = (
        "import sys; base = set(sys.modules); import cramp_coach.alexa.metrics;"
        "new = {m.split('.')[0] for m in set(sys.modules) - base} - {'cramp_coach'};"
        "print(sorted(new - set(sys.stdlib_module_names)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": "lambda"},
        timeout=60,
    )
    assert out.stdout.strip() == "[]"
