"""Timers keep their runtime across daemon-reexec and a manager killed with SIGKILL, as
systemd's timer_serialize()/timer_coldplug() keep them: state, last trigger, invocation ID,
and the schedule of OnUnitActiveSec=. # spec: issue 5, timers.md §2
"""

from __future__ import annotations

from harness import Sysvisor, write_units

UNITS = {
    # OnBootSec= lies in the past at boot: the first run comes at once, then hourly
    "hourly.timer": "[Timer]\nOnBootSec=1s\nOnUnitActiveSec=1h\nAccuracySec=1us\n[Install]\nWantedBy=timers.target\n",
}
KEPT = ("ActiveState", "SubState", "Result", "LastTriggerUSecMonotonic", "InvocationID",
        "NextElapseUSecMonotonic", "ActiveEnterTimestampMonotonic")


def _units(tmp_path):
    out = tmp_path / "runs"
    return out, {**UNITS, "hourly.service": f"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo run >> {out}'\n"}


def _settled(m: Sysvisor, out) -> dict[str, str]:
    m.wait_for("the first run", lambda: out.exists() and out.read_text() == "run\n", timeout=20)
    m.wait_for("the timer to wait for the next hour",
               lambda: m.prop("hourly.timer", "SubState") == "waiting"
               and m.prop("hourly.service", "ActiveState") == "inactive", timeout=20)
    return {k: m.prop("hourly.timer", k) for k in KEPT}


def test_on_unit_active_sec_keeps_its_schedule_across_daemon_reexec(run, tmp_path):
    out, units = _units(tmp_path)
    m = run(units)
    before = _settled(m, out)
    assert before["NextElapseUSecMonotonic"] not in ("", "0", "infinity")
    assert m.cli("daemon-reexec").returncode == 0
    m.wait_for("the re-executed manager", lambda: m.output().count("running in") == 2, timeout=20)
    after = {k: m.prop("hourly.timer", k) for k in KEPT}
    assert after == before
    assert out.read_text() == "run\n"  # no second run: the enabled timer was not started afresh


def test_timer_state_survives_a_killed_manager(tmp_path):
    out, units = _units(tmp_path)
    m1 = Sysvisor(tmp_path, write_units(tmp_path / "units", units))
    m1.wait_for("the control socket", lambda: m1.cli("show", "-p", "Id", "none.service").returncode == 0, timeout=20)
    before = _settled(m1, out)
    m1.proc.kill()
    m1.proc.wait(timeout=30)
    m1.log.close()
    m2 = Sysvisor(tmp_path, write_units(tmp_path / "units", units))
    try:
        m2.wait_for("the new manager", lambda: m2.cli("show", "-p", "Id", "none.service").returncode == 0, timeout=20)
        assert {k: m2.prop("hourly.timer", k) for k in KEPT} == before
        assert out.read_text() == "run\n"
    finally:
        assert m2.stop() == 0
        m2.log.close()
