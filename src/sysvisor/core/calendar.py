"""Calendar events (`OnCalendar=`): parsing, normal form and next elapse, as systemd does it.

Rules (systemd.time(7) "Calendar Events"; ground truth src/shared/calendarspec.c, v252):

* `[WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [TIMEZONE]`, each numeric part a
  list of `VALUE`, `VALUE/REPEAT`, `START..STOP[/REPEAT]` or `*`; `~` instead of the last
  `-` counts days from the end of the month; seconds take fractions (6 digits, rounded).
* Shorthands `minutely` … `semiannually`, `@EPOCH` (a one-off UTC date), a trailing `UTC`,
  one of the local zone's two abbreviations (forces tm_isdst) or an IANA zone name.
* Normalisation sorts and de-duplicates each list, widens 2-digit years, drops repeats
  that can never fire, and renders everything zero-padded.

Modules: this one parses and prints (`parse_calendar`, `CalendarSpec.normalized`);
`calendar_elapse` walks to the next elapse the way calendarspec.c find_next() does;
`calendar_zone` is the glibc mktime()/localtime_r() emulation that walk depends on. The DST
behaviour (a gap is skipped, a fold fires once, in its first instance, and the cases where
v252 gives up) falls out of those two faithfully ported pieces; see
tests/data/calendar/README.md for what was learned from the oracle.

Pure: no clock; time comes in as microseconds since the epoch, zones as tzinfo or names.
# spec: timers.md §3
"""

from __future__ import annotations

import datetime as _dt
import errno
import re
import zoneinfo
from dataclasses import dataclass, field

from sysvisor.core.calendar_elapse import (
    BITS_WEEKDAYS, MAX_YEAR, STRERROR, USEC_PER_SEC, CalendarElapseError, next_usec)
from sysvisor.core.calendar_zone import LocalZone, civil_from_days

__all__ = ["CalendarComponent", "CalendarElapseError", "CalendarSpec", "CalendarSyntaxError",
           "parse_calendar", "timezone_is_valid", "local_tzname"]

MIN_YEAR = 1970
CALENDARSPEC_COMPONENTS_MAX = 240
_INT_MAX = 2**31 - 1
_ULONG_MAX = 2**64 - 1

_WEEKDAY_NAMES = (
    ("Monday", 0), ("Mon", 0), ("Tuesday", 1), ("Tue", 1), ("Wednesday", 2), ("Wed", 2),
    ("Thursday", 3), ("Thu", 3), ("Friday", 4), ("Fri", 4), ("Saturday", 5), ("Sat", 5),
    ("Sunday", 6), ("Sun", 6),
)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class CalendarSyntaxError(ValueError):
    """A calendar expression systemd refuses. `strerror` is the errno text systemd prints.

    str() is systemd's message: `Failed to parse calendar specification '...': Invalid argument`.
    """

    def __init__(self, text: str, err: int = errno.EINVAL) -> None:
        self.text = text
        self.errno = err
        self.strerror = STRERROR[err]
        super().__init__(f"Failed to parse calendar specification '{text}': {self.strerror}")


class _ParseError(Exception):
    def __init__(self, err: int = errno.EINVAL) -> None:
        super().__init__(err)
        self.err = err


@dataclass(frozen=True, order=True)
class CalendarComponent:
    """One list item: `start`, `start..stop` (stop -1 if none), `/repeat` (0 if none).

    Seconds are kept in microseconds. With `~` (end of month) the values count from the end.
    # systemd: CalendarComponent
    """

    start: int
    stop: int = -1
    repeat: int = 0


Chain = tuple[CalendarComponent, ...]  # empty tuple = "*"


