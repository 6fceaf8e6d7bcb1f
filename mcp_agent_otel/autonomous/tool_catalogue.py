"""The tool catalogue on disk: what each configured MCP server listed last time.

With it, discovery needs no server process: a stdio server is started when a step first calls
one of its tools (``ToolDiscovery``'s lazy connect), and its listing is checked then. An entry
is keyed by what decides the server's tools — its command (and the executable's size and
modification time), arguments, configured environment or URL, and this package's version —
and is used for ``MAX_AGE_S`` at most. A server is listed afresh when its entry is missing,
stale or keyed differently, when it announces ``tools/list_changed``, and when it is first
connected (a listing that differs replaces the entry and changes the fingerprint).

The file is JSON (``{"version": 1, "servers": {key: entry}}``), written whole to a temporary
file and renamed, so readers never see half of it. A file that cannot be read or parsed is
treated as empty; a file that cannot be written only costs the next start-up its listing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import mcp.types as mcp_types

from mcp_agent_otel._version import __version__
from mcp_agent_otel.autonomous.models import canonical_json

FORMAT_VERSION: Final = 1
MAX_AGE_S: Final = 24 * 3600.0


def catalogue_key(
    command: str | None,
    args: Sequence[str],
    env: Sequence[tuple[str, str]],
    url: str | None,
) -> str:
    """What a server's listing depends on, hashed: its command line, its configured
    environment or URL, the executable's size and mtime (an upgrade changes them), and
    this package's version (it decides how tools are read)."""
    executable: list[Any] = []
    if command:
        found = shutil.which(command)
        if found:
            with contextlib.suppress(OSError):
                st = os.stat(found)
                executable = [found, st.st_size, st.st_mtime_ns]
    material = [__version__, command, list(args), [list(kv) for kv in env], url, executable]
    return hashlib.sha256(canonical_json(material).encode()).hexdigest()[:24]


def read_catalogue(path: Path) -> dict[str, Any]:
    """The entries in the file at ``path`` by key ({} when it is missing or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        return {}
    servers = data.get("servers")
    return servers if isinstance(servers, dict) else {}


def cached_tools(
    entries: Mapping[str, Any], key: str, now: float | None = None
) -> tuple[tuple[mcp_types.Tool, ...], bool] | None:
    """The tools stored under ``key`` and whether the server announces list changes, or None
    when there is no usable entry (missing, older than ``MAX_AGE_S``, or malformed)."""
    entry = entries.get(key)
    if not isinstance(entry, dict):
        return None
    stored_at = entry.get("stored_at")
    now = time.time() if now is None else now
    if not isinstance(stored_at, int | float) or not 0 <= now - stored_at < MAX_AGE_S:
        return None
    raw = entry.get("tools")
    if not isinstance(raw, list):
        return None
    try:
        tools = tuple(mcp_types.Tool.model_validate(t) for t in raw)
    except ValueError:
        return None
    return tools, bool(entry.get("list_changed"))


def store_tools(
    path: Path,
    key: str,
    server: str,
    tools: Sequence[mcp_types.Tool],
    list_changed: bool,
    now: float | None = None,
) -> bool:
    """Record a server's listing under ``key`` (other entries kept); False if not written."""
    now = time.time() if now is None else now
    entries = {  # entries past their age are dropped: servers no longer configured go
        k: e
        for k, e in read_catalogue(path).items()
        if isinstance(e, dict)
        and isinstance(e.get("stored_at"), int | float)
        and now - e["stored_at"] < MAX_AGE_S
    }
    entries[key] = {
        "server": server,
        "stored_at": now,
        "list_changed": list_changed,
        "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools],
    }
    data = json.dumps({"version": FORMAT_VERSION, "servers": entries}, sort_keys=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        return False
    return True


__all__ = ["MAX_AGE_S", "cached_tools", "catalogue_key", "read_catalogue", "store_tools"]
