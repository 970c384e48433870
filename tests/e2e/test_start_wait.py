"""`start --wait` / `restart --wait`: return once the units have stopped again, exit 1 if one
ended failed; replayed against systemctl 257 (tests/data/oracle/cli/start-wait-257.json,
units in start-wait/: oneshot and simple services that run 0.5 s and exit 0 or not).
# issue 6 (CLI scope: systemctl's options, exit codes exactly as systemctl)"""

from __future__ import annotations

import json
from pathlib import Path

from harness import Sysvisor

DATA = Path(__file__).resolve().parents[1] / "data" / "oracle" / "cli"


def test_start_wait_as_systemctl(tmp_path):
    units = tmp_path / "units"
    units.mkdir()
    for f in (DATA / "start-wait").iterdir():
        (units / f.name).write_text(f.read_text())
    asked = json.loads((DATA / "start-wait.scenario.json").read_text())
    answered = json.loads((DATA / "start-wait-257.json").read_text())["scenarios"][0]["steps"]
    m = Sysvisor(tmp_path, units)
    try:
        m.wait_for("the control socket", lambda: m.cli("show", "-p", "Id", "none.service").returncode == 0, timeout=20)
        for step, theirs in zip(asked, answered, strict=True):
            got = m.cli("--no-pager", *step["args"])
            want = theirs["stderr"].replace('"systemctl status', '"sysvisor status').replace('"journalctl -xeu ', '"sysvisor logs -u ')
            assert (step["args"], got.returncode, got.stderr) == (step["args"], theirs["rc"], want)
            if step["args"][:2] in (["start", "--wait"], ["restart", "--wait"]) and got.returncode == 0:
                for unit in step["args"][2:]:  # returned only once they had stopped again
                    assert m.prop(unit, "ActiveState") == "inactive", unit
    finally:
        m.stop()
