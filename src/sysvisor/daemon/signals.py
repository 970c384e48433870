"""Signals arrive as bytes on a pipe registered in the selector.

A handler that only sets a flag does not wake select() (PEP 475 retries it), so every
handled signal is a no-op handler plus `signal.set_wakeup_fd`; the loop reads the signal
numbers from the pipe. Handlers never log. # spec: ARCHITECTURE.md, pitfalls
"""

from __future__ import annotations

import os
import signal

HANDLED = (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


def _noop(signum, frame) -> None:  # the wakeup fd carries the information
    pass


class SignalPipe:
    """Owns the wakeup pipe; `fileno()` goes into the selector, `drain()` yields signals."""

    def __init__(self, signals=HANDLED) -> None:
        self._read, self._write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._previous_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._signals = tuple(signals)
        self._previous = {s: signal.signal(s, _noop) for s in self._signals}

    def fileno(self) -> int:
        return self._read

    def drain(self) -> list[int]:
        """Signal numbers received since the last call, in arrival order."""
        received: list[int] = []
        while True:
            try:
                data = os.read(self._read, 4096)
            except BlockingIOError:
                break
            if not data:
                break
            received.extend(data)
        return received

    def close(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        signal.set_wakeup_fd(self._previous_fd)
        os.close(self._read)
        os.close(self._write)
