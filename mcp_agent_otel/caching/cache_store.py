"""The cache's storage: one ``diskcache.Cache`` restricted to JSON, and its failure modes.

``JsonOnlyDisk`` refuses to unpickle a row (CVE-2025-69872), so a tampered cache cannot run
code, and refuses a row whose file name points outside the cache directory (never opened,
never deleted), so a tampered row cannot read or delete other files. ``ReadOnlyStore`` serves
hits from a cache it cannot write (a read-only file system). ``Store`` adds the few
statements diskcache has no API for (count-bounded LRU eviction, the throttled touch), run on
diskcache's own connection and inside its transactions.
``classify_fault`` and ``diagnose`` name what went wrong when the storage fails (locked,
corrupt, read-only, full, ...), so the cache can warn in words and recover.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sqlite3
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import diskcache
from diskcache.core import DBNAME, MODE_PICKLE, MODE_RAW

from mcp_agent_otel.caching.cache_keys import META_KEY
from mcp_agent_otel.caching.invalidation_strategies import (
    BadEntryError,
    GenerationState,
    StoredEntry,
)

_log = logging.getLogger(__name__)

_INLINE_BYTES: Final = 1 << 20  # every value stays inside SQLite: no value files to leak
_DIR_MODE: Final = 0o700


class UnsafeRowError(BadEntryError):
    """A row stored as a pickle: refused, never loaded (CVE-2025-69872)."""


class OutsideCacheError(BadEntryError):
    """A row whose file name points outside the cache directory: corrupt, never followed."""


def inside(directory: str | os.PathLike[str], filename: str) -> bool:
    """Whether ``filename`` (relative to ``directory``, as diskcache stores it) resolves to a
    path inside ``directory``, symbolic links followed."""
    base = os.path.realpath(directory)
    target = os.path.realpath(os.path.join(base, filename))
    return target != base and os.path.commonpath([base, target]) == base


class JsonOnlyDisk(diskcache.Disk):  # type: ignore[misc]
    """diskcache serialisation restricted to JSON: pickled keys or values are refused.

    diskcache's default ``Disk`` unpickles whatever a row holds (CVE-2025-69872); a row
    planted by anyone who can write the directory would run code on the next read. Here a
    pickled row raises ``UnsafeRowError`` before any byte of it is interpreted.
    """

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is not str:
            raise TypeError(f"cache keys are strings, got {type(key).__name__}")
        db_key, raw = super().put(key)
        return db_key, bool(raw)

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise UnsafeRowError("refused to unpickle a cache key (pickled rows are not loaded)")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> Any:
        if read or not isinstance(value, dict):
            raise TypeError("the analysis cache stores JSON objects only")
        data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return super().store(data, False, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode == MODE_PICKLE:
            raise UnsafeRowError(
                "refused to unpickle a cache row: the cache directory holds data this program "
                "never writes (tampering?); the row is treated as a miss and replaced"
            )
        if filename is not None and not inside(self._directory, filename):
            raise OutsideCacheError(
                f"a cache row names the file {filename!r}, outside the cache directory "
                "(tampering?); it is not opened, and the row is dropped"
            )
        data = super().fetch(mode, filename, value, read)
        return decode_json(data)

    def remove(self, file_path: str) -> None:
        """Delete a value file, only if it is inside the cache directory."""
        if not inside(self._directory, file_path):
            _log.warning(
                "analysis cache: a row named the file %r, outside the cache directory; "
                "it was not deleted",
                file_path,
            )
            return
        super().remove(file_path)


def decode_json(data: Any) -> Any:
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadEntryError(f"a cache row is not UTF-8 JSON ({exc})") from None
    if not isinstance(data, str):
        raise BadEntryError(f"a cache row holds a {type(data).__name__}, not JSON")
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise BadEntryError(f"a cache row is not valid JSON ({exc})") from None


_SELECT_ROW: Final = (
    "SELECT access_time, access_count, mode, filename, value FROM Cache WHERE key = ? AND raw = 1"
)
_TOUCH: Final = (
    "UPDATE Cache SET access_time = ?, access_count = access_count + 1 WHERE key = ? AND raw = 1"
)


@dataclass(frozen=True)
class Row:
    entry: StoredEntry
    access_time: float
    access_count: int
    raw: bytes | None = None  # the stored bytes, when inline: a key for decoded values


_MEMO_SIZE: Final = 1024


def remember(memo: dict[bytes, Any], raw: bytes, value: Any) -> None:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[raw] = value


class Store:
    """One open ``diskcache.Cache`` plus the few statements diskcache has no API for.

    Count-bounded LRU eviction and the throttled touch are SQL over diskcache's own ``Cache``
    table (its columns ``access_time`` and ``access_count`` are unused under the ``none``
    eviction policy), run on diskcache's connection and inside its transactions.
    """

    def __init__(self, directory: Path, lock_timeout_s: float) -> None:
        self.directory = directory
        _prepare_directory(directory)
        self._parsed: dict[bytes, StoredEntry] = {}
        self._state_memo: tuple[bytes, GenerationState] | None = None
        db = directory / DBNAME
        if db.exists():
            preflight(db, lock_timeout_s)
        self.cache = diskcache.Cache(
            str(directory),
            timeout=lock_timeout_s,
            disk=JsonOnlyDisk,
            eviction_policy="none",
            size_limit=2**62,
            cull_limit=10,
            statistics=0,
            tag_index=0,
            disk_min_file_size=_INLINE_BYTES,
        )
        with self.cache.transact():
            self.cache._sql("CREATE INDEX IF NOT EXISTS Cache_access_time ON Cache (access_time)")
        self._disk: diskcache.Disk = self.cache.disk

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.cache.close()

    # -- reads (no transaction) --

    # Parsed rows by their stored bytes: equal bytes, equal entry; saves re-parsing on hits.
    _parsed: dict[bytes, StoredEntry]
    # The last state row read, as one (stored bytes, parsed state) pair: threads share this
    # store, so the pair is replaced in one assignment and never read half-updated.
    _state_memo: tuple[bytes, GenerationState] | None

    def _sql(self, statement: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        # diskcache's connection is per thread: look it up on every call.
        cursor: sqlite3.Cursor = self.cache._sql(statement, args)
        return cursor

    def row(self, key: str) -> Row | None:
        found = self._sql(_SELECT_ROW, (key,)).fetchone()
        if found is None:
            return None
        access_time, access_count, mode, filename, value = found
        raw: bytes | None = None
        if mode == MODE_RAW and type(value) is bytes:
            raw = value
            entry = self._parsed.get(value)
            if entry is None:
                entry = StoredEntry.from_dict(decode_json(value))
                remember(self._parsed, value, entry)
        else:  # anything else goes through the refusing Disk (pickles raise there)
            entry = StoredEntry.from_dict(self._disk.fetch(mode, filename, value, False))
        return Row(entry, float(access_time or 0.0), int(access_count or 0), raw)

    def state(self) -> GenerationState | None:
        found = self._sql(_SELECT_ROW, (META_KEY,)).fetchone()
        if found is None:
            return None
        _, _, mode, filename, value = found
        memo = self._state_memo
        if memo is not None and mode == MODE_RAW and value == memo[0]:
            return memo[1]
        state = GenerationState.from_dict(self._disk.fetch(mode, filename, value, False))
        if mode == MODE_RAW and type(value) is bytes:
            self._state_memo = (value, state)
        return state

    def touch(self, key: str, now: float) -> None:
        self._sql(_TOUCH, (now, key))

    def entry_count(self) -> int:
        (count,) = self._sql("SELECT COUNT(*) FROM Cache WHERE key != ?", (META_KEY,)).fetchone()
        return int(count)

    def kinds(self) -> dict[str, int]:
        rows = self._sql(
            "SELECT tag, COUNT(*) FROM Cache WHERE key != ? GROUP BY tag", (META_KEY,)
        ).fetchall()
        return {str(tag): int(n) for tag, n in rows}

    # -- writes (inside ``transaction``) --

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.cache.transact(retry=False):
            yield

    def put(self, key: str, entry: StoredEntry, ttl_s: float) -> None:
        # diskcache culls a row 2 TTLs after it was written; until then a lookup reports it
        # as "expired" rather than a plain miss.
        self.cache.set(key, entry.to_dict(), expire=2 * ttl_s, tag=entry.kind.value)

    def put_state(self, state: GenerationState) -> None:
        self.cache.set(META_KEY, state.to_dict(), tag="meta")

    def delete(self, key: str) -> bool:
        return bool(self.cache.delete(key))

    def evict_over(self, max_entries: int) -> int:
        """Delete least-recently-used entries until at most ``max_entries`` remain."""
        sql = self.cache._sql
        # diskcache keeps the row count in Settings (triggers); the state row is not an entry.
        ((excess,),) = sql(
            "SELECT (SELECT value FROM Settings WHERE key = 'count')"
            " - (SELECT COUNT(*) FROM Cache WHERE key = ?) - ?",
            (META_KEY, max_entries),
        ).fetchall()
        if excess <= 0:
            return 0
        victims = sql(
            "SELECT rowid, filename FROM Cache WHERE key != ? ORDER BY access_time LIMIT ?",
            (META_KEY, excess),
        ).fetchall()
        sql(
            "DELETE FROM Cache WHERE rowid IN (SELECT rowid FROM Cache WHERE key != ?"
            " ORDER BY access_time LIMIT ?)",
            (META_KEY, excess),
        )
        for _, filename in victims:
            if filename:
                self.cache.disk.remove(filename)
        return len(victims)

    def clear_entries(self) -> int:
        """Delete every entry (not the state row)."""
        sql = self.cache._sql
        ((n,),) = sql("SELECT COUNT(*) FROM Cache WHERE key != ?", (META_KEY,)).fetchall()
        sql("DELETE FROM Cache WHERE key != ?", (META_KEY,))
        return int(n)


class ReadOnlyStore(Store):
    """A cache on a file system this process cannot write: lookups are served from it; every
    write raises SQLite's "attempt to write a readonly database" (a ``read_only`` fault)."""

    def __init__(self, directory: Path, lock_timeout_s: float) -> None:
        self.directory = directory
        self._parsed = {}
        self._state_memo = None
        db = directory / DBNAME
        if not db.is_file():
            raise sqlite3.OperationalError(f"no cache database at {db} to read")
        path = urllib.parse.quote(str(db))
        conn = None
        # mode=ro reads a WAL database when its -shm can be used; immutable=1 otherwise (a
        # cleanly closed cache has no WAL content left to miss).
        for options in ("mode=ro", "mode=ro&immutable=1"):
            with contextlib.suppress(sqlite3.Error):
                candidate = sqlite3.connect(
                    f"file:{path}?{options}",
                    uri=True,
                    timeout=lock_timeout_s,
                    isolation_level=None,
                    check_same_thread=False,
                )
                try:
                    candidate.execute("SELECT COUNT(*) FROM Cache").fetchone()
                except sqlite3.Error:
                    candidate.close()
                    continue
                conn = candidate
                break
        if conn is None:
            raise sqlite3.OperationalError(f"cannot read the cache database {db}")
        self._conn = conn
        self._disk = JsonOnlyDisk(str(directory), min_file_size=_INLINE_BYTES)

    def _sql(self, statement: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self._conn.execute(statement, args)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        raise sqlite3.OperationalError("attempt to write a readonly database")
        yield  # pragma: no cover - never reached


def _prepare_directory(directory: Path) -> None:
    """Create the cache directory with mode 0700, or tighten an existing one we own."""
    directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    st = directory.stat()
    if st.st_mode & 0o777 != _DIR_MODE and st.st_uid == os.getuid():
        with contextlib.suppress(OSError):  # a read-only directory stays as it is
            directory.chmod(_DIR_MODE)


def preflight(db: Path, lock_timeout_s: float) -> None:
    """Fail fast on a corrupt, locked or unreadable database.

    diskcache's constructor writes its settings and retries a locked database for 60 s;
    this check bounds that by ``lock_timeout_s`` and finds a corrupt file before it does.
    """
    con = sqlite3.connect(str(db), timeout=lock_timeout_s, isolation_level=None)
    try:
        (verdict_,) = con.execute("PRAGMA quick_check").fetchone()
        if verdict_ != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed: {verdict_}")
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
    finally:
        con.close()


# --- faults ---------------------------------------------------------------------------------


FAULT_TEXT: Final = {
    "locked": "the cache database is locked by another process (waited {timeout:g} s)",
    "corrupt": "the cache database is corrupt or truncated",
    "read_only": "the cache directory is read-only",
    "full": "the disk or the cache database is full",
    "unsafe_row": "a cache row was refused (pickled data: possible tampering)",
    "bad_entry": "a cache row is malformed",
    "io": "the cache database could not be read or written",
}


def classify_fault(exc: BaseException) -> str:
    """A storage failure's kind: locked, corrupt, read_only, full, unsafe_row, bad_entry, io."""
    if isinstance(exc, UnsafeRowError):
        return "unsafe_row"
    if isinstance(exc, BadEntryError | TypeError | ValueError | KeyError):
        return "bad_entry"
    if isinstance(exc, diskcache.Timeout):
        return "locked"
    if isinstance(exc, sqlite3.Error):
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return "locked"
        if "full" in text:
            return "full"
        if "readonly" in text or "read-only" in text or "read only" in text:
            return "read_only"
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            return "corrupt"
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            return "corrupt"
        return "io"
    if isinstance(exc, OSError):
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "read_only"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return "full"
        return "io"
    return "io"


def diagnose(kind: str, directory: Path) -> str:
    """Sharpen a vague "io" fault (SQLite's "unable to open database file") from the directory."""
    if kind != "io":
        return kind
    try:
        fs = os.statvfs(directory if directory.exists() else directory.parent)
    except OSError:
        return kind
    if fs.f_flag & os.ST_RDONLY or (directory.exists() and not os.access(directory, os.W_OK)):
        return "read_only"
    if fs.f_bavail == 0:
        return "full"
    return kind


def directory_bytes(directory: Path) -> int:
    """Bytes the cache occupies on disk (database, WAL and shared-memory files)."""
    total = 0
    with contextlib.suppress(OSError):
        for path in directory.iterdir():
            with contextlib.suppress(OSError):
                if path.is_file():
                    total += path.stat().st_size
    return total


__all__ = [
    "FAULT_TEXT",
    "JsonOnlyDisk",
    "OutsideCacheError",
    "ReadOnlyStore",
    "Row",
    "Store",
    "UnsafeRowError",
    "classify_fault",
    "decode_json",
    "diagnose",
    "directory_bytes",
    "inside",
    "preflight",
    "remember",
]
