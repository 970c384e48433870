"""`sysvisor calendar EXPR...`: what `systemd-analyze calendar` (v252) prints, byte for byte.

Prints per expression "Original form" (if it differs), "Normalized form", "Next elapse",
"(in UTC)" (unless the local zone is UTC), "From now" and "Iter. #N" lines, right-aligned
labels; parse errors go to stderr with systemd's wording and hints, the exit code is 1 if
any expression failed. The local zone comes from $TZ (a zone name, ":name", a POSIX rule
like "CET-1CEST,M3.5.0,M10.5.0/3", or empty) or /etc/localtime, as glibc reads it. "From
now" is the only line that reads the real clock. Output
is what systemd prints to a pipe: no colours, no ellipsizing to the terminal width.
# spec: timers.md §3.2; systemd: src/analyze/analyze-calendar.c (v252)
"""

from __future__ import annotations

from sysvisor.timefmt import format_timestamp_relative  # the one implementation

import datetime as _dt
import errno
import os
import re
import sys
import time
import zoneinfo

from sysvisor.core.calendar import (
    CalendarElapseError, CalendarSyntaxError, USEC_PER_SEC, parse_calendar, timezone_is_valid)
from sysvisor.core.calendar_zone import LocalZone, gmtime, posix_tz, timegm

USEC_PER_MSEC = 1000
USEC_PER_MINUTE = 60 * USEC_PER_SEC
USEC_PER_HOUR = 60 * USEC_PER_MINUTE
USEC_PER_DAY = 24 * USEC_PER_HOUR
USEC_PER_WEEK = 7 * USEC_PER_DAY
USEC_PER_MONTH = 2629800 * USEC_PER_SEC
USEC_PER_YEAR = 31557600 * USEC_PER_SEC
_WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


# --- environment ---------------------------------------------------------------------

def local_zone(environ=None) -> _dt.tzinfo | None:
    """The zone glibc's localtime() uses: $TZ (":" prefix allowed), else /etc/localtime."""
    env = os.environ if environ is None else environ
    tz = env.get("TZ")
    if tz is not None:
        name = tz[1:] if tz.startswith(":") else tz
        if name in ("", "UTC", "UTC0", "Etc/UTC"):
            return None
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
        rule = posix_tz(name)
        if rule is not None:
            return rule
        # glibc keeps the leading letters as the zone's name, at offset 0
        m = re.match(r"[A-Za-z]{3,}", name)
        return posix_tz(m.group(0) + "0") if m else None
    try:
        with open("/etc/localtime", "rb") as f:
            return zoneinfo.ZoneInfo.from_file(f, key="localtime")
    except OSError:
        return None


# --- time spans and timestamps (for --base-time and the parse hints) --------------------

_SPAN_UNITS = (
    ("seconds", USEC_PER_SEC), ("second", USEC_PER_SEC), ("sec", USEC_PER_SEC), ("s", USEC_PER_SEC),
    ("minutes", USEC_PER_MINUTE), ("minute", USEC_PER_MINUTE), ("min", USEC_PER_MINUTE),
    ("months", USEC_PER_MONTH), ("month", USEC_PER_MONTH), ("M", USEC_PER_MONTH),
    ("msec", USEC_PER_MSEC), ("ms", USEC_PER_MSEC), ("m", USEC_PER_MINUTE),
    ("hours", USEC_PER_HOUR), ("hour", USEC_PER_HOUR), ("hr", USEC_PER_HOUR), ("h", USEC_PER_HOUR),
    ("days", USEC_PER_DAY), ("day", USEC_PER_DAY), ("d", USEC_PER_DAY),
    ("weeks", USEC_PER_WEEK), ("week", USEC_PER_WEEK), ("w", USEC_PER_WEEK),
    ("years", USEC_PER_YEAR), ("year", USEC_PER_YEAR), ("y", USEC_PER_YEAR),
    ("usec", 1), ("us", 1), ("μs", 1), ("µs", 1),
)
_WS = " \t\n\r"


def parse_timespan(text: str, default_unit: int = USEC_PER_SEC) -> int | None:
    """systemd parse_time(): "1h 30min", "5", ".5", "infinity"; None if invalid."""
    s = text.strip(_WS)
    if s == "infinity":
        return (1 << 64) - 1
    i, total, something = 0, 0, False
    number = re.compile(r"\+?([0-9]*)(?:\.([0-9]+))?")
    while True:
        while i < len(s) and s[i] in _WS:
            i += 1
        if i >= len(s):
            return total if something else None
        if s[i] == "-":
            return None
        m = number.match(s, i)
        whole, frac = m.group(1), m.group(2)
        if not whole and frac is None:
            return None
        if m.end() < len(s) and s[m.end()] == ".":
            return None  # "3." / "3.sec": a digit must follow the dot
        j = m.end()
        k = j
        while k < len(s) and s[k] in _WS:
            k += 1
        mult, end = default_unit, k
        for suffix, usec in _SPAN_UNITS:
            if s.startswith(suffix, k):
                mult, end = usec, k + len(suffix)
                break
        if end == j and end < len(s):
            return None  # "12.34.56"
        total += int(whole or "0") * mult
        if frac:
            total += int(frac) * mult // 10 ** len(frac)
        something = True
        i = end


