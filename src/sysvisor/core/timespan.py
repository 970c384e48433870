"""systemd's format_timespan(), for manager messages such as `Watchdog timeout (limit 30s)!`.

# systemd: src/basic/time-util.c format_timespan(); checked against
# `systemd-analyze timespan` (1.5s → 1.500000s, 90s → 1min 30s, 61.5s → 1min 1.500000s)
"""

from __future__ import annotations

from sysvisor.core.constants import USEC_INFINITY

_MINUTE = 60_000_000
_TABLE = (
    ("y", 31_557_600_000_000),
    ("month", 2_629_800_000_000),
    ("w", 604_800_000_000),
    ("d", 86_400_000_000),
    ("h", 3_600_000_000),
    ("min", _MINUTE),
    ("s", 1_000_000),
    ("ms", 1_000),
    ("us", 1),
)


def format_timespan(t: int, accuracy: int = 1) -> str:
    """Human time span as systemd prints it. # systemd: format_timespan()"""
    if t == USEC_INFINITY:
        return "infinity"
    if t <= 0:
        return "0"
    accuracy = max(accuracy, 1)
    parts: list[str] = []
    something = False
    for suffix, usec in _TABLE:
        if t <= 0:
            break
        if t < accuracy and something:
            break
        if t < usec:
            continue
        a, b = divmod(t, usec)
        if t < _MINUTE and b > 0:
            j = 0
            cc = usec
            while cc > 1:
                j += 1
                cc //= 10
            cc = accuracy
            while cc > 1:
                b //= 10
                j -= 1
                cc //= 10
            if j > 0:
                parts.append(f"{a}.{b:0{j}d}{suffix}")
                t = 0
                something = True
                continue
        parts.append(f"{a}{suffix}")
        t = b
        something = True
    return " ".join(parts)
