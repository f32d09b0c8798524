"""The skill manifest (skill-package/skill.json) against the interaction models, and the
skill package that tools/build_skill_package.py assembles from them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from cramp_coach.hosting.local.nlu import InteractionModel

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "skill-package" / "skill.json"
MODELS = REPO / "interaction_models"
BUILD = REPO / "tools" / "build_skill_package.py"

PLACEHOLDER = "REPLACE_WITH_SkillEndpointArn_FROM_SAM_OUTPUTS"
DISCLAIMER = (
    "Cramp Coach is not a substitute for professional medical advice. "
    "In an emergency, call your local emergency number."
)
INVOCATION = "cramp coach"
LAUNCH_PHRASE = "Alexa, open cramp coach"
# An obviously fake, well-formed alias ARN for the build tests.
FAKE_ENDPOINT = "arn:aws:lambda:us-east-1:000000000000:function:cramp-coach-skill:live"

Json = dict[str, Any]


def manifest() -> Json:
    data: Json = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return data


def model_files() -> dict[str, Path]:
    return {path.stem: path for path in sorted(MODELS.glob("*.json"))}


@cache
def language_model(locale: str) -> Json:
    data: Json = json.loads(model_files()[locale].read_text(encoding="utf-8"))
    model: Json = data["interactionModel"]["languageModel"]
    return model


def published_locales() -> dict[str, Json]:
    locales: dict[str, Json] = manifest()["manifest"]["publishingInformation"]["locales"]
    return locales


# --- utterance matching -----------------------------------------------------------------------


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


PREFIX = re.compile(
    rf"^alexa,?\s+(?P<verb>open|ask|tell)\s+{re.escape(INVOCATION)}(?:\s+to)?(?:\s+(?P<rest>.+))?$"
)


@cache
def _model(locale: str) -> InteractionModel:
    return InteractionModel(REPO / "interaction_models" / f"{locale}.json")


def match_phrase(locale: str, phrase: str) -> str | None:
    """The intent a spoken "Alexa, <verb> cramp coach <utterance>" reaches, or LaunchRequest.

    Exact matching only, through the local resolver: every slot must take a value of its type.
    """
    match = PREFIX.match(_normalise(phrase.rstrip(".?!")))
    if match is None:
        return None
    rest = match["rest"]
    if rest is None:
        return "LaunchRequest" if match["verb"] == "open" else None
    resolved = _model(locale).resolve(rest)
    if resolved.intent == "AMAZON.FallbackIntent":
        return None
    if any(value_id is None for _, value_id in resolved.slots.values()):
        return None  # it fitted only with a value the slot type does not have
    return resolved.intent


def test_matcher_itself() -> None:
    assert match_phrase("en-US", "Alexa, tell cramp coach my calf is cramping") == "CrampIntent"
    assert match_phrase("en-US", "Alexa, open cramp coach") == "LaunchRequest"
    assert match_phrase("en-US", "Alexa, tell cramp coach") is None
    assert match_phrase("en-US", "Alexa, tell cramp coach zzz qqq is cramping") is None
    assert match_phrase("en-US", "Alexa, tell cramp coak my calf is cramping") is None


# --- example phrases --------------------------------------------------------------------------


@pytest.mark.parametrize("locale", sorted(published_locales()))
def test_example_phrases_invoke_sample_utterances(locale: str) -> None:
    phrases = published_locales()[locale]["examplePhrases"]
    assert 1 <= len(phrases) <= 3  # the store shows three
    assert phrases[0] == LAUNCH_PHRASE  # the first one must name the skill and open it
    unmatched = [p for p in phrases if match_phrase(locale, p) is None]
    assert not unmatched, f"no sample utterance of interaction_models/{locale}.json matches"


@pytest.mark.parametrize("locale", sorted(published_locales()))
def test_one_shot_examples_reach_cramp_intent(locale: str) -> None:
    for phrase in published_locales()[locale]["examplePhrases"][1:]:
        assert match_phrase(locale, phrase) == "CrampIntent", phrase


@pytest.mark.parametrize("locale", sorted(published_locales()))
def test_phrases_quoted_in_the_listing_work(locale: str) -> None:
    info = published_locales()[locale]
    text = (
        info["description"]
        + " "
        + manifest()["manifest"]["publishingInformation"].get("testingInstructions", "")
    )
    quoted = [q for q in re.findall(r"\"([^\"]+)\"", text) if q.lower().startswith("alexa")]
    assert quoted
    assert [q for q in quoted if match_phrase(locale, q) is None] == []


def test_the_listing_is_built_from_its_one_source() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "build_listing.py"), "--check"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("locale", sorted(published_locales()))
def test_the_listing_says_what_the_skill_does(locale: str) -> None:
    """The log is opt-in everywhere, and every number shown is one the locale's content speaks."""
    from cramp_coach.content import load_content

    description = published_locales()[locale]["description"]
    assert "90-day log" not in description
    assert "kept only if you say yes" in description
    content = load_content(locale)
    spoken = {number.digits for number in content.phone_numbers.values()}
    # A number standing alone (1800MEDICARE is a name); 12 hours and 30 minutes are not numbers.
    shown = set(re.findall(r"(?<!\w)\d(?:[\d ]*\d)?(?!\w)", description)) - {"12", "30"}
    assert shown <= spoken, f"{locale} shows {shown - spoken}, which the skill never says"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
