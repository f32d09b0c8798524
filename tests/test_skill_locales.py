"""The adapter reads the locale from every request: content, numbers, errors follow it."""

from __future__ import annotations

from typing import Any

import pytest

from cramp_coach.alexa.handle import handle_envelope
from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import load_content
from cramp_coach.memory import NullStore
from tests.conftest import Conversation

LOCALES = ["en-AU", "en-CA", "en-GB", "en-IN", "en-US"]
ALL_EMERGENCY_FORMS = {"9 1 1", "9 9 9", "triple zero", "1 1 2"}


def in_locale(skill: Any, locale: str) -> Conversation:
    talk = Conversation(skill)
    talk.session.locale = locale
    return talk


@pytest.mark.parametrize("locale", LOCALES)
def test_an_emergency_speaks_the_locales_number_and_no_other(skill: Any, locale: str) -> None:
    content = load_content(locale)
    assert content.emergency is not None
    talk = in_locale(skill, locale)
    talk.cramp("CALF", "her calf", "PARTNER")
    turn = talk.symptom("RF_PE")
    assert content.phrase("call_emergency") in turn.speech
    for other in ALL_EMERGENCY_FORMS - {content.emergency.spoken}:
        assert other not in turn.speech, (locale, other)


@pytest.mark.parametrize("locale", ["en-NZ", "en-ZA", "fr-FR", "", "zz"])
def test_a_locale_the_skill_lacks_says_your_local_emergency_number(skill: Any, locale: str) -> None:
    talk = in_locale(skill, locale)
    turn = talk.symptom("RF_CHEST")
    assert "your local emergency number" in turn.speech
    assert not any(form in turn.speech for form in ALL_EMERGENCY_FORMS), turn.speech


def test_the_locale_is_read_on_every_request_of_a_session(skill: Any) -> None:
    talk = in_locale(skill, "en-US")
    talk.cramp("CALF", "her calf", "PARTNER")
    talk.session.locale = "en-GB"  # the same session, now a British device
    turn = talk.say("Next")
    assert load_content("en-GB").muscles["CALF"].partner[1].text in turn.speech
    assert "9 9 9" in talk.symptom("RF_PE").speech


def test_british_wording_is_spoken_in_en_gb(skill: Any) -> None:
    talk = in_locale(skill, "en-GB")
    talk.cramp("CALF", "her calf", "PARTNER")
    talk.say("Next")
    turn = talk.say("Next")
    assert "towards their nose" in turn.speech
    us = in_locale(skill, "en-US")
    us.cramp("CALF", "her calf", "PARTNER")
    us.say("Next")
    assert "toward their nose" in us.say("Next").speech


@pytest.mark.parametrize(("heard", "variant"), [("my calf", "alone"), ("her calf", "partner")])
def test_the_speaker_words_come_from_the_locale(skill: Any, heard: str, variant: str) -> None:
    talk = in_locale(skill, "en-GB")
    turn = talk.say("CrampIntent", muscle=(heard, "CALF"))
    assert turn.state["variant"] == variant


def test_the_speaker_words_are_read_from_the_requests_content(
    skill: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cramp_coach.alexa.skill as skill_module

    real = skill_module.load_content
    asked: list[str] = []

    def spy(locale: object = "en-US") -> Any:
        asked.append(str(locale))
        return real(locale)

    monkeypatch.setattr(skill_module, "load_content", spy)
    talk = in_locale(skill, "en-AU")
    talk.say("CrampIntent", muscle=("my calf", "CALF"))
    assert "en-AU" in asked


@pytest.mark.parametrize("locale", LOCALES)
def test_the_calm_error_speaks_the_locale(locale: str) -> None:
    class Broken:
        def handle(self, *args: Any) -> Any:
            raise RuntimeError("boom")

    skill = build_skill(store_factory=NullStore)
    talk = in_locale(skill, locale)
    # A crash inside the conversation: the exception handler answers in the request's locale.
    import cramp_coach.alexa.skill as skill_module

    handler = next(
        h
        for h in skill.request_dispatcher.request_mappers[0].request_handler_chains
        if isinstance(h.request_handler, skill_module.ConversationHandler)
    ).request_handler
    handler._conversation = lambda _locale: Broken()
    turn = talk.launch()
    assert turn.speech == load_content(locale).phrase("error")


def test_an_unreadable_envelope_gets_the_calm_answer_in_its_locale() -> None:
    skill = build_skill(store_factory=NullStore)
    response = handle_envelope(skill, {"request": {"locale": "en-GB", "type": 7}})
    ssml = response["response"]["outputSpeech"]["ssml"]
    assert load_content("en-GB").phrase("error") in ssml


def test_one_conversation_per_content_folder() -> None:
    import cramp_coach.alexa.skill as skill_module

    skill = build_skill(store_factory=NullStore)
    handler = next(
        h.request_handler
        for h in skill.request_dispatcher.request_mappers[0].request_handler_chains
        if isinstance(h.request_handler, skill_module.ConversationHandler)
    )
    factory = handler._conversation
    assert factory("en-GB") is factory("en-GB")
    assert factory("en-GB") is not factory("en-US")
    assert factory("en-NZ") is factory("garbage") is factory("fr-FR")
    assert factory("en-NZ").c.locale == "en"


@pytest.mark.parametrize(("locale", "number"), [("en-GB", "9 9 9"), ("en-AU", "triple zero")])
def test_the_chat_talks_in_a_locale(tmp_path: Any, locale: str, number: str) -> None:
    import subprocess
    import sys

    script = "tell cramp coach my missus's calf is cramping\nnext\nshe can't breathe\n"
    result = subprocess.run(
        [sys.executable, "-m", "cramp_coach", "chat", "--store", "none", "--locale", locale],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tmp_path,
    )
    content = load_content(locale)
    assert 'helper="my missus\'s"->PARTNER' in result.stdout  # the locale's model
    assert content.muscles["CALF"].partner[1].text in result.stdout
    assert content.phrase("call_emergency") in result.stdout and number in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
