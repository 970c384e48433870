"""Type=exec/forking/notify/notify-reload/idle/dbus, ExecCondition=, timeouts, KillMode,
notify messages and the watchdog. # spec: service-lifecycle.md §2–§7; notify-and-watchdog.md"""

from __future__ import annotations

from sysvisor.core.actions import Kill, ReadPidFile
from sysvisor.core.exit_status import SIGABRT, SIGHUP, SIGKILL, SIGTERM
from sysvisor.core.types import (
    USEC_INFINITY,
    EmergencyAction,
    KillMode,
    NotifyAccess,
    RestartPolicy,
    ServiceType,
    TimeoutFailureMode,
)
from sysvisor.testing.clock import msec, sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service

TERM_OK = Behaviour.hangs(on_signal=((SIGTERM, 0),))


def sigs(sim, unit=None):
    return [(t, k.signal) for t, k in sim.executor.kills if unit is None or k.unit == unit]


# ------------------------------------------------------------------ Type=exec


def test_exec_start_job_waits_for_execve():
    foo = service("foo.service", description="Foo", type=ServiceType.EXEC)
    sim = Simulation([foo], {"foo.service": TERM_OK})
    rid = sim.start("foo.service")
    assert sim.props("foo.service")["SubState"] == "start"
    sim.run_until(1)
    assert sim.props("foo.service")["SubState"] == "running"
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert sim.logs("foo.service")[:2] == ["Starting foo.service - Foo...", "Started foo.service - Foo."]


def test_exec_failure_fails_the_start_job_but_simple_does_not():
    # trap 15
    ex = service("ex.service", type=ServiceType.EXEC)
    si = service("si.service")
    sim = Simulation([ex, si], {"*": Behaviour.exec_fails()})
    r1, r2 = sim.start("ex.service"), sim.start("si.service")
    sim.run_until(sec(1))
    assert [str(j.result) for j in sim.jobs(r1)] == ["failed"]
    assert [str(j.result) for j in sim.jobs(r2)] == ["done"]
    for name in ("ex.service", "si.service"):
        p = sim.props(name)
        assert (p["ActiveState"], p["Result"], p["ExecMainStatus"]) == ("failed", "exit-code", 203)
    assert "ex.service: Main process exited, code=exited, status=203/EXEC" in sim.logs()


def test_dbus_runs_as_simple():
    foo = service("foo.service", type=ServiceType.DBUS)
    sim = Simulation([foo])
    sim.start("foo.service")
    assert sim.props("foo.service")["SubState"] == "running"


def test_idle_reports_active_while_starting():
    foo = service("foo.service", type=ServiceType.IDLE, exec_start_pre="/bin/pre")
    sim = Simulation([foo], {("foo.service", "ExecStartPre"): Behaviour.exits(0, after=sec(1))})
    sim.start("foo.service")
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["SubState"]) == ("active", "start-pre")


# ------------------------------------------------------------------ Type=forking


def test_forking_with_pid_file():
    foo = service("foo.service", type=ServiceType.FORKING, pid_file="/run/foo.pid")
    sim = Simulation([foo], {"foo.service": Behaviour.forking(TERM_OK, after=msec(10))})
    rid = sim.start("foo.service")
    assert sim.props("foo.service")["SubState"] == "start"
    sim.run_until(sec(1))
    p = sim.props("foo.service")
    assert (p["SubState"], p["MainPID"]) == ("running", 1001)
    assert [a for _, a in sim.trace if isinstance(a, ReadPidFile)] == [ReadPidFile("foo.service", "/run/foo.pid")]
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    # the parent's exit is a control process exit; the daemon's death ends the unit
    sim.stop("foo.service")
    assert sim.props("foo.service")["SubState"] == "stop-sigterm"  # waits for the daemon
    sim.run_until(sec(2))
    assert sim.props("foo.service")["ActiveState"] == "inactive"
    assert sigs(sim)[0] == (sec(1), SIGTERM)


def test_forking_daemon_never_wrote_pid_file():
    foo = service("foo.service", type=ServiceType.FORKING, pid_file="/run/foo.pid")
    sim = Simulation([foo], {"foo.service": Behaviour.forking(TERM_OK, writes_pid_file=False)})
    rid = sim.start("foo.service")
    sim.run_until(sec(1))
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["Result"]) == ("failed", "protocol")
    assert "foo.service: Daemon never wrote its PID file. Failing." in sim.logs(min_priority=7)
    assert [str(j.result) for j in sim.jobs(rid)] == ["failed"]


def test_forking_parent_failure():
    foo = service("foo.service", type=ServiceType.FORKING)
    sim = Simulation([foo], {"foo.service": Behaviour.exits(1)})
    sim.start("foo.service")
    sim.run_until(sec(1))
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["Result"]) == ("failed", "exit-code")
    assert "foo.service: Control process exited, code=exited, status=1/FAILURE" in sim.logs()


