"""The chat's Reminders API: nothing leaves the machine; each call is shown as it would be sent.

`make chat` has no Alexa account behind it. The skill is built with this ApiClient instead of
the bounded HTTP one (api_client.DeadlineApiClient): it answers the calls the skill makes as
the API documents them (the device's time zone unset: 204; a reminder created: its
alertToken; the skill's reminders listed; a reminder deleted) and keeps what it created for
the chat session, and the chat prints each request, the reminder's JSON body included.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from ask_sdk_model.services.api_client import ApiClient
from ask_sdk_model.services.api_client_request import ApiClientRequest
from ask_sdk_model.services.api_client_response import ApiClientResponse


class ShowingApiClient(ApiClient):
    def __init__(self) -> None:
        self.reminders: dict[str, Any] = {}
        self.shown: list[str] = []

    def drain(self) -> list[str]:
        shown, self.shown = self.shown, []
        return shown

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        method = str(request.method or "GET")
        path = re.sub(r"^https?://[^/]+", "", str(request.url or ""))
        body = request.body
        if isinstance(body, str | bytes):
            body = json.loads(body)
        if path.endswith("/settings/System.timeZone"):
            # Unset here, so the reminder leaves the zone to Alexa: the device's own.
            return _response(204, None)
        if path == "/v1/alerts/reminders" and method == "POST":
            text = json.dumps(body, indent=2, sort_keys=True)
            self.shown.append("  reminder, as it would be created: POST /v1/alerts/reminders")
            self.shown += [f"    {line}" for line in text.splitlines()]
            token = str(uuid.uuid4())
            self.reminders[token] = body
            return _response(200, {"alertToken": token, "status": "ON", "version": "1"})
        if path == "/v1/alerts/reminders" and method == "GET":
            alerts = [{"alertToken": t, "status": "ON"} for t in self.reminders]
            self.shown.append(f"  reminders: GET /v1/alerts/reminders -> {len(alerts)} found")
            return _response(200, {"totalCount": str(len(alerts)), "alerts": alerts})
        match = re.fullmatch(r"/v1/alerts/reminders/([^/]+)", path)
        if match and method == "DELETE":
            found = self.reminders.pop(match.group(1), None)
            self.shown.append(f"  reminder deleted: DELETE /v1/alerts/reminders/{match.group(1)}")
            return _response(200 if found is not None else 404, None)
        return _response(404, {"code": "NOT_FOUND", "message": "not in the chat's stand-in"})


def _response(status: int, body: Any) -> ApiClientResponse:
    response = ApiClientResponse()
    response.status_code = status
    response.headers = [("Content-Type", "application/json")]
    response.body = None if body is None else json.dumps(body)  # type: ignore[assignment]
    return response
