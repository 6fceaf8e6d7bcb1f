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
from collections import Counter
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


def _verdict(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "MISSED")


def bench_summary(size: str, created: str, figures: list[Figure]) -> tuple[list[str], str]:
    """The figures as aligned terminal lines (grouped by benchmark, missed targets repeated
    at the end) and as a Markdown table (bench-summary.md)."""
    counts = Counter(_verdict(f.met) or "no target" for f in figures)
    headline = (
        f"{len(figures)} figure(s): {counts['met']} target(s) met, {counts['MISSED']} missed, "
        f"{counts['no target']} without a target"
    )
    width = max(len(f.name) for f in figures)
    lines = [headline]
    md = [
        f"# Benchmark figures ({size}, {created})",
        "",
        headline + ".",
        "",
        "| benchmark | figure | value | target | verdict | note |",
        "|---|---|---:|---|---|---|",
    ]
    current = None
    for f in figures:
        if f.benchmark != current:
            current = f.benchmark
            lines.append(current)
        value = f"{f.value:.4g} {f.unit}"
        target = f"target {f.target}" if f.target else ""
        lines.append(f"  {f.name:<{width}}  {value:>16}  {target:<24} {_verdict(f.met)}".rstrip())
        cells = [
            f.benchmark,
            f.name,
            value,
            f.target,
            "**MISSED**" if f.met is False else _verdict(f.met),
            f.note,
        ]
        md.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    missed = [f for f in figures if f.met is False]
    if missed:
        lines.append("targets missed:")
        lines += [
            f"  {f.benchmark}: {f.name} = {f.value:.4g} {f.unit} (target {f.target})"
            for f in missed
        ]
    return lines, "\n".join(md) + "\n"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _FIGURES:
        return
    size = str(config.getoption("--bench-size"))
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    tr = terminalreporter
    tr.section(f"benchmark figures ({size})")
    lines, markdown = bench_summary(size, created, _FIGURES)
    for line in lines:
        tr.write_line(line)
    root = Path(config.rootpath)
    (root / "bench-results.json").write_text(
        json.dumps(
            {
                "size": size,
                "created": created,
                "figures": [dataclasses.asdict(f) for f in _FIGURES],
            },
            indent=2,
        )
        + "\n"
    )
    (root / "bench-summary.md").write_text(markdown)
    tr.write_line("written: bench-results.json, bench-summary.md (notes are in both)")
