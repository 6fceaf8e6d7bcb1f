"""Live regression detection: per operation, a CUSUM detector against its active baseline.

The active baseline of an operation is the newest baseline that contains it. Detectors are
built lazily from that baseline's raw durations when the operation's spans arrive, resume
from their stored state after a restart, and are rebuilt when baselines are created or
deleted (by this process or another one writing the same database).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mcp_agent_otel.regression import reservoir
from mcp_agent_otel.regression.cusum import CusumDetector, DetectorAlert
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.store import Store

_log = logging.getLogger(__name__)


def positive(durations: NDArray[np.float64]) -> NDArray[np.float64]:
    """The detector works on log durations: zero-length spans are left out."""
    return durations[np.isfinite(durations) & (durations > 0)]


class DetectorBank:
    """Not thread-safe: the ingestor calls it under its own lock."""

    def __init__(self, store: Store, *, threshold: float = 0.10, cooldown: int = 500) -> None:
        self.store = store
        self.threshold = threshold
        self.cooldown = cooldown
        self._detectors: dict[int, tuple[int, str, CusumDetector]] = {}
        self._without: set[int] = set()  # operations with no usable baseline (until a change)
        self._dirty: set[int] = set()
        self._signature: tuple[int, int] | None = None
        self._active: dict[OperationKey, tuple[int, str]] = {}
        self._saved: dict[int, tuple[int, str]] = {}
        self.refresh()

    def refresh(self, force: bool = False) -> bool:
        """Reload the active baselines if they changed; True when they did."""
        signature = self.store.baselines_signature()
        if signature == self._signature and not force:
            return False
        self._signature = signature
        self._active = self.store.active_baselines()
        self._saved = self.store.detector_states()
        live = {baseline_id for baseline_id, _ in self._active.values()}
        self._detectors = {op: e for op, e in self._detectors.items() if e[0] in live}
        self._without.clear()
        return True

    @property
    def active_count(self) -> int:
        return len(self._detectors)

    def _detector(self, op_id: int, key: OperationKey) -> tuple[int, str, CusumDetector] | None:
        entry = self._detectors.get(op_id)
        active = self._active.get(key)
        if entry is not None and active is not None and entry[0] == active[0]:
            return entry
        if active is None or op_id in self._without:
            return None
        baseline_id, name = active
        entry = None
        saved = self._saved.get(op_id)
        if saved is not None and saved[0] == baseline_id:
            try:
                entry = (
                    baseline_id,
                    name,
                    CusumDetector.from_state(key.label, json.loads(saved[1])),
                )
            except (ValueError, TypeError, KeyError) as exc:
                _log.warning("stored detector state of %s is unusable (%s); rebuilt", key, exc)
        if entry is None:
            durations = positive(reservoir.durations(self.store.baseline_samples(baseline_id, key)))
            try:
                detector = CusumDetector.from_baseline(
                    key.label, durations, threshold=self.threshold, cooldown=self.cooldown
                )
            except ValueError as exc:
                _log.info("no live detection for %s against %s: %s", key, name, exc)
                self._without.add(op_id)
                return None
            entry = (baseline_id, name, detector)
        self._detectors[op_id] = entry
        return entry

    def feed(
        self, op_id: int, key: OperationKey, durations_ms: NDArray[np.float64]
    ) -> list[tuple[str, DetectorAlert]]:
        """Feed durations in arrival order; returns (baseline name, alert) for each alert."""
        entry = self._detector(op_id, key)
        if entry is None:
            return []
        _, name, detector = entry
        alerts: Sequence[DetectorAlert] = detector.update_many(positive(durations_ms))
        self._dirty.add(op_id)
        return [(name, alert) for alert in alerts]

    def forget(self, op_ids: set[int]) -> None:
        """Operations that no longer exist (evicted): their detectors and states go."""
        for op_id in op_ids:
            self._detectors.pop(op_id, None)
            self._saved.pop(op_id, None)
            self._without.discard(op_id)
            self._dirty.discard(op_id)

    def take_dirty_states(self) -> dict[int, tuple[int, str]]:
        states: dict[int, tuple[int, str]] = {}
        for op_id in self._dirty:
            entry = self._detectors.get(op_id)
            if entry is not None:
                state: dict[str, Any] = entry[2].state()
                states[op_id] = (entry[0], json.dumps(state, sort_keys=True))
        self._dirty.clear()
        return states
