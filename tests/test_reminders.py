"""The nightly reminder against a Reminders API of the tests' own, on loopback.

The envelope's context.System.apiEndpoint points at tests/reminders_server.py, which
implements the documented request and response bodies and errors. Checked: the reminder as
sent (daily recurrence at the person's time, the device's time zone, text naming the routine
only), the permission asked by voice and Alexa's answer (granted, denied), "stop reminding
me", a calm answer to every documented error, and that no call can outlast the turn.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cramp_coach.alexa import api_client, reminder_requests
from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import Content
from cramp_coach.memory import NullStore
from tests.conftest import Conversation, Turn
from tests.reminders_server import TOKEN, Plan, RemindersServer, check_reminder_request

SCOPE = reminder_requests.SCOPE


@pytest.fixture
def server() -> Iterator[RemindersServer]:
    running = RemindersServer().start()
    try:
        yield running
    finally:
        running.stop()


def _talk(server: RemindersServer, locale: str = "en-GB", granted: bool = True) -> Conversation:
    talk = Conversation(build_skill(store_factory=NullStore))
    talk.session.locale = locale
    talk.session.api_endpoint = server.url
    talk.session.api_access_token = TOKEN
    if granted:
        talk.session.scopes = {SCOPE: "GRANTED"}
    return talk


def remind(talk: Conversation, words: str) -> Turn:
    return talk.say("ReminderIntent", time=(words, None))


def directives(turn: Turn) -> list[dict[str, Any]]:
    return list(turn.raw.get("response", {}).get("directives") or [])


def created(server: RemindersServer) -> list[dict[str, Any]]:
    return [b for m, p, b in server.api.received if m == "POST"]


# ------------------------------------------------------------------ creating it
@pytest.mark.parametrize(
    "words,hour,minute,said",
    [
        ("half ten", 22, 30, "ten thirty p.m."),
        ("10:30", 22, 30, "ten thirty p.m."),
        ("22:00", 22, 0, "ten p.m."),
        ("ten", 22, 0, "ten p.m."),
        ("nine forty-five", 21, 45, "nine forty-five p.m."),
    ],
)
def test_every_night_at_the_persons_time_in_the_devices_time_zone(
    server: RemindersServer, content: Content, words: str, hour: int, minute: int, said: str
) -> None:
    talk = _talk(server)
    turn = remind(talk, words)
    assert turn.ended
    assert f"Every night at {said}" in turn.speech, turn.speech
    (body,) = created(server)
    assert check_reminder_request(body) == []
    trigger = body["trigger"]
    assert trigger["type"] == "SCHEDULED_ABSOLUTE"
    assert trigger["timeZoneId"] == "Europe/London"  # the device's, from the Settings API
    (rule,) = trigger["recurrence"]["recurrenceRules"]
    assert rule == f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute};BYSECOND=0;INTERVAL=1"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00:00", trigger["recurrence"]["startDateTime"])
    (spoken,) = body["alertInfo"]["spokenInfo"]["content"]
    assert spoken == {"locale": "en-GB", "text": content.bedtime.reminder_text.text}
    assert body["pushNotification"] == {"status": "ENABLED"}
    # The skill asked the device's time zone, then created the reminder; nothing else.
    paths = [(m, p) for m, p, _ in server.api.received]
    assert paths == [
        ("GET", "/v2/devices/amzn1.ask.device.LOCAL/settings/System.timeZone"),
        ("POST", "/v1/alerts/reminders"),
    ]


def test_without_a_device_time_zone_the_field_is_left_to_alexa(server: RemindersServer) -> None:
    server.api.time_zone = None  # the Settings API answers 204
    turn = remind(_talk(server), "half ten")
    assert "Every night" in turn.speech
    (body,) = created(server)
    assert "timeZoneId" not in body["trigger"] and check_reminder_request(body) == []


def test_without_a_time_the_skill_asks_for_one(server: RemindersServer, content: Content) -> None:
    talk = _talk(server)
    turn = talk.say("ReminderIntent")
    assert turn.speech == content.phrase("reminder_ask_time") and not turn.ended
    assert server.api.received == []
    turn = remind(talk, "half ten")
    assert "Every night at ten thirty p.m." in turn.speech


# ------------------------------------------------------------------ the permission, by voice
def test_permission_asked_by_voice_then_granted_creates_it(
    server: RemindersServer, content: Content
) -> None:
    talk = _talk(server, granted=False)
    turn = remind(talk, "half ten")
    assert turn.speech == content.phrase("reminder_ask_permission")
    (directive,) = directives(turn)
    assert directive["type"] == "Connections.SendRequest" and directive["name"] == "AskFor"
    assert directive["payload"] == {
        "@type": "AskForPermissionsConsentRequest",
        "@version": "2",
        "permissionScopes": [{"permissionScope": SCOPE, "consentLevel": "ACCOUNT"}],
    }
    assert directive["token"] == "bedtime-reminder:22:30"
    assert turn.ended and "reprompt" not in turn.raw["response"]
    assert server.api.received == []  # nothing called before the permission
    # Alexa asks; the person says yes; Alexa sends the skill a Connections.Response.
    talk.now += 20
    answer = talk.send(talk.session.connections_response(talk.now, "ACCEPTED", directive["token"]))
    assert "Every night at ten thirty p.m." in answer.speech and answer.ended
    (body,) = created(server)
    assert body["trigger"]["recurrence"]["recurrenceRules"][0].startswith(
        "FREQ=DAILY;BYHOUR=22;BYMINUTE=30"
    )


@pytest.mark.parametrize("status", ["DENIED", "NOT_ANSWERED"])
def test_permission_denied_is_a_calm_no(
    server: RemindersServer, content: Content, status: str
) -> None:
    talk = _talk(server, granted=False)
    turn = remind(talk, "ten")
    token = directives(turn)[0]["token"]
    talk.now += 20
    answer = talk.send(talk.session.connections_response(talk.now, status, token))
    assert answer.speech == content.phrase("reminder_denied") and answer.ended
    assert created(server) == []


def test_a_token_that_is_not_ours_creates_nothing(server: RemindersServer) -> None:
    talk = _talk(server, granted=False)
    talk.now += 5
    answer = talk.send(talk.session.connections_response(talk.now, "ACCEPTED", "25:99"))
    assert "Every night" not in answer.speech and created(server) == []


# ------------------------------------------------------------------ stop reminding me
def test_stop_reminding_me_finds_the_skills_reminders_and_deletes_them(
    server: RemindersServer, content: Content
) -> None:
    talk = _talk(server)
    remind(talk, "half ten")
    talk.session.restart()
    remind(talk, "ten")
    talk.session.restart()
    assert len(server.api.reminders) == 2
    turn = talk.say("StopReminderIntent")
    assert turn.speech == content.phrase("reminder_cancelled") and turn.ended
    assert server.api.reminders == {}
    methods = [m for m, p, _ in server.api.received if "alerts" in p]
    assert methods[-3:] == ["GET", "DELETE", "DELETE"]
    talk.session.restart()
    again = talk.say("StopReminderIntent")
    assert again.speech == content.phrase("reminder_none")


# ------------------------------------------------------------------ every documented error
@pytest.mark.parametrize(
    "status,code,key",
    [
        (400, "INVALID_REQUEST", "reminder_bad_time"),
        (401, "UNAUTHORIZED", "reminder_no_permission"),
        (403, "FORBIDDEN", "reminder_no_permission"),
        (403, "MAX_REMINDERS_EXCEEDED", "reminder_limit"),
        (400, "MAX_REMINDERS_EXCEEDED", "reminder_limit"),
        (429, "TOO_MANY_REQUESTS", "reminder_down"),
        (500, "INTERNAL_SERVER_ERROR", "reminder_down"),
        (503, "SERVICE_UNAVAILABLE", "reminder_down"),
        (504, "GATEWAY_TIMEOUT", "reminder_down"),
    ],
)
def test_each_error_of_create_gets_a_calm_answer(
    server: RemindersServer, content: Content, status: int, code: str, key: str
) -> None:
    server.api.plans = [Plan(), Plan(status, code)]  # the time zone answers; the create fails
    turn = remind(_talk(server), "half ten")
    assert turn.speech == content.phrase(key), turn.speech
    if key == "reminder_bad_time":
        assert not turn.ended and turn.reprompt  # asks for a time again
    else:
        assert turn.ended
    assert server.api.reminders == {}


@pytest.mark.parametrize("status", [401, 429, 500, 503])
def test_each_error_of_cancel_gets_a_calm_answer(
    server: RemindersServer, content: Content, status: int
) -> None:
    talk = _talk(server)
    remind(talk, "half ten")
    talk.session.restart()
    server.api.plans = [Plan(status, "ERROR")]
    turn = talk.say("StopReminderIntent")
    expected = "reminder_none" if status == 401 else "reminder_cancel_down"
    assert turn.speech == content.phrase(expected) and turn.ended


def test_a_service_that_answers_html_is_down_not_a_crash(
    server: RemindersServer, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    talk = _talk(server)
    talk.session.api_endpoint = server.url + "/nowhere"  # 404 with a body of its own shape
    turn = remind(talk, "half ten")
    assert turn.speech in (content.phrase("reminder_down"), content.phrase("reminder_bad_time"))


def test_nothing_listening_is_down(content: Content) -> None:
    talk = Conversation(build_skill(store_factory=NullStore))
    talk.session.api_endpoint = "http://127.0.0.1:9"  # discard port: refused
    talk.session.api_access_token = TOKEN
    talk.session.scopes = {SCOPE: "GRANTED"}
    turn = remind(talk, "half ten")
    assert turn.speech == content.phrase("reminder_down")


# ------------------------------------------------------------------ bounded in time
@pytest.mark.parametrize("plan", [Plan(hang_s=4.0), Plan(trickle=True)])
def test_a_hanging_or_trickling_api_cannot_outlast_the_turn(
    server: RemindersServer, content: Content, monkeypatch: pytest.MonkeyPatch, plan: Plan
) -> None:
    monkeypatch.setattr(api_client, "REMINDER_BUDGET_S", 1.0)
    server.api.plans = [Plan(), plan]  # the create call hangs, or its answer trickles
    talk = _talk(server)
    started = time.monotonic()
    turn = remind(talk, "half ten")
    took = time.monotonic() - started
    assert took < 1.8, f"{took:.2f} s"
    assert turn.speech == content.phrase("reminder_down")


def test_the_budget_covers_every_call_of_the_turn(
    server: RemindersServer, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_client, "REMINDER_BUDGET_S", 1.0)
    talk = _talk(server)
    remind(talk, "half ten")
    talk.session.restart()
    remind(talk, "ten")
    talk.session.restart()
    # Each call alone would fit the budget; together they do not: the second is cut off.
    server.api.plans = [Plan(hang_s=0.6), Plan(hang_s=0.6)]
    started = time.monotonic()
    turn = talk.say("StopReminderIntent")
    assert time.monotonic() - started < 1.8
    assert turn.speech == content.phrase("reminder_cancel_down")


# ------------------------------------------------------------------ five locales
@pytest.mark.parametrize("locale", ["en-US", "en-CA", "en-GB", "en-AU", "en-IN"])
def test_in_every_locale_the_reminder_speaks_the_locale(
    server: RemindersServer, locale: str
) -> None:
    turn = remind(_talk(server, locale=locale), "half ten")
    assert "Every night at ten thirty p.m." in turn.speech
    (body,) = created(server)
    assert body["alertInfo"]["spokenInfo"]["content"][0]["locale"] == locale


def test_a_zone_this_runtime_does_not_know_is_still_sent_as_alexa_gave_it(
    server: RemindersServer,
) -> None:
    """Lambda's Amazon Linux 2023 may lack the tz database: the zone goes to the API anyway,
    and the start date is taken from UTC."""
    server.api.time_zone = "Nowhere/Unknown_Zone"
    turn = remind(_talk(server), "half ten")
    assert "Every night" in turn.speech
    (body,) = created(server)
    assert body["trigger"]["timeZoneId"] == "Nowhere/Unknown_Zone"
    assert check_reminder_request(body) == []
