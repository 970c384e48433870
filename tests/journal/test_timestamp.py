"""systemd.time(7) parsing for --since/--until."""

import pytest

from sysvisor.journal.timestamp import TimeParseError, parse_timespan, parse_timestamp

NOW = 1795676583_451087  # Thu 2026-11-26 07:03:03.451087 UTC
S = 1_000_000


@pytest.mark.usefixtures("utc_tz")
@pytest.mark.parametrize(
    "text,expected",
    [
        ("now", NOW),
        ("today", 1795651200 * S),
        ("yesterday", (1795651200 - 86400) * S),
        ("tomorrow", (1795651200 + 86400) * S),
        ("-1h", NOW - 3600 * S),
        ("+5min", NOW + 300 * S),
        ("2 hours ago", NOW - 7200 * S),
        ("5min left", NOW + 300 * S),
        ("@1795676583", 1795676583 * S),
        ("@1795676583.5", 1795676583 * S + 500000),
        ("2026-11-26 10:00", (1795651200 + 36000) * S),
        ("2026-11-26 10:00:05", (1795651200 + 36005) * S),
        ("2026-11-26", 1795651200 * S),
        ("2026-11-26T10:00:05.25", (1795651200 + 36005) * S + 250000),
        ("Thu 2026-11-26 10:00:05 UTC", (1795651200 + 36005) * S),
        ("10:00", (1795651200 + 36000) * S),
        ("26-11-26 10:00", (1795651200 + 36000) * S),
    ],
)
def test_timestamps(text, expected):
    assert parse_timestamp(text, NOW) == expected


@pytest.mark.parametrize("text", ["bogus", "", "2026-13-01", "25:00", "-1x", "@x"])
def test_bad_timestamps(text):
    with pytest.raises(TimeParseError):
        parse_timestamp(text, NOW)


def test_timespans_are_case_sensitive():
    assert parse_timespan("1h 30min") == 5400 * S
    assert parse_timespan("1h30") == 3630 * S  # a bare trailing number is seconds
    assert parse_timespan("5m") == 300 * S
    assert parse_timespan("5M") == 5 * 2629800 * S
    with pytest.raises(TimeParseError):
        parse_timespan("5Min")
