"""Differential test against `systemd-analyze calendar` (v252), recorded and live.

The recorded part replays tests/data/calendar/oracle-v252*.json (made by
tests/data/calendar/record_oracle.py): 487 expressions under five time zones and a DST stress
set over ten zones, each invocation `--iterations=5 --base-time=...`. Normalized forms, the
five next elapses (local and UTC lines), error lines and exit codes must match byte for byte;
only the "From now:" lines (real clock) are dropped. The live part re-runs a sample against
the installed systemd-analyze when there is one.
# spec: timers.md §3
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sysvisor.cli.calendar import main

DATA = Path(__file__).resolve().parent.parent / "data" / "calendar"
sys.path.insert(0, str(DATA))
import record_oracle  # noqa: E402  (the corpus and the oracle runner live with the data)

FILES = ["oracle-v252.json", "oracle-v252-dst.json"]
NOW_USEC = 1764143000 * 10**6  # "From now" is dropped anyway


def _load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def _cases():
    for name in FILES:
        data = _load(name)
        for i, case in enumerate(data["cases"]):
            yield pytest.param(data["iterations"], case, id=f"{name}#{i}-{case['tz']}-{case['base']}")


def run_ours(iterations: int, tz: str, base: str, exprs: list[str]) -> dict:
    out, err = io.StringIO(), io.StringIO()
    rc = main([f"--iterations={iterations}", f"--base-time={base}", "--", *exprs],
              environ={"TZ": tz}, now_usec=NOW_USEC, out=out, err=err)
    return {"stdout": record_oracle.strip_from_now(out.getvalue()), "stderr": err.getvalue(),
            "rc": rc}


def _first_difference(want: str, got: str) -> str:
    for a, b in zip(want.split("\n\n"), got.split("\n\n")):
        if a != b:
            return f"oracle:\n{a}\nours:\n{b}"
    return f"oracle:\n{want}\nours:\n{got}"


@pytest.mark.parametrize("iterations,case", list(_cases()))
def test_recorded_oracle(iterations, case):
    ours = run_ours(iterations, case["tz"], case["base"], case["exprs"])
    assert ours["stdout"] == case["stdout"], _first_difference(case["stdout"], ours["stdout"])
    assert ours["stderr"] == case["stderr"]
    assert ours["rc"] == case["rc"]


def test_corpus_size():
    """The brief asks for at least 300 expressions, five zones and DST bases."""
    data = _load("oracle-v252.json")
    exprs = {e for c in data["cases"] for e in c["exprs"]}
    zones = {c["tz"] for c in data["cases"]}
    assert len(exprs) >= 300
    assert {"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
            "Asia/Kolkata"} <= zones
    assert len(_load("oracle-v252-dst.json")["cases"]) >= 100


HAVE_ORACLE = shutil.which("systemd-analyze") is not None


def _oracle_version() -> str:
    p = subprocess.run(["systemd-analyze", "--version"], capture_output=True, text=True)
    return p.stdout.splitlines()[0] if p.stdout else ""


@pytest.mark.skipif(not HAVE_ORACLE, reason="systemd-analyze not installed")
@pytest.mark.parametrize("name", FILES)
def test_live_oracle(name):
    """Every 7th recorded invocation, re-run against the installed systemd-analyze."""
    data = _load(name)
    version = _oracle_version()
    if version.split(" (")[0] != data["oracle"].split(" (")[0]:
        pytest.skip(f"installed {version!r} is not the recorded {data['oracle']!r}")
    for case in data["cases"][::7]:
        live = record_oracle.run_oracle(case["tz"], case["base"], case["exprs"])
        ours = run_ours(data["iterations"], case["tz"], case["base"], case["exprs"])
        assert ours["stdout"] == live["stdout"], _first_difference(live["stdout"], ours["stdout"])
        assert ours["stderr"] == live["stderr"]
        assert ours["rc"] == live["rc"]


@pytest.mark.skipif(not HAVE_ORACLE, reason="systemd-analyze not installed")
def test_live_oracle_fresh_random():
    """Expressions the recording never saw: a new seeded batch each day of the month."""
    import datetime as dt
    import random
    rng = random.Random(dt.date.today().toordinal())
    exprs = [record_oracle._random_expr(rng) for _ in range(40)]
    for tz in ("UTC", "Europe/Berlin", "Australia/Lord_Howe"):
        for base in ("2025-03-30 00:30:00 UTC", "2025-10-04 15:10:00 UTC"):
            live = record_oracle.run_oracle(tz, base, exprs)
            ours = run_ours(5, tz, base, exprs)
            assert ours["stdout"] == live["stdout"], _first_difference(live["stdout"], ours["stdout"])
            assert ours["stderr"] == live["stderr"]
            assert ours["rc"] == live["rc"]
