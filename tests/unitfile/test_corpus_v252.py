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
HAVE_CALENDAR = importlib.util.find_spec("sysvisor.core.calendar") is not None
ANALYZE = shutil.which("systemd-analyze")


def _normalise(lines):
    out = [line.replace(str(DATA) + "/", "") for line in lines]
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
