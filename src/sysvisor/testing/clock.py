"""A fake monotonic clock for virtual-time tests. # spec: ARCHITECTURE.md "Tests"

Time is an integer number of microseconds; nothing here reads a real clock.
"""

from __future__ import annotations

from sysvisor.core.types import USEC_PER_MSEC, USEC_PER_SEC


class FakeClock:
    """Virtual monotonic time that only moves when told to."""

    def __init__(self, start: int = 0) -> None:
        self.now = start

    def advance(self, usec: int) -> int:
        if usec < 0:
            raise ValueError("time does not run backwards")
        self.now += usec
        return self.now

    def set(self, usec: int) -> int:
        if usec < self.now:
            raise ValueError(f"time does not run backwards ({usec} < {self.now})")
        self.now = usec
        return self.now


def sec(n: float) -> int:
    """Seconds → µs."""
    return int(round(n * USEC_PER_SEC))


def msec(n: float) -> int:
    """Milliseconds → µs."""
    return int(round(n * USEC_PER_MSEC))
