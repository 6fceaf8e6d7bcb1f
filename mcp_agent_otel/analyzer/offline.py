"""Offline input: OTLP-JSON-lines files (the agent's ``spans.jsonl``, the collector's file
exporter), one ``ExportTraceServiceRequest`` per line.

A bad line is reported with its number and skipped; the lines around it are still read.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from mcp_agent_otel.analyzer import otlp
from mcp_agent_otel.analyzer.ingest import Ingestor
from mcp_agent_otel.analyzer.operation import OperationKey

MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_REPORTED_ERRORS = 20


class SpansFileError(ValueError):
    """A spans file that cannot be read at all (missing, a directory, unreadable)."""


@dataclasses.dataclass
class FileReport:
    path: str
    lines: int = 0
    accepted: int = 0
    rejected: int = 0
    bad_lines: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def iter_requests(
    path: str | os.PathLike[str], report: FileReport
) -> Iterator[ExportTraceServiceRequest]:
    """The requests of a JSON-lines file (optionally .gz); bad lines are counted in ``report``."""
    file = Path(path)
    if not file.is_file():
        raise SpansFileError(
            f"{file} is not a file; give an OTLP-JSON-lines spans file such as "
            "$MCP_AGENT_OTEL_HOME/spans.jsonl"
        )
    opener = gzip.open if file.suffix == ".gz" else open
    try:
        with opener(file, "rb") as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                report.lines += 1
                if len(line) > MAX_LINE_BYTES:
                    _bad(report, number, f"line longer than {MAX_LINE_BYTES} bytes")
                    continue
                try:
                    yield otlp.parse_json(line)
                except otlp.OtlpDecodeError as exc:
                    _bad(report, number, str(exc))
    except (OSError, EOFError) as exc:
        raise SpansFileError(f"cannot read {file}: {exc}") from exc


def _bad(report: FileReport, number: int, message: str) -> None:
    report.bad_lines += 1
    if len(report.errors) < MAX_REPORTED_ERRORS:
        report.errors.append(f"{report.path}:{number}: {message}")


def ingest_files(paths: Sequence[str | os.PathLike[str]], ingestor: Ingestor) -> list[FileReport]:
    """Ingest every line of every file (then flush): what ``analyzer ingest`` does."""
    reports = []
    for path in paths:
        report = FileReport(str(path))
        reports.append(report)
        for request in iter_requests(path, report):
            result = ingestor.ingest(request)
            report.accepted += result.accepted
            report.rejected += result.rejected
            if result.message and len(report.notes) < MAX_REPORTED_ERRORS:
                report.notes.append(result.message)
        ingestor.flush()
    return reports


def file_durations(
    paths: Sequence[str | os.PathLike[str]],
    *,
    service: str | None = None,
    version: str | None = None,
    max_duration_seconds: float = 86400.0,
) -> tuple[dict[OperationKey, NDArray[np.float64]], list[FileReport]]:
    """Durations (ms) per operation of every valid span in the files: a CI run's candidate.

    No retention or clock limits apply (a CI file may be old); ids, times and absurd durations
    are validated as on ingest.
    """
    limits = otlp.Limits(
        max_duration_ns=int(max_duration_seconds * 1e9),
        now_ns=2**62,
        max_future_ns=0,
        retention_ns=2**62,
    )
    chunks: dict[OperationKey, list[float]] = {}
    reports = []
    for path in paths:
        report = FileReport(str(path))
        reports.append(report)
        for request in iter_requests(path, report):
            columns, rejections = otlp.extract(request, limits)
            report.rejected += rejections.total
            if not len(columns):
                continue
            durations = columns.durations_ms
            keep = np.ones(len(columns), dtype=bool)
            for i, res in enumerate(columns.resources):
                if (service is not None and res.service != service) or (
                    version is not None and res.version != version
                ):
                    keep &= columns.resource_index != i
            report.accepted += int(keep.sum())
            names, res_index, values = columns.names, columns.resource_index, durations.tolist()
            for i in np.flatnonzero(keep).tolist():
                res = columns.resources[int(res_index[i])]
                chunks.setdefault(OperationKey(res.service, names[i]), []).append(values[i])
    return {k: np.array(v, dtype=np.float64) for k, v in chunks.items()}, reports
