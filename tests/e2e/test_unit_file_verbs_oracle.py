"""Differential: enable/disable/mask/unmask/is-enabled with a manager running, against what
systemctl 257 printed for the same calls on the same unit files
(tests/data/oracle/cli/unit-file-verbs*-257.json, from unit-file-verbs*.scenario.json):
257's words (paths quoted, "Failed to enable unit: Unit … is masked", "File '…' already
exists", "Cannot alias …", the longer "no installation config" note), a masked unit, a
mask of a unit that does not exist, an alias another unit owns, the manager's built-in
targets counted as existing. systemd's /etc/systemd/system is sysvisor's --units folder.
# issue 6 (offline verbs; "exit codes exactly as systemctl"); systemd: install_changes_dump()"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness import Sysvisor

DATA = Path(__file__).resolve().parents[1] / "data" / "oracle" / "cli"


@pytest.mark.parametrize("recording", ["unit-file-verbs", "unit-file-verbs2"])
def test_unit_file_verbs_say_what_systemctl_257_says(tmp_path, recording):
    units = tmp_path / "units"
    units.mkdir()
    for f in (DATA / recording).iterdir():
        (units / f.name).write_text(f.read_text())
    asked = json.loads((DATA / f"{recording}.scenario.json").read_text())
    answered = json.loads((DATA / f"{recording}-257.json").read_text())["scenarios"][0]["steps"]

    def here(text: str) -> str:
        return text.replace("/etc/systemd/system", str(units))

    m = Sysvisor(tmp_path, units)
    try:
        m.wait_for("the control socket", lambda: m.cli("show", "-p", "Id", "none.service").returncode == 0, timeout=20)
        for step, theirs in zip(asked, answered, strict=True):
            if step["do"] == "exec":  # a shell command on the unit folder (ln -s, mkdir …), then perhaps daemon-reload
                command = here(step["argv"][2]).replace("systemctl", f"{sys.executable} -m sysvisor")
                assert subprocess.run(["sh", "-c", command], env=m.env, timeout=30).returncode == 0
                continue
            got = m.cli("--no-pager", *step["args"])
            assert (step["args"], got.returncode, got.stderr, got.stdout) == (
                step["args"], theirs["rc"], here(theirs["stderr"]), here(theirs["stdout"]))
    finally:
        m.stop()
