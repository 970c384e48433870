"""The manager's own lifecycle with real processes: daemon-reload (verb and SIGHUP),
daemon-reexec without a gap, and a new manager re-adopting services after kill -9.

# spec: issue 5 "Surviving its own crash"; systemctl-and-journal.md §1 (daemon-reload)
"""

from __future__ import annotations

import signal

from harness import Sysvisor, alive, write_units


def _up(tmp_path, units):
    m = Sysvisor(tmp_path, write_units(tmp_path / "units", units))
    m.wait_for("the control socket", lambda: m.cli("show", "-p", "Id", "none.service").returncode == 0, timeout=20)
    return m


def test_daemon_reload_keeps_runtime_state_and_applies_new_config(tmp_path):
    m = _up(tmp_path, {"web.service": "[Service]\nExecStart=/bin/sleep 600\nRestart=always\nRestartSec=1\n"})
    try:
        assert m.cli("start", "web").returncode == 0
        pid = m.prop("web", "MainPID")
        (tmp_path / "units/web.service").write_text("[Unit]\nDescription=Reloaded\n[Service]\nExecStart=/bin/sleep 600\nRestart=always\nRestartSec=7\n")
        (tmp_path / "units/new.service").write_text("[Service]\nExecStart=/bin/sleep 600\n")
        assert m.cli("daemon-reload").returncode == 0
        assert m.prop("web", "MainPID") == pid  # still the same process
        assert m.prop("web", "RestartUSec") == "7s" and m.prop("web", "Description") == "Reloaded"
        assert m.cli("start", "new").returncode == 0
        (tmp_path / "units/new.service").write_text("[Unit]\nDescription=Via SIGHUP\n[Service]\nExecStart=/bin/sleep 600\n")
        m.proc.send_signal(signal.SIGHUP)
        m.wait_for("SIGHUP reload", lambda: m.prop("new", "Description") == "Via SIGHUP")
    finally:
        assert m.stop() == 0
        m.log.close()


def test_daemon_reexec_keeps_pid_children_and_exit_statuses(tmp_path):
    m = _up(tmp_path, {
        "web.service": "[Service]\nExecStart=/bin/sh -c 'while :; do echo alive; sleep 0.2; done'\n",
        "late.service": "[Service]\nExecStart=/bin/sh -c 'sleep 1; exit 3'\n",
    })
    try:
        assert m.cli("start", "web", "late").returncode == 0
        web = m.prop("web", "MainPID")
        assert m.cli("daemon-reexec").returncode == 0
        m.wait_for("the re-executed manager", lambda: m.cli("is-active", "web").returncode == 0)
        assert m.proc.poll() is None  # same process: execv keeps the PID
        assert m.prop("web", "MainPID") == web
        # the child that exits around the exec still reports its real status
        m.wait_for("late failed", lambda: m.prop("late", "ActiveState") == "failed")
        assert m.cli("show", "late", "-p", "Result,ExecMainStatus", "--value").stdout.split() == ["exit-code", "3"]
        m.wait_for("the re-executed manager's greeting", lambda: m.output().count("running in system mode") + m.output().count("running in user mode") == 2)
    finally:
        assert m.stop() == 0
        m.log.close()


def test_new_manager_readopts_services_after_kill_9(tmp_path):
    units = {"web.service": "[Service]\nExecStart=/bin/sleep 600\n"}
    m1 = _up(tmp_path, units)
    assert m1.cli("start", "web").returncode == 0
    pid, invocation = int(m1.prop("web", "MainPID")), m1.prop("web", "InvocationID")
    m1.proc.kill()
    m1.proc.wait(timeout=30)
    m1.log.close()
    assert alive(pid)  # services outlive their manager
    m2 = _up(tmp_path, units)
    try:
        assert m2.prop("web", "ActiveState") == "active"
        assert int(m2.prop("web", "MainPID")) == pid and m2.prop("web", "InvocationID") == invocation
        assert m2.cli("stop", "web").returncode == 0  # still ours to stop
        m2.wait_for("web gone", lambda: not alive(pid))
    finally:
        assert m2.stop() == 0
        m2.log.close()


def test_output_written_while_no_manager_runs_is_kept(tmp_path):
    # the journal relay owns the pipes: no SIGPIPE, no lost line (issue 6)
    units = {"chatty.service": "[Service]\nExecStart=/bin/sh -c 'n=0; while :; do n=$$((n+1)); echo \"line $$n\"; sleep 0.05; done'\n"}
    m1 = _up(tmp_path, units)
    assert m1.cli("start", "chatty").returncode == 0
    pid = int(m1.prop("chatty", "MainPID"))
    m1.wait_for("some output", lambda: "line 3" in m1.cli("logs", "-u", "chatty", "-o", "cat").stdout)
    m1.proc.kill()
    m1.proc.wait(timeout=30)
    m1.log.close()
    m2 = _up(tmp_path, units)
    try:
        assert alive(pid) and int(m2.prop("chatty", "MainPID")) == pid
        def lines():
            out = m2.cli("logs", "-u", "chatty", "-o", "cat", "-n", "all").stdout.split()
            return [int(w) for w in out if w.isdigit()]
        got = m2.wait_for("output after the restart", lambda: (lambda n: n if len(n) > 40 else None)(lines()))
        assert got == list(range(1, len(got) + 1)), "every line, in order, none lost during the gap"
    finally:
        assert m2.stop() == 0
        m2.log.close()