_DATE_TIME = re.compile(
    r"(?:(?P<y>\d{2}|\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2}))?"
    r"(?:(?:^| )(?P<h>\d{1,2}):(?P<mi>\d{1,2})(?::(?P<s>\d{1,2})(?:\.(?P<f>\d+))?)?)?")


def parse_timestamp(text: str, now_usec: int, zone: _dt.tzinfo | None) -> int | None:
    """A subset of systemd parse_timestamp() (v252): now/today/yesterday/tomorrow, @SECONDS,
    +SPAN/-SPAN/SPAN ago/SPAN left, [WEEKDAY] [YYYY-MM-DD] [HH:MM[:SS[.frac]]] with an
    optional " UTC", local abbreviation or zone name. None if not understood."""
    t = text
    utc, dst = False, -1
    if t.endswith(" UTC"):
        utc, t = True, t[:-4]
    else:
        names = LocalZone(zone).tzname()
        for j in (0, 1):
            if names[j] and t.endswith(" " + names[j]):
                dst, t = j, t[: -len(names[j]) - 1]
                break
        else:
            sp = t.rfind(" ")
            if sp >= 0 and timezone_is_valid(t[sp + 1:]):
                name = t[sp + 1:]
                zone = None if name == "UTC" else zoneinfo.ZoneInfo(name)
                t = t[:sp]
    lz = LocalZone(zone)
    suffixed = t != text
    if suffixed and (t == "now" or t.startswith(("@", "+", "-")) or t.endswith((" ago", " left"))):
        return None  # v252: relative forms take no zone
    if t == "now":
        return now_usec
    if t.startswith("@"):
        m = re.fullmatch(r"@(\d+)(?:\.(\d{1,6}))?", t)
        if not m:
            return None
        return int(m.group(1)) * USEC_PER_SEC + int((m.group(2) or "0").ljust(6, "0"))
    if t.startswith(("+", "-")):
        span = parse_timespan(t[1:])
        if span is None:
            return None
        return now_usec + span if t[0] == "+" else max(now_usec - span, 0)
    for suffix, sign in ((" ago", -1), (" left", 1)):
        if t.endswith(suffix):
            span = parse_timespan(t[: -len(suffix)])
            if span is None:
                return None
            return max(now_usec + sign * span, 0)
    now_s = now_usec // USEC_PER_SEC
    base = gmtime(now_s) if utc else lz.localtime(now_s)
    tm = base.copy()
    tm.isdst = dst
    weekday = -1
    if t in ("today", "yesterday", "tomorrow"):
        tm.hour = tm.min = tm.sec = 0
        tm.mday += {"today": 0, "yesterday": -1, "tomorrow": 1}[t]
        frac = 0
    else:
        for i, name in enumerate(_WEEKDAYS):
            full = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                    "Saturday")[i]
            for n in (full, name):
                if t.lower().startswith(n.lower() + " "):
                    weekday, t = i, t[len(n) + 1:]
                    break
            if weekday >= 0:
                break
        m = _DATE_TIME.fullmatch(t)
        if not t or m is None or (m.group("y") is None and m.group("h") is None):
            return None
        if m.group("y") is not None:
            year = int(m.group("y"))
            if len(m.group("y")) == 2:
                year += 2000 if year < 69 else 1900
            tm.year, tm.mon, tm.mday = year - 1900, int(m.group("mo")) - 1, int(m.group("d"))
            tm.hour = tm.min = tm.sec = 0
        if m.group("h") is not None:
            tm.hour, tm.min = int(m.group("h")), int(m.group("mi"))
            tm.sec = int(m.group("s") or 0)
        if not (0 <= tm.mon <= 11 and 1 <= tm.mday <= 31 and tm.hour <= 23 and tm.min <= 59
                and tm.sec <= 61):  # strptime's %S takes 0..61
            return None
        frac = int((m.group("f") or "0")[:6].ljust(6, "0"))
    secs = timegm(tm) if utc else lz.mktime(tm)
    if secs is None or secs < 0:
        return None
    if weekday >= 0 and tm.wday != weekday:
        return None
    return secs * USEC_PER_SEC + frac