@dataclass(frozen=True)
class CalendarSpec:
    """A parsed, normalised calendar expression. # systemd: CalendarSpec"""

    weekdays_bits: int = -1
    end_of_month: bool = False
    utc: bool = False
    dst: int = -1  # 0/1: one of the local zone's abbreviations was given (forces tm_isdst)
    dst_name: str | None = None  # that abbreviation, as systemd prints it back
    timezone: str | None = None
    year: Chain = ()
    month: Chain = ()
    day: Chain = ()
    hour: Chain = ()
    minute: Chain = ()
    microsecond: Chain = field(default=())

    # --- normal form -----------------------------------------------------------------

    def normalized(self) -> str:
        """What `systemd-analyze calendar` prints as "Normalized form".

        # systemd: calendar_spec_to_string()
        """
        out = []
        if 0 < self.weekdays_bits <= BITS_WEEKDAYS:
            out.append(_format_weekdays(self.weekdays_bits) + " ")
        out.append(_format_chain(4, self.year, False))
        out.append("-")
        out.append(_format_chain(2, self.month, False))
        out.append("~" if self.end_of_month else "-")
        out.append(_format_chain(2, self.day, False))
        out.append(" ")
        out.append(_format_chain(2, self.hour, False))
        out.append(":")
        out.append(_format_chain(2, self.minute, False))
        out.append(":")
        out.append(_format_chain(2, self.microsecond, True))
        if self.utc:
            out.append(" UTC")
        elif self.timezone:
            out.append(" " + self.timezone)
        elif self.dst in (0, 1) and self.dst_name:
            out.append(" " + self.dst_name)
        return "".join(out)

    def __str__(self) -> str:
        return self.normalized()

    # --- next elapse -------------------------------------------------------------------

    def next_elapse(self, after_realtime_usec: int, tz: _dt.tzinfo | str | None = None) -> int | None:
        """The first time (µs since the epoch) strictly after `after_realtime_usec` that
        matches, or None if there is none (systemd: "never").

        `tz` is the local zone used when the expression names none (tzinfo, IANA name, or
        None for UTC). Raises CalendarElapseError where systemd fails with an errno.
        # systemd: calendar_spec_next_usec(); spec: timers.md §3.2
        """
        if self.timezone:
            zone = LocalZone(_load_zone(self.timezone))
        else:
            zone = LocalZone(_resolve_tz(tz))
        return next_usec(self, zone, after_realtime_usec)

    def elapses(self, after_realtime_usec: int, tz: _dt.tzinfo | str | None = None):
        """Iterate the elapses after `after_realtime_usec` (each strictly after the last)."""
        n = after_realtime_usec
        while True:
            nxt = self.next_elapse(n, tz)
            if nxt is None:
                return
            yield nxt
            n = nxt


# --- time zones ------------------------------------------------------------------------

_TZ_CHARS = re.compile(r"[0-9A-Za-z_+/-]+")


def _load_zone(name: str) -> _dt.tzinfo | None:
    if name == "UTC":
        return None
    return zoneinfo.ZoneInfo(name)


def _resolve_tz(tz: _dt.tzinfo | str | None) -> _dt.tzinfo | None:
    if tz is None or isinstance(tz, _dt.tzinfo):
        return tz
    return _load_zone(tz)


def timezone_is_valid(name: str) -> bool:
    """A zone name systemd accepts: sane characters and a TZif file behind it.

    # systemd: timezone_is_valid() / verify_timezone()
    """
    if not name:
        return False
    if name == "UTC":
        return True
    if name[0] == "/" or not _TZ_CHARS.fullmatch(name) or "//" in name or name.endswith("/"):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def local_tzname(tz: _dt.tzinfo | str | None) -> tuple[str, str]:
    """glibc's tzname[] pair for a local zone (standard, daylight)."""
    return LocalZone(_resolve_tz(tz)).tzname()


# --- parsing ---------------------------------------------------------------------------

def parse_calendar(text: str, tz: _dt.tzinfo | str | None = None) -> CalendarSpec:
    """Parse an `OnCalendar=` expression.

    `tz` is the local zone (its abbreviations, e.g. CET/CEST, may end an expression).
    Raises CalendarSyntaxError with systemd's message.
    # systemd: calendar_spec_from_string(); spec: timers.md §3
    """
    try:
        return _Parser(text, tz).parse()
    except _ParseError as e:
        raise CalendarSyntaxError(text, e.err) from None


