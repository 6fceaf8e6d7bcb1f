"""The analyzer's SQLite store (WAL): operations, per-bucket sketches, reservoirs, per-run
summaries, baselines, detector states, alerts and ingest counters.

Every write is one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error),
so a bad batch never leaves half of itself behind and never touches rows it did not own.
Writes read-modify-write the stored aggregates inside that transaction, so several processes
(a server and ``analyzer ingest``) can write to one database safely. Reads use their own
short-lived connections and never wait for writers (WAL).

Why one module of ~700 lines: it is the one owner of the schema and of the transaction
discipline above. A flush writes operations, buckets, reservoirs, detector states, alerts and
counters in one transaction, and baselines are snapshots of those same rows; split by table,
each part would need the connection, the transaction helper and the schema of the others,
and the rule "every write is one transaction" would no longer be visible in one place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import threading
import time
import zlib
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mcp_agent_otel import errors
from mcp_agent_otel.regression import reservoir
from mcp_agent_otel.regression.aggregates import BucketAggregate, BucketKey, ReservoirKey
from mcp_agent_otel.regression.alerts import Alert
from mcp_agent_otel.regression.operation import OperationKey
from mcp_agent_otel.regression.run_variance import RunSummary
from mcp_agent_otel.regression.sketch import QuantileSketch

# The tables ``runs`` and ``baseline_runs`` came later: they are only added (CREATE TABLE IF NOT
# EXISTS on open), which is the whole migration, so a database of either age opens with either
# program; a baseline made before them has no runs and compares as it always did.
SCHEMA_VERSION = 1
_SPOOL_COMMITTED = "spool_committed"
_BUSY_TIMEOUT_MS = 30_000
DB_FILE_MODE = 0o600  # the database (and so its -wal and -shm, which SQLite creates alike)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    name TEXT NOT NULL,
    first_seen REAL NOT NULL,
    UNIQUE (service, name)
);
CREATE TABLE IF NOT EXISTS buckets (
    op_id INTEGER NOT NULL,
    version TEXT NOT NULL,
    environment TEXT NOT NULL,
    start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    cache_hits INTEGER NOT NULL,
    cache_misses INTEGER NOT NULL,
    sum_ms REAL NOT NULL,
    min_ms REAL NOT NULL,
    max_ms REAL NOT NULL,
    sketch BLOB NOT NULL,
    exemplars TEXT NOT NULL,
    PRIMARY KEY (op_id, version, environment, start)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS buckets_by_start ON buckets (start);
CREATE TABLE IF NOT EXISTS reservoirs (
    op_id INTEGER NOT NULL,
    version TEXT NOT NULL,
    environment TEXT NOT NULL,
    seen INTEGER NOT NULL,
    last_time REAL NOT NULL,
    samples BLOB NOT NULL,
    PRIMARY KEY (op_id, version, environment)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS baselines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS baseline_operations (
    baseline_id INTEGER NOT NULL REFERENCES baselines (id) ON DELETE CASCADE,
    service TEXT NOT NULL,
    name TEXT NOT NULL,
    count INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    sketch BLOB NOT NULL,
    samples BLOB NOT NULL,
    PRIMARY KEY (baseline_id, service, name)
);
CREATE TABLE IF NOT EXISTS runs (
    op_id INTEGER NOT NULL,
    version TEXT NOT NULL,
    environment TEXT NOT NULL,
    run_id TEXT NOT NULL,
    count INTEGER NOT NULL,
    mean_log REAL NOT NULL,
    m2_log REAL NOT NULL,
    last_time REAL NOT NULL,
    PRIMARY KEY (op_id, version, environment, run_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS baseline_runs (
    baseline_id INTEGER NOT NULL REFERENCES baselines (id) ON DELETE CASCADE,
    service TEXT NOT NULL,
    name TEXT NOT NULL,
    run_id TEXT NOT NULL,
    count INTEGER NOT NULL,
    mean_log REAL NOT NULL,
    m2_log REAL NOT NULL,
    PRIMARY KEY (baseline_id, service, name, run_id)
);
CREATE TABLE IF NOT EXISTS detectors (
    op_id INTEGER PRIMARY KEY,
    baseline_id INTEGER NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_created ON alerts (created);
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class StoreError(errors.StoreError):
    """The database cannot be opened or used; the message names the file and what to do."""


class StoreInUseError(StoreError):
    """Another process is receiving spans into this database (its ingest spool is locked)."""


class BaselineExistsError(errors.InputError):
    pass


class BaselineNotFoundError(errors.McpAgentOtelError, LookupError):
    pass


RunKey = tuple[int, str, str, str]  # (operation id, version, environment, run id)


def merge_runs(
    into: dict[RunKey, tuple[RunSummary, float]], key: RunKey, summary: RunSummary, last: float
) -> None:
    """Add one run's new spans (``summary``, ending by ``last``) to ``into``."""
    stored = into.get(key)
    into[key] = (
        (summary, last) if stored is None else (stored[0].merge(summary), max(stored[1], last))
    )


