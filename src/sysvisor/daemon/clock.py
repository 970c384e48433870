"""The shell's only clock: monotonic µs for the engine, realtime µs for humans."""

from __future__ import annotations

import time


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in µs: the same clock systemd's `…Monotonic` properties use."""
    return time.monotonic_ns() // 1000


def realtime_usec() -> int:
    return time.time_ns() // 1000


def realtime_offset_usec() -> int:
    """realtime − monotonic now: converts engine timestamps into wall-clock ones."""
    return realtime_usec() - monotonic_usec()
