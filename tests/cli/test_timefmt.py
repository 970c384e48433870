"""timefmt against systemd's own output (`systemd-analyze timespan`, `systemctl status`)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as s
from render_snapshot import GOLDEN, load_oracle, parse_timespan

from sysvisor.timefmt import (
    USEC_INFINITY,
    USEC_PER_MSEC,
    USEC_PER_SEC,
    format_timespan,
    format_timestamp,
    format_timestamp_relative,
)


def test_timespan_matches_systemd_analyze() -> None:
    # `systemd-analyze timespan` prints format_timespan(t, 0) as "Human:" (systemd 257)
    text = load_oracle()["timespan"]["stdout"]
    pairs = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.strip().split(": ", 1) for line in block.splitlines())
        pairs.append((int(fields["μs"]), fields["Human"]))
    assert len(pairs) == 11
    for usec, human in pairs:
        assert format_timespan(usec, 0) == human


def test_timespan_examples() -> None:
    assert format_timespan(100 * USEC_PER_MSEC) == "100ms"
    assert format_timespan(90 * USEC_PER_SEC) == "1min 30s"
    assert format_timespan(5 * USEC_PER_SEC) == "5s"
    assert format_timespan(0) == "0"
    assert format_timespan(USEC_INFINITY) == "infinity"
    # status Duration:/CPU: use millisecond accuracy
    assert format_timespan(377_247_123, USEC_PER_MSEC) == "6min 17.247s"
    assert format_timespan(1_250_000, USEC_PER_MSEC) == "1.250s"
    assert format_timespan(1_999, USEC_PER_MSEC) == "1ms"
    assert format_timespan(26_400, USEC_PER_MSEC) == "26ms"


@given(s.integers(min_value=1, max_value=10**15))
def test_timespan_parses_back_exactly_at_full_accuracy(usec: int) -> None:
    assert parse_timespan(format_timespan(usec, 0)) == usec


@given(s.integers(min_value=1, max_value=10**15))
def test_timespan_ms_accuracy_never_overstates(usec: int) -> None:
    shown = parse_timespan(format_timespan(usec, USEC_PER_MSEC))
    assert shown <= usec


def test_timestamp_utc() -> None:
    t = 1_795_676_401_000_000  # 2026-11-26 07:00:01 UTC
    assert format_timestamp(t, utc=True) == "Thu 2026-11-26 07:00:01 UTC"
    assert format_timestamp(t + 480_732, style="us+utc") == "Thu 2026-11-26 07:00:01.480732 UTC"
    assert format_timestamp(t, style="unix") == "@1795676401"
    assert format_timestamp(t, style="date") == "Thu 2026-11-26"
    assert format_timestamp(0) == ""
    assert format_timestamp(USEC_INFINITY) == ""


def test_timestamp_local_zone(monkeypatch) -> None:  # noqa: ANN001
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        assert format_timestamp(1_795_676_401_000_000) == "Thu 2026-11-26 08:00:01 CET"
        assert format_timestamp(1_782_817_201_000_000) == "Tue 2026-06-30 13:00:01 CEST"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_relative() -> None:
    now = 10**15
    r = format_timestamp_relative
    assert r(now - 138_000, now) == "138ms ago"
    assert r(now - 2 * USEC_PER_SEC, now) == "2s ago"
    assert r(now - 123 * USEC_PER_SEC, now) == "2min 3s ago"
    assert r(now - 317 * USEC_PER_SEC, now) == "5min ago"
    assert r(now + 59 * 60 * USEC_PER_SEC + 5, now) == "59min left"
    assert r(now + 59 * 60 * USEC_PER_SEC, now, implicit_left=True) == "59min"
    assert r(now + 3723 * USEC_PER_SEC, now) == "1h 2min left"
    assert r(now - 7 * 3600 * USEC_PER_SEC, now) == "7h ago"
    assert r(now - 26 * 3600 * USEC_PER_SEC, now) == "1 day 2h ago"
    assert r(now - 3 * 86400 * USEC_PER_SEC, now) == "3 days ago"
    assert r(now - 8 * 86400 * USEC_PER_SEC, now) == "1 week 1 day ago"
    assert r(now - 40 * 86400 * USEC_PER_SEC, now) == "1 month 9 days ago"
    assert r(now - 400 * 86400 * USEC_PER_SEC, now) == "1 year 1 month ago"
    assert r(now - 5, now) == "5us ago"
    assert r(now, now) == "now"
    assert r(0, now) == ""


def test_golden_file_present() -> None:
    assert json.loads((GOLDEN / "oracle" / "render-257.json").read_text())["environment"]["release"] == "257"
