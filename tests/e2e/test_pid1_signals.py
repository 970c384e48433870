"""sysvisor as PID 1 of a PID namespace (`unshare --pid --fork`, as in a container): systemd's
PID-1 signals, and the reboot variants of FailureAction= restarting every unit in place.
# spec: issue 5 "Container PID 1"; daemon/objective.py for the table"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import ROOT, children, console_shows, proc_state, write_units

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                reason="PID namespaces need root (CI runs as root)")
RT = signal.SIGRTMIN
WEB = "[Service]\nExecStart=/bin/sleep 600\n[Install]\nWantedBy=multi-user.target\n"


class Pid1:
    """`sysvisor up` as PID 1 of a new PID namespace, driven from outside."""

    def __init__(self, tmp: Path, units: dict[str, str], *extra: str) -> None:
        self.env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), SYSVISOR_SOCKET=str(tmp / "run" / "control"))
        self.log = open(tmp / "pid1.log", "w+")
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-m", "sysvisor", "up", *extra,
             "--units", str(write_units(tmp / "units", units)), "--runtime-dir", str(tmp / "run"), "--state-dir", str(tmp / "state")],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self.init = self.wait("PID 1 of the namespace", lambda: children(self.proc.pid)[:1])[0]
        self.wait("the control socket", lambda: self.cli("show", "-p", "Id", "x.service").returncode == 0)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sysvisor", *args], env=self.env, capture_output=True, text=True, timeout=30)

    def prop(self, unit: str, name: str) -> str:
        return self.cli("show", unit, "-p", name, "--value").stdout.strip()

    def signal(self, sig: int) -> None:
        os.kill(self.init, sig)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def wait(self, what: str, predicate, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.proc.poll() is not None:
                pytest.fail(f"the namespace ended ({self.proc.returncode}) while waiting for {what}:\n{self.output()[-3000:]}")
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}:\n{self.output()[-3000:]}")

    def shows(self, *texts: str) -> str:
        return console_shows(self.wait, self.output, texts)

    def running_again(self, unit: str, old_pid: str) -> bool:
        return self.prop(unit, "MainPID") not in ("0", "", old_pid) and self.prop(unit, "ActiveState") == "active"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def pid1(tmp_path):
    started = []

    def start(units, *extra):
        p = Pid1(tmp_path, units, *extra)
        started.append(p)
        return p

    yield start
    for p in started:
        p.close()


def test_the_keeper_is_pid_1_and_the_manager_its_child(pid1):
    p = pid1({"web.service": WEB})
    with open(f"/proc/{p.init}/status") as f:
        assert re.search(r"^NSpid:\s+\d+\s+1$", f.read(), re.M)
    with open(f"/proc/{p.init}/cmdline", "rb") as f:
        assert b"keeper.py" in f.read()
    p.signal(signal.SIGTERM)
    assert p.proc.wait(timeout=30) == 0
    assert "Stopped web.service" in p.output()


def test_sigrtmin_5_reboots_in_place_and_sigrtmin_3_halts(pid1):
    # even with --allow-host-reboot: a PID namespace is a container, the host is never rebooted
    p = pid1({"web.service": WEB}, "--allow-host-reboot")
    p.wait("web", lambda: p.prop("web", "ActiveState") == "active")
    web = p.prop("web", "MainPID")
    p.signal(RT + 5)
    p.wait("web started again after the reboot", lambda: p.running_again("web", web))
    p.wait("a fresh manager image, same keeper", lambda: p.output().count("running in system mode") == 2)
    out = p.shows("Received SIGRTMIN+5, rebooting.", "Stopped web.service", "All units stopped for reboot; starting them again in place")
    assert "restarting it" not in out and "The previous manager" not in out  # an exec, not a crash
    assert p.proc.poll() is None
    p.signal(RT + 3)
    assert p.proc.wait(timeout=30) == 0
    assert "Received SIGRTMIN+3, halting." in p.output()


def test_immediate_reboot_kills_then_starts_again_and_immediate_poweroff_exits(pid1):
    p = pid1({"web.service": "[Service]\nExecStart=/bin/sleep 600\nExecStop=/bin/sh -c 'echo graceful stop'\n"
                             "[Install]\nWantedBy=multi-user.target\n"})
    p.wait("web", lambda: p.prop("web", "ActiveState") == "active")
    web = p.prop("web", "MainPID")
    p.signal(RT + 15)
    p.wait("web started again", lambda: p.running_again("web", web))
    p.shows("Received SIGRTMIN+15, immediately rebooting.")
    assert "graceful stop" not in p.output()  # killed, not stopped
    assert "restarting it" not in p.output()
    p.signal(RT + 14)
    assert p.proc.wait(timeout=30) == 0
    assert "graceful stop" not in p.output()


def test_other_signals_mean_what_they_mean_to_systemd_and_reach_no_service(pid1):
    p = pid1({"web.service": "[Service]\nExecStart=/bin/sh -c 'trap \"echo got-signal\" USR1 USR2 WINCH; "
                             "while :; do sleep 0.1; done'\n[Install]\nWantedBy=multi-user.target\n"})
    p.wait("web", lambda: p.prop("web", "ActiveState") == "active")
    web = p.prop("web", "MainPID")
    for sig in (signal.SIGUSR1, signal.SIGWINCH, RT + 1, signal.SIGUSR2):
        p.signal(sig)
    p.wait("the state dump", lambda: "-> Unit web.service: active (running)" in p.output())
    assert "Received SIGUSR2, dumping the manager state." in p.output()
    assert p.prop("web", "MainPID") == web and p.prop("web", "ActiveState") == "active"
    assert "got-signal" not in p.cli("logs", "-u", "web", "-o", "cat").stdout
    p.signal(signal.SIGTERM)
    assert p.proc.wait(timeout=30) == 0


def test_failure_action_reboot_restarts_every_unit_in_place(pid1, tmp_path):
    flag = tmp_path / "failed-once"
    p = pid1({
        "web.service": WEB,
        # fails on its first run only; after the "reboot" it runs
        "critical.service": f"[Unit]\nFailureAction=reboot\n[Service]\nExecStart=/bin/sh -c '[ -e {flag} ] && exec sleep 600; "
                            f"touch {flag}; sleep 0.5; exit 1'\n[Install]\nWantedBy=multi-user.target\n",
    })
    p.wait("web", lambda: p.prop("web", "ActiveState") == "active")
    web = p.prop("web", "MainPID")
    p.wait("web started again after the reboot", lambda: p.running_again("web", web), timeout=40)
    p.wait("critical running", lambda: p.prop("critical", "SubState") == "running")
    out = p.shows("Rebooting: unit critical.service failed", "Stopped web.service")
    assert p.proc.poll() is None  # still running: nothing rebooted, nothing exited
    assert "restarting it" not in out and "The previous manager" not in out
    p.signal(signal.SIGTERM)
    assert p.proc.wait(timeout=30) == 0


def test_soft_reboot_without_a_keeper_keeps_pid_1(pid1):
    p = pid1({"web.service": WEB}, "--no-keeper")
    with open(f"/proc/{p.init}/cmdline", "rb") as f:
        assert b"keeper.py" not in f.read()
    p.wait("web", lambda: p.prop("web", "ActiveState") == "active")
    web = p.prop("web", "MainPID")
    p.signal(RT + 7)
    p.wait("web started again", lambda: p.running_again("web", web))
    assert children(p.proc.pid)[:1] == [p.init]  # the same process: re-executed in place
    p.signal(signal.SIGTERM)
    assert p.proc.wait(timeout=30) == 0


@pytest.mark.skipif(shutil.which("nsenter") is None, reason="needs nsenter")
def test_no_zombie_lingers_neither_under_the_manager_nor_under_the_keeper(pid1):
    # litter.service leaves orphans (re-parented to the manager, the subreaper of its units);
    # a `docker exec`-like process that enters the namespace leaves one for PID 1, the keeper
    p = pid1({"litter.service": "[Service]\nExecStart=/bin/sh -c 'while :; do (sleep 0.1 &); sleep 0.3; done'\n"
                                "[Install]\nWantedBy=multi-user.target\n"})
    p.wait("litter", lambda: p.prop("litter", "ActiveState") == "active")
    manager = p.wait("the manager", lambda: [c for c in children(p.init) if b"--keeper-fd" in _cmdline(c)][:1])[0]
    for _ in range(3):
        subprocess.run(["nsenter", "-t", str(p.init), "--pid", "--mount", "--", "/bin/sh", "-c", "sleep 0.2 & exit 0"],
                       check=True, timeout=30)
    seen_at_keeper = set()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        for parent in (p.init, manager):
            kids = children(parent)
            if parent == p.init:
                seen_at_keeper.update(k for k in kids if k != manager and b"sleep" in _cmdline(k))
            zombies = [k for k in kids if proc_state(k) == "Z"]
            assert len(zombies) <= 1, f"zombies left unreaped under {parent}: {zombies}"  # one may be mid-reap
        time.sleep(0.05)
    assert seen_at_keeper, "the exec'd orphans were re-parented to the keeper"
    assert not [k for k in children(p.init) if k != manager and proc_state(k) == "Z"]
    p.signal(signal.SIGTERM)
    assert p.proc.wait(timeout=30) == 0


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def test_success_action_kexec_force_kills_and_starts_everything_again(pid1, tmp_path):
    flag = tmp_path / "succeeded-once"
    p = pid1({
        "web.service": "[Service]\nExecStart=/bin/sleep 600\nExecStop=/bin/sh -c 'echo graceful stop'\n"
                       "[Install]\nWantedBy=multi-user.target\n",
        # succeeds on its first run only (then the action would loop)
        "once.service": f"[Unit]\nSuccessAction=kexec-force\n[Service]\nType=oneshot\n"
                        f"ExecStart=/bin/sh -c '[ -e {flag} ] && exit 1; touch {flag}; sleep 0.5'\n"
                        f"[Install]\nWantedBy=multi-user.target\n",
    })
    p.wait("web", lambda: p.prop("web", "ActiveState") == "active")
    web = p.prop("web", "MainPID")
    p.wait("web started again", lambda: p.running_again("web", web), timeout=40)
    p.wait("once ran again", lambda: p.prop("once", "ActiveState") == "failed")
    out = p.shows("Forcibly rebooting via kexec: unit once.service succeeded")
    assert "graceful stop" not in out and "restarting it" not in out
    p.signal(signal.SIGTERM)
    assert p.proc.wait(timeout=30) == 0


def test_isolating_reboot_target_restarts_in_place_and_poweroff_target_exits(pid1):
    # reaching reboot.target asks for what FailureAction=reboot asks for (core/job_runner.py
    # FINAL_TARGETS): the same restart in place, not an exit
    p = pid1({"web.service": WEB})
    p.wait("web", lambda: p.prop("web", "ActiveState") == "active")
    web = p.prop("web", "MainPID")
    assert p.cli("isolate", "reboot.target").returncode == 0
    p.wait("web started again after the reboot", lambda: p.running_again("web", web))
    p.shows("All units stopped for reboot; starting them again in place")
    assert p.proc.poll() is None
    p.cli("isolate", "--no-block", "poweroff.target")
    assert p.proc.wait(timeout=30) == 0
    assert "starting them again in place" not in p.output().split("running in system mode")[-1]


def test_reboot_verb_restarts_in_place_and_halt_verb_exits(pid1):
    # systemctl reboot/halt: start reboot.target/halt.target irreversibly; reaching them runs
    # what FailureAction=reboot/halt would
    p = pid1({"web.service": WEB})
    p.wait("web", lambda: p.prop("web", "ActiveState") == "active")
    web = p.prop("web", "MainPID")
    assert p.cli("reboot").returncode == 0
    p.wait("web started again after the reboot", lambda: p.running_again("web", web))
    p.shows("All units stopped for reboot; starting them again in place")
    assert p.cli("halt").returncode == 0
    assert p.proc.wait(timeout=30) == 0
