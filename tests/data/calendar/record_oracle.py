"""Record `systemd-analyze calendar` (the oracle) on the calendar corpus.

    python3 tests/data/calendar/record_oracle.py      # rewrites oracle-v252.json

The corpus: systemd.time(7)'s table and worked examples (spec timers.md §3), systemd's own
test-calendarspec.c inputs, DST-sensitive expressions, and seeded random combinations of
every grammar element. Each case is one oracle invocation (several expressions), run with
`--iterations=5 --base-time=BASE` under `TZ=ZONE`; "From now:" lines (real clock) are dropped.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "oracle-v252.json"
ITERATIONS = 5
BATCH = 25

# (TZ, base times): an ordinary day, and just before each DST change of 2025 (and 2024)
SETTINGS = [
    ("UTC", ["2025-06-04 12:00:00 UTC", "2025-12-31 23:59:30 UTC", "2024-02-28 23:00:00 UTC"]),
    ("Europe/Berlin", ["2025-06-04 12:00:00 UTC", "2025-03-30 00:30:00 UTC",
                       "2025-10-25 23:30:00 UTC", "2025-10-26 00:59:59 UTC"]),
    ("America/New_York", ["2025-06-04 12:00:00 UTC", "2025-03-09 06:30:00 UTC",
                          "2025-11-02 04:30:00 UTC", "2025-11-02 05:59:59 UTC"]),
    ("Australia/Lord_Howe", ["2025-06-04 12:00:00 UTC", "2025-10-04 15:00:00 UTC",
                             "2025-04-05 14:30:00 UTC"]),
    ("Asia/Kolkata", ["2025-06-04 12:00:00 UTC", "2025-01-01 00:00:00 UTC"]),
]

CURATED = [
    # systemd.time(7) / spec timers.md §3.1 and §3.2
    "Sat,Thu,Mon..Wed,Sat..Sun", "Mon,Sun 12-*-* 2,1:23", "Wed *-1", "Wed..Wed,Wed *-1",
    "Wed, 17:48", "Wed..Sat,Tue 12-10-15 1:2:3", "*-*-7 0:0:0", "10-15", "monday *-12-* 17:00",
    "Mon,Fri *-*-3,1,2 *:30:45", "12,14,13,12:20,10,30", "12..14:10,20,30",
    "mon,fri *-1/2-1,3 *:30:45", "03-05 08:05:40", "08:05:40", "05:40", "Sat,Sun 12-05 08:05:40",
    "Sat,Sun 08:05:40", "2003-03-05 05:40", "05:40:23.4200004/3.1700005", "2003-02..04-05",
    "2003-03-05 05:40 UTC", "daily UTC", "weekly Pacific/Auckland", "*:2/3", "*-02~03",
    "Mon *-05~07/1", "weekly", "Mon *-*-* 00:00:00", "*-*-* 4:00:00", "Sat,Sun 10:00", "daily",
    "hourly", "minutely", "monthly", "yearly", "quarterly", "semiannually", "*:0/15",
    "Mon..Fri 09:00", "*-*-01 02:30", "Fri *-*-1..7 18:00", "*-*-* *:*:30", "*-*-* 00/6:00:00",
    "*-*-31", "2025-12-25 08:00 UTC", "Sat,Sun 10:00 Europe/Berlin", "2023-02-29", "bogus",
    "Wed..Mon", "00:00:00/6h", "annually", "anually", "biannually", "bi-annually",
    "semi-annually",
    # systemd src/test/test-calendarspec.c
    "Sat,Thu,Mon-Wed,Sat-Sun", "Wed-Wed,Wed *-1", "Wed-Sat,Tue 12-10-15 1:2:3", "2003-03-05",
    "03-05", "2015-10-25 01:00:00 uTc", "2016-03-27 03:17:00.4200005",
    "2016-03-27 03:17:00/0.42", "9..11,13:00,30", "1..3-1..3 1..3:1..3", "00:00:1.125..2.125",
    "00:00:1.0..3.8", "*-*~1 Utc", "*-*~05,3 ", "*-*~* 00:00:00", "Monday", "Monday *-*-*",
    "*-*-*", "2016-03-27 03:17:00", "2016-03-27 03:17:00 UTC", "2016-03-27 03:17:00.420000001 UTC",
    "2015-11-13 09:11:23.42", "2015-11-13 09:11:23.42/1.77", "Sun 16:00:00", "*-04-31",
    "2016-02~01 UTC", "Mon 2017-05~01..07 UTC", "Mon 2017-05~07/1 UTC", "test", " utc", "    ",
    "", "7", "121212:1:2", "2000-03-05.23 00:00:00", "2000-03-05 00:00.1:00",
    "00:00:00/0.00000001", "00:00:00.0..00.9", "2016~11-22", "*-*~5/5", "@1395716396",
    "*:4,30:0..3", "*:4,30:0..3/1", "*-*-* *:*:*", "*:*:*", "*:*:0/30", "*-*~5", "*-*~5,3",
    "2017-08-06 9,11,13,15,17:00", "Sun *-*-* 01:00:00 Europe/Dublin", "*-*-* 00:00:00/120",
    "Tue 2022-01-01", "2021-05-14 00:00:00 Asia/Tokyo", "2017-09-24 03:30:00 Pacific/Auckland",
    "2017-04-02 03:30:00 Pacific/Auckland", "2017-10-26 02:30:00 Europe/Berlin",
    "Mon..Sun", "Mon..Sat", "Sat,Sun,Mon", "Mon..", "Mon,", "Mon,,Tue", "mon-wed 1:00",
    "*:*:0..59", "*-*-* 1..1:00", "1..3/5:00", "@0", "@1234567", "@99999999999", "@-5",
    "@ 60", "*:0/0", "99999999999:00", "daily utc", "daily europe/berlin", "*-*~1/2",
    "*-1~3..1", "5min", "now", "tomorrow", "+5h", "1h 30min", "2025-06-04 12:00:00",
    "quarterly Europe/Berlin",
    # DST: gaps and folds in the zones under test
    "*-*-* 02:30", "*-*-* 02:00", "*-*-* 02:00:00", "*-*-* 02:59:59", "*-*-* 03:00",
    "*-*-* 01:30", "*-*-* 01:59", "*:30", "*:0/20", "*:00", "*:15,45", "*:*:00",
    "*-*-* 02..03:*:00", "*-*-* 00/3:00", "*-*-* 02:15", "*-*-* 01:45", "*-*-* 02:00..30/10",
    "Sun *-*-* 02:30", "Sun 02:00..03:00", "*-03,10-* 02:30", "*-04,10-* 02:15",
    "*-11-* 01:30", "*-*-* 01:00", "*-*-* 00:30", "2025-03-30 02:30", "2025-10-26 02:30",
    "2025-03-09 02:30", "2025-11-02 01:30", "2025-10-05 02:15", "2025-04-06 01:45",
    "2025-03-30 02:30 Europe/Berlin", "2025-10-26 02:30 Europe/Berlin",
    "2025-11-02 01:30 America/New_York", "2025-03-09 02:30 America/New_York",
    "*-*-* 02:30 Australia/Lord_Howe", "*-*-* 01:45 Australia/Lord_Howe",
    "*-*-* 05:30 Asia/Kolkata", "daily CET", "daily CEST", "12:00 CET", "12:00 CEST",
    "daily EST", "daily EDT", "12:00 EST", "12:00 EDT", "12:00 IST", "12:00 +1030",
    "12:00 +11", "daily GMT", "daily Etc/GMT-14", "hourly Asia/Kathmandu",
    "*-*-* 02:30 Europe/London", "daily Europe/berlin", "daily Europe//Berlin",
    "Fri 13 *-*-13", "Fri *-*-13", "*-02-29", "*-02-29 12:00", "*-02-30", "*-12-31 23:59:59",
    "*-*-* 23:59:59.999999", "*-*-* 00:00:00.5", "*-*-* *:*:59.5", "2199-12-31",
    "2200-01-01", "1970-01-01", "1969-12-31", "70-01-01", "69-12-31", "99-1-1", "00-1-1",
    "*-*-01..07 Mon", "Mon *-*-01..07", "Mon *-*~01..07", "*-*~01", "*-*~28", "*-*~29",
    "*-02~01", "*-02~28", "*-02~04..01", "Sun *-*~07/1", "*-*-1/3", "*-*-30/1", "*-*-31/1",
    "*-1..12/3-1", "*-*-* 0/5:0/15:0/20", "*-*-* 22..23,0..1:*", "*-*-* 23/2:00",
    "0..23/6:00", "*:00:00.25/0.25", "*:*:0/0.000001", "*:*:0/7.5",
    # chain_valid() subtracts 3 per list item after "~"; upstream #40260 (1 January skipped)
    "*-*~1,2,3,28", "*-*~27,28", "*-*~1,2,3", "*-*~28,1", "*-*-1/11 23:00:00",
]


def _comp(rng: random.Random, lo: int, hi: int, width: int) -> str:
    def v(x: int) -> str:
        return f"{x:0{width}d}" if rng.random() < 0.6 else str(x)
    kind = rng.choice("*vvlrRpPm")
    a = rng.randint(lo, hi)
    b = rng.randint(a, hi)
    r = rng.randint(1, max(1, (hi - lo) // 2))
    if kind == "*":
        return "*"
    if kind == "v":
        return v(a)
    if kind == "l":
        return ",".join(v(rng.randint(lo, hi)) for _ in range(rng.randint(2, 4)))
    if kind == "r":
        return f"{v(a)}..{v(b)}"
    if kind == "R":
        return f"{v(a)}..{v(b)}/{r}"
    if kind == "p":
        return f"{v(a)}/{r}"
    if kind == "P":
        return f"{v(a)},{v(b)}/{r}"
    return f"{v(a)}..{v(b)},{v(rng.randint(lo, hi))}"


def _random_expr(rng: random.Random) -> str:
    parts = []
    if rng.random() < 0.35:
        days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "monday", "Friday", "SUN"]
        k = rng.random()
        if k < 0.4:
            parts.append(",".join(rng.sample(days, rng.randint(1, 3))))
        elif k < 0.8:
            i, j = sorted(rng.sample(range(7), 2))
            sep = ".." if rng.random() < 0.8 else "-"
            parts.append(f"{days[i]}{sep}{days[j]}")
        else:
            parts.append(f"{rng.choice(days)}..{rng.choice(days)},{rng.choice(days)}")
    if rng.random() < 0.75:
        month = _comp(rng, 1, 12, 2)
        if rng.random() < 0.2:
            day = "~" + _comp(rng, 1, 7, 2)
        else:
            day = "-" + _comp(rng, 1, 31, 2)
        if rng.random() < 0.5:
            year = rng.choice(["*", "2025", "2026", "2025..2027", "2024/2", "25", "2025,2030",
                               "2024..2030/3", "2100", "1999"])
            parts.append(f"{year}-{month}{day}")
        else:
            parts.append(f"{month}{day}")
    if rng.random() < 0.85:
        t = f"{_comp(rng, 0, 23, 2)}:{_comp(rng, 0, 59, 2)}"
        if rng.random() < 0.5:
            s = _comp(rng, 0, 59, 2)
            if rng.random() < 0.15 and s[-1].isdigit():
                s += "." + str(rng.randint(0, 999999)).rjust(rng.randint(1, 7), "0")
            t += ":" + s
        parts.append(t)
    expr = " ".join(parts) or "daily"
    if rng.random() < 0.25:
        expr += " " + rng.choice(["UTC", "utc", "Europe/Berlin", "America/New_York",
                                  "Australia/Lord_Howe", "Asia/Kolkata", "CET", "EST",
                                  "Pacific/Auckland", "Asia/Tokyo"])
    return expr


def corpus() -> list[str]:
    rng = random.Random(20251126)
    seen, out = set(), []
    for e in CURATED + [_random_expr(rng) for _ in range(260)]:
        if e not in seen:
            seen.add(e)
            out.append(e)
    return out


def oracle_argv(base: str, exprs: list[str]) -> list[str]:
    return ["systemd-analyze", "calendar", f"--iterations={ITERATIONS}",
            f"--base-time={base}", "--", *exprs]


def strip_from_now(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.lstrip().startswith("From now:"))


def run_oracle(tz: str, base: str, exprs: list[str]) -> dict:
    env = dict(os.environ, TZ=tz, SYSTEMD_COLORS="0", LC_ALL="C")
    p = subprocess.run(oracle_argv(base, exprs), env=env, capture_output=True, text=True,
                       timeout=120)
    return {"stdout": strip_from_now(p.stdout), "stderr": p.stderr, "rc": p.returncode}


def cases() -> list[dict]:
    exprs = corpus()
    out = []
    for tz, bases in SETTINGS:
        for base in bases:
            for i in range(0, len(exprs), BATCH):
                out.append({"tz": tz, "base": base, "exprs": exprs[i:i + BATCH]})
    return out


# DST stress set: zones with odd transitions (30-min shift, negative DST, midnight gaps,
# 2-hour shift), bases shortly before each 2025 transition
DST_OUT = HERE / "oracle-v252-dst.json"
DST_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Europe/Dublin",
             "America/Havana", "America/Santiago", "Pacific/Chatham", "Antarctica/Troll",
             "Europe/London", "Asia/Kolkata"]
DST_EXPRS = [
    "hourly", "minutely", "daily", "weekly", "*:0/15", "*:0/20", "*:30", "*:10,40", "*:00,30",
    "*:59", "*:45", "*:15", "*-*-* 00:00", "*-*-* 00:30", "*-*-* 01:00", "*-*-* 01:30",
    "*-*-* 02:00", "*-*-* 02:15", "*-*-* 02:30", "*-*-* 02:45", "*-*-* 03:00", "*-*-* 03:30",
    "*-*-* 23:00", "*-*-* 23:30", "*-*-* 22:00..23:00/30", "*-*-* 0/2:00", "*-*-* 1/2:30",
    "*-*-* 00..04:*:00", "*:*:30", "*-*-* *:0/7", "Sun *-*-* 02:30", "Sun *:30",
    "*-*-* 01:59:59", "*-*-* 02:59:59", "*-*-* 00:59:59", "*-*-* 23:59:59",
    "*-*~04/2", "*-*~01", "monthly", "*-*-30,31 00:00",
]


def _transitions(zone_name: str, year: int = 2025) -> list[int]:
    """UTC seconds of the zone's offset changes in `year` (minute precision)."""
    import datetime as dt
    import zoneinfo
    z = zoneinfo.ZoneInfo(zone_name)
    t = int(dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc).timestamp())
    end = int(dt.datetime(year + 1, 1, 1, tzinfo=dt.timezone.utc).timestamp())

    def off(x: int):
        return dt.datetime.fromtimestamp(x, z).utcoffset()
    out = []
    while t < end:
        if off(t) != off(t + 3600):
            lo, hi = t, t + 3600
            while hi - lo > 60:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if off(mid) == off(t) else (lo, mid)
            out.append(hi)
        t += 3600
    return out


