"""ToolDiscovery: find what real MCP servers offer, and keep their sessions open for execution.

Servers come from an ``mcpServers`` configuration (the JSON shape MCP clients already use):
stdio servers (``command``/``args``/``env``) and streamable-HTTP servers (``url``). All
servers are listed concurrently, each under a per-server timeout; a server that fails to
start or answer is reported on its ``tool_discovery.list_tools {server}`` span (an event and
ERROR status) while the others keep working. ``tools/list_changed`` notifications make the
server be listed again and the environment fingerprint be recomputed; listeners hear of it.

The pure core — config parsing, tool mapping, the fingerprint — is plain functions; the
``ToolDiscovery`` class is the I/O shell around the official ``mcp`` client.

Over 500 lines on purpose: ``ToolDiscovery`` is one shell whose session lifecycle (lazy
start, list, listen for changes, restart after a crash, stop) shares one lock and one map of
connections; the configuration and the catalogue are apart (``server_config``,
``tool_catalogue``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

import mcp.types as mcp_types
from mcp import Client
from mcp.client.session import ClientRequestContext, ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.subscriptions import ListenNotSupportedError
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED
from opentelemetry import context as otel_context

from mcp_agent_otel.autonomous.errors import ServerConfigError
from mcp_agent_otel.autonomous.lexicon import categorize_tool
from mcp_agent_otel.autonomous.models import ToolInfo, ToolRef, canonical_json
from mcp_agent_otel.autonomous.server_config import (
    ServerSpec,
    server_env,
)
from mcp_agent_otel.autonomous.tool_catalogue import (
    cached_tools,
    catalogue_key,
    read_catalogue,
    store_tools,
)
from mcp_agent_otel.errors import AgentError
from mcp_agent_otel.tracing import semconv, spans

if sys.version_info < (3, 11):  # pragma: no cover - anyio installs the backport there
    from anyio import fail_after as deadline
    from exceptiongroup import BaseExceptionGroup
else:
    from asyncio import timeout as deadline

_log = logging.getLogger(__name__)

EnvironmentListener = Callable[[str, str], None]


class ServerUnavailableError(AgentError):
    """An MCP server could not be started, listed or reached; the message says which and why."""


# --- pure core ------------------------------------------------------------------------------


def tool_info(server: str, tool: mcp_types.Tool) -> ToolInfo:
    """Map a listed MCP tool to our ToolInfo, with its category."""
    schema = dict(tool.input_schema or {})
    description = tool.description or ""
    hints = (
        tool.annotations.model_dump(by_alias=True, exclude_none=True, include=_ANNOTATION_HINTS)
        if tool.annotations is not None
        else {}
    )
    return ToolInfo(
        server=server,
        name=tool.name,
        description=description,
        input_schema=canonical_json(schema),
        category=categorize_tool(tool.name, description, schema),
        annotations=canonical_json(hints),
    )


# The behaviour hints of MCP ToolAnnotations (their Python names); the title is not a hint.
_ANNOTATION_HINTS: Final = {
    "read_only_hint",
    "destructive_hint",
    "idempotent_hint",
    "open_world_hint",
}


def environment_fingerprint(tools: Iterable[ToolInfo]) -> str:
    """A stable hash of the tool environment: sorted (server, tool name, input schema)."""
    digest = hashlib.sha256()
    for server, name, schema in sorted((t.server, t.name, t.input_schema) for t in tools):
        digest.update(canonical_json([server, name, schema]).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


# --- I/O shell ------------------------------------------------------------------------------


class _StderrTail(asyncio.Protocol):
    """A stdio server's stderr: the last lines kept (to say why it failed), and echoed to
    ``sink`` with the server's name when the user asked to see it (``--verbose``)."""

    def __init__(self, server: str, sink: TextIO | None, keep: int = 20) -> None:
        self.server = server
        self.sink = sink
        self.lines: deque[str] = deque(maxlen=keep)
        self._partial = ""

    def data_received(self, data: bytes) -> None:
        text = self._partial + data.decode("utf-8", "replace")
        *complete, self._partial = text.split("\n")
        for line in complete:
            self._line(line)

    def eof_received(self) -> bool | None:
        if self._partial:
            self._line(self._partial)
            self._partial = ""
        return None

    def _line(self, line: str) -> None:
        line = line.rstrip()
        if not line:
            return
        self.lines.append(line)
        if self.sink is not None:
            try:
                self.sink.write(f"[{self.server}] {line}\n")
                self.sink.flush()
            except (OSError, ValueError):  # a closed terminal must not break the agent
                self.sink = None

    @property
    def last_line(self) -> str | None:
        return self.lines[-1] if self.lines else None


