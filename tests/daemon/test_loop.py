"""The event loop's deadlines (daemon/loop.py): a timerfd armed at the nearest one, not
epoll's millisecond timeout. Real timerfds; the waits are bounded by max_wait."""

from __future__ import annotations

import time

from sysvisor.daemon.clock import monotonic_usec
from sysvisor.daemon.libc import timerfd_gettime_ns
from sysvisor.daemon.loop import EventLoop


def test_the_timerfd_wakes_the_loop_at_the_deadline_never_before():
    loop = EventLoop()
    assert loop.timer is not None, "this kernel has timerfds"
    deadline = monotonic_usec() + 20_000
    fired = []
    loop.add_deadline(lambda: None if fired else deadline, fired.append)
    t0 = time.monotonic()
    while not fired and time.monotonic() - t0 < 10:
        loop.run_once(max_wait=5.0)  # only the timerfd can end this wait before 5 s
    assert fired and fired[0] >= deadline
    assert time.monotonic() - t0 < 4.0


def test_the_timer_is_armed_for_the_nearest_deadline_and_disarmed_without_one():
    loop = EventLoop()
    deadlines = [monotonic_usec() + 3_000_000, monotonic_usec() + 2_000_000]
    for d in deadlines:
        loop.add_deadline(lambda d=d: d if deadlines else None, lambda now: None)
    loop.run_once(max_wait=0)
    assert loop.timer.armed == min(deadlines)
    remaining = timerfd_gettime_ns(loop.timer.fd)
    assert 1_000_000_000 < remaining <= 2_000_000_000
    deadlines.clear()
    loop.run_once(max_wait=0)
    assert loop.timer.armed is None and timerfd_gettime_ns(loop.timer.fd) == 0


def test_without_a_timerfd_the_deadline_is_the_timeout():
    loop = EventLoop(precise=False)
    assert loop.timer is None
    deadline = monotonic_usec() + 20_000
    fired = []
    loop.add_deadline(lambda: None if fired else deadline, fired.append)
    t0 = time.monotonic()
    while not fired and time.monotonic() - t0 < 10:
        loop.run_once()
    assert fired and fired[0] >= deadline
