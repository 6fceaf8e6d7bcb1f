"""Demo MCP server ``files``: read, write, list and search files inside a sandbox directory.

Run: ``python -m mcp_agent_otel.autonomous.servers.files`` (stdio).

The sandbox is ``$MCP_AGENT_OTEL_SANDBOX`` (default ``$MCP_AGENT_OTEL_HOME/sandbox``). It is
created on start, with two sample files when it did not exist yet (``README.txt`` and
``reports/latency_ms.csv``), so demo tasks have something to read. Every path is relative
to the sandbox; absolute paths, ``..`` and symlinks that lead out are refused with a tool
error. Writes replace a file atomically (a temporary file renamed over it), so a failed
write never leaves a half-written file.

Tools: read_file, write_file, list_directory, search_files, file_info.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from mcp_agent_otel.autonomous.servers import ENV_SANDBOX
from mcp_agent_otel.autonomous.servers.runtime import LOG_LEVEL, serve
from mcp_agent_otel.autonomous.servers.sandbox import (
    SandboxError,
    display,
    resolve,
    sandbox_root,
)

NAME = "files"
MAX_FILE_BYTES = 1_000_000
MAX_SEARCH_RESULTS = 200
MAX_LINES_PER_MATCH = 5

SAMPLE_FILES = {
    "README.txt": (
        "This is the sandbox of the mcp-agent-otel files server.\n"
        "\n"
        "The files server reads and writes files only inside this directory. Paths are "
        "relative to it: absolute paths, '..' and symbolic links that lead outside are "
        "refused. The agent uses it to save reports, notes and results of its tasks.\n"
    ),
    "reports/latency_ms.csv": (
        "operation,p50_ms,p95_ms\n"
        "task_analyzer.analyze,0.4,0.9\n"
        "tool_discovery.discover,3.1,7.8\n"
        "decision_engine.decide,0.7,1.6\n"
        "meta_coordinator.execute,12.5,31.0\n"
    ),
}


# --- I/O core (each function takes the sandbox root) -------------------------------------------


def _locate(root: Path, path: str) -> Path:
    try:
        return resolve(root, path)
    except SandboxError as exc:
        raise ToolError(str(exc)) from None


def prepare_sandbox(root: Path) -> bool:
    """Create the sandbox; seed the sample files when it is new. True if it was created."""
    if root.is_dir():
        return False
    root.mkdir(parents=True, exist_ok=True)
    for name, text in SAMPLE_FILES.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return True


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


def _read_bytes(real: Path, shown: str) -> bytes:
    try:
        # O_NOFOLLOW: the checked path must not have been swapped for a symlink meanwhile.
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise ToolError(
            f"no such file {shown!r} in the sandbox: use list_directory or search_files to "
            "find files"
        ) from None
    except IsADirectoryError:
        raise ToolError(f"{shown!r} is a directory: use list_directory to see its files") from None
    except OSError as exc:
        raise ToolError(f"cannot open {shown!r}: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ToolError(f"{shown!r} is a directory: use list_directory to see its files")
        raise ToolError(f"{shown!r} is not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        os.close(fd)
        raise ToolError(
            f"{shown!r} is {info.st_size:,} bytes; read_file reads files up to "
            f"{MAX_FILE_BYTES:,} bytes"
        )
    with os.fdopen(fd, "rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def read_text(root: Path, path: str) -> str:
    real = _locate(root, path)
    shown = display(root, real)
    data = _read_bytes(real, shown)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(
            f"{shown!r} is not a UTF-8 text file; read_file reads text files only"
        ) from None


def _append(real: Path, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(real, flags, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _replace(real: Path, data: bytes) -> None:
    """Write to a temporary file beside ``real`` and rename it over: all or nothing."""
    fd, temp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, real)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_text(root: Path, path: str, content: str, append: bool = False) -> dict[str, Any]:
    real = _locate(root, path)
    shown = display(root, real)
    if shown == ".":
        raise ToolError("pass a file name to write, e.g. 'notes/summary.txt'")
    data = content.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise ToolError(
            f"the content is {len(data):,} bytes; write_file writes at most {MAX_FILE_BYTES:,}"
        )
    if real.is_dir():
        raise ToolError(f"{shown!r} is a directory: pass a file name inside it")
    existed = real.exists()
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        if append:
            _append(real, data)
        else:
            _replace(real, data)
    except (FileExistsError, NotADirectoryError):
        raise ToolError(f"cannot write {shown!r}: a parent of it is a file") from None
    except OSError as exc:
        raise ToolError(f"cannot write {shown!r}: {exc.strerror or exc}") from None
    return {
        "path": shown,
        "bytes_written": len(data),
        "size": real.stat().st_size,
        "created": not existed,
        "appended": append,
    }


def list_entries(root: Path, path: str = ".") -> dict[str, Any]:
    real = _locate(root, path)
    shown = display(root, real)
    if not real.exists():
        raise ToolError(f"no such directory {shown!r} in the sandbox")
    if not real.is_dir():
        raise ToolError(f"{shown!r} is a file, not a directory: use file_info or read_file")
    entries = []
    for child in sorted(real.iterdir(), key=lambda p: p.name):
        info = child.lstat()
        kind = _kind(info.st_mode)
        entry: dict[str, Any] = {"name": child.name, "type": kind}
        if kind == "file":
            entry["size"] = info.st_size
        entries.append(entry)
    return {"path": shown, "entries": entries, "count": len(entries)}


def search(
    root: Path, pattern: str = "*", contains: str | None = None, path: str = "."
) -> dict[str, Any]:
    """Files under ``path`` whose name (or relative path) matches ``pattern``, optionally
    containing ``contains`` (case-insensitive), with the first matching lines."""
    real = _locate(root, path)
    if not real.is_dir():
        raise ToolError(f"{display(root, real)!r} is not a directory in the sandbox")
    glob = (pattern.strip() or "*").lower()
    needle = contains.lower() if contains else None
    matches: list[dict[str, Any]] = []
    truncated = False
    real_root = root.resolve()
    for directory, dirs, files in os.walk(real, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            file_path = Path(directory) / name
            if file_path.is_symlink():
                continue  # never follow links while searching
            relative = file_path.relative_to(real_root).as_posix()
            target = relative.lower() if "/" in glob else name.lower()
            if not fnmatch.fnmatchcase(target, glob):
                continue
            match: dict[str, Any] = {"path": relative, "size": file_path.stat().st_size}
            if needle is not None:
                lines = _matching_lines(file_path, needle)
                if not lines:
                    continue
                match["lines"] = lines
            if len(matches) == MAX_SEARCH_RESULTS:
                truncated = True
                break
            matches.append(match)
        if truncated:
            break
    return {
        "pattern": pattern,
        "contains": contains,
        "matches": matches,
        "count": len(matches),
        "truncated": truncated,
    }


def _matching_lines(file_path: Path, needle: str) -> list[dict[str, Any]]:
    try:
        if file_path.stat().st_size > MAX_FILE_BYTES:
            return []
        text = file_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []  # binary or unreadable files simply do not match
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line.lower():
            found.append({"line": number, "text": line.strip()[:200]})
            if len(found) == MAX_LINES_PER_MATCH:
                break
    return found


def describe_path(root: Path, path: str) -> dict[str, Any]:
    real = _locate(root, path)
    shown = display(root, real)
    try:
        info = real.stat()
    except FileNotFoundError:
        raise ToolError(f"no such file or directory {shown!r} in the sandbox") from None
    kind = _kind(info.st_mode)
    result: dict[str, Any] = {
        "path": shown,
        "type": kind,
        "size": info.st_size,
        "modified": dt.datetime.fromtimestamp(info.st_mtime, dt.timezone.utc).isoformat(
            timespec="seconds"
        ),
    }
    if kind == "directory":
        result["entries"] = sum(1 for _ in real.iterdir())
    elif kind == "file" and info.st_size <= MAX_FILE_BYTES:
        data = real.read_bytes()
        result["sha256"] = hashlib.sha256(data).hexdigest()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            result["text"] = False
        else:
            result |= {"text": True, "lines": len(text.splitlines()), "words": len(text.split())}
    return result


# --- MCP server ----------------------------------------------------------------------------------

_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True)
SandboxPath = Annotated[
    str,
    Field(description="a path relative to the sandbox directory, e.g. 'reports/summary.txt'"),
]


def build_server(root: Path | None = None) -> MCPServer:
    root = sandbox_root() if root is None else root
    prepare_sandbox(root)
    server = MCPServer(
        NAME,
        log_level=LOG_LEVEL,
        instructions="Read, write, list and search files in a sandbox directory. Paths are "
        "relative to the sandbox; nothing outside it can be reached.",
    )

    @server.tool(
        description="Read a file: open and return the text content of a file in the sandbox "
        "directory (UTF-8 text, up to 1 MB).",
        annotations=_READ_ONLY,
    )
    def read_file(path: SandboxPath) -> str:
        return read_text(root, path)

    @server.tool(
        description="Write a file: save (create, store) text content to a file in the sandbox "
        "directory, replacing it, or appending to it. Parent directories are created.",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True),
    )
    def write_file(
        path: SandboxPath,
        content: Annotated[str, Field(description="the text to write into the file")],
        append: Annotated[
            bool, Field(description="add to the end of the file instead of replacing it")
        ] = False,
    ) -> dict[str, Any]:
        return write_text(root, path, content, append)

    @server.tool(
        description="List a directory: show the files and folders in a directory of the "
        "sandbox, with their types and sizes.",
        annotations=_READ_ONLY,
    )
    def list_directory(
        path: Annotated[
            str, Field(description="a directory relative to the sandbox; '.' is the sandbox")
        ] = ".",
    ) -> dict[str, Any]:
        return list_entries(root, path)

    @server.tool(
        description="Search files: find files in the sandbox whose names match a glob pattern "
        "(e.g. '*.txt'), optionally only those containing a given text, with the matching "
        "lines.",
        annotations=_READ_ONLY,
    )
    def search_files(
        pattern: Annotated[
            str, Field(description="a file-name glob such as '*.csv' or 'reports/*'")
        ] = "*",
        contains: Annotated[
            str | None, Field(description="only files containing this text (case-insensitive)")
        ] = None,
        path: Annotated[
            str, Field(description="the directory to search, relative to the sandbox")
        ] = ".",
    ) -> dict[str, Any]:
        return search(root, pattern, contains, path)

    @server.tool(
        description="File info: get the metadata of a file or directory in the sandbox: type, "
        "size, modification time, line and word counts and SHA-256 checksum.",
        annotations=_READ_ONLY,
    )
    def file_info(path: SandboxPath) -> dict[str, Any]:
        return describe_path(root, path)

    return server


def main() -> None:
    root = sandbox_root()
    try:
        server = build_server(root)
    except OSError as exc:
        print(
            f"mcp-agent-otel files server: cannot use {str(root)!r} as the sandbox directory "
            f"({exc.strerror or exc}); set {ENV_SANDBOX} to a writable directory",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    serve(server, NAME)


if __name__ == "__main__":
    main()