def _dst_random_exprs() -> list[str]:
    rng = random.Random(7)
    out = []
    while len(out) < 24:
        e = _random_expr(rng)
        if len(e.split()) <= 3 and "/" not in e.split()[-1] and e not in out:
            out.append(e)
    return out


def dst_cases() -> list[dict]:
    import datetime as dt
    out = []
    exprs = DST_EXPRS + _dst_random_exprs()
    for zone in DST_ZONES:
        bases = ["2025-06-04 12:00:00 UTC"]
        for year, befores in ((2025, (5400, 1800, 61, 1)), (2024, (1800, 1)), (2026, (1800, 1))):
            for tr in _transitions(zone, year):
                for before in befores:
                    b = dt.datetime.fromtimestamp(tr - before, dt.timezone.utc)
                    bases.append(b.strftime("%Y-%m-%d %H:%M:%S UTC"))
        for base in bases:
            out.append({"tz": zone, "base": base, "exprs": exprs})
    return out


def record(all_cases: list[dict], path: Path) -> int:
    version = subprocess.run(["systemd-analyze", "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0]
    recorded = [dict(c, **run_oracle(c["tz"], c["base"], c["exprs"])) for c in all_cases]
    path.write_text(json.dumps({"oracle": version, "iterations": ITERATIONS,
                                "cases": recorded}, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{len(recorded)} invocations -> {path}")
    return 0


def main() -> int:
    which = sys.argv[1:] or ["main", "dst"]
    if "main" in which:
        record(cases(), OUT)
    if "dst" in which:
        record(dst_cases(), DST_OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
