"""list-timers, list-unit-files and is-enabled against systemd 257 recordings."""

from __future__ import annotations

import re

from render_snapshot import ORACLE2_FILE, load_oracle, parse_show

from sysvisor.cli.listing import is_enabled_exit_code, render_is_enabled, render_list_timers, render_list_unit_files

O1 = load_oracle()
O2 = load_oracle(ORACLE2_FILE)
MIN = 60_000_000


def test_list_timers_never_triggered() -> None:
    p = parse_show(O1["timer-waiting:show"]["stdout"])
    mono_next = p["NextElapseUSecMonotonic"]
    # a moment when the monotonic (earlier) elapse is 59.5 min away
    now, now_mono = 10**15, mono_next - 59 * MIN - 30_000_000
    text = render_list_timers([p], now, now_mono, all_=True)
    want = O1["list-timers"]["stdout"]
    # the recorded NEXT is the realtime of that moment + 59.5 min: compare shape, not the date
    got_lines, want_lines = text.splitlines(), want.splitlines()
    assert got_lines[0] == want_lines[0]
    assert re.sub(r"^\S+ \S+ \S+ UTC", "T", got_lines[1]) == re.sub(r"^\S+ \S+ \S+ UTC", "T", want_lines[1])
    assert got_lines[2:] == want_lines[2:]


def _freq_timer() -> tuple[dict, int, int]:
    p = parse_show(O2["timer-elapsed:show-us"]["stdout"])
    offset = p["ActiveEnterTimestamp"] - p["ActiveEnterTimestampMonotonic"]
    now = p["LastTriggerUSec"] + 3_500_000
    return p, now, now - offset


def test_list_timers_after_trigger_matches_systemd() -> None:
    p, now, now_mono = _freq_timer()
    assert render_list_timers([p], now, now_mono, all_=True) == O2["list-timers-all"]["stdout"]
    assert render_list_timers([p], now, now_mono) == O2["list-timers"]["stdout"]


def test_list_timers_color_matches_systemd() -> None:
    p, now, now_mono = _freq_timer()
    assert render_list_timers([p], now, now_mono, all_=True, color=True) == O2["list-timers-color"]["stdout"]


def _unit_file_rows(text: str) -> list[tuple[str, str, str | None]]:
    rows = []
    for line in text.split("\n\n")[0].splitlines()[1:]:
        name, state, preset = line.split()
        rows.append((name, state, None if preset == "-" else preset))
    return rows


def test_list_unit_files_matches_systemd() -> None:
    for label in ("list-unit-files-pattern", "list-unit-files-empty"):
        text = O2[label]["stdout"]
        rows = _unit_file_rows(text)
        rows.reverse()
        assert render_list_unit_files(rows) == text
    text = O1["list-unit-files"]["stdout"]
    assert render_list_unit_files(list(reversed(_unit_file_rows(text)))) == text


def test_is_enabled_matches_systemd() -> None:
    states = ["enabled", "static", "static", "static", "not-found", "static"]
    assert render_is_enabled((s, ()) for s in states) == O2["is-enabled"]["stdout"]
    assert is_enabled_exit_code(states) == O2["is-enabled"]["rc"]
    full = render_is_enabled([("enabled", ["/etc/systemd/system/multi-user.target.wants/acct.service"])], full=True)
    assert full == O2["is-enabled-full"]["stdout"]
    assert is_enabled_exit_code(["disabled", "masked"]) == 1


def test_list_timers_color_without_all_and_empty_unit_files() -> None:
    from render_snapshot import GOLDEN

    o = load_oracle(GOLDEN / "oracle" / "render7-257.json")
    p = parse_show(o["show-timer-us"]["stdout"])
    offset = p["ActiveEnterTimestamp"] - p["ActiveEnterTimestampMonotonic"]
    nxt = p["NextElapseUSecMonotonic"] + offset  # the monotonic trigger is the nearer one
    now = nxt - 5 * MIN - 20_000_000
    text = render_list_timers([p], now, now - offset, color=True)
    want = o["list-timers-color"]["stdout"]
    assert text == want
    assert render_list_unit_files([], color=True) == o["list-unit-files-color-empty"]["stdout"]
