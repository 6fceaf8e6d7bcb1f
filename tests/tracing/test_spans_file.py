"""The spans file is bounded: rotated by size, a fixed number of backups kept, lines whole,
even with several writers (the agent and its stdio servers append to one file)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_agent_otel.tracing.export import OtlpJsonFileExporter, backup_path


def _spans(n: int) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.spans_file")
    for i in range(n):
        with tracer.start_as_current_span(f"span-{i}") as span:
            span.set_attribute("payload", "x" * 200)
    return list(memory.get_finished_spans())


def _files(path: Path) -> list[Path]:
    return sorted(
        p
        for p in path.parent.iterdir()
        if p.name.startswith(path.name) and not p.name.endswith(".lock")
    )


def _lines(paths: list[Path]) -> list[dict[str, object]]:
    return [json.loads(line) for p in paths for line in p.read_text().splitlines()]


def test_the_file_rotates_by_size_and_keeps_n_backups(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    exporter = OtlpJsonFileExporter(path, max_bytes=4096, backups=2)
    batch = _spans(3)  # about 1.5 KB a line
    for _ in range(40):
        exporter.export(batch)
    files = _files(path)
    assert [p.name for p in files] == ["spans.jsonl", "spans.jsonl.1", "spans.jsonl.2"]
    assert all(p.stat().st_size <= 4096 for p in files)
    assert sum(p.stat().st_size for p in files) <= 4096 * 3
    assert len(_lines(files)) >= 3  # whole lines only: every one parses
    assert not backup_path(path, 3).exists()


def test_no_backups_means_the_file_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    exporter = OtlpJsonFileExporter(path, max_bytes=4096, backups=0)
    for _ in range(20):
        exporter.export(_spans(3))
    assert [p.name for p in _files(path)] == ["spans.jsonl"]
    assert path.stat().st_size <= 4096


def test_a_line_larger_than_the_limit_is_written_whole_into_a_fresh_file(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    exporter = OtlpJsonFileExporter(path, max_bytes=1024, backups=3)
    exporter.export(_spans(1))
    exporter.export(_spans(10))  # one line of ~5 KB
    assert len(_lines([path])) == 1
    assert len(_lines(_files(path))) == 2


def test_zero_size_never_rotates(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    exporter = OtlpJsonFileExporter(path, max_bytes=0, backups=3)
    for _ in range(30):
        exporter.export(_spans(3))
    assert [p.name for p in _files(path)] == ["spans.jsonl"]


def test_several_writers_rotate_once_between_them_and_lose_no_line(tmp_path: Path) -> None:
    """Four writers, each with its own exporter (as separate processes have), append and
    rotate the same file concurrently: every line is whole and none is lost."""
    path = tmp_path / "spans.jsonl"
    batch = _spans(2)
    per_writer = 150

    def write() -> None:
        exporter = OtlpJsonFileExporter(path, max_bytes=8192, backups=1000)
        for _ in range(per_writer):
            exporter.export(batch)

    writers = [threading.Thread(target=write) for _ in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    files = _files(path)
    assert len(files) > 10
    assert all(p.stat().st_size <= 8192 for p in files)
    assert len(_lines(files)) == 4 * per_writer
