"""The inputs of the skill package and their checks: the endpoint ARN, the URLs, the regions.

Used by build_skill_package.py and skill_manifest.py. Standard library only.
"""

from __future__ import annotations

import re

PLACEHOLDER = "REPLACE_WITH_SkillEndpointArn_FROM_SAM_OUTPUTS"
ENDPOINT_ENV = "CRAMP_SKILL_ENDPOINT"
# The privacy policy and terms of use (docs/privacy.md, docs/terms.md, published where the
# deployer hosts them): build inputs like the endpoint, never committed URLs.
URL_PLACEHOLDERS = {
    "privacy": ("REPLACE_WITH_PRIVACY_POLICY_URL", "CRAMP_PRIVACY_URL"),
    "terms": ("REPLACE_WITH_TERMS_OF_USE_URL", "CRAMP_TERMS_URL"),
}
ASSETS = "assets"  # skill-package/assets/...: icons referenced as file://assets/...
# Hosts that only ever stand in for a real one.
_PLACEHOLDER_HOSTS = re.compile(
    r"(^|\.)(example\.(com|org|net)|localhost|invalid|test)$|^(127\.|0\.0\.0\.0$|\[::1\]$)"
)
ASK_CLI_VERSION = "2020-03-31"

# A qualified Lambda ARN: the alias (or version) is required, because the Alexa permission is
# attached to the `live` alias, not to the unqualified function ($LATEST).
LAMBDA_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:lambda:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):\d{12}:function:"
    r"[A-Za-z0-9_-]{1,64}:(?P<qualifier>[A-Za-z0-9_-]{1,128})$"
)
SKILL_ID = re.compile(r"^amzn1\.(?:ask\.skill|echo-sdk-ams\.app)\.[0-9a-fA-F-]{36}$")
LOCALE = re.compile(r"^[a-z]{2}-[A-Z]{2}$")
# Alexa's endpoint regions and the AWS region each calls (NA, EU and India, Far East).
REGION_AWS = {"NA": "us-east-1", "EU": "eu-west-1", "FE": "us-west-2"}
REGION_LOCALES = {"NA": ("en-US", "en-CA"), "EU": ("en-GB", "en-IN"), "FE": ("en-AU",)}
ALEXA_REGIONS = frozenset(REGION_AWS.values())


class PackageError(Exception):
    """The inputs cannot make a valid skill package."""


def check_endpoint(arn: str) -> list[str]:
    """Validate a skill endpoint ARN; return warnings, raise PackageError when unusable."""
    match = LAMBDA_ARN.match(arn)
    if match is None:
        raise PackageError(
            f"endpoint {arn!r} is not a qualified Lambda function ARN; use the SkillEndpointArn "
            "output of the SAM stack (arn:aws:lambda:<region>:<account>:function:<name>:live)"
        )
    if match["qualifier"].isdigit():
        raise PackageError(f"endpoint {arn!r} must point at the alias, not a version")
    warnings = []
    if match["region"] not in ALEXA_REGIONS:
        warnings.append(
            f"endpoint region {match['region']} is not one Alexa normally calls "
            f"({', '.join(sorted(ALEXA_REGIONS))}); "
            + "; ".join(
                f"{REGION_AWS[r]} serves {', '.join(REGION_LOCALES[r])}" for r in REGION_AWS
            )
        )
    return warnings


def check_url(kind: str, url: str) -> str:
    """A public https URL for the privacy policy or terms; raise PackageError otherwise."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if (
        parts.scheme != "https"
        or not host
        or "." not in host
        or _PLACEHOLDER_HOSTS.search(host)
        or "REPLACE" in url.upper()
    ):
        raise PackageError(
            f"{kind} URL {url!r} is not a public https URL (placeholders, example.com and "
            "localhost are refused): publish docs/privacy.md and docs/terms.md and pass their URLs"
        )
    return url


def region_placeholder(region: str) -> str:
    return f"REPLACE_WITH_SkillEndpointArn_OF_THE_{REGION_AWS[region]}_STACK"


def parse_region_endpoints(values: list[str]) -> dict[str, str]:
    """``["EU=arn:...", ...]`` -> {"EU": "arn:..."}; each ARN checked and in its own region."""
    out: dict[str, str] = {}
    for value in values:
        region, sep, arn = value.partition("=")
        region = region.strip().upper()
        if not sep or region not in REGION_AWS:
            raise PackageError(
                f"--region-endpoint {value!r}: expected REGION=ARN with REGION one of "
                f"{', '.join(REGION_AWS)}"
            )
        match = LAMBDA_ARN.match(arn)
        check_endpoint(arn)
        if match is not None and match["region"] != REGION_AWS[region]:
            raise PackageError(
                f"--region-endpoint {region}: {arn!r} is in {match['region']}, but Alexa's "
                f"{region} region calls {REGION_AWS[region]}"
            )
        out[region] = arn
    return out
