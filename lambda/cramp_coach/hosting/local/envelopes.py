"""Build Alexa request envelopes as the Alexa service sends them.

Used by the terminal chat, the tests and the benchmarks, so that all of them drive the
skill through exactly the path a real request takes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"
USER_ID = "amzn1.ask.account.LOCALUSER"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def slot(name: str, value: str, value_id: str | None) -> dict[str, Any]:
    """A slot as Alexa fills it: the heard value plus entity resolution (match or no match)."""
    authority = f"amzn1.er-authority.echo-sdk.{SKILL_ID}.{name.upper()}"
    if value_id is None:
        resolution: dict[str, Any] = {
            "authority": authority,
            "status": {"code": "ER_SUCCESS_NO_MATCH"},
        }
    else:
        resolution = {
            "authority": authority,
            "status": {"code": "ER_SUCCESS_MATCH"},
            "values": [{"value": {"name": value, "id": value_id}}],
        }
    return {
        "name": name,
        "value": value,
        "confirmationStatus": "NONE",
        "source": "USER",
        "resolutions": {"resolutionsPerAuthority": [resolution]},
    }


class Session:
    """One Alexa session: carries the attributes the skill returned into the next request."""

    def __init__(
        self,
        user_id: str = USER_ID,
        skill_id: str = SKILL_ID,
        locale: str = "en-US",
        session_id: str | None = None,
    ) -> None:
        self.user_id = user_id
        self.skill_id = skill_id
        self.locale = locale
        self.session_id = session_id or f"amzn1.echo-api.session.{uuid.uuid4()}"
        self.attributes: dict[str, Any] = {}
        self.new = True
        # Alexa's APIs (reminders, settings): where they are, the request's token, and the
        # permissions the user has granted (scope -> "GRANTED" / "DENIED").
        self.api_endpoint = "https://api.amazonalexa.com"
        self.api_access_token: str | None = None
        self.scopes: dict[str, str] = {}
        self.device_id = "amzn1.ask.device.LOCAL"

    def _envelope(self, request: dict[str, Any]) -> dict[str, Any]:
        user: dict[str, Any] = {"userId": self.user_id}
        if self.scopes:
            user["permissions"] = {
                "scopes": {scope: {"status": status} for scope, status in self.scopes.items()}
            }
        system: dict[str, Any] = {
            "application": {"applicationId": self.skill_id},
            "user": user,
            "device": {"deviceId": self.device_id, "supportedInterfaces": {}},
            "apiEndpoint": self.api_endpoint,
        }
        if self.api_access_token:
            system["apiAccessToken"] = self.api_access_token
        return {
            "version": "1.0",
            "session": {
                "new": self.new,
                "sessionId": self.session_id,
                "application": {"applicationId": self.skill_id},
                "attributes": dict(self.attributes),
                "user": {"userId": self.user_id},
            },
            "context": {"System": system},
            "request": request,
        }

    def _request(self, kind: str, ts: float, **extra: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
            "timestamp": iso(ts),
            "locale": self.locale,
            **extra,
        }

    def launch(self, ts: float) -> dict[str, Any]:
        return self._envelope(self._request("LaunchRequest", ts))

    def intent(
        self, name: str, ts: float, slots: dict[str, tuple[str, str | None]] | None = None
    ) -> dict[str, Any]:
        """An IntentRequest; `slots` maps slot name -> (heard value, resolved id or None)."""
        filled = {n: slot(n, v, i) for n, (v, i) in (slots or {}).items()}
        intent = {"name": name, "confirmationStatus": "NONE", "slots": filled}
        return self._envelope(
            self._request("IntentRequest", ts, dialogState="COMPLETED", intent=intent)
        )

    def connections_response(
        self, ts: float, status: str, token: str, name: str = "AskFor"
    ) -> dict[str, Any]:
        """Alexa's answer to a Connections.SendRequest (the permission asked by voice)."""
        payload = {"permissionScope": "alexa::alerts:reminders:skill:readwrite", "status": status}
        return self._envelope(
            self._request(
                "Connections.Response",
                ts,
                name=name,
                status={"code": "200", "message": "OK"},
                payload=payload,
                token=token,
            )
        )

    def session_ended(self, ts: float, reason: str = "EXCEEDED_MAX_REPROMPTS") -> dict[str, Any]:
        return self._envelope(self._request("SessionEndedRequest", ts, reason=reason))

    def skill_disabled(self, ts: float) -> dict[str, Any]:
        envelope = self._envelope(
            self._request(
                "AlexaSkillEvent.SkillDisabled",
                ts,
                body={"userInformationPersistenceStatus": "NOT_PERSISTED"},
            )
        )
        envelope.pop("session")
        return envelope

    def absorb(self, response: dict[str, Any]) -> None:
        """Take the returned session attributes, as Alexa does, and close on shouldEndSession."""
        self.attributes = dict(response.get("sessionAttributes") or {})
        self.new = False
        if response.get("response", {}).get("shouldEndSession"):
            self.restart()

    def restart(self) -> None:
        """Start a new session: a new id, no attributes (what a launch or an ended session does)."""
        self.attributes = {}
        self.new = True
        self.session_id = f"amzn1.echo-api.session.{uuid.uuid4()}"
