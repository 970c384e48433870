"""Differential: `sysvisor verify` and `systemd-analyze verify` say the same things about every
unit file shipped on this machine (issue 3 acceptance), kind by kind.

`--man=no` for systemd: its man-page lookups depend on which manuals are installed.
"""

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = next((d for d in ("/lib/systemd/system", "/usr/lib/systemd/system") if os.path.isdir(d)), None)
KINDS = ("service", "socket", "timer", "target", "path", "mount")


@pytest.mark.skipif(DIRECTORY is None or shutil.which("systemd-analyze") is None, reason="test.sh installs systemd")
@pytest.mark.parametrize("kind", KINDS)
def test_same_findings_as_systemd_analyze(kind):
    files = sorted(glob.glob(f"{DIRECTORY}/*.{kind}"))
    if not files:
        pytest.skip(f"no .{kind} units shipped here")
    theirs = subprocess.run(["systemd-analyze", "verify", "--man=no", *files], capture_output=True, text=True, timeout=300)
    ours = subprocess.run([sys.executable, "-m", "sysvisor", "verify", *files], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert sorted((ours.stdout + ours.stderr).splitlines()) == sorted((theirs.stdout + theirs.stderr).splitlines())
    assert (ours.returncode == 0) == (theirs.returncode == 0)
