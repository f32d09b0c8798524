"""What the skill sends Alexa about reminders: the permission asked by voice, and the reminder's
body (daily at the person's time in the device's time zone, naming the routine and nothing
about anyone's health).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ask_sdk_core.handler_input import HandlerInput

from cramp_coach.alexa.device_country import time_zone
from cramp_coach.core.model import Reminder

SCOPE = "alexa::alerts:reminders:skill:readwrite"


if TYPE_CHECKING:  # imported when a reminder is made: the cold start never pays for them
    from ask_sdk_model.interfaces.connections.send_request_directive import SendRequestDirective
    from ask_sdk_model.services.reminder_management.reminder_request import ReminderRequest

log = logging.getLogger("cramp_coach")


TOKEN_PREFIX = "bedtime-reminder:"


# Pattern strings, compiled by `re` (and kept in its cache) on first use: only reminders need
# them, so the init does not compile them.
_ZONE = r"[A-Za-z][A-Za-z_+\-]*(/[A-Za-z0-9_+\-]+){0,2}"  # "America/New_York", "UTC"


_TOKEN = r"bedtime-reminder:([01]\d|2[0-3]):([0-5]\d)"


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
    match = re.fullmatch(_TOKEN, str(token or ""))
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
    """The device's time zone (device_country.time_zone over the reminders' factory), or None.

    Passed on as Alexa gave it when it has the shape of a zone name ("Europe/London"), whether
    or not this runtime has the tz database (Lambda's Amazon Linux 2023 may not).
    """
    context = handler_input.request_envelope.context
    device = context.system.device if context and context.system else None
    if device is None or not device.device_id:
        return None
    zone = time_zone(factory, str(device.device_id))
    if zone is None or not re.fullmatch(_ZONE, zone):
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
