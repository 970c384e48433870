"""Capture of each spawned process's stdout/stderr into the journal.

Every spawned process gets the write end of a fresh pipe as stdout (and stderr when
`StandardError=inherit`); the read end lives in the selector. Before the engine hears that a
process exited, its pipe is drained, so a unit's last words precede "Main process exited".
# spec: systemctl-and-journal.md §6
"""

from __future__ import annotations

import os
import selectors
from collections.abc import Callable

from sysvisor.journal.stream import LineSplitter, StreamLines

READ_CHUNK = 65536


class OutputStream:
    """The read end of one process's output pipe and what we know about its writer."""

    def __init__(self, fd: int, unit: str, pid: int, invocation_id: str, identifier: str, splitter: LineSplitter) -> None:
        self.fd = fd
        self.unit = unit
        self.pid = pid
        self.invocation_id = invocation_id
        self.identifier = identifier
        self.splitter = splitter

    def fileno(self) -> int:
        return self.fd


LineSink = Callable[[OutputStream, StreamLines], None]


class OutputCapture:
    """Owns every output pipe; hands complete lines to `sink`."""

    def __init__(self, selector: selectors.BaseSelector, sink: LineSink, priority: int = 0) -> None:
        self._selector = selector
        self._sink = sink
        self._priority = priority
        self._by_pid: dict[int, OutputStream] = {}

    @staticmethod
    def pipe() -> tuple[int, int]:
        """A (read, write) pair; the read end never blocks the loop."""
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(read_fd, False)
        return read_fd, write_fd

    def attach(self, read_fd: int, unit: str, pid: int, invocation_id: str, identifier: str, level_prefix: bool) -> None:
        """Start reading `read_fd`, written by process `pid` of `unit`."""
        stream = OutputStream(read_fd, unit, pid, invocation_id, identifier, LineSplitter(level_prefix=level_prefix))
        self._by_pid[pid] = stream
        self._selector.register(read_fd, selectors.EVENT_READ, (self._priority, lambda mask, now, s=stream: self._read(s)))

    def drain(self, pid: int) -> None:
        """Read whatever `pid`'s pipe holds right now (called before its exit is handled)."""
        stream = self._by_pid.get(pid)
        if stream is not None:
            while self._read(stream):
                pass

    def _read(self, stream: OutputStream) -> bool:
        """Read one chunk; True if more may follow immediately."""
        try:
            data = os.read(stream.fd, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            data = b""
        if not data:
            self._emit(stream, stream.splitter.finish())
            self._close(stream)
            return False
        self._emit(stream, stream.splitter.feed(data))
        return len(data) == READ_CHUNK

    def _emit(self, stream: OutputStream, lines: StreamLines) -> None:
        if lines.messages:
            self._sink(stream, lines)

    def _close(self, stream: OutputStream) -> None:
        if self._by_pid.get(stream.pid) is stream:
            del self._by_pid[stream.pid]
        try:
            self._selector.unregister(stream.fd)
        except (KeyError, ValueError):
            pass
        os.close(stream.fd)

    def close_all(self) -> None:
        for stream in list(self._by_pid.values()):
            self.drain(stream.pid)
            if stream.pid in self._by_pid:
                self._close(stream)
