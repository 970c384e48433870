"""AccuracySec= coalescing: when an event loop with systemd's sd-event rules wakes up.

Rules (sd-event.c, systemd 257; checked against real systemd with systemd-oracle, see
tests/data/oracle/timer/accuracy-*.json):

* Every armed timer has a window `[earliest, latest]` = `[next_elapse, next_elapse + accuracy]`.
* Per clock (monotonic, realtime) the loop sleeps until
  `sleep_between(min(earliest), min(latest))` over **all** armed timers of that clock, then
  dispatches every timer whose `earliest` has passed. Timers of one host therefore coalesce:
  a timer with a 1-minute window fires together with any stricter timer that wakes the loop
  inside its window.
* `sleep_between(a, b)` prefers the latest point in the window that lies on a whole minute
  plus a per-boot perturbation (boot ID hash modulo one minute), then on 10 s, 1 s and 250 ms
  boundaries with the same perturbation, else `b`. A window of at most 1 µs (`AccuracySec=1us`)
  wakes exactly at `a`.

Pure: no clock, no I/O; the boot ID comes in as bytes.
# spec: timers.md §4
"""

from __future__ import annotations

from typing import Iterable

from sysvisor.core.types import USEC_INFINITY, USEC_PER_MSEC, USEC_PER_SEC

USEC_PER_MINUTE = 60 * USEC_PER_SEC
# sd-event: an event source added with accuracy 0 gets this window (systemd's own timers:
# job and service timeouts, restart delays; also a timer with AccuracySec=0)
DEFAULT_ACCURACY_USEC = 250 * USEC_PER_MSEC
# sd-event: sleep_between() alignment steps, coarsest first
_STEPS = (USEC_PER_MINUTE, 10 * USEC_PER_SEC, USEC_PER_SEC, 250 * USEC_PER_MSEC)


def perturb_from_id128(id128: bytes) -> int:
    """The per-boot wake-up offset within a minute, from the boot ID (or machine ID).

    The 16 bytes are those of the ID as printed (`/proc/sys/kernel/random/boot_id` without
    dashes). # systemd: sd-event.c initialize_perturb()
    """
    if len(id128) != 16:
        raise ValueError(f"an ID128 has 16 bytes, not {len(id128)}")
    q0 = int.from_bytes(id128[:8], "little")
    q1 = int.from_bytes(id128[8:], "little")
    return (q0 ^ q1) % USEC_PER_MINUTE


def sleep_between(a: int, b: int, perturb: int) -> int:
    """The wake-up time the loop picks inside the window `[a, b]` (µs, one clock).

    # systemd: sd-event.c sleep_between()
    """
    if a <= 0:
        return 0
    if a >= USEC_INFINITY:
        return USEC_INFINITY
    if b <= a + 1:
        return a
    for step in _STEPS:
        c = (b // step) * step + perturb % step
        if c >= b:
            if c < step:
                return b
            c -= step
        if c >= a:
            return c
    return b


def wakeup_time(windows: Iterable[tuple[int, int]], perturb: int) -> int | None:
    """When the loop wakes for a set of armed timers of one clock, or None if none is armed.

    `windows` holds `(earliest, latest)` per armed timer. After waking at the returned time,
    dispatch every timer whose `earliest` is at or before it.
    # systemd: sd-event.c event_arm_timer() (earliest/latest prioqs)
    """
    a = b = None
    for earliest, latest in windows:
        a = earliest if a is None else min(a, earliest)
        b = latest if b is None else min(b, latest)
    if a is None or b is None:
        return None
    return sleep_between(a, b, perturb)
