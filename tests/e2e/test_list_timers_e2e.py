"""`list-timers` of a real manager over the seven timers systemd 257 listed in
tests/data/oracle/timer/list-timers.json: the same rows in the same order, the same empty
cells, the same ACTIVATES and footers (times differ: they are read from the clock).
# spec: timers.md §6   # systemd: systemctl-list-timers.c
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "oracle" / "timer" / "list-timers.json"
REC = json.loads(DATA.read_text())
STEPS = {s.get("label"): s for s in REC["scenarios"][0]["steps"] if s.get("label")}
STARTED = ["a.timer", "b.timer", "c.timer", "e.timer", "a-rather-long-timer-name-for-the-column.timer", "f.timer"]
STAMP = re.compile(r"\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


def _shape(text: str) -> list[tuple]:
    """Per row: (unit, activates, NEXT set?, LAST set?); other lines as they are."""
    out = []
    for line in text.splitlines():
        m = re.search(r" (\S+\.timer) +(\S+)$", line)
        if m is None or line.startswith("NEXT"):
            out.append(re.sub(r" +", " ", line))
            continue
        stamps = STAMP.findall(line)
        next_set = not line.startswith("-")
        last_set = len(stamps) == (2 if next_set else 1)
        out.append((m.group(1), m.group(2), next_set, last_set))
    return out


def _next_times(text: str) -> list[str | None]:
    """The NEXT column of each timer row, in order (None: "-")."""
    return [(STAMP.match(line).group(0) if STAMP.match(line) else None)
            for line in text.splitlines() if re.search(r" \S+\.timer +\S+$", line) and not line.startswith("NEXT")]


def _recorded_order_holds() -> bool:
    # The recording's order (a.timer before e.timer before b.timer) holds while a.timer's
    # now + 2h comes before e.timer's 23:00 (its OnCalendar= wins over now + 3h from 20:00
    # on) and b.timer's 23:59: before 21:00 UTC, less the few minutes the test takes.
    now = time.gmtime()
    return (now.tm_hour, now.tm_min) < (20, 55)


def test_list_timers_rows_match_systemd(run):
    units = {name: text for name, text in REC["unit_files"].items() if name != "hold.target"}
    m = run(units)
    assert m.cli("start", *STARTED).returncode == 0
    m.wait_for("c.timer to elapse", lambda: m.prop("c.timer", "SubState") == "elapsed", timeout=20)
    exact = _recorded_order_holds()
    for label, args in (("list-timers", ()), ("list-timers-all", ("--all",)),
                        ("list-timers-all-no-legend", ("--all", "--no-legend")),
                        ("list-timers-pattern", ("--all", "a*"))):
        got = m.cli("list-timers", "--no-pager", *args)
        assert got.returncode == 0, got.stderr
        want = _shape(STEPS[label]["stdout"])
        if exact:
            assert _shape(got.stdout) == want, got.stdout
            continue
        # later in the day the rows' order follows the clock, not the recording: the same
        # rows and other lines, in the order of their NEXT times (unset last), as systemd sorts
        shape = _shape(got.stdout)
        assert [x for x in shape if not isinstance(x, tuple)] == [x for x in want if not isinstance(x, tuple)], got.stdout
        assert sorted(x for x in shape if isinstance(x, tuple)) == sorted(x for x in want if isinstance(x, tuple)), got.stdout
        nexts = _next_times(got.stdout)
        assert nexts == sorted(nexts, key=lambda t: (t is None, time.strptime(t, "%a %Y-%m-%d %H:%M:%S UTC") if t else 0)), got.stdout
