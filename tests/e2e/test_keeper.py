"""The keeper (daemon/keeper.py) with real processes: `kill -9` of the manager loses no exit
status and needs no human; a second `sysvisor up` is refused while a keeper lives.

Each scenario runs twice, once with the manager killed while the services exit and once
with a manager that watched them: `show` must say the same (the manager's own reaper is
the oracle). # spec: issue 5 "Surviving its own crash"
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import ROOT, Sysvisor, alive, manager_of, proc_state, write_units

PROPS = "ActiveState,SubState,Result,ExecMainCode,ExecMainStatus,NRestarts"


def _units(tmp: Path) -> dict[str, str]:
    def waiter(name: str, status: int) -> str:  # exits with `status` once its trigger file appears
        t = tmp / f"trigger-{name}"
        return f"/bin/sh -c 'while [ ! -e {t} ]; do sleep 0.02; done; rm -f {t}; exit {status}'"

    return {
        "three.service": f"[Service]\nExecStart={waiter('three', 3)}\n",
        "again.service": f"[Service]\nExecStart={waiter('again', 3)}\nRestart=on-failure\nRestartSec=0\n",
        "sig.service": "[Service]\nExecStart=/bin/sleep 600\n",
        "later.service": "[Service]\nExecStart=/bin/sleep 600\nRestart=always\nRestartSec=0\n",
        "kept.service": "[Service]\nExecStart=/bin/sleep 600\nRestart=on-failure\nRestartSec=0\n",
    }


def _start(tmp: Path) -> Sysvisor:
    tmp.mkdir()
    m = Sysvisor(tmp, write_units(tmp / "units", _units(tmp)))
    m.wait_for("the control socket", lambda: m.cli("show", "-p", "Id", "none.service").returncode == 0, timeout=20)
    assert m.cli("start", "three", "again", "sig", "later", "kept").returncode == 0
    return m


def _trigger_exits(m: Sysvisor, tmp: Path, sig_pid: int) -> None:
    for name in ("three", "again"):
        (tmp / f"trigger-{name}").touch()
    os.kill(sig_pid, signal.SIGKILL)


def _props(m: Sysvisor, unit: str) -> list[str]:
    return m.cli("show", unit, "-p", PROPS).stdout.split()


def _pid(m: Sysvisor, unit: str) -> int:
    return int(m.prop(unit, "MainPID"))


def _settled(m: Sysvisor) -> bool:
    return (m.prop("three", "ActiveState") == "failed" and m.prop("sig", "ActiveState") == "failed"
            and m.prop("again", "NRestarts") == "1" and m.prop("again", "SubState") == "running")


@pytest.mark.parametrize("when", ["no manager runs", "the new manager restores"])
def test_exits_while_the_manager_is_dead_come_out_as_if_it_had_seen_them(tmp_path, when):
    # the oracle: a manager that sees every exit itself
    watched = _start(tmp_path / "watched")
    try:
        _trigger_exits(watched, tmp_path / "watched", _pid(watched, "sig"))
        watched.wait_for("the exits", lambda: _settled(watched))
        expected = {u: _props(watched, u) for u in ("three", "again", "sig")}
    finally:
        assert watched.stop() == 0
        watched.log.close()

    tmp = tmp_path / "killed"
    m = _start(tmp)
    try:
        keeper = m.proc.pid
        first = m.wait_for("the manager", lambda: manager_of(keeper))
        pids = {u: _pid(m, u) for u in ("three", "again", "sig", "later", "kept")}
        if when == "no manager runs":
            # hold the keeper still so that the exits certainly happen while no manager runs
            os.kill(keeper, signal.SIGSTOP)
            try:
                os.kill(first, signal.SIGKILL)
                _trigger_exits(m, tmp, pids["sig"])
                m.wait_for("zombies held by the stopped keeper",
                           lambda: all(proc_state(pids[u]) == "Z" for u in ("three", "again", "sig")))
            finally:
                os.kill(keeper, signal.SIGCONT)
            second = m.wait_for("a new manager", lambda: (lambda p: p if p not in (None, first) else None)(manager_of(keeper)))
        else:
            # freeze the new manager as soon as it appears (long before it is ready), then let
            # the services exit: the keeper holds them as zombies until the manager has restored
            os.kill(first, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while (second := manager_of(keeper)) in (None, first):
                assert time.monotonic() < deadline, "no new manager"
            os.kill(second, signal.SIGSTOP)
            try:
                _trigger_exits(m, tmp, pids["sig"])
                m.wait_for("the services' exits", lambda: all(proc_state(pids[u]) in ("Z", "gone") for u in ("three", "again", "sig")))
            finally:
                os.kill(second, signal.SIGCONT)
        m.wait_for("the re-adopted units to settle", lambda: _settled(m))
        for unit, props in expected.items():
            assert _props(m, unit) == props, unit
        assert "ExecMainStatus=3" in expected["three"] and "Result=signal" in expected["sig"]
        assert _pid(m, "again") != pids["again"]  # restarted as Restart=on-failure says
        assert _pid(m, "later") == pids["later"] and m.prop("later", "NRestarts") == "0"
        m.shows("The previous manager (PID %d) was killed by signal 9 (SIGKILL)" % first)

        # the restarted manager keeps supervising: a later crash of a re-adopted service
        # (still the keeper's child) and of one the new manager started are both restarted
        os.kill(pids["later"], signal.SIGSEGV)
        m.wait_for("later restarted", lambda: m.prop("later", "NRestarts") == "1" and m.prop("later", "SubState") == "running")
        assert "later.service: Main process exited, code=killed, status=11/SEGV" in m.cli("logs", "-u", "later", "-o", "cat").stdout
        restarted = _pid(m, "later")
        assert restarted != pids["later"] and alive(restarted)
        os.kill(restarted, signal.SIGKILL)
        m.wait_for("later restarted again", lambda: m.prop("later", "NRestarts") == "2" and m.prop("later", "SubState") == "running")
        assert manager_of(keeper) == second

        # daemon-reexec keeps the link to the keeper and what it reports for
        assert m.cli("daemon-reexec").returncode == 0
        m.wait_for("the re-executed manager", lambda: m.cli("is-active", "later").returncode == 0)
        assert manager_of(keeper) == second
        os.kill(pids["kept"], signal.SIGSEGV)  # still the keeper's child
        m.wait_for("kept restarted", lambda: m.prop("kept", "NRestarts") == "1" and m.prop("kept", "SubState") == "running")
        assert "kept.service: Main process exited, code=killed, status=11/SEGV" in m.cli("logs", "-u", "kept", "-o", "cat").stdout
        assert m.shows("restarting it").count("restarting it") == 1  # the one kill -9 above, nothing else
    finally:
        assert m.stop() == 0
        m.log.close()
    assert not any(alive(p) for p in pids.values())


def test_a_second_up_is_refused_while_a_keeper_lives(run, tmp_path):
    m = run({"web.service": "[Service]\nExecStart=/bin/sleep 600\n"})
    keeper = m.proc.pid
    manager = m.wait_for("the manager", lambda: manager_of(keeper))
    second = subprocess.run(
        [sys.executable, "-m", "sysvisor", "up", "--units", str(tmp_path / "units"), "--runtime-dir", str(tmp_path / "run"),
         "--state-dir", str(tmp_path / "state")],
        env=m.env, capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert f"a manager already runs for this runtime directory (PID {keeper}," in second.stderr
    assert manager_of(keeper) == manager  # nothing disturbed


def test_killing_the_keeper_takes_the_manager_along_and_the_services_survive(run, tmp_path):
    m = run({"web.service": "[Service]\nExecStart=/bin/sleep 600\n"})
    assert m.cli("start", "web").returncode == 0
    web = _pid(m, "web")
    manager = m.wait_for("the manager", lambda: manager_of(m.proc.pid))
    m.proc.kill()
    m.proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while proc_state(manager) not in ("gone", "Z"):  # PR_SET_PDEATHSIG
        assert time.monotonic() < deadline, "the manager outlived its keeper"
        time.sleep(0.02)
    assert alive(web)
    os.kill(web, signal.SIGKILL)
    for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:  # the orphaned journal relay
        if str(tmp_path) in _cmd(pid) and "sysvisor.journal.relay" in _cmd(pid):
            os.kill(pid, signal.SIGTERM)


def test_no_keeper_runs_the_manager_directly(tmp_path):
    units = write_units(tmp_path / "units", {"web.service": "[Service]\nExecStart=/bin/sleep 600\n"})
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), SYSVISOR_SOCKET=str(tmp_path / "run" / "control"))
    proc = subprocess.Popen([sys.executable, "-m", "sysvisor", "up", "--no-keeper", "--units", str(units),
                             "--runtime-dir", str(tmp_path / "run"), "--state-dir", str(tmp_path / "state")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while subprocess.run([sys.executable, "-m", "sysvisor", "show", "-p", "Id", "x.service"], env=env,
                             capture_output=True).returncode != 0:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        assert manager_of(proc.pid) is None and "keeper.py" not in _cmd(proc.pid)
        # it holds the runtime directory as a keeper would: no second manager beside it
        second = subprocess.run([sys.executable, "-m", "sysvisor", "up", "--units", str(units), "--runtime-dir",
                                 str(tmp_path / "run"), "--state-dir", str(tmp_path / "state")],
                                env=env, capture_output=True, text=True, timeout=30)
        assert second.returncode == 1 and f"already runs for this runtime directory (PID {proc.pid}," in second.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def _cmd(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def test_a_restarted_manager_keeps_targets_and_does_not_boot_again(run):
    # a unit stopped on purpose stays stopped after the manager's crash (as after systemd's
    # daemon-reexec): the saved state holds the targets, so there is no second boot
    enabled = "[Service]\nExecStart=/bin/sleep 600\n[Install]\nWantedBy=multi-user.target\n"
    m = run({"web.service": enabled, "api.service": enabled})
    m.wait_for("both up", lambda: m.prop("web", "ActiveState") == m.prop("api", "ActiveState") == "active")
    assert m.cli("stop", "web").returncode == 0
    target_since = m.prop("multi-user.target", "ActiveEnterTimestampMonotonic")
    api = _pid(m, "api")
    first = m.wait_for("the manager", lambda: manager_of(m.proc.pid))
    os.kill(first, signal.SIGKILL)
    m.wait_for("a new manager", lambda: manager_of(m.proc.pid) not in (None, first)
               and m.prop("api", "MainPID") == str(api))
    assert m.prop("web", "ActiveState") == "inactive"
    assert m.prop("multi-user.target", "ActiveState") == "active"
    assert m.prop("multi-user.target", "ActiveEnterTimestampMonotonic") == target_since
