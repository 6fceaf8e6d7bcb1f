"""The bundled demo MCP servers and the test-only fault server, over real stdio.

Each demo server runs as its own process (``python -m mcp_agent_otel.autonomous.servers.<name>``)
and is reached with the official ``mcp.Client``; the four are started once for the module.
The fault server (``tests/autonomous/fixtures/faulty_server.py``) is started per behaviour
that changes or kills it. The cross-process trace test reads the server's real OTLP-JSON
spans file next to the client's in-memory spans.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import mcp_types
import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mcp_agent_otel.autonomous.servers import (
    DEMO_SERVER_NAMES,
    ENV_SANDBOX,
    demo_servers_config,
    server_module,
)
from mcp_agent_otel.autonomous.servers.expressions import ExpressionError, evaluate
from mcp_agent_otel.autonomous.servers.language import sentences, words
from mcp_agent_otel.autonomous.servers.runtime import service_name
from mcp_agent_otel.autonomous.servers.sandbox import SandboxError, check_relative, sandbox_root
from mcp_agent_otel.autonomous.servers.units import UnitError, convert
from mcp_agent_otel.tracing.child_env import telemetry_env
from tests.autonomous.fixtures import FAULTY_SERVER

if sys.version_info < (3, 11):  # anyio installs the backport there
    from exceptiongroup import BaseExceptionGroup

module_loop = pytest.mark.asyncio(loop_scope="module")


# --- launching servers ---------------------------------------------------------------------------


def demo_params(name: str, env: Mapping[str, str]) -> StdioServerParameters:
    entry = demo_servers_config()["mcpServers"][name]
    return StdioServerParameters(
        command=entry["command"], args=entry["args"], env={**entry["env"], **env}
    )


def faulty_params(env: Mapping[str, str], *flags: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=[str(FAULTY_SERVER), *flags], env=dict(env)
    )


@dataclass
class RunningServer:
    """A connected client owned by one task (the client must be entered and left by one task)."""

    params: StdioServerParameters
    options: dict[str, Any] = field(default_factory=dict)
    client: Client | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _error: BaseException | None = None

    async def start(self) -> Client:
        self._task = asyncio.create_task(self._own())
        await self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self.client is not None
        return self.client

    async def _own(self) -> None:
        try:
            async with Client(self.params, cache=None, **self.options) as client:
                self.client = client
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-home")


@pytest.fixture(scope="module")
def sandbox(demo_home: Path) -> Path:
    return demo_home / "sandbox"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo(demo_home: Path, sandbox: Path) -> AsyncIterator[dict[str, Client]]:
    """All demo servers, started concurrently once for the module, with their own home."""
    env = {"MCP_AGENT_OTEL_HOME": str(demo_home), ENV_SANDBOX: str(sandbox)}
    running = {name: RunningServer(demo_params(name, env)) for name in DEMO_SERVER_NAMES}
    clients = await asyncio.gather(*(r.start() for r in running.values()))
    yield dict(zip(running, clients, strict=True))
    await asyncio.gather(*(r.stop() for r in running.values()))


def text_of(result: mcp_types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, mcp_types.TextContent))


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    """Call a tool that must succeed; its structured result (or text for str tools)."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, f"{tool} failed: {text_of(result)}"
    data = result.structured_content
    if isinstance(data, dict) and set(data) == {"result"}:
        return data["result"]
    return data


async def call_error(client: Client, tool: str, **arguments: Any) -> str:
    """Call a tool that must answer isError; its message."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} should have failed, answered {text_of(result)!r}"
    return text_of(result)


def attribute(span: dict[str, Any], key: str) -> Any:
    """An attribute's value in an OTLP-JSON span (None if absent)."""
    for item in span.get("attributes", []):
        if item["key"] == key:
            return next(iter(item["value"].values()))
    return None


def read_spans_file(path: Path) -> list[dict[str, Any]]:
    """Every span in an OTLP-JSON lines file, each with its resource's service.name."""
    found = []
    for line in path.read_text().splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            attributes = {
                a["key"]: a["value"].get("stringValue")
                for a in resource_spans["resource"]["attributes"]
            }
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    found.append({**span, "service": attributes.get("service.name")})
    return found


# --- pure parts: configuration, telemetry environment --------------------------------------------


