"""The ``mcpServers`` configuration: what servers to start and what each is given.

Pure functions over the JSON shape MCP clients already use (stdio ``command``/``args``/``env``
or streamable-HTTP ``url``): validation with messages that name the file and the key, the
directories a server's arguments name (the context its tools' paths are relative to), and
the environment a stdio server is given (least privilege).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_agent_otel.autonomous.errors import ServerConfigError
from mcp_agent_otel.tracing.child_env import telemetry_env

DEFAULT_SERVER_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ServerSpec:
    """One entry of ``mcpServers``: a stdio command or a streamable-HTTP URL."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    url: str | None = None
    timeout_s: float = DEFAULT_SERVER_TIMEOUT_S
    # The server traces itself from our OTEL_* settings (the bundled servers, or a config entry
    # with "telemetry": true). Only such servers are given telemetry settings, never credentials.
    telemetry: bool = False

    def directories(self, cwd: str | os.PathLike[str] | None = None) -> tuple[str, ...]:
        """The existing directories named in the server's command-line arguments, absolute and
        in order: a filesystem server's allowed directory, a git server's repository."""
        base = Path(cwd) if cwd is not None else Path.cwd()
        found: list[str] = []
        for arg in self.args:
            if not arg or arg.startswith("-") or "\n" in arg:
                continue
            candidate = Path(arg).expanduser()
            path = candidate if candidate.is_absolute() else base / candidate
            try:
                if path.is_dir():
                    resolved = str(path.resolve())
                    if resolved not in found:
                        found.append(resolved)
            except OSError:
                continue
        return tuple(found)


def parse_servers_config(data: Any, source: str = "<config>") -> tuple[ServerSpec, ...]:
    """Validate an ``{"mcpServers": {...}}`` mapping; every problem names ``source`` and the key."""

    def bad(problem: str) -> ServerConfigError:
        return ServerConfigError(f"{source}: {problem}")

    if not isinstance(data, dict) or not isinstance(data.get("mcpServers"), dict):
        raise bad(
            'expected a JSON object with an "mcpServers" object, e.g. '
            '{"mcpServers": {"search": {"command": "python", "args": ["server.py"]}}}'
        )
    servers = data["mcpServers"]
    if not servers:
        raise bad('"mcpServers" is empty: configure at least one server')
    specs: list[ServerSpec] = []
    for name, entry in servers.items():
        where = f'server "{name}"'
        if not isinstance(entry, dict):
            raise bad(f"{where} must be an object with a command or a url")
        if entry.get("disabled") is True:
            continue
        command, url = entry.get("command"), entry.get("url")
        if (command is None) == (url is None):
            raise bad(f'{where} needs exactly one of "command" (stdio) or "url" (streamable HTTP)')
        if command is not None and (not isinstance(command, str) or not command.strip()):
            raise bad(f'{where}: "command" must be a non-empty string')
        if url is not None and (
            not isinstance(url, str) or not url.startswith(("http://", "https://"))
        ):
            raise bad(f'{where}: "url" must be an http:// or https:// URL')
        args = entry.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise bad(f'{where}: "args" must be a list of strings')
        env = entry.get("env", {})
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise bad(f'{where}: "env" must be an object of string values')
        timeout = entry.get("timeout", DEFAULT_SERVER_TIMEOUT_S)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise bad(f'{where}: "timeout" must be a positive number of seconds')
        telemetry = entry.get("telemetry", False)
        if not isinstance(telemetry, bool):
            raise bad(f'{where}: "telemetry" must be true or false')
        specs.append(
            ServerSpec(
                name=str(name),
                command=command,
                args=tuple(args),
                env=tuple(sorted(env.items())),
                url=url,
                timeout_s=float(timeout),
                telemetry=telemetry,
            )
        )
    if not specs:
        raise bad("every server is disabled: enable at least one")
    return tuple(specs)


def load_servers_config(path: str | os.PathLike[str]) -> tuple[ServerSpec, ...]:
    """Read and validate an mcpServers JSON file; errors name the file and the problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ServerConfigError(
            f"{p}: no such servers file (pass --servers PATH to a JSON "
            'file of the form {"mcpServers": {...}})'
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ServerConfigError(f"{p}: cannot read the servers file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ServerConfigError(
            f"{p}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return parse_servers_config(data, str(p))


def server_env(spec: ServerSpec, environ: Mapping[str, str]) -> dict[str, str]:
    """What a stdio server's environment gets beyond the SDK's minimal one (HOME, PATH, ...).

    Its configured ``env``; and, only for a server that traces itself (``spec.telemetry``),
    the telemetry settings of ``telemetry_env`` — which never include exporter headers,
    tokens or other credentials. A third-party server sees none of our settings, as desktop
    MCP clients do it.
    """
    env = telemetry_env(environ) if spec.telemetry else {}
    return env | dict(spec.env)
