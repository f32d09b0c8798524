"""The number to call follows the device's country (issue 25, docs/emergency-numbers.md).

The skill asks Alexa's Settings API for the device's time zone (here: a loopback HTTPS server
of the tests' own, tests/settings_api.py) only on a turn that speaks a number, within its
budget, once per session and device; a zone maps to its country with the IANA tables of the
`tzdata` package; the country's numbers come from content/en/countries.json.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cramp_coach.alexa import device_country, zones
from cramp_coach.alexa.skill import build_skill
from cramp_coach.content import available_locales, load_content, number_fields
from cramp_coach.content.countries import load_countries
from cramp_coach.core import Conversation as Core
from cramp_coach.hosting.local.envelopes import Session
from cramp_coach.memory.sqlite import SqliteStore
from tests.conftest import Conversation, Turn
from tests.memory_store import MemoryStore
from tests.settings_api import TOKEN, SettingsApi, settings_api

TABLE = load_countries()
REQUIRED = {"US", "CA", "GB", "IE", "AU", "NZ", "IN", "SG", "ZA", "PH", "MX", "AE", "SA"}
EU = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
}  # fmt: skip


class Device(Session):
    """A session on one Echo: its device id, and the Settings API at `endpoint`."""

    def __init__(self, endpoint: str, device_id: str, locale: str, user_id: str) -> None:
        super().__init__(user_id=user_id, locale=locale)
        self.endpoint = endpoint
        self.device_id = device_id

    def _envelope(self, request: dict[str, Any]) -> dict[str, Any]:
        envelope = super()._envelope(request)
        system = envelope["context"]["System"]
        system["apiEndpoint"] = self.endpoint
        system["apiAccessToken"] = TOKEN
        system["device"]["deviceId"] = self.device_id
        return envelope


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SettingsApi]:
    with settings_api(tmp_path) as server:
        monkeypatch.setenv("CRAMP_SETTINGS_API", "on")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.cert))
        monkeypatch.setenv("CRAMP_SETTINGS_API_HOSTS", "127.0.0.1")
        monkeypatch.delenv("CRAMP_DEVICE_TIME_ZONE", raising=False)
        yield server


def on_device(
    skill: Any, api: SettingsApi, device: str, locale: str, user: str = "amzn1.ask.account.T"
) -> Conversation:
    talk = Conversation(skill)
    talk.session = Device(api.endpoint, device, locale, user)
    return talk


def first_number_sentence(turn: Turn) -> str:
    """The first sentence that names a number to call."""
    for sentence in re.split(r"(?<=\.)\s+", turn.speech):
        if "emergency number is" in sentence or re.search(r"\d|triple zero", sentence):
            return sentence
    raise AssertionError(f"no number in {turn.speech!r}")


# ------------------------------------------------------------------ conversations


def test_a_new_zealand_echo_on_english_australia_hears_1_1_1(api: SettingsApi) -> None:
    api.answers["nz-echo"] = ("zone", "Pacific/Auckland")
    talk = on_device(build_skill(store_factory=MemoryStore), api, "nz-echo", "en-AU")
    turn = talk.cramp("CHEST", heard="chest")
    assert first_number_sentence(turn) == "Call 1 1 1 now."  # the action first (issue 27)
    assert "triple zero" not in turn.speech
    asked = talk.say("EmergencyNumberIntent")  # inside the emergency lock: the call alone
    assert asked.speech.startswith("Call 1 1 1 now.") and "Medicare" not in asked.speech
    assert api.requests == {"nz-echo": 1}  # asked once in the session


def test_a_uk_echo_on_english_us_hears_9_9_9_never_9_1_1(api: SettingsApi) -> None:
    api.answers["uk-echo"] = ("zone", "Europe/London")
    talk = on_device(build_skill(store_factory=MemoryStore), api, "uk-echo", "en-US")
    talk.cramp("CALF", helper="PARTNER")
    turn = talk.symptom("RF_PE")
    assert first_number_sentence(turn) == "Call 9 9 9 now."
    assert "9 1 1" not in turn.speech
    assert talk.say("AMAZON.RepeatIntent").speech.count("9 9 9") >= 1


def test_a_belfast_zone_is_the_uk_and_en_gb_keeps_its_northern_ireland_wording(
    api: SettingsApi,
) -> None:
    api.answers["ni-echo"] = ("zone", "Europe/Belfast")
    talk = on_device(build_skill(store_factory=MemoryStore), api, "ni-echo", "en-GB")
    turn = talk.say("EmergencyNumberIntent")
    assert turn.speech.startswith("In the UK, the emergency number is 9 9 9.")
    assert "In Northern Ireland, ring your GP or its out-of-hours service." in turn.speech
    on_us = on_device(build_skill(store_factory=MemoryStore), api, "ni-echo", "en-US")
    assert "In Northern Ireland" in on_us.say("EmergencyNumberIntent").speech


def test_the_country_is_asked_only_on_a_turn_that_speaks_a_number(api: SettingsApi) -> None:
    api.answers["nz-echo"] = ("zone", "Pacific/Auckland")
    talk = on_device(build_skill(store_factory=MemoryStore), api, "nz-echo", "en-AU")
    talk.cramp("CALF", helper="PARTNER")
    talk.say("AMAZON.NextIntent")
    assert api.requests == {}
    assert "1 1 1" in talk.symptom("RF_DVT").speech + talk.say("EmergencyNumberIntent").speech
    assert api.requests == {"nz-echo": 1}


def test_the_profile_keeps_the_country_for_that_device_only(
    api: SettingsApi, tmp_path: Path
) -> None:
    store = SqliteStore(tmp_path / "profile.sqlite3")  # the real stored shape (items.py)
    skill = build_skill(store_factory=lambda: store)
    api.answers["nz-echo"] = ("zone", "Pacific/Auckland")
    api.answers["au-echo"] = ("zone", "Australia/Sydney")
    first = on_device(skill, api, "nz-echo", "en-AU")
    first.say("EmergencyNumberIntent")
    later = on_device(skill, api, "nz-echo", "en-AU")  # a new session, the same Echo
    later.now = first.now + 3600
    speech = later.say("EmergencyNumberIntent").speech
    assert "1 1 1" in speech and "Healthline" in speech and "Medicare" not in speech
    assert api.requests == {"nz-echo": 1}
    other = on_device(skill, api, "au-echo", "en-AU")  # the same account, another Echo
    other.now = first.now + 7200
    assert "triple zero" in other.say("EmergencyNumberIntent").speech
    assert api.requests == {"nz-echo": 1, "au-echo": 1}


@pytest.mark.parametrize("answer", [("204",), ("403",), ("500",), ("zone", "Etc/UTC")])
def test_no_country_speaks_the_locales_number(api: SettingsApi, answer: tuple[str, ...]) -> None:
    api.answers["echo"] = answer
    talk = on_device(build_skill(store_factory=MemoryStore), api, "echo", "en-AU")
    turn = talk.cramp("CHEST", heard="chest")
    assert first_number_sentence(turn) == "Call triple zero now."
    talk.say("EmergencyNumberIntent")
    assert api.requests == {"echo": 1}  # not asked again in the session


def test_a_zone_outside_the_table_speaks_the_locales_number(api: SettingsApi) -> None:
    api.answers["jp-echo"] = ("zone", "Asia/Tokyo")
    talk = on_device(build_skill(store_factory=MemoryStore), api, "jp-echo", "en-US")
    turn = talk.say("EmergencyNumberIntent")
    assert turn.speech.startswith("In the US, the emergency number is 9 1 1.")


def test_a_hanging_settings_api_never_holds_the_answer_past_its_budget(
    api: SettingsApi,
) -> None:
    api.answers["slow-echo"] = ("hang",)
    talk = on_device(build_skill(store_factory=MemoryStore), api, "slow-echo", "en-GB")
    started = time.monotonic()
    turn = talk.cramp("CHEST", heard="chest")
    took = time.monotonic() - started
    assert first_number_sentence(turn) == "Call 9 9 9 now."
    assert took < device_country.LOOKUP_BUDGET_S + 0.4, took
    started = time.monotonic()
    talk.say("EmergencyNumberIntent")  # the session knows it was asked: no second wait
    assert time.monotonic() - started < 0.3
    assert api.requests == {"slow-echo": 1}


def test_no_endpoint_or_token_never_asks(api: SettingsApi, monkeypatch: Any) -> None:
    talk = Conversation(build_skill(store_factory=MemoryStore))  # the chat's envelopes
    turn = talk.say("EmergencyNumberIntent")
    assert turn.speech.startswith("In the US, the emergency number is 9 1 1.")
    assert api.requests == {}


def test_a_simulated_zone_for_the_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAMP_DEVICE_TIME_ZONE", "Asia/Singapore")
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    talk = Conversation(build_skill(store_factory=MemoryStore))
    turn = talk.say("EmergencyNumberIntent")
    assert turn.speech.startswith("In Singapore, the emergency number is 9 9 5.")


# ------------------------------------------------------------------ the table and the zones


def test_the_table_covers_the_english_speaking_countries_and_the_eu() -> None:
    assert set(TABLE.countries) >= REQUIRED | EU
    for code in EU - {"IE"}:
        assert TABLE.countries[code].numbers["emergency"].digits == "112"
    for code, country in TABLE.countries.items():
        for number in country.numbers.values():
            assert TABLE.sources[number.source].startswith("http"), code


def test_each_locales_numbers_are_its_home_countrys() -> None:
    for locale, home in TABLE.homes.items():
        content = load_content(locale)
        country = TABLE.countries[home]
        assert content.home == home
        for kind, number in content.phone_numbers.items():
            assert country.numbers[kind].digits == number.digits, (locale, kind)


def test_every_zone_of_a_country_in_the_table_gives_that_countrys_number() -> None:
    by_country = zones.zones_by_country()
    assert "Europe/Belfast" in by_country["GB"] and "Pacific/Auckland" in by_country["NZ"]
    conversations = {locale: Core(load_content(locale)) for locale in ["en", *available_locales()]}
    checked = 0
    for code, country in TABLE.countries.items():
        assert by_country.get(code), f"no zone names {code}"
        digits = country.numbers["emergency"].digits
        for zone in by_country[code]:
            assert zones.country_of(zone) == code
            for conversation in conversations.values():
                content = conversation.in_country(zones.country_of(zone)).c
                assert content.emergency is not None
                assert content.emergency.digits == digits, (zone, content.locale)
                checked += 1
    assert checked > 300


def test_every_country_is_said_in_every_locale_with_its_own_numbers_only() -> None:
    others = {
        n.digits.replace(" ", "") for c in TABLE.countries.values() for n in c.numbers.values()
    }
    for locale in ["en", *available_locales()]:
        content = load_content(locale)
        for code, country in TABLE.countries.items():
            view = content.for_country(code)
            own = {n.digits.replace(" ", "") for n in view.phone_numbers.values()}
            for key, text in view.phrases.items():
                if key.endswith("_in") or not number_fields(text):
                    continue
                said = view.phrase(key)  # every placeholder filled
                heard = re.sub(r"\D", "", said)
                for digits in others - own:
                    assert digits not in heard or any(d in heard for d in own), (locale, code)
            sentence = view.phrase("emergency_number")
            if code != content.home:
                assert sentence.startswith(f"In {country.name}, the emergency number is")
                assert country.numbers["emergency"].spoken in sentence


def test_unknown_zone_names_have_no_country() -> None:
    for zone in ["", "Etc/UTC", "UTC", "Mars/Olympus", "../../etc/passwd", "Europe/" + "x" * 80]:
        assert zones.country_of(zone) is None
    assert zones.country_of("US/Eastern") == "US"
    assert zones.country_of("Asia/Calcutta") == "IN"


def test_the_docs_table_lists_every_country_and_number() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "emergency-numbers.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in doc.splitlines() if line.startswith("| ")}
    for code, country in TABLE.countries.items():
        assert code in rows, f"docs/emergency-numbers.md has no row for {code}"
        for number in country.numbers.values():
            assert number.digits in rows[code], (code, number.digits)
    for key in TABLE.sources:
        assert f"**{key}**" in doc, key


def test_an_endpoint_off_alexas_hosts_is_never_called(
    api: SettingsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRAMP_SETTINGS_API_HOSTS")  # Alexa's three API hosts only
    api.answers["nz-echo"] = ("zone", "Pacific/Auckland")
    talk = on_device(build_skill(store_factory=MemoryStore), api, "nz-echo", "en-AU")
    assert "triple zero" in talk.cramp("CHEST", heard="chest").speech
    assert api.requests == {}
    assert device_country._allowed_endpoint("https://api.eu.amazonalexa.com")
    for bad in [
        "http://api.amazonalexa.com",
        "https://api.amazonalexa.com.evil.example",
        "https://user@api.amazonalexa.com",
        "https://169.254.169.254",
        "not a url",
    ]:
        assert not device_country._allowed_endpoint(bad), bad