def test_telemetry_env_forwards_only_what_a_server_needs() -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "OTEL_TRACES_SAMPLER": "always_on",
        "OTEL_SERVICE_NAME": "my-agent",
        "OTEL_RESOURCE_ATTRIBUTES": "service.name=my-agent,deployment.environment=test",
        "MCP_AGENT_OTEL_HOME": "/srv/state",
        "MCP_AGENT_OTEL_CAPTURE_CONTENT": "true",
        "PYTHONPATH": "/src",
        "AWS_SECRET_ACCESS_KEY": "never",
        "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer vendor-key",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-api-key=vendor-key",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY": "/keys/client.pem",
        "MCP_AGENT_OTEL_ANALYZER_TOKEN": "analyzer-secret",
        "HOME": "/home/someone",
        "XOTEL_FOO": "x",
    }
    assert telemetry_env(environ) == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "OTEL_TRACES_SAMPLER": "always_on",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
        "MCP_AGENT_OTEL_HOME": "/srv/state",
        "MCP_AGENT_OTEL_CAPTURE_CONTENT": "true",
        "PYTHONPATH": "/src",
    }
    assert telemetry_env({"OTEL_RESOURCE_ATTRIBUTES": "service.name=a"}) == {}
    assert telemetry_env({}) == {}


def test_demo_servers_config_launches_every_server_module() -> None:
    config = demo_servers_config("/opt/py/bin/python", env={"A": "1"})
    assert list(config) == ["mcpServers"]
    assert list(config["mcpServers"]) == list(DEMO_SERVER_NAMES)
    for name, entry in config["mcpServers"].items():
        assert entry == {
            "command": "/opt/py/bin/python",
            "args": ["-m", f"mcp_agent_otel.autonomous.servers.{name}"],
            "env": {"A": "1"},
            "telemetry": True,
        }
    assert json.loads(json.dumps(config)) == config
    assert demo_servers_config()["mcpServers"]["text"]["command"] == sys.executable
    with pytest.raises(ValueError, match="unknown demo server 'nope': choose one of"):
        server_module("nope")


def test_sandbox_root_comes_from_the_environment(tmp_path: Path) -> None:
    assert sandbox_root({ENV_SANDBOX: str(tmp_path / "box")}) == tmp_path / "box"
    assert sandbox_root({"MCP_AGENT_OTEL_HOME": str(tmp_path)}) == tmp_path / "sandbox"
    assert sandbox_root({}).is_absolute()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../secret.txt", "contains '..'"),
        ("notes/../../x", "contains '..'"),
        ("..\\x", "contains '..'"),
        ("/etc/passwd", "absolute path"),
        ("~/x", "absolute path"),
        ("C:\\Windows\\x", "absolute path"),
        ("a\x00b", "NUL byte"),
    ],
)
def test_sandbox_refuses_paths_that_leave_it(path: str, message: str) -> None:
    with pytest.raises(SandboxError, match=message):
        check_relative(path)


def test_sandbox_accepts_relative_paths() -> None:
    assert str(check_relative("notes/./todo.txt")) == "notes/todo.txt"
    assert str(check_relative(" . ")) == "."
    assert str(check_relative("a\\b.txt")) == "a/b.txt"


