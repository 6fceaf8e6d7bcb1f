"""Baselines: named snapshots of what a version (or a time range) looked like.

A snapshot holds, per operation, the span and error counts, the merged quantile sketch, and a
bounded, seeded sample of raw durations drawn from the stored reservoirs in proportion to the
spans each reservoir stands for. A time-range snapshot takes the reservoir samples that fall
in the range; for a narrow range of a long history these are few, and a comparison then says
"inconclusive" with the sample size it would need rather than guessing.

A version's snapshot also holds the summary of each run (``mcp_agent.run.id``) of each
operation, kept exactly at ingest: with several runs, its ``evidence`` is ``SampledRuns`` and a
comparison is widened by the run-to-run noise, as for spans files grouped by run. A time-range
snapshot has no runs (the summaries are not kept per time bucket): it is one pool of spans.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mcp_agent_otel.errors import InputError
from mcp_agent_otel.regression import reservoir
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.run_variance import RunSummary, SampledRuns
from mcp_agent_otel.regression.sketch import QuantileSketch
from mcp_agent_otel.regression.store import (
    BaselineNotFoundError,
    BaselineOperationRow,
    BaselineRow,
    Store,
)
from mcp_agent_otel.regression.time_ranges import iso

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class BaselineError(InputError):
    """A baseline request that cannot be honoured; the message says what to change."""


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name or ""):
        raise BaselineError(
            f"baseline name {name!r} is not allowed: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


@dataclasses.dataclass(frozen=True)
class Selector:
    """Which stored spans: those of a ``version``, or those ending in [``since``, ``until``);
    optionally only one service and one deployment environment."""

    version: str | None = None
    since: float | None = None
    until: float | None = None
    service: str | None = None
    environment: str | None = None

    def __post_init__(self) -> None:
        ranged = self.since is not None or self.until is not None
        if (self.version is None) == (not ranged):
            raise BaselineError(
                "choose the spans either by version (--version V) or by time range "
                "(--since T --until T), not both and not neither"
            )
        if ranged and (self.since is None or self.until is None):
            raise BaselineError("a time range needs both since and until")
        if (
            ranged
            and self.since is not None
            and self.until is not None
            and self.since >= self.until
        ):
            raise BaselineError(
                f"the time range is empty: since {iso(self.since)} is not before until "
                f"{iso(self.until)}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Selector:
        return cls(
            **{k: data.get(k) for k in ("version", "since", "until", "service", "environment")}
        )

    def describe(self) -> str:
        what = (
            f"version {self.version or '(none)'}"
            if self.version is not None
            else f"{iso(self.since or 0)} .. {iso(self.until or 0)}"
        )
        if self.service:
            what += f", service {self.service}"
        if self.environment:
            what += f", environment {self.environment}"
        return what


@dataclasses.dataclass
class OperationSnapshot:
    key: OperationKey
    count: int
    errors: int
    sketch: QuantileSketch
    samples: reservoir.Samples
    runs: tuple[tuple[str, RunSummary], ...] = ()  # (run id, summary), by run id

    @property
    def durations(self) -> NDArray[np.float64]:
        return reservoir.durations(self.samples)

    @property
    def evidence(self) -> NDArray[np.float64] | SampledRuns:
        """What a comparison takes: the sampled durations, with the runs' summaries when
        there are several runs (one run, or none known, is one pool of spans)."""
        if len(self.runs) < 2:
            return self.durations
        return SampledRuns(self.durations, tuple(summary for _, summary in self.runs))


@dataclasses.dataclass(frozen=True)
class BaselineInfo:
    name: str
    created: float
    source: dict[str, Any]
    operations: int
    spans: int

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "created_iso": iso(self.created)}


def snapshot(store: Store, selector: Selector) -> dict[OperationKey, OperationSnapshot]:
    """Per operation: counts and sketch of the selected buckets, and a sample of durations."""
    operations = {
        op_id: key
        for op_id, key in store.operations().items()
        if selector.service is None or key.service == selector.service
    }
    if not operations:
        return {}
    ids = sorted(operations)
    totals: dict[int, OperationSnapshot] = {}
    for row in store.bucket_rows(
        op_ids=ids,
        since=selector.since,
        until=selector.until,
        version=selector.version,
        environment=selector.environment,
    ):
        snap = totals.get(row.op_id)
        if snap is None:
            snap = totals[row.op_id] = OperationSnapshot(
                operations[row.op_id],
                0,
                0,
                QuantileSketch(store.relative_accuracy),
                reservoir.empty(),
            )
        snap.count += row.aggregate.count
        snap.errors += row.aggregate.errors
        snap.sketch.merge(row.aggregate.sketch)
    parts: dict[int, list[tuple[float, reservoir.Samples]]] = {}
    for res in store.reservoir_rows(
        op_ids=sorted(totals), version=selector.version, environment=selector.environment
    ):
        samples = res.samples
        weight = float(res.seen)
        if selector.since is not None or selector.until is not None:
            kept = reservoir.in_range(samples, selector.since, selector.until)
            weight = res.seen * (kept.size / samples.size) if samples.size else 0.0
            samples = kept
        parts.setdefault(res.op_id, []).append((weight, samples))
    for op_id, snap in totals.items():
        rng = reservoir.rng_for(store.seed, op_id, 7)
        snap.samples = reservoir.weighted_merge(parts.get(op_id, []), store.reservoir_size, rng)
    if selector.version is not None:
        for op_id, runs in _runs(store, selector, sorted(totals)).items():
            totals[op_id].runs = runs
    return {snap.key: snap for snap in totals.values()}


def _runs(
    store: Store, selector: Selector, op_ids: list[int]
) -> dict[int, tuple[tuple[str, RunSummary], ...]]:
    """Per operation, each run's summary over the selected version (environments merged)."""
    merged: dict[int, dict[str, RunSummary]] = {}
    for row in store.run_rows(
        op_ids=op_ids, version=selector.version, environment=selector.environment
    ):
        by_run = merged.setdefault(row.op_id, {})
        stored = by_run.get(row.run_id)
        by_run[row.run_id] = row.summary if stored is None else stored.merge(row.summary)
    return {op: tuple(sorted(by_run.items())) for op, by_run in merged.items()}


