"""The core's Outcome -> an ASK Response: speech, reprompt, card, and the night display where the
device has a screen (the APL model imported only then).
"""

from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model.response import Response
from ask_sdk_model.services.api_client import ApiClient
from ask_sdk_model.ui.simple_card import SimpleCard

from cramp_coach.alexa import reminders
from cramp_coach.alexa.events import (
    request_locale_raw,
)
from cramp_coach.core import Outcome


def supports_apl(handler_input: HandlerInput) -> bool:
    """Only screens (Echo Show) get the step drawn; a plain speaker would reject the directive."""
    context = handler_input.request_envelope.context
    device = context.system.device if context and context.system else None
    interfaces = device.supported_interfaces if device else None
    return bool(interfaces and interfaces.alexa_presentation_apl is not None)


def speak(
    handler_input: HandlerInput, outcome: Outcome, api_client: ApiClient | None = None
) -> Response:
    builder = handler_input.response_builder
    if outcome.reminder is not None:
        # The core decided; the Reminders API is called here, and its result picks the words.
        outcome, directive = reminders.carry_out(
            handler_input, outcome, request_locale_raw(handler_input), api_client
        )
        if directive is not None:
            builder.add_directive(directive)
    screen = outcome.screen if supports_apl(handler_input) else None
    if screen is not None:
        # Here, not at import: a speaker without a screen (most one-shots) never loads the
        # APL model package (about 8 ms of a cold start) or the documents.
        from ask_sdk_model.interfaces.alexa.presentation.apl.render_document_directive import (
            RenderDocumentDirective,
        )

        from cramp_coach.alexa import display

        document, datasources = display.render(screen)
        builder.add_directive(
            RenderDocumentDirective(token=display.TOKEN, document=document, datasources=datasources)
        )
    if outcome.speech:
        builder.speak(outcome.speech)
    if outcome.reprompt and not outcome.end_session:
        builder.ask(outcome.reprompt)
    if outcome.card_title and outcome.card_text:
        builder.set_card(SimpleCard(outcome.card_title, outcome.card_text))
    builder.set_should_end_session(outcome.end_session)
    return builder.response
