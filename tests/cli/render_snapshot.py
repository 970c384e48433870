"""Turn recorded `systemctl show`/`status` text of real systemd back into raw snapshots.

Used by the golden tests: the snapshot parsed from systemd's `show` output, rendered by
sysvisor, must give systemd's own `show` and `status` text.
"""

from __future__ import annotations

import calendar
import json
import re
import shlex
import time
from pathlib import Path
from typing import Any

from sysvisor.protocol import properties as P
from sysvisor.timefmt import USEC_INFINITY

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
ORACLE_FILE = GOLDEN / "oracle" / "render-257.json"
ORACLE2_FILE = GOLDEN / "oracle" / "render2-257.json"

_SPAN_UNITS = {"y": 31_557_600_000_000, "month": 2_629_800_000_000, "w": 604_800_000_000, "d": 86_400_000_000,
               "h": 3_600_000_000, "min": 60_000_000, "s": 1_000_000, "ms": 1_000, "us": 1}


def load_oracle(path: Path = ORACLE_FILE) -> dict[str, dict[str, Any]]:
    return json.loads(path.read_text())["steps"]


def parse_timespan(text: str) -> int:
    if text == "infinity":
        return USEC_INFINITY
    if text == "0":
        return 0
    total = 0
    for tok in text.split():
        m = re.fullmatch(r"(\d+)(?:\.(\d+))?([a-z]+)", tok)
        assert m, tok
        unit = _SPAN_UNITS[m.group(3)]
        total += int(m.group(1)) * unit
        if m.group(2):
            total += int(m.group(2)) * unit // 10 ** len(m.group(2))
    return total


def parse_timestamp(text: str) -> int:
    if not text or text == "n/a":
        return 0
    whole, _, frac = text.removesuffix(" UTC").partition(".")
    t = time.strptime(whole, "%a %Y-%m-%d %H:%M:%S")
    return calendar.timegm(t) * 1_000_000 + (int(frac) if frac else 0)


_EXEC_RE = re.compile(
    r"\{ path=(?P<path>.*?) ; argv\[\]=(?P<argv>.*?) ; ignore_errors=(?P<ign>yes|no) ; "
    r"start_time=\[(?P<start>.*?)\] ; stop_time=\[(?P<stop>.*?)\] ; pid=(?P<pid>\d+) ; "
    r"code=(?P<code>\S+) ; status=(?P<status>\d+)(?:/\S+)? \}"
)


def parse_exec(text: str) -> dict[str, Any]:
    m = _EXEC_RE.fullmatch(text)
    assert m, text
    code = {"(null)": 0, "exited": 1, "killed": 2, "dumped": 3}[m.group("code")]
    return {
        "path": m.group("path"),
        "argv": m.group("argv").split(" "),
        "ignore_errors": m.group("ign") == "yes",
        "start_time": parse_timestamp(m.group("start")),
        "stop_time": parse_timestamp(m.group("stop")),
        "pid": int(m.group("pid")),
        "code": code,
        "status": int(m.group("status")),
    }


def parse_value(name: str, text: str) -> Any:
    kind = P.property_kind(name, text)
    if kind == P.TIMESPAN:
        try:
            return parse_timespan(text)
        except (AssertionError, KeyError):
            return text
    if kind == P.TIMESTAMP:
        return parse_timestamp(text)
    if kind in (P.MONOTONIC, P.INT, P.SIGNAL):
        return int(text)
    if kind == P.BOOL:
        return text == "yes"
    if kind == P.LIST:
        return shlex.split(text)
    if kind == P.ACTION_EXIT_STATUS:
        return -1 if text in ("", "[not set]") else int(text)
    if kind == P.UNPRINTABLE:
        return []
    if kind == P.NOT_SET_UINT:
        return None if text == "[not set]" else int(text)
    if kind == P.LOAD_ERROR:
        if not text:
            return None
        err, msg = text.split(" ", 1)
        return (err, msg.strip('"'))
    if kind == P.JOB:
        return int(text) if text else None
    if kind == P.EXIT_STATUS_SET:
        return {"statuses": [int(x) for x in text.split() if x.isdigit()], "signals": []}
    if kind == P.TIMERS_MONOTONIC:
        m = re.fullmatch(r"\{ (\w+)=(.*?) ; next_elapse=(.*?) \}", text)
        assert m
        return [(m.group(1), parse_timespan(m.group(2)), parse_timespan(m.group(3)))]
    if kind == P.TIMERS_CALENDAR:
        m = re.fullmatch(r"\{ (\w+)=(.*?) ; next_elapse=(.*?) \}", text)
        assert m
        return [(m.group(1), m.group(2), parse_timestamp(m.group(3)))]
    if re.fullmatch(r"-?(0|[1-9]\d*)", text):
        return int(text)
    return text


