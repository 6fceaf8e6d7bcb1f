"""Install the five real MCP servers at pinned versions under ``.mcp-agent-otel/real-servers/``.

The Python servers are pip-installed into their own venv, the Node.js ones npm-installed
into a folder. A stamp file records what was installed: a second call with the same pins
checks that the entry points exist and returns at once. A lock keeps two installers (``make
eval`` and ``make test`` side by side) from installing into the same folder together.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import subprocess
import sys
from pathlib import Path

PYPI_PINS = ("mcp-server-time==2026.10.19", "mcp-server-git==2026.10.19")
NPM_PINS = (
    "@modelcontextprotocol/server-filesystem@2026.8.31",
    "@modelcontextprotocol/server-memory@2026.8.31",
    "@modelcontextprotocol/server-everything@2026.8.31",
)
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO_ROOT / ".mcp-agent-otel" / "real-servers"
STAMP_NAME = "installed.json"


class InstallError(RuntimeError):
    """A server could not be installed; the message says which step failed and why."""


@dataclasses.dataclass(frozen=True)
class Installed:
    """Where each server's program is: what an ``mcpServers`` entry needs to start it."""

    time: Path  # console script
    git: Path  # console script
    filesystem: Path  # node entry script
    memory: Path
    everything: Path


def _pins() -> dict[str, list[str]]:
    return {"pypi": list(PYPI_PINS), "npm": list(NPM_PINS)}


def _npm_entry(node_dir: Path, package: str) -> Path:
    """The script a package's ``bin`` names, read from its package.json (not guessed)."""
    manifest_path = node_dir / "node_modules" / package / "package.json"
    manifest = json.loads(manifest_path.read_text())
    bin_field = manifest.get("bin")
    if isinstance(bin_field, str):
        script = bin_field
    elif isinstance(bin_field, dict) and bin_field:
        script = next(iter(bin_field.values()))
    else:
        raise InstallError(f"{manifest_path} names no bin entry point")
    return (manifest_path.parent / script).resolve()


def _locate(base: Path) -> Installed:
    node_dir = base / "node"
    py_bin = base / "py" / "bin"
    return Installed(
        time=py_bin / "mcp-server-time",
        git=py_bin / "mcp-server-git",
        filesystem=_npm_entry(node_dir, "@modelcontextprotocol/server-filesystem"),
        memory=_npm_entry(node_dir, "@modelcontextprotocol/server-memory"),
        everything=_npm_entry(node_dir, "@modelcontextprotocol/server-everything"),
    )


def _complete(base: Path) -> Installed | None:
    """The installation when the stamp matches the pins and every entry point exists."""
    stamp = base / STAMP_NAME
    try:
        if json.loads(stamp.read_text()) != _pins():
            return None
        found = _locate(base)
    except (OSError, ValueError, InstallError):
        return None
    paths = dataclasses.astuple(found)
    return found if all(Path(p).is_file() for p in paths) else None


def _step(what: str, command: list[str], cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise InstallError(f"{what}: {command[0]} not found ({exc}); install it first") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise InstallError(
            f"{what} failed (exit {done.returncode}): {' '.join(command)}\n{tail}\n"
            "The real-server evaluation needs the PyPI and npm registries: check the "
            "network or the pip/npm proxy settings, then run `make real-servers` again."
        )


def install(base: Path = DEFAULT_DIR, log: bool = True) -> Installed:
    """Install the pinned servers under ``base`` unless the stamp says they are there."""
    found = _complete(base)
    if found is not None:
        return found
    base.mkdir(parents=True, exist_ok=True)
    with (base / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _complete(base)  # another installer may have finished while we waited
        if found is not None:
            return found
        (base / STAMP_NAME).unlink(missing_ok=True)
        say = print if log else (lambda *_: None)
        py_dir = base / "py"
        if not (py_dir / "bin" / "python").exists():
            say(f"real servers: creating a venv in {py_dir}")
            _step("creating the servers' venv", [sys.executable, "-m", "venv", str(py_dir)])
        say(f"real servers: pip install {' '.join(PYPI_PINS)}")
        _step(
            "pip install",
            [
                str(py_dir / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *PYPI_PINS,
            ],
        )
        node_dir = base / "node"
        node_dir.mkdir(exist_ok=True)
        manifest = node_dir / "package.json"
        if not manifest.exists():
            manifest.write_text('{"private": true, "name": "real-servers"}\n')
        say(f"real servers: npm install {' '.join(NPM_PINS)}")
        _step(
            "npm install",
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--save-exact",
                "--loglevel=error",
                *NPM_PINS,
            ],
            cwd=node_dir,
        )
        found = _locate(base)
        missing = [str(p) for p in dataclasses.astuple(found) if not Path(p).is_file()]
        if missing:
            raise InstallError(f"installed, but these entry points are missing: {missing}")
        (base / STAMP_NAME).write_text(json.dumps(_pins()) + "\n")
        return found


def main() -> int:
    try:
        found = install()
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, path in dataclasses.asdict(found).items():
        print(f"{name:<11} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
