"""systemd.time(7) timestamps and time spans, as `journalctl --since/--until` accepts them.

`parse_timestamp(text, now_usec)` → realtime µs. Accepted forms (systemd: parse_timestamp()):
`now`, `today`, `yesterday`, `tomorrow`, `epoch`, `@EPOCH[.frac]`, `+SPAN`, `-SPAN`,
`SPAN ago`, `SPAN left`, `[WEEKDAY] YYYY-MM-DD [HH:MM[:SS[.frac]]]` (also `YY-MM-DD` and a
`T` between date and time), `HH:MM[:SS[.frac]]` (today), each optionally followed by ` UTC`
or ` Z`. Local time is used otherwise.

spec: systemctl-and-journal.md §6 (-S/--since, -U/--until)
"""

from __future__ import annotations

import calendar
import re
import time

USEC_PER_SEC = 1_000_000

# systemd: parse_sec() unit table (case-sensitive; "M" is a month, "m" a minute)
_SPAN_UNITS: dict[str, int] = {}
for _names, _usec in (
    (("usec", "us", "µs", "μs"), 1),
    (("msec", "ms"), 1_000),
    (("seconds", "second", "sec", "s"), USEC_PER_SEC),
    (("minutes", "minute", "min", "m"), 60 * USEC_PER_SEC),
    (("hours", "hour", "hr", "h"), 3600 * USEC_PER_SEC),
    (("days", "day", "d"), 86400 * USEC_PER_SEC),
    (("weeks", "week", "w"), 7 * 86400 * USEC_PER_SEC),
    (("months", "month", "M"), 2629800 * USEC_PER_SEC),
    (("years", "year", "y"), 31557600 * USEC_PER_SEC),
):
    for _n in _names:
        _SPAN_UNITS[_n] = _usec

_SPAN_PART = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Zµμ]*)")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday", "wednesday",
             "thursday", "friday", "saturday", "sunday")  # fmt: skip
_DATE_TIME = re.compile(
    r"^(?:(?P<y>\d{2}|\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2}))?"
    r"(?:(?:^|[ T])(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?P<f>\.\d+)?)?)?$"
)


class TimeParseError(ValueError):
    pass


def parse_timespan(text: str, default_unit: int = USEC_PER_SEC) -> int:
    """`1h 30min`, `5s`, `100ms`, `2 hours` → µs; a bare number is seconds.
    # systemd: parse_time()"""
    s = text.strip()
    if not s:
        raise TimeParseError(text)
    pos = 0
    total = 0
    while pos < len(s):
        m = _SPAN_PART.match(s, pos)
        if not m or m.end() == pos:
            raise TimeParseError(text)
        number, unit = m.group(1), m.group(2)
        if unit:
            if unit not in _SPAN_UNITS:
                raise TimeParseError(text)
            factor = _SPAN_UNITS[unit]
        else:
            factor = default_unit
        total += int(float(number) * factor) if "." in number else int(number) * factor
        pos = m.end()
        while pos < len(s) and s[pos] == " ":
            pos += 1
    return total


def _midnight(now_usec: int, days: int, utc: bool) -> int:
    t = now_usec // USEC_PER_SEC
    tm = time.gmtime(t) if utc else time.localtime(t)
    fields = (tm.tm_year, tm.tm_mon, tm.tm_mday + days, 0, 0, 0, 0, 0, -1)
    secs = calendar.timegm(fields) if utc else time.mktime(fields)  # type: ignore[arg-type]
    return int(secs) * USEC_PER_SEC


def parse_timestamp(text: str, now_usec: int) -> int:
    """A systemd.time(7) timestamp → realtime µs. Raises TimeParseError.
    # systemd: parse_timestamp()"""
    s = text.strip()
    utc = False
    for suffix in (" UTC", " utc", " Z", "Z"):
        if s.endswith(suffix) and len(s) > len(suffix):
            s = s[: -len(suffix)].rstrip()
            utc = True
            break
    lower = s.lower()
    if lower == "now":
        return now_usec
    if lower == "epoch":
        return 0
    if lower in ("today", "yesterday", "tomorrow"):
        return _midnight(now_usec, {"today": 0, "yesterday": -1, "tomorrow": 1}[lower], utc)
    if s.startswith("@"):
        try:
            return int(float(s[1:]) * USEC_PER_SEC) if "." in s else int(s[1:]) * USEC_PER_SEC
        except ValueError:
            raise TimeParseError(text) from None
    if s.startswith("+"):
        return now_usec + parse_timespan(s[1:])
    if s.startswith("-"):
        return now_usec - parse_timespan(s[1:])
    if s.endswith(" ago"):
        return now_usec - parse_timespan(s[:-4])
    if s.endswith(" left"):
        return now_usec + parse_timespan(s[:-5])
    parts = s.split(None, 1)
    if parts and parts[0].lower() in _WEEKDAYS:
        s = parts[1] if len(parts) > 1 else ""
    m = _DATE_TIME.match(s)
    if not s or not m or (m.group("y") is None and m.group("h") is None):
        raise TimeParseError(text)
    t = now_usec // USEC_PER_SEC
    tm = time.gmtime(t) if utc else time.localtime(t)
    if m.group("y") is not None:
        year = int(m.group("y"))
        if len(m.group("y")) == 2:
            year += 1900 if year >= 70 else 2000
        month, day = int(m.group("mo")), int(m.group("d"))
    else:
        year, month, day = tm.tm_year, tm.tm_mon, tm.tm_mday
    hour = int(m.group("h") or 0)
    minute = int(m.group("mi") or 0)
    second = int(m.group("s") or 0)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise TimeParseError(text)
    fields = (year, month, day, hour, minute, second, 0, 0, -1)
    secs = calendar.timegm(fields) if utc else time.mktime(fields)  # type: ignore[arg-type]
    frac = m.group("f")
    usec = int((frac[1:] + "000000")[:6]) if frac else 0
    return int(secs) * USEC_PER_SEC + usec