# --- pure parts: the safe evaluator, units, words ------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 * (3 + 4)", 14),
        ("2^10", 1024),
        ("-3**2", -9),
        ("7 // 2 + 7 % 2", 4),
        ("10 / 4", 2.5),
        ("sqrt(16) + log(e)", 5.0),
        ("round(pi, 3)", 3.142),
        ("max(1, 5, 3) - min(4, 2)", 3),
        ("factorial(5)", 120),
        ("2 × 3 ÷ 4", 1.5),
    ],
)
def test_evaluator_computes(expression: str, value: float) -> None:
    assert evaluate(expression) == value


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('true')", "unknown function .*__import__"),
        ("open('x')", "unknown function 'open'"),
        ("(1).__class__", "is not allowed"),
        ("[1, 2][0]", "is not allowed"),
        ("x + 1", "unknown name 'x'"),
        ("'a' * 3", "is not a number"),
        ("True + 1", "is not a number"),
        ("lambda: 1", "is not allowed"),
        ("9 ** 9 ** 9", "exponents are limited"),
        ("2 ** 9000", "too large"),
        ("factorial(100000)", "factorial is limited"),
        ("1 / 0", "division by zero"),
        ("log(-1)", "math domain error"),
        ("(-8) ** 0.5", "no real result"),
        ("1e308 * 10", "not a finite number"),
        ("2 +", "cannot parse"),
        ("", "empty"),
        ("1+" * 600 + "1", "limit is 1000"),
        ("-" * 60 + "1", "nested more than"),
        ("(" * 300 + "1" + ")" * 300, "cannot parse"),
    ],
)
def test_evaluator_refuses_with_a_reason(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate(expression)


@st.composite
def arithmetic(draw: st.DrawFn, depth: int = 0) -> tuple[str, int]:
    """An integer expression and its value, computed independently of the evaluator."""
    if depth >= 3 or draw(st.booleans()):
        n = draw(st.integers(-1000, 1000))
        return (f"({n})" if n < 0 else str(n)), n
    (left, a), (right, b) = draw(arithmetic(depth + 1)), draw(arithmetic(depth + 1))
    op = draw(st.sampled_from(["+", "-", "*"]))
    value = a + b if op == "+" else a - b if op == "-" else a * b
    return f"({left} {op} {right})", value


@settings(max_examples=60, deadline=None)
@given(arithmetic())
def test_evaluator_agrees_with_integer_arithmetic(case: tuple[str, int]) -> None:
    expression, value = case
    assert evaluate(expression) == value


def test_unit_conversion() -> None:
    assert convert(10, "km", "miles")[0] == pytest.approx(6.2137119, rel=1e-7)
    assert convert(100, "Celsius", "°F")[0] == pytest.approx(212)
    assert convert(-459.67, "fahrenheit", "kelvin")[0] == pytest.approx(0, abs=1e-9)
    assert convert(1, "GiB", "MB")[0] == pytest.approx(1073.741824)
    assert convert(90, "minutes", "hours")[:3] == (1.5, "min", "h")
    with pytest.raises(UnitError, match="kg measures mass, km measures length"):
        convert(1, "kg", "km")
    with pytest.raises(UnitError, match="unknown unit 'furlong'"):
        convert(1, "furlong", "m")
    with pytest.raises(UnitError, match="below absolute zero"):
        convert(-300, "c", "k")


def test_words_and_sentences() -> None:
    assert words("Don't understand, AND then 42!") == ["don't", "understand", "and", "then", "42"]
    assert sentences("One. Two! Three?\n\nFour") == ["One.", "Two!", "Three?", "Four"]


# --- the demo servers over stdio -----------------------------------------------------------------


def _property_documented(name: str, schema: dict[str, Any], tool: str) -> None:
    assert schema.get("description"), f"{tool}.{name} has no description"
    typed = "type" in schema or "anyOf" in schema or "enum" in schema or "$ref" in schema
    assert typed, f"{tool}.{name} has no type"


@module_loop
async def test_servers_list_at_least_15_documented_tools(demo: dict[str, Client]) -> None:
    listed = {name: (await client.list_tools()).tools for name, client in demo.items()}
    names = [t.name for tools in listed.values() for t in tools]
    assert len(names) >= 15
    assert len(set(names)) == len(names), "tool names must be unique across the demo servers"
    assert {name: [t.name for t in tools] for name, tools in listed.items()} == {
        "knowledge": [
            "search_documents",
            "get_document",
            "list_topics",
            "define_term",
            "find_related",
        ],
        "text": [
            "summarize_text",
            "word_count",
            "extract_keywords",
            "change_case",
            "find_replace",
            "analyze_sentiment",
        ],
        "mathdata": [
            "calculate",
            "compute_statistics",
            "convert_units",
            "sort_numbers",
            "filter_numbers",
            "current_time",
            "date_difference",
        ],
        "files": ["read_file", "write_file", "list_directory", "search_files", "file_info"],
    }
    for tools in listed.values():
        for tool in tools:
            assert len(tool.description or "") >= 40, tool.name
            schema = tool.input_schema
            jsonschema.Draft202012Validator.check_schema(schema)
            assert schema["type"] == "object"
            for prop, spec in schema.get("properties", {}).items():
                _property_documented(prop, spec, tool.name)
            assert set(schema.get("required", [])) <= set(schema.get("properties", {}))
    for name, client in demo.items():
        assert client.server_info is not None
        assert client.server_info.name == name


@module_loop
async def test_knowledge_server(demo: dict[str, Client]) -> None:
    kb = demo["knowledge"]
    found = await call(kb, "search_documents", query="trace context propagation", limit=3)
    ids = [r["id"] for r in found["results"]]
    assert len(ids) == 3
    assert set(ids[:2]) == {"otel-context-propagation", "mcp-trace-context"}
    scores = [r["score"] for r in found["results"]]
    assert scores == sorted(scores, reverse=True)
    assert scores[-1] > 0
    assert all(r["snippet"] for r in found["results"])

    document = await call(kb, "get_document", doc_id="otel-otlp")
    assert document["title"] == "OTLP: the OpenTelemetry protocol"
    assert "4317" in document["text"]
    assert document["words"] > 40

    topics = await call(kb, "list_topics")
    by_topic = {t["topic"]: t for t in topics["topics"]}
    assert set(by_topic) == {"agents", "mcp", "opentelemetry", "performance", "search"}
    assert sum(t["documents"] for t in topics["topics"]) == 16
    assert "mcp-tools" in by_topic["mcp"]["ids"]

    term = await call(kb, "define_term", term="Spans")
    assert term["term"] == "span"
    assert "timed operation" in term["definition"]
    assert term["see_also"] == ["otel-spans"]

    related = await call(kb, "find_related", doc_id="otel-otlp", limit=2)
    assert next(r["id"] for r in related["related"]) == "otel-collector"
    assert "otel-otlp" not in [r["id"] for r in related["related"]]

    message = await call_error(kb, "get_document", doc_id="otel-spam")
    assert "no document with id 'otel-spam'" in message
    assert "otel-spans" in message
    message = await call_error(kb, "define_term", term="spann")
    assert "no definition for 'spann'" in message
    assert "span" in message
    message = await call_error(kb, "search_documents", query="the and of")
    assert "no searchable words" in message
    assert "limit" in await call_error(kb, "search_documents", query="otlp", limit=0)


@module_loop
async def test_text_server(demo: dict[str, Client]) -> None:
    text = demo["text"]
    passage = (
        "OpenTelemetry traces show where time goes. A trace is a tree of spans. "
        "Each span has a name and a duration.\n\nSpans from the agent and the servers join "
        "one trace. Nothing else matters here."
    )
    summary = await call(text, "summarize_text", text=passage, max_sentences=2)
    assert summary == {
        "summary": "A trace is a tree of spans. "
        "Spans from the agent and the servers join one trace.",
        "sentences_kept": 2,
        "sentences_total": 5,
    }
    counts = await call(text, "word_count", text=passage)
    assert counts["words"] == 35  # 6 + 7 + 8 + 10 + 4
    assert counts["sentences"] == 5
    assert counts["paragraphs"] == 2
    assert counts["characters"] == len(passage)

    found = await call(text, "extract_keywords", text=passage, limit=3)
    assert found["keywords"] == [
        {"keyword": "spans", "count": 2},  # ties broken alphabetically
        {"keyword": "trace", "count": 2},
        {"keyword": "agent", "count": 1},
    ]
    assert await call(text, "change_case", text="hello World", case="upper") == "HELLO WORLD"
    assert await call(text, "change_case", text="Trace ID value", case="snake") == "trace_id_value"
    assert await call(text, "change_case", text="trace id value", case="camel") == "traceIdValue"
    assert await call(text, "change_case", text="a TITLE here", case="title") == "A Title Here"

    replaced = await call(
        text,
        "find_replace",
        text="Cat, cat, CAT.",
        find="cat",
        replace_with="dog",
        ignore_case=True,
    )
    assert replaced == {"text": "dog, dog, dog.", "replacements": 3}
    dated = await call(
        text, "find_replace", text="on 2025-03-14", find=r"(\d+)-(\d+)-(\d+)",
        replace_with=r"\3/\2/\1", regex=True,
    )  # fmt: skip
    assert dated == {"text": "on 14/03/2025", "replacements": 1}
    literal = await call(text, "find_replace", text="a.b", find=".", replace_with="\\1")
    assert literal == {"text": "a\\1b", "replacements": 1}

    mood = await call(text, "analyze_sentiment", text="The new tracing is great and fast.")
    assert mood["sentiment"] == "positive"
    assert mood["positive_words"] == ["great", "fast"]
    mood = await call(text, "analyze_sentiment", text="The dashboard is not good; it is slow.")
    assert mood["sentiment"] == "negative"
    assert mood["negative_words"] == ["not good", "slow"]

    assert "empty" in await call_error(text, "summarize_text", text="   ")
    message = await call_error(text, "find_replace", text="x", find="(", regex=True)
    assert "not a valid regular expression" in message


@module_loop
async def test_mathdata_server(demo: dict[str, Client]) -> None:
    math_ = demo["mathdata"]
    assert await call(math_, "calculate", expression="(12 + 30) * 2") == {
        "expression": "(12 + 30) * 2",
        "result": 84,
    }
    assert (await call(math_, "calculate", expression="2^0.5 * 2^0.5"))["result"] == pytest.approx(
        2
    )
    message = await call_error(math_, "calculate", expression="__import__('os').getcwd()")
    assert "unknown function \"__import__('os').getcwd\"" in message
    assert "allowed:" in message

    stats = await call(math_, "compute_statistics", numbers=[4, 8, 15, 16, 23, 42])
    assert stats["count"] == 6
    assert stats["sum"] == 108
    assert stats["mean"] == 18
    assert stats["median"] == 15.5
    assert stats["min"] == 4
    assert stats["max"] == 42
    assert stats["variance"] == 182
    assert stats["stdev"] == pytest.approx(13.4907375632)
    assert (stats["q1"], stats["q3"]) == (9.75, 21.25)
    assert "empty" in await call_error(math_, "compute_statistics", numbers=[])

    miles = await call(math_, "convert_units", value=10, from_unit="km", to_unit="miles")
    assert miles["result"] == pytest.approx(6.2137119224)
    assert miles["dimension"] == "length"
    message = await call_error(math_, "convert_units", value=1, from_unit="kg", to_unit="km")
    assert "cannot convert 'kg' to 'km'" in message

    assert (await call(math_, "sort_numbers", numbers=[3, 1.5, 2]))["sorted"] == [1.5, 2, 3]
    ranked = await call(math_, "sort_numbers", numbers=[3, 1.5, 2], descending=True)
    assert ranked["sorted"] == [3, 2, 1.5]
    kept = await call(math_, "filter_numbers", numbers=[1, 5, 10, 15], comparison=">", threshold=5)
    assert kept == {"kept": [10, 15], "kept_count": 2, "removed_count": 2, "condition": "x > 5"}
    assert (
        "error"
        in (
            await call_error(math_, "filter_numbers", numbers=[1], comparison="~", threshold=0)
        ).lower()
    )

    before = dt.datetime.now(dt.timezone.utc)
    now = await call(math_, "current_time", timezone="UTC")
    read = dt.datetime.fromisoformat(now["iso"])
    assert abs((read - before).total_seconds()) < 30
    assert now["utc_offset"] == "+0000"
    india = await call(math_, "current_time", timezone="+05:30")
    assert india["utc_offset"] == "+0530"
    assert abs(india["unix"] - now["unix"]) < 30
    assert "unknown time zone" in await call_error(math_, "current_time", timezone="Mars/Base")

    span = await call(math_, "date_difference", start_date="2025-01-01", end_date="2025-03-14")
    assert span["days"] == 72
    assert span["weekdays"] == 52
    assert span["end_weekday"] == "Friday"
    assert "not a date" in await call_error(
        math_, "date_difference", start_date="14/03/2025", end_date="2025-03-14"
    )


@module_loop
async def test_files_server(demo: dict[str, Client], sandbox: Path) -> None:
    files = demo["files"]
    # A new sandbox is seeded with two sample files.
    listing = await call(files, "list_directory")
    assert listing["entries"] == [
        {"name": "README.txt", "type": "file", "size": (sandbox / "README.txt").stat().st_size},
        {"name": "reports", "type": "directory"},
    ]
    assert "sandbox of the mcp-agent-otel files server" in await call(
        files, "read_file", path="README.txt"
    )

    written = await call(files, "write_file", path="notes/todo.txt", content="trace it\n")
    assert written == {
        "path": "notes/todo.txt",
        "bytes_written": 9,
        "size": 9,
        "created": True,
        "appended": False,
    }
    assert (sandbox / "notes" / "todo.txt").read_text() == "trace it\n"
    more = await call(
        files, "write_file", path="notes/todo.txt", content="measure it\n", append=True
    )
    assert more["size"] == 20
    assert more["created"] is False
    assert await call(files, "read_file", path="notes/todo.txt") == "trace it\nmeasure it\n"
    replaced = await call(files, "write_file", path="notes/todo.txt", content="done\n")
    assert replaced["size"] == 5
    assert sorted(p.name for p in (sandbox / "notes").iterdir()) == ["todo.txt"]  # no temp left

    found = await call(files, "search_files", pattern="*.csv")
    assert [m["path"] for m in found["matches"]] == ["reports/latency_ms.csv"]
    found = await call(files, "search_files", pattern="*", contains="MEASURE")
    assert found["matches"] == []
    found = await call(files, "search_files", contains="execute")
    assert found["matches"][0]["lines"] == [
        {"line": 5, "text": "meta_coordinator.execute,12.5,31.0"}
    ]

    info = await call(files, "file_info", path="reports/latency_ms.csv")
    assert info["type"] == "file"
    assert info["lines"] == 5
    assert info["text"] is True
    assert len(info["sha256"]) == 64
    assert (await call(files, "file_info", path="notes"))["entries"] == 1

    assert "no such file 'missing.txt'" in await call_error(files, "read_file", path="missing.txt")
    assert "is a directory" in await call_error(files, "read_file", path="reports")
    (sandbox / "blob.bin").write_bytes(b"\xff\xfe\x00")
    assert "not a UTF-8 text file" in await call_error(files, "read_file", path="blob.bin")


@module_loop
async def test_files_server_refuses_to_leave_its_sandbox(
    demo: dict[str, Client], sandbox: Path, tmp_path: Path
) -> None:
    files = demo["files"]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not read")
    (sandbox / "escape").symlink_to(outside, target_is_directory=True)
    (sandbox / "secret-link.txt").symlink_to(outside / "secret.txt")
    relative_out = relative_path(outside / "secret.txt", sandbox)

    for tool, args in [
        ("read_file", {"path": relative_out}),
        ("read_file", {"path": "../secret.txt"}),
        ("read_file", {"path": str(outside / "secret.txt")}),
        ("read_file", {"path": "escape/secret.txt"}),
        ("read_file", {"path": "secret-link.txt"}),
        ("file_info", {"path": "escape"}),
        ("list_directory", {"path": "escape"}),
        ("list_directory", {"path": ".."}),
        ("search_files", {"path": "escape"}),
        ("write_file", {"path": "escape/new.txt", "content": "x"}),
        ("write_file", {"path": "secret-link.txt", "content": "overwritten"}),
        ("write_file", {"path": "../new.txt", "content": "x"}),
        ("write_file", {"path": str(outside / "new.txt"), "content": "x"}),
    ]:
        message = await call_error(files, tool, **args)
        assert any(
            reason in message for reason in ("outside the sandbox", "'..'", "absolute path")
        ), (tool, args, message)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "do not read"
    # Searching the sandbox never follows the links out.
    found = await call(files, "search_files", contains="do not read")
    assert found["matches"] == []
    listing = await call(files, "list_directory")
    kinds = {e["name"]: e["type"] for e in listing["entries"]}
    assert kinds["escape"] == "symlink"
    assert kinds["secret-link.txt"] == "symlink"


def relative_path(target: Path, start: Path) -> str:
    return os.path.relpath(target, start)


# --- the fault server ----------------------------------------------------------------------------


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    """What a client forwards: the telemetry variables (the test's own home included)."""
    env = telemetry_env(os.environ)
    assert env["MCP_AGENT_OTEL_HOME"] == str(tmp_path / "home")
    return env


async def test_fault_server_failures_are_observable(server_env: dict[str, str]) -> None:
    async with Client(faulty_params(server_env), cache=None) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"echo", "fail", "sleep", "crash", "explode", "reject"} <= tools
        assert await call(client, "echo", text="hi") == "hi"
        assert await call_error(client, "fail", message="it broke") == (
            "Error executing tool fail: it broke"
        )
        assert await call_error(client, "explode", message="secret") == (
            "Error executing tool explode"
        )
        with pytest.raises(MCPError, match="rejected on purpose"):
            await client.call_tool("reject", {})

        # A call past the client's read timeout raises promptly; the session stays usable.
        started = time.monotonic()
        with pytest.raises(MCPError) as info:
            await client.call_tool("sleep", {"seconds": 30}, read_timeout_seconds=0.3)
        assert info.value.error.code == mcp_types.REQUEST_TIMEOUT
        assert time.monotonic() - started < 5
        assert await call(client, "echo", text="still here") == "still here"

    # Each failure is on the server's own spans, exported when the client closed stdin.
    server_spans = read_spans_file(Path(server_env["MCP_AGENT_OTEL_HOME"]) / "spans.jsonl")
    status = {
        s["name"]: (s.get("status", {}).get("code", 0), attribute(s, "error.type"))
        for s in server_spans
    }
    assert status["tools/call fail"] == (2, "tool_error")
    assert status["tools/call explode"] == (2, "tool_error")
    assert status["tools/call reject"] == (2, str(mcp_types.INVALID_PARAMS))
    # The client cancelled the sleep when it timed out: the span ended and was exported, but
    # the SDK's middleware leaves a cancelled call's status unset (the client span has it).
    assert status["tools/call sleep"] == (0, None)
    assert status["tools/call echo"] == (0, None)
    assert [s["name"] for s in server_spans].count("tools/call echo") == 2


