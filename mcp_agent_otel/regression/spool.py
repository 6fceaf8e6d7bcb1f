"""The ingest spool: an fsynced, append-only log of the export requests the analyzer accepted.

Durable before acknowledged. A request's protobuf bytes are appended as one record (length,
CRC-32, bytes) under the ingestor's lock, in the same step that merges its spans into the
write-behind buffer; the receiver answers 200/OK only once the record is on disk. A syncer
thread fsyncs everything appended since its previous fsync in one call (group commit), so
concurrent requests share one fsync and throughput stays high.

The write-behind flush seals the current segment file before it takes the buffer, writes the
sealed segment's number in the same SQLite transaction as the data (``synchronous=FULL``), and
then deletes the segments the database now holds. On start, segments newer than the recorded
number are replayed into the buffer: a request acknowledged but not yet in SQLite when the
process was killed (or the machine lost power) is stored then, exactly once. A torn record at
the end of a segment (the crash hit mid-write; it was never acknowledged) ends that segment.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import struct
import threading
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

from mcp_agent_otel.errors import StoreError

_log = logging.getLogger(__name__)

_HEADER = struct.Struct("<II")  # payload length, CRC-32 of the payload
_SUFFIX = ".spool"
_LOCK = "lock"
_DIR_MODE = 0o700
_FILE_MODE = 0o600


class SpoolError(StoreError, OSError):
    """The spool cannot take a record (disk full, read-only, I/O error), or is in use."""


class SpoolBusyError(SpoolError):
    """Another live process owns this spool (it is receiving spans into the same database)."""


def _segment_path(directory: Path, number: int) -> Path:
    return directory / f"{number:012d}{_SUFFIX}"


def segment_numbers(directory: Path) -> list[int]:
    numbers = []
    for path in directory.glob(f"*{_SUFFIX}"):
        stem = path.name[: -len(_SUFFIX)]
        if stem.isdigit():
            numbers.append(int(stem))
    return sorted(numbers)


def read_records(path: Path) -> Iterator[bytes]:
    """The complete records of one segment, in order; stops at a torn or corrupt record."""
    with open(path, "rb") as f:
        data = f.read()
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        payload = data[start : start + length]
        if len(payload) != length or zlib.crc32(payload) != crc:
            break
        yield payload
        offset = start + length
    if offset != len(data):
        _log.warning(
            "spool segment %s ends with %d bytes of an incomplete record (written when the "
            "process stopped, never acknowledged); ignored",
            path,
            len(data) - offset,
        )


class _Segment:
    def __init__(self, number: int, fd: int) -> None:
        self.number = number
        self.fd = fd
        self.size = 0


class Spool:
    """One directory of numbered segment files, owned by one process (``flock``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            self._lock_fd = os.open(directory / _LOCK, os.O_RDWR | os.O_CREAT, _FILE_MODE)
        except OSError as exc:
            raise SpoolError(
                exc.errno, f"cannot open the ingest spool {directory}: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise SpoolBusyError(
                f"another analyzer process is receiving spans into this database (its spool "
                f"{directory} is locked); stop it, or give this one another --db"
            ) from None
        self._cond = threading.Condition()
        self._next = max(segment_numbers(directory), default=0) + 1
        self._current: _Segment | None = None
        self._sealed: list[_Segment] = []  # sealed, awaiting their last fsync and close
        self._dir_dirty = False
        self._written = 0  # sequence number of the last record appended
        self._waiters: deque[tuple[int, Future[None]]] = deque()
        self._closing = False
        self.fsyncs = 0
        self._thread = threading.Thread(target=self._sync_loop, name="analyzer-spool", daemon=True)
        self._thread.start()

    # --- the request path ----------------------------------------------------------------------
    def append(self, payload: bytes) -> Future[None]:
        """Write one record; the future completes when it is on disk (SpoolError if it cannot
        be). A failed write leaves no torn record behind it."""
        record = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        with self._cond:
            if self._closing:
                raise SpoolError("the analyzer is shutting down")
            try:
                segment = self._open_current()
                view = memoryview(record)
                while view:
                    view = view[os.write(segment.fd, view) :]
            except OSError as exc:
                self._undo_partial_write()
                raise SpoolError(
                    exc.errno,
                    f"cannot write the ingest spool {self.directory}: {exc.strerror or exc}",
                ) from None
            segment.size += len(record)
            self._written += 1
            future: Future[None] = Future()
            self._waiters.append((self._written, future))
            self._cond.notify_all()
            return future

    def _open_current(self) -> _Segment:
        if self._current is None:
            number = self._next
            fd = os.open(
                _segment_path(self.directory, number),
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND,
                _FILE_MODE,
            )
            self._next += 1
            self._current = _Segment(number, fd)
            self._dir_dirty = True
        return self._current

    def _undo_partial_write(self) -> None:
        segment = self._current
        if segment is None:
            return
        try:
            os.ftruncate(segment.fd, segment.size)
        except OSError:  # cannot cut the torn tail: never append behind it
            self._seal_current()

    def _seal_current(self) -> None:
        if self._current is not None:
            self._sealed.append(self._current)
            self._current = None
            self._cond.notify_all()

    # --- the flush --------------------------------------------------------------------------------
    def seal(self) -> int:
        """End the current segment; every record appended so far is in a segment numbered at
        most the returned number."""
        with self._cond:
            self._seal_current()
            return self._next - 1

    def discard_through(self, number: int) -> None:
        """Delete segments numbered ``number`` or lower (the database holds their spans)."""
        for n in segment_numbers(self.directory):
            if n <= number:
                with contextlib.suppress(FileNotFoundError):
                    _segment_path(self.directory, n).unlink()

    def pending_segments(self, committed: int) -> list[tuple[int, Path]]:
        """Segments written before this process started that the database does not hold,
        in order, with their numbers."""
        return [
            (n, _segment_path(self.directory, n))
            for n in segment_numbers(self.directory)
            if committed < n < self._next
        ]

    def size_bytes(self) -> int:
        total = 0
        for n in segment_numbers(self.directory):
            with contextlib.suppress(OSError):
                total += _segment_path(self.directory, n).stat().st_size
        return total

    # --- group commit ---------------------------------------------------------------------------
    def _sync_loop(self) -> None:
        synced = 0
        while True:
            with self._cond:
                while not (self._written > synced or self._sealed or self._closing):
                    self._cond.wait()
                if self._closing and self._written == synced and not self._sealed:
                    return
                target = self._written
                sealed, self._sealed = self._sealed, []
                current = self._current
                dir_dirty, self._dir_dirty = self._dir_dirty, False
            error: OSError | None = None
            try:
                for segment in sealed:
                    os.fsync(segment.fd)
                if current is not None and target > synced:
                    os.fsync(current.fd)
                if dir_dirty:
                    dir_fd = os.open(self.directory, os.O_RDONLY)
                    try:
                        os.fsync(dir_fd)
                    finally:
                        os.close(dir_fd)
                self.fsyncs += 1
            except OSError as exc:
                error = exc
            for segment in sealed:
                with contextlib.suppress(OSError):
                    os.close(segment.fd)
            with self._cond:
                done = []
                while self._waiters and self._waiters[0][0] <= target:
                    done.append(self._waiters.popleft()[1])
                if error is not None:
                    self._dir_dirty = self._dir_dirty or dir_dirty
            synced = target
            for future in done:
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(
                        SpoolError(
                            error.errno,
                            f"cannot fsync the ingest spool {self.directory}: "
                            f"{error.strerror or error}",
                        )
                    )

    def close(self) -> None:
        """Sync what is written, stop the syncer, release the directory."""
        with self._cond:
            self._closing = True
            self._seal_current()
            self._cond.notify_all()
        self._thread.join(30.0)
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
