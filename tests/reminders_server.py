"""A stand-in for Alexa's Reminders API (and the one Settings call the skill makes), on loopback.

It implements the documented shapes the skill uses: POST /v1/alerts/reminders (a reminder
request: requestTime, trigger SCHEDULED_ABSOLUTE with a recurrence, alertInfo.spokenInfo,
pushNotification; answered with a reminder response), GET /v1/alerts/reminders (the skill's
reminders: totalCount, alerts[], links), DELETE /v1/alerts/reminders/{alertToken}, and
GET /v2/devices/{deviceId}/settings/System.timeZone (a JSON string; 204 when unset). Every
call must carry "Authorization: Bearer <token>" (401 otherwise), the token TOKEN or TOKEN
plus a suffix: each token is its own user (the API keeps a skill's reminders per user), so
the end-to-end conversations, run side by side, never see each other's reminders. A test
plans what the next calls answer: an HTTP status with a documented error body ({"code",
"message"}), a hang, or a response that trickles out byte by byte.

Started and stopped by the tests (a fixture in test_reminders.py). The request bodies it
received are kept, checked against the schema in `check_reminder_request`.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "test-api-access-token"
_ISO_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?$")  # no offset, no Z
_RRULE = re.compile(
    r"FREQ=DAILY;BYHOUR=(\d{1,2});BYMINUTE=(\d{1,2});BYSECOND=0;INTERVAL=1;?$"
)  # fmt: skip


def check_reminder_request(body: Any) -> list[str]:
    """What is wrong with a create request, by the API reference's schema ([] when nothing)."""
    problems: list[str] = []
    if not isinstance(body, dict):
        return ["body is not an object"]
    allowed = {"requestTime", "trigger", "alertInfo", "pushNotification"}
    problems += [f"unknown field {k}" for k in body if k not in allowed]
    if not _ISO_LOCAL.match(str(body.get("requestTime", ""))):
        problems.append("requestTime is not a local ISO 8601 time")
    trigger = body.get("trigger") or {}
    if trigger.get("type") != "SCHEDULED_ABSOLUTE":
        problems.append("trigger.type is not SCHEDULED_ABSOLUTE")
    zone = trigger.get("timeZoneId")
    if zone is not None and not re.fullmatch(r"[A-Za-z_]+(/[A-Za-z_+\-0-9]+)*", str(zone)):
        problems.append("trigger.timeZoneId is not a time zone name")
    recurrence = trigger.get("recurrence") or {}
    if not _ISO_LOCAL.match(str(recurrence.get("startDateTime", ""))):
        problems.append("recurrence.startDateTime is not a local ISO 8601 time")
    rules = recurrence.get("recurrenceRules")
    if not (isinstance(rules, list) and len(rules) == 1 and _RRULE.match(str(rules[0]))):
        problems.append(f"recurrence.recurrenceRules is not one daily rule: {rules!r}")
    else:
        match = _RRULE.match(rules[0])
        assert match is not None
        if not (0 <= int(match.group(1)) < 24 and 0 <= int(match.group(2)) < 60):
            problems.append("recurrence rule's time is out of range")
    if "freq" in recurrence or "byDay" in recurrence:
        problems.append("deprecated recurrence.freq / byDay")
    content = (((body.get("alertInfo") or {}).get("spokenInfo") or {}).get("content")) or []
    if not (isinstance(content, list) and content):
        problems.append("alertInfo.spokenInfo.content is empty")
    for item in content:
        if not (isinstance(item, dict) and item.get("locale") and item.get("text")):
            problems.append("a spoken content item without locale and text")
    if (body.get("pushNotification") or {}).get("status") not in ("ENABLED", "DISABLED"):
        problems.append("pushNotification.status is not ENABLED or DISABLED")
    return problems


@dataclass
class Plan:
    """What the next call answers: a status with an error code, a hang, or a trickle."""

    status: int = 200
    code: str | None = None
    hang_s: float = 0.0
    trickle: bool = False


@dataclass
class RemindersApi:
    reminders: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[tuple[str, str, Any]] = field(default_factory=list)  # method, path, body
    owners: dict[str, str] = field(default_factory=dict)  # alertToken -> the access token
    calls_by_token: dict[str, list[tuple[str, str, Any]]] = field(default_factory=dict)
    plans: list[Plan] = field(default_factory=list)
    time_zone: str | None = "Europe/London"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_plan(self) -> Plan:
        with self.lock:
            return self.plans.pop(0) if self.plans else Plan()


