"""As-deployed artifacts for the cold-start bench, all built the same way as the function.

- ``SkillFunction``: the real `sam build` output (.aws-sam/build/SkillFunction; `make bench`
  runs tools/sam_build_check.sh first), built by lambda/Makefile: the hash-locked
  requirements for x86_64/3.13 and unchecked-hash bytecode.
- ``hello``: the same recipe (lambda/Makefile's build-SkillFunction into a scratch folder),
  with bench/baselines/hello_world.py in place of the cramp_coach package, compiled alike.
- ``official``: the same again, plus ask-sdk-dynamodb-persistence-adapter and
  bench/baselines/official_persistence.py.
- ``floor``: the same again with bench/baselines/hello_botocore_read.py: the hello world
  plus one botocore read built at import, the floor for any design that reads a stored lock.
- ``runtime``: boto3 (the version in this environment) installed for python3.13 by pip,
  which byte-compiles it as the Lambda runtime's preinstalled copy is. Children put it after
  the artifact on sys.path, as /var/runtime comes after /var/task in Lambda.
- ``python``: a clean ``python3.13 -m venv`` (no pip, nothing installed). The interpreters
  pyenv provides here carry a site ``.pth`` that imports certifi in every process when it can
  find it (the artifacts have it), which adds the same milliseconds to every child and so
  flatters every ratio; a venv does not read the base installation's site-packages.

The children run on that python3.13 (the function's runtime) with PYTHONDONTWRITEBYTECODE=1,
as the read-only /var/task allows no bytecode to be written.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAM_FUNCTION_DIR = REPO / ".aws-sam" / "build" / "SkillFunction"
BASELINES = REPO / "bench" / "baselines"
ADAPTER = "ask-sdk-dynamodb-persistence-adapter==1.19.0"


def python313() -> str | None:
    """The real python3.13 executable (through pyenv's shim), or None."""
    if shutil.which("python3.13") is None:
        return None
    env = {**os.environ, "PYENV_VERSION": os.environ.get("PYENV_VERSION", "3.13.0:3.11.7")}
    done = subprocess.run(
        ["python3.13", "-c", "import sys; print(sys.executable)"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return done.stdout.strip() or None if done.returncode == 0 else None


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... failed:\n{done.stdout}\n{done.stderr}")


def _makefile_build(python: str, target: Path) -> None:
    _run(
        [
            "make",
            "-s",
            "-C",
            str(REPO / "lambda"),
            "build-SkillFunction",
            f"ARTIFACTS_DIR={target}",
            f"PYTHON={python}",
        ]
    )


def _pip_target(python: str, target: Path, *requirements: str, platform: bool) -> None:
    flags = (
        [
            "--platform",
            "manylinux2014_x86_64",
            "--implementation",
            "cp",
            "--python-version",
            "3.13",
            "--only-binary=:all:",
            "--no-deps",
            "--no-compile",
        ]
        if platform
        else []
    )
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--root-user-action=ignore",
            *flags,
            "--target",
            str(target),
            *requirements,
        ]
    )


def _compile(python: str, *paths: Path) -> None:
    _run(
        [
            python,
            "-W",
            "ignore::SyntaxWarning",
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "unchecked-hash",
            *map(str, paths),
        ]
    )


def clean_python(python: str, root: Path) -> Path:
    """A venv of `python` with nothing in it: the interpreter every child runs on."""
    venv = root / "clean313"
    _run([python, "-m", "venv", "--without-pip", str(venv)])
    return venv / "bin" / "python"


def build(root: Path, function_dir: Path | None = None) -> dict[str, Path]:
    """Build hello, floor, official, runtime and a clean interpreter under root;
    SkillFunction is the sam build output (or `function_dir`: another build of the function
    made by lambda/Makefile, e.g. an earlier commit's, to compare with)."""
    python = python313()
    if python is None:
        raise RuntimeError("python3.13 is not on PATH (pyenv: PYENV_VERSION=3.13.0:3.11.7)")
    function_dir = function_dir or SAM_FUNCTION_DIR
    if not function_dir.is_dir():
        raise RuntimeError(f"no {function_dir}: run `make deploy-check` first")
    hello = root / "hello"
    _makefile_build(python, hello)
    shutil.rmtree(hello / "cramp_coach")
    official = root / "official"
    shutil.copytree(hello, official, symlinks=True)
    floor = root / "floor"
    shutil.copytree(hello, floor, symlinks=True)
    shutil.copy2(BASELINES / "hello_world.py", hello / "hello_world.py")
    _compile(python, hello / "hello_world.py")
    shutil.copy2(BASELINES / "hello_botocore_read.py", floor / "hello_botocore_read.py")
    _compile(python, floor / "hello_botocore_read.py")
    _pip_target(python, official, ADAPTER, platform=True)
    shutil.copy2(BASELINES / "official_persistence.py", official / "official_persistence.py")
    _compile(python, official)
    runtime = root / "runtime"
    boto3 = importlib.metadata.version("boto3")
    _pip_target(python, runtime, f"boto3=={boto3}", platform=False)
    return {
        "python": clean_python(python, root),
        "SkillFunction": function_dir,
        "hello": hello,
        "floor": floor,
        "official": official,
        "runtime": runtime,
    }
