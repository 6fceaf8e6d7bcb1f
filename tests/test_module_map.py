"""The README's module map matches the package tree: every module is listed, every entry exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mcp_agent_otel"
START, END = "<!-- module map -->", "<!-- /module map -->"
ENTRY = re.compile(r"^(?P<indent> *)(?P<name>[\w.]+/?)(?:\s+.*)?$")


def map_entries(readme: str) -> set[str]:
    """Paths (relative to the repository) named by the map's indented tree."""
    block = readme.split(START, 1)[1].split(END, 1)[0]
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith("```")]
    stack: list[tuple[int, str]] = []
    paths: set[str] = set()
    for line in lines:
        match = ENTRY.match(line)
        assert match, f"module map line not understood: {line!r}"
        indent, name = len(match["indent"]), match["name"]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = "".join(parent for _, parent in stack) + name
        paths.add(path.rstrip("/"))
        if name.endswith("/"):
            stack.append((indent, name))
    return paths


def package_modules() -> set[str]:
    """Every module and package of mcp_agent_otel, relative to the repository."""
    found = {"mcp_agent_otel"}
    for path in PACKAGE.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        relative = path.relative_to(ROOT)
        found.add(str(relative.parent) if path.name == "__init__.py" else str(relative))
    return found


def test_every_module_is_in_the_map_and_every_entry_exists() -> None:
    listed = map_entries((ROOT / "README.md").read_text())
    assert sorted(package_modules() - listed) == []  # modules missing from the map
    assert sorted(p for p in listed if not (ROOT / p).exists()) == []  # entries that are gone


def test_the_parser_reads_nesting() -> None:
    text = f"{START}\n```\npkg/\n  a.py   one\n  sub/   two\n    b.py\n  c.py\n```\n{END}"
    assert map_entries(text) == {"pkg", "pkg/a.py", "pkg/sub", "pkg/sub/b.py", "pkg/c.py"}