def _endswith_no_case(s: str, suffix: str) -> int | None:
    if len(suffix) <= len(s) and s[len(s) - len(suffix):].lower() == suffix.lower():
        return len(s) - len(suffix)
    return None


_SHORTHANDS = {
    # name: (month, day, hour, minute, second, weekday bits)
    "minutely": (None, None, None, None, (0,), 0),
    "hourly": (None, None, None, (0,), (0,), 0),
    "daily": (None, None, (0,), (0,), (0,), 0),
    "monthly": (None, (1,), (0,), (0,), (0,), 0),
    "annually": ((1,), (1,), (0,), (0,), (0,), 0),
    "yearly": ((1,), (1,), (0,), (0,), (0,), 0),
    "anually": ((1,), (1,), (0,), (0,), (0,), 0),
    "weekly": (None, None, (0,), (0,), (0,), 1),
    "quarterly": ((1, 4, 7, 10), (1,), (0,), (0,), (0,), 0),
    "biannually": ((1, 7), (1,), (0,), (0,), (0,), 0),
    "bi-annually": ((1, 7), (1,), (0,), (0,), (0,), 0),
    "semiannually": ((1, 7), (1,), (0,), (0,), (0,), 0),
    "semi-annually": ((1, 7), (1,), (0,), (0,), (0,), 0),
}


def _const(values) -> list[CalendarComponent]:
    return [CalendarComponent(v) for v in values] if values is not None else []


