"""The docs say what is true: every command they give works, every path and link exists.

README.md and docs/*.md are read as a newcomer would follow them: `make` targets and their
variables against the Makefile, SAM parameters against template.yaml, the ASK CLI project's
files against a project the package builder makes, the `make package` commands of the deploy
walkthrough run as written (placeholders filled in), and the README's conversations replayed
through the chat, every quoted fragment of Alexa's answers heard in order.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cramp_coach.alexa.skill import build_skill
from cramp_coach.hosting.local.chat import Chat
from cramp_coach.memory import NullStore

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^ *```(\w*)\n(.*?)^ *```", re.M | re.S)
INLINE = re.compile(r"`([^`\n]+)`")
TOP_LEVEL = ("lambda/", "tests/", "tools/", "bench/", "docs/", "interaction_models/",
             "skill-package/", "deploy/", "requirements/", ".ci/")  # fmt: skip
FAKE_ARN = "arn:aws:lambda:{region}:000000000000:function:cramp-coach-skill:live"
FAKE_SKILL = "amzn1.ask.skill.12345678-1234-1234-1234-123456789012"


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def code(path: Path) -> Iterator[str]:
    """Every fenced block's body and every inline code span."""
    body = text(path)
    for match in FENCE.finditer(body):
        yield match.group(2)
    yield from INLINE.findall(FENCE.sub("", body))


def shell_lines(path: Path) -> Iterator[str]:
    """Commands of the sh/bash blocks, continuation lines joined, comments dropped."""
    for match in FENCE.finditer(text(path)):
        if match.group(1) not in ("sh", "bash"):
            continue
        joined = re.sub(r"\\\n\s*", " ", match.group(2))
        for line in joined.splitlines():
            line = line.split(" #")[0].strip()
            if line and not line.startswith("#"):
                yield line


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", text(ROOT / "Makefile"), re.M))


def test_readme_is_a_front_door() -> None:
    readme = text(ROOT / "README.md")
    assert len(readme.splitlines()) <= 250
    first_block = FENCE.search(readme)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(2).splitlines()]
    assert commands == ["make chat", "make test"]


def test_the_content_page_is_generated_from_the_content() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_content_doc.py"), "--check"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_docs_keep_no_history_and_point_nowhere_outside(path: Path) -> None:
    body = text(path)
    assert "../shared" not in body
    for history in (r"\b(?:before|since|after|in) issue \d+", r"gunicorn days", r"being rewritten",
                    r"\bthe old `?serve"):  # fmt: skip
        assert not re.search(history, body, re.I), f"{path.name}: {history}"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_make_commands_name_real_targets_and_variables(path: Path) -> None:
    targets = makefile_targets()
    makefile = text(ROOT / "Makefile")
    for snippet in code(path):
        for match in re.finditer(r"(?<![\w-])make ((?:-s )?[^|&;`\n]*)", snippet):
            words = match.group(1).split()
            for word in words:
                if word.startswith("-"):
                    continue
                if "=" in word:
                    variable = word.split("=")[0]
                    per_region = variable in ("ENDPOINT_NA", "ENDPOINT_EU", "ENDPOINT_FE")
                    used = f"$({variable})" if not per_region else "$(ENDPOINT_$(r))"
                    assert used in makefile, f"{path.name}: the Makefile never reads {variable}"
                elif re.fullmatch(r"[a-z][\w-]*", word):
                    assert word in targets, f"{path.name}: `make {word}` is not a target"
                else:
                    break


def test_every_sam_parameter_is_documented_and_no_other_is_named() -> None:
    template: dict[str, Any] = yaml.load(text(ROOT / "template.yaml"), Loader=_CfnLoader)
    parameters = set(template["Parameters"])
    deploy = text(ROOT / "docs" / "deploy.md")
    for name in parameters:
        assert f"`{name}`" in deploy, f"docs/deploy.md never names the parameter {name}"
    for path in DOCS:
        for snippet in code(path):
            for overrides in re.findall(r"--parameter-overrides ([^`\n]+)", snippet):
                for name in re.findall(r"(\w+)=", overrides):
                    assert name in parameters, f"{path.name}: no SAM parameter {name}"


