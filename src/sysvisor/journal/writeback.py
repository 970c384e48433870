"""Write-behind for the relay's journal: what was stored goes to the disk and then out of the
page cache, from a thread of its own.

Why: a service that logs gigabytes grows the page cache by as much, and that cache is
charged to the manager's cgroup (in a container: the container's memory limit, shared with
its services). On this machine's VM, page cache that grows into memory not touched before
also made every write ~8x dearer: the relay's CPU per 200 MB went from 0.22 s to
0.65-0.78 s once a journal passed ~1 GB (docs/benchmarks.md, ninth session).

How: every WRITE_BEHIND bytes the writer hands the new range to a thread (`note()`, which
never blocks); the thread writes it back and waits for the disk (sync_file_range(2)
WAIT_BEFORE|WRITE|WAIT_AFTER), then drops from the page cache everything of that segment but
its last CACHE_KEEP bytes (posix_fadvise DONTNEED), which `status` and `logs -f` still read;
of a closed segment nothing is kept (the newest records are in the next one).
The thread is the only part that ever waits for the disk: the relay's loop does not, so a
burst is absorbed by the page cache as before and only the clean part is dropped later. A
slow disk makes the thread fall behind; its pending ranges then merge, nothing queues up.

Only a hint to the kernel: any error is ignored, and where the thread or libc are missing
nothing happens. spec: systemctl-and-journal.md §6; issue 6 ("never blocked by logging")
"""

from __future__ import annotations

import os
import threading

WRITE_BEHIND = 8 * 1024**2  # hand the segment to the disk after this many new bytes
CACHE_KEEP = 32 * 1024**2  # of each segment's end, kept in the page cache
_SYNC_WAIT_WRITE_WAIT = 7  # SYNC_FILE_RANGE_WAIT_BEFORE | _WRITE | _WAIT_AFTER


def _sync_file_range(fd: int, offset: int, nbytes: int) -> None:
    """Write the range back and wait for it. Python lacks sync_file_range(2); without it
    fdatasync() does the same for the whole file."""
    import ctypes  # noqa: PLC0415 - only in the thread, once a journal has grown

    from sysvisor.daemon.libc import LibcError, call  # noqa: PLC0415

    try:
        call("sync_file_range", fd, ctypes.c_longlong(offset), ctypes.c_longlong(nbytes), _SYNC_WAIT_WRITE_WAIT)
    except LibcError:
        os.fdatasync(fd)


class WriteBehind:
    """The write-behind thread of one JournalWriter (started at the first range)."""

    step = WRITE_BEHIND

    def __init__(self, sync_range=_sync_file_range, drop=os.posix_fadvise) -> None:
        self._sync_range = sync_range
        self._drop = drop
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._pending: dict[str, list] = {}  # segment path -> [own fd, start, end, bytes to keep]
        self._busy = False
        self._thread: threading.Thread | None = None

    def note(self, path: str, start: int, end: int, closed: bool = False) -> None:
        """Bytes [start, end) of the segment `path` were written; `closed`: it is the
        segment's end."""
        keep = 0 if closed else CACHE_KEEP
        with self._lock:
            job = self._pending.get(path)
            if job is not None:
                job[1], job[2], job[3] = min(job[1], start), max(job[2], end), min(job[3], keep)
            else:
                try:
                    # its own open file: the writer may close its fd (rotation) before we run,
                    # and a dup() would share the writer's flock (vacuum spares locked segments)
                    own = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    return
                self._pending[path] = [own, start, end, keep]
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="journal-write-behind", daemon=True)
                try:
                    self._thread.start()
                except RuntimeError:  # no thread to be had: keep today's behaviour
                    self._thread = None
                    self._discard()
                    return
            self._work.notify_all()  # the worker, and never only a wait_idle() caller

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Until every noted range was handled, or False after `timeout` (for tests)."""
        with self._lock:
            return self._work.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _discard(self) -> None:
        for fd, *_range in self._pending.values():
            os.close(fd)
        self._pending.clear()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._busy = False
                self._work.notify_all()
                self._work.wait_for(lambda: self._pending)
                path = next(iter(self._pending))
                fd, start, end, keep = self._pending.pop(path)
                self._busy = True
            try:
                self._sync_range(fd, start, end - start)
                if end > keep:
                    self._drop(fd, 0, end - keep, os.POSIX_FADV_DONTNEED)
            except OSError:
                pass  # a hint only (a file system without it, a vanished disk)
            finally:
                os.close(fd)