class _Parser:
    """The recursive-descent parser of calendarspec.c, on a string and an index."""

    def __init__(self, text: str, tz) -> None:
        self.original = text
        self.tz = tz
        self.s = ""
        self.i = 0
        self.weekdays_bits = 0
        self.end_of_month = False
        self.utc = False
        self.dst = -1
        self.dst_name: str | None = None
        self.timezone: str | None = None
        self.chains: dict[str, list[CalendarComponent]] = {
            k: [] for k in ("year", "month", "day", "hour", "minute", "microsecond")}

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else "\0"

    def parse(self) -> CalendarSpec:
        p = self.original
        if "\0" in p:
            raise _ParseError()
        cut = _endswith_no_case(p, " UTC")
        if cut is not None:
            self.utc = True
            p = p[:cut]
        else:
            names = local_tzname(self.tz)
            found = None
            for j in (0, 1):
                name = names[j]
                if not name:
                    continue
                e = _endswith_no_case(p, name)
                if e is None or e == 0 or p[e - 1] != " ":
                    continue
                found = (j, e)
                break
            if found is not None:
                j, e = found
                p = p[:e - 1]
                self.dst = j
                self.dst_name = names[j]
            else:
                last_space = p.rfind(" ")
                if last_space >= 0 and timezone_is_valid(p[last_space + 1:]):
                    self.timezone = p[last_space + 1:]
                    p = p[:last_space]
        if not p:
            raise _ParseError()
        self.s = p
        short = _SHORTHANDS.get(p.lower())
        if short is not None:
            month, day, hour, minute, second, weekly = short
            self.chains["month"] = _const(month)
            self.chains["day"] = _const(day)
            self.chains["hour"] = _const(hour)
            self.chains["minute"] = _const(minute)
            self.chains["microsecond"] = _const(second)
            if weekly:
                self.weekdays_bits = 1
        else:
            self.parse_weekdays()
            if not self.parse_date():
                self.parse_time()
            if self.i < len(self.s):
                raise _ParseError()
        return self.finish()

    # systemd: parse_weekdays()
    def parse_weekdays(self) -> None:
        last = -1
        first = True
        while True:
            rest = self.s[self.i:]
            for name, nr in _WEEKDAY_NAMES:
                if rest[:len(name)].lower() != name.lower():
                    continue
                nxt = rest[len(name)] if len(rest) > len(name) else "\0"
                if nxt not in "\0-., ":
                    raise _ParseError()
                self.weekdays_bits |= 1 << nr
                if last >= 0:
                    if last > nr:
                        raise _ParseError()
                    for j in range(last + 1, nr):
                        self.weekdays_bits |= 1 << j
                self.i += len(name)
                break
            else:
                if first:
                    return
                raise _ParseError()
            c = self.peek()
            if c == "\0":
                return
            if c == " ":
                self.skip_spaces()
                return
            if c == ".":
                if last >= 0 or self.peek(1) != ".":
                    raise _ParseError()
                last = nr
                self.i += 2
            elif c == "-":
                if last >= 0:
                    raise _ParseError()
                last = nr
                self.i += 1
            elif c == ",":
                last = -1
                self.i += 1
            if self.peek() in "\0 ":
                self.skip_spaces()
                if last >= 0:
                    raise _ParseError()
                return
            first = False

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.i += 1

    # systemd: parse_one_number() (strtoul: leading white space and a sign are accepted)
    def parse_one_number(self, lenient: bool) -> int:
        j = self.i
        s = self.s
        if lenient:
            while j < len(s) and s[j] in " \t\n\v\f\r":
                j += 1
        neg = False
        if lenient and j < len(s) and s[j] in "+-":
            neg = s[j] == "-"
            j += 1
        k = j
        while k < len(s) and "0" <= s[k] <= "9":
            k += 1
        if k == j:
            raise _ParseError()
        value = int(s[j:k])
        if value > _ULONG_MAX:
            raise _ParseError(errno.ERANGE)
        if neg:
            value = (-value) & _ULONG_MAX
        self.i = k
        return value

    # systemd: parse_component_decimal()
    def parse_component_decimal(self, usec: bool) -> int:
        if not ("0" <= self.peek() <= "9"):
            raise _ParseError()
        value = self.parse_one_number(False)
        if usec:
            value *= USEC_PER_SEC
            if value > _ULONG_MAX:
                raise _ParseError(errno.ERANGE)
            if self.peek() == "." and self.peek(1) != ".":
                self.i += 1
                value += self.parse_fraction()
                if value > _ULONG_MAX:
                    raise _ParseError(errno.ERANGE)
        if value > _INT_MAX:
            raise _ParseError(errno.ERANGE)
        return value

    # systemd: parse_fractional_part_u(p, 6, ...): 6 digits, rounded by the 7th
    def parse_fraction(self) -> int:
        val = 0
        for n in range(6):
            c = self.peek()
            if not ("0" <= c <= "9"):
                if n == 0:
                    raise _ParseError()
                val *= 10 ** (6 - n)
                break
            val = val * 10 + int(c)
            self.i += 1
        if "5" <= self.peek() <= "9":
            val += 1
        while "0" <= self.peek() <= "9":
            self.i += 1
        return val

    # systemd: prepend_component() (iterative; nesting limit kept)
    def parse_components(self, usec: bool) -> list[CalendarComponent]:
        out: list[CalendarComponent] = []
        nesting = 0
        while True:
            if nesting > CALENDARSPEC_COMPONENTS_MAX:
                raise _ParseError(errno.ENOBUFS)
            start = self.parse_component_decimal(usec)
            stop, repeat = -1, 0
            if self.peek() == "." and self.peek(1) == ".":
                self.i += 2
                stop = self.parse_component_decimal(usec)
                repeat = USEC_PER_SEC if usec else 1
            if self.peek() == "/":
                self.i += 1
                repeat = self.parse_component_decimal(usec)
                if repeat == 0:
                    raise _ParseError(errno.ERANGE)
            else:
                if start > _INT_MAX - repeat:
                    raise _ParseError(errno.ERANGE)
                # a seconds range without repeat steps by 1s: refuse ranges shorter than that
                if usec and stop >= 0 and start + repeat > stop:
                    raise _ParseError()
            if self.peek() not in "\0 ,-~:":
                raise _ParseError()
            out.append(CalendarComponent(start, stop, repeat))
            if self.peek() != ",":
                return out
            self.i += 1
            nesting += 1

    # systemd: parse_chain()
    def parse_chain(self, usec: bool) -> list[CalendarComponent]:
        if self.peek() == "*":
            self.i += 1
            return [CalendarComponent(0, -1, USEC_PER_SEC)] if usec else []
        return self.parse_components(usec)

    # systemd: parse_date(); returns True for "@EPOCH" (no time part follows)
    def parse_date(self) -> bool:
        if self.peek() == "\0":
            return False
        if self.peek() == "@":
            self.i += 1
            value = self.parse_one_number(True)
            t = value - 2**64 if value >= 2**63 else value
            self.from_time_t(t)
            return True
        save = self.i
        first = self.parse_chain(False)
        if self.peek() in "\0:":
            self.i = save
            return False
        if self.peek() == "~":
            self.end_of_month = True
        elif self.peek() != "-":
            raise _ParseError()
        self.i += 1
        second = self.parse_chain(False)
        if self.peek() in "\0 ":
            self.skip_spaces()
            self.chains["month"], self.chains["day"] = first, second
            return False
        if self.end_of_month:
            raise _ParseError()
        if self.peek() == "~":
            self.end_of_month = True
        elif self.peek() != "-":
            raise _ParseError()
        self.i += 1
        third = self.parse_chain(False)
        if self.peek() not in "\0 ":
            raise _ParseError()
        self.skip_spaces()
        self.chains["year"], self.chains["month"], self.chains["day"] = first, second, third
        return False

    # systemd: calendarspec_from_time_t()
    def from_time_t(self, t: int) -> None:
        days, rem = divmod(t, 86400)
        y, m, d = civil_from_days(days)
        if not (-(2**31) <= y - 1900 <= _INT_MAX - 1900):
            raise _ParseError(errno.ERANGE)
        self.utc = True
        self.chains["year"] = [CalendarComponent(y)]
        self.chains["month"] = [CalendarComponent(m)]
        self.chains["day"] = [CalendarComponent(d)]
        self.chains["hour"] = [CalendarComponent(rem // 3600)]
        self.chains["minute"] = [CalendarComponent(rem // 60 % 60)]
        self.chains["microsecond"] = [CalendarComponent(rem % 60 * USEC_PER_SEC)]

    # systemd: parse_calendar_time()
    def parse_time(self) -> None:
        if self.peek() == "\0":
            h, m, s = [CalendarComponent(0)], [CalendarComponent(0)], [CalendarComponent(0)]
        else:
            h = self.parse_chain(False)
            if self.peek() != ":":
                raise _ParseError()
            self.i += 1
            m = self.parse_chain(False)
            if self.peek() == "\0":
                s = [CalendarComponent(0)]
            else:
                if self.peek() != ":":
                    raise _ParseError()
                self.i += 1
                s = self.parse_chain(True)
                if self.peek() != "\0":
                    raise _ParseError()
        self.chains["hour"], self.chains["minute"], self.chains["microsecond"] = h, m, s

    # systemd: calendar_spec_normalize() + calendar_spec_valid()
    def finish(self) -> CalendarSpec:
        utc, timezone = self.utc, self.timezone
        if timezone == "UTC":
            utc, timezone = True, None
        bits = self.weekdays_bits
        if bits <= 0 or bits >= BITS_WEEKDAYS:
            bits = -1
        chains = dict(self.chains)
        end_of_month = self.end_of_month and bool(chains["day"])
        chains["year"] = [_fix_year(c) for c in chains["year"]]
        norm = {k: _normalize_chain(v) for k, v in chains.items()}
        valid = (
            _chain_valid(norm["year"], MIN_YEAR, MAX_YEAR, False)
            and _chain_valid(norm["month"], 1, 12, False)
            and _chain_valid(norm["day"], 1, 31, end_of_month)
            and _chain_valid(norm["hour"], 0, 23, False)
            and _chain_valid(norm["minute"], 0, 59, False)
            and _chain_valid(norm["microsecond"], 0, 60 * USEC_PER_SEC - 1, False))
        if not valid:
            raise _ParseError()
        return CalendarSpec(
            weekdays_bits=bits, end_of_month=end_of_month, utc=utc, dst=self.dst,
            dst_name=self.dst_name, timezone=timezone, **norm)


def _fix_year(c: CalendarComponent) -> CalendarComponent:
    """12 → 2012, 89 → 1989. # systemd: fix_year()"""
    def fix(v: int) -> int:
        if 0 <= v < 70:
            return v + 2000
        if 70 <= v < 100:
            return v + 1900
        return v
    return CalendarComponent(fix(c.start), fix(c.stop), c.repeat)


def _normalize_chain(chain: list[CalendarComponent]) -> Chain:
    """Trim ranges to a multiple of the repeat, drop repeats that never fire, sort, dedupe.

    # systemd: normalize_chain()
    """
    out = []
    for c in chain:
        start, stop, repeat = c.start, c.stop, c.repeat
        if stop > start and repeat > 0:
            stop -= (stop - start) % repeat
        if (stop > start and repeat > 0 and start + repeat > stop) or start == stop:
            repeat, stop = 0, -1
        out.append(CalendarComponent(start, stop, repeat))
    return tuple(sorted(set(out)))


def _chain_valid(chain: Chain, lo: int, hi: int, end_of_month: bool) -> bool:
    """# systemd: chain_valid()"""
    for c in chain:
        if end_of_month:
            # "no more than 28 days from the end of the month"; systemd recurses over the
            # list and subtracts again for every item: the k-th value must be <= 28 - 3k
            hi -= 3
        if c.start < lo or c.start > hi:
            return False
        if c.repeat > hi - lo:
            return False
        if c.stop >= 0:
            if c.stop < lo or c.stop > hi or c.start + c.repeat > c.stop:
                return False
        elif end_of_month and c.start - c.repeat < lo:
            return False
        elif not end_of_month and c.start + c.repeat > hi:
            return False
    return True


def _format_weekdays(bits: int) -> str:
    """Mon..Sun with runs of three or more as A..B. # systemd: format_weekdays()"""
    out = []
    need_comma = False
    last = -1
    x = 0
    for x in range(7):
        if bits & (1 << x):
            if last < 0:
                if need_comma:
                    out.append(",")
                need_comma = True
                out.append(_DAYS[x])
                last = x
        elif last >= 0:
            if x > last + 1:
                out.append(".." if x > last + 2 else ",")
                out.append(_DAYS[x - 1])
            last = -1
    x = 7
    if last >= 0 and x > last + 1:
        out.append(".." if x > last + 2 else ",")
        out.append(_DAYS[x - 1])
    return "".join(out)


def _cmod(a: int, b: int) -> int:
    """C's % (sign of the dividend)."""
    r = abs(a) % b
    return -r if a < 0 else r


def _format_chain(width: int, chain: Chain, usec: bool) -> str:
    """# systemd: format_chain()"""
    d = USEC_PER_SEC if usec else 1
    if not chain:
        return "*"
    if usec and len(chain) == 1:
        c = chain[0]
        if c.start == 0 and c.repeat == USEC_PER_SEC and c.stop < 0:
            return "*"
    parts = []
    for c in chain:
        s = f"{c.start // d:0{width}d}"
        if c.start % d > 0:
            s += f".{c.start % d:06d}"
        if c.stop > 0:
            s += f"..{c.stop // d:0{width}d}"
        if _cmod(c.stop, d) > 0:
            s += f".{c.stop % d:06d}"
        if c.repeat > 0 and not (c.stop > 0 and c.repeat == d):
            s += f"/{c.repeat // d}"
        if c.repeat % d > 0:
            s += f".{c.repeat % d:06d}"
        parts.append(s)
    return ",".join(parts)