def test_forking_guess_main_pid():
    foo = service("foo.service", type=ServiceType.FORKING)
    sim = Simulation([foo], {"foo.service": Behaviour.forking(Behaviour.exits(3, after=sec(5)))})
    sim.start("foo.service")
    sim.run_until(sec(1))
    assert sim.props("foo.service")["MainPID"] == 1001
    sim.run_until(sec(6))
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["Result"], p["ExecMainStatus"]) == ("failed", "exit-code", 3)


# ------------------------------------------------------------------ Type=notify


def test_notify_ready_status_and_timeout_start():
    foo = service("foo.service", description="Foo", type=ServiceType.NOTIFY)
    sim = Simulation([foo], {"foo.service": Behaviour.ready(after=sec(2), notify=((sec(1), (("STATUS", "warming up"),)),))})
    rid = sim.start("foo.service")
    sim.run_until(sec(1))
    p = sim.props("foo.service")
    assert (p["SubState"], p["StatusText"]) == ("start", "warming up")
    sim.run_until(sec(3))
    assert sim.props("foo.service")["SubState"] == "running"
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]


def test_notify_without_ready_times_out():
    foo = service("foo.service", type=ServiceType.NOTIFY, timeout_start_usec=sec(5))
    sim = Simulation([foo], {"foo.service": TERM_OK})
    rid = sim.start("foo.service")
    sim.run_until(sec(10))
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["Result"]) == ("failed", "timeout")
    assert "foo.service: start operation timed out. Terminating." in sim.logs()
    assert sigs(sim)[0] == (sec(5), SIGTERM)
    assert [str(j.result) for j in sim.jobs(rid)] == ["failed"]


def test_notify_exit_before_ready_is_protocol():
    foo = service("foo.service", type=ServiceType.NOTIFY)
    sim = Simulation([foo], {"foo.service": Behaviour.exits(0, after=sec(1))})
    sim.start("foo.service")
    sim.run_until(sec(2))
    assert sim.props("foo.service")["Result"] == "protocol"


def test_notify_access_main_drops_other_senders():
    # trap 24
    foo = service("foo.service", type=ServiceType.NOTIFY)
    sim = Simulation([foo], {"foo.service": TERM_OK})
    sim.start("foo.service")
    sim.notify(4242, READY="1")
    assert sim.props("foo.service")["SubState"] == "start"
    assert ("foo.service: Got notification message from PID 4242, but reception only permitted for main PID 1000"
            not in sim.logs())  # unknown pid: not attributed to the unit at all
    sim.send(__import__("sysvisor.core.events", fromlist=["x"]).NotifyReceived(4242, {"READY": "1"}, unit="foo.service"))
    assert ("foo.service: Got notification message from PID 4242, but reception only permitted for main PID 1000"
            in sim.logs(min_priority=7))
    sim.notify(1000, READY="1")
    assert sim.props("foo.service")["SubState"] == "running"


def test_notify_access_all_and_mainpid():
    foo = service("foo.service", type=ServiceType.NOTIFY, notify_access=NotifyAccess.ALL)
    sim = Simulation([foo], {"foo.service": TERM_OK})
    sim.start("foo.service")
    from sysvisor.core.events import NotifyReceived
    sim.send(NotifyReceived(777, {"MAINPID": "777", "READY": "1"}, unit="foo.service"))
    p = sim.props("foo.service")
    assert (p["SubState"], p["MainPID"]) == ("running", 777)
    sim.send(__import__("sysvisor.core.events", fromlist=["x"]).ProcessExited(777, 1, 0))
    assert sim.props("foo.service")["ActiveState"] in ("deactivating", "inactive")


def test_stopping_enters_stop_sigterm_without_signal():
    foo = service("foo.service", type=ServiceType.NOTIFY, timeout_stop_usec=sec(4))
    sim = Simulation([foo], {"foo.service": Behaviour.ready(notify=((sec(1), (("STOPPING", "1"),)),))})
    sim.start("foo.service")
    sim.run_until(sec(2))
    assert sim.props("foo.service")["SubState"] == "stop-sigterm"
    assert sigs(sim) == []
    sim.run_until(sec(10))
    assert sigs(sim)[0] == (sec(5), SIGKILL)


def test_extend_timeout_usec():
    foo = service("foo.service", type=ServiceType.NOTIFY, timeout_start_usec=sec(5))
    ext = (("EXTEND_TIMEOUT_USEC", str(sec(10))),)
    sim = Simulation([foo], {"foo.service": Behaviour.ready(after=sec(12), notify=((sec(4), ext),))})
    sim.start("foo.service")
    sim.run_until(sec(13))
    assert sim.props("foo.service")["SubState"] == "running"


