"""The manager's own console lines when it prints them itself (no relay console to do it):
written whole or not at all, and never waited for.

A console nobody reads (a stalled `docker logs`, `sysvisor up | less`, a paused terminal)
fills its pipe; a blocking write then stops the manager's loop. Setting O_NONBLOCK on
stdout would reach everyone sharing that open file description (the shell of the terminal,
units with StandardOutput=inherit), so the lines go through a second description of the
same pipe or terminal, opened through /proc/self/fd, which alone is non-blocking. A line
that does not fit is counted, and a notice says how many were left out once the console
takes lines again. # issue 6 ("never blocked by logging")
"""

from __future__ import annotations

import os
import stat

PIPE_BUF = 4096  # a write up to this size into a pipe is whole or not at all


def reopen_nonblocking(fd: int) -> int | None:
    """A non-blocking descriptor of the pipe or terminal behind `fd`, or None: a regular file
    never waits for a reader, and what cannot be reopened is written as it is.
    # spec: systemctl-and-journal.md §6; issue 6 ("never blocked by logging")"""
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
            return None
        return os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None


class ConsoleOut:
    """Lines to the console `fd` (stdout), never blocking the caller."""

    def __init__(self, fd: int = 1) -> None:
        self.fd = fd
        self._nonblocking = reopen_nonblocking(fd)
        self.dropped = 0  # lines left out since the last one printed

    def write_lines(self, lines: list[bytes]) -> None:
        """Print each line whole (or, once the console is full, count it as left out).
        OSError if the console is gone."""
        if self.dropped:
            if not self._write(b"... %d lines left out here: the console was not read (the journal has them)\n" % self.dropped):
                self.dropped += len(lines)
                return
            self.dropped = 0
        for i, line in enumerate(lines):
            if not self._write(line):
                self.dropped += len(lines) - i
                return

    def _write(self, data: bytes) -> bool:
        """False if the console is full; OSError if it is gone (EPIPE)."""
        fd = self._nonblocking if self._nonblocking is not None else self.fd
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view):]  # only a line longer than PIPE_BUF comes back short
        except BlockingIOError:
            if len(view) < len(data):  # a long line cut by a full pipe: end it if we can
                try:
                    os.write(fd, b"\n")
                except OSError:
                    pass
            return False
        return True

    def close(self) -> None:
        if self._nonblocking is not None:
            os.close(self._nonblocking)
            self._nonblocking = None
