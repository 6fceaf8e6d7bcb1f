"""Memory figures: tracemalloc peaks per span, and the process's resident set size.

``PeakTracker`` measures, for every span open while tracemalloc traces, the peak of traced
Python memory above the level at the span's start. tracemalloc keeps one process-wide peak,
so the tracker folds that peak into every open span and resets it at each span start and
end: nested spans (a stage inside the workflow) each get their own peak. The figure is
process-wide while the span is open: concurrent spans share allocations, so the profiler
measures memory in a separate pass, one workflow at a time, where a stage's peak is its own
(plus what the event loop does meanwhile). tracemalloc slows allocation down, which is why
the latency runs never trace memory.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import sys
import threading
import tracemalloc
from collections.abc import Mapping, Sequence
from pathlib import Path

from mcp_agent_otel.autonomous.models import Model


class PeakTracker:
    """Peak traced memory above the start level, per span; call from the spans' thread."""

    def __init__(self) -> None:
        self._open: dict[int, list[int]] = {}  # key -> [level at start, running peak]
        self._lock = threading.Lock()
        self.peaks: dict[str, list[int]] = {}

    def _fold(self) -> None:
        _, peak = tracemalloc.get_traced_memory()
        for entry in self._open.values():
            if peak > entry[1]:
                entry[1] = peak

    def start(self, key: int) -> None:
        if not tracemalloc.is_tracing():
            return
        with self._lock:
            self._fold()
            current, _ = tracemalloc.get_traced_memory()
            self._open[key] = [current, current]
            tracemalloc.reset_peak()

    def end(self, key: int, name: str) -> None:
        with self._lock:
            entry = self._open.pop(key, None)
            if entry is None or not tracemalloc.is_tracing():
                return
            _, peak = tracemalloc.get_traced_memory()
            for other in (entry, *self._open.values()):
                if peak > other[1]:
                    other[1] = peak
            tracemalloc.reset_peak()
            self.peaks.setdefault(name, []).append(max(0, entry[1] - entry[0]))

    def clear_open(self) -> None:
        with self._lock:
            self._open.clear()


@dataclasses.dataclass(frozen=True)
class SpanMemory(Model):
    """Peak traced Python memory above the level at span start, over a span name's spans."""

    name: str
    samples: int
    peak_p50_bytes: int
    peak_max_bytes: int


def span_memory(peaks: Mapping[str, Sequence[int]], names: Sequence[str]) -> tuple[SpanMemory, ...]:
    """Per name (in ``names`` order, those with samples): the median and largest peak."""
    out = []
    for name in names:
        values = sorted(peaks.get(name, ()))
        if values:
            out.append(SpanMemory(name, len(values), values[(len(values) - 1) // 2], values[-1]))
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class ProcessMemory(Model):
    """The process's resident set size now and its high-water mark (bytes; None if unknown)."""

    rss_bytes: int | None
    peak_rss_bytes: int | None


def parse_proc_status(text: str) -> ProcessMemory:
    """``VmRSS`` and ``VmHWM`` from a Linux ``/proc/<pid>/status`` text (pure)."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            parts = rest.split()
            if parts and parts[0].isdigit():
                unit = parts[1].lower() if len(parts) > 1 else "kb"
                values[key] = int(parts[0]) * (1024 if unit == "kb" else 1)
    return ProcessMemory(values.get("VmRSS"), values.get("VmHWM"))


def process_memory() -> ProcessMemory:
    """This process's RSS: from /proc on Linux, else the peak from getrusage."""
    status = Path(f"/proc/{os.getpid()}/status")
    try:
        parsed = parse_proc_status(status.read_text())
        if parsed.rss_bytes is not None:
            return parsed
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    return ProcessMemory(None, peak if sys.platform == "darwin" else peak * 1024)


@dataclasses.dataclass(frozen=True)
class MemoryReport(Model):
    runs: int  # workflows run in the memory pass (tracemalloc on)
    spans: tuple[SpanMemory, ...]
    rss_start_bytes: int | None
    rss_end_bytes: int | None
    rss_peak_bytes: int | None