def parse_show(text: str) -> dict[str, Any]:
    """`systemctl show` output -> raw snapshot (exec `…Ex` lines are derived, so skipped)."""
    props: dict[str, Any] = {}
    for line in text.splitlines():
        name, _, value = line.partition("=")
        kind = P.property_kind(name, value)
        if kind == P.EXEC_EX:
            continue
        if kind == P.EXEC:
            props.setdefault(name, []).append(parse_exec(value))
            continue
        props[name] = parse_value(name, value)
    return props


def fix_realtime_from_monotonic(props: dict[str, Any]) -> int:
    """Give realtime timestamps µs precision: shift the monotonic twins by one common offset.

    `show` prints realtime stamps to the second; systemd's `Duration:` uses µs. Realtime and
    monotonic differences agree, so pick an offset consistent with every printed second.
    """
    lo, hi = -(1 << 80), 1 << 80
    pairs = []
    for name, value in props.items():
        if name.endswith("Timestamp") and value and props.get(name + "Monotonic"):
            mono = props[name + "Monotonic"]
            lo = max(lo, value - mono)
            hi = min(hi, value + 1_000_000 - mono)
            pairs.append(name)
    if not pairs:
        return 0
    assert lo < hi, "inconsistent timestamps"
    for name in pairs:
        props[name] = props[name + "Monotonic"] + lo
    return lo  # realtime - monotonic


def status_extras(status_text: str) -> dict[str, Any]:
    """What `status` learns outside the bus properties: process names and the cgroup's processes."""
    extras: dict[str, Any] = {}
    status_text = re.sub(r"\x1b\[[0-9;:]*m", "", status_text)
    m = re.search(r"^   Main PID: \d+ \((?!code=)([^)]*)\)", status_text, re.M)
    if m:
        extras["MainPIDComm"] = m.group(1)
    m = re.search(r"(?:Control|Cntrl) PID: \d+ \(([^)]*)\)", status_text)
    if m:
        extras["ControlPIDComm"] = m.group(1)
    conds = re.findall(r"^ {13}[├└]─ (Condition\w+)=(\|?)(!?)(.*) was not met$", status_text, re.M)
    if conds:
        extras["Conditions"] = [
            {"name": n, "trigger": bool(t), "negate": bool(neg), "param": p, "state": -1} for n, t, neg, p in conds
        ]
    m = re.search(r"^ {13}(Assert\w+)=(!?)(.*) was not met$", status_text, re.M)
    if m:
        extras["Asserts"] = [{"name": m.group(1), "trigger": False, "negate": bool(m.group(2)), "param": m.group(3), "state": -1}]
    procs = re.findall(r"^ {13}[├└]─ *(\d+) (.*)$", status_text, re.M)
    if procs:
        extras["CGroupProcesses"] = [(int(p), c) for p, c in procs]
    return extras


def split_status(text: str) -> tuple[str, list[str]]:
    """Status text -> (head, journal lines)."""
    head, sep, journal = text.partition("\n\n")
    return head + "\n", [line for line in journal.splitlines()] if sep else []


REL_RE = re.compile(r"; [^;]*(?:ago|left)$", re.M)


def normalize(text: str) -> str:
    """Drop what differs between two moments: relative times."""
    return REL_RE.sub("; REL", text)


def snapshot_now(props: dict[str, Any]) -> int:
    """A `now` just after the latest realtime stamp of the snapshot."""
    stamps = [v for k, v in props.items() if k.endswith("Timestamp") and isinstance(v, int)]
    return max(stamps, default=0) + 100_000
