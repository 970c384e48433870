"""The single-threaded selectors loop. Its only timeout is the nearest deadline.

Ready file descriptors are dispatched in priority order within one wake-up — notify datagrams
and output first, then child exits and signals, then control requests, then due timers —
systemd's order, so a `READY=1` sent just before exit is not lost.
# spec: ARCHITECTURE.md "daemon/"
"""

from __future__ import annotations

import selectors
from collections.abc import Callable

from sysvisor.daemon.clock import monotonic_usec

DeadlineSource = Callable[[], "int | None"]


class EventLoop:
    """Registered objects carry `(priority, callback(mask, now))` as selector data."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self._deadline_sources: list[tuple[DeadlineSource, Callable[[int], None]]] = []
        self._running = False
        self.wakeups = 0  # for the idle benchmark: an idle manager must not wake up

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
        if deadlines:
            until_deadline = max(0.0, (min(deadlines) - monotonic_usec()) / 1e6)
            timeout = until_deadline if timeout is None else min(timeout, until_deadline)
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

    def _is_registered(self, key: selectors.SelectorKey) -> bool:
        # an earlier callback of this wake-up may have closed this fd
        try:
            return self.selector.get_key(key.fileobj) is key
        except (KeyError, ValueError):
            return False
