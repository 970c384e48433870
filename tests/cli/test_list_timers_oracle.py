"""`list-timers` over seven timers against systemd 257 (tests/data/oracle/timer/list-timers.json):
monotonic, calendar and mixed timers, an elapsed one, one never started (--all), an
OnUnitActiveSec= timer never armed, a long name; plain, --all, --no-legend and a pattern.

The rows are systemd's own `show` output of each timer; the listing ran between two clock
reads, so the test looks for a moment in that window at which the rendering is identical.
# spec: timers.md §6   # systemd: systemctl-list-timers.c output_timers_list()
"""

from __future__ import annotations

import fnmatch
import json
import pathlib

import pytest
from render_snapshot import parse_show

from sysvisor.cli.listing import render_list_timers

DATA = pathlib.Path(__file__).parent.parent / "data" / "oracle" / "timer" / "list-timers.json"
REC = json.loads(DATA.read_text())
STEPS = {s.get("label"): s for s in REC["scenarios"][0]["steps"] if s.get("label") and s["label"] != "clock"}
CLOCKS = [tuple(map(int, s["stdout"].split())) for s in REC["scenarios"][0]["steps"] if s.get("label") == "clock"]


def _rows() -> list[dict]:
    mono, real = CLOCKS[0]
    offset = real - mono
    rows = []
    for label, step in sorted(STEPS.items()):
        if not label.startswith("show:"):
            continue
        p = parse_show(step["stdout"])
        if p.get("LastTriggerUSecMonotonic"):  # shown at second resolution only
            p["LastTriggerUSec"] = p["LastTriggerUSecMonotonic"] + offset
        rows.append(p)
    return rows


def _render_in_window(rows, want: str, **kw) -> str:
    (mono0, real0), (mono1, _) = CLOCKS
    got = ""
    for now_mono in range(mono0 - 200_000, mono1 + 1, 1_000):  # 1 ms steps through the window
        got = render_list_timers(rows, real0 + (now_mono - mono0), now_mono, **kw)
        if got == want:
            return got
    return got


def test_recording_is_systemd_257_with_seven_timers():
    assert REC["environment"]["systemd_version"].startswith("systemd 257")
    assert len(_rows()) == 7 and "7 timers listed." in STEPS["list-timers-all"]["stdout"]


@pytest.mark.parametrize("label, kw, active_only, pattern", [
    ("list-timers", {}, True, None),
    ("list-timers-all", {"all_": True}, False, None),
    ("list-timers-all-no-legend", {"all_": True, "legend": False}, False, None),
    ("list-timers-pattern", {"all_": True}, False, "a*"),
])
def test_list_timers_matches_systemd(label, kw, active_only, pattern):
    rows = [r for r in _rows() if (not active_only or r["ActiveState"] not in ("inactive", "failed"))
            and (pattern is None or fnmatch.fnmatch(r["Id"], pattern))]
    want = STEPS[label]["stdout"]
    assert _render_in_window(rows, want, **kw) == want
