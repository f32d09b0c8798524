"""Offline validation against Amazon's own schemas, each check shown to catch a planted error.

- skill.json (as tools/build_skill_package.py deploys it) and every interaction_models/*.json
  against the ASK SMAPI JSON schema that npm `ask-smapi-model` ships (spec.json);
- every APL document under lambda/cramp_coach/alexa/display/ with npm `apl-suggester`;
- the manifest's APL viewports are the standard profiles apl-suggester knows;
- the icons are what tools/make_icons.py draws.

The folders are globbed: a new locale or APL document is checked without editing this file.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.smapi_schema import INTERACTION_MODEL, MANIFEST, errors

REPO = Path(__file__).resolve().parent.parent
MODELS = sorted((REPO / "interaction_models").glob("*.json"))
APL_DIR = REPO / "lambda" / "cramp_coach" / "alexa" / "display"
APL_DOCUMENTS = sorted(APL_DIR.glob("*.json"))
APL_CHECK = REPO / "tests" / "schema" / "apl_check.js"
PROFILES = REPO / "node_modules" / "apl-suggester" / "dist" / "src" / "configs" / "viewportProfiles"
NODE = shutil.which("node")
FAKE_ENDPOINT = "arn:aws:lambda:us-east-1:000000000000:function:cramp-coach-skill:live"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def built_manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """skill.json as the ASK CLI uploads it: endpoint and URLs filled in by the build tool."""
    out = tmp_path_factory.mktemp("skill")
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "build_skill_package.py"),
            "--out",
            str(out),
            "--endpoint",
            FAKE_ENDPOINT,
            "--privacy-url",
            "https://cramp-coach.github.io/privacy",
            "--terms-url",
            "https://cramp-coach.github.io/terms",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    manifest: dict[str, Any] = load(out / "skill-package" / "skill.json")
    return manifest


# ---------------------------------------------------------------- SMAPI schema
def test_the_deployed_manifest_matches_the_smapi_schema(built_manifest: dict[str, Any]) -> None:
    assert errors(MANIFEST, built_manifest) == []


def test_the_source_manifest_differs_only_by_its_placeholders() -> None:
    found = errors(MANIFEST, load(REPO / "skill-package" / "skill.json"))
    assert found and all("REPLACE_WITH_SkillEndpointArn" in line for line in found)


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_every_interaction_model_matches_the_smapi_schema(path: Path) -> None:
    assert errors(INTERACTION_MODEL, load(path)) == []


def test_models_are_found() -> None:
    assert REPO / "interaction_models" / "en-US.json" in MODELS


def test_the_manifest_check_catches_planted_errors(built_manifest: dict[str, Any]) -> None:
    def planted(change: Any) -> list[str]:
        doc = copy.deepcopy(built_manifest)
        change(doc["manifest"])
        return errors(MANIFEST, doc)

    def viewport(m: dict[str, Any]) -> None:
        m["apis"]["custom"]["interfaces"][0]["supportedViewports"][0]["mode"] = "SPEAKER"

    def interface(m: dict[str, Any]) -> None:
        m["apis"]["custom"]["interfaces"].append({"type": "ALEXA_PRESENTATION_APLX"})

    def privacy(m: dict[str, Any]) -> None:
        m["privacyAndCompliance"]["usesPersonalInfo"] = "yes"

    def summary(m: dict[str, Any]) -> None:
        m["publishingInformation"]["locales"]["en-US"]["summary"] = "x" * 161

    assert any("'SPEAKER' is not one of" in e for e in planted(viewport))
    assert any("'ALEXA_PRESENTATION_APLX' is not one of" in e for e in planted(interface))
    assert any("usesPersonalInfo: 'yes' is not of type 'boolean'" in e for e in planted(privacy))
    assert any("is too long" in e for e in planted(summary))


def test_the_model_check_catches_planted_errors() -> None:
    model = load(REPO / "interaction_models" / "en-US.json")
    broken = copy.deepcopy(model)
    del broken["interactionModel"]["languageModel"]["intents"][0]["name"]
    assert any("'name' is a required property" in e for e in errors(INTERACTION_MODEL, broken))
    broken = copy.deepcopy(model)
    broken["interactionModel"]["languageModel"]["intents"][0]["samples"] = "cramp"
    assert any("is not of type 'array'" in e for e in errors(INTERACTION_MODEL, broken))


# ---------------------------------------------------------------- APL viewports
def test_apl_is_declared_for_the_standard_viewports(built_manifest: dict[str, Any]) -> None:
    """Every declared viewport is one of apl-suggester's standard profiles, from the small
    round Echo Spot to the extra-large landscape hub and the TV."""
    (apl,) = [
        i
        for i in built_manifest["manifest"]["apis"]["custom"]["interfaces"]
        if i["type"] == "ALEXA_PRESENTATION_APL"
    ]
    profiles = {}
    for path in PROFILES.glob("*.json"):
        profile = load(path)
        key = (
            profile["mode"].upper(),
            profile["shape"].upper(),
            *(
                profile["dpSizeRange"][k]
                for k in ("minWidth", "maxWidth", "minHeight", "maxHeight")
            ),
        )
        profiles[key] = profile["name"]
    declared = [
        (v["mode"], v["shape"], v["minWidth"], v["maxWidth"], v["minHeight"], v["maxHeight"])
        for v in apl["supportedViewports"]
    ]
    names = [profiles.get(key) for key in declared]
    assert None not in names, dict(zip(declared, names, strict=True))
    assert {
        "Hub Round Small",
        "Hub Landscape Medium",
        "Hub Landscape Large",
        "Hub Landscape Extra Large",
    } <= set(names)  # type: ignore[arg-type]


# ---------------------------------------------------------------- APL documents
def apl_check(*paths: Path) -> tuple[int, list[dict[str, Any]]]:
    if NODE is None:
        pytest.skip("node is not on PATH: APL documents not validated")
    if not (REPO / "node_modules" / "apl-suggester").is_dir():
        pytest.fail(f"apl-suggester missing: run npm ci in {REPO}", pytrace=False)
    run = subprocess.run(
        [NODE, str(APL_CHECK), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    return run.returncode, [json.loads(line) for line in run.stdout.splitlines() if line]


def test_every_apl_document_passes_apl_suggester() -> None:
    assert APL_DOCUMENTS, "no APL documents found"
    code, results = apl_check(*APL_DOCUMENTS)
    assert [r for r in results if r["errors"]] == [] and code == 0
    assert len(results) == len(APL_DOCUMENTS)


def test_the_apl_check_catches_planted_errors(tmp_path: Path) -> None:
    document = load(APL_DOCUMENTS[0])
    text = copy.deepcopy(document)
    text["mainTemplate"]["items"][0]["width"] = "wide"
    missing = {k: v for k, v in document.items() if k != "type"}
    extra = {**document, "mainTemplat": {}}
    paths = []
    for name, doc in (("width", text), ("type", missing), ("extra", extra)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(doc), encoding="utf-8")
    code, results = apl_check(*paths)
    assert code == 1
    messages = {Path(r["file"]).stem: " ".join(e["message"] for e in r["errors"]) for r in results}
    assert "valid dimension" in messages["width"]
    assert "required property 'type'" in messages["type"]
    assert "additional properties" in messages["extra"]


# ---------------------------------------------------------------- icons
def test_icons_are_drawn_from_their_source() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "tools" / "make_icons.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
