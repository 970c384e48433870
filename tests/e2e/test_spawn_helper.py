"""The manager's spawn helper (daemon/spawner.py) as seen from outside: units start through
it, and a helper that dies is replaced without a unit noticing.
"""

from __future__ import annotations

import os
import signal

import pytest
from harness import alive

from sysvisor.daemon import exec_helper


def helpers_of(manager_pid: int, name: str = "sysvisor-spawn") -> list[int]:
    """PIDs of the manager's children named `name` (the Python helper; sysvisor-exec: the native one)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if comm == name and int(fields[1]) == manager_pid and fields[0] != "Z":
            found.append(int(entry))
    return found


# a plain unit is started by the native helper (./test.sh builds it), or by the Python helper
# when the native one is switched off
@pytest.mark.parametrize("helper_name", ["sysvisor-exec", "sysvisor-spawn"])
def test_units_start_as_children_of_the_manager_and_a_dead_helper_is_replaced(run, helper_name, monkeypatch):
    if helper_name == "sysvisor-exec":
        exec_helper.find_or_build()
    if helper_name == "sysvisor-spawn":
        monkeypatch.setenv("SYSVISOR_EXEC_HELPER", "0")
    m = run({"svc.service": "[Service]\nExecStart=/bin/sleep 600\nRestart=always\nRestartSec=0\n"})
    assert m.cli("start", "svc").returncode == 0
    first = int(m.prop("svc", "MainPID"))
    manager = m.manager_pid()
    with open(f"/proc/{first}/stat") as f:
        assert int(f.read().rsplit(")", 1)[1].split()[1]) == manager  # the manager's child
    (helper,) = m.wait_for("the spawn helper", lambda: helpers_of(manager, helper_name))
    os.kill(helper, signal.SIGKILL)
    m.wait_for("the helper gone", lambda: not alive(helper))
    os.kill(first, signal.SIGKILL)  # the restart needs a spawn: the fork path, then a new helper
    m.wait_for("a restart", lambda: m.prop("svc", "MainPID") not in ("0", str(first)) and m.prop("svc", "ActiveState") == "active")
    second = int(m.prop("svc", "MainPID"))
    os.kill(second, signal.SIGKILL)
    m.wait_for("a second restart", lambda: m.prop("svc", "MainPID") not in ("0", str(first), str(second)))
    assert m.prop("svc", "NRestarts") == "2"
    (new_helper,) = helpers_of(manager, helper_name)
    assert new_helper != helper
    # only the helper that died is replaced
    m.shows("starting a new native exec helper" if helper_name == "sysvisor-exec" else "starting a new spawn helper")
    if helper_name == "sysvisor-exec":
        assert "starting a new spawn helper" not in m.output()


def test_a_stopped_units_cgroup_is_removed_and_so_is_the_managers_at_exit(run):
    m = run({"svc.service": "[Service]\nExecStart=/bin/sleep 600\n"})
    assert m.cli("start", "svc").returncode == 0
    group = m.prop("svc", "ControlGroup")
    if not group.startswith("/"):
        pytest.skip("no cgroup containment here")
    mount = next(line.split()[4] for line in open("/proc/self/mountinfo") if " - cgroup2 " in line)
    path = mount + group
    assert os.path.isdir(path)
    assert m.cli("stop", "svc").returncode == 0
    assert not os.path.exists(path)  # pruned once stopped and empty
    assert m.cli("start", "svc").returncode == 0  # and made anew for the next start
    assert os.path.isdir(path)
    assert m.stop() == 0
    assert not os.path.exists(os.path.dirname(path))  # the manager's own directory, at exit


def test_control_group_kill_reaches_a_grandchild_on_stop_and_after_the_main_exit(run, tmp_path):
    # KillMode=control-group (the default): everything in the unit's cgroup goes, also what
    # the main process left behind in the background
    stays = tmp_path / "stays.pid"
    leaves = tmp_path / "leaves.pid"
    m = run({
        "stays.service": f"[Service]\nExecStart=/bin/sh -c 'sleep 1000 & echo $$! > {stays}; exec sleep 1000'\n",
        "leaves.service": f"[Service]\nExecStart=/bin/sh -c 'sleep 1000 & echo $$! > {leaves}'\n",
    })
    assert m.cli("start", "stays", "leaves").returncode == 0
    grandchild = int(m.wait_for("the stays grandchild", lambda: stays.exists() and stays.read_text().strip()))
    left = int(m.wait_for("the leaves grandchild", lambda: leaves.exists() and leaves.read_text().strip()))
    assert alive(grandchild)
    m.wait_for("the leftover killed once the main process exited", lambda: not alive(left))
    assert m.prop("leaves", "ActiveState") == "inactive"
    assert m.cli("stop", "stays").returncode == 0
    m.wait_for("the grandchild killed by the stop", lambda: not alive(grandchild))


def test_daemon_reexec_leaves_one_helper_of_each_kind_and_restarts_still_take_them(run):
    # the re-executed manager starts its own helpers; the old ones see their sockets close,
    # exit, and are reaped (no zombie, no second pair)
    exec_helper.find_or_build()
    m = run({"svc.service": "[Service]\nExecStart=/bin/sleep 600\nRestart=always\nRestartSec=0\n"})
    assert m.cli("start", "svc").returncode == 0
    manager = m.manager_pid()
    before = {name: m.wait_for(name, lambda n=name: helpers_of(manager, n)) for name in ("sysvisor-spawn", "sysvisor-exec")}
    assert m.cli("daemon-reexec").returncode == 0
    m.wait_for("the re-executed manager", lambda: m.cli("is-active", "svc").returncode == 0)
    after = {}
    for name, (old,) in before.items():
        m.wait_for(f"the old {name} gone", lambda o=old: not alive(o))
        (after[name],) = m.wait_for(f"a new {name}", lambda n=name: helpers_of(manager, n))
        assert after[name] != old
    first = m.prop("svc", "MainPID")
    os.kill(int(first), signal.SIGKILL)
    m.wait_for("the restart", lambda: m.prop("svc", "MainPID") not in ("0", first) and m.prop("svc", "ActiveState") == "active")
    assert {name: helpers_of(manager, name) for name in after} == {name: [pid] for name, pid in after.items()}