async def test_fault_server_crash_is_an_error_not_a_hang(server_env: dict[str, str]) -> None:
    with anyio.fail_after(15):
        async with Client(faulty_params(server_env), cache=None) as client:
            with pytest.raises(MCPError) as info:
                await client.call_tool("crash", {"exit_code": 3})
            assert info.value.error.code == mcp_types.CONNECTION_CLOSED
            with pytest.raises(MCPError):
                await client.call_tool("echo", {"text": "anyone?"})


def leaf_errors(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (possibly nested) exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaf_errors(inner)]
    return [exc]


async def test_fault_server_that_exits_on_start_is_a_connection_error(
    server_env: dict[str, str],
) -> None:
    with anyio.fail_after(15), pytest.raises(BaseExceptionGroup) as info:
        async with Client(faulty_params(server_env, "--exit-on-start", "7"), cache=None):
            pass
    (error,) = leaf_errors(info.value)
    assert isinstance(error, MCPError)
    assert error.error.code == mcp_types.CONNECTION_CLOSED


async def connect_within(params: StdioServerParameters, seconds: float) -> None:
    with anyio.fail_after(seconds):
        async with Client(params, cache=None):
            pass


async def test_fault_server_that_hangs_on_start_is_cut_off_by_the_caller(
    server_env: dict[str, str],
) -> None:
    """A caller's own deadline (as ToolDiscovery's per-server timeout) ends the wait; the
    stdio client then stops the silent process (stdin closed, 2 s grace, then SIGTERM)."""
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await connect_within(faulty_params(server_env, "--hang-on-start"), 0.5)
    assert time.monotonic() - started < 10


