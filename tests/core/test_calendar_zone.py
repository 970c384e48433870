"""core.calendar_zone: the glibc mktime()/localtime_r() emulation against the real glibc.

The real functions are called through ctypes with $TZ set; both sides first normalise the
same anchor time so glibc's remembered offset and ours start equal.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import os
import time
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sysvisor.core.calendar_zone import (
    LocalZone, Tm, civil_from_days, days_from_civil, gmtime, timegm, wall_seconds)

_libc_name = ctypes.util.find_library("c")
libc = ctypes.CDLL(_libc_name) if _libc_name else None


class CTm(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int) for n in (
        "tm_sec", "tm_min", "tm_hour", "tm_mday", "tm_mon", "tm_year", "tm_wday", "tm_yday",
        "tm_isdst")] + [("tm_gmtoff", ctypes.c_long), ("tm_zone", ctypes.c_char_p)]


@contextlib.contextmanager
def tz_env(name: str):
    old = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


def libc_mktime(tm: Tm) -> tuple[int, tuple]:
    c = CTm(tm.sec, tm.min, tm.hour, tm.mday, tm.mon, tm.year, 0, 0, tm.isdst, 0, None)
    libc.mktime.argtypes = [ctypes.POINTER(CTm)]
    libc.mktime.restype = ctypes.c_long
    t = libc.mktime(ctypes.byref(c))
    return t, (c.tm_year, c.tm_mon, c.tm_mday, c.tm_hour, c.tm_min, c.tm_sec, c.tm_isdst,
               c.tm_wday, c.tm_gmtoff)


def fields(tm: Tm) -> tuple:
    return (tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec, tm.isdst, tm.wday, tm.gmtoff)


# (zone, a UTC instant of a 2025 transition)
TRANSITIONS = [
    ("Europe/Berlin", 1743296400), ("Europe/Berlin", 1761440400),
    ("America/New_York", 1741503600), ("America/New_York", 1762063200),
    ("Australia/Lord_Howe", 1743865200), ("Australia/Lord_Howe", 1759590000),
    ("Europe/Dublin", 1743296400), ("Pacific/Chatham", 1759074300),
    ("America/Havana", 1741496400), ("Asia/Kolkata", 1750000000),
]


@pytest.mark.skipif(libc is None, reason="no C library to compare with")
@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TRANSITIONS), st.integers(-3 * 3600, 3 * 3600),
       st.sampled_from([-1, -1, 0, 1]), st.integers(-90, 90),
       st.sampled_from([-3, -2, -1, 1, 2, 3]))
def test_mktime_matches_glibc_near_transitions(transition, shift, isdst, minute_skew, anchor):
    name, instant = transition
    zone = LocalZone(zoneinfo.ZoneInfo(name))
    # an arbitrary local broken-down time near the transition, possibly out of range
    probe = zone.localtime(instant + shift)
    probe.min += minute_skew
    probe.isdst = isdst
    # the anchor sets the remembered offset: before or after the transition
    anchor_tm = zone.localtime(instant + anchor * 86400)
    anchor_tm.isdst = -1
    with tz_env(name):
        libc_mktime(anchor_tm.copy())
        want_t, want_fields = libc_mktime(probe.copy())
    zone.mktime(anchor_tm.copy())
    ours = probe.copy()
    got = zone.mktime(ours)
    assert (got, fields(ours)) == (want_t, want_fields)


@pytest.mark.skipif(libc is None, reason="no C library to compare with")
@settings(max_examples=100, deadline=None)
@given(st.sampled_from([n for n, _ in TRANSITIONS]), st.integers(0, 2**32))
def test_localtime_matches_glibc(name, t):
    with tz_env(name):
        want = time.localtime(t)
    tm = LocalZone(zoneinfo.ZoneInfo(name)).localtime(t)
    assert (tm.year + 1900, tm.mon + 1, tm.mday, tm.hour, tm.min, tm.sec, tm.isdst,
            tm.zone) == (want.tm_year, want.tm_mon, want.tm_mday, want.tm_hour, want.tm_min,
                         want.tm_sec, want.tm_isdst, want.tm_zone)


@given(st.integers(-10**12, 10**12))
def test_civil_round_trip(days):
    assert days_from_civil(*civil_from_days(days)) == days


@given(st.integers(-2**40, 2**40))
def test_gmtime_timegm_round_trip(t):
    tm = gmtime(t)
    assert timegm(tm.copy()) == t
    want = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=t) if abs(t) < 2**35 else None
    if want is not None:
        assert (tm.year + 1900, tm.mon + 1, tm.mday, tm.hour, tm.min, tm.sec) == (
            want.year, want.month, want.day, want.hour, want.minute, want.second)
        assert tm.wday == (want.weekday() + 1) % 7


def test_timegm_normalises_out_of_range_fields():
    tm = Tm(year=125, mon=1, mday=30, hour=24, min=60, sec=0, isdst=-1)  # 2025-02-30 24:60
    t = timegm(tm)
    assert (tm.mon, tm.mday, tm.hour, tm.min) == (2, 3, 1, 0)  # 2025-03-03 01:00
    assert wall_seconds(Tm(year=125, mon=2, mday=3, hour=1)) == t


def test_tzname_and_utc_detection():
    assert LocalZone(zoneinfo.ZoneInfo("Europe/Berlin")).tzname() == ("CET", "CEST")
    assert LocalZone(zoneinfo.ZoneInfo("Asia/Kolkata")).tzname() == ("IST", "IST")
    assert LocalZone(zoneinfo.ZoneInfo("Australia/Lord_Howe")).tzname() == ("+1030", "+11")
    assert LocalZone(None).is_utc()
    assert LocalZone(zoneinfo.ZoneInfo("Etc/UTC")).is_utc()
    assert not LocalZone(zoneinfo.ZoneInfo("Europe/London")).is_utc()
