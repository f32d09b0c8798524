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
from typing import TYPE_CHECKING, Any

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model.services.api_client import ApiClient
from ask_sdk_model.services.api_client_request import ApiClientRequest
from msgspec.structs import replace

from cramp_coach.alexa.api_client import ApiCallFailed, service_factory
from cramp_coach.alexa.reminder_requests import (
    device_zone,
    granted,
    permission_directive,
    reminder_request,
)
from cramp_coach.core import Outcome
from cramp_coach.core.model import Reminder

if TYPE_CHECKING:  # imported when a reminder is made: the cold start never pays for them
    from ask_sdk_model.interfaces.connections.send_request_directive import SendRequestDirective

log = logging.getLogger("cramp_coach")

MAX_DELETES = 10  # a skill's own reminders: "stop reminding me" deletes at most these


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
    factory = service_factory(handler_input, api_client)
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


def _client(factory: Any) -> Any:
    if factory is None:
        raise ApiCallFailed("no API client")
    return factory.get_reminder_management_service()


def _reminder_tokens(factory: Any) -> list[str]:
    """The alert tokens of this skill's reminders (GET /v1/alerts/reminders).

    Read from the JSON here, not through the SDK's get_reminders: ask-sdk-model 1.x cannot
    deserialize a reminder's alertInfo (it names a module it does not ship,
    reminder_management.alert_info_spoken_info), so any real answer would fail there.
    """
    config = getattr(factory, "api_configuration", None)
    if config is None or config.api_client is None or not config.api_endpoint:
        raise ApiCallFailed("no API configuration")
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
