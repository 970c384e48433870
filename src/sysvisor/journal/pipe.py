"""A service's stdout/stderr pipe as the journal reads it: `Stream`, and the pump thread that
moves the pipe's data without ever polling it.

Why a pump thread (measured with `bench/bench_journal.py pipe`, a service doing one write()
per 100-byte line, 200 MB): Linux charges the *writer* of a pipe that has ever been polled
(select/poll/epoll set `pipe->poll_usage`, which is never cleared) a wake-up call on every
write(), even into a pipe that is not empty (# linux: fs/pipe.c pipe_write(),
`if (was_empty || pipe->poll_usage)`). That cost ~0.2 s of the writer's system time per 200 MB
(0.9 s instead of 0.65 s, against 0.35 s into /dev/null). So the relay never polls a service's
pipe: a thread per stream blocks in splice(2) on it, which sleeps in the kernel without
`poll_usage`, and moves whatever arrived into a private pipe of the relay's; the relay's
loop polls only that one. Moving between pipes passes page references, it does not copy.

splice(2) moves data atomically: at any moment a byte is either still in the service's pipe
or already in the private pipe. `drain_into()` (the relay's `sync` and its shutdown) uses that:
it moves the rest itself (SPLICE_F_NONBLOCK) and reads the private pipe empty once the
service's pipe is seen empty, so nothing written before is left behind, without any
hand-shake with the thread.

After a move of less than 3/4 of the pipe the thread leaves the pipe alone for a while so
the next move takes what accumulated (at most 2 ms, and at most the time the writer needs
to fill half the pipe at its last rate): a service printing lines as fast as it can then
wakes the relay a few hundred times per second instead of once per write, and never waits
because of it.

Streams that are not pipes (and the daemon's own fallback, which reads in its selector
loop) are read directly (`read_into()`).

spec: systemctl-and-journal.md §6; issue 6 (throughput, never lose a line)
"""

from __future__ import annotations

import fcntl
import os
import stat
import termios
import _thread
import threading
import time
from collections.abc import Mapping

from sysvisor.journal.store import _URGENT_PREFIXES, JournalWriter, PreparedFields
from sysvisor.journal.stream import LINE_MAX_DEFAULT, LineSplitter, StreamLines, max_lines

READ_SIZE = 1 << 20
PIPE_SIZE = 1 << 20  # /proc/sys/fs/pipe-max-size default
COALESCE = 0.002  # seconds a pipe is left alone after a short move
COALESCE_MIN = 0.0002  # shorter pauses are not worth a sleep
F_SETPIPE_SZ = 1031
F_GETPIPE_SZ = 1032
SPLICE_F_NONBLOCK = getattr(os, "SPLICE_F_NONBLOCK", 2)
PUMP_STACK = 256 * 1024  # a pump thread runs no deep Python: a small stack per stream

_buffers = threading.local()


def _buffer(size: int) -> bytearray:
    """The calling thread's read buffer, at least `size` bytes: one for all streams, since
    a thread reads one stream at a time (a buffer per stream would cost 1 MiB each)."""
    buf = getattr(_buffers, "buf", None)
    if buf is None or len(buf) < size:
        buf = _buffers.buf = bytearray(max(size, READ_SIZE + LINE_MAX_DEFAULT))
    return buf


def _is_pipe(fd: int) -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False


def _pending(fd: int) -> int:
    """Bytes waiting in a pipe (FIONREAD)."""
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, "little")


def coalesce_pause(moved: int, pipe_size: int, elapsed: float) -> float:
    """How long to leave a pipe alone after taking `moved` bytes, `elapsed` seconds after the
    previous take: none after a (nearly) full pipe — the writer outruns us — else up to
    COALESCE, and at most the time the writer needs to fill half the pipe at its last rate,
    so it never blocks because of the pause."""
    if moved >= pipe_size * 3 // 4:
        return 0.0
    pause = COALESCE
    if moved and elapsed > 0:
        pause = min(COALESCE, pipe_size / 2 / (moved / elapsed))
    return pause if pause >= COALESCE_MIN else 0.0


def pump(src: int, dst: int, pipe_size: int, grow) -> None:
    """Splice pipe `src` into `dst` until end of stream, pausing after short moves
    (`coalesce_pause`). After a move of 3/4 of a pipe smaller than PIPE_SIZE, `grow()` gives
    the pipe more room and returns its new size. OSError (EPIPE) goes to the caller."""
    previous = time.monotonic()
    while moved := os.splice(src, dst, PIPE_SIZE):
        if moved >= pipe_size * 3 // 4 and pipe_size < PIPE_SIZE:
            pipe_size = grow()
        now = time.monotonic()
        pause = coalesce_pause(moved, pipe_size, now - previous)
        previous = now
        if pause:
            time.sleep(pause)