def _handler(api: RemindersApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        user = ""  # the access token of the call: whose reminders

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any = None, trickle: bool = False) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if trickle:
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            else:
                self.wfile.write(data)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            if self.path.split("?")[0] in ("/_state", "/_reset"):
                self._test_hook(method)  # for the e2e runner, not part of the API
                return
            api.received.append((method, self.path, body))
            auth = str(self.headers.get("Authorization") or "")
            if not auth.startswith(f"Bearer {TOKEN}"):
                self._send(401, {"code": "UNAUTHORIZED", "message": "Invalid token"})
                return
            self.user = auth.removeprefix("Bearer ")
            api.calls_by_token.setdefault(self.user, []).append((method, self.path, body))
            plan = api.next_plan()
            if plan.hang_s:
                time.sleep(plan.hang_s)
            if plan.status != 200:
                error = {"code": plan.code or "ERROR", "message": "planned by the test"}
                self._send(plan.status, error, plan.trickle)
                return
            self._route(method, body, plan)

        def _test_hook(self, method: str) -> None:
            user = self.path.partition("?token=")[2]
            with api.lock:
                mine = [t for t, owner in api.owners.items() if owner == user]
                if self.path.startswith("/_reset") and method == "POST":
                    for token in mine:
                        api.reminders.pop(token, None)
                        api.owners.pop(token, None)
                    api.calls_by_token.pop(user, None)
                    self._send(200, {})
                    return
            calls = api.calls_by_token.get(user, [])
            created = [b for m, p, b in calls if m == "POST" and "alerts" in p]
            problems = check_reminder_request(created[-1]) if created else []
            state = {"reminders": mine, "created": created, "problems": problems}
            self._send(200, state)

        def _route(self, method: str, body: Any, plan: Plan) -> None:
            path = self.path.split("?")[0]
            if method == "GET" and re.fullmatch(
                r"/v2/devices/[^/]+/settings/System\.timeZone", path
            ):
                if api.time_zone is None:
                    self._send(204)
                else:
                    self._send(200, api.time_zone, plan.trickle)
                return
            if path == "/v1/alerts/reminders" and method == "POST":
                problems = check_reminder_request(body)
                if problems:
                    self._send(400, {"code": "INVALID_REQUEST", "message": "; ".join(problems)})
                    return
                token = str(uuid.uuid4())
                stamp = "2026-12-06T19:30:00.000Z"
                api.reminders[token] = {**body, "alertToken": token, "status": "ON"}
                api.owners[token] = self.user
                answer = {
                    "alertToken": token, "createdTime": stamp, "updatedTime": stamp,
                    "status": "ON", "version": "1", "href": f"/v1/alerts/reminders/{token}",
                }  # fmt: skip
                self._send(200, answer, plan.trickle)
                return
            if path == "/v1/alerts/reminders" and method == "GET":
                alerts = [
                    {"alertToken": t, "status": r["status"], "trigger": r["trigger"],
                     "alertInfo": r["alertInfo"], "version": "1"}
                    for t, r in api.reminders.items() if api.owners.get(t) == self.user
                ]  # fmt: skip
                answer = {"totalCount": str(len(alerts)), "alerts": alerts, "links": None}
                self._send(200, answer, plan.trickle)
                return
            match = re.fullmatch(r"/v1/alerts/reminders/([^/]+)", path)
            if match and method == "DELETE":
                if api.owners.get(match.group(1)) != self.user:
                    self._send(404, {"code": "ALERT_NOT_FOUND", "message": "no such reminder"})
                    return
                api.owners.pop(match.group(1), None)
                if api.reminders.pop(match.group(1), None) is None:
                    self._send(404, {"code": "ALERT_NOT_FOUND", "message": "no such reminder"})
                    return
                self._send(200)
                return
            self._send(404, {"code": "NOT_FOUND", "message": "no such resource"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return Handler


class RemindersServer:
    """The stand-in API on 127.0.0.1, on a free port, in a thread of its own."""

    def __init__(self) -> None:
        self.api = RemindersApi()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.api))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> RemindersServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
