#!/usr/bin/env python3
"""Assemble the Alexa skill package as an ASK CLI v2 project.

Sources: ``skill-package/skill.json`` (the manifest, with an endpoint placeholder) and
``interaction_models/<locale>.json`` (one interaction model per locale).

Output (default ``build/skill``)::

    <out>/ask-resources.json                               skill metadata only: SAM owns the Lambda
    <out>/.ask/ask-states.json                             only with --skill-id (skill to update)
    <out>/skill-package/skill.json                         endpoint filled in
    <out>/skill-package/interactionModels/custom/<locale>.json

Then ``cd <out> && ask deploy --target skill-metadata``.

The endpoint is the ``SkillEndpointArn`` output of the SAM stack (the ``live`` alias), given with
``--endpoint`` or the ``CRAMP_SKILL_ENDPOINT`` environment variable. Without one the script
refuses, unless ``--allow-placeholder`` is given (tests, inspection): that package keeps the
placeholder and is not deployable.

Alexa calls the Lambda region nearest the device: NA (us-east-1) for en-US and en-CA, EU
(eu-west-1) for en-GB and en-IN, FE (us-west-2) for en-AU. The default endpoint serves every
region; to answer from a stack in each region (the same template, ``sam deploy --region``),
give ``--region-endpoint EU=<arn>`` (and ``NA=``, ``FE=``) or ``CRAMP_SKILL_ENDPOINT_EU`` (...).
A region without its own endpoint is left out of ``apis.custom.regions``: the default serves it.

Standard library only, so it runs with any Python 3.11+.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MANIFEST_SRC = REPO / "skill-package" / "skill.json"
MODELS_SRC = REPO / "interaction_models"
DEFAULT_OUT = REPO / "build" / "skill"

sys.path.insert(0, str(Path(__file__).resolve().parent))

from skill_manifest import build_manifest  # noqa: E402
from skill_package_inputs import (  # noqa: E402
    ASK_CLI_VERSION,
    ASSETS,
    ENDPOINT_ENV,
    LOCALE,
    PLACEHOLDER,
    REGION_AWS,
    SKILL_ID,
    URL_PLACEHOLDERS,
    PackageError,
    check_endpoint,
    parse_region_endpoints,
)


def model_locales(models_dir: Path = MODELS_SRC) -> dict[str, Path]:
    """Locale -> interaction model file, for every ``<locale>.json`` in ``models_dir``."""
    found = {p.stem: p for p in sorted(models_dir.glob("*.json")) if LOCALE.match(p.stem)}
    if not found:
        raise PackageError(f"no interaction models (<locale>.json) in {models_dir}")
    return found


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PackageError(f"cannot read {path}: {exc}") from exc


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def build_package(
    out: Path,
    endpoint: str | None,
    *,
    skill_id: str | None = None,
    regions: dict[str, str] | None = None,
    ask_profile: str = "default",
    manifest_src: Path = MANIFEST_SRC,
    models_dir: Path = MODELS_SRC,
    urls: dict[str, str] | None = None,
) -> list[Path]:
    """Write the ASK CLI v2 project into ``out``; return the files written."""
    out = out.resolve()
    package_dir = out / "skill-package"
    if package_dir == manifest_src.resolve().parent:
        raise PackageError(f"--out {out} would overwrite the source skill-package/")
    if skill_id is not None and not SKILL_ID.match(skill_id):
        raise PackageError(f"skill id {skill_id!r} does not look like amzn1.ask.skill.<uuid>")

    models = model_locales(models_dir)
    manifest = build_manifest(_load_json(manifest_src), set(models), endpoint, urls, regions)

    written: list[Path] = []
    # Rebuild skill-package/ from scratch (a removed locale must not linger); keep .ask/, where
    # the ASK CLI records the skill id and deploy hashes.
    if package_dir.exists():
        shutil.rmtree(package_dir)
    _write_json(package_dir / "skill.json", manifest)
    written.append(package_dir / "skill.json")
    assets = manifest_src.parent / ASSETS
    for uri in re.findall(r'"file://([^"]+)"', json.dumps(manifest)):
        source = (manifest_src.parent / uri).resolve()
        if not source.is_file() or assets.resolve() not in source.parents:
            raise PackageError(f"skill.json refers to file://{uri}, not a file under {assets}")
        target = package_dir / uri
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append(target)
    for locale, path in models.items():
        model = _load_json(path)
        if "interactionModel" not in model:
            raise PackageError(f"{path} has no interactionModel")
        target = package_dir / "interactionModels" / "custom" / f"{locale}.json"
        _write_json(target, model)
        written.append(target)

    resources = {
        "askcliResourcesVersion": ASK_CLI_VERSION,
        "profiles": {ask_profile: {"skillMetadata": {"src": "./skill-package"}}},
    }
    _write_json(out / "ask-resources.json", resources)
    written.append(out / "ask-resources.json")

    if skill_id is not None:
        states_path = out / ".ask" / "ask-states.json"
        states: dict[str, Any] = {"askcliStatesVersion": ASK_CLI_VERSION, "profiles": {}}
        if states_path.exists():
            states = _load_json(states_path)
        profile = states.setdefault("profiles", {}).setdefault(ask_profile, {})
        profile["skillId"] = skill_id
        _write_json(states_path, states)
        written.append(states_path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Assemble the Cramp Coach skill package (ASK CLI v2 project layout)."
    )
    parser.add_argument(
        "--endpoint",
        default=os.environ.get(ENDPOINT_ENV),
        help=f"SkillEndpointArn from the SAM stack outputs (default: ${ENDPOINT_ENV})",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output directory (default: build/skill)"
    )
    parser.add_argument(
        "--skill-id",
        help="existing skill to update: written to <out>/.ask/ask-states.json for `ask deploy`",
    )
    parser.add_argument(
        "--region-endpoint",
        action="append",
        default=[
            f"{region}={os.environ[ENDPOINT_ENV + '_' + region]}"
            for region in REGION_AWS
            if os.environ.get(ENDPOINT_ENV + "_" + region)
        ],
        metavar="REGION=ARN",
        help="a stack's SkillEndpointArn for one Alexa region: NA (us-east-1: en-US, en-CA), "
        "EU (eu-west-1: en-GB, en-IN), FE (us-west-2: en-AU); repeatable. Without it the "
        "default --endpoint serves that region",
    )
    parser.add_argument("--ask-profile", default="default", help="ASK CLI profile name")
    parser.add_argument(
        "--privacy-url",
        default=os.environ.get("CRAMP_PRIVACY_URL"),
        help="public https URL of docs/privacy.md as you publish it (default: $CRAMP_PRIVACY_URL)",
    )
    parser.add_argument(
        "--terms-url",
        default=os.environ.get("CRAMP_TERMS_URL"),
        help="public https URL of docs/terms.md as you publish it (default: $CRAMP_TERMS_URL)",
    )
    parser.add_argument(
        "--allow-placeholder",
        action="store_true",
        help="build without an endpoint (the package is NOT deployable; for tests and review)",
    )
    args = parser.parse_args(argv)

    try:
        if args.endpoint:
            for warning in check_endpoint(args.endpoint):
                print(f"warning: {warning}", file=sys.stderr)
        elif not args.allow_placeholder:
            raise PackageError(
                f"no endpoint: pass --endpoint <SkillEndpointArn> or set {ENDPOINT_ENV} "
                "(`sam list stack-outputs --stack-name cramp-coach` shows it); "
                "--allow-placeholder builds a non-deployable package"
            )
        urls = {k: v for k, v in (("privacy", args.privacy_url), ("terms", args.terms_url)) if v}
        missing = [k for k in URL_PLACEHOLDERS if k not in urls]
        if missing and not args.allow_placeholder:
            raise PackageError(
                "no "
                + " and no ".join(f"--{k}-url" for k in missing)
                + " (or "
                + ", ".join(URL_PLACEHOLDERS[k][1] for k in missing)
                + "): publish "
                "docs/privacy.md and docs/terms.md and pass their public https URLs; "
                "--allow-placeholder builds a non-deployable package"
            )
        regions = parse_region_endpoints(args.region_endpoint)
        if regions and not args.endpoint:
            raise PackageError("--region-endpoint needs the default --endpoint as well")
        written = build_package(
            args.out,
            args.endpoint,
            skill_id=args.skill_id,
            regions=regions,
            ask_profile=args.ask_profile,
            urls=urls,
        )
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    for path in written:
        print(path)
    if not args.endpoint or missing:
        left = ([PLACEHOLDER] if not args.endpoint else []) + [
            URL_PLACEHOLDERS[k][0] for k in missing
        ]
        print(
            f"warning: {', '.join(left)} left in: this package is NOT deployable",
            file=sys.stderr,
        )
    else:
        print(f"next: cd {args.out} && ask deploy --target skill-metadata", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