class _PumpThread:
    """A pump's thread, started without `threading.Thread.start()`'s hand-shake: that waits
    until the new thread runs, a switch to it and back for every stream a crash loop opens,
    on the CPUs the restarted process needs. `join()` and `is_alive()` as Thread's."""

    def __init__(self) -> None:
        self._running = _thread.allocate_lock()

    def start(self, target, *args) -> None:
        """Run `target(*args)` in a new thread. RuntimeError if none can be made."""
        self._running.acquire()
        try:
            _thread.start_new_thread(self._run, (target, args))
        except RuntimeError:
            self._running.release()
            raise

    def _run(self, target, args) -> None:
        try:
            target(*args)
        finally:
            self._running.release()

    def join(self, timeout: float = -1) -> None:
        if self._running.acquire(timeout=timeout):
            self._running.release()

    def is_alive(self) -> bool:
        return self._running.locked()


class Stream:
    """A service's stdout/stderr pipe read end, feeding the journal.

    `read_fd` is what a loop waits on and calls `read_into(writer)` for when it is readable:
    the pipe itself, or after `start_pump()` the private pipe the pump fills.
    # spec: systemctl-and-journal.md §6"""

    def __init__(
        self,
        fd: int,
        fields: Mapping[str, object],
        *,
        priority: int = 6,
        level_prefix: bool = True,
        line_max: int = LINE_MAX_DEFAULT,
    ) -> None:
        self.fd = fd
        self.read_fd = fd
        self.fields = {k: str(v) for k, v in fields.items()}
        self.fields.setdefault("_TRANSPORT", "stdout")
        self._prepared: PreparedFields | None = None  # self.fields as the writer stores them
        self.last_read = 0  # bytes of the last read
        self.priority = priority
        self.level_prefix = level_prefix
        self.splitter = LineSplitter(priority=priority, level_prefix=level_prefix, line_max=line_max)
        self.line_max = self.splitter.line_max
        self.pump: _PumpThread | None = None
        self._tail = b""  # the unfinished last line, until the next read completes it
        self._pump_w = -1  # the private pipe's write end; the thread's, closed by it
        self._pump_lock = threading.Lock()  # held to use or close _pump_w
        os.set_blocking(fd, False)
        try:
            self.pipe_size = fcntl.fcntl(fd, F_GETPIPE_SZ)
        except OSError:  # not a pipe
            self.pipe_size = PIPE_SIZE

    # -- the pump --------------------------------------------------------------------

    def start_pump(self) -> bool:
        """Move the pipe's data into a private pipe in a thread (see the module's doc);
        False if this stream is no pipe (then read `fd` directly)."""
        if self.pump is not None:
            return True
        if not _is_pipe(self.fd):
            return False
        try:
            src = os.dup(self.fd)  # the thread's own: it closes it when it ends
        except OSError:  # out of file descriptors: read the pipe directly
            return False
        try:
            r, w = os.pipe2(os.O_CLOEXEC)
        except OSError:
            os.close(src)
            return False
        os.set_blocking(self.fd, True)  # splice() waits only if both ends block
        os.set_blocking(r, False)
        if self.pipe_size >= PIPE_SIZE:
            self._grow(w)
        self.read_fd, self._pump_w = r, w  # before the thread runs: it may end at once
        pump = _PumpThread()
        old = threading.stack_size()
        try:
            threading.stack_size(PUMP_STACK)
            pump.start(self._pump, src, w)
        except RuntimeError:  # no thread for it: read the pipe directly
            for fd in (src, r, w):
                os.close(fd)
            self.read_fd, self._pump_w = self.fd, -1
            os.set_blocking(self.fd, False)
            return False
        finally:
            threading.stack_size(old)
        self.pump = pump
        return True

    def _pump(self, src: int, dst: int) -> None:
        """The thread: `pump()` the service's pipe into ours until end of stream."""

        def grow() -> int:
            self.pipe_size = self._grow(src)
            self._grow(dst)
            return self.pipe_size

        try:
            pump(src, dst, self.pipe_size, grow)
        except OSError:  # EPIPE: the relay closed our pipe (stopping or dropped)
            pass
        finally:
            os.close(src)
            with self._pump_lock:
                os.close(dst)  # the relay reads end of file after the rest
                self._pump_w = -1

    def _grow(self, fd: int) -> int:
        """A fast writer filled the pipe: give it 1 MiB. Only then, because an unprivileged
        user's pipes beyond /proc/sys/fs/pipe-user-pages-soft shrink to one page."""
        try:
            return fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            return PIPE_SIZE  # not allowed: do not try again

    # -- reading ---------------------------------------------------------------------

    def read_into(self, writer: JournalWriter, max_bytes: int = READ_SIZE) -> bool:
        """One read of `read_fd`; stores complete lines. Returns False at end of stream
        (after storing the unfinished last line), True otherwise (also when nothing was there)."""
        self.last_read = 0
        n = self._read_chunk(self.read_fd, writer, max_bytes)
        if n == 0:
            return False
        self.last_read = max(n, 0)
        if self.pump is None and n >= self.pipe_size * 3 // 4 and self.pipe_size < PIPE_SIZE:
            self.pipe_size = self._grow(self.fd)
        return True

    def _read_chunk(self, fd: int, writer: JournalWriter, max_bytes: int = READ_SIZE) -> int:
        """Read into the reading thread's buffer, after this stream's unfinished line, and
        store the complete lines straight from it: no allocation and no copy of the chunk
        (a fresh 1 MiB object per read costs page faults that showed in the relay's CPU).
        Returns the bytes read, 0 at end of stream (tail stored), -1 if there was nothing."""
        kept = len(self._tail)
        buf = _buffer(kept + READ_SIZE)
        view = memoryview(buf)
        try:
            n = os.readv(fd, [view[kept : kept + min(max_bytes, READ_SIZE)]])
        except (BlockingIOError, InterruptedError):
            return -1
        except OSError:
            n = 0
        if not n:
            self.splitter._buffer = self._tail  # the unfinished line, for finish()
            self._tail = b""
            self._finish(writer)
            return 0
        buf[:kept] = self._tail
        end = kept + n
        cut = buf.rfind(b"\n", 0, end) + 1
        prepared = self._prepared
        if prepared is None or prepared.writer is not writer:
            prepared = self._prepared = writer.prepare_fields(self.fields)
        if cut:
            raw = view[:cut]
            lines = max_lines(buf, self.line_max, cut)
            urgent = self.level_prefix and buf.find(b"<", 0, cut) >= 0 and any(
                buf.find(p, 0, cut) >= 0 for p in _URGENT_PREFIXES)
            writer.append_raw(prepared, raw, priority=self.priority, level_prefix=self.level_prefix,
                              line_max=self.line_max, lines=lines, urgent=urgent)
            raw.release()
        rest = end - cut
        if rest >= self.line_max or buf.find(b"\0", cut, end) >= 0:
            tail = StreamLines()  # a NUL or LineMax= ends lines after the last newline
            left = self.splitter._scan(bytes(view[cut:end]), tail)
            writer.append_lines(prepared, tail)
            self._tail = left
        else:
            self._tail = bytes(view[cut:end])
        view.release()
        return n

    def drain_into(self, writer: JournalWriter) -> bool:
        """Store everything written to the pipe so far. Returns False at end of stream."""
        if self.pump is None:
            return self._read_empty(self.fd, writer)
        while True:
            moved = -1  # what we moved: > 0 bytes, 0 end of stream, -1 none (empty or full)
            with self._pump_lock:  # move the rest ourselves rather than wait for the thread's pause
                if self._pump_w >= 0:
                    try:
                        moved = os.splice(self.fd, self._pump_w, PIPE_SIZE, flags=SPLICE_F_NONBLOCK)
                    except OSError:
                        pass
            if moved == 0:  # every writer is gone: the thread sees it too and closes our pipe
                self.pump.join(1.0)  # (after its pause, 2 ms at most) so the tail gets stored
            try:
                empty = _pending(self.fd) == 0
            except OSError:
                empty = True
            if not self._read_empty(self.read_fd, writer):
                return False
            if empty and moved < 0:  # nothing left behind: all of it was in our pipe, now read
                return True

    def _read_empty(self, fd: int, writer: JournalWriter) -> bool:
        while True:
            n = self._read_chunk(fd, writer)
            if n == 0:
                return False
            if n < 0:
                return True

    def store_tail(self, writer: JournalWriter) -> None:
        """Store the unfinished last line as if the stream ended (the relay is stopping)."""
        if self._tail:
            self.splitter._buffer = self._tail
            self._tail = b""
        self._finish(writer)

    def _finish(self, writer: JournalWriter) -> None:
        tail = self.splitter.finish()
        writer.append_lines(self.fields, tail)

    def close(self) -> None:
        """Close our ends. A pump still waiting in splice() then fails (EPIPE) at its next
        move without taking anything, and ends."""
        if self.read_fd >= 0 and self.read_fd != self.fd:
            os.close(self.read_fd)
        self.read_fd = -1
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
