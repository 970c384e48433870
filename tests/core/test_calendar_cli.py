"""cli.calendar: `systemd-analyze calendar` layout, options, errors, hints, "From now"."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sysvisor.cli.calendar import (
    format_timestamp_relative, main, parse_timespan, parse_timestamp)

NOW = 1764140400 * 10**6  # Wed 2025-11-26 07:00:00 UTC
S = 10**6


def run(*argv, tz="UTC", now=NOW):
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(argv), environ={"TZ": tz}, now_usec=now, out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


def test_layout_utc():
    rc, out, err = run("--iterations=2", "--base-time=2025-06-04 12:00:00 UTC", "weekly",
                       now=1749038400 * S)
    assert (rc, err) == (0, "")
    assert out == (
        "  Original form: weekly\n"
        "Normalized form: Mon *-*-* 00:00:00\n"
        "    Next elapse: Mon 2025-06-09 00:00:00 UTC\n"
        "       From now: 4 days left\n"
        "       Iter. #2: Mon 2025-06-16 00:00:00 UTC\n"
        "       From now: 1 week 4 days left\n")


def test_layout_local_zone_and_separator():
    rc, out, err = run("--base-time", "2025-06-04 12:00:00 UTC", "*-*-* 04:00:00", "never-ok",
                       tz="Europe/Berlin", now=1749038400 * S)
    assert rc == 1
    assert out == (
        "Normalized form: *-*-* 04:00:00\n"
        "    Next elapse: Thu 2025-06-05 04:00:00 CEST\n"
        "       (in UTC): Thu 2025-06-05 02:00:00 UTC\n"
        "       From now: 14h left\n"
        "\n")
    assert err == "Failed to parse calendar specification 'never-ok': Invalid argument\n"


def test_never_and_iteration_labels():
    rc, out, _ = run("--iterations=12", "--base-time=@1700000000", "hourly", "2023-02-29")
    assert rc == 0
    lines = [line for line in out.splitlines() if "From now" not in line]
    assert lines[10] == "       Iter. #9: Wed 2023-11-15 07:00:00 UTC"
    assert lines[11] == "      Iter. #10: Wed 2023-11-15 08:00:00 UTC"
    assert lines[-2:] == ["Normalized form: 2023-02-29 00:00:00", "    Next elapse: never"]


@pytest.mark.parametrize("argv,message", [
    ((), "Too few arguments.\n"),
    (("--iterations=abc", "daily"), "Failed to parse iterations: abc\n"),
    (("--iterations=-1", "daily"), "Failed to parse iterations: -1\n"),
    (("--base-time=bogus", "daily"), "Failed to parse --base-time= parameter: bogus\n"),
])
def test_usage_errors(argv, message):
    assert run(*argv) == (1, "", message)


def test_iterations_zero_prints_forms_only():
    assert run("--iterations=0", "daily")[1] == (
        "  Original form: daily\nNormalized form: *-*-* 00:00:00\n")


def test_hints():
    rc, out, err = run("5min", "now", "+5h", "bogus")
    assert rc == 1 and out == "\n\n\n"
    assert err.splitlines() == [
        "Failed to parse calendar specification '5min': Invalid argument",
        "Hint: this expression is a valid timespan. Use 'systemd-analyze timespan \"5min\"' instead?",
        "Failed to parse calendar specification 'now': Invalid argument",
        "Hint: this expression is a valid timestamp. Use 'systemd-analyze timestamp \"now\"' instead?",
        "Failed to parse calendar specification '+5h': Invalid argument",
        "Hint: this expression is a valid timestamp. Use 'systemd-analyze timestamp \"+5h\"' instead?",
        "Hint: this expression is a valid timespan. Use 'systemd-analyze timespan \"+5h\"' instead?",
        "Failed to parse calendar specification 'bogus': Invalid argument",
    ]


def test_infinite_loop_is_reported_like_systemd():
    rc, out, err = run("--base-time=2025-09-27 12:30:00 UTC", "--iterations=2", "*:45",
                       tz="Pacific/Chatham")
    assert (rc, out) == (1, "")
    assert err == ("Infinite loop in calendar calculation: *-*-* *:45:00\n"
                   "Failed to determine next elapse for '*:45': Resource deadlock avoided\n")


@pytest.mark.parametrize("delta,text", [
    (0, "now"), (1, "1us left"), (-1500, "1ms ago"), (59 * S, "59s left"),
    (61 * S, "1min 1s left"), (10 * 60 * S, "10min left"), (3700 * S, "1h 1min left"),
    (7 * 3600 * S, "7h left"), (26 * 3600 * S, "1 day 2h left"), (3 * 86400 * S, "3 days left"),
    (9 * 86400 * S, "1 week 2 days left"), (-40 * 86400 * S, "1 month 9 days ago"),
    (-400 * 86400 * S, "1 year 1 month ago"), (-800 * 86400 * S, "2 years 2 months ago"),
])
def test_from_now(delta, text):
    assert format_timestamp_relative(NOW + delta, NOW) == text


@pytest.mark.parametrize("text,value", [
    ("5min", 300 * S), ("1h 30min", 5400 * S), ("1h30", 3630 * S), ("5", 5 * S),
    (".5", S // 2), ("5 5", 10 * S), ("+5h", 5 * 3600 * S), ("2weeks", 14 * 86400 * S),
    ("5.", None), ("-5s", None), ("5mins", None), ("", None), ("bogus", None),
])
def test_parse_timespan(text, value):
    assert parse_timespan(text) == value


@pytest.mark.parametrize("text,value", [
    ("2025-06-04 12:00:00 UTC", 1749038400 * S), ("@1700000000", 1700000000 * S),
    ("@1700000000.5", 1700000000 * S + S // 2), ("now", NOW), ("+1h", NOW + 3600 * S),
    ("1h ago", NOW - 3600 * S), ("today", 1764115200 * S), ("tomorrow", 1764201600 * S),
    ("25-06-04", 1748995200 * S), ("Wed 2025-06-04 12:00", 1749038400 * S),
    ("Thu 2025-06-04 12:00", None), ("2025-06-04 12:00:00 Europe/Berlin", 1749031200 * S),
    ("2025-13-01", None), ("bogus", None),
])
def test_parse_timestamp(text, value):
    assert parse_timestamp(text, NOW, None) == value


def test_base_time_in_local_zone():
    # a base time without zone is local: 02:00 CEST = 00:00 UTC
    rc, out, _ = run("--base-time=2025-06-04 02:00:00", "hourly", tz="Europe/Berlin")
    assert "Next elapse: Wed 2025-06-04 03:00:00 CEST" in out


def test_unknown_short_option():
    assert run("-x", "daily") == (1, "", "systemd-analyze: invalid option -- 'x'\n")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=" *-~:.,/@0123456789MonTueSatdailyUTCEurope/BerlinCET+", max_size=30),
                min_size=1, max_size=3))
def test_never_a_traceback(args):
    rc, out, err = run("--base-time=2025-03-30 00:30:00 UTC", "--", *args, tz="Europe/Berlin")
    assert rc in (0, 1)
    assert "Traceback" not in err


@pytest.mark.parametrize("tz,want", [
    ("CET-1CEST,M3.5.0,M10.5.0/3", "    Next elapse: Thu 2025-06-05 00:00:00 CEST"),
    ("ABC5DEF", "    Next elapse: Thu 2025-06-05 00:00:00 DEF"),  # glibc's default US rules
    ("Foo/Bar", "    Next elapse: Thu 2025-06-05 00:00:00 Foo"),  # name kept, offset 0
    (":Europe/Berlin", "    Next elapse: Thu 2025-06-05 00:00:00 CEST"),
    ("", "    Next elapse: Thu 2025-06-05 00:00:00 UTC"),
])
def test_tz_forms_like_glibc(tz, want):
    """Observed with TZ=... systemd-analyze calendar (v252)."""
    out = run("--base-time=2025-06-04 12:00:00 UTC", "daily", tz=tz)[1]
    assert out.splitlines()[2] == want
    assert ("(in UTC)" in out) == (tz not in ("Foo/Bar", ""))
