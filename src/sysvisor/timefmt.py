"""Time spans and timestamps as systemd prints them.

Ported rule by rule from systemd's src/basic/time-util.c (`format_timespan()`,
`format_timestamp_style()`, `format_timestamp_relative_full()`), so `systemctl status` and
`systemctl show` text diffs cleanly against real systemd. Stdlib only: the CLI imports this
on every start.
# spec: systemctl-and-journal.md §3, §4; unit-files.md (time spans)
"""

from __future__ import annotations

from sysvisor.core.timespan import format_timespan  # noqa: F401 - the one implementation; re-exported for the CLI

import time

USEC_INFINITY = (1 << 64) - 1
USEC_PER_MSEC = 1_000
USEC_PER_SEC = 1_000_000
USEC_PER_MINUTE = 60 * USEC_PER_SEC
USEC_PER_HOUR = 60 * USEC_PER_MINUTE
USEC_PER_DAY = 24 * USEC_PER_HOUR
USEC_PER_WEEK = 7 * USEC_PER_DAY
USEC_PER_MONTH = 2_629_800 * USEC_PER_SEC  # 30.44 days
USEC_PER_YEAR = 31_557_600 * USEC_PER_SEC  # 365.25 days
# systemd: USEC_TIMESTAMP_FORMATTABLE_MAX (year 9999 on 64-bit time_t)
USEC_TIMESTAMP_FORMATTABLE_MAX = 253_402_214_399_000_000

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # struct_time.tm_wday order

# --timestamp= styles (systemd: TimestampStyle)
TIMESTAMP_STYLES = ("pretty", "us", "utc", "us+utc", "unix", "date")


def timestamp_is_set(usec: int | None) -> bool:
    """systemd: timestamp_is_set() — neither 0 nor infinity."""
    return usec is not None and 0 < usec < USEC_INFINITY


def format_timestamp(realtime_usec: int | None, utc: bool = False, style: str | None = None) -> str:
    """`Thu 2026-11-26 07:00:01 UTC`: systemd's format_timestamp_style(), local time zone.

    Returns "" for an unset timestamp (0 or infinity), as `systemctl show` prints it.
    `style` is a `--timestamp=` value (pretty, us, utc, us+utc, unix, date); `utc=True` is
    style `utc`.
    # systemd: format_timestamp_style()
    """
    if not timestamp_is_set(realtime_usec):
        return ""
    assert realtime_usec is not None
    if style is None:
        style = "utc" if utc else "pretty"
    if style not in TIMESTAMP_STYLES:
        raise ValueError(f"unknown timestamp style {style!r}")
    if style == "unix":
        return f"@{realtime_usec // USEC_PER_SEC}"
    as_utc = style in ("utc", "us+utc", "date")
    with_us = style in ("us", "us+utc")
    if realtime_usec > USEC_TIMESTAMP_FORMATTABLE_MAX:
        return {
            "pretty": "--- XXXX-XX-XX XX:XX:XX",
            "us": "--- XXXX-XX-XX XX:XX:XX.XXXXXX",
            "utc": "--- XXXX-XX-XX XX:XX:XX UTC",
            "us+utc": "--- XXXX-XX-XX XX:XX:XX.XXXXXX UTC",
            "date": "--- XXXX-XX-XX",
        }[style]
    secs = realtime_usec // USEC_PER_SEC
    tm = time.gmtime(secs) if as_utc else time.localtime(secs)
    out = _WEEKDAYS[tm.tm_wday] + time.strftime(" %Y-%m-%d", tm)
    if style == "date":
        return out
    out += time.strftime(" %H:%M:%S", tm)
    if with_us:
        out += f".{realtime_usec % USEC_PER_SEC:06d}"
    if as_utc:
        out += " UTC"
    elif tm.tm_zone:
        out += " " + tm.tm_zone
    return out


def format_timestamp_relative(realtime_usec: int | None, now_usec: int, implicit_left: bool = False) -> str:
    """`2min 3s ago` / `14h left` / `now`: systemd's format_timestamp_relative_full().

    Both arguments are on the same clock (µs). Returns "" for an unset timestamp.
    # systemd: format_timestamp_relative_full()
    """
    if not timestamp_is_set(realtime_usec):
        return ""
    assert realtime_usec is not None
    if now_usec > realtime_usec:
        d = now_usec - realtime_usec
        s = " ago"
    else:
        d = realtime_usec - now_usec
        s = "" if implicit_left else " left"

    def plural(n: int, one: str, many: str) -> str:
        return one if n == 1 else many

    if d >= USEC_PER_YEAR:
        years, months = d // USEC_PER_YEAR, (d % USEC_PER_YEAR) // USEC_PER_MONTH
        return f"{years} {plural(years, 'year', 'years')} {months} {plural(months, 'month', 'months')}{s}"
    if d >= USEC_PER_MONTH:
        months, days = d // USEC_PER_MONTH, (d % USEC_PER_MONTH) // USEC_PER_DAY
        return f"{months} {plural(months, 'month', 'months')} {days} {plural(days, 'day', 'days')}{s}"
    if d >= USEC_PER_WEEK:
        weeks, days = d // USEC_PER_WEEK, (d % USEC_PER_WEEK) // USEC_PER_DAY
        return f"{weeks} {plural(weeks, 'week', 'weeks')} {days} {plural(days, 'day', 'days')}{s}"
    if d >= 2 * USEC_PER_DAY:
        return f"{d // USEC_PER_DAY} days{s}"
    if d >= 25 * USEC_PER_HOUR:
        return f"1 day {(d - USEC_PER_DAY) // USEC_PER_HOUR}h{s}"
    if d >= 6 * USEC_PER_HOUR:
        return f"{d // USEC_PER_HOUR}h{s}"
    if d >= USEC_PER_HOUR:
        return f"{d // USEC_PER_HOUR}h {(d % USEC_PER_HOUR) // USEC_PER_MINUTE}min{s}"
    if d >= 5 * USEC_PER_MINUTE:
        return f"{d // USEC_PER_MINUTE}min{s}"
    if d >= USEC_PER_MINUTE:
        return f"{d // USEC_PER_MINUTE}min {(d % USEC_PER_MINUTE) // USEC_PER_SEC}s{s}"
    if d >= USEC_PER_SEC:
        return f"{d // USEC_PER_SEC}s{s}"
    if d >= USEC_PER_MSEC:
        return f"{d // USEC_PER_MSEC}ms{s}"
    if d > 0:
        return f"{d}us{s}"
    return "now"
