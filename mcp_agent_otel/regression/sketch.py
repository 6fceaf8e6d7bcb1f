"""A mergeable DDSketch quantile sketch for durations, fed with numpy arrays.

The bin mapping is ``ddsketch``'s own ``LogarithmicMapping`` (so the relative-accuracy
guarantee is the library's), the bins are a dense numpy array so that a batch of thousands of
durations is added in one vectorized step, and the serialized form is the standard DDSketch
protobuf (``ddsketch.pb``), zlib-compressed: ``to_ddsketch()`` hands back a library
``DDSketch`` built from exactly those bytes.

Quantiles follow the library's definition (rank ``q * (count - 1)``, lower bin), so a
quantile is within ``relative_accuracy`` of the exact order statistic at that rank.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping
from ddsketch.pb import ddsketch_pb2 as pb
from ddsketch.pb.proto import DDSketchProto
from numpy.typing import NDArray

from mcp_agent_otel.errors import InputError

DEFAULT_RELATIVE_ACCURACY = 0.005
_LOGARITHMIC: int = pb.IndexMapping.NONE  # type: ignore[attr-defined]

FloatArray = NDArray[np.float64]


class SketchDecodeError(InputError):
    """Stored sketch bytes that cannot be read back."""


class QuantileSketch:
    """DDSketch over non-negative values (durations in milliseconds)."""

    __slots__ = ("_log_gamma", "counts", "mapping", "offset", "zero_count")

    def __init__(self, relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY) -> None:
        self.mapping = LogarithmicMapping(relative_accuracy)
        self._log_gamma = math.log(self.mapping.gamma)
        self.offset = 0  # key of counts[0]
        self.counts: FloatArray = np.zeros(0, dtype=np.float64)
        self.zero_count = 0.0

    @property
    def relative_accuracy(self) -> float:
        return float(self.mapping.relative_accuracy)

    @property
    def count(self) -> float:
        return float(self.counts.sum()) + self.zero_count

    def __len__(self) -> int:
        return round(self.count)

    # --- writing ---------------------------------------------------------------------------
    def add_many(self, values: FloatArray | Sequence[float]) -> None:
        """Add values (negative ones are counted as zero: durations cannot be negative)."""
        arr = np.asarray(values, dtype=np.float64)
        if arr.size == 0:
            return
        positive = arr > self.mapping.min_possible
        self.zero_count += float(arr.size - int(positive.sum()))
        if not positive.any():
            return
        keys = np.ceil(np.log(arr[positive]) / self._log_gamma).astype(np.int64)
        lo, hi = int(keys.min()), int(keys.max())
        self._ensure(lo, hi)
        self.counts += np.bincount(keys - self.offset, minlength=self.counts.size)

    def _ensure(self, lo: int, hi: int) -> None:
        if self.counts.size == 0:
            self.offset = lo
            self.counts = np.zeros(hi - lo + 1, dtype=np.float64)
            return
        cur_hi = self.offset + self.counts.size - 1
        new_lo, new_hi = min(lo, self.offset), max(hi, cur_hi)
        if new_lo == self.offset and new_hi == cur_hi:
            return
        grown = np.zeros(new_hi - new_lo + 1, dtype=np.float64)
        start = self.offset - new_lo
        grown[start : start + self.counts.size] = self.counts
        self.offset, self.counts = new_lo, grown

    def merge(self, other: QuantileSketch) -> None:
        if not math.isclose(other.mapping.gamma, self.mapping.gamma, rel_tol=1e-9):
            raise ValueError(
                "cannot merge sketches of different relative accuracy "
                f"({self.relative_accuracy} and {other.relative_accuracy})"
            )
        self.zero_count += other.zero_count
        if other.counts.size == 0:
            return
        self._ensure(other.offset, other.offset + other.counts.size - 1)
        start = other.offset - self.offset
        self.counts[start : start + other.counts.size] += other.counts

    def copy(self) -> QuantileSketch:
        twin = QuantileSketch(self.relative_accuracy)
        twin.offset, twin.counts, twin.zero_count = self.offset, self.counts.copy(), self.zero_count
        return twin

    # --- reading ---------------------------------------------------------------------------
    def quantile(self, q: float) -> float | None:
        """The value at quantile ``q`` (0..1), None when the sketch is empty."""
        return self.quantiles((q,))[0]

    def quantiles(self, qs: Iterable[float]) -> list[float | None]:
        total = self.count
        out: list[float | None] = []
        cumulative = np.cumsum(self.counts) if self.counts.size else self.counts
        for q in qs:
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"quantile must be within [0, 1], got {q}")
            if total <= 0:
                out.append(None)
                continue
            rank = q * (total - 1)
            if rank < self.zero_count:
                out.append(0.0)
                continue
            # the library's key_at_rank(lower=True): first bin whose running count exceeds rank
            index = int(np.searchsorted(cumulative, rank - self.zero_count, side="right"))
            index = min(index, self.counts.size - 1)
            out.append(float(self.mapping.value(self.offset + index)))
        return out

    # --- bytes -------------------------------------------------------------------------------
    def to_proto(self) -> Any:
        message = pb.DDSketch(
            mapping=pb.IndexMapping(
                gamma=self.mapping.gamma, indexOffset=0.0, interpolation=_LOGARITHMIC
            ),
            zeroCount=self.zero_count,
        )
        if self.counts.size:
            nonzero = np.flatnonzero(self.counts)
            first, last = int(nonzero[0]), int(nonzero[-1])
            message.positiveValues.contiguousBinIndexOffset = self.offset + first
            message.positiveValues.contiguousBinCounts.extend(
                self.counts[first : last + 1].tolist()
            )
        return message

    def to_bytes(self) -> bytes:
        """zlib-compressed DDSketch protobuf."""
        return zlib.compress(self.to_proto().SerializeToString(), 1)

    @classmethod
    def from_bytes(cls, data: bytes) -> QuantileSketch:
        try:
            message = pb.DDSketch()
            message.ParseFromString(zlib.decompress(data))
        except Exception as exc:  # zlib.error, DecodeError
            raise SketchDecodeError(f"stored sketch is unreadable: {exc}") from exc
        if message.mapping.interpolation != _LOGARITHMIC or message.mapping.gamma <= 1:
            raise SketchDecodeError("stored sketch does not use a logarithmic mapping")
        gamma = message.mapping.gamma
        # gamma -> accuracy -> gamma is not exact in floating point: settings are round numbers.
        sketch = cls(float(f"{(gamma - 1.0) / (gamma + 1.0):.10g}"))
        sketch.zero_count = float(message.zeroCount)
        bins = message.positiveValues.contiguousBinCounts
        if len(bins):
            sketch.offset = int(message.positiveValues.contiguousBinIndexOffset)
            sketch.counts = np.array(bins, dtype=np.float64)
        return sketch

    def to_ddsketch(self) -> DDSketch:
        """The same bins as a ``ddsketch`` library object (for interoperability)."""
        restored: DDSketch = DDSketchProto.from_proto(self.to_proto())  # type: ignore[no-untyped-call]
        return restored


def sketches_by_group(
    values: FloatArray, group: NDArray[np.int64], groups: int, relative_accuracy: float
) -> list[QuantileSketch]:
    """One sketch per group (``group[i]`` in ``0..groups-1`` is the group of ``values[i]``),
    built with a single vectorized pass over all values."""
    out = [QuantileSketch(relative_accuracy) for _ in range(groups)]
    if values.size == 0:
        return out
    template = out[0]
    positive = values > template.mapping.min_possible
    zeros = np.bincount(group[~positive], minlength=groups)
    keys = np.ceil(np.log(values[positive]) / template._log_gamma).astype(np.int64)
    if keys.size:
        lo = int(keys.min())
        width = int(keys.max()) - lo + 1
        table = np.bincount(
            group[positive] * width + (keys - lo), minlength=groups * width
        ).reshape(groups, width)
        for g in range(groups):
            row = table[g]
            nonzero = np.flatnonzero(row)
            if nonzero.size:
                first, last = int(nonzero[0]), int(nonzero[-1])
                out[g].offset = lo + first
                out[g].counts = row[first : last + 1].astype(np.float64)
    for g in np.flatnonzero(zeros).tolist():
        out[g].zero_count = float(zeros[g])
    return out


def merged(sketches: Iterable[QuantileSketch], relative_accuracy: float) -> QuantileSketch:
    total = QuantileSketch(relative_accuracy)
    for sketch in sketches:
        total.merge(sketch)
    return total
