"""Shared fixtures: one in-memory span exporter behind the global provider, and the bench recorder.

OpenTelemetry lets a process install its global TracerProvider once, so the test session
installs one SDK provider with an ``InMemorySpanExporter``; the ``spans`` fixture clears it
for each test. Code under test that calls ``configure_tracing`` finds this provider and keeps
it, exactly as it keeps a provider a user installed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_EXPORTER = InMemorySpanExporter()
_PROVIDER = TracerProvider(resource=Resource.create({"service.name": "mcp-agent-otel-tests"}))
_PROVIDER.add_span_processor(SimpleSpanProcessor(_EXPORTER))
trace.set_tracer_provider(_PROVIDER)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The session's in-memory exporter, emptied before and after the test."""
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


@pytest.fixture
def tracer_provider() -> TracerProvider:
    return _PROVIDER


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own MCP_AGENT_OTEL_HOME, so state never leaks between tests."""
    home = tmp_path / "home"
    monkeypatch.setenv("MCP_AGENT_OTEL_HOME", str(home))
    return home


# --- benchmarks ----------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bench-size",
        choices=("smoke", "full"),
        default="smoke",
        help="benchmark size: smoke (CI, seconds) or full (make bench)",
    )


@dataclasses.dataclass
class Figure:
    benchmark: str
    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclasses.dataclass
class BenchRecorder:
    """Collects a benchmark's figures; ``make bench`` writes them to bench-results.json."""

    size: str
    benchmark: str
    figures: list[Figure]

    @property
    def full(self) -> bool:
        return self.size == "full"

    def n(self, smoke: int, full: int) -> int:
        """A sample count: small for the CI smoke run, real for ``make bench``."""
        return full if self.full else smoke

    def record(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        target: str = "",
        met: bool | None = None,
        note: str = "",
    ) -> None:
        if not math.isfinite(value):
            raise ValueError(f"benchmark figure {name} is not finite: {value}")
        self.figures.append(Figure(self.benchmark, name, value, unit, target, met, note))


_FIGURES: list[Figure] = []


@pytest.fixture
def bench(request: pytest.FixtureRequest) -> BenchRecorder:
    size = str(request.config.getoption("--bench-size"))
    return BenchRecorder(size=size, benchmark=request.node.name, figures=_FIGURES)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _FIGURES:
        return
    size = str(config.getoption("--bench-size"))
    tr = terminalreporter
    tr.section(f"benchmark figures ({size})")
    for f in _FIGURES:
        verdict = "" if f.met is None else ("  [target met]" if f.met else "  [TARGET MISSED]")
        target = f"  target {f.target}" if f.target else ""
        note = f"  ({f.note})" if f.note else ""
        tr.write_line(f"{f.benchmark}: {f.name} = {f.value:.6g} {f.unit}{target}{verdict}{note}")
    out = Path(config.rootpath) / "bench-results.json"
    out.write_text(
        json.dumps(
            {
                "size": size,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "figures": [dataclasses.asdict(f) for f in _FIGURES],
            },
            indent=2,
        )
        + "\n"
    )
    tr.write_line(f"written: {out.name}")
