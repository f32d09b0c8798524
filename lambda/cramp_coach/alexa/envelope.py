"""What of a raw request envelope may reach the skill: the one gate for Lambda and the web service.

Alexa sends a fixed shape; anything else is somebody else's JSON. Before the SDK sees it:

* `foreign`: with a skill id configured, the request must name exactly that skill in
  context.System.application (Alexa always sends it) and, if the session names one, there too.
  Otherwise it is refused: Amazon's rule is to reject a request for another skill, never
  answer it. (The SDK's own check would raise AttributeError on a missing context.)
* `admitted`: session attributes hold only what this skill wrote (its one key); anything
  else a client added is dropped, and so is a value nested deeper than the skill ever writes
  (the SDK deep-copies attributes, so 500 levels would raise RecursionError).
* `depth_over` with MAX_ENVELOPE_DEPTH: the web service refuses (400) a body nested deeper
  than Alexa's own. The Lambda path does not walk every request (it costs a tenth of a
  millisecond a turn): a RecursionError there is caught like any failure, the calm answer.
"""

from __future__ import annotations

from typing import Any

STATE_KEY = "cramp"  # the session attribute the conversation state lives in
# Alexa's envelopes nest about 10 levels, the skill's state about 6: far below these.
MAX_STATE_DEPTH = 16
MAX_ENVELOPE_DEPTH = 48


def _get(value: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def depth_over(value: Any, limit: int) -> bool:
    """Whether dicts and lists nest deeper than `limit` (iterative: no recursion to exhaust)."""
    # Level by level: no (item, level) pair made for every value.
    level, depth = [value], 1
    while level:
        below: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                below.extend(item.values())
            elif isinstance(item, list):
                below.extend(item)
            else:
                continue
            if depth > limit:
                return True
        level, depth = below, depth + 1
    return False


def dunder_key(value: Any) -> bool:
    """Whether any object key starts with "__": Alexa never sends one, and the SDK's deserializer
    would set it as an attribute of its model objects ("__dict__" wipes a Session's fields)."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(isinstance(key, str) and key.startswith("__") for key in item):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def foreign(event: Any, skill_ids: str | frozenset[str] | None) -> str | None:
    """Why this request is not for the skill (None when it is, or when no id is configured)."""
    if not skill_ids:
        return None
    ours = frozenset([skill_ids]) if isinstance(skill_ids, str) else skill_ids
    named = _get(event, "context", "System", "application", "applicationId")
    if not isinstance(named, str) or named not in ours:
        return "request is for another skill (context.System.application)"
    session = _get(event, "session")
    if _get(session, "application") is not None:
        in_session = _get(session, "application", "applicationId")
        if not isinstance(in_session, str) or in_session not in ours:
            return "request is for another skill (session.application)"
    return None


def admitted(event: dict[str, Any]) -> dict[str, Any]:
    """The envelope with the session attributes cut to the skill's own."""
    session = event.get("session")
    if isinstance(session, dict) and "attributes" in session:
        attributes = session.get("attributes")
        own: dict[str, Any] = {}
        if isinstance(attributes, dict) and STATE_KEY in attributes:
            state = attributes[STATE_KEY]
            if not depth_over(state, MAX_STATE_DEPTH):
                own[STATE_KEY] = state  # decode_state still checks every field of it
        event = {**event, "session": {**session, "attributes": own}}
    return event
