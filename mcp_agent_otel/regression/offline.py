"""Offline input: OTLP-JSON-lines files (the agent's ``spans.jsonl``, the collector's file
exporter), one ``ExportTraceServiceRequest`` per line.

A bad line is reported with its number and skipped; the lines around it are still read.
"""

from __future__ import annotations

import dataclasses
import gzip
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from mcp_agent_otel.errors import InputError
from mcp_agent_otel.regression import otlp
from mcp_agent_otel.regression.gate_defaults import METRICS as METRICS
from mcp_agent_otel.regression.ingest import Ingestor
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.tracing import semconv

MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_REPORTED_ERRORS = 20


class SpansFileError(InputError):
    """A spans file that cannot be read at all (missing, a directory, unreadable)."""


@dataclasses.dataclass
class FileReport:
    path: str
    lines: int = 0
    accepted: int = 0
    rejected: int = 0
    bad_lines: int = 0
    old: int = 0  # spans older than the retention period (accepted from a file all the same)
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
    """Ingest every line of every file (then flush): what ``analyzer ingest`` does.

    A file is a record of the past, so the retention period does not refuse its spans (the
    other limits apply as on the receivers); spans older than it are counted in ``old``, since
    the running analyzer's upkeep prunes them later (a baseline made from them is kept).
    """
    reports = []
    for path in paths:
        report = FileReport(str(path))
        reports.append(report)
        for request in iter_requests(path, report):
            strict = ingestor.limits()
            limits = dataclasses.replace(strict, retention_ns=strict.now_ns)
            result = ingestor.ingest(request, validation=limits)
            report.accepted += result.accepted
            report.rejected += result.rejected
            report.old += _older_than(request, strict.now_ns - strict.retention_ns)
            if result.message and len(report.notes) < MAX_REPORTED_ERRORS:
                report.notes.append(result.message)
        ingestor.flush()
    return reports


def _older_than(request: ExportTraceServiceRequest, cutoff_ns: int) -> int:
    return sum(
        1
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
        if 0 < span.end_time_unix_nano < cutoff_ns
    )


def _cpu_times(request: ExportTraceServiceRequest) -> Iterator[tuple[int, str, float]]:
    """(resource index, span name, CPU ms) of every span carrying ``mcp_agent.cpu_time_ms``."""
    for index, resource_spans in enumerate(request.resource_spans):
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                for kv in span.attributes:
                    if kv.key == semconv.CPU_TIME_MS:
                        value = kv.value.double_value or float(kv.value.int_value)
                        if math.isfinite(value) and value > 0.0:
                            yield index, span.name, value


def file_samples(
    paths: Sequence[str | os.PathLike[str]],
    *,
    service: str | None = None,
    version: str | None = None,
    metric: str = "wall",
    max_duration_seconds: float = 86400.0,
) -> tuple[dict[OperationKey, dict[str, NDArray[np.float64]]], list[FileReport]]:
    """Per operation and per run id (``mcp_agent.run.id`` on the resource, "" when absent):
    the wall-clock durations (ms) of every valid span in the files, or with ``metric="cpu"``
    the thread CPU time (``mcp_agent.cpu_time_ms``) of the spans that carry it.

    No retention or clock limits apply (a CI file may be old); ids, times and absurd durations
    are validated as on ingest.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    limits = otlp.Limits(
        max_duration_ns=int(max_duration_seconds * 1e9),
        now_ns=2**62,
        max_future_ns=0,
        retention_ns=2**62,
    )
    chunks: dict[OperationKey, dict[str, list[float]]] = {}
    reports = []
    for path in paths:
        report = FileReport(str(path))
        reports.append(report)
        for request in iter_requests(path, report):
            columns, rejections = otlp.extract(request, limits)
            report.rejected += rejections.total
            runs = columns.run_ids
            wanted = [
                (service is None or res.service == service)
                and (version is None or res.version == version)
                for res in columns.resources
            ]
            if metric == "cpu":
                for index, name, value in _cpu_times(request):
                    if wanted[index]:
                        key = OperationKey(columns.resources[index].service, name)
                        chunks.setdefault(key, {}).setdefault(runs[index], []).append(value)
                        report.accepted += 1
                continue
            if not len(columns):
                continue
            keep = np.array(wanted, dtype=bool)[columns.resource_index]
            report.accepted += int(keep.sum())
            names, res_index, values = (
                columns.names,
                columns.resource_index,
                (columns.durations_ms.tolist()),
            )
            for i in np.flatnonzero(keep).tolist():
                r = int(res_index[i])
                key = OperationKey(columns.resources[r].service, names[i])
                chunks.setdefault(key, {}).setdefault(runs[r], []).append(values[i])
    return {
        key: {run: np.array(v, dtype=np.float64) for run, v in sorted(by_run.items())}
        for key, by_run in chunks.items()
    }, reports


def file_durations(
    paths: Sequence[str | os.PathLike[str]],
    *,
    service: str | None = None,
    version: str | None = None,
    max_duration_seconds: float = 86400.0,
) -> tuple[dict[OperationKey, NDArray[np.float64]], list[FileReport]]:
    """Durations (ms) per operation of every valid span in the files: a CI run's candidate
    (``file_samples`` with the runs pooled)."""
    samples, reports = file_samples(
        paths, service=service, version=version, max_duration_seconds=max_duration_seconds
    )
    return {key: np.concatenate(list(by_run.values())) for key, by_run in samples.items()}, reports
