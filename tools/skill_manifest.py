"""The skill manifest as deployed: skill.json checked against the interaction models' locales,
its endpoint, per-region endpoint and URL placeholders filled in.

Used by build_skill_package.py (which puts tools/ on sys.path). Standard library only.
"""

from __future__ import annotations

import json
from typing import Any

from skill_package_inputs import (
    PLACEHOLDER,
    URL_PLACEHOLDERS,
    PackageError,
    check_url,
    region_placeholder,
)


def fill_regions(manifest: dict[str, Any], regions: dict[str, str]) -> dict[str, Any]:
    """Fill the per-region endpoints given; drop the others so the default endpoint serves them."""
    custom = manifest["manifest"]["apis"]["custom"]
    declared = custom.get("regions", {})
    kept = {}
    for region, body in declared.items():
        if region in regions:
            if body.get("endpoint", {}).get("uri") != region_placeholder(region):
                raise PackageError(f"skill.json apis.custom.regions.{region} has no placeholder")
            kept[region] = {**body, "endpoint": {**body["endpoint"], "uri": regions[region]}}
    missing = set(regions) - set(declared)
    if missing:
        raise PackageError(f"skill.json declares no apis.custom.regions {sorted(missing)}")
    if kept:
        custom["regions"] = kept
    else:
        custom.pop("regions", None)
    return manifest


def _fill_endpoint(node: Any, endpoint: str) -> Any:
    if isinstance(node, dict):
        return {key: _fill_endpoint(value, endpoint) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill_endpoint(value, endpoint) for value in node]
    if node == PLACEHOLDER:
        return endpoint
    return node


def _fill(node: Any, placeholder: str, value: str) -> Any:
    if isinstance(node, dict):
        return {key: _fill(item, placeholder, value) for key, item in node.items()}
    if isinstance(node, list):
        return [_fill(item, placeholder, value) for item in node]
    return value if node == placeholder else node


def build_manifest(
    manifest: dict[str, Any],
    locales: set[str],
    endpoint: str | None,
    urls: dict[str, str] | None = None,
    regions: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Check the manifest against the model locales; fill the endpoint and URL placeholders."""
    published = set(manifest["manifest"]["publishingInformation"]["locales"])
    if published != locales:
        raise PackageError(
            f"skill.json publishes {sorted(published)} but interaction_models/ has "
            f"{sorted(locales)}; they must match"
        )
    if PLACEHOLDER not in json.dumps(manifest):
        raise PackageError(f"skill.json has no {PLACEHOLDER} endpoint placeholder")
    for kind, url in (urls or {}).items():
        placeholder, _ = URL_PLACEHOLDERS[kind]
        if placeholder not in json.dumps(manifest):
            raise PackageError(f"skill.json has no {placeholder} placeholder")
        manifest = _fill(manifest, placeholder, check_url(kind, url))
    if not endpoint:
        return manifest  # the inspection copy keeps every endpoint placeholder
    return fill_regions(_fill_endpoint(manifest, endpoint), regions or {})
