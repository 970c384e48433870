"""The daemon with real processes: sd_notify readiness, the watchdog, Type=exec failures,
FailureAction=exit, and PID 1 in a PID namespace.

# spec: notify-and-watchdog.md; service-lifecycle.md §2 (Type=), §8.3; restart-and-failure.md §9
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from harness import ROOT, children, proc_state, write_units


@pytest.mark.skipif(shutil.which("systemd-notify") is None, reason="test.sh installs systemd-notify")
def test_type_notify_start_waits_for_ready_from_systemd_notify(run):
    m = run({
        "web.service": "[Service]\nType=notify\nNotifyAccess=all\n"
        "ExecStart=/bin/sh -c 'sleep 0.5; systemd-notify --ready --status=\"Serving 3 clients\"; exec sleep 60'\n",
    })
    started = m.cli("start", "web")
    assert started.returncode == 0, started.stderr
    # the start job completed only once READY=1 arrived: the unit is active right now
    assert m.prop("web", "ActiveState") == "active"
    assert m.prop("web", "StatusText") == "Serving 3 clients"
    assert 'Status: "Serving 3 clients"' in m.cli("status", "web").stdout


def test_notify_without_ready_then_exit_is_a_protocol_failure(run):
    m = run({"bad.service": "[Service]\nType=notify\nExecStart=/bin/sh -c 'exit 0'\n"})
    r = m.cli("start", "bad")
    assert r.returncode == 1
    assert m.cli("show", "bad", "-p", "Result", "--value").stdout.strip() == "protocol"


def test_watchdog_kills_a_service_that_stops_pinging_and_restarts_it(run):
    pinger = (
        "import os, socket, time\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        "addr = os.environ['NOTIFY_SOCKET']\n"
        "assert os.environ['WATCHDOG_USEC'] == '1000000' and os.environ['WATCHDOG_PID'] == str(os.getpid())\n"
        "s.sendto(b'READY=1', addr)\n"
        "for _ in range(4):\n"
        "    time.sleep(0.25); s.sendto(b'WATCHDOG=1', addr)\n"
        "time.sleep(60)\n"
    )
    m = run({
        "dog.service": f"[Service]\nType=notify\nWatchdogSec=1\nRestart=on-watchdog\nRestartSec=0\nTimeoutAbortSec=2\nExecStart={sys.executable} -c \"{pinger.replace(chr(10), chr(92) + 'n')}\"\n",
    })
    # the python one-liner above is written with \\n escapes; systemd unquotes them
    assert m.cli("start", "dog").returncode == 0
    m.wait_for("a watchdog restart", lambda: m.prop("dog", "NRestarts") not in ("", "0"), timeout=20)
    logs = m.cli("logs", "-u", "dog", "-o", "cat").stdout
    assert re.search(r"dog\.service: Watchdog timeout \(limit 1s\)!", logs), logs
    assert "dog.service: Failed with result 'watchdog'." in logs
    assert "dog.service: Main process exited, code=dumped, status=6/ABRT" in logs or "code=killed, status=6/ABRT" in logs


def test_type_exec_reports_a_missing_binary_to_start(run):
    m = run({"gone.service": "[Service]\nType=exec\nExecStart=/nonexistent/daemon --flag\n"})
    r = m.cli("start", "gone")
    assert r.returncode == 1
    assert "Job for gone.service failed because the control process exited with error code." in r.stderr
    status = m.cli("status", "gone").stdout
    assert re.search(r"Main PID: \d+ \(code=exited, status=203/EXEC\)", status), status
    logs = m.cli("logs", "-u", "gone", "-o", "cat").stdout
    assert "Unable to locate executable '/nonexistent/daemon': No such file or directory" in logs, logs


def test_type_simple_start_succeeds_although_the_binary_is_missing(run):
    # trap 15: the failure shows up afterwards
    m = run({"gone.service": "[Service]\nExecStart=/nonexistent/daemon\n"})
    assert m.cli("start", "gone").returncode == 0
    m.wait_for("gone failed", lambda: m.prop("gone", "ActiveState") == "failed")
    assert m.cli("show", "gone", "-p", "ExecMainStatus", "--value").stdout.strip() == "203"


def test_failure_action_exit_ends_the_manager_with_the_configured_status(run):
    m = run({
        "critical.service": "[Unit]\nFailureAction=exit\nFailureActionExitStatus=3\n"
        "[Service]\nExecStart=/bin/sh -c 'sleep 0.3; exit 7'\n",
        "other.service": "[Service]\nExecStart=/bin/sleep 60\n",
    })
    assert m.cli("start", "other").returncode == 0
    other_pid = int(m.prop("other", "MainPID"))
    assert m.cli("start", "critical").returncode == 0
    assert m.proc.wait(timeout=30) == 3
    assert "Exiting: unit critical.service failed" in m.output()
    assert "Stopped other.service" in m.output()  # an orderly stop of everything else
    with pytest.raises(ProcessLookupError):
        os.kill(other_pid, 0)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="PID namespaces need root (CI runs as root)")
def test_pid1_in_a_pid_namespace_reaps_orphans_and_stops_on_sigterm(tmp_path):
    units = write_units(tmp_path / "units", {
        # leaves orphans behind every second: PID 1 must reap them
        "litter.service": "[Service]\nExecStart=/bin/sh -c 'while :; do (sleep 0.1 &); sleep 0.5; done'\n[Install]\nWantedBy=multi-user.target\n",
    })
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    log = open(tmp_path / "pid1.log", "w+")
    unshare = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-m", "sysvisor", "up", "--units", str(units),
         "--runtime-dir", str(tmp_path / "run"), "--state-dir", str(tmp_path / "state")],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        manager_pid = _wait(lambda: _child_of(unshare.pid), "the manager inside the namespace")
        _wait(lambda: "Started litter.service" in _read(log), "litter started")
        with open(f"/proc/{manager_pid}/status") as f:
            assert re.search(r"^NSpid:\s+\d+\s+1$", f.read(), re.M), "the manager is PID 1 in its namespace"
        # watch for 3 s while orphans come and go: none may linger as a zombie
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            zombies = [p for p in children(manager_pid) if proc_state(p) == "Z"]
            assert len(zombies) <= 1, f"zombies left unreaped: {zombies}"  # one may be mid-reap
            time.sleep(0.1)
        os.kill(manager_pid, signal.SIGTERM)  # PID 1 ignores signals it has no handler for
        assert unshare.wait(timeout=30) == 0
        assert "Stopped litter.service" in _read(log)
    finally:
        if unshare.poll() is None:
            unshare.kill()
            unshare.wait()
        log.close()


def _wait(predicate, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _read(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()


def _child_of(pid: int) -> int | None:
    kids = children(pid)
    return kids[0] if kids else None


def test_list_dependencies_tree(run):
    m = run({
        "app.service": "[Unit]\nWants=db.service cache.service\nRequires=base.target\n[Service]\nExecStart=/bin/sleep 60\n",
        "db.service": "[Service]\nExecStart=/bin/sleep 60\n",
        "cache.service": "[Service]\nExecStart=/bin/sleep 60\n",
        "base.target": "[Unit]\nWants=db.service\n",
    })
    assert m.cli("start", "db").returncode == 0
    out = m.cli("list-dependencies", "app").stdout
    # default dependencies: Requires=sysinit.target (reached at boot, with what it wants)
    assert out == ("app.service\n○ ├─base.target\n● │ └─db.service\n○ ├─cache.service\n● ├─db.service\n"
                   "● └─sysinit.target\n●   ├─local-fs.target\n●   └─swap.target\n"), out


def test_kill_sigterm_is_clean_sigkill_restarts(run):
    # trap 6: SIGTERM of a non-oneshot main process is a clean exit; SIGKILL is not
    m = run({"svc.service": "[Service]\nExecStart=/bin/sleep 600\nRestart=on-failure\nRestartSec=0\n"})
    assert m.cli("start", "svc").returncode == 0
    first = m.prop("svc", "MainPID")
    assert m.cli("kill", "--signal=SIGKILL", "svc").returncode == 0
    m.wait_for("a restart after SIGKILL", lambda: m.prop("svc", "MainPID") not in ("0", first) and m.prop("svc", "ActiveState") == "active")
    assert m.prop("svc", "NRestarts") == "1"
    assert m.cli("kill", "svc").returncode == 0  # SIGTERM by default
    m.wait_for("svc inactive", lambda: m.prop("svc", "ActiveState") == "inactive")
    assert m.cli("show", "svc", "-p", "Result,NRestarts", "--value").stdout.split() == ["success", "1"]


def test_boot_starts_what_is_enabled(run, tmp_path):
    units = tmp_path / "units"
    (units / "multi-user.target.wants").mkdir(parents=True)
    os.symlink("../linked.service", units / "multi-user.target.wants" / "linked.service")
    m = run({
        "linked.service": "[Service]\nExecStart=/bin/sleep 60\n",  # enabled by a .wants link
        "installed.service": "[Service]\nExecStart=/bin/sleep 60\n[Install]\nWantedBy=multi-user.target\n",
        "idle.service": "[Service]\nExecStart=/bin/sleep 60\n",  # neither: stays inactive
    })
    m.wait_for("boot units active", lambda: m.prop("linked", "ActiveState") == m.prop("installed", "ActiveState") == "active")
    assert m.prop("idle", "ActiveState") == "inactive"


def test_conditions_are_checked_against_the_host(run, tmp_path):
    # trap 21: a failed condition skips the start silently (start exits 0, unit stays
    # inactive, not counted by the start limit); a failed assert fails the job
    m = run({
        "cond.service": f"[Unit]\nConditionPathExists={tmp_path}/flag\n[Service]\nExecStart=/bin/sleep 60\n",
        "asserted.service": f"[Unit]\nAssertPathExists={tmp_path}/flag\n[Service]\nExecStart=/bin/sleep 60\n",
    })
    assert m.cli("start", "cond").returncode == 0
    assert m.prop("cond", "ActiveState") == "inactive" and m.prop("cond", "ConditionResult") == "no"
    assert "Condition: start condition unmet" in m.cli("status", "cond").stdout
    assert m.cli("start", "asserted").returncode == 1
    (tmp_path / "flag").write_text("")
    assert m.cli("start", "cond").returncode == 0
    assert m.prop("cond", "ActiveState") == "active"


def test_type_idle_waits_for_the_job_queue_to_empty(run, tmp_path):
    # systemd.service(5) Type=idle: exec is delayed until all active jobs are dispatched
    stamp = tmp_path / "order"
    m = run({
        "slow.service": f"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'sleep 1; echo slow >> {stamp}'\n",
        "quiet.service": f"[Service]\nType=idle\nExecStart=/bin/sh -c 'echo idle >> {stamp}; exec sleep 60'\n",
    })
    assert m.cli("start", "--no-block", "slow").returncode == 0
    assert m.cli("start", "quiet").returncode == 0  # idle reports active at once
    m.wait_for("both ran", lambda: stamp.exists() and len(stamp.read_text().split()) == 2, timeout=15)
    assert stamp.read_text().split() == ["slow", "idle"]


def _open_files_limit(pid: int) -> tuple[str, str]:
    with open(f"/proc/{pid}/limits") as f:
        line = next(line for line in f if line.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    return soft, hard


def test_the_manager_raises_its_open_files_limit_and_units_keep_1024(run, monkeypatch):
    # as systemd: the manager and the journal relay hold fds per unit (a soft 1024 ran out
    # with a few hundred units); services still start with 1024:524288 unless they set LimitNOFILE=
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 1024:
        pytest.skip("the hard limit leaves nothing to raise")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # what a login shell on Debian gives
    try:
        m = run({"hold.service": "[Service]\nExecStart=/bin/sleep 1000\n"})
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert m.cli("start", "hold.service").returncode == 0
    m.wait_for("hold.service", lambda: m.prop("hold.service", "ActiveState") == "active", timeout=20)
    manager_soft, manager_hard = _open_files_limit(m.manager_pid())
    assert manager_soft == manager_hard and manager_soft != "1024"
    # systemd's 1024:524288, the hard part as close as the manager's own hard limit allows
    unit_hard = 524288 if hard == resource.RLIM_INFINITY else min(524288, hard)
    assert _open_files_limit(int(m.prop("hold.service", "MainPID"))) == ("1024", str(unit_hard))