@dataclasses.dataclass
class FlushBatch:
    """Everything one write-behind flush (or one offline ingest) stores, in one transaction."""

    operations: dict[int, OperationKey] = dataclasses.field(default_factory=dict)
    buckets: dict[BucketKey, BucketAggregate] = dataclasses.field(default_factory=dict)
    samples: dict[ReservoirKey, list[reservoir.Samples]] = dataclasses.field(default_factory=dict)
    # Per (operation, version, environment, run id): the run's summary and its last end (s).
    runs: dict[RunKey, tuple[RunSummary, float]] = dataclasses.field(default_factory=dict)
    detector_states: dict[int, tuple[int, str]] = dataclasses.field(default_factory=dict)
    alerts: list[Alert] = dataclasses.field(default_factory=list)
    counters: Counter[str] = dataclasses.field(default_factory=Counter)
    # The ingest spool's sealed segment this batch completes (recorded in the same transaction).
    spool_segment: int | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.buckets
            or self.samples
            or self.runs
            or self.detector_states
            or self.alerts
            or self.counters
            or self.spool_segment is not None
        )


@dataclasses.dataclass(frozen=True)
class BucketRow:
    op_id: int
    version: str
    environment: str
    start: int
    aggregate: BucketAggregate


@dataclasses.dataclass(frozen=True)
class ReservoirRow:
    op_id: int
    version: str
    environment: str
    seen: int
    last_time: float
    samples: reservoir.Samples


@dataclasses.dataclass(frozen=True)
class BaselineRow:
    id: int
    name: str
    created: float
    source: dict[str, Any]
    operations: int
    spans: int


@dataclasses.dataclass(frozen=True)
class RunRow:
    op_id: int
    version: str
    environment: str
    run_id: str
    summary: RunSummary


@dataclasses.dataclass(frozen=True)
class BaselineOperationRow:
    key: OperationKey
    count: int
    errors: int
    sketch: QuantileSketch
    samples: reservoir.Samples
    runs: tuple[tuple[str, RunSummary], ...] = ()  # (run id, summary); () before runs were kept


