"""The device's country, for the numbers to call: its time zone from Alexa's Settings API.

Asked only when the core says a turn speaks a number and the country is not known yet
(Outcome.wants_country; the answer is kept in the session and the profile, so it is asked
once), and never in the way: GET {apiEndpoint}/v2/devices/{deviceId}/settings/System.timeZone
through ask-sdk's UpsServiceClient over api_client.DeadlineApiClient (with the request's
apiEndpoint and apiAccessToken; no permission is needed), which the turn waits for at most
LOOKUP_BUDGET_S (less when the turn's store budget is nearly spent). No time zone (204), any
failure or a late answer: "" (not known), and the locale's numbers are spoken as before.
`time_zone` is the one Settings API lookup: the reminders use it too.

Environment: CRAMP_SETTINGS_API=off never asks (the tests' default: no request leaves the
machine); CRAMP_SETTINGS_API_HOSTS, the hosts an apiEndpoint may name (default: Alexa's three
API hosts; the envelope says where to send the token, so nothing else is ever called);
CRAMP_DEVICE_TIME_ZONE=<IANA zone> (outside Lambda only) answers with that zone instead of
asking, so `make chat` can try another country.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from typing import Any
from urllib.parse import urlsplit

from ask_sdk_core.handler_input import HandlerInput

from cramp_coach.alexa import zones
from cramp_coach.alexa.api_client import DeadlineApiClient, service_factory
from cramp_coach.memory import turn, user_salt

log = logging.getLogger("cramp_coach")

LOOKUP_BUDGET_S = 0.8  # at most this of the turn waits for the Settings API
SAVE_RESERVE_S = 0.5  # and never the last half second of the turn's store budget
_OFF = ("off", "0", "false", "no")
# Where Alexa's APIs live (the apiEndpoint of NA, EU and FE requests).
ALEXA_API_HOSTS = ("api.amazonalexa.com", "api.eu.amazonalexa.com", "api.fe.amazonalexa.com")


def _allowed_endpoint(endpoint: str) -> bool:
    """An https URL on one of the allowed hosts (CRAMP_SETTINGS_API_HOSTS, else Alexa's)."""
    configured = os.environ.get("CRAMP_SETTINGS_API_HOSTS", "")
    hosts = {h.strip().lower() for h in configured.split(",") if h.strip()} or set(ALEXA_API_HOSTS)
    try:
        parts = urlsplit(endpoint)
    except ValueError:
        return False
    return parts.scheme == "https" and (parts.hostname or "") in hosts and not parts.username


def _system(handler_input: HandlerInput) -> Any:
    context = handler_input.request_envelope.context
    return context.system if context is not None else None


def device_tag(handler_input: HandlerInput) -> str | None:
    """A salted one-way tag of the device (what the profile's country is kept for)."""
    system = _system(handler_input)
    device_id = system.device.device_id if system is not None and system.device else None
    if not device_id:
        return None
    return hashlib.sha256(f"{user_salt()}:device:{device_id}".encode()).hexdigest()[:16]


def device_country(handler_input: HandlerInput) -> str:
    """The device's country (ISO 3166 alpha-2) from its time zone, or "" when not known."""
    simulated = os.environ.get("CRAMP_DEVICE_TIME_ZONE")
    if simulated and not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return zones.country_of(simulated) or ""
    if os.environ.get("CRAMP_SETTINGS_API", "on").strip().lower() in _OFF:
        return ""
    system = _system(handler_input)
    device_id = system.device.device_id if system is not None and system.device else None
    if not device_id or system.api_access_token is None or not system.api_endpoint:
        return ""
    if not _allowed_endpoint(str(system.api_endpoint)):
        log.warning("settings api: the request's apiEndpoint is not an Alexa API host; not asked")
        return ""
    budget = min(LOOKUP_BUDGET_S, turn.remaining() - SAVE_RESERVE_S)
    if budget <= 0.05:
        log.info("settings api: no time left in the turn; the locale's numbers")
        return ""
    until = time.monotonic() + budget
    zone = time_zone(service_factory(handler_input, DeadlineApiClient(lambda: until)), device_id)
    if not zone:
        return ""
    country = zones.country_of(zone)
    if country is None:
        log.info("settings api: a time zone without a country; the locale's numbers")
    return country or ""


def time_zone(factory: Any, device_id: str) -> str | None:
    """The device's IANA time zone from the Settings API, or None: no factory, no value (204),
    a failure, or no answer within the factory's api client's time."""
    if factory is None:
        return None
    try:
        answer = factory.get_ups_service().get_system_time_zone(device_id)
    except Exception as exc:  # the type and status only: never the device or the token
        status = getattr(exc, "status_code", None)
        log.warning("settings api: no time zone (%s %s)", type(exc).__name__, status)
        return None
    if not isinstance(answer, str) or not answer:
        return None  # 204: the device has no time zone set
    return answer