async def test_tools_list_changed_reaches_a_handshake_era_client(
    server_env: dict[str, str],
) -> None:
    """``mode="legacy"``: the notification arrives through ``message_handler``."""
    changed = asyncio.Event()
    seen: list[str] = []

    async def on_message(message: object) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            seen.append(message.method)
            changed.set()

    params = faulty_params(server_env)
    async with Client(params, cache=None, mode="legacy", message_handler=on_message) as client:
        caps = client.server_capabilities.tools
        assert caps is not None
        assert caps.list_changed is True
        assert await call(client, "add_tool", name="dyn_probe") == "added dyn_probe"
        await asyncio.wait_for(changed.wait(), 5)
        assert "dyn_probe" in {t.name for t in (await client.list_tools()).tools}
        assert await call(client, "dyn_probe", text="x") == "dyn_probe: x"
        assert "exists already" in await call_error(client, "add_tool", name="dyn_probe")

        changed.clear()
        assert await call(client, "remove_tool", name="dyn_probe") == "removed dyn_probe"
        await asyncio.wait_for(changed.wait(), 5)
        assert "dyn_probe" not in {t.name for t in (await client.list_tools()).tools}
        assert seen == ["notifications/tools/list_changed"] * 2


async def test_tools_list_changed_reaches_a_2026_client_through_listen(
    server_env: dict[str, str],
) -> None:
    """The default ``mode="auto"`` negotiates 2026-07-28: changes come on a listen stream,
    and the SDK also hands them to ``message_handler`` while that stream is open."""
    handled: list[str] = []

    async def on_message(message: object) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            handled.append(message.method)

    async with Client(faulty_params(server_env), cache=None, message_handler=on_message) as client:
        assert client.protocol_version == "2026-07-28"
        caps = client.server_capabilities.tools
        assert caps is not None
        assert caps.list_changed is True
        async with client.listen(tools_list_changed=True) as subscription:
            await call(client, "add_tool", name="dyn_listen")
            with anyio.fail_after(5):
                event = await subscription.__anext__()
            assert type(event).__name__ == "ToolsListChanged"
        assert "dyn_listen" in {t.name for t in (await client.list_tools()).tools}
        assert handled == ["notifications/tools/list_changed"]


