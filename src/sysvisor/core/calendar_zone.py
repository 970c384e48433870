"""glibc's broken-down time (struct tm, localtime_r, mktime, timegm) for one time zone.

systemd computes calendar elapses by editing a `struct tm` and letting glibc's `mktime()`
normalise it. Its answers in DST gaps and folds are glibc's, not Python's: a local time in a
spring-forward gap oscillates between two probes and glibc picks one of them; an ambiguous
local time resolves to whichever instance matches the offset of the *previous* mktime call
(mktime remembers it in a static variable). `LocalZone` reproduces that algorithm,
including the remembered offset, on top of `zoneinfo` (the same TZif files glibc reads).

Pure: no clock, no environment; the zone comes in as a tzinfo.
# spec: timers.md §3 (DST note); glibc time/mktime.c __mktime_internal() (2.36)
"""

from __future__ import annotations

import datetime as _dt
import functools
import io
import re
import struct
import zoneinfo
from dataclasses import dataclass

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_MON_YDAY = (
    (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365),
    (0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366),
)
# glibc mktime.c: distance between probes when looking for a DST boundary, and the search bound
_DST_STRIDE = 601200
_DST_DURATION_MAX = 457243209


def is_leap(year: int) -> bool:
    """Gregorian leap year (full year number)."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any integers, no range limit)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count since 1970-01-01 (H. Hinnant's algorithm)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return y + (m <= 2), m, d


@dataclass(slots=True)
class Tm:
    """struct tm with C's conventions: year since 1900, month 0..11, wday 0 = Sunday."""

    year: int = 70
    mon: int = 0
    mday: int = 1
    hour: int = 0
    min: int = 0
    sec: int = 0
    isdst: int = -1
    wday: int = 4
    yday: int = 0
    gmtoff: int = 0
    zone: str = "UTC"

    def copy(self) -> "Tm":
        return Tm(self.year, self.mon, self.mday, self.hour, self.min, self.sec,
                  self.isdst, self.wday, self.yday, self.gmtoff, self.zone)

    def set_from(self, other: "Tm") -> None:
        (self.year, self.mon, self.mday, self.hour, self.min, self.sec, self.isdst, self.wday,
         self.yday, self.gmtoff, self.zone) = (
            other.year, other.mon, other.mday, other.hour, other.min, other.sec, other.isdst,
            other.wday, other.yday, other.gmtoff, other.zone)


def _local_seconds(year: int, yday: int, hour: int, minute: int, sec: int) -> int:
    """ydhms_diff() against the epoch: the broken-down time read as if it were UTC.

    `year` is a full year, `yday` 0-based and may be out of range."""
    return (days_from_civil(year, 1, 1) + yday) * 86400 + hour * 3600 + minute * 60 + sec


def _tm_local_seconds(tm: Tm) -> int:
    return _local_seconds(tm.year + 1900, tm.yday, tm.hour, tm.min, tm.sec)


def wall_seconds(tm: Tm) -> int:
    """The (possibly out-of-range) broken-down fields as seconds, read as if UTC."""
    year = tm.year + 1900 + tm.mon // 12
    yday = _MON_YDAY[is_leap(year)][tm.mon % 12] - 1 + tm.mday
    return _local_seconds(year, yday, tm.hour, tm.min, tm.sec)


def _fill(tm: Tm, t: int, gmtoff: int, isdst: int, zone: str) -> None:
    days, rem = divmod(t + gmtoff, 86400)
    y, m, d = civil_from_days(days)
    tm.year, tm.mon, tm.mday = y - 1900, m - 1, d
    tm.hour, rem = divmod(rem, 3600)
    tm.min, tm.sec = divmod(rem, 60)
    tm.wday = (days + 4) % 7
    tm.yday = _MON_YDAY[is_leap(y)][m - 1] + d - 1
    tm.isdst, tm.gmtoff, tm.zone = isdst, gmtoff, zone


def gmtime(t: int) -> Tm:
    """gmtime_r()."""
    tm = Tm()
    _fill(tm, t, 0, 0, "GMT")
    return tm


def timegm(tm: Tm) -> int:
    """timegm(): normalise `tm` in place as UTC and return the seconds since the epoch."""
    year, mon = tm.year + 1900 + tm.mon // 12, tm.mon % 12
    sec = min(max(tm.sec, 0), 59)
    t = _local_seconds(year, _MON_YDAY[is_leap(year)][mon] - 1 + tm.mday, tm.hour, tm.min, sec)
    t += tm.sec - sec
    _fill(tm, t, 0, 0, "GMT")
    return t


@functools.lru_cache(maxsize=1 << 16)
def _zone_state(zone: _dt.tzinfo, t: int) -> tuple[int, int, str]:
    """(UTC offset in seconds, tm_isdst, abbreviation) of `zone` at `t`."""
    local = (_EPOCH + _dt.timedelta(seconds=t)).astimezone(zone)
    off = local.utcoffset()
    return (int(off.total_seconds()) if off is not None else 0,
            1 if local.dst() else 0, local.tzname() or "")


_POSIX_TZ = re.compile(r"(?:[A-Za-z]{3,}|<[^>]+>)[+-]?\d{1,2}(?::\d{1,2}){0,2}"
                       r"((?:[A-Za-z]{3,}|<[^>]+>)(?:[+-]?\d{1,2}(?::\d{1,2}){0,2})?(,.*)?)?")


