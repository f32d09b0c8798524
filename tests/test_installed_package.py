"""The local chat works from an installed package, not only from the repository.

The interaction models ship inside the package: pyproject.toml maps the repository's
`interaction_models/` (the one source) to the package `cramp_coach.interaction_models`, so
the build copies the models into the wheel, with no link or copy in the source tree. This test
builds the package the way a wheel is built (setuptools' build_py, from a copy of the project),
then runs the chat from an unrelated folder with only the built package on the path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_tree_has_no_links_and_the_package_list_is_complete() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-s"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    links = [line.split("\t")[1] for line in tracked if line.startswith("120000")]
    assert links == [], f"symbolic links break checkouts on Windows: {links}"
    assert not (ROOT / "lambda" / "cramp_coach" / "interaction_models").exists()

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT / "lambda").parts)
        for init in (ROOT / "lambda").rglob("__init__.py")
    }
    assert found | {"cramp_coach.interaction_models"} == listed


def test_chat_runs_from_a_built_package_outside_the_repository(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", project)
    shutil.copy2(ROOT / "LICENSE", project)
    shutil.copytree(ROOT / "interaction_models", project / "interaction_models")
    shutil.copytree(
        ROOT / "lambda",
        project / "lambda",
        symlinks=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    built = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py",
         "--build-lib", str(built)],
        cwd=project, check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    shipped = built / "cramp_coach" / "interaction_models" / "en-US.json"
    assert shipped.is_file() and not shipped.is_symlink()
    assert shipped.read_bytes() == (ROOT / "interaction_models" / "en-US.json").read_bytes()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(built), "CRAMP_STORE": "none"}
    where = subprocess.run(
        [sys.executable, "-c",
         "import cramp_coach.hosting.local.nlu as n; print(n.__file__); print(n.MODELS_DIR)"],
        cwd=elsewhere, env=env, check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    module, models = where.stdout.split()
    assert Path(module).is_relative_to(built) and Path(models).is_relative_to(built)

    chat = subprocess.run(
        [sys.executable, "-m", "cramp_coach", "chat", "--store", "none"],
        input="Alexa, tell cramp coach my calf is cramping\nwhat number do I call\n",
        cwd=elsewhere, env=env, check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "[CrampIntent helper='my'->ALONE muscle='calf'->CALF]" in chat.stdout
    assert "[EmergencyNumberIntent]" in chat.stdout
    assert "Traceback" not in chat.stdout + chat.stderr
