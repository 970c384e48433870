"""The next-elapse walk of calendar events: systemd's find_next() over glibc's mktime().

Split from core/calendar.py (parsing and normal form live there). The walk edits a
broken-down local time field by field and lets `calendar_zone.LocalZone.mktime()` normalise
it, exactly in systemd's order, so DST gaps and folds come out as systemd computes them.
# spec: timers.md §3.2; systemd: src/shared/calendarspec.c find_next() (v252)
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from sysvisor.core.calendar_zone import LocalZone, Tm, gmtime, timegm, wall_seconds

if TYPE_CHECKING:
    from sysvisor.core.calendar import CalendarSpec, Chain

USEC_PER_SEC = 1_000_000
BITS_WEEKDAYS = 127
MAX_YEAR = 2199
MAX_CALENDAR_ITERATIONS = 1000
# systemd time-util.h: Thu 9999-12-30 23:59:59 UTC
USEC_TIMESTAMP_FORMATTABLE_MAX = 253402214399000000
# glibc's strerror() texts for the errnos systemd returns
STRERROR = {
    errno.EINVAL: "Invalid argument",
    errno.ERANGE: "Numerical result out of range",
    errno.ENOBUFS: "No buffer space available",
    errno.EDEADLK: "Resource deadlock avoided",
}


class CalendarElapseError(RuntimeError):
    """next_elapse() failed for a reason other than "never" (systemd's -EDEADLK, -EINVAL)."""

    def __init__(self, err: int) -> None:
        self.errno = err
        self.strerror = STRERROR[err]
        super().__init__(self.strerror)


def next_usec(spec: CalendarSpec, zone: LocalZone, usec: int) -> int | None:
    """Next elapse strictly after `usec` in `zone`; None = never.

    # systemd: calendar_spec_next_usec_impl()
    """
    if usec > USEC_TIMESTAMP_FORMATTABLE_MAX:
        raise CalendarElapseError(errno.EINVAL)
    usec += 1
    t = usec // USEC_PER_SEC
    tm = gmtime(t) if spec.utc else zone.localtime(t)
    start = tm.copy()
    found = _find_next(spec, zone, tm, usec % USEC_PER_SEC)
    if found is None:
        return None
    tm, tm_usec = found
    t2 = _mktime(zone, tm, spec.utc)
    if t2 is not None and t2 * USEC_PER_SEC + tm_usec < usec and spec.dst == -1:
        # The walk went backwards across a DST gap (negative DST like Europe/Dublin,
        # gaps at midnight or of 30/60 min like Havana, Lord_Howe, Chatham). v252 as
        # shipped (252.39, with stable fixes) recovers instead of returning the past;
        # this second pass reproduces its answers on the recorded oracle corpus.
        found = _find_next(spec, zone, start, usec % USEC_PER_SEC, second_pass=True)
        if found is None:
            return None
        tm, tm_usec = found
        t2 = _mktime(zone, tm, spec.utc)
    if t2 is None or t2 < 0:
        raise CalendarElapseError(errno.EINVAL)
    return t2 * USEC_PER_SEC + tm_usec


def _mktime(zone: LocalZone, tm: Tm, utc: bool) -> int | None:
    """systemd mktime_or_timegm()."""
    return timegm(tm) if utc else zone.mktime(tm)


def _find_end_of_month(zone: LocalZone, tm: Tm, utc: bool, day: int) -> int:
    """# systemd: find_end_of_month()"""
    t = tm.copy()
    t.mon += 1
    t.mday = 1 - day
    r = _mktime(zone, t, utc)
    if r is None or r < 0 or t.mon != tm.mon:
        return -1
    return t.mday


def _find_matching_component(spec: CalendarSpec, zone: LocalZone, chain: Chain,
                             is_day: bool, tm: Tm, val: int) -> tuple[int, int]:
    """Earliest value >= val matched by the chain: (r, value), r = -1 none, 1 changed, 0 same.

    # systemd: find_matching_component()
    """
    if not chain:
        return 0, val
    end_of_month = spec.end_of_month and is_day
    d = -1
    d_set = False
    for c in chain:
        if end_of_month:
            start = _find_end_of_month(zone, tm, spec.utc, c.start)
            stop = _find_end_of_month(zone, tm, spec.utc, c.stop)
            if stop > 0:
                start, stop = stop, start
        else:
            start, stop = c.start, c.stop
        if start >= val:
            if not d_set or start < d:
                d, d_set = start, True
        elif c.repeat > 0:
            k = start + c.repeat * -((start - val) // c.repeat)  # DIV_ROUND_UP
            if (not d_set or k < d) and (stop < 0 or k <= stop):
                d, d_set = k, True
    if not d_set:
        return -1, val
    return (1 if val != d else 0), d


def _tm_within_bounds(zone: LocalZone, tm: Tm, utc: bool) -> int:
    """1 if mktime leaves `tm` alone, 0 if it moved it forward (tm updated), <0 on error.

    # systemd: tm_within_bounds()
    """
    if tm.year + 1900 > MAX_YEAR:
        return -errno.ERANGE
    t = tm.copy()
    r = _mktime(zone, t, utc)
    if r is None or r < 0:
        return -errno.EINVAL
    # a carry into a higher field resets the fields below it
    if t.year != tm.year:
        cmp = (t.year > tm.year) - (t.year < tm.year)
        t.mon = 0
    elif t.mon != tm.mon:
        cmp = (t.mon > tm.mon) - (t.mon < tm.mon)
        t.mday = 1
    elif t.mday != tm.mday:
        cmp = (t.mday > tm.mday) - (t.mday < tm.mday)
        t.hour = 0
    elif t.hour != tm.hour:
        cmp = (t.hour > tm.hour) - (t.hour < tm.hour)
        t.min = 0
    elif t.min != tm.min:
        cmp = (t.min > tm.min) - (t.min < tm.min)
        t.sec = 0
    else:
        cmp = (t.sec > tm.sec) - (t.sec < tm.sec)
    if cmp < 0:
        return -errno.EDEADLK  # refuse to go backward
    if cmp > 0:
        tm.set_from(t)
    return 1 if cmp == 0 else 0


def _matches_weekday(zone: LocalZone, bits: int, tm: Tm, utc: bool) -> bool:
    """# systemd: matches_weekday()"""
    if bits < 0 or bits >= BITS_WEEKDAYS:
        return True
    t = tm.copy()
    r = _mktime(zone, t, utc)
    if r is None or r < 0:
        return False
    k = 6 if t.wday == 0 else t.wday - 1
    return bool(bits & (1 << k))


def _find_next(spec: CalendarSpec, zone: LocalZone, tm: Tm, usec: int,
               second_pass: bool = False) -> tuple[Tm, int] | None:
    """Walk the fields from year down to seconds. None = never. # systemd: find_next()"""
    c = tm.copy()
    tm_usec = usec
    utc = spec.utc

    def reset_below_day() -> None:
        c.hour = c.min = c.sec = 0

    for _ in range(MAX_CALENDAR_ITERATIONS):
        before = c.copy()
        _mktime(zone, c, utc)
        if second_pass:
            if not utc and wall_seconds(c) < wall_seconds(before):
                # stuck: normalising fell back into the offset before a gap; switch to
                # the tm_isdst mktime reported, which makes glibc resolve the gap forwards
                isdst = c.isdst
                c = before
                c.isdst = isdst
                _mktime(zone, c, utc)
            # and keep mktime's tm_isdst instead of resetting it (systemd's dst = -2)
        else:
            c.isdst = spec.dst

        r, v = _find_matching_component(spec, zone, spec.year, False, c, c.year + 1900)
        c.year = v - 1900
        if r > 0:
            c.mon, c.mday = 0, 1
            reset_below_day()
            tm_usec = 0
        if r < 0:
            return None
        if _tm_within_bounds(zone, c, utc) <= 0:
            return None

        r, v = _find_matching_component(spec, zone, spec.month, False, c, c.mon + 1)
        c.mon = v - 1
        if r > 0:
            c.mday = 1
            reset_below_day()
            tm_usec = 0
        if r >= 0:
            r = _tm_within_bounds(zone, c, utc)
        if r < 0:
            c.year += 1
            c.mon, c.mday = 0, 1
            reset_below_day()
            tm_usec = 0
            continue
        if r == 0:
            continue

        r, c.mday = _find_matching_component(spec, zone, spec.day, True, c, c.mday)
        if r > 0:
            reset_below_day()
            tm_usec = 0
        if r >= 0:
            r = _tm_within_bounds(zone, c, utc)
        if r < 0:
            c.mon += 1
            c.mday = 1
            reset_below_day()
            tm_usec = 0
            continue
        if r == 0:
            continue

        if not _matches_weekday(zone, spec.weekdays_bits, c, utc):
            c.mday += 1
            reset_below_day()
            tm_usec = 0
            continue

        r, c.hour = _find_matching_component(spec, zone, spec.hour, False, c, c.hour)
        if r > 0:
            c.min = c.sec = 0
            tm_usec = 0
        if r >= 0:
            r = _tm_within_bounds(zone, c, utc)
        if r < 0:
            c.mday += 1
            reset_below_day()
            tm_usec = 0
            continue
        if r == 0:
            continue  # the hour may not exist (DST); retry from the normalised time

        r, c.min = _find_matching_component(spec, zone, spec.minute, False, c, c.min)
        if r > 0:
            c.sec = 0
            tm_usec = 0
        if r >= 0:
            r = _tm_within_bounds(zone, c, utc)
        if r < 0:
            c.hour += 1
            c.min = c.sec = 0
            tm_usec = 0
            continue
        if r == 0:
            continue

        r, v = _find_matching_component(spec, zone, spec.microsecond, False, c,
                                        c.sec * USEC_PER_SEC + tm_usec)
        c.sec, tm_usec = divmod(v, USEC_PER_SEC)
        if r >= 0:
            r = _tm_within_bounds(zone, c, utc)
        if r < 0:
            c.min += 1
            c.sec = 0
            tm_usec = 0
            continue
        if r == 0:
            continue

        return c, tm_usec
    raise CalendarElapseError(errno.EDEADLK)