@dataclass
class _Connection:
    """One server's client, owned by a task that enters and exits the client context."""

    spec: ServerSpec
    client: Client | None = None
    stderr: _StderrTail | None = None
    error: BaseException | None = None
    tools: tuple[ToolInfo, ...] = ()
    notifies_list_changed: bool = False
    stale: bool = True
    # Tools from the catalogue on disk; no process yet (started by the first call).
    cached: bool = False
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.client is not None and self.error is None and not self.closing.is_set()


class ToolDiscovery:
    """Connects to the configured MCP servers, lists their tools, and keeps sessions open.

    Use as an async context manager (``async with ToolDiscovery(specs) as discovery``); the
    sessions close on exit. ``discover()`` returns the current tool catalogue; it lists a
    server again only when needed (first time, after ``tools/list_changed``, after a failure,
    or for servers that do not announce list changes).
    """

    def __init__(
        self,
        servers: Sequence[ServerSpec],
        *,
        environ: Mapping[str, str] | None = None,
        retry_after_s: float = 30.0,
        server_stderr: TextIO | None = None,
        catalogue: str | os.PathLike[str] | None = None,
    ) -> None:
        """``server_stderr``: where stdio servers' own stderr lines go (prefixed with the
        server's name); by default they are kept only to explain a server that fails.

        ``catalogue``: a file that keeps each server's listing (see ``tool_catalogue``). With
        it, discovery takes a server's tools from there while they are valid and starts the
        server only when one of its tools is first called; without it, every server is
        started and listed at the first discovery."""
        if not servers:
            raise ServerConfigError("no MCP servers configured: pass at least one ServerSpec")
        names = [s.name for s in servers]
        if len(set(names)) != len(names):
            raise ServerConfigError(f"server names must be unique, got {names}")
        self._specs = tuple(servers)
        self._environ = dict(os.environ if environ is None else environ)
        self._server_stderr = server_stderr
        self._cwd = Path.cwd()
        self._directories = {s.name: s.directories(self._cwd) for s in servers}
        self._connections: dict[str, _Connection] = {}
        self._listeners: list[EnvironmentListener] = []
        self._fingerprint = ""
        self._failures: dict[str, tuple[float, str]] = {}  # server -> (monotonic time, why)
        self._retry_after_s = retry_after_s
        self._relist_tasks: set[asyncio.Task[None]] = set()
        self._owners: set[asyncio.Task[None]] = set()  # the tasks that own a client context
        self._lock = asyncio.Lock()
        self._catalogue = Path(catalogue) if catalogue is not None else None
        self._starting: dict[str, asyncio.Lock] = {}  # per server, for a lazy start
        self._stored: dict[str, tuple[ToolInfo, ...]] = {}  # last listing written, per server
        # The tools, and by reference; rebuilt after any listing or lost connection.
        self._index: tuple[tuple[ToolInfo, ...], dict[ToolRef, ToolInfo]] | None = None

    # -- public API ---------------------------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the last discovered environment ("" before the first discovery)."""
        return self._fingerprint

    @property
    def tools(self) -> tuple[ToolInfo, ...]:
        return self._tool_index()[0]

    @property
    def catalogue(self) -> Mapping[ToolRef, ToolInfo]:
        """The discovered tools by reference."""
        return self._tool_index()[1]

    def _tool_index(self) -> tuple[tuple[ToolInfo, ...], dict[ToolRef, ToolInfo]]:
        if self._index is None:  # in the configuration's order, however servers started
            conns = [self._connections.get(spec.name) for spec in self._specs]
            tools = tuple(t for c in conns if c is not None for t in c.tools)
            self._index = (tools, {t.ref: t for t in tools})
        return self._index

    @property
    def contexts(self) -> Mapping[str, tuple[str, ...]]:
        """Per server, the directories its configuration names (see ``ServerSpec.directories``):
        what a relative path or an omitted repository means for its tools."""
        return self._directories

    def session(self, server: str) -> ClientSession:
        """The open MCP session to ``server`` (``ServerUnavailableError`` when it has none)."""
        conn = self._connections.get(server)
        if conn is None or not conn.alive or conn.client is None:
            reason = self.server_failure(server) or _describe(conn.error if conn else None)
            raise ServerUnavailableError(f"MCP server {server!r} is unavailable: {reason}")
        return conn.client.session

    def server_failure(self, server: str) -> str | None:
        """Why ``server`` is unavailable (None when it is healthy or not tried yet)."""
        failure = self._failures.get(server)
        return failure[1] if failure else None

    def add_listener(self, listener: EnvironmentListener) -> None:
        """Call ``listener(old_fingerprint, new_fingerprint)`` whenever the tool set changes.

        Adding the same listener again does nothing: each change reaches it once.
        """
        if listener not in self._listeners:
            self._listeners.append(listener)

    async def __aenter__(self) -> ToolDiscovery:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for task in list(self._relist_tasks):
            task.cancel()
        for conn in self._connections.values():
            _stop(conn)
        # Dropped connections too: a server that never finished starting may still be owned.
        tasks = list(self._owners)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._connections.clear()
        self._index = None

    async def discover(self, *, refresh: bool = False) -> tuple[ToolInfo, ...]:
        """List tools from every server that needs it, concurrently; return the catalogue."""
        with spans.stage_span(semconv.SPAN_DISCOVER) as span:
            async with self._lock:
                due = [spec for spec in self._specs if refresh or self._needs_listing(spec.name)]
                cached = self._from_catalogue(due) if due and not refresh else set()
                due = [spec for spec in due if spec.name not in cached]
                if due:
                    await asyncio.gather(*(self._list_server(spec) for spec in due))
                if self._index is None:  # the tools changed (or may have): new fingerprint
                    self._update_fingerprint()
            failed = [s.name for s in self._specs if not self._is_healthy(s.name)]
            tools = self.tools
            spans.set_attributes(
                span,
                {
                    semconv.TOOLS_COUNT: len(tools),
                    semconv.SERVERS_COUNT: len(self._specs),
                    semconv.SERVERS_FAILED: len(failed),
                    semconv.ENV_FINGERPRINT: self._fingerprint,
                    semconv.DISCOVERY_LISTED: len(due),
                    semconv.DISCOVERY_CACHED: len(cached) if cached else None,
                },
            )
            if failed and len(failed) == len(self._specs):
                spans.mark_error(
                    span, semconv.ERROR_SERVER_UNAVAILABLE, "no MCP server is available"
                )
            return tools

    async def call_tool(
        self, ref: ToolRef, arguments: Mapping[str, Any], *, timeout_s: float
    ) -> mcp_types.CallToolResult:
        """Call a tool over its server's open session.

        Raises ``ServerUnavailableError`` (server down), ``TimeoutError``, or the client's error.
        """
        conn = self._connections.get(ref.server)
        if conn is not None and conn.cached:
            conn = await self._start_cached(ref.server)
        if conn is None or not conn.alive or conn.client is None:
            reason = self.server_failure(ref.server) or _describe(conn.error if conn else None)
            raise ServerUnavailableError(f"MCP server {ref.server!r} is unavailable: {reason}")
        try:
            # A deadline on this task; asyncio.wait_for would run the call in a Task of its
            # own (Python 3.11), a cost on every call.
            async with deadline(timeout_s):
                return await conn.client.call_tool(ref.name, dict(arguments))
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:  # the server died: reconnect at next discovery
                self._drop(conn, exc)
            raise

    def _drop(self, conn: _Connection, exc: BaseException) -> None:
        conn.error = conn.error or exc
        _stop(conn)
        if self._connections.get(conn.spec.name) is conn:
            del self._connections[conn.spec.name]
            self._index = None

    # -- the catalogue on disk: discovery without starting servers ----------------------------

    def _from_catalogue(self, specs: Sequence[ServerSpec]) -> set[str]:
        """Take the tools of servers not started yet from the catalogue, where it has them."""
        if self._catalogue is None:
            return set()
        entries = read_catalogue(self._catalogue)
        served: set[str] = set()
        for spec in specs:
            if spec.name in self._connections or spec.name in self._failures:
                continue
            found = cached_tools(entries, _catalogue_key(spec))
            if found is None:
                continue
            tools, list_changed = found
            self._connections[spec.name] = _Connection(
                spec=spec,
                tools=tuple(tool_info(spec.name, t) for t in tools),
                notifies_list_changed=list_changed,
                stale=False,
                cached=True,
            )
            served.add(spec.name)
        if served:
            self._index = None
        return served

    async def _start_cached(self, server: str) -> _Connection | None:
        """Start a server known from the catalogue (its first call): connect and list it, so
        a listing that changed replaces the catalogue's and the fingerprint moves on."""
        async with self._starting.setdefault(server, asyncio.Lock()):
            conn = self._connections.get(server)
            if conn is not None and conn.cached:
                del self._connections[server]
                self._index = None
                await self._list_server(next(s for s in self._specs if s.name == server))
                self._update_fingerprint()
            return self._connections.get(server)

    # -- internals ----------------------------------------------------------------------------

    def _needs_listing(self, server: str) -> bool:
        failure = self._failures.get(server)
        if failure is not None:  # a failed server is retried, but not on every discovery
            return time.monotonic() - failure[0] >= self._retry_after_s
        conn = self._connections.get(server)
        if conn is not None and conn.cached:  # from the catalogue: listed when first started
            return False
        return conn is None or not conn.alive or conn.stale or not conn.notifies_list_changed

    def _is_healthy(self, name: str) -> bool:
        conn = self._connections.get(name)
        return conn is not None and (conn.alive or conn.cached)

    async def _list_server(self, spec: ServerSpec) -> None:
        with spans.stage_span(
            semconv.list_tools_span_name(spec.name),
            {
                semconv.MCP_SERVER: spec.name,
                semconv.NETWORK_TRANSPORT: "tcp" if spec.url else "pipe",
            },
        ) as span:
            try:
                conn = await asyncio.wait_for(self._connect(spec), timeout=spec.timeout_s)
                assert conn.client is not None
                result = await asyncio.wait_for(
                    conn.client.list_tools(cache_mode="bypass"), timeout=spec.timeout_s
                )
            except Exception as exc:  # one server failing must not stop the others
                failed = self._connections.get(spec.name)
                message = _describe(exc, timeout_s=spec.timeout_s)
                if failed is not None and failed.stderr is not None and _closed(exc):
                    message = _closed_at_start(failed.stderr)
                if failed is not None:
                    self._drop(failed, exc)
                spans.add_event(
                    span,
                    semconv.EVENT_SERVER_FAILED,
                    {semconv.MCP_SERVER: spec.name, "exception.message": message},
                )
                error_type = "timeout" if isinstance(exc, TimeoutError) else type(exc).__qualname__
                spans.mark_error(span, error_type, message)
                _log.warning("MCP server %r is unavailable: %s", spec.name, message)
                self._failures[spec.name] = (time.monotonic(), message)
                return
            self._failures.pop(spec.name, None)
            conn.tools = tuple(tool_info(spec.name, t) for t in result.tools)
            conn.stale = False
            self._index = None
            # Written when the listing differs from what this process last wrote (a server
            # without list_changed is listed at every discovery: no write each time).
            if self._catalogue is not None and self._stored.get(spec.name) != conn.tools:
                self._stored[spec.name] = conn.tools
                store_tools(
                    self._catalogue,
                    _catalogue_key(spec),
                    spec.name,
                    result.tools,
                    conn.notifies_list_changed,
                )
            spans.set_attributes(span, {semconv.TOOLS_COUNT: len(conn.tools)})

    async def _connect(self, spec: ServerSpec) -> _Connection:
        conn = self._connections.get(spec.name)
        if conn is not None and conn.alive:
            return conn
        conn = _Connection(spec=spec)
        self._connections[spec.name] = conn
        self._index = None
        # The client context must be entered and exited by one task: it owns the connection.
        conn.task = asyncio.create_task(self._own_connection(conn), name=f"mcp:{spec.name}")
        self._owners.add(conn.task)
        conn.task.add_done_callback(self._owners.discard)
        conn.task.add_done_callback(lambda _: conn.ready.set())  # even if cancelled unstarted
        await conn.ready.wait()
        if conn.error is not None:
            raise conn.error
        return conn

    async def _own_connection(self, conn: _Connection) -> None:
        spec = conn.spec
        roots = mcp_types.ListRootsResult(
            roots=[
                mcp_types.Root.model_validate({"uri": Path(d).as_uri(), "name": Path(d).name or d})
                for d in (self._directories.get(spec.name) or (str(self._cwd),))
            ]
        )

        async def list_roots(context: ClientRequestContext) -> mcp_types.ListRootsResult:
            return roots

        async def on_message(message: Any) -> None:
            if isinstance(message, mcp_types.ToolListChangedNotification):
                self._on_list_changed(spec.name)

        errlog: TextIO | None = None
        try:
            target: Any
            if spec.url:
                target = spec.url
            else:
                assert spec.command is not None
                params = StdioServerParameters(
                    command=spec.command,
                    args=list(spec.args),
                    env=server_env(spec, self._environ),
                )
                errlog, conn.stderr = await self._stderr_pipe(spec.name)
                target = stdio_client(params, errlog=errlog)
            async with Client(
                target, message_handler=on_message, list_roots_callback=list_roots, cache=None
            ) as client:
                if errlog is not None:  # the server holds its own copy now
                    errlog.close()
                    errlog = None
                conn.client = client
                caps = client.session.server_capabilities
                tools_caps = caps.tools if caps is not None else None
                conn.notifies_list_changed = bool(tools_caps and tools_caps.list_changed)
                conn.ready.set()
                listener = (
                    asyncio.create_task(self._listen(spec.name, client))
                    if conn.notifies_list_changed
                    else None
                )
                await conn.closing.wait()
                if listener is not None:
                    listener.cancel()
                    await asyncio.gather(listener, return_exceptions=True)
        except BaseException as exc:
            conn.error = conn.error or exc
            if not isinstance(exc, Exception):
                raise
        finally:
            if errlog is not None:
                errlog.close()
            conn.client = None if conn.error is not None else conn.client
            conn.closing.set()
            conn.ready.set()

    async def _stderr_pipe(self, server: str) -> tuple[TextIO, _StderrTail]:
        """A pipe for a server's stderr: the write end to give the process, and the reader
        that keeps its last lines (and echoes them where the user asked)."""
        read_fd, write_fd = os.pipe()
        tail = _StderrTail(server, self._server_stderr)
        reader = os.fdopen(read_fd, "rb", buffering=0)
        try:
            await asyncio.get_running_loop().connect_read_pipe(lambda: tail, reader)
        except BaseException:
            reader.close()
            os.close(write_fd)
            raise
        return os.fdopen(write_fd, "w"), tail

    async def _listen(self, server: str, client: Client) -> None:
        """Hear tool-list changes on a 2026-07-28 session (``subscriptions/listen``).

        Handshake-era sessions deliver ``notifications/tools/list_changed`` to the message
        handler instead. The stream lives as long as the session, so it is traced as its own
        root span rather than under the discovery that opened it.
        """
        token = otel_context.attach(otel_context.Context())
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    self._on_list_changed(server)
        except ListenNotSupportedError:
            return
        except Exception as exc:  # a lost stream: fall back to listing on every discovery
            conn = self._connections.get(server)
            if conn is not None:
                conn.notifies_list_changed = False
            _log.debug("tool-change subscription to %r ended: %s", server, exc)
        finally:
            otel_context.detach(token)

    def _on_list_changed(self, server: str) -> None:
        conn = self._connections.get(server)
        if conn is None:
            return
        conn.stale = True
        task = asyncio.get_running_loop().create_task(self._relist(server))
        self._relist_tasks.add(task)
        task.add_done_callback(self._relist_tasks.discard)

    async def _relist(self, server: str) -> None:
        spec = next(s for s in self._specs if s.name == server)
        async with self._lock:
            conn = self._connections.get(server)
            if conn is None or not conn.stale:
                return
            await self._list_server(spec)
            self._update_fingerprint()

    def _update_fingerprint(self) -> None:
        new = environment_fingerprint(self.tools)
        old, self._fingerprint = self._fingerprint, new
        if old and old != new:
            for listener in list(self._listeners):
                try:
                    listener(old, new)
                except Exception:
                    _log.exception("environment-change listener %r failed", listener)


def _catalogue_key(spec: ServerSpec) -> str:
    return catalogue_key(spec.command, spec.args, spec.env, spec.url)


def _stop(conn: _Connection) -> None:
    """End the task that owns ``conn``: it closes the session once ``closing`` is set, but a
    server still starting (or hung before answering ``initialize``) must be cancelled."""
    conn.closing.set()
    if not conn.ready.is_set() and conn.task is not None:
        conn.task.cancel()


def _closed(exc: BaseException) -> bool:
    """Whether ``exc`` (or the first of a group) says the connection closed."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return isinstance(exc, MCPError) and exc.code == CONNECTION_CLOSED


def _closed_at_start(stderr: _StderrTail) -> str:
    last = stderr.last_line
    said = f"; its last stderr line: {last}" if last else " without writing to stderr"
    return f"the server process exited or closed the connection during start-up{said}"


def _describe(exc: BaseException | None, *, timeout_s: float | None = None) -> str:
    if exc is None:
        return "not connected"
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout_s:g} s" if timeout_s else "timed out"
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {exc.filename or exc}"
    if isinstance(exc, BaseExceptionGroup):
        inner = exc.exceptions[0] if exc.exceptions else exc
        return _describe(inner, timeout_s=timeout_s)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
