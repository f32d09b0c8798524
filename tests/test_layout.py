"""The layout shows the design: five parts, arrows one way, no circles, small modules.

docs/ARCHITECTURE.md draws the parts (core, content, memory, alexa, hosting) and the arrows
between them; this reads every import of the package (those under TYPE_CHECKING and inside
functions too) and holds the code to that picture.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lambda" / "cramp_coach"
PARTS = ("core", "content", "memory", "alexa", "hosting")
# Which parts each part may import (itself always).
ALLOWED = {
    "content": set(),
    "core": {"content"},
    "memory": {"core", "content"},
    "alexa": {"core", "content", "memory"},
    "hosting": {"alexa", "core", "content", "memory"},
}
# Libraries that mean I/O, transport or Alexa: never in the core or the content.
FORBIDDEN_IN_PURE = ("ask_sdk", "boto3", "botocore", "flask", "sqlite3", "socket", "urllib",
                     "requests", "http", "threading")  # fmt: skip
MAX_LINES = 330  # "about 300"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from cramp_coach.memory import turn` imports the module memory.turn
            found |= {f"{node.module}.{alias.name}" for alias in node.names
                      if f"{node.module}.{alias.name}" in MODULES}  # fmt: skip
    return found


def part_of(module: str) -> str | None:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[1] in PARTS else None


def test_every_module_is_in_a_part() -> None:
    loose = [m for m in MODULES if m not in ("cramp_coach", "cramp_coach.__main__")
             and part_of(m) is None]  # fmt: skip
    assert loose == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_arrows(module: str) -> None:
    part = part_of(module)
    if part is None:
        return
    for imported in imports(MODULES[module]):
        if imported.startswith("cramp_coach."):
            other = part_of(imported)
            assert other == part or other in ALLOWED[part], f"{module} imports {imported}"
        elif part in ("core", "content"):
            root = imported.split(".")[0]
            assert root not in FORBIDDEN_IN_PURE, f"{module} ({part}) imports {imported}"


def test_no_import_circles() -> None:
    graph = {m: {i for i in imports(p) if i in MODULES and i != m} for m, p in MODULES.items()}
    # a package's __init__ is imported by its submodules anyway: only module -> module edges
    graph = {m: {i for i in edges if not m.startswith(i + ".")} for m, edges in graph.items()}
    circles: list[list[str]] = []

    def visit(node: str, path: list[str], seen: set[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in path:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in seen:
                seen.add(nxt)
                visit(nxt, [*path, nxt], seen)

    seen: set[str] = set()
    for start in sorted(graph):
        if start not in seen:
            seen.add(start)
            visit(start, [start], seen)
    assert circles == []


SCRIPTS = sorted(
    p for folder in ("bench", "tools") for p in (PACKAGE.parents[1] / folder).rglob("*.py")
)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(PACKAGE.parents[1])))
def test_bench_and_tools_stay_small(script: Path) -> None:
    lines = len(script.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{script.name}: {lines} lines"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines"
