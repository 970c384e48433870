"""End to end: the real manager on the bundled examples, observed only through the CLI.

The story of issue 2: flaky crashes, is restarted after 2 s, triggers its recovery unit with
MONITOR_* every time, hits its start limit (burst 3 in 60 s) and ends failed (Result:
exit-code, NRestarts=3); ticker keeps running and obeys stop/start/restart.
Every wait is bounded and polls a condition; nothing sleeps a fixed time.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from harness import ROOT, Sysvisor, alive

EXAMPLES = ROOT / "examples"


@pytest.fixture
def manager(tmp_path):
    m = Sysvisor(tmp_path, EXAMPLES)
    m.wait_for("the control socket", lambda: m.cli("is-active", "ticker").returncode != 1, timeout=20)
    yield m
    m.stop()
    m.log.close()


def test_seed_story_through_the_cli(manager):
    m = manager
    m.wait_for("ticker active", lambda: m.cli("is-active", "ticker").returncode == 0)

    # between crashes: waiting to restart, with the previous run's result shown
    m.wait_for("flaky in auto-restart", lambda: m.prop("flaky", "SubState") == "auto-restart", timeout=20)
    status = m.cli("status", "flaky")
    assert status.returncode == 3, status
    assert status.stdout.startswith("● flaky.service - Flaky demo service"), status.stdout
    assert re.search(r"Loaded: loaded \(.*/flaky\.service", status.stdout), status.stdout
    assert re.search(r"Active: activating \(auto-restart\) \(Result: exit-code\) since .+; .+ ago", status.stdout), status.stdout
    assert re.search(r"Process: \d+ ExecStart=/bin/sh -c .* \(code=exited, status=1/FAILURE\)", status.stdout), status.stdout
    assert re.search(r"Main PID: \d+ \(code=exited, status=1/FAILURE\)", status.stdout), status.stdout

    # the start limit: 3 starts in 60 s, the 4th is refused; Result keeps exit-code (trap 5)
    m.wait_for("flaky failed", lambda: m.prop("flaky", "ActiveState") == "failed", timeout=30)
    show = m.cli("show", "flaky", "-p", "ActiveState,SubState,Result,NRestarts")
    # systemctl prints in D-Bus order (Service properties first), not in -p order:
    # recorded in tests/data/oracle/cli/exit-codes-257.json
    assert show.stdout.splitlines() == ["Result=exit-code", "NRestarts=3", "ActiveState=failed", "SubState=failed"], show.stdout
    values = m.cli("show", "flaky", "-p", "NRestarts", "-p", "Result", "--value")
    assert values.stdout.splitlines() == ["exit-code", "3"]
    status = m.cli("status", "flaky")
    assert re.search(r"^× flaky\.service", status.stdout), status.stdout
    assert re.search(r"Active: failed \(Result: exit-code\) since .+; .+ ago", status.stdout), status.stdout
    assert "Start request repeated too quickly." in status.stdout, status.stdout  # the last log lines

    assert m.cli("is-failed", "flaky").returncode == 0
    assert m.cli("is-active", "flaky").returncode == 3
    assert m.cli("is-failed", "ticker").returncode == 1
    unknown = m.cli("is-active", "nope")
    assert (unknown.returncode, unknown.stdout) == (4, "inactive\n")
    assert m.cli("status", "nope").returncode == 4

    # OnFailure= fired on every failure (v254+): 3 crashes + the refused start = 4 runs
    def recovery_runs():
        out = m.cli("logs", "-u", "flaky-recovery", "--no-pager", "-o", "cat").stdout
        return out if out.count("recovery: triggered") >= 4 else None

    out = m.wait_for("4 recovery runs", recovery_runs, timeout=15)
    assert out.count("recovery: triggered") == 4, out
    assert "MONITOR_UNIT=flaky.service" in out
    assert "MONITOR_SERVICE_RESULT=exit-code" in out
    assert "MONITOR_EXIT_CODE=exited" in out
    assert "MONITOR_EXIT_STATUS=1" in out
    assert re.search(r"MONITOR_INVOCATION_ID=[0-9a-f]{32}", out)

    logs = m.cli("logs", "-u", "flaky", "--no-pager").stdout
    for line in (
        "flaky: up, crashing in a second",
        "flaky.service: Main process exited, code=exited, status=1/FAILURE",
        "flaky.service: Failed with result 'exit-code'.",
        "flaky.service: Scheduled restart job, restart counter is at 1.",
        "flaky.service: Scheduled restart job, restart counter is at 3.",
        "flaky.service: Start request repeated too quickly.",
        "Failed to start flaky.service - Flaky demo service (crashes a second after it starts).",
    ):
        assert line in logs, f"missing {line!r} in:\n{logs}"
    assert re.search(r"^\w{3} \d{2} \d{2}:\d{2}:\d{2} \S+ sh\[\d+\]: flaky: up", logs, re.M), logs

    # a manual start of a unit that hit its limit is refused while the window lasts
    refused = m.cli("start", "flaky")
    assert refused.returncode == 1
    assert "Job for flaky.service failed because the control process exited with error code." in refused.stderr

    # reset-failed clears the failure, the counter and the limiter
    assert m.cli("reset-failed", "flaky").returncode == 0
    assert m.cli("show", "flaky", "-p", "ActiveState,Result,NRestarts", "--value").stdout.split() == ["success", "0", "inactive"]
    assert m.cli("is-failed", "flaky").returncode == 1


def test_stop_start_restart(manager):
    m = manager
    m.wait_for("ticker active", lambda: m.cli("is-active", "ticker").returncode == 0)
    first_pid = int(m.prop("ticker", "MainPID"))
    assert first_pid > 0

    assert m.cli("stop", "ticker").returncode == 0
    assert m.cli("is-active", "ticker").stdout.strip() == "inactive"
    assert not alive(first_pid)

    assert m.cli("start", "ticker").returncode == 0
    assert m.cli("is-active", "ticker").returncode == 0
    second_pid = int(m.prop("ticker", "MainPID"))
    assert second_pid not in (0, first_pid)

    assert m.cli("restart", "ticker").returncode == 0
    third_pid = int(m.prop("ticker", "MainPID"))
    assert third_pid not in (0, second_pid)
    assert not alive(second_pid)
    m.wait_for("ticker output", lambda: "tick 1" in m.cli("logs", "-u", "ticker", "-o", "cat", "--no-pager").stdout, timeout=10)

    missing = m.cli("start", "nope")
    assert missing.returncode == 5
    assert "Unit nope.service not found." in missing.stderr


def test_sigterm_stops_units_and_exits_zero(manager):
    m = manager
    m.wait_for("ticker active", lambda: m.cli("is-active", "ticker").returncode == 0)
    pid = int(m.prop("ticker", "MainPID"))
    assert m.stop() == 0
    assert not alive(pid)
    assert "Stopped ticker.service" in m.output()


def test_no_manager_is_a_one_line_error(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), SYSVISOR_SOCKET=str(tmp_path / "none"))
    r = subprocess.run([sys.executable, "-m", "sysvisor", "status", "web"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "No sysvisor manager is running" in r.stderr
    assert "Traceback" not in r.stderr


def test_manager_level_verbs(manager):
    m = manager
    m.wait_for("flaky failed", lambda: m.prop("flaky", "ActiveState") == "failed", timeout=30)
    running = m.cli("is-system-running")
    assert (running.returncode, running.stdout) == (1, "degraded\n")
    overview = m.cli("status")
    assert re.search(r"^\s+State: degraded$", overview.stdout, re.M), overview.stdout
    assert re.search(r"^\s+Failed: 1 units$", overview.stdout, re.M)
    assert "ticker.service" in overview.stdout  # the cgroup/process tree
    failed = m.cli("list-units", "--failed", "--no-legend", "--plain")
    assert failed.stdout.split()[:4] == ["flaky.service", "loaded", "failed", "failed"], failed.stdout
    every = m.cli("list-units", "--all", "--no-legend", "--plain").stdout
    assert "flaky-recovery.service loaded inactive dead" in " ".join(every.split())
    assert m.cli("list-jobs").stdout == "No jobs running.\n"
    assert "SystemState=degraded" in m.cli("show").stdout.splitlines()
    cat = m.cli("cat", "ticker")
    assert cat.stdout.startswith(f"# {EXAMPLES}/ticker.service\n[Unit]\n")
    # ticker has no ExecReload=: reload-or-restart restarts it
    pid = m.prop("ticker", "MainPID")
    assert m.cli("reload-or-restart", "ticker").returncode == 0
    assert m.prop("ticker", "MainPID") not in ("0", pid)
    not_reloadable = m.cli("reload", "ticker")
    assert not_reloadable.returncode == 3  # systemctl 257 (tests/data/oracle/cli/bad-names-257.json)
    assert not_reloadable.stderr == "Failed to reload ticker.service: Job type reload is not applicable for unit ticker.service.\n"
    assert m.cli("reset-failed").returncode == 0  # no unit: every unit
    assert m.cli("is-system-running").stdout == "running\n"
