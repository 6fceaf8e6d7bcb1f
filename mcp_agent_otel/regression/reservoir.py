"""Bounded, seeded reservoirs of raw durations (pure functions over numpy arrays).

A reservoir is a uniform random sample of one stream (an operation's spans of one version in
one environment), kept at no more than ``size`` samples by Vitter's Algorithm R. Each sample
is the span's end time (unix seconds, uint32) and its duration (milliseconds, float32:
8 bytes a sample). Randomness is seeded from the stream's identity and position, so the same
spans in the same order give the same reservoir, run after run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from mcp_agent_otel.errors import InputError

SAMPLE_DTYPE = np.dtype([("t", "<u4"), ("d", "<f4")])

Samples = NDArray[np.void]


class ReservoirDecodeError(InputError):
    """Stored reservoir bytes that cannot be read back."""


def empty() -> Samples:
    return np.zeros(0, dtype=SAMPLE_DTYPE)


def make_samples(end_seconds: NDArray[np.float64], durations_ms: NDArray[np.float64]) -> Samples:
    out = np.empty(len(durations_ms), dtype=SAMPLE_DTYPE)
    out["t"] = np.clip(end_seconds, 0, np.iinfo(np.uint32).max)
    out["d"] = durations_ms
    return out


def rng_for(seed: int, *key: int) -> np.random.Generator:
    """A generator determined by the seed and the (non-negative) integers of ``key``."""
    return np.random.default_rng([seed & 0xFFFFFFFF, *(k & 0xFFFFFFFFFFFF for k in key)])


def reservoir_add(
    samples: Samples, seen: int, new: Samples, size: int, rng: np.random.Generator
) -> tuple[Samples, int]:
    """Algorithm R over a batch: returns the new reservoir and the new stream length."""
    if new.size == 0:
        return samples, seen
    room = max(size - samples.size, 0)
    if room:
        take = min(room, new.size)
        samples = np.concatenate([samples, new[:take]])
        seen += take
        new = new[take:]
        if new.size == 0:
            return samples, seen
    else:
        samples = samples.copy()
    # The i-th further item (1-based stream position p) replaces slot j ~ U[0, p) if j < size.
    positions = np.arange(seen + 1, seen + new.size + 1, dtype=np.int64)
    slots = rng.integers(0, positions)
    chosen = np.flatnonzero(slots < size)
    if chosen.size:
        # Sequential semantics: when a slot is hit twice, the later item stays.
        rev_slots = slots[chosen][::-1]
        _, first_in_rev = np.unique(rev_slots, return_index=True)
        keep = chosen[::-1][first_in_rev]
        samples[slots[keep]] = new[keep]
    return samples, seen + new.size


def weighted_merge(
    parts: Sequence[tuple[float, Samples]], size: int, rng: np.random.Generator
) -> Samples:
    """One sample of at most ``size`` items from several reservoirs, each part contributing in
    proportion to its weight (the number of spans it stands for), without replacement."""
    parts = [(float(w), s) for w, s in parts if s.size and w > 0]
    if not parts:
        return empty()
    available = sum(s.size for _, s in parts)
    if available <= size:
        return np.concatenate([s for _, s in parts])
    quota = np.zeros(len(parts), dtype=np.int64)
    capacity = np.array([s.size for _, s in parts], dtype=np.int64)
    weights = np.array([w for w, _ in parts], dtype=np.float64)
    remaining = size
    while remaining > 0:
        open_ = capacity > quota
        share = np.where(open_, weights, 0.0)
        exact = share / share.sum() * remaining
        add = np.minimum(np.floor(exact).astype(np.int64), capacity - quota)
        if add.sum() == 0:  # hand out the last units by largest remainder
            order = np.argsort(-(exact - np.floor(exact)), kind="stable")
            for i in order:
                if remaining and open_[i] and quota[i] < capacity[i]:
                    quota[i] += 1
                    remaining -= 1
            continue
        quota += add
        remaining -= int(add.sum())
    picked = [
        s[np.sort(rng.choice(s.size, size=int(k), replace=False))]
        for (_, s), k in zip(parts, quota, strict=False)
        if k
    ]
    return np.concatenate(picked)


def in_range(samples: Samples, since: float | None, until: float | None) -> Samples:
    mask = np.ones(samples.size, dtype=bool)
    if since is not None:
        mask &= samples["t"] >= since
    if until is not None:
        mask &= samples["t"] < until
    return samples[mask]


def encode(samples: Samples) -> bytes:
    return np.ascontiguousarray(samples, dtype=SAMPLE_DTYPE).tobytes()


def decode(data: bytes) -> Samples:
    if len(data) % SAMPLE_DTYPE.itemsize:
        raise ReservoirDecodeError(
            f"stored reservoir has {len(data)} bytes, not a multiple of {SAMPLE_DTYPE.itemsize}"
        )
    return np.frombuffer(data, dtype=SAMPLE_DTYPE).copy()


def durations(samples: Samples) -> NDArray[np.float64]:
    return np.asarray(samples["d"], dtype=np.float64)