# --- one trace across the process boundary -------------------------------------------------------


async def test_server_span_is_a_child_of_the_client_span_across_processes(
    spans: InMemorySpanExporter, server_env: dict[str, str], tmp_path: Path
) -> None:
    spans_file = tmp_path / "home" / "spans.jsonl"
    async with Client(demo_params("text", server_env), cache=None) as client:
        assert (await call(client, "word_count", text="one two three"))["words"] == 3
        assert "empty" in await call_error(client, "change_case", text=" ")
    # The client has closed stdin and the server has exited: its spans are already on disk.
    server_spans = read_spans_file(spans_file)
    client_spans = {s.name: s for s in spans.get_finished_spans()}

    for tool in ("word_count", "change_case"):
        client_span = client_spans[f"MCP send tools/call {tool}"]
        assert client_span.kind is SpanKind.CLIENT
        assert client_span.context is not None
        (server_span,) = [s for s in server_spans if s["name"] == f"tools/call {tool}"]
        assert server_span["kind"] == 2  # SPAN_KIND_SERVER
        assert server_span["traceId"] == format(client_span.context.trace_id, "032x")
        assert server_span["parentSpanId"] == format(client_span.context.span_id, "016x")
        assert server_span["service"] == service_name("text") == "mcp-agent-otel-server-text"
        attributes = {a["key"]: a["value"] for a in server_span["attributes"]}
        assert attributes["mcp.method.name"] == {"stringValue": "tools/call"}
        assert attributes["gen_ai.tool.name"] == {"stringValue": tool}

    errored = next(s for s in server_spans if s["name"] == "tools/call change_case")
    assert errored["status"]["code"] == 2  # STATUS_CODE_ERROR: a tool result with isError
    ok = next(s for s in server_spans if s["name"] == "tools/call word_count")
    assert ok.get("status", {}).get("code", 0) != 2
    # The SDK emits the MCP spans; the server adds none of its own.
    assert {s["name"] for s in server_spans} <= {
        "server/discover",
        "initialize",
        "notifications/initialized",
        "tools/list",
        "tools/call word_count",
        "tools/call change_case",
    }


