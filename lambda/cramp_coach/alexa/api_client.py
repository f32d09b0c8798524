"""`DeadlineApiClient`: ask-sdk's ApiClient over `requests`, bounded in time as a whole.

ask-sdk-core's DefaultApiClient calls `requests` without a timeout, and a `requests` timeout
bounds each socket read, not the call: a server trickling bytes keeps it going. Here each call
runs on a daemon worker thread, waited for only until the turn's deadline for such calls.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ask_sdk_model.services.api_client import ApiClient
from ask_sdk_model.services.api_client_request import ApiClientRequest
from ask_sdk_model.services.api_client_response import ApiClientResponse

from cramp_coach.memory import turn

REMINDER_BUDGET_S = 5.0  # from the request's arrival: every reminder call of the turn


CONNECT_TIMEOUT_S = 1.0


MAX_IN_FLIGHT = 8  # abandoned calls still running; more are refused at once


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ReminderCallFailed(Exception):
    """A call did not finish in time, or could not be made."""


def _deadline() -> float:
    return turn.since_arrival(REMINDER_BUDGET_S)


class DeadlineApiClient(ApiClient):
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
