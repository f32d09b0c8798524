"""Checks a built Lambda artifact (the `sam build` output of SkillFunction).

    python tools/check_artifact.py .aws-sam/build/SkillFunction [--requirements FILE]

- the package is there with its content and APL documents, and ask_sdk_core;
- no boto3/botocore/s3transfer/jmespath: the runtime provides them;
- every distribution bundled satisfies what the runtime's botocore and boto3 require of it
  (bundled packages come first on sys.path in Lambda, so e.g. python-dateutil 4 would break
  botocore); the requirements are read from the botocore/boto3 installed beside this script's
  interpreter, evaluated for Python 3.13 on Linux x86_64;
- every bundled distribution is pinned in the lock file, at that version;
- every module has CPython 3.13 bytecode that does not check its source (unchecked-hash),
  so a cold start in the read-only /var/task never compiles.

Exit status 1 and one line per problem when something is wrong.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import sys
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")
PYC_TAG = "cpython-313"
# Marker environment of the function: python3.13 on Amazon Linux 2023, x86_64.
TARGET = {
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "os_name": "posix",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "extra": "",
}


def bundled(root: Path) -> dict[str, Version]:
    found: dict[str, Version] = {}
    for meta in root.glob("*.dist-info/METADATA"):
        headers = HeaderParser().parsestr(meta.read_text(encoding="utf-8", errors="replace"))
        found[canonicalize_name(headers["Name"])] = Version(headers["Version"])
    return found


def runtime_requirements() -> list[tuple[str, Requirement]]:
    pairs: list[tuple[str, Requirement]] = []
    for dist in ("botocore", "boto3"):
        for line in importlib.metadata.requires(dist) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(TARGET):
                pairs.append((dist, requirement))
    return pairs


def locked(path: Path) -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for match in re.finditer(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", path.read_text(), re.M):
        pins[canonicalize_name(match.group(1))] = Version(match.group(2))
    return pins


def bytecode_problems(root: Path) -> list[str]:
    problems: list[str] = []
    for source in root.rglob("*.py"):
        pyc = source.parent / "__pycache__" / f"{source.stem}.{PYC_TAG}.pyc"
        if not pyc.is_file():
            problems.append(f"no {PYC_TAG} bytecode for {source.relative_to(root)}")
            continue
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        if flags != 0b01:  # hash-based (bit 0) and check_source off (bit 1)
            problems.append(f"{pyc.relative_to(root)} is not unchecked-hash bytecode")
    return problems


def check(root: Path, requirements: Path | None) -> list[str]:
    problems: list[str] = []
    names = {p.name for p in root.iterdir()}
    if "cramp_coach" not in names:
        problems.append("cramp_coach package missing")
    else:
        if not list((root / "cramp_coach" / "content").glob("*/*.json")):
            problems.append("content JSON files missing from cramp_coach/content")
        if not list((root / "cramp_coach" / "alexa" / "display").glob("*.json")):
            problems.append("APL documents missing from cramp_coach/display")
    if "ask_sdk_core" not in names:
        problems.append("ask_sdk_core missing (lambda/requirements.txt)")
    dists = bundled(root)
    for name in RUNTIME_PROVIDED:
        if name in dists or name in names:
            problems.append(f"{name} bundled: the Lambda runtime provides it")
    for owner, requirement in runtime_requirements():
        version = dists.get(canonicalize_name(requirement.name))
        if version is not None and not requirement.specifier.contains(version, prereleases=True):
            problems.append(
                f"{requirement.name} {version} shadows the runtime's copy: "
                f"{owner} requires {requirement}"
            )
    if requirements is not None:
        pins = locked(requirements)
        for name, version in sorted(dists.items()):
            if pins.get(name) != version:
                problems.append(f"{name} {version} is not pinned in {requirements.name}")
    problems += bytecode_problems(root)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--requirements", type=Path)
    args = parser.parse_args(argv)
    problems = check(args.artifact, args.requirements)
    for problem in problems[:50]:
        print(f"PROBLEM: {problem}")
    if len(problems) > 50:
        print(f"... and {len(problems) - 50} more")
    if not problems:
        count = len(bundled(args.artifact))
        print(
            f"artifact ok: {count} distributions, all pinned, none shadowing botocore/boto3, "
            "unchecked-hash bytecode for every module"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
