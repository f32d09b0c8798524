"""The ASK side of CanFulfillIntentRequest: read the intent and slots, answer, nothing else.

It never builds or reads the store, never touches session attributes, never speaks and
never starts a routine: the request is only a question about the skill (see can_fulfill.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from ask_sdk_core.dispatch_components.request_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model.canfulfill.can_fulfill_intent import CanFulfillIntent
from ask_sdk_model.canfulfill.can_fulfill_intent_request import CanFulfillIntentRequest
from ask_sdk_model.canfulfill.can_fulfill_intent_values import CanFulfillIntentValues
from ask_sdk_model.canfulfill.can_fulfill_slot import CanFulfillSlot
from ask_sdk_model.canfulfill.can_fulfill_slot_values import CanFulfillSlotValues
from ask_sdk_model.canfulfill.can_understand_slot_values import CanUnderstandSlotValues
from ask_sdk_model.intent import Intent
from ask_sdk_model.response import Response
from ask_sdk_model.slu.entityresolution.status_code import StatusCode

from cramp_coach.alexa.can_fulfill import UNKNOWN, FulfillAnswer, SlotValue, can_fulfill
from cramp_coach.content import Content, load_content


def intent_slots(intent: Intent) -> dict[str, SlotValue]:
    """Every filled slot as (resolved id or "UNKNOWN", heard text); empty slots are left out."""
    out: dict[str, SlotValue] = {}
    for name, slot in (intent.slots or {}).items():
        if slot is None or not slot.value:
            continue
        heard = str(slot.value).strip().lower()
        resolved = UNKNOWN
        per_authority = slot.resolutions.resolutions_per_authority if slot.resolutions else None
        for authority in per_authority or []:
            matched = authority.status is not None and authority.status.code == (
                StatusCode.ER_SUCCESS_MATCH
            )
            if matched and authority.values and authority.values[0].value is not None:
                resolved = str(authority.values[0].value.id)
                break
        out[str(name)] = (resolved, heard)
    return out


def to_ask(answer: FulfillAnswer) -> CanFulfillIntent:
    return CanFulfillIntent(
        can_fulfill=CanFulfillIntentValues(answer.can_fulfill),
        slots={
            name: CanFulfillSlot(
                can_understand=CanUnderstandSlotValues(slot.can_understand),
                can_fulfill=CanFulfillSlotValues(slot.can_fulfill),
            )
            for name, slot in answer.slots.items()
        },
    )


class CanFulfillHandler(AbstractRequestHandler):
    """Answers CanFulfillIntentRequest only; register it before the conversation handler."""

    def __init__(
        self,
        handled: Collection[str] | None = None,
        content: Callable[[], Content] | None = None,
    ) -> None:
        self._handled = frozenset(handled) if handled is not None else None
        self._content = content or (lambda: load_content("en-US"))

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return isinstance(handler_input.request_envelope.request, CanFulfillIntentRequest)

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        assert isinstance(request, CanFulfillIntentRequest)
        intent = request.intent
        if intent is None or not intent.name:
            answer = FulfillAnswer("NO")
        else:
            answer = can_fulfill(
                self._content(), str(intent.name), intent_slots(intent), self._handled
            )
        builder = handler_input.response_builder
        builder.set_can_fulfill_intent(to_ask(answer))
        return builder.response
