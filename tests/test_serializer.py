"""The skill's envelope serializer reads every envelope exactly as ask-sdk-core's own does.

`EnvelopeSerializer` only remembers the model classes it resolved and reads Alexa's timestamp
shape with the standard library; it must give the same models, the same instants, and the same
errors as DefaultSerializer for anything else.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model.request_envelope import RequestEnvelope

from cramp_coach.alexa.serializer import EnvelopeSerializer
from cramp_coach.alexa.skill import build_skill
from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.memory import NullStore

T0 = 1_795_230_000.0


def envelopes() -> list[dict[str, Any]]:
    slots = {"muscle": ("calf", "CALF"), "helper": ("her", "PARTNER")}
    return [
        Session().launch(T0),
        Session().intent("CrampIntent", T0, slots),
        Session().intent("SymptomIntent", T0 + 20, {"symptom": ("swollen", "RF_DVT")}),
        Session().session_ended(T0 + 40),
        Session().skill_disabled(T0 + 60),
    ]


def with_timestamp(stamp: Any) -> str:
    envelope = Session().launch(T0)
    envelope["request"]["timestamp"] = stamp
    return json.dumps(envelope)


def test_the_sdk_still_has_the_two_hooks() -> None:
    # Renamed in an SDK upgrade, the overrides would quietly stop applying.
    assert callable(getattr(DefaultSerializer, "_DefaultSerializer__load_class_from_name", None))
    assert callable(getattr(DefaultSerializer, "_DefaultSerializer__deserialize_datetime", None))


def test_the_skill_reads_with_it() -> None:
    assert isinstance(build_skill(store_factory=NullStore).serializer, EnvelopeSerializer)


@pytest.mark.parametrize("index", range(5))
def test_the_same_models_as_the_sdk(index: int) -> None:
    payload = json.dumps(envelopes()[index])
    ours = EnvelopeSerializer().deserialize(payload, RequestEnvelope)
    sdk = DefaultSerializer().deserialize(payload, RequestEnvelope)
    assert ours == sdk
    assert ours.request.timestamp.timestamp() == sdk.request.timestamp.timestamp()
    assert EnvelopeSerializer().serialize(ours) == DefaultSerializer().serialize(sdk)


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-11-21T03:00:00Z",  # Alexa's shape: the standard library
        "2026-11-21T03:00:00.250Z",  # the others: the SDK's parser
        "2026-11-21T03:00:00+01:00",
        "2026-11-21 03:00:00",
        "2026-11-21",
    ],
)
def test_the_same_instant(stamp: str) -> None:
    ours = EnvelopeSerializer().deserialize(with_timestamp(stamp), RequestEnvelope)
    sdk = DefaultSerializer().deserialize(with_timestamp(stamp), RequestEnvelope)
    assert ours.request.timestamp == sdk.request.timestamp
    assert ours.request.timestamp.utcoffset() == sdk.request.timestamp.utcoffset()


def test_alexas_shape_is_read_in_utc() -> None:
    read = EnvelopeSerializer().deserialize(with_timestamp("2026-11-21T03:00:00Z"), RequestEnvelope)
    assert read.request.timestamp == datetime(2026, 11, 21, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    "stamp", ["2026-11-21T24:00:00Z", "2026-02-30T03:00:00Z", "2026-11-21T03:00:60Z", "soon"]
)
def test_the_same_errors(stamp: str) -> None:
    for serializer in (EnvelopeSerializer(), DefaultSerializer()):
        with pytest.raises(SerializationException):
            serializer.deserialize(with_timestamp(stamp), RequestEnvelope)


def test_an_unknown_model_class_is_still_an_error() -> None:
    with pytest.raises(SerializationException):
        EnvelopeSerializer().deserialize("{}", "ask_sdk_model.no_such_module.Nothing")