def posix_tz(rule: str) -> _dt.tzinfo | None:
    """A tzinfo for a POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"), as glibc reads $TZ
    when it names no zone file; None if it is not one. A DST part without dates gets
    glibc's default US rules (its posixrules). Built as an in-memory TZif file whose
    footer is the rule, so zoneinfo evaluates it. # glibc: time/tzset.c __tzset_parse_tz()
    """
    m = _POSIX_TZ.fullmatch(rule)
    if m is None:
        return None
    if m.group(1) and not m.group(2):
        rule += ",M3.2.0,M11.1.0"
    header = b"TZif2" + b"\0" * 15 + struct.pack(">6l", 0, 0, 0, 0, 1, 4)
    block = header + struct.pack(">lBB", 0, 0, 0) + b"UTC\0"
    data = block + block + b"\n" + rule.encode("ascii", "replace") + b"\n"
    try:
        return zoneinfo.ZoneInfo.from_file(io.BytesIO(data), key=rule)
    except ValueError:
        return None


class LocalZone:
    """localtime_r()/mktime() of one zone, with mktime's remembered offset guess.

    `zone` None means UTC (glibc's fallback when no zone is configured).
    # glibc: time/mktime.c (static localtime_offset), time/tzfile.c
    """

    def __init__(self, zone: _dt.tzinfo | None = None) -> None:
        self.zone = zone
        self.offset = 0  # glibc's localtime_offset: t - local seconds of the last mktime()

    def localtime(self, t: int) -> Tm:
        """localtime_r()."""
        tm = Tm()
        if self.zone is None:
            _fill(tm, t, 0, 0, "UTC")
            return tm
        gmtoff, isdst, name = _zone_state(self.zone, t)
        _fill(tm, t, gmtoff, isdst, name)
        return tm

    def tzname(self) -> tuple[str, str]:
        """glibc's tzname[0], tzname[1] (standard, daylight) as set from the zone's rule.

        Taken from the far future, where glibc uses the TZif footer's POSIX rule."""
        if self.zone is None:
            return ("UTC", "UTC")
        std = dst = None
        for month in (1, 7):
            local = _dt.datetime(2199, month, 1, tzinfo=_dt.timezone.utc).astimezone(self.zone)
            if local.dst():
                dst = local.tzname()
            else:
                std = local.tzname()
        std = std or dst or ""
        return (std, dst or std)

    def is_utc(self) -> bool:
        """systemd in_utc_timezone(): `timezone == 0 && daylight == 0` after tzset()."""
        if self.zone is None:
            return True
        for month in (1, 7):
            local = _dt.datetime(2199, month, 1, tzinfo=_dt.timezone.utc).astimezone(self.zone)
            if local.utcoffset() or local.dst():
                return False
        return True

    def mktime(self, tm: Tm) -> int | None:
        """mktime(): normalise `tm` in place and return seconds since the epoch.

        Returns None (glibc: -1 with errno, `tm` untouched) when no answer is found.
        # glibc: __mktime_internal()
        """
        if self.zone is None:
            return timegm(tm)
        remaining_probes = 6
        sec, isdst = tm.sec, tm.isdst
        year = tm.year + 1900 + tm.mon // 12
        yday = _MON_YDAY[is_leap(year)][tm.mon % 12] - 1 + tm.mday
        sec_requested = sec
        sec = min(max(sec, 0), 59)
        local = _local_seconds(year, yday, tm.hour, tm.min, sec)

        t0 = local + self.offset
        t = t1 = t2 = t0
        dst2 = 0
        while True:
            probe = self.localtime(t)
            dt = local - _tm_local_seconds(probe)
            if dt == 0:
                break
            if t == t1 and t != t2 and (
                    (dst2 <= (probe.isdst != 0)) if isdst < 0
                    else ((isdst != 0) != (probe.isdst != 0))):
                # oscillating across a spring-forward gap: take this probe
                return self._found(tm, probe, t, local, sec_requested, sec)
            remaining_probes -= 1
            if remaining_probes == 0:
                return None
            t1, t2, t, dst2 = t2, t, t + dt, int(probe.isdst != 0)

        if isdst >= 0 and (isdst == 0) != (probe.isdst == 0):
            # right time, wrong tm_isdst: borrow the offset of a neighbour with the wanted one
            dst_difference = (isdst == 0) - (probe.isdst == 0)
            delta_bound = _DST_DURATION_MAX // 2 + _DST_STRIDE
            for delta in range(_DST_STRIDE, delta_bound, _DST_STRIDE):
                for direction in (-1, 1):
                    ot = t + delta * direction
                    other = self.localtime(ot)
                    if (isdst == 0) == (other.isdst == 0):
                        gt = ot + local - _tm_local_seconds(other)
                        return self._found(tm, self.localtime(gt), gt, local, sec_requested, sec)
            t += 3600 * dst_difference
            return self._found(tm, self.localtime(t), t, local, sec_requested, sec)
        return self._found(tm, probe, t, local, sec_requested, sec)

    def _found(self, tm: Tm, probe: Tm, t: int, local: int, sec_requested: int, sec: int) -> int:
        self.offset = t - local
        if sec_requested != probe.sec:
            t += sec_requested - sec + (1 if sec == 0 and probe.sec == 60 else 0)
            probe = self.localtime(t)
        tm.set_from(probe)
        return t
