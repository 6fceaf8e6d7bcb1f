"""kill -9 under load: acknowledged spans against stored spans, per protocol.

3 clients export over OTLP/HTTP (raw keep-alive connections) or OTLP/gRPC to the analyzer
running as its own process; after the load time the analyzer is killed with SIGKILL, started
again (it replays its spool) and stopped cleanly, and the database's span count is compared
with the spans that were answered 200/OK. Smoke: one 2 s try per protocol; full (``make
bench``): five 60 s tries per protocol. The assertion is on counts (nothing acknowledged is
lost), never on timings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import kill9_under_load


@pytest.mark.bench
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_kill9_under_load_acknowledged_vs_stored(tmp_path: Path, protocol: str, bench) -> None:  # type: ignore[no-untyped-def]
    tries = bench.n(1, 5)
    seconds = float(bench.n(2, 60))
    results = []
    for k in range(tries):
        acknowledged, stored = kill9_under_load(tmp_path / f"try{k}", protocol, seconds)
        results.append((acknowledged, stored))
        print(
            f"\n{protocol} try {k + 1}/{tries}: {seconds:g} s, 3 clients: {acknowledged:,} spans "
            f"acknowledged, {stored:,} stored, lost {max(acknowledged - stored, 0):,}"
        )
    lost = sum(max(a - s, 0) for a, s in results)
    acknowledged_total = sum(a for a, _ in results)
    bench.record(
        f"kill9_{protocol}_acknowledged_spans_lost",
        lost,
        "spans",
        target="0",
        met=lost == 0,
        note=f"{tries} tries x {seconds:g} s, {acknowledged_total:,} acknowledged in all",
    )
    assert acknowledged_total > 0
    assert lost == 0
