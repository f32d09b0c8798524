"""The nightly reminder through Alexa's Reminders API: the adapter side of `Outcome.reminder`.

The core decides ("a reminder every night at 22:30", "cancel it") and has a sentence ready for
every result; this module makes the calls with ask-sdk's reminder management service client
(a `ServiceClientFactory` over the request's apiEndpoint and apiAccessToken), asks for the
permission by voice when it is missing (a Connections.SendRequest "AskFor" directive; Alexa
answers with a Connections.Response whose token carries the time asked for), and picks the
sentence. Nothing is stored by the skill:
the reminder lives in the user's Alexa account, and "stop reminding me" finds this skill's
reminders with a GET and deletes them.

Every HTTP call is bounded: all of a turn's reminder calls end by `REMINDER_BUDGET_S` after
the request arrived (turn.py), whatever the server does, so Alexa's 8 s are never at risk.
`requests` and the SDK's reminder models are imported on first use: a cold start that makes
no reminder (nearly all of them) does not load them.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model.services.api_client import ApiClient
from ask_sdk_model.services.api_client_request import ApiClientRequest
from ask_sdk_model.services.api_client_response import ApiClientResponse

from cramp_coach.core import Outcome
from cramp_coach.core.model import Reminder
from cramp_coach.memory import turn

if TYPE_CHECKING:  # imported when a reminder is made: the cold start never pays for them
    from ask_sdk_model.interfaces.connections.send_request_directive import SendRequestDirective
    from ask_sdk_model.services.reminder_management.reminder_request import ReminderRequest

log = logging.getLogger("cramp_coach")

SCOPE = "alexa::alerts:reminders:skill:readwrite"
REMINDER_BUDGET_S = 5.0  # from the request's arrival: every reminder call of the turn
CONNECT_TIMEOUT_S = 1.0
MAX_IN_FLIGHT = 8  # abandoned calls still running; more are refused at once
MAX_DELETES = 10  # a skill's own reminders: "stop reminding me" deletes at most these
TOKEN_PREFIX = "bedtime-reminder:"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_ZONE = re.compile(r"[A-Za-z][A-Za-z_+\-]*(/[A-Za-z0-9_+\-]+){0,2}")  # "America/New_York", "UTC"
_TOKEN = re.compile(r"bedtime-reminder:([01]\d|2[0-3]):([0-5]\d)")


class ReminderCallFailed(Exception):
    """A call did not finish in time, or could not be made."""


def _deadline() -> float:
    return turn.since_arrival(REMINDER_BUDGET_S)


class BoundedApiClient(ApiClient):
    """ask-sdk's ApiClient over `requests`, bounded in time as a whole.

    ask-sdk-core's DefaultApiClient calls `requests` without a timeout, and a timeout in
    `requests` bounds each socket read, not the call: a server that trickles bytes keeps it
    going. Here each call runs on a daemon worker thread and is waited for only until the
    turn's reminder deadline; an abandoned call finishes or fails on its own.
    """

    def __init__(self, deadline: Callable[[], float] = _deadline) -> None:
        self._deadline = deadline
        self._slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._session: Any = None  # a requests.Session, made on the first call

    def _requests_session(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        left = self._deadline() - time.monotonic()
        if left <= 0:
            raise ReminderCallFailed("no time left in this turn")
        url = urlsplit(str(request.url or ""))
        if url.scheme != "https" and url.hostname not in _LOOPBACK:
            raise ReminderCallFailed("only HTTPS (or loopback, for tests)")  # as the SDK's own
        body = request.body
        if body is not None and not isinstance(body, str | bytes):
            body = json.dumps(body)  # the SDK hands over the serialized model, not JSON text
        if not self._slots.acquire(blocking=False):
            raise ReminderCallFailed("too many calls still in flight")
        box: dict[str, Any] = {}
        session = self._requests_session()

        def call() -> None:
            try:
                box["response"] = session.request(
                    request.method,
                    request.url,
                    headers=dict(request.headers or []),
                    data=body,
                    timeout=(min(CONNECT_TIMEOUT_S, left), left),
                    allow_redirects=False,
                )
            except Exception as exc:  # reported to the waiting thread
                box["error"] = exc
            finally:
                self._slots.release()

        worker = threading.Thread(target=call, name="reminders-call", daemon=True)
        worker.start()
        worker.join(left)
        if worker.is_alive():
            raise ReminderCallFailed("the call did not finish in time")
        if "error" in box:
            raise ReminderCallFailed(type(box["error"]).__name__) from box["error"]
        response = box["response"]
        result = ApiClientResponse()
        result.status_code = response.status_code
        result.headers = list(response.headers.items())
        result.body = response.text
        return result


# ---------------------------------------------------------------- reading the request
def granted(handler_input: HandlerInput) -> bool:
    """Whether the request says the user granted the reminders permission."""
    context = handler_input.request_envelope.context
    user = context.system.user if context and context.system else None
    permissions = user.permissions if user else None
    scopes = permissions.scopes if permissions else None
    scope = (scopes or {}).get(SCOPE)
    status = getattr(getattr(scope, "status", None), "value", None)
    return status == "GRANTED"


def token_time(token: Any) -> str | None:
    """The time a permission request was made for ("22:30"), from its token; None if the
    token is not one of ours."""
    match = _TOKEN.fullmatch(str(token or ""))
    return f"{match.group(1)}:{match.group(2)}" if match else None


def permission_directive(reminder: Reminder) -> SendRequestDirective:
    """Ask for the reminders permission by voice (Alexa asks, then sends Connections.Response)."""
    from ask_sdk_model.interfaces.connections.send_request_directive import (
        SendRequestDirective,
    )

    payload: dict[str, object] = {
        "@type": "AskForPermissionsConsentRequest",
        "@version": "2",
        "permissionScopes": [{"permissionScope": SCOPE, "consentLevel": "ACCOUNT"}],
    }
    token = f"{TOKEN_PREFIX}{reminder.hour:02d}:{reminder.minute:02d}"
    return SendRequestDirective(name="AskFor", payload=payload, token=token)


# ---------------------------------------------------------------- the request body
def device_zone(handler_input: HandlerInput, factory: Any = None) -> str | None:
    """The device's time zone (Alexa Settings API, no permission needed), or None.

    Passed on as Alexa gave it when it has the shape of a zone name ("Europe/London"), whether
    or not this runtime has the tz database (Lambda's Amazon Linux 2023 may not).
    """
    from ask_sdk_model.services.service_exception import ServiceException

    try:
        context = handler_input.request_envelope.context
        device = context.system.device if context and context.system else None
        if device is None or factory is None or not device.device_id:
            return None
        zone = factory.get_ups_service().get_system_time_zone(device.device_id)
    except (ServiceException, ReminderCallFailed, ValueError, TypeError):
        return None
    except Exception as exc:  # never in the way of the reminder
        log.info("device time zone not read (%s)", type(exc).__name__)
        return None
    if not isinstance(zone, str) or not _ZONE.fullmatch(zone):
        return None
    return zone


def reminder_request(
    reminder: Reminder, locale: str, zone: str | None, now: datetime | None = None
) -> ReminderRequest:
    """A reminder every day at the hour and minute, in `zone` (None: the device's own).

    Times without an offset, as the API wants: the trigger is local to the time zone. Today's
    date there comes from the tz database when this runtime has it, else from UTC (the daily
    rule sets the time; the start date only has to be about today).
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from ask_sdk_model.services.reminder_management.alert_info import AlertInfo
    from ask_sdk_model.services.reminder_management.push_notification import PushNotification
    from ask_sdk_model.services.reminder_management.push_notification_status import (
        PushNotificationStatus,
    )
    from ask_sdk_model.services.reminder_management.recurrence import Recurrence
    from ask_sdk_model.services.reminder_management.reminder_request import ReminderRequest
    from ask_sdk_model.services.reminder_management.spoken_info import SpokenInfo
    from ask_sdk_model.services.reminder_management.spoken_text import SpokenText
    from ask_sdk_model.services.reminder_management.trigger import Trigger
    from ask_sdk_model.services.reminder_management.trigger_type import TriggerType

    utc = now or datetime.now(UTC)
    try:
        local = utc.astimezone(ZoneInfo(zone)) if zone else utc
    except (ZoneInfoNotFoundError, ValueError):
        local = utc
    local = local.replace(tzinfo=None, microsecond=0)
    start = local.replace(hour=0, minute=0, second=0)
    rule = f"FREQ=DAILY;BYHOUR={reminder.hour};BYMINUTE={reminder.minute};BYSECOND=0;INTERVAL=1"
    trigger = Trigger(
        object_type=TriggerType.SCHEDULED_ABSOLUTE,
        time_zone_id=zone,
        recurrence=Recurrence(start_date_time=start, recurrence_rules=[rule]),
    )
    text = SpokenText(locale=locale, text=reminder.text)
    return ReminderRequest(
        request_time=local,
        trigger=trigger,
        alert_info=AlertInfo(spoken_info=SpokenInfo(content=[text])),
        push_notification=PushNotification(status=PushNotificationStatus.ENABLED),
    )


def request_body(request: ReminderRequest) -> dict[str, Any]:
    """The JSON the API receives (what `make chat` shows), as the SDK serializes it."""
    from ask_sdk_core.serialize import DefaultSerializer

    body = DefaultSerializer().serialize(request)
    assert isinstance(body, dict)
    return body


# ---------------------------------------------------------------- errors
def classify(error: Exception) -> str:
    """A failed call as one of the core's results (core.model.REMINDER_RESULTS)."""
    from ask_sdk_model.services.service_exception import ServiceException

    if not isinstance(error, ServiceException):
        return "down"  # a timeout, a refused connection, a body that would not parse
    code = _error_code(error.body)
    if "MAX_REMINDERS" in code or "MAX_REMINDER" in code:
        return "limit"
    status = error.status_code or 500
    if status in (401, 403):
        return "no_permission"
    if status == 400:
        return "bad_time"
    return "down"  # 429 (throttled), 5xx, anything else: nothing changed, try later


def _error_code(body: Any) -> str:
    if body is None:
        return ""
    code = getattr(body, "code", None)
    if code is None and isinstance(body, dict):
        code = body.get("code")
    return str(code or "").upper()


# ---------------------------------------------------------------- carrying it out
def carry_out(
    handler_input: HandlerInput,
    outcome: Outcome,
    locale: str,
    api_client: ApiClient | None = None,
) -> tuple[Outcome, SendRequestDirective | None]:
    """Make the reminder call(s); the outcome with the words for what happened."""
    reminder = outcome.reminder
    assert reminder is not None
    directive = None
    factory = _factory(handler_input, api_client)
    if reminder.action == "create":
        result = _create(handler_input, factory, reminder, locale)
        if result == "ask_permission":
            directive = permission_directive(reminder)
    else:
        result = _cancel(handler_input, factory)
    log.info("reminder", extra={"action": reminder.action, "result": result})
    speech = reminder.answer(result)
    end = result in reminder.ends or result == "ask_permission"
    reprompt = None if end else speech
    return replace(outcome, speech=speech, reprompt=reprompt, end_session=end), directive


def _factory(handler_input: HandlerInput, api_client: ApiClient | None) -> Any:
    """ask-sdk's ServiceClientFactory for this request: over `api_client` (time-bounded as a
    whole, or the chat's) with the request's endpoint and token, else the SDK's own."""
    context = handler_input.request_envelope.context
    system = context.system if context else None
    if api_client is None:
        try:
            return handler_input.service_client_factory  # raises without an api_client
        except ValueError:
            return None
    if system is None or not system.api_endpoint:
        return None
    from ask_sdk_core.serialize import DefaultSerializer
    from ask_sdk_model.services.api_configuration import ApiConfiguration
    from ask_sdk_model.services.service_client_factory import ServiceClientFactory

    configuration = ApiConfiguration(
        serializer=DefaultSerializer(),
        api_client=api_client,
        authorization_value=str(system.api_access_token or ""),
        api_endpoint=str(system.api_endpoint),
    )
    return ServiceClientFactory(api_configuration=configuration)


def _client(factory: Any) -> Any:
    if factory is None:
        raise ReminderCallFailed("no API client")
    return factory.get_reminder_management_service()


def _reminder_tokens(factory: Any) -> list[str]:
    """The alert tokens of this skill's reminders (GET /v1/alerts/reminders).

    Read from the JSON here, not through the SDK's get_reminders: ask-sdk-model 1.x cannot
    deserialize a reminder's alertInfo (it names a module it does not ship,
    reminder_management.alert_info_spoken_info), so any real answer would fail there.
    """
    config = getattr(factory, "api_configuration", None)
    if config is None or config.api_client is None or not config.api_endpoint:
        raise ReminderCallFailed("no API configuration")
    request = ApiClientRequest(
        url=f"{config.api_endpoint.rstrip('/')}/v1/alerts/reminders",
        method="GET",
        headers=[
            ("Authorization", f"Bearer {config.authorization_value}"),
            ("Accept", "application/json"),
        ],
    )
    response = config.api_client.invoke(request)
    status = response.status_code or 500
    try:
        body = json.loads(response.body) if response.body else {}
    except ValueError:
        body = {}
    if not 200 <= status < 300:
        from ask_sdk_model.services.service_exception import ServiceException

        raise ServiceException("reminders not listed", status, None, body)
    alerts = body.get("alerts") if isinstance(body, dict) else None
    tokens = [a.get("alertToken") for a in alerts or [] if isinstance(a, dict)]
    return [str(t) for t in tokens if isinstance(t, str) and t and "/" not in t]


def _create(handler_input: HandlerInput, factory: Any, reminder: Reminder, locale: str) -> str:
    request = handler_input.request_envelope.request
    just_granted = getattr(request, "object_type", None) == "Connections.Response"
    if not (granted(handler_input) or just_granted):
        return "ask_permission"  # asked once; after the answer the API itself decides
    try:
        client = _client(factory)
        zone = device_zone(handler_input, factory)
        client.create_reminder(reminder_request(reminder, locale, zone))
    except Exception as error:
        return classify(error)
    return "done"


def _cancel(handler_input: HandlerInput, factory: Any) -> str:
    if not granted(handler_input):
        return "no_permission"
    try:
        client = _client(factory)
        tokens = _reminder_tokens(factory)
        for token in tokens[:MAX_DELETES]:
            client.delete_reminder(token)
    except Exception as error:
        return classify(error)
    return "done" if tokens else "none"