# --- formatting ----------------------------------------------------------------------

def format_timestamp(usec: int, zone: LocalZone, utc: bool = False) -> str:
    """systemd format_timestamp(): "Thu 2025-06-05 04:00:00 CEST"."""
    t = usec // USEC_PER_SEC
    tm = gmtime(t) if utc else zone.localtime(t)
    s = (f"{_WEEKDAYS[tm.wday]} {tm.year + 1900:04d}-{tm.mon + 1:02d}-{tm.mday:02d} "
         f"{tm.hour:02d}:{tm.min:02d}:{tm.sec:02d}")
    if utc:
        return s + " UTC"
    return s + (" " + tm.zone if tm.zone else "")


def render_one(expr: str, base_usec: int, iterations: int, zone: _dt.tzinfo | None,
               now_usec: int) -> tuple[list[str], list[str], bool]:
    """(stdout lines, stderr lines, ok) for one expression. # systemd: test_calendar_one()"""
    lz = LocalZone(zone)
    try:
        spec = parse_calendar(expr, zone)
    except CalendarSyntaxError as e:
        err = [str(e)]
        if parse_timestamp(expr, now_usec, zone) is not None:
            err.append(f"Hint: this expression is a valid timestamp. Use 'systemd-analyze "
                       f"timestamp \"{expr}\"' instead?")
        if parse_timespan(expr) is not None:
            err.append(f"Hint: this expression is a valid timespan. Use 'systemd-analyze "
                       f"timespan \"{expr}\"' instead?")
        return [], err, False
    normalized = spec.normalized()
    rows: list[tuple[str, str]] = []
    if normalized != expr:
        rows.append(("Original form", expr))
    rows.append(("Normalized form", normalized))
    n = base_usec
    for i in range(iterations):
        try:
            nxt = spec.next_elapse(n, zone)
        except CalendarElapseError as e:
            err = [f"Failed to determine next elapse for '{expr}': {e.strerror}"]
            if e.errno == errno.EDEADLK:  # systemd logs this from find_next() first
                err.insert(0, f"Infinite loop in calendar calculation: {normalized}")
            return [], err, False
        if nxt is None:
            if i == 0:
                rows.append(("Next elapse", "never"))
            break
        rows.append(("Next elapse" if i == 0 else f"Iter. #{i + 1}", format_timestamp(nxt, lz)))
        if not lz.is_utc():
            rows.append(("(in UTC)", format_timestamp(nxt, lz, utc=True)))
        rows.append(("From now", format_timestamp_relative(nxt, now_usec)))
        n = nxt
    width = max(len(k) for k, _ in rows) + 1
    return [f"{k + ':':>{width}} {v}".rstrip() for k, v in rows], [], True


def main(argv: list[str], environ=None, now_usec: int | None = None,
         out=None, err=None) -> int:
    """`systemd-analyze calendar [--iterations N] [--base-time TIME] EXPR...`.

    `argv` are the arguments after the verb. Returns the exit code.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    now = time.time_ns() // 1000 if now_usec is None else now_usec
    zone = local_zone(environ)
    iterations, base, exprs = 1, None, []
    args = list(argv)
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            exprs.extend(args[i + 1:])
            break
        name, eq, val = a.partition("=")
        if name in ("--iterations", "--base-time") and a.startswith("--"):
            if not eq:
                if i + 1 >= len(args):
                    print(f"systemd-analyze: option '{name}' requires an argument", file=err)
                    return 1
                i += 1
                val = args[i]
            if name == "--iterations":
                if not re.fullmatch(r"\s*\+?[0-9]+", val) or int(val) > 2**32 - 1:
                    print(f"Failed to parse iterations: {val}", file=err)
                    return 1
                iterations = int(val)
            else:
                base = parse_timestamp(val, now, zone)
                if base is None:
                    print(f"Failed to parse --base-time= parameter: {val}", file=err)
                    return 1
        elif a.startswith("--") and len(a) > 2:
            print(f"systemd-analyze: unrecognized option '{a}'", file=err)
            return 1
        elif a.startswith("-") and len(a) > 1:  # getopt: a short option we do not know
            print(f"systemd-analyze: invalid option -- '{a[1]}'", file=err)
            return 1
        else:
            exprs.append(a)
        i += 1
    if not exprs:
        print("Too few arguments.", file=err)
        return 1
    base_usec = now if base is None else base
    rc = 0
    for k, expr in enumerate(exprs):
        lines, errs, ok = render_one(expr, base_usec, iterations, zone, now)
        for line in errs:
            print(line, file=err)
        for line in lines:
            print(line, file=out)
        if not ok:
            rc = 1
        if k + 1 < len(exprs):
            print(file=out)
    out.flush()
    return rc


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