class Store:
    def __init__(
        self,
        path: str | Path,
        *,
        relative_accuracy: float = 0.005,
        reservoir_size: int = 2000,
        seed: int = 0,
    ) -> None:
        self.path = Path(path)
        self.reservoir_size = reservoir_size
        self.seed = seed
        self._write_lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():  # SQLite gives -wal and -shm the database's mode
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, DB_FILE_MODE))
            self._conn = self._connect()
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)
            self.relative_accuracy = self._init_meta(relative_accuracy)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"cannot open the analyzer database {self.path}: {exc}; give another path "
                "with --db (or MCP_AGENT_OTEL_ANALYZER_DB), or move the damaged file away"
            ) from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        # FULL: in WAL mode a commit is fsynced before it returns, so a flush that recorded
        # its spool segment survives power loss (one fsync a flush, about once a second).
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _init_meta(self, relative_accuracy: float) -> float:
        with self._transaction() as cur:
            rows = dict(cur.execute("SELECT key, value FROM meta").fetchall())
            if "schema_version" not in rows:
                cur.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("schema_version", str(SCHEMA_VERSION)),
                        ("relative_accuracy", repr(relative_accuracy)),
                    ],
                )
                return relative_accuracy
            if int(rows["schema_version"]) > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer mcp-agent-otel (schema "
                    f"{rows['schema_version']} > {SCHEMA_VERSION}); upgrade mcp-agent-otel"
                )
            # Sketches only merge at equal accuracy: the database's setting wins.
            return float(rows.get("relative_accuracy", relative_accuracy))

    def close(self) -> None:
        with self._write_lock:
            self._conn.close()

    @contextlib.contextmanager
    def _transaction(self, busy_ms: int | None = None) -> Iterator[sqlite3.Cursor]:
        """One write transaction. ``busy_ms``: give up (sqlite3.OperationalError "database is
        locked") after that long instead of the connection's 30 s."""
        if busy_ms is None:
            self._write_lock.acquire()
        elif not self._write_lock.acquire(timeout=busy_ms / 1000):
            raise sqlite3.OperationalError("database is locked (a write is in progress)")
        try:
            if busy_ms is not None:
                self._conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                if self._conn.in_transaction:  # SQLITE_FULL and friends roll back by themselves
                    cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()
        finally:
            if busy_ms is not None:
                self._conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            self._write_lock.release()

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA query_only=1")
            yield conn
        finally:
            conn.close()

    # --- operations (the cardinality cap) --------------------------------------------------
    def register_operations(
        self,
        keys: Sequence[OperationKey],
        max_operations: int,
        *,
        idle_before: float | None = None,
        keep: Collection[int] = (),
        evicted: list[int] | None = None,
        busy_ms: int | None = None,
    ) -> dict[OperationKey, int | None]:
        """Ids of ``keys``; a new key gets one only while fewer than ``max_operations`` exist
        (None otherwise: its spans are refused). With ``idle_before`` (unix s), operations
        with no data since then make room when the cap is reached: least recently active
        first, then the smallest; their buckets and reservoirs go with them (``keep``: ids
        never evicted). Evicted ids are appended to ``evicted``. ``busy_ms``: how long to wait
        for a locked database (default 30 s)."""
        out: dict[OperationKey, int | None] = {}
        with self._transaction(busy_ms) as cur:
            for key in keys:
                row = cur.execute(
                    "SELECT id FROM operations WHERE service = ? AND name = ?",
                    (key.service, key.name),
                ).fetchone()
                out[key] = int(row[0]) if row else None
            missing = [k for k, v in out.items() if v is None]
            if missing:
                (existing,) = cur.execute("SELECT COUNT(*) FROM operations").fetchone()
                room = max(max_operations - int(existing), 0)
                if room < len(missing) and idle_before is not None:
                    gone = self._evict_idle(cur, len(missing) - room, idle_before, keep)
                    room += len(gone)
                    if evicted is not None:
                        evicted.extend(gone)
                now = time.time()
                for key in missing[:room]:
                    cur.execute(
                        "INSERT INTO operations (service, name, first_seen) VALUES (?, ?, ?)",
                        (key.service, key.name, now),
                    )
                    out[key] = int(cur.lastrowid or 0)
        return out

    @staticmethod
    def _evict_idle(
        cur: sqlite3.Cursor, wanted: int, idle_before: float, keep: Collection[int]
    ) -> list[int]:
        rows = cur.execute(
            "SELECT o.id FROM operations o "
            "LEFT JOIN (SELECT op_id, MAX(start) AS last, SUM(count) AS spans FROM buckets "
            "GROUP BY op_id) b ON b.op_id = o.id "
            "LEFT JOIN (SELECT op_id, MAX(last_time) AS last FROM reservoirs GROUP BY op_id) r "
            "ON r.op_id = o.id "
            "WHERE MAX(o.first_seen, COALESCE(b.last, 0), COALESCE(r.last, 0)) < ? "
            "ORDER BY MAX(o.first_seen, COALESCE(b.last, 0), COALESCE(r.last, 0)), "
            "COALESCE(b.spans, 0) LIMIT ?",
            (idle_before, wanted + len(keep)),
        ).fetchall()
        victims = [int(r[0]) for r in rows if int(r[0]) not in keep][:wanted]
        for op_id in victims:
            for table in ("buckets", "reservoirs", "runs", "detectors"):
                cur.execute(f"DELETE FROM {table} WHERE op_id = ?", (op_id,))
            cur.execute("DELETE FROM operations WHERE id = ?", (op_id,))
        return victims

    def operations(self) -> dict[int, OperationKey]:
        with self._read() as conn:
            rows = conn.execute("SELECT id, service, name FROM operations ORDER BY id").fetchall()
        return {int(i): OperationKey(s, n) for i, s, n in rows}

    # --- the write-behind flush --------------------------------------------------------------
    def apply(self, batch: FlushBatch) -> None:
        """Merge a batch into the stored aggregates: all of it or (on error) none of it."""
        if batch.empty:
            return
        with self._transaction() as cur:
            for op_id, key in batch.operations.items():
                # A concurrent prune may have removed an idle operation: keep ids stable.
                cur.execute(
                    "INSERT OR IGNORE INTO operations (id, service, name, first_seen) "
                    "VALUES (?, ?, ?, ?)",
                    (op_id, key.service, key.name, time.time()),
                )
            self._merge_buckets(cur, batch.buckets)
            self._merge_reservoirs(cur, batch.samples)
            self._merge_runs(cur, batch.runs)
            cur.executemany(
                "INSERT OR REPLACE INTO detectors (op_id, baseline_id, state) VALUES (?, ?, ?)",
                [(op, base, state) for op, (base, state) in batch.detector_states.items()],
            )
            for alert in batch.alerts:
                cur.execute(
                    "INSERT INTO alerts (created, body) VALUES (?, ?)",
                    (alert.created, alert.to_json()),
                )
            cur.executemany(
                "INSERT INTO counters (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                sorted(batch.counters.items()),
            )
            if batch.spool_segment is not None:
                cur.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    (_SPOOL_COMMITTED, str(batch.spool_segment)),
                )

    def spool_committed(self) -> int:
        """The last ingest-spool segment whose spans this database holds (0: none)."""
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (_SPOOL_COMMITTED,))
            found = row.fetchone()
        return int(found[0]) if found else 0

    def _merge_buckets(
        self, cur: sqlite3.Cursor, buckets: dict[BucketKey, BucketAggregate]
    ) -> None:
        rows = []
        for key, delta in buckets.items():
            stored = cur.execute(
                "SELECT count, errors, cache_hits, cache_misses, sum_ms, min_ms, max_ms, sketch, "
                "exemplars FROM buckets WHERE op_id = ? AND version = ? AND environment = ? "
                "AND start = ?",
                key,
            ).fetchone()
            total = delta
            if stored is not None:
                total = _bucket_from_row(stored)
                total.merge(delta)
            rows.append(
                (
                    *key,
                    total.count,
                    total.errors,
                    total.cache_hits,
                    total.cache_misses,
                    total.sum_ms,
                    total.min_ms,
                    total.max_ms,
                    total.sketch.to_bytes(),
                    total.exemplars_json(),
                )
            )
        cur.executemany(
            "INSERT OR REPLACE INTO buckets (op_id, version, environment, start, count, errors, "
            "cache_hits, cache_misses, sum_ms, min_ms, max_ms, sketch, exemplars) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def _merge_reservoirs(
        self, cur: sqlite3.Cursor, pending: dict[ReservoirKey, list[reservoir.Samples]]
    ) -> None:
        rows = []
        for key, chunks in pending.items():
            new = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
            if new.size == 0:
                continue
            stored = cur.execute(
                "SELECT seen, last_time, samples FROM reservoirs WHERE op_id = ? AND version = ? "
                "AND environment = ?",
                key,
            ).fetchone()
            seen, last, samples = 0, 0.0, reservoir.empty()
            if stored is not None:
                seen, last = int(stored[0]), float(stored[1])
                samples = reservoir.decode(stored[2])
            rng = reservoir.rng_for(self.seed, key[0], _text_key(key[1]), _text_key(key[2]), seen)
            samples, seen = reservoir.reservoir_add(samples, seen, new, self.reservoir_size, rng)
            last = max(last, float(new["t"].max()))
            rows.append((*key, seen, last, reservoir.encode(samples)))
        cur.executemany(
            "INSERT OR REPLACE INTO reservoirs (op_id, version, environment, seen, last_time, "
            "samples) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    @staticmethod
    def _merge_runs(cur: sqlite3.Cursor, pending: dict[RunKey, tuple[RunSummary, float]]) -> None:
        rows = []
        for key, (summary, last) in pending.items():
            stored = cur.execute(
                "SELECT count, mean_log, m2_log, last_time FROM runs WHERE op_id = ? AND "
                "version = ? AND environment = ? AND run_id = ?",
                key,
            ).fetchone()
            if stored is not None:
                summary = RunSummary(int(stored[0]), float(stored[1]), float(stored[2])).merge(
                    summary
                )
                last = max(last, float(stored[3]))
            rows.append((*key, summary.spans, summary.mean, summary.m2, last))
        cur.executemany(
            "INSERT OR REPLACE INTO runs (op_id, version, environment, run_id, count, mean_log, "
            "m2_log, last_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    # --- retention -----------------------------------------------------------------------------
    def prune(self, before: float) -> dict[str, int]:
        """Delete data older than ``before`` (unix s); operations left with no data go too,
        which frees room under the operation cap. Baselines are kept until deleted."""
        with self._transaction() as cur:
            buckets = cur.execute("DELETE FROM buckets WHERE start < ?", (before,)).rowcount
            reservoirs = cur.execute(
                "DELETE FROM reservoirs WHERE last_time < ?", (before,)
            ).rowcount
            runs = cur.execute("DELETE FROM runs WHERE last_time < ?", (before,)).rowcount
            alerts = cur.execute("DELETE FROM alerts WHERE created < ?", (before,)).rowcount
            operations = cur.execute(
                "DELETE FROM operations WHERE id NOT IN (SELECT op_id FROM buckets) "
                "AND id NOT IN (SELECT op_id FROM reservoirs)"
            ).rowcount
            cur.execute("DELETE FROM detectors WHERE op_id NOT IN (SELECT id FROM operations)")
            cur.execute("DELETE FROM runs WHERE op_id NOT IN (SELECT id FROM operations)")
        return {
            "buckets": buckets,
            "reservoirs": reservoirs,
            "runs": runs,
            "alerts": alerts,
            "operations": operations,
        }

    # --- reads -----------------------------------------------------------------------------------
    def bucket_rows(
        self,
        *,
        op_ids: Sequence[int] | None = None,
        since: float | None = None,
        until: float | None = None,
        version: str | None = None,
        environment: str | None = None,
    ) -> list[BucketRow]:
        sql = (
            "SELECT op_id, version, environment, start, count, errors, cache_hits, "
            "cache_misses, sum_ms, min_ms, max_ms, sketch, exemplars FROM buckets WHERE 1=1"
        )
        where, args = _filters(op_ids, version, environment)
        if since is not None:
            where += " AND start >= ?"
            args.append(int(since))
        if until is not None:
            where += " AND start < ?"
            args.append(until)
        sql += where + " ORDER BY op_id, start"
        with self._read() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [BucketRow(r[0], r[1], r[2], r[3], _bucket_from_row(r[4:])) for r in rows]

    def reservoir_rows(
        self,
        *,
        op_ids: Sequence[int] | None = None,
        version: str | None = None,
        environment: str | None = None,
    ) -> list[ReservoirRow]:
        sql = (
            "SELECT op_id, version, environment, seen, last_time, samples FROM reservoirs WHERE 1=1"
        )
        where, args = _filters(op_ids, version, environment)
        sql += where + " ORDER BY op_id, version, environment"
        with self._read() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [ReservoirRow(r[0], r[1], r[2], r[3], r[4], reservoir.decode(r[5])) for r in rows]

    def run_rows(
        self,
        *,
        op_ids: Sequence[int] | None = None,
        version: str | None = None,
        environment: str | None = None,
    ) -> list[RunRow]:
        sql = (
            "SELECT op_id, version, environment, run_id, count, mean_log, m2_log FROM runs "
            "WHERE 1=1"
        )
        where, args = _filters(op_ids, version, environment)
        sql += where + " ORDER BY op_id, run_id, version, environment"
        with self._read() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [
            RunRow(r[0], r[1], r[2], r[3], RunSummary(int(r[4]), float(r[5]), float(r[6])))
            for r in rows
        ]

    def versions(self) -> list[tuple[str, str, int]]:
        """(version, environment, spans) seen, newest data first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT version, environment, SUM(count), MAX(start) FROM buckets "
                "GROUP BY version, environment ORDER BY MAX(start) DESC"
            ).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]

    def counters(self) -> dict[str, int]:
        with self._read() as conn:
            return {k: int(v) for k, v in conn.execute("SELECT key, value FROM counters")}

    def alerts(self, *, since: float | None = None, limit: int = 100) -> list[Alert]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, body FROM alerts WHERE created >= ? ORDER BY id DESC LIMIT ?",
                (since or 0.0, limit),
            ).fetchall()
        return [dataclasses.replace(Alert.from_json(body), id=int(i)) for i, body in rows]

    def detector_states(self) -> dict[int, tuple[int, str]]:
        with self._read() as conn:
            rows = conn.execute("SELECT op_id, baseline_id, state FROM detectors").fetchall()
        return {int(o): (int(b), s) for o, b, s in rows}

    def storage_bytes(self) -> dict[str, int]:
        """Bytes of sketch and reservoir blobs stored (for the memory-per-operation figure)."""
        with self._read() as conn:
            sketches = conn.execute("SELECT COALESCE(SUM(LENGTH(sketch)), 0) FROM buckets")
            (sketch_bytes,) = sketches.fetchone()
            (reservoir_bytes,) = conn.execute(
                "SELECT COALESCE(SUM(LENGTH(samples)), 0) FROM reservoirs"
            ).fetchone()
            (operations,) = conn.execute("SELECT COUNT(*) FROM operations").fetchone()
        return {
            "sketch_bytes": int(sketch_bytes),
            "reservoir_bytes": int(reservoir_bytes),
            "operations": int(operations),
        }

    # --- baselines -------------------------------------------------------------------------------
    def insert_baseline(
        self,
        name: str,
        source: dict[str, Any],
        operations: Sequence[BaselineOperationRow],
    ) -> int:
        try:
            with self._transaction() as cur:
                cur.execute(
                    "INSERT INTO baselines (name, created, source) VALUES (?, ?, ?)",
                    (name, time.time(), json.dumps(source, sort_keys=True)),
                )
                baseline_id = int(cur.lastrowid or 0)
                cur.executemany(
                    "INSERT INTO baseline_operations (baseline_id, service, name, count, errors, "
                    "sketch, samples) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            baseline_id,
                            op.key.service,
                            op.key.name,
                            op.count,
                            op.errors,
                            op.sketch.to_bytes(),
                            reservoir.encode(op.samples),
                        )
                        for op in operations
                    ],
                )
                cur.executemany(
                    "INSERT INTO baseline_runs (baseline_id, service, name, run_id, count, "
                    "mean_log, m2_log) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (baseline_id, op.key.service, op.key.name, run, r.spans, r.mean, r.m2)
                        for op in operations
                        for run, r in op.runs
                    ],
                )
        except sqlite3.IntegrityError:
            raise BaselineExistsError(
                f"a baseline named {name!r} exists already; delete it first or choose another name"
            ) from None
        return baseline_id

    def baselines(self) -> list[BaselineRow]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT b.id, b.name, b.created, b.source, COUNT(o.name), "
                "COALESCE(SUM(o.count), 0) FROM baselines b LEFT JOIN baseline_operations o "
                "ON o.baseline_id = b.id GROUP BY b.id ORDER BY b.id"
            ).fetchall()
        return [BaselineRow(r[0], r[1], r[2], json.loads(r[3]), r[4], int(r[5])) for r in rows]

    def baseline(self, name: str) -> BaselineRow:
        for row in self.baselines():
            if row.name == name:
                return row
        raise BaselineNotFoundError(name)

    def baseline_operations(self, baseline_id: int) -> list[BaselineOperationRow]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT service, name, count, errors, sketch, samples FROM baseline_operations "
                "WHERE baseline_id = ? ORDER BY service, name",
                (baseline_id,),
            ).fetchall()
            run_rows = conn.execute(
                "SELECT service, name, run_id, count, mean_log, m2_log FROM baseline_runs "
                "WHERE baseline_id = ? ORDER BY service, name, run_id",
                (baseline_id,),
            ).fetchall()
        runs: dict[tuple[str, str], list[tuple[str, RunSummary]]] = {}
        for service, name, run, count, mean, m2 in run_rows:
            runs.setdefault((service, name), []).append(
                (str(run), RunSummary(int(count), float(mean), float(m2)))
            )
        return [
            BaselineOperationRow(
                OperationKey(r[0], r[1]),
                int(r[2]),
                int(r[3]),
                QuantileSketch.from_bytes(r[4]),
                reservoir.decode(r[5]),
                tuple(runs.get((r[0], r[1]), ())),
            )
            for r in rows
        ]

    def delete_baseline(self, name: str) -> bool:
        with self._transaction() as cur:
            row = cur.execute("SELECT id FROM baselines WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            cur.execute("DELETE FROM baseline_operations WHERE baseline_id = ?", (row[0],))
            cur.execute("DELETE FROM baseline_runs WHERE baseline_id = ?", (row[0],))
            cur.execute("DELETE FROM detectors WHERE baseline_id = ?", (row[0],))
            cur.execute("DELETE FROM baselines WHERE id = ?", (row[0],))
        return True

    def baselines_signature(self) -> tuple[int, int]:
        """Changes whenever a baseline is created or deleted (by any process)."""
        with self._read() as conn:
            count, top = conn.execute(
                "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM baselines"
            ).fetchone()
        return int(count), int(top)

    def active_baselines(self) -> dict[OperationKey, tuple[int, str]]:
        """Per operation, the newest baseline that contains it: (baseline id, name)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT o.service, o.name, b.id, b.name FROM baseline_operations o "
                "JOIN baselines b ON b.id = o.baseline_id ORDER BY b.id"
            ).fetchall()
        return {OperationKey(s, n): (int(i), str(b)) for s, n, i, b in rows}

    def baseline_samples(self, baseline_id: int, key: OperationKey) -> reservoir.Samples:
        with self._read() as conn:
            row = conn.execute(
                "SELECT samples FROM baseline_operations WHERE baseline_id = ? AND service = ? "
                "AND name = ?",
                (baseline_id, key.service, key.name),
            ).fetchone()
        return reservoir.decode(row[0]) if row else reservoir.empty()


def _filters(
    op_ids: Sequence[int] | None, version: str | None, environment: str | None
) -> tuple[str, list[Any]]:
    """The ``AND ...`` conditions (and their parameters) the bucket and reservoir reads share."""
    where, args = "", list[Any]()
    if op_ids is not None:
        where += f" AND op_id IN ({','.join('?' * len(op_ids))})"
        args.extend(op_ids)
    if version is not None:
        where += " AND version = ?"
        args.append(version)
    if environment is not None:
        where += " AND environment = ?"
        args.append(environment)
    return where, args


def _bucket_from_row(row: Sequence[Any]) -> BucketAggregate:
    count, errors, hits, misses, sum_ms, min_ms, max_ms, sketch, exemplars = row
    slow, failed = BucketAggregate.exemplars_from_json(exemplars)
    return BucketAggregate(
        sketch=QuantileSketch.from_bytes(sketch),
        count=int(count),
        errors=int(errors),
        cache_hits=int(hits),
        cache_misses=int(misses),
        sum_ms=float(sum_ms),
        min_ms=float(min_ms),
        max_ms=float(max_ms),
        slow=slow,
        failed=failed,
    )


def _text_key(text: str) -> int:
    """A stable small integer for a string (seeding; Python's hash() is salted per process)."""
    return zlib.crc32(text.encode("utf-8"))
