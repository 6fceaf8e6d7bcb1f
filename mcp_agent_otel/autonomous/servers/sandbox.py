"""The files server's sandbox: where it is, and which paths stay inside it.

``check_relative`` is pure: it refuses absolute paths, ``~``, ``..`` components and NUL
bytes before anything touches the disk. ``resolve`` then follows symlinks and refuses a
path whose real location is outside the sandbox's real location (a symlink pointing out).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath

from mcp_agent_otel.autonomous.servers import ENV_SANDBOX
from mcp_agent_otel.errors import InputError
from mcp_agent_otel.tracing.setup import home_dir


class SandboxError(InputError):
    """A path the files server refuses; the message says why and what to pass instead."""


def sandbox_root(env: Mapping[str, str] | None = None) -> Path:
    """``$MCP_AGENT_OTEL_SANDBOX``, or ``$MCP_AGENT_OTEL_HOME/sandbox``, made absolute."""
    env = os.environ if env is None else env
    configured = env.get(ENV_SANDBOX, "").strip()
    root = Path(configured).expanduser() if configured else home_dir(env) / "sandbox"
    return Path(os.path.abspath(root))


def check_relative(path: str) -> PurePosixPath:
    """``path`` as a clean relative path inside the sandbox, or ``SandboxError``."""
    if "\x00" in path:
        raise SandboxError("the path contains a NUL byte")
    text = path.strip().replace("\\", "/")
    if not text or text == ".":
        return PurePosixPath(".")
    if text.startswith(("/", "~")) or PureWindowsPath(path.strip()).drive:
        raise SandboxError(
            f"{path!r} is an absolute path; the files server only accepts paths relative to "
            "its sandbox directory, e.g. 'notes/todo.txt'"
        )
    parts = PurePosixPath(text).parts
    if ".." in parts:
        raise SandboxError(
            f"{path!r} contains '..'; paths may not leave the sandbox directory: use a path "
            "relative to the sandbox without '..', e.g. 'reports/summary.txt'"
        )
    return PurePosixPath(*[p for p in parts if p != "."]) if parts else PurePosixPath(".")


def is_within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def resolve(root: Path, path: str) -> Path:
    """The real absolute location of ``path`` in the sandbox at ``root`` (symlinks followed).

    Refuses (``SandboxError``) anything whose real location is not inside the sandbox.
    The file itself need not exist.
    """
    relative = check_relative(path)
    real_root = root.resolve()
    real = (real_root / relative).resolve()
    if not is_within(real, real_root):
        raise SandboxError(
            f"{path!r} leads outside the sandbox directory (through a symbolic link); "
            "the files server only reads and writes inside its sandbox"
        )
    return real


def display(root: Path, real: Path) -> str:
    """A real path inside the sandbox as the relative, '/'-separated name tools show."""
    relative = real.relative_to(root.resolve())
    return relative.as_posix() if relative.parts else "."