def create_baseline(store: Store, name: str, selector: Selector) -> BaselineInfo:
    check_name(name)
    snap = snapshot(store, selector)
    if not snap:
        raise BaselineError(
            f"no stored spans match {selector.describe()}; check the version or time range "
            "(`mcp-agent-otel analyzer stats` lists the versions seen)"
        )
    rows = [
        BaselineOperationRow(s.key, s.count, s.errors, s.sketch, s.samples, s.runs)
        for s in sorted(snap.values(), key=lambda s: s.key)
    ]
    store.insert_baseline(name, selector.to_dict(), rows)
    return get_baseline(store, name)


def _row(store: Store, name: str) -> BaselineRow:
    try:
        return store.baseline(name)
    except BaselineNotFoundError:
        raise BaselineNotFoundError(
            f"no baseline named {name!r}; create it with `mcp-agent-otel analyzer baseline "
            f"create {name} --version V` (or list them with `analyzer baseline list`)"
        ) from None


def get_baseline(store: Store, name: str) -> BaselineInfo:
    row = _row(store, name)
    return BaselineInfo(row.name, row.created, row.source, row.operations, row.spans)


def list_baselines(store: Store) -> list[BaselineInfo]:
    return [
        BaselineInfo(r.name, r.created, r.source, r.operations, r.spans) for r in store.baselines()
    ]


def delete_baseline(store: Store, name: str) -> None:
    _row(store, name)
    store.delete_baseline(name)


def baseline_snapshot(store: Store, name: str) -> dict[OperationKey, OperationSnapshot]:
    row = _row(store, name)
    return {
        op.key: OperationSnapshot(op.key, op.count, op.errors, op.sketch, op.samples, op.runs)
        for op in store.baseline_operations(row.id)
    }