class RawServer:
    """A server process driven with raw JSON-RPC lines, for what ``mcp.Client`` hides (the
    process: its exit code, signals, stderr)."""

    def __init__(self, args: list[str], env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": os.environ.get("PATH", ""), **env},
        )

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def initialize(self) -> None:
        client = {"name": "test", "version": "0"}
        params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client}
        self.send({"id": 0, "method": "initialize", "params": params})
        assert self.receive()["id"] == 0
        self.send({"method": "notifications/initialized"})

    def call(self, request_id: int, tool: str, arguments: dict[str, Any]) -> None:
        params = {"name": tool, "arguments": arguments}
        self.send({"id": request_id, "method": "tools/call", "params": params})

    def close_stdin(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()

    def stop(self) -> str:
        """Kill the process if it still runs; its stderr."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        assert self.process.stderr is not None
        err = self.process.stderr.read().decode(errors="replace")
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
        return err


def test_sigterm_mid_call_still_exports_finished_spans(server_env: dict[str, str]) -> None:
    """The stdio client sends SIGTERM to a server that does not exit 2 s after stdin closes
    (say, a tool still running). The server exports what it has finished, then exits."""
    server = RawServer([str(FAULTY_SERVER)], server_env)
    try:
        server.initialize()
        server.call(1, "echo", {"text": "x"})
        server.call(2, "echo", {"text": "y"})
        server.call(3, "sleep", {"seconds": 60})
        assert sorted(server.receive()["id"] for _ in range(2)) == [1, 2]
        time.sleep(0.2)  # let the sleep start
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=10) == 128 + signal.SIGTERM
    finally:
        server.stop()
    spans_file = Path(server_env["MCP_AGENT_OTEL_HOME"]) / "spans.jsonl"
    names = [s["name"] for s in read_spans_file(spans_file)]
    assert names.count("tools/call echo") == 2
    assert "tools/call sleep" not in names  # unfinished: a span is exported when it ends


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("export_timeout", [None, "0.5"], ids=["default", "fails-in-time"])
def test_unreachable_otlp_endpoint_neither_breaks_nor_holds_a_server(
    server_env: dict[str, str], export_timeout: str | None
) -> None:
    """Spans go to an OTLP endpoint that refuses connections: tools answer as usual, nothing
    is printed, and after stdin closes the server gives up exporting and exits cleanly
    (the OTLP exporter alone would keep retrying for about 10 s). With a short export
    timeout the export fails before the server exits: still nothing on stderr (the agent
    reports the unreachable endpoint once, for everyone)."""
    env = {**server_env, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    if export_timeout is not None:
        env["OTEL_EXPORTER_OTLP_TIMEOUT"] = export_timeout
    server = RawServer(["-m", server_module("text")], env)
    try:
        server.initialize()
        server.call(1, "word_count", {"text": "one two"})
        answer = server.receive()
        assert answer["result"]["structuredContent"]["words"] == 2
        closed = time.monotonic()
        server.close_stdin()
        assert server.process.wait(timeout=15) == 0
        waited = time.monotonic() - closed
    finally:
        stderr = server.stop()
    assert waited < 5, f"the server took {waited:.1f} s to exit"
    assert stderr.strip() == ""
    assert not (Path(server_env["MCP_AGENT_OTEL_HOME"]) / "spans.jsonl").exists()


def test_unusable_tracing_settings_leave_the_server_serving(server_env: dict[str, str]) -> None:
    """A telemetry setting the server cannot use is named on stderr; the tools still work."""
    env = {
        **server_env,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
    }
    server = RawServer(["-m", server_module("mathdata")], env)
    try:
        server.initialize()
        server.call(1, "calculate", {"expression": "6 * 7"})
        assert server.receive()["result"]["structuredContent"]["result"] == 42
        server.close_stdin()
        assert server.process.wait(timeout=15) == 0
    finally:
        stderr = server.stop()
    assert "mcp-agent-otel server 'mathdata': tracing disabled" in stderr
    assert "OTEL_EXPORTER_OTLP_PROTOCOL='http/json' is not supported" in stderr
    assert "Traceback" not in stderr


def test_files_server_with_an_unusable_sandbox_says_what_to_do(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "plain-file"
    not_a_directory.write_text("x")
    env = {**server_env, ENV_SANDBOX: str(not_a_directory)}
    process = subprocess.run(
        [sys.executable, "-m", server_module("files")],
        env={"PATH": os.environ.get("PATH", ""), **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 2
    assert f"cannot use {str(not_a_directory)!r} as the sandbox directory" in process.stderr
    assert "set MCP_AGENT_OTEL_SANDBOX to a writable directory" in process.stderr
    assert "Traceback" not in process.stderr
    assert not_a_directory.read_text() == "x"
