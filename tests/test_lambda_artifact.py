"""The Lambda artifact as lambda/Makefile builds it for `sam build`: locked, not shadowing the
runtime's botocore, with bytecode, and answering a one-shot on Python 3.13 beside boto3.

The build downloads the locked wheels for Linux x86_64 (from the package index, or pip's cache)
into a temporary folder; the checks are tools/check_artifact.py's, each shown to catch a
planted error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import check_artifact  # noqa: E402


def find_python313() -> str | None:
    """The real python3.13 executable (through pyenv's shim, as tools/sam_build_check.sh)."""
    if shutil.which("python3.13") is None:
        return None
    env = {**os.environ, "PYENV_VERSION": os.environ.get("PYENV_VERSION", "3.13.0:3.11.7")}
    found = subprocess.run(
        ["python3.13", "-c", "import sys; print(sys.executable)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    return found.stdout.strip() or None if found.returncode == 0 else None


PY313 = find_python313()
REQUIREMENTS = REPO / "lambda" / "requirements.txt"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("artifact")
    # pip downloads for the target platform whatever interpreter runs it; the bytecode must be
    # the runtime's (3.13), so without python3.13 the build still runs and the .pyc check
    # below is skipped.
    python = PY313 or sys.executable
    done = subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(REPO / "lambda"),
            "build-SkillFunction",
            f"ARTIFACTS_DIR={out}",
            f"PYTHON={python}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def problems(root: Path) -> list[str]:
    found = check_artifact.check(root, REQUIREMENTS)
    if PY313 is None:
        found = [p for p in found if "bytecode" not in p]
    return found


def test_the_built_artifact_passes_every_check(artifact: Path) -> None:
    assert problems(artifact) == []
    assert (artifact / "cramp_coach" / "alexa" / "display" / "step.json").is_file()


def planted(artifact: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "planted"
    shutil.copytree(artifact, copy, symlinks=True)
    return copy


def test_a_bundled_dateutil_4_is_caught(artifact: Path, tmp_path: Path) -> None:
    root = planted(artifact, tmp_path)
    (dist,) = root.glob("python_dateutil-*.dist-info")
    meta = dist / "METADATA"
    text = meta.read_text(encoding="utf-8")
    version = next(line for line in text.splitlines() if line.startswith("Version:"))
    meta.write_text(text.replace(version, "Version: 4.0.0"), encoding="utf-8")
    found = problems(root)
    assert any(
        "python-dateutil 4.0.0 shadows the runtime's copy: botocore requires" in p for p in found
    ), found
    assert any("python-dateutil 4.0.0 is not pinned" in p for p in found)


def test_bundled_botocore_is_caught(artifact: Path, tmp_path: Path) -> None:
    root = planted(artifact, tmp_path)
    (root / "botocore").mkdir()
    assert "botocore bundled: the Lambda runtime provides it" in problems(root)


@pytest.mark.skipif(PY313 is None, reason="needs python3.13, the function's runtime")
def test_missing_or_checked_bytecode_is_caught(artifact: Path, tmp_path: Path) -> None:
    root = planted(artifact, tmp_path)
    for pyc in (root / "cramp_coach" / "alexa" / "__pycache__").glob("skill.*.pyc"):
        pyc.unlink()
    subprocess.run([str(PY313), "-m", "py_compile", str(root / "six.py")], check=True)
    found = problems(root)
    assert "no cpython-313 bytecode for cramp_coach/alexa/skill.py" in found
    assert any("six.cpython-313.pyc is not unchecked-hash" in p for p in found)


def runtime_boto3(tmp_path: Path) -> Path:
    """boto3 and its own dependencies as the runtime has them (/var/runtime): pure Python,
    taken from this environment, behind the artifact on sys.path as in Lambda."""
    site = Path(sysconfig.get_paths()["purelib"])
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in check_artifact.RUNTIME_PROVIDED:
        (runtime / name).symlink_to(site / name)
    return runtime


@pytest.mark.skipif(PY313 is None, reason="needs python3.13, the function's runtime")
def test_the_artifact_answers_a_one_shot_on_313_beside_boto3(
    artifact: Path, tmp_path: Path
) -> None:
    code = (
        "import json, sys\n"
        "from cramp_coach.hosting.lambda_entry import handler\n"
        "from cramp_coach.hosting.local.envelopes import Session\n"
        "request = Session().intent('CrampIntent', 1795230000.0,\n"
        "    {'muscle': ('calf', 'CALF'), 'helper': ('her', 'PARTNER')})\n"
        "out = handler(request, None)\n"
        "import boto3, botocore, dateutil, urllib3\n"
        "boto3.session.Session().client('dynamodb', region_name='us-east-1')\n"
        "print(json.dumps({'ssml': out['response']['outputSpeech']['ssml'],\n"
        "  'dateutil': dateutil.__file__, 'pyc': sys.flags.dont_write_bytecode,\n"
        "  'version': sys.version_info[:2]}))\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": f"{artifact}:{runtime_boto3(tmp_path)}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CRAMP_STORE": "dynamodb",
        "CRAMP_TABLE": "t",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "cramp-skill",
        "CRAMP_USER_SALT": "test-salt",
    }
    done = subprocess.run(
        [
            str(PY313),
            "-I",
            "-c",
            f"import sys; sys.path[:0] = {env['PYTHONPATH'].split(':')!r}\n" + code,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["version"] == [3, 13]
    assert "Help them sit back or lie down" in result["ssml"]
    assert result["dateutil"].startswith(str(artifact))  # the bundled copy serves botocore
