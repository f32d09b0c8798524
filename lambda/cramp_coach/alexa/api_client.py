"""Calls to Alexa's APIs (Settings, Reminders): `DeadlineApiClient`, ask-sdk's ApiClient over
`requests`, bounded in time as a whole, and the `ServiceClientFactory` over it for a request.

ask-sdk-core's DefaultApiClient calls `requests` without a timeout, and a `requests` timeout
bounds each socket read, not the call: a server trickling bytes keeps it going. Here each call
runs on a daemon worker thread, waited for only until the caller's deadline; an abandoned call
finishes or fails on its own, and at most MAX_IN_FLIGHT of them run at once in the process.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model.services.api_client import ApiClient
from ask_sdk_model.services.api_client_request import ApiClientRequest
from ask_sdk_model.services.api_client_response import ApiClientResponse

from cramp_coach.memory import turn

REMINDER_BUDGET_S = 5.0  # from the request's arrival: every reminder call of the turn


CONNECT_TIMEOUT_S = 1.0


MAX_IN_FLIGHT = 8  # abandoned calls still running; more are refused at once
_SLOTS = threading.BoundedSemaphore(MAX_IN_FLIGHT)  # shared by every client in the process


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ApiCallFailed(Exception):
    """A call did not finish in time, or could not be made."""


def _reminder_deadline() -> float:
    return turn.since_arrival(REMINDER_BUDGET_S)


@functools.cache
def _session() -> Any:
    """One `requests` session for every call (its connection pool is thread-safe), made on
    the first call: a cold start that calls no API never imports `requests`."""
    import requests

    return requests.Session()


class DeadlineApiClient(ApiClient):
    """ask-sdk's ApiClient over `requests`, bounded in time as a whole.

    ask-sdk-core's DefaultApiClient calls `requests` without a timeout, and a timeout in
    `requests` bounds each socket read, not the call: a server that trickles bytes keeps it
    going. Here each call runs on a daemon worker thread and is waited for only until
    `deadline()` (a time.monotonic() value; by default the turn's reminder deadline).
    """

    def __init__(self, deadline: Callable[[], float] = _reminder_deadline) -> None:
        self._deadline = deadline

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        left = self._deadline() - time.monotonic()
        if left <= 0:
            raise ApiCallFailed("no time left in this turn")
        url = urlsplit(str(request.url or ""))
        if url.scheme != "https" and url.hostname not in _LOOPBACK:
            raise ApiCallFailed("only HTTPS (or loopback, for tests)")  # as the SDK's own
        body = request.body
        if body is not None and not isinstance(body, str | bytes):
            body = json.dumps(body)  # the SDK hands over the serialized model, not JSON text
        if not _SLOTS.acquire(blocking=False):
            raise ApiCallFailed("too many calls still in flight")
        box: dict[str, Any] = {}
        session = _session()

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
                _SLOTS.release()

        worker = threading.Thread(target=call, name="alexa-api-call", daemon=True)
        worker.start()
        worker.join(left)
        if worker.is_alive():
            raise ApiCallFailed("the call did not finish in time")
        if "error" in box:
            raise ApiCallFailed(type(box["error"]).__name__) from box["error"]
        response = box["response"]
        result = ApiClientResponse()
        result.status_code = response.status_code
        result.headers = list(response.headers.items())
        result.body = response.text
        return result


def service_factory(handler_input: HandlerInput, api_client: ApiClient | None) -> Any:
    """ask-sdk's ServiceClientFactory for this request: over `api_client` (time-bounded as a
    whole, or the chat's) with the request's endpoint and token, else the SDK's own; None when
    the request has no API endpoint."""
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