def test_notify_reload_cycle():
    foo = service("foo.service", type=ServiceType.NOTIFY_RELOAD)
    sim = Simulation([foo], {"foo.service": Behaviour.ready()})
    sim.start("foo.service")
    sim.run_until(1)
    rid = sim.reload("foo.service")
    assert sim.props("foo.service")["SubState"] == "reload-signal"
    assert sigs(sim)[-2:] == [(1, SIGHUP), (1, 18)]
    sim.notify(1000, RELOADING="1", MONOTONIC_USEC="1")
    assert sim.props("foo.service")["SubState"] == "reload-notify"
    sim.notify(1000, READY="1")
    assert sim.props("foo.service")["SubState"] == "running"
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]


# ------------------------------------------------------------------ watchdog


def test_watchdog_expiry_aborts_and_restarts_on_watchdog():
    foo = service("foo.service", type=ServiceType.NOTIFY, watchdog_usec=sec(3), restart=RestartPolicy.ON_WATCHDOG,
                  restart_usec=sec(1))
    pings = tuple((sec(i), (("WATCHDOG", "1"),)) for i in range(1, 6))
    sim = Simulation([foo], {"foo.service": [Behaviour.ready(notify=pings, dumped=True), TERM_OK]})
    sim.start("foo.service")
    sim.run_until(sec(7))
    assert sim.props("foo.service")["NRestarts"] == 0
    sim.run_until(sec(9))  # last ping at 5 s → deadline 8 s
    assert "foo.service: Watchdog timeout (limit 3s)!" in sim.logs()
    assert sigs(sim)[0] == (sec(8), SIGABRT)
    sim.run_until(sec(12))
    p = sim.props("foo.service")
    assert (p["Result"], p["NRestarts"], p["SubState"]) == ("success", 1, "start")
    assert "foo.service: Main process exited, code=dumped, status=6/ABRT" in sim.logs()


def test_watchdog_trigger_and_override():
    foo = service("foo.service", type=ServiceType.NOTIFY)
    sim = Simulation([foo], {"foo.service": Behaviour.ready(notify=((sec(1), (("WATCHDOG_USEC", str(sec(2))),)),))})
    sim.start("foo.service")
    sim.run_until(sec(2))
    assert sim.props("foo.service")["SubState"] == "running"
    sim.run_until(sec(4))
    assert sim.props("foo.service")["Result"] == "watchdog"
    assert sigs(sim)[0] == (sec(3), SIGABRT)

    bar = service("bar.service", type=ServiceType.NOTIFY)
    sim = Simulation([bar], {"bar.service": Behaviour.ready(notify=((sec(1), (("WATCHDOG", "trigger"),)),))})
    sim.start("bar.service")
    sim.run_until(sec(2))
    assert "bar.service: Watchdog request (last status: n/a)!" in sim.logs()
    assert sim.props("bar.service")["Result"] == "watchdog"


# ------------------------------------------------------------------ ExecCondition=


def test_exec_condition_skip_and_failure():
    # trap 27
    a = service("a.service", exec_condition="/bin/check", restart=RestartPolicy.ALWAYS)
    b = service("b.service", exec_condition="/bin/check", restart=RestartPolicy.ON_FAILURE, restart_usec=sec(100))
    sim = Simulation([a, b], {("a.service", "ExecCondition"): Behaviour.exits(1),
                              ("b.service", "ExecCondition"): Behaviour.exits(255)})
    sim.start("a.service")
    sim.start("b.service")
    sim.run_until(sec(1))
    pa, pb = sim.props("a.service"), sim.props("b.service")
    assert (pa["ActiveState"], pa["SubState"], pa["Result"], pa["NRestarts"]) == ("inactive", "dead", "exec-condition", 0)
    assert "a.service: Skipped due to 'exec-condition'." in sim.logs()
    assert (pb["ActiveState"], pb["SubState"], pb["Result"]) == ("activating", "auto-restart", "exit-code")


# ------------------------------------------------------------------ timeouts and killing


def test_runtime_max_sec_stops_with_timeout():
    foo = service("foo.service", runtime_max_usec=sec(10))
    sim = Simulation([foo], {"foo.service": TERM_OK})
    sim.start("foo.service")
    sim.run_until(sec(11))
    assert "foo.service: Service reached runtime time limit. Stopping." in sim.logs()
    assert sim.props("foo.service")["Result"] == "timeout"