class _CfnLoader(yaml.SafeLoader):
    """Reads template.yaml's short-form intrinsic functions (!Ref, !Sub, ...) as plain data."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.fixture(scope="module")
def ask_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ask") / "skill"
    done = subprocess.run(
        ["make", "-s", "package", f"ENDPOINT={FAKE_ARN.format(region='us-east-1')}",
         "PRIVACY_URL=https://cramp-coach.github.io/privacy",
         "TERMS_URL=https://cramp-coach.github.io/terms", f"SKILL_ID={FAKE_SKILL}", f"OUT={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_ask_cli_files_the_docs_name_are_in_the_generated_project(ask_project: Path) -> None:
    named: set[str] = set()
    for path in DOCS:
        for snippet in code(path):
            for match in re.finditer(
                r"(ask-resources\.json|\.ask/ask-states\.json|skill-package/[\w/.<>-]+)", snippet
            ):
                named.add(match.group(1).removeprefix("build/skill/"))
    assert {"ask-resources.json", ".ask/ask-states.json"} <= named
    for name in sorted(named):
        if name == "skill-package/listing.json" or name.startswith("skill-package/assets/images/e"):
            continue  # sources in the repository, checked as paths below
        matches = list(ask_project.glob(name.replace("<locale>", "*")))
        assert matches, f"the docs name {name}, which the ASK CLI project does not have"


def test_the_deploy_walkthroughs_make_package_commands_run_as_written(tmp_path: Path) -> None:
    commands = [line for line in shell_lines(ROOT / "docs" / "deploy.md")
                if line.startswith("make package")]  # fmt: skip
    commands += [line for line in shell_lines(ROOT / "README.md")
                 if line.startswith("make package")]  # fmt: skip
    assert len(commands) >= 3  # one endpoint, a stack per region, the README's summary
    for number, command in enumerate(commands):
        filled = command.replace('"$ENDPOINT"', FAKE_ARN.format(region="us-east-1"))
        filled = filled.replace("<SkillEndpointArn>", FAKE_ARN.format(region="us-east-1"))
        filled = re.sub(
            r'"\$\(arn ([a-z0-9-]+)\)"', lambda m: FAKE_ARN.format(region=m.group(1)), filled
        )
        filled = filled.replace("amzn1.ask.skill.YOUR-ID", FAKE_SKILL)
        filled = filled.replace("https://YOUR-HOST/", "https://cramp-coach.github.io/")
        filled = filled.replace("https://...", "https://cramp-coach.github.io/page")
        assert not re.search(r"YOUR|<|\$", filled), filled
        out = tmp_path / str(number)
        done = subprocess.run(
            f"{filled} OUT={out}", shell=True, cwd=ROOT, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        assert (out / "skill-package" / "skill.json").is_file()
        if "ENDPOINT_EU" in command:
            regions = (out / "skill-package" / "skill.json").read_text()
            assert FAKE_ARN.format(region="eu-west-1") in regions


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_paths_and_links_in_docs_exist(path: Path) -> None:
    base = path.parent
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text(path)):
        if re.match(r"\w+:", target):
            continue
        assert (base / target).exists(), f"{path.name}: link to missing {target}"
    for snippet in code(path):
        for token in re.findall(r"(?<![\w./-])((?:\.ci|[a-z_]+)/[\w./-]*)", snippet):
            token = token.rstrip(".")
            if not token.startswith(TOP_LEVEL) or token.startswith("lambda/cramp_coach/content/<"):
                continue
            ignored = subprocess.run(["git", "check-ignore", "-q", token], cwd=ROOT, check=False)
            if ignored.returncode == 0:
                continue  # made by a command (bench results, builds, data)
            assert (ROOT / token).exists() or list(ROOT.glob(token)), (
                f"{path.name}: {token} does not exist"
            )


# --- the README's conversations, replayed -----------------------------------------------------

WORDS = {"one": 1, "two": 2, "three": 3, "four": 4}


def conversations(body: str) -> Iterator[list[tuple[str, str]]]:
    """(what you say, what Alexa's answer must contain) per ```text block with `you>` turns."""
    for match in FENCE.finditer(body):
        if match.group(1) != "text" or "you>" not in match.group(2):
            continue
        turns: list[tuple[str, str]] = []
        for line in match.group(2).splitlines():
            if line.startswith("you>"):
                turns.append((line[4:].strip(), ""))
            elif line.startswith("Alexa:"):
                turns[-1] = (turns[-1][0], line[6:].strip())
            elif turns and line.strip():
                turns[-1] = (turns[-1][0], f"{turns[-1][1]} {line.strip()}")
        yield turns


def heard_in_order(expected: str, answer: str) -> bool:
    position = 0
    flat = " ".join(answer.split())
    for fragment in (" ".join(part.split()) for part in expected.split("...")):
        if not fragment:
            continue
        found = flat.find(fragment, position)
        if found < 0:
            return False
        position = found + len(fragment)
    return True


@pytest.mark.parametrize("path", [ROOT / "README.md", ROOT / "docs" / "conversation.md"],
                         ids=lambda p: p.name)  # fmt: skip
def test_the_conversations_in_the_docs_are_what_the_skill_says(path: Path) -> None:
    blocks = list(conversations(text(path)))
    assert blocks
    for turns in blocks:
        chat = Chat(build_skill(store_factory=NullStore), clock=lambda: 1_795_230_000.0)
        for said, expected in turns:
            times = re.search(r"\((\w+) more times?\)", said)
            said = re.sub(r"\s*\(.*\)$", "", said)
            lines: list[str] = []
            for _ in range(WORDS[times.group(1)] if times else 1):
                lines = chat.say(said)
            answer = " ".join(line.removeprefix("Alexa: ") for line in lines
                              if line.startswith("Alexa: "))  # fmt: skip
            if expected:
                assert heard_in_order(expected, answer), f"{path.name}: {said!r}\n{answer}"
