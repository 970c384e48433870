"""Differential: enable/disable/mask/unmask/is-enabled with a manager running, against what
systemctl 257 printed for the same calls on the same unit files
(tests/data/oracle/cli/unit-file-verbs-257.json, from unit-file-verbs.scenario.json): 257's
words (paths quoted, "Failed to enable unit: Unit … is masked", the longer "no installation
config" note, also for a disable that removes nothing), a masked unit, a mask of a unit
that does not exist, and the manager's built-in targets counted as existing.
systemd's /etc/systemd/system is sysvisor's --units folder here.
# issue 6 (offline verbs; "exit codes exactly as systemctl"); systemd: install_changes_dump()"""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness import Sysvisor

DATA = Path(__file__).resolve().parents[1] / "data" / "oracle" / "cli"


def test_unit_file_verbs_say_what_systemctl_257_says(tmp_path):
    units = tmp_path / "units"
    units.mkdir()
    for f in (DATA / "unit-file-verbs").iterdir():
        (units / f.name).write_text(f.read_text())
    asked = json.loads((DATA / "unit-file-verbs.scenario.json").read_text())
    answered = json.loads((DATA / "unit-file-verbs-257.json").read_text())["scenarios"][0]["steps"]
    m = Sysvisor(tmp_path, units)
    try:
        m.wait_for("the control socket", lambda: m.cli("show", "-p", "Id", "none.service").returncode == 0, timeout=20)
        for step, theirs in zip(asked, answered, strict=True):
            if step["do"] == "exec":  # ln -s /dev/null /etc/systemd/system/m.service; daemon-reload
                os.symlink("/dev/null", units / "m.service")
                assert m.cli("daemon-reload").returncode == 0
                continue
            got = m.cli("--no-pager", *step["args"])
            here = lambda text: text.replace("/etc/systemd/system", str(units))  # noqa: E731
            assert (step["args"], got.returncode, got.stderr, got.stdout) == (
                step["args"], theirs["rc"], here(theirs["stderr"]), here(theirs["stdout"]))
    finally:
        m.stop()