def test_timeout_start_failure_mode_abort_and_kill():
    a = service("a.service", type=ServiceType.NOTIFY, timeout_start_usec=sec(2),
                timeout_start_failure_mode=TimeoutFailureMode.ABORT, timeout_abort_usec=sec(1))
    k = service("k.service", type=ServiceType.NOTIFY, timeout_start_usec=sec(2),
                timeout_start_failure_mode=TimeoutFailureMode.KILL)
    hang = Behaviour.hangs(ignore=frozenset({SIGABRT}))
    sim = Simulation([a, k], {"*": hang})
    sim.start("a.service")
    sim.start("k.service")
    sim.run_until(sec(5))
    assert sigs(sim, "a.service") == [(sec(2), SIGABRT), (sec(2), 18), (sec(3), SIGKILL)]
    assert sigs(sim, "k.service") == [(sec(2), SIGKILL)]
    assert "a.service: start operation timed out. Aborting." in sim.logs()
    assert "a.service: State 'stop-watchdog' timed out. Killing." in sim.logs()
    assert "k.service: start operation timed out. Killing." in sim.logs()


def test_send_sigkill_no_leaves_process_and_skips():
    foo = service("foo.service", send_sigkill=False, timeout_stop_usec=sec(2))
    sim = Simulation([foo], {"foo.service": Behaviour.hangs(ignore=frozenset({SIGTERM}))})
    sim.start("foo.service")
    sim.stop("foo.service")
    sim.run_until(sec(5))
    # stop-sigterm times out, ExecStopPost= (none), final-sigterm signals again, times out
    assert sigs(sim) == [(0, SIGTERM), (0, 18), (sec(2), SIGTERM), (sec(2), 18)]
    assert "foo.service: State 'stop-sigterm' timed out. Skipping SIGKILL." in sim.logs()
    assert "foo.service: State 'final-sigterm' timed out. Skipping SIGKILL. Entering failed mode." in sim.logs()
    assert sim.props("foo.service")["Result"] == "timeout"


def test_kill_modes():
    out = {}
    for mode in KillMode:
        foo = service("foo.service", kill_mode=mode, send_sighup=True)
        sim = Simulation([foo], {"foo.service": TERM_OK})
        sim.start("foo.service")
        sim.stop("foo.service")
        sim.run_until(sec(1))
        out[mode] = [(k.signal, k.pids, k.whole_unit) for _, k in sim.executor.kills]
    assert out[KillMode.CONTROL_GROUP] == [(SIGTERM, (1000,), True), (18, (1000,), True), (SIGHUP, (1000,), True)]
    assert out[KillMode.MIXED] == [(SIGTERM, (1000,), False), (18, (1000,), False), (SIGHUP, (1000,), False)]
    assert out[KillMode.PROCESS] == out[KillMode.MIXED]
    assert out[KillMode.NONE] == []


def test_restart_kill_signal_used_by_restart_jobs_only():
    foo = service("foo.service", restart_kill_signal=SIGHUP)
    sim = Simulation([foo], {"foo.service": Behaviour.hangs(on_signal=((SIGHUP, 0), (SIGTERM, 0)))})
    sim.start("foo.service")
    sim.restart("foo.service")
    sim.run_until(sec(1))
    sim.stop("foo.service")
    sim.run_until(sec(2))
    assert [s for _, s in sigs(sim) if s != 18] == [SIGHUP, SIGTERM]


def test_final_kill_signal():
    foo = service("foo.service", final_kill_signal=SIGABRT, timeout_stop_usec=sec(1))
    sim = Simulation([foo], {"foo.service": Behaviour.hangs(ignore=frozenset({SIGTERM}))})
    sim.start("foo.service")
    sim.stop("foo.service")
    sim.run_until(sec(3))
    assert [s for _, s in sigs(sim)] == [SIGTERM, 18, SIGABRT, 18]


def test_start_limit_action():
    foo = service("foo.service", unit=dict(start_limit_burst=1, start_limit_action=EmergencyAction.REBOOT))
    sim = Simulation([foo], {"foo.service": Behaviour.exits(1)})
    sim.start("foo.service")
    sim.run_until(sec(1))
    sim.start("foo.service")
    assert "Rebooting: unit foo.service failed" in sim.logs()


def test_success_action_exit_status_from_main():
    foo = service("foo.service", type=ServiceType.ONESHOT, success_exit_status=None,
                  unit=dict(success_action=EmergencyAction.EXIT))
    foo.service.success_exit_status = __import__("sysvisor.core.units", fromlist=["x"]).ExitStatusSet(frozenset({4}))
    sim = Simulation([foo], {"foo.service": Behaviour.exits(4)})
    sim.start("foo.service")
    sim.run_until(sec(1))
    from sysvisor.core.actions import RunEmergencyAction
    acts = [a for _, a in sim.trace if isinstance(a, RunEmergencyAction)]
    assert acts == [RunEmergencyAction(EmergencyAction.EXIT, "unit foo.service succeeded", 4)]
    assert sim.props("foo.service")["Result"] == "success"
