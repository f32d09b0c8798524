"""Deploy artifact size: the function folder `sam build` makes, unzipped and zipped.

Method ``sam``: measure .aws-sam/build/SkillFunction as it is (tools/sam_build_check.sh
makes it). Method ``pip`` (when there is no sam build, or asked for): an equivalent folder,
``pip install --target`` of lambda/requirements.txt plus a copy of lambda/cramp_coach,
which is what `sam build` does for a python runtime. Zipped: every file deflated into one
archive, as `sam deploy` uploads it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAM_FUNCTION_DIR = REPO / ".aws-sam" / "build" / "SkillFunction"


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _top_level(root: Path, files: list[Path]) -> list[dict[str, Any]]:
    sizes: dict[str, int] = {}
    for path in files:
        name = path.relative_to(root).parts[0]
        sizes[name] = sizes.get(name, 0) + path.stat().st_size
    biggest = sorted(sizes.items(), key=lambda item: item[1], reverse=True)[:8]
    return [{"entry": name, "kib": round(size / 1024, 1)} for name, size in biggest]


def measure_dir(root: Path) -> dict[str, Any]:
    files = _files(root)
    unzipped = sum(p.stat().st_size for p in files)
    with tempfile.TemporaryDirectory(prefix="bench-zip-") as tmp:
        archive = Path(tmp) / "function.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in files:
                zf.write(path, path.relative_to(root).as_posix())
        zipped = archive.stat().st_size
    return {
        "files": len(files),
        "unzipped_bytes": unzipped,
        "zipped_bytes": zipped,
        "unzipped_mib": round(unzipped / 2**20, 2),
        "zipped_mib": round(zipped / 2**20, 2),
        "pycache_files": sum(1 for p in files if p.suffix == ".pyc"),
        "largest": _top_level(root, files),
    }


def build_with_pip(target: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(target),
            "-r",
            str(REPO / "lambda" / "requirements.txt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip install --target failed:\n{done.stdout}\n{done.stderr}")
    shutil.copytree(
        REPO / "lambda" / "cramp_coach",
        target / "cramp_coach",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    shutil.copy2(REPO / "lambda" / "requirements.txt", target / "requirements.txt")


def measure(method: str = "auto") -> dict[str, Any]:
    if method in ("auto", "sam") and SAM_FUNCTION_DIR.is_dir():
        built = time.strftime(
            "%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(SAM_FUNCTION_DIR))
        )
        return {
            "method": "sam build output (.aws-sam/build/SkillFunction)",
            "built_at": built,
            **measure_dir(SAM_FUNCTION_DIR),
        }
    if method == "sam":
        return {"skipped": "no .aws-sam/build/SkillFunction: run tools/sam_build_check.sh"}
    with tempfile.TemporaryDirectory(prefix="bench-artifact-") as tmp:
        target = Path(tmp) / "SkillFunction"
        build_with_pip(target)
        return {
            "method": "pip install --target -r lambda/requirements.txt + cramp_coach",
            **measure_dir(target),
        }
