"""The journal store: append-only segment files in one directory (`<state_dir>/journal/`).

Why segment files and not SQLite (measured with `bench/bench_journal.py store`, 2 CPUs
shared with other jobs, ext4; 200 000 stdout lines of 102 bytes):

* segments, one record per pipe read of 500 lines: 0.06–0.07 s, 20.4 MB
* segments, one record per pipe read of 20 lines:  0.17–0.22 s, 21.2 MB
* segments, one record per line (`append()`):      1.4–2.2 s,   34.5 MB
* SQLite WAL, synchronous=NORMAL, one row per line, one transaction per pipe read,
  index on (unit, time):                           0.85–1.9 s,  52.3 MB

Per line both cost about the same (~7 µs, Python-bound), but only the segment format can
store a whole pipe read as one record, which makes it 12–20x faster for the case that
matters (a service printing as fast as it can) and 2.5x smaller. Reading back all 200 000
entries takes ~0.2 s, `-n 10` ~0.02 s (newest segment only).

A batch of stream lines shares every field except MESSAGE and PRIORITY, so a segment stores
it once, with the raw message bytes joined by `\\n` (a stream line never contains `\\n` or
NUL). That makes the write cost per *chunk read from a pipe*, not per line, which is what
lets a service write at full speed without the journal slowing it down. SQLite would also
put a C library's locking and a second file (the WAL) between the manager and a reader that
runs in another process; appends to plain files need neither: a reader parses complete
records and ignores a torn tail.

On-disk format (all integers little-endian)::

    <name>@<first seqnum:016x>-<first realtime usec:016x>.jseg
    record := b"SVJ2" u32 header_length u32 payload_length header payload trailer
    trailer := u32 record_length (head to trailer, both included) b"SVJ2"
              (older segments hold b"SVJ1" records, without a trailer; still read)
    header := JSON object {"i": first seqnum, "n": entries, "t": realtime usec,
                           "m": monotonic usec, "c": field set number,
                           ["f": {FIELD: value, ...} the first time "c" is used in the segment],
                           ["p": PRIORITY or [PRIORITY per entry]],
                           ["b": {"index": _LINE_BREAK}], ["nomsg": 1],
                           ["raw": 1, "p": default PRIORITY, "lp": SyslogLevelPrefix=,
                            "lm": LineMax=]}
    payload := MESSAGE bytes; for n > 1 the n messages joined by b"\\n";
               with "raw", stream bytes as read (complete lines) that the reader splits
               with journald's rules (stream.split_raw); "n" is then an upper bound and
               the entries' seqnums are first, first+1, ... (gaps are allowed)

The trailer lets a reader walk a segment backwards from its end (`reader.records_backward`):
`status` and `logs -n` read the newest records of a 128 MiB segment without parsing the
rest. For that a record's field set ("f") is stored again once its last copy is more than
256 KiB back, so a backward walk finds it within that distance.

Field values are text; bytes that are not UTF-8 survive as surrogate escapes. Each writer
(`name`) numbers its entries; a reader merges writers by realtime. A writer only ever appends
to a segment it created, holds an exclusive `flock` on it while it is open (so vacuuming
never deletes a segment that is still written), and starts a new segment when it is opened,
so a torn tail left by a killed writer is never appended to.

Limits (journald.conf SystemMaxUse=, SystemMaxFileSize=, MaxRetentionSec=): by default the
store uses at most 10 % of its file system, capped at 4 GiB; a segment is rotated at 1/8 of
that (at most 128 MiB); the oldest closed segments are deleted first.

spec: systemctl-and-journal.md §6
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from sysvisor.journal.index import SUFFIX as INDEX_SUFFIX
from sysvisor.journal.index import TailIndex
from sysvisor.journal.index import remove as remove_index
from sysvisor.journal.segment import _HEAD, _TAIL, MAGIC, SUFFIX, _segment_name, list_segments
from sysvisor.journal.stream import LINE_MAX_DEFAULT, StreamLines, max_lines
from sysvisor.protocol import jsoncodec

REDEFINE_DISTANCE = 256 * 1024  # bytes after which a field set is stored again
MAX_USE_CAP = 4 * 1024**3  # journald: SystemMaxUse= defaults to 10% of the fs, at most 4G
MAX_FILE_CAP = 128 * 1024**2  # journald: SystemMaxFileSize= defaults to 1/8 of MaxUse, ≤128M
MIN_FILE = 64 * 1024
FLUSH_THRESHOLD = 1024 * 1024
_URGENT = frozenset({"0", "1", "2"})  # emerg, alert, crit: fsync'ed at the next flush
_URGENT_PREFIXES = (b"<0>", b"<1>", b"<2>", b"<00", b"<01>", b"<02>")  # "<00" may be "<007>": harmless


class JournalError(Exception):
    """A journal directory cannot be used (clear message, never a traceback)."""


def default_max_use(directory: str) -> int:
    """10 % of the file system holding `directory`, at most 4 GiB. # journald: SystemMaxUse="""
    try:
        st = os.statvfs(directory)
    except OSError:
        return MAX_USE_CAP
    return max(MIN_FILE * 8, min(MAX_USE_CAP, st.f_blocks * st.f_frsize // 10))


def _now_realtime() -> int:
    return time.time_ns() // 1000


def _now_monotonic() -> int:
    return time.monotonic_ns() // 1000


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "surrogateescape")
    return str(value)


class PreparedFields(dict):
    """Stream fields normalised once by `JournalWriter.prepare_fields` (do not modify)."""

    def __init__(self, fields: dict[str, str], writer: JournalWriter) -> None:
        super().__init__(fields)
        self.writer = writer
        self.key = tuple(fields.items())


class JournalWriter:
    """Appends entries to the store; one writer per `name` at a time.

    Writes are buffered in memory and written by `flush()` (the daemon calls it once per
    loop iteration) with one `write()`; there is no fsync, except after an entry of
    priority crit or more important (journald's rule). # spec: systemctl-and-journal.md §6
    """

    def __init__(
        self,
        directory: str,
        max_use_bytes: int | None = None,
        max_age_usec: int | None = None,
        *,
        name: str = "system",
        max_file_bytes: int | None = None,
        hostname: str | None = None,
        boot_id: str | None = None,
        write_behind: bool = False,
    ) -> None:
        if not name or "@" in name or "/" in name or name.startswith("."):
            raise JournalError(f"Invalid journal writer name '{name}'.")
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as e:
            raise JournalError(f"Failed to create journal directory {directory}: {e.strerror}") from None
        self.directory = directory
        self.name = name
        self.max_use = max_use_bytes if max_use_bytes is not None else default_max_use(directory)
        self.max_file = max_file_bytes or max(MIN_FILE, min(MAX_FILE_CAP, self.max_use // 8))
        self.max_age_usec = max_age_usec
        self.hostname = hostname if hostname is not None else os.uname().nodename  # gethostname(); no socket import
        self.boot_id = boot_id
        self.dropped_writes = 0  # flushes lost to write errors (disk full …)
        self._sync_due = False
        self.syncs = 0  # fsync()s done (after urgent entries)
        self.last_error: OSError | None = None
        self._buffer = bytearray()
        # the relay's: stored output goes to the disk and out of the page cache (writeback.py)
        self.write_behind = None
        if write_behind:
            from sysvisor.journal.writeback import WriteBehind  # noqa: PLC0415 - a thread: the relay only

            self.write_behind = WriteBehind()
        self._fd = -1
        self._size = 0
        self._path = ""
        try:
            self._lock_fd = os.open(
                os.path.join(directory, f".{name}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
        except OSError as e:
            raise JournalError(f"Cannot write the journal in {directory}: {e.strerror}") from None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise JournalError(
                f"Journal {directory} is already being written by another '{name}' writer."
            ) from None
        self._seq = self._next_seq_on_disk()
        try:
            self._open_segment(_now_realtime())
        except OSError as e:
            os.close(self._lock_fd)
            raise JournalError(f"Cannot write the journal in {directory}: {e.strerror}") from None
        self.vacuum()

    # -- public API ------------------------------------------------------------------

    def append(self, entry: Mapping[str, object]) -> None:
        """One entry with journald field names; `__REALTIME_TIMESTAMP` and
        `__MONOTONIC_TIMESTAMP` (µs) default to now, `_HOSTNAME`/`_BOOT_ID` to the writer's."""
        fields = {}
        realtime = monotonic = None
        message: bytes | None = None
        for key, value in entry.items():
            if key == "__REALTIME_TIMESTAMP":
                realtime = int(value)  # type: ignore[call-overload]
            elif key == "__MONOTONIC_TIMESTAMP":
                monotonic = int(value)  # type: ignore[call-overload]
            elif key == "MESSAGE":
                if isinstance(value, (bytes, bytearray, memoryview)):
                    message = bytes(value)
                else:
                    message = str(value).encode("utf-8", "surrogateescape")
            elif key.startswith("__"):
                continue  # __CURSOR & co. are the store's, not the writer's
            else:
                fields[key] = _text(value)
        self._defaults(fields)
        header = {
            "i": self._seq,
            "n": 1,
            "t": realtime if realtime is not None else _now_realtime(),
            "m": monotonic if monotonic is not None else _now_monotonic(),
        }
        self._context(header, fields)
        if message is None:
            header["nomsg"] = 1
            message = b""
        if fields.get("PRIORITY", "6") in _URGENT:
            self._sync_due = True
        self._seq += 1
        self._add(header, message)

    def append_lines(
        self,
        fields: Mapping[str, object],
        lines: StreamLines,
        realtime_usec: int | None = None,
        monotonic_usec: int | None = None,
    ) -> None:
        """Lines from one stream read (see `stream.LineSplitter`), sharing `fields`
        (`_SYSTEMD_UNIT`, `_PID`, `SYSLOG_IDENTIFIER`, `_TRANSPORT=stdout` …)."""
        n = len(lines.messages)
        if n == 0:
            return
        common = self.prepare_fields(fields)
        prios = lines.priorities
        first = prios[0]
        header = {
            "i": self._seq,
            "n": n,
            "t": realtime_usec if realtime_usec is not None else _now_realtime(),
            "m": monotonic_usec if monotonic_usec is not None else _now_monotonic(),
            "p": first if prios.count(first) == n else prios,
        }
        self._context(header, common)
        if lines.line_breaks:
            header["b"] = {str(i): r for i, r in lines.line_breaks.items()}
        if min(prios) <= 2:
            self._sync_due = True
        self._seq += n
        self._add(header, b"\n".join(lines.messages) if n > 1 else lines.messages[0])

    def append_raw(
        self,
        fields: Mapping[str, object],
        raw: bytes,
        *,
        priority: int = 6,
        level_prefix: bool = True,
        line_max: int = LINE_MAX_DEFAULT,
        realtime_usec: int | None = None,
        monotonic_usec: int | None = None,
        lines: int | None = None,
        urgent: bool | None = None,
    ) -> None:
        """Complete stream lines as read (`LineSplitter.feed_raw()`), stored unsplit and
        split with the same settings when read: the cost is per chunk, not per line.

        `raw` may be any bytes-like object (a memoryview of a reader's buffer: it is written
        or copied before this returns); then pass `lines` (`stream.max_lines()`) and
        `urgent` (a `<0>`–`<2>` prefix may be in it), which a memoryview cannot tell."""
        if not raw:
            return
        common = self.prepare_fields(fields)
        header = {
            "i": self._seq,
            "n": lines if lines is not None else max_lines(raw, line_max),
            "t": realtime_usec if realtime_usec is not None else _now_realtime(),
            "m": monotonic_usec if monotonic_usec is not None else _now_monotonic(),
            "raw": 1,
            "p": priority,
            "lp": 1 if level_prefix else 0,
            "lm": line_max,
        }
        self._context(header, common)
        if urgent is None:
            urgent = level_prefix and b"<" in raw and any(p in raw for p in _URGENT_PREFIXES)
        if priority <= 2 or urgent:
            self._sync_due = True  # (a prefix inside a line may make this happen needlessly)
        self._seq += header["n"]
        self._add(header, raw)

    def flush(self) -> None:
        """Write the buffered records (one write); rotate and vacuum when due.

        A write error (disk full) drops the buffered batch and is remembered in
        `last_error`/`dropped_writes`; the manager keeps running, like journald."""
        self._write_buffer()
        if self._sync_due:
            # journald: a message of priority crit, alert or emerg is synced at once
            self._sync_due = False
            if self._fd >= 0:
                try:
                    os.fsync(self._fd)
                    self.syncs += 1
                except OSError as e:
                    self.last_error = e
        if self._size >= self.max_file:
            self.rotate()
        elif self._index.due() and self._fd >= 0:
            self._index.write(self._path, self._size)

    def rotate(self) -> None:
        """Close the active segment and start a new one; then vacuum."""
        self._write_buffer()
        self._close_segment()
        self._reopen()
        self.vacuum()

    def vacuum(self) -> list[str]:
        """Delete the oldest closed segments until the store fits `max_use` and no segment
        is older than `max_age_usec`; returns the deleted paths."""
        return [path for path, _size in vacuum_directory(
            self.directory, max_use=self.max_use, max_age_usec=self.max_age_usec, keep=(self._path,)
        )]  # fmt: skip

    def close(self) -> None:
        """Flush and release the segment and the writer lock (idempotent)."""
        if self._lock_fd < 0:
            return
        self._write_buffer()
        self._close_segment()
        os.close(self._lock_fd)
        self._lock_fd = -1

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def next_seqnum(self) -> int:
        return self._seq

    def position(self) -> tuple[str, int]:
        """(open segment's path, its length) after a flush: where the next record starts,
        for a reader that must see everything written from now on (the console follower).
        # spec: systemctl-and-journal.md §6"""
        self.flush()
        return self._path, self._size

    def index_due_at(self) -> float | None:
        """When (time.monotonic()) `flush()` would rewrite the open segment's tail index,
        None if it is complete: a writer's loop that wakes then to flush leaves a quiet
        journal with an index that covers its last records (index.py INTERVAL)."""
        return self._index.due_at() if self._fd >= 0 else None

    # -- internals -------------------------------------------------------------------

    def _writev(self, parts: list[bytes]) -> None:
        if self._fd < 0 and not self._reopen():
            self.dropped_writes += 1
            return
        total = sum(len(p) for p in parts)
        try:
            written = os.writev(self._fd, parts)
            if written < total:  # short write (signal, disk nearly full): finish it
                rest = memoryview(b"".join(parts))[written:]
                while rest:
                    rest = rest[os.write(self._fd, rest):]
        except OSError as e:
            self._write_failed(e)
            return
        self._wrote(total)

    def _write_buffer(self) -> None:
        if not self._buffer:
            return
        data = self._buffer
        self._buffer = bytearray()
        if self._fd < 0 and not self._reopen():
            self.dropped_writes += 1
            return
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as e:
            self._write_failed(e)
            return
        self._wrote(len(data))

    def _wrote(self, nbytes: int) -> None:
        self._size += nbytes
        if self.write_behind is not None and self._size - self._behind >= self.write_behind.step:
            self._hand_to_disk()

    def _hand_to_disk(self, closed: bool = False) -> None:
        """The part of the open segment written since the last call, to the write-behind."""
        self.write_behind.note(self._path, self._behind, self._size, closed)
        self._behind = self._size

    def _write_failed(self, error: OSError) -> None:
        """Disk full or I/O error: the batch is lost (like journald, the manager goes on).
        The segment may now end in a torn record, which would hide everything written
        after it, so the next write goes to a new segment."""
        self.last_error = error
        self.dropped_writes += 1
        self._close_segment()
        if error.errno == errno.ENOSPC:
            self.vacuum()
        self._reopen()

    def _reopen(self) -> bool:
        if self._lock_fd < 0:  # closed writer
            return False
        try:
            self._open_segment(_now_realtime())
            return True
        except OSError as e:
            self.last_error = e
            return False

    def prepare_fields(self, fields: Mapping[str, object]) -> PreparedFields:
        """The stream fields as stored (text values, writer defaults added); pass the
        result to `append_raw`/`append_lines` again and again to skip this work per chunk."""
        if isinstance(fields, PreparedFields) and fields.writer is self:
            return fields
        common = {k: _text(v) for k, v in fields.items() if not k.startswith("__")}
        common.pop("MESSAGE", None)
        common.pop("PRIORITY", None)
        self._defaults(common)
        return PreparedFields(common, self)

    def _defaults(self, fields: dict[str, str]) -> None:
        if self.boot_id and "_BOOT_ID" not in fields:
            fields["_BOOT_ID"] = self.boot_id
        if self.hostname and "_HOSTNAME" not in fields:
            fields["_HOSTNAME"] = self.hostname

    def _context(self, header: dict, fields: dict[str, str]) -> None:
        """Fields are stored once per segment and referenced by number afterwards (again
        when the last copy is more than REDEFINE_DISTANCE back, for backward readers)."""
        key = fields.key if isinstance(fields, PreparedFields) else tuple(fields.items())
        ctx = self._contexts.get(key)
        here = self._size + len(self._buffer)
        if ctx is None:
            ctx = self._contexts[key] = len(self._contexts)
            header["f"] = fields
            self._defined_at[ctx] = here
        elif here - self._defined_at[ctx] > REDEFINE_DISTANCE:
            header["f"] = fields
            self._defined_at[ctx] = here
        header["c"] = ctx
        self._index.note(here, self._defined_at[ctx], ctx, fields)

    def _add(self, header: dict, payload: bytes) -> None:
        raw = jsoncodec.dumps_ascii(header).encode()
        length = _HEAD.size + len(raw) + len(payload) + _TAIL.size
        if len(payload) >= 65536:
            # big chunk: no copy into the buffer, one writev() for the whole record
            self._write_buffer()
            self._writev([_HEAD.pack(MAGIC, len(raw), len(payload)), raw, payload, _TAIL.pack(length, MAGIC)])
            if self._size >= self.max_file:
                self.rotate()
            return
        buf = self._buffer
        buf += _HEAD.pack(MAGIC, len(raw), len(payload))
        buf += raw
        buf += payload
        buf += _TAIL.pack(length, MAGIC)
        if len(buf) >= FLUSH_THRESHOLD:
            self.flush()

    def _next_seq_on_disk(self) -> int:
        mine = [s for s in list_segments(self.directory) if s[0] == self.name]
        if not mine:
            return 1
        _name, first, _rt, path = mine[-1]
        from sysvisor.journal.reader import records_backward  # (reader imports this module)

        last = next(records_backward(path), None)  # the newest record only
        if last is None:
            return first
        return int(last[0]["i"]) + int(last[0]["n"])

    def _open_segment(self, realtime: int) -> None:
        while True:
            path = os.path.join(self.directory, _segment_name(self.name, self._seq, realtime))
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o640)
                break
            except FileExistsError:
                realtime += 1
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        self._path = path
        self._size = 0
        self._behind = 0  # what of the segment went to the write-behind
        self._contexts: dict[tuple, int] = {}
        self._defined_at: dict[int, int] = {}  # field set → offset of its last copy
        self._index = TailIndex(reach=REDEFINE_DISTANCE)

    def _close_segment(self) -> None:
        if self._fd >= 0:
            if self._index.dirty:
                self._index.write(self._path, self._size)  # final: complete up to the end
            if self.write_behind is not None and self._size:
                self._hand_to_disk(closed=True)  # the rest, and none of it kept in the cache
            os.close(self._fd)  # closing drops the flock
            self._fd = -1


def vacuum_directory(
    directory: str,
    *,
    max_use: int | None = None,
    max_age_usec: int | None = None,
    max_files: int | None = None,
    keep: tuple[str, ...] = (),
) -> list[tuple[str, int]]:
    """Delete the oldest segments that no writer holds open until the directory uses at
    most `max_use` bytes, none was last written before `max_age_usec` ago, and at most
    `max_files` closed segments remain; returns [(path, size)] deleted. A segment's size
    includes its tail index (`<segment>.idx`), which goes with it.
    # systemd: journal_directory_vacuum(); journalctl --vacuum-size/-time/-files"""
    segments = []
    total = 0
    for name, seq, realtime, path in list_segments(directory):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        try:
            size = st.st_size + os.stat(path + INDEX_SUFFIX).st_size
        except FileNotFoundError:
            size = st.st_size
        total += size
        segments.append((realtime, seq, name, path, size, st.st_mtime_ns // 1000))
    segments.sort()
    closed = [seg for seg in segments if seg[3] not in keep and _unlocked(seg[3])]
    excess_files = len(closed) - max_files if max_files is not None else 0
    horizon = _now_realtime() - max_age_usec if max_age_usec else None
    deleted = []
    for _realtime, _seq, _name, path, size, mtime in closed:
        too_big = max_use is not None and total > max_use
        too_old = horizon is not None and mtime < horizon
        too_many = excess_files > 0
        if not (too_big or too_old or too_many):
            continue
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError:
            continue
        remove_index(path)
        total -= size
        excess_files -= 1
        deleted.append((path, size))
    return deleted


def _unlocked(path: str) -> bool:
    """True if no writer holds `path` open (its flock is free)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def __getattr__(name: str) -> object:
    """`JournalReader` lives in reader.py; importable from here too (PEP 562, lazily, so
    the two modules do not import each other at load time)."""
    if name == "JournalReader":
        from sysvisor.journal.reader import JournalReader

        return JournalReader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

