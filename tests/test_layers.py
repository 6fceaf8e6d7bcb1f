"""The import-layering contracts of pyproject.toml hold, and they would catch a violation.

`lint-imports` (import-linter) checks them; `make lint` runs it too. The second test copies
the package, adds one import that goes against the layers, and expects the contract to fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_layering_contracts_are_kept() -> None:
    proc = _lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("tracing/semconv.py", "from mcp_agent_otel.caching import cache_keys", "one way"),
        ("autonomous/ranking.py", "import mcp_agent_otel.autonomous.servers.units", "demo servers"),
        ("caching/cache_keys.py", "import rich", "the CLI renders"),
    ],
)
def test_a_violation_breaks_the_contract(
    tmp_path: Path, module: str, bad_import: str, contract: str
) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        ROOT / "mcp_agent_otel",
        tmp_path / "mcp_agent_otel",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    target = tmp_path / "mcp_agent_otel" / module
    target.write_text(target.read_text() + f"\n{bad_import}  # noqa\n")
    proc = _lint_imports(tmp_path)
    assert proc.returncode == 1, proc.stdout
    assert "1 broken" in proc.stdout
    broken = proc.stdout.split("Broken contracts")[1]
    assert contract in broken
