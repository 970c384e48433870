"""The single-threaded selectors loop. Its only timeout is the nearest deadline.

Ready file descriptors are dispatched in priority order within one wake-up — notify datagrams
and output first, then child exits and signals, then control requests, then due timers —
systemd's order, so a `READY=1` sent just before exit is not lost.

The nearest deadline arms a CLOCK_MONOTONIC timerfd (as sd-event does) rather than being
epoll's timeout: epoll counts in whole milliseconds, rounded up, so a `RestartSec=100ms`
restart fired up to 1 ms late before any work began. Where no timerfd can be made the
timeout is used.
# spec: ARCHITECTURE.md "daemon/"
"""

from __future__ import annotations

import os
import selectors
from collections.abc import Callable

from sysvisor.daemon.clock import monotonic_usec
from sysvisor.daemon.libc import CLOCK_MONOTONIC, TFD_TIMER_ABSTIME, timerfd_create, timerfd_settime_ns

DeadlineSource = Callable[[], "int | None"]


class EventLoop:
    """Registered objects carry `(priority, callback(mask, now))` as selector data."""

    def __init__(self, precise: bool = True) -> None:
        self.selector = selectors.DefaultSelector()
        self._deadline_sources: list[tuple[DeadlineSource, Callable[[int], None]]] = []
        self._running = False
        self.wakeups = 0
        self.after_iteration: list[Callable[[], None]] = []  # for the idle benchmark: an idle manager must not wake up
        self.timer = _DeadlineTimer.make() if precise else None
        if self.timer is not None:
            self.selector.register(self.timer, selectors.EVENT_READ, (_TIMER_PRIORITY, self.timer.on_readable))

    def add_deadline(self, source: DeadlineSource, on_due: Callable[[int], None]) -> None:
        """`source()` gives the next deadline (monotonic µs) or None; `on_due(now)` runs once due."""
        self._deadline_sources.append((source, on_due))

    def stop(self) -> None:
        self._running = False

    def run(self) -> None:
        self._running = True
        while self._running:
            self.run_once()

    def run_once(self, max_wait: float | None = None) -> None:
        """One wake-up: wait for fds or the nearest deadline (or `max_wait` seconds)."""
        deadlines = [d for d in (source() for source, _ in self._deadline_sources) if d is not None]
        timeout = max_wait
        nearest = min(deadlines) if deadlines else None
        if nearest is not None:
            until_deadline = max(0.0, (nearest - monotonic_usec()) / 1e6)
            if until_deadline == 0.0 or self.timer is None or not self.timer.arm(nearest):
                timeout = until_deadline if timeout is None else min(timeout, until_deadline)
        elif self.timer is not None:
            self.timer.arm(None)
        ready = self.selector.select(timeout)
        self.wakeups += 1
        now = monotonic_usec()
        for key, mask in sorted(ready, key=lambda kv: kv[0].data[0]):
            if self._is_registered(key):
                key.data[1](mask, now)
        now = monotonic_usec()
        for source, on_due in self._deadline_sources:
            deadline = source()
            if deadline is not None and deadline <= now:
                on_due(now)
        for callback in self.after_iteration:
            callback()

    def _is_registered(self, key: selectors.SelectorKey) -> bool:
        # an earlier callback of this wake-up may have closed this fd
        try:
            return self.selector.get_key(key.fileobj) is key
        except (KeyError, ValueError):
            return False


_TIMER_PRIORITY = 100  # after every other fd: the due deadlines run after the fds anyway


class _DeadlineTimer:
    """A CLOCK_MONOTONIC timerfd armed at the loop's nearest deadline (µs precision)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.armed: int | None = None  # the deadline (monotonic µs) it is armed for

    @classmethod
    def make(cls) -> _DeadlineTimer | None:
        try:
            return cls(timerfd_create(CLOCK_MONOTONIC))
        except OSError:
            return None

    def fileno(self) -> int:
        return self.fd

    def arm(self, deadline: int | None) -> bool:
        """Expire at `deadline` (None: never); a syscall only when it changes. False if the
        kernel refused: the loop then falls back to epoll's timeout."""
        if deadline == self.armed:
            return True
        try:
            timerfd_settime_ns(self.fd, TFD_TIMER_ABSTIME, 0 if deadline is None else max(deadline, 1) * 1000)
        except OSError:
            self.armed = None
            return False
        self.armed = deadline
        return True

    def on_readable(self, mask: int, now: int) -> None:
        try:
            os.read(self.fd, 8)
        except BlockingIOError:
            pass
        self.armed = None  # expired: the same deadline must arm it again