@pytest.mark.parametrize("locale", sorted(published_locales()))
def test_example_phrases_resolve_through_virtual_alexa(locale: str) -> None:
    """Stock virtual-core (virtual-alexa's matcher) reads each one-shot example as CrampIntent."""
    phrases = published_locales()[locale]["examplePhrases"]
    utterances = [PREFIX.match(_normalise(p))["rest"] for p in phrases[1:]]  # type: ignore[index]
    done = subprocess.run(
        ["node", str(REPO / "tests" / "e2e" / "run.js"), "--resolve", "--model",
         str(MODELS / f"{locale}.json")],
        input=json.dumps(utterances), capture_output=True, text=True, timeout=120, cwd=REPO,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    readings = {item["say"]: item["stock"] for item in json.loads(done.stdout)}
    for utterance in utterances:
        reading = readings[utterance]
        assert reading["intent"] == "CrampIntent", (utterance, reading)
        assert reading["slots"]["muscle"]["id"], (utterance, reading)


# --- locales, invocation, disclaimer ----------------------------------------------------------


def test_locales_match_interaction_models() -> None:
    assert set(published_locales()) == set(model_files())
    privacy_locales = manifest()["manifest"]["privacyAndCompliance"].get("locales", {})
    assert set(privacy_locales) <= set(model_files())


@pytest.mark.parametrize("locale", sorted(model_files()))
def test_invocation_name(locale: str) -> None:
    assert language_model(locale)["invocationName"] == INVOCATION


@pytest.mark.parametrize("locale", sorted(published_locales()))
def test_disclaimer_in_description_and_reachable_by_voice(locale: str) -> None:
    assert DISCLAIMER in published_locales()[locale]["description"]
    intents = {i["name"]: i for i in language_model(locale)["intents"]}
    assert intents["DisclaimerIntent"]["samples"]


@pytest.mark.parametrize("locale", sorted(published_locales()))
def test_listing_lengths(locale: str) -> None:
    info = published_locales()[locale]
    assert 0 < len(info["name"]) <= 50
    assert 0 < len(info["summary"]) <= 160
    assert 0 < len(info["description"]) <= 4000
    assert 0 < len(info["keywords"]) <= 30


# --- privacy, endpoint, events ----------------------------------------------------------------


def test_privacy_and_compliance() -> None:
    privacy = manifest()["manifest"]["privacyAndCompliance"]
    assert privacy["allowsPurchases"] is False
    assert privacy["isChildDirected"] is False
    assert privacy["containsAds"] is False
    # Data kept per user (under a salted hash of the user id): preferences, the 30-minute resume,
    # the 12-hour red-flag lock and the opt-in cramp log (docs/privacy.md).
    assert privacy["usesPersonalInfo"] is True
    assert privacy["usesHealthInfo"] is False  # HIPAA covered entities and associates only
    listed = manifest()["manifest"]["publishingInformation"]["locales"]
    assert privacy["locales"] == {
        locale: {
            "privacyPolicyUrl": "REPLACE_WITH_PRIVACY_POLICY_URL",
            "termsOfUseUrl": "REPLACE_WITH_TERMS_OF_USE_URL",
        }
        for locale in listed
    }
    assert privacy["isExportCompliant"] is True
    # The one permission: the nightly bedtime reminder (issue 24), asked for by voice first.
    assert manifest()["manifest"]["permissions"] == [
        {"name": "alexa::alerts:reminders:skill:readwrite"}
    ]


# The country each published locale is for: the emergency number it speaks is that country's.
LOCALE_COUNTRIES = {"en-US": "US", "en-CA": "CA", "en-GB": "GB", "en-AU": "AU", "en-IN": "IN"}
# Alexa's endpoint regions, the AWS region each calls, and the locales it serves.
REGIONS = {
    "NA": ("us-east-1", {"en-US", "en-CA"}),
    "EU": ("eu-west-1", {"en-GB", "en-IN"}),
    "FE": ("us-west-2", {"en-AU"}),
}


def test_distribution_matches_the_locales() -> None:
    info = manifest()["manifest"]["publishingInformation"]
    # The emergency number the skill speaks follows the locale: only publish where it is right.
    assert info["isAvailableWorldwide"] is False
    assert set(LOCALE_COUNTRIES) == set(published_locales())
    assert sorted(info["distributionCountries"]) == sorted(LOCALE_COUNTRIES.values())
    assert info["category"] == "HEALTH_AND_FITNESS"


@pytest.mark.parametrize("locale", sorted(LOCALE_COUNTRIES))
def test_the_listing_names_the_locales_own_emergency_number(locale: str) -> None:
    from cramp_coach.content import load_content

    number = load_content(locale).emergency
    assert number is not None
    assert number.digits in published_locales()[locale]["description"]


def test_every_locale_is_served_by_one_region() -> None:
    served = [loc for _, locales in REGIONS.values() for loc in locales]
    assert sorted(served) == sorted(published_locales())


def test_region_endpoints_are_placeholders_named_by_their_aws_region() -> None:
    regions = manifest()["manifest"]["apis"]["custom"]["regions"]
    assert set(regions) == set(REGIONS)
    for region, (aws, _) in REGIONS.items():
        assert regions[region] == {
            "endpoint": {"uri": f"REPLACE_WITH_SkillEndpointArn_OF_THE_{aws}_STACK"}
        }


def test_endpoints_are_placeholders_and_no_account_id_is_committed() -> None:
    body = manifest()["manifest"]
    assert body["apis"]["custom"]["endpoint"] == {"uri": PLACEHOLDER}
    assert body["events"]["endpoint"] == {"uri": PLACEHOLDER}
    assert not re.search(r"\d{12}", MANIFEST.read_text(encoding="utf-8"))
    assert "arn:aws" not in MANIFEST.read_text(encoding="utf-8")


def test_subscribes_to_skill_disabled() -> None:
    events = manifest()["manifest"]["events"]["subscriptions"]
    assert {"eventName": "SKILL_DISABLED"} in events


# --- the assembled package --------------------------------------------------------------------


PRIVACY_URL = "https://cramp-coach.github.io/docs/privacy"
TERMS_URL = "https://cramp-coach.github.io/docs/terms"
URL_ARGS = ("--privacy-url", PRIVACY_URL, "--terms-url", TERMS_URL)
BUILD_ENV = ("CRAMP_SKILL_ENDPOINT", "CRAMP_PRIVACY_URL", "CRAMP_TERMS_URL")


def run_build(
    *args: str, endpoint_env: str | None = None, urls_env: bool = False
) -> subprocess.CompletedProcess[str]:
    """tools/build_skill_package.py; its variables set only when endpoint_env / urls_env ask."""
    env = {k: v for k, v in os.environ.items() if k not in BUILD_ENV}
    if endpoint_env is not None:
        env["CRAMP_SKILL_ENDPOINT"] = endpoint_env
    if urls_env:
        env["CRAMP_PRIVACY_URL"], env["CRAMP_TERMS_URL"] = PRIVACY_URL, TERMS_URL
    return subprocess.run(
        [sys.executable, str(BUILD), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_package_layout_for_the_ask_cli(tmp_path: Path) -> None:
    out = tmp_path / "skill"
    run = run_build("--allow-placeholder", "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "NOT deployable" in run.stderr
    assert read(out / "skill-package" / "skill.json") == manifest()
    for locale, source in model_files().items():
        built = out / "skill-package" / "interactionModels" / "custom" / f"{locale}.json"
        assert read(built) == read(source)
    assert read(out / "ask-resources.json") == {
        "askcliResourcesVersion": "2020-03-31",
        "profiles": {"default": {"skillMetadata": {"src": "./skill-package"}}},
    }
    assert not (out / ".ask").exists()
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted(
        [
            "ask-resources.json",
            "skill-package/skill.json",
            "skill-package/assets/images/en-US_smallIconUri.png",
            "skill-package/assets/images/en-US_largeIconUri.png",
        ]
        + [f"skill-package/interactionModels/custom/{loc}.json" for loc in model_files()]
    )


def test_package_refuses_without_an_endpoint(tmp_path: Path) -> None:
    out = tmp_path / "skill"
    run = run_build("--out", str(out))
    assert run.returncode == 2
    assert "--endpoint" in run.stderr
    assert not out.exists()


def test_package_fills_the_endpoint(tmp_path: Path) -> None:
    out = tmp_path / "skill"
    skill_id = "amzn1.ask.skill.0a1b2c3d-0000-4000-8000-00000000abcd"
    run = run_build(
        "--endpoint", FAKE_ENDPOINT, "--skill-id", skill_id, "--out", str(out), *URL_ARGS
    )
    assert run.returncode == 0, run.stderr
    built = read(out / "skill-package" / "skill.json")["manifest"]
    assert built["apis"]["custom"]["endpoint"]["uri"] == FAKE_ENDPOINT
    assert built["events"]["endpoint"]["uri"] == FAKE_ENDPOINT
    # No per-region endpoint given: the default serves every region.
    assert "regions" not in built["apis"]["custom"]
    assert "REPLACE_WITH" not in (out / "skill-package" / "skill.json").read_text()
    states = read(out / ".ask" / "ask-states.json")
    assert states["profiles"]["default"]["skillId"] == skill_id
    # A rebuild keeps the ASK CLI's state and replaces the package.
    assert run_build("--endpoint", FAKE_ENDPOINT, "--out", str(out), *URL_ARGS).returncode == 0
    assert read(out / ".ask" / "ask-states.json") == states


def test_package_fills_per_region_endpoints(tmp_path: Path) -> None:
    out = tmp_path / "skill"
    eu = "arn:aws:lambda:eu-west-1:000000000000:function:cramp-coach-skill:live"
    fe = "arn:aws:lambda:us-west-2:000000000000:function:cramp-coach-skill:live"
    run = run_build(
        "--endpoint", FAKE_ENDPOINT, "--region-endpoint", f"EU={eu}",
        "--region-endpoint", f"FE={fe}", "--out", str(out), urls_env=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    custom = read(out / "skill-package" / "skill.json")["manifest"]["apis"]["custom"]
    assert custom["endpoint"]["uri"] == FAKE_ENDPOINT
    # NA has no stack of its own: the default endpoint serves it.
    assert custom["regions"] == {"EU": {"endpoint": {"uri": eu}}, "FE": {"endpoint": {"uri": fe}}}
    assert "REPLACE_WITH" not in (out / "skill-package" / "skill.json").read_text()


@pytest.mark.parametrize(
    "value",
    [
        "EU=arn:aws:lambda:us-east-1:000000000000:function:cramp-coach-skill:live",  # wrong region
        "XX=arn:aws:lambda:eu-west-1:000000000000:function:cramp-coach-skill:live",
        "EU=arn:aws:lambda:eu-west-1:000000000000:function:cramp-coach-skill",  # unqualified
        "arn:aws:lambda:eu-west-1:000000000000:function:cramp-coach-skill:live",
    ],
)
def test_package_refuses_a_wrong_region_endpoint(tmp_path: Path, value: str) -> None:
    run = run_build(
        "--endpoint", FAKE_ENDPOINT, "--region-endpoint", value, "--out", str(tmp_path / "s")
    )
    assert run.returncode == 2, run.stdout
    assert not (tmp_path / "s").exists()


def test_package_takes_the_endpoint_from_the_environment(tmp_path: Path) -> None:
    out = tmp_path / "skill"
    run = run_build("--out", str(out), endpoint_env=FAKE_ENDPOINT, urls_env=True)
    assert run.returncode == 0, run.stderr
    built = read(out / "skill-package" / "skill.json")["manifest"]
    assert built["apis"]["custom"]["endpoint"]["uri"] == FAKE_ENDPOINT
    assert built["privacyAndCompliance"]["locales"]["en-US"] == {
        "privacyPolicyUrl": PRIVACY_URL,
        "termsOfUseUrl": TERMS_URL,
    }


@pytest.mark.parametrize(
    "endpoint",
    [
        "arn:aws:lambda:us-east-1:000000000000:function:cramp-coach-skill",  # $LATEST
        "arn:aws:lambda:us-east-1:000000000000:function:cramp-coach-skill:7",  # a version
        "arn:aws:lambda:us-east-1:0000:function:cramp-coach-skill:live",
        "https://example.invalid/alexa",
        PLACEHOLDER,
    ],
)
def test_package_refuses_a_wrong_endpoint(tmp_path: Path, endpoint: str) -> None:
    run = run_build("--endpoint", endpoint, "--out", str(tmp_path / "skill"), *URL_ARGS)
    assert run.returncode == 2
    assert not (tmp_path / "skill").exists()


def test_package_refuses_without_the_privacy_and_terms_urls(tmp_path: Path) -> None:
    out = tmp_path / "skill"
    run = run_build("--endpoint", FAKE_ENDPOINT, "--out", str(out))
    assert run.returncode == 2
    assert "--privacy-url" in run.stderr and "--terms-url" in run.stderr
    run = run_build("--endpoint", FAKE_ENDPOINT, "--out", str(out), "--privacy-url", PRIVACY_URL)
    assert run.returncode == 2 and "--terms-url" in run.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "url",
    [
        "REPLACE_WITH_PRIVACY_POLICY_URL",
        "http://cramp-coach.github.io/privacy",
        "https://example.com/privacy",
        "https://localhost/privacy",
        "https://127.0.0.1/p",
        "https://www.example.org/privacy",
        "privacy.md",
        "https://host/REPLACE_ME",
    ],
)
def test_package_refuses_placeholder_urls(tmp_path: Path, url: str) -> None:
    run = run_build(
        "--endpoint",
        FAKE_ENDPOINT,
        "--out",
        str(tmp_path / "skill"),
        "--privacy-url",
        url,
        "--terms-url",
        TERMS_URL,
    )
    assert run.returncode == 2, run.stdout
    assert "not a public https URL" in run.stderr
    assert not (tmp_path / "skill").exists()


def test_package_fills_the_urls_and_ships_the_icons(tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "skill"
    run = run_build("--endpoint", FAKE_ENDPOINT, "--out", str(out), *URL_ARGS)
    assert run.returncode == 0, run.stderr
    text = (out / "skill-package" / "skill.json").read_text()
    assert "REPLACE_WITH" not in text
    info = json.loads(text)["manifest"]["publishingInformation"]["locales"]["en-US"]
    for key, size in (("smallIconUri", 108), ("largeIconUri", 512)):
        assert info[key] == f"file://assets/images/en-US_{key}.png"  # the ASK CLI v2 way
        with Image.open(out / "skill-package" / info[key].removeprefix("file://")) as icon:
            assert icon.format == "PNG" and icon.size == (size, size)


def test_package_never_overwrites_the_source() -> None:
    run = run_build("--allow-placeholder", "--out", str(REPO))
    assert run.returncode == 2
    assert read(MANIFEST) == manifest()
