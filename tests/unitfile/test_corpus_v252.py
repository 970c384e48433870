"""Differential test: `verify()` against `systemd-analyze verify` (v252) on a corpus of broken and
tricky unit files (tests/data/unitfile/verify252). Each NAME has NAME.expected recorded from v252
(directory prefix removed); where `systemd-analyze` is installed the live output is compared too.
# spec: unit-files.md §7
"""

import importlib.util
import pathlib
import shutil
import subprocess

import pytest

from sysvisor.unitfile.specifier import HostFacts
from sysvisor.unitfile.verify import verify

DATA = pathlib.Path(__file__).parent.parent / "data" / "unitfile" / "verify252"
UNITS = sorted(p.name for p in DATA.iterdir()
               if not p.is_dir() and p.suffix not in (".expected", ".conf", ".txt"))
TIMERS = pathlib.Path(__file__).parent.parent / "data" / "unitfile" / "verify252-timers"
HAVE_CALENDAR = importlib.util.find_spec("sysvisor.core.calendar") is not None
ANALYZE = shutil.which("systemd-analyze")


def _normalise(lines, data=DATA):
    out = [line.replace(str(data) + "/", "") for line in lines]
    if not HAVE_CALENDAR:  # OnCalendar= is validated by core.calendar (another branch)
        out = [line for line in out if "calendar specification" not in line]
    return out


def _mine(unit):
    lines, rc = verify([str(DATA / unit)], host=HostFacts())
    return _normalise(lines), rc


@pytest.mark.parametrize("unit", UNITS)
def test_matches_recorded_v252(unit):
    expected = _normalise((DATA / f"{unit}.expected").read_text().splitlines())
    got, rc = _mine(unit)
    assert got == expected
    refused = any(l.startswith(("Unit ", f"{unit}: Failed to create", f"{unit}: Command")) for l in expected)
    assert (rc != 0) == refused


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed")
@pytest.mark.parametrize("unit", UNITS)
def test_matches_live_systemd_analyze(unit):
    run = subprocess.run([ANALYZE, "verify", "--man=no", str(DATA / unit)], capture_output=True, text=True)
    got, rc = _mine(unit)
    assert got == _normalise(run.stderr.splitlines())
    assert (rc != 0) == (run.returncode != 0)


@pytest.mark.parametrize("timer", sorted(p.name for p in TIMERS.glob("*.timer")))
def test_random_timers_match_recorded_v252(timer):
    expected = _normalise((TIMERS / f"{timer}.expected").read_text().splitlines(), TIMERS)
    lines, rc = verify([str(TIMERS / timer)], host=HostFacts())
    got = _normalise(lines, TIMERS)
    if not HAVE_CALENDAR and any("calendar specification" in line for line in
                                 (TIMERS / f"{timer}.expected").read_text().splitlines()):
        pytest.skip("needs core.calendar to refuse the calendar expression")
    assert got == expected


DROPINS = pathlib.Path(__file__).parent.parent / "data" / "unitfile" / "verify252-dropins"


@pytest.mark.parametrize("unit", sorted(str(p.relative_to(DROPINS)) for p in DROPINS.glob("c*/*.service")))
def test_random_dropins_match_recorded_v252(unit):
    expected = _normalise((DROPINS / f"{unit}.expected").read_text().splitlines(), DROPINS)
    lines, rc = verify([str(DROPINS / unit)], host=HostFacts())
    strip = lambda ls: [l.split("/start: ", 1)[0] if "Failed to create" in l else l for l in ls]
    assert strip(_normalise(lines, DROPINS)) == strip(expected)
