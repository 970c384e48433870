"""Service lifecycle transcripts: stop, restart, oneshot, stop sequence, jobs, shutdown."""

from __future__ import annotations

import pytest

from sysvisor.core import events as ev
from sysvisor.core.actions import ExitManager, Kill, Log, RunEmergencyAction
from sysvisor.core.exit_status import SIGKILL, SIGTERM
from sysvisor.core.manager import Manager, UnitNotFoundError
from sysvisor.core.types import EmergencyAction, RestartPolicy, ServiceType
from sysvisor.testing.clock import msec, sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service

TERM_OK = Behaviour.hangs(on_signal=((SIGTERM, 0),))


def test_stop_during_auto_restart_leaves_inactive_with_old_result():
    # trap 14
    foo = service("foo.service", restart=RestartPolicy.ON_FAILURE, restart_usec=sec(5))
    sim = Simulation([foo], {"foo.service": Behaviour.exits(1)})
    sim.start("foo.service")
    sim.run_until(sec(6))  # one restart done, now in auto-restart again
    assert sim.props("foo.service")["SubState"] == "auto-restart"
    rid = sim.stop("foo.service")
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["SubState"], p["Result"], p["NRestarts"]) == ("inactive", "dead", "exit-code", 1)
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    sim.run_until(sec(60))
    assert len(sim.spawns("foo.service")) == 2  # no restart after the stop
    sim.start("foo.service")
    assert sim.props("foo.service")["NRestarts"] == 0


def test_manual_start_during_auto_restart_restarts_immediately():
    foo = service("foo.service", restart=RestartPolicy.ON_FAILURE, restart_usec=sec(30))
    sim = Simulation([foo], {"foo.service": [Behaviour.exits(1), Behaviour.hangs()]})
    sim.start("foo.service")
    sim.run_until(sec(1))
    rid = sim.start("foo.service")
    assert "foo.service: Scheduled restart job immediately on client request, restart counter is at 1." in sim.logs()
    assert sim.props("foo.service")["SubState"] == "running"
    assert [t for t, _ in sim.spawns("foo.service")] == [0, sec(1)]
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]


def test_stop_runs_exec_stop_then_sigterm_and_stop_post():
    foo = service("foo.service", description="Foo", exec_stop="/bin/stop", exec_stop_post="/bin/post")
    sim = Simulation([foo], {("foo.service", "ExecStart"): TERM_OK, ("foo.service", "ExecStop"): Behaviour.exits(0),
                             ("foo.service", "ExecStopPost"): Behaviour.exits(0)})
    sim.start("foo.service")
    rid = sim.stop("foo.service")
    sim.run_until(sec(1))
    assert [s.phase for _, s in sim.spawns("foo.service")] == ["ExecStart", "ExecStop", "ExecStopPost"]
    stop = sim.spawns("foo.service", "ExecStop")[0][1]
    assert stop.environment["SERVICE_RESULT"] == "success"
    assert stop.environment["MAINPID"] == str(sim.props("foo.service")["ExecMainPID"])
    assert "EXIT_CODE" not in stop.environment  # main still alive during ExecStop=
    post = sim.spawns("foo.service", "ExecStopPost")[0][1]
    assert (post.environment["EXIT_CODE"], post.environment["EXIT_STATUS"]) == ("exited", "0")
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert sim.logs("foo.service") == [
        "Started foo.service - Foo.",
        "Stopping foo.service - Foo...",
        "foo.service: Deactivated successfully.",
        "Stopped foo.service - Foo.",
    ]
    assert sim.props("foo.service")["Result"] == "success"


def test_stop_timeout_escalates_to_final_kill_signal():
    foo = service("foo.service", timeout_stop_usec=sec(3))
    sim = Simulation([foo], {"foo.service": Behaviour.hangs(ignore=frozenset({SIGTERM}))})
    sim.start("foo.service")
    sim.stop("foo.service")
    sim.run_until(sec(10))
    kills = [(t, k.signal) for t, k in sim.executor.kills]
    assert kills == [(0, SIGTERM), (0, 18), (sec(3), SIGKILL)]
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["Result"]) == ("failed", "timeout")
    assert "foo.service: State 'stop-sigterm' timed out. Killing." in sim.logs()
    assert p["InactiveEnterTimestampMonotonic"] == sec(3)


def test_oneshot_several_exec_start_remain_after_exit():
    foo = service("foo.service", description="Foo", type=ServiceType.ONESHOT,
                  exec_start=["/bin/a", "/bin/b", "/bin/c"], remain_after_exit=True)
    sim = Simulation([foo], {"foo.service": Behaviour.exits(0, after=sec(1))})
    rid = sim.start("foo.service")
    sim.run_until(sec(10))
    assert [s.command.path for _, s in sim.spawns("foo.service")] == ["/bin/a", "/bin/b", "/bin/c"]
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["SubState"]) == ("active", "exited")
    assert [(str(j.result)) for j in sim.jobs(rid)] == ["done"]
    assert sim.logs("foo.service") == ["Starting foo.service - Foo...", "Finished foo.service - Foo."]
    # a second start is a no-op
    sim.start("foo.service")
    assert len(sim.spawns("foo.service")) == 3


def test_oneshot_failure_stops_the_sequence():
    foo = service("foo.service", type=ServiceType.ONESHOT, exec_start=["/bin/a", "/bin/b"])
    sim = Simulation([foo], {"/bin/a": Behaviour.exits(2)})
    rid = sim.start("foo.service")
    sim.run_until(sec(1))
    assert [s.command.path for _, s in sim.spawns("foo.service")] == ["/bin/a"]
    assert sim.props("foo.service")["Result"] == "exit-code"
    assert [str(j.result) for j in sim.jobs(rid)] == ["failed"]
    assert "foo.service: Main process exited, code=exited, status=2/INVALIDARGUMENT" in sim.logs()


def test_oneshot_sigterm_is_unclean():
    foo = service("foo.service", type=ServiceType.ONESHOT)
    sim = Simulation([foo], {"foo.service": Behaviour.killed(SIGTERM)})
    sim.start("foo.service")
    sim.run_until(sec(1))
    assert sim.props("foo.service")["Result"] == "signal"


def test_minus_prefix_ignores_failure():
    foo = service("foo.service", exec_start_pre="/bin/pre")
    foo.service.exec_start_pre = [foo.service.exec_start_pre[0].__class__("/bin/pre", ("/bin/pre",), ignore_failure=True)]
    sim = Simulation([foo], {"/bin/pre": Behaviour.exits(1)})
    sim.start("foo.service")
    sim.run_until(sec(1))
    assert sim.props("foo.service")["SubState"] == "running"


def test_restart_job_stops_then_starts_and_resets_counter():
    foo = service("foo.service", description="Foo", restart=RestartPolicy.ALWAYS, restart_usec=sec(1))
    sim = Simulation([foo], {"foo.service": [Behaviour.exits(0), TERM_OK]})
    sim.start("foo.service")
    sim.run_until(sec(2))
    assert sim.props("foo.service")["NRestarts"] == 1
    rid = sim.restart("foo.service")
    sim.run_until(sec(3))
    assert sim.props("foo.service")["NRestarts"] == 0
    assert sim.props("foo.service")["SubState"] == "running"
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert sim.logs()[-4:] == ["Stopping foo.service - Foo...", "foo.service: Deactivated successfully.",
                               "Stopped foo.service - Foo.", "Started foo.service - Foo."]


def test_reset_failed():
    foo = service("foo.service", unit=dict(start_limit_burst=1))
    sim = Simulation([foo], {"foo.service": Behaviour.exits(1)})
    sim.start("foo.service")
    sim.run_until(sec(1))
    sim.start("foo.service")  # refused by the limiter
    assert sim.props("foo.service")["Result"] == "exit-code"
    sim.reset_failed("foo.service")
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["Result"], p["NRestarts"]) == ("inactive", "success", 0)
    sim.start("foo.service")
    assert len(sim.spawns("foo.service")) == 2


def test_start_limit_hit_after_success_with_manual_starts():
    foo = service("foo.service", type=ServiceType.ONESHOT, unit=dict(start_limit_burst=2))
    sim = Simulation([foo], {"foo.service": Behaviour.exits(0)})
    for i in range(3):
        sim.start("foo.service")
        sim.run_until(sec(i + 1))
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["Result"]) == ("failed", "start-limit-hit")


def test_monitor_environment_is_a_snapshot_and_needs_a_unique_source():
    foo = service("foo.service", restart=RestartPolicy.ON_FAILURE, restart_usec=sec(1),
                  unit=dict(on_failure=["handler.service"]))
    handler = service("handler.service", type=ServiceType.ONESHOT, exec_start_pre="/bin/pre")
    sim = Simulation([foo, handler], {"foo.service": [Behaviour.exits(3), Behaviour.killed(6)],
                                      "handler.service": Behaviour.exits(0, after=sec(2))})
    sim.start("foo.service")
    sim.run_until(sec(10))
    pre = [s for _, s in sim.spawns("handler.service", "ExecStartPre")]
    env = pre[0].environment
    first_invocation = sim.spawns("foo.service")[0][1].invocation_id
    assert env["MONITOR_SERVICE_RESULT"] == "exit-code"
    assert (env["MONITOR_EXIT_CODE"], env["MONITOR_EXIT_STATUS"]) == ("exited", "3")
    assert env["MONITOR_UNIT"] == "foo.service"
    assert env["MONITOR_INVOCATION_ID"] == first_invocation
    # the handler's ExecStart (spawned 2 s later, after foo restarted) still sees the snapshot
    main = [s for _, s in sim.spawns("handler.service", "ExecStart")][0]
    assert main.environment["MONITOR_EXIT_STATUS"] == "3"
    later = [s for _, s in sim.spawns("handler.service", "ExecStartPre")][1].environment
    assert (later["MONITOR_SERVICE_RESULT"], later["MONITOR_EXIT_CODE"], later["MONITOR_EXIT_STATUS"]) == (
        "signal", "killed", "ABRT")


def test_monitor_environment_skipped_with_two_sources():
    a = service("a.service", unit=dict(on_failure=["h.service"]))
    b = service("b.service", unit=dict(on_failure=["h.service"]))
    h = service("h.service", type=ServiceType.ONESHOT)
    sim = Simulation([a, b, h], {"a.service": Behaviour.exits(1), "h.service": Behaviour.exits(0)})
    sim.start("a.service")
    sim.run_until(sec(1))
    env = sim.spawns("h.service")[0][1].environment
    assert not any(k.startswith("MONITOR_") for k in env)


def test_on_failure_to_missing_unit_logs_and_goes_on():
    foo = service("foo.service", unit=dict(on_failure=["nope.service"]))
    sim = Simulation([foo], {"foo.service": Behaviour.exits(1)})
    sim.start("foo.service")
    sim.run_until(sec(1))
    assert ("foo.service: Failed to enqueue OnFailure=nope.service job, ignoring: Unit nope.service not found."
            in sim.logs(min_priority=7))
    assert sim.props("foo.service")["ActiveState"] == "failed"


def test_on_success():
    foo = service("foo.service", type=ServiceType.ONESHOT, unit=dict(on_success=["next.service"]))
    nxt = service("next.service")
    sim = Simulation([foo, nxt], {"foo.service": Behaviour.exits(0)})
    sim.start("foo.service")
    sim.run_until(sec(1))
    assert "foo.service: Triggering OnSuccess= dependencies." in sim.logs()
    assert sim.props("next.service")["SubState"] == "running"


def test_failure_action_fires_even_before_auto_restart():
    foo = service("foo.service", restart=RestartPolicy.ON_FAILURE, restart_usec=sec(1),
                  unit=dict(failure_action=EmergencyAction.EXIT, failure_action_exit_status=7))
    sim = Simulation([foo], {"foo.service": [Behaviour.exits(1), Behaviour.hangs()]})
    sim.start("foo.service")
    sim.run_until(sec(5))
    acts = [a for _, a in sim.trace if isinstance(a, RunEmergencyAction)]
    assert acts == [RunEmergencyAction(EmergencyAction.EXIT, "unit foo.service failed", 7)]
    assert "Exiting: unit foo.service failed" in sim.logs()


def test_unknown_unit_is_a_clear_error():
    m = Manager({})
    with pytest.raises(UnitNotFoundError) as e:
        m.handle(ev.StartRequested("x.service"), 0)
    assert str(e.value) == "Unit x.service could not be found."
    with pytest.raises(UnitNotFoundError):
        m.runtime_properties("x.service")


def test_reload_not_applicable():
    foo = service("foo.service")
    sim = Simulation([foo])
    sim.start("foo.service")
    rid = sim.reload("foo.service")
    job = sim.jobs(rid)[0]
    assert (str(job.result), job.error) == ("invalid", "Job type reload is not applicable for unit foo.service.")


def test_reload_runs_exec_reload():
    foo = service("foo.service", description="Foo", exec_reload="/bin/kill -HUP $MAINPID")
    sim = Simulation([foo], {("foo.service", "ExecReload"): Behaviour.exits(0, after=sec(1))})
    sim.start("foo.service")
    rid = sim.reload("foo.service")
    assert sim.props("foo.service")["ActiveState"] == "reloading"
    sim.run_until(sec(2))
    assert sim.props("foo.service")["SubState"] == "running"
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert sim.logs()[-2:] == ["Reloading foo.service - Foo...", "Reloaded foo.service - Foo."]


def test_shutdown_stops_in_reverse_dependency_order_then_exits():
    # b After=a: b stops first; c is ordered against neither and stops in parallel with b
    a, b, c = service("a.service"), service("b.service", unit=dict(after=["a.service"])), service("c.service")
    sim = Simulation([a, b, c], {"*": Behaviour.hangs(on_signal=((SIGTERM, 0),), signal_delay=msec(100))})
    for name in ("b.service", "a.service", "c.service"):
        sim.start(name)
    sim.send(ev.ShutdownRequested(3))
    sim.run_until(sec(1))
    stopped = [(t, a.message) for t, a in sim.trace if isinstance(a, Log) and a.message.startswith("Stopped")]
    services = [(t, m) for t, m in stopped if ".service" in m]
    assert services == [(msec(100), "Stopped b.service."), (msec(100), "Stopped c.service."),
                        (msec(200), "Stopped a.service.")]
    assert ("Stopped target sysinit.target - System Initialization.") in [m for _, m in stopped]
    reached = [t for t, a in sim.trace if isinstance(a, Log) and a.message.startswith("Reached target shutdown.target")]
    assert reached == [msec(200)]  # after every service stopped (they are Before=shutdown.target)
    assert [a for _, a in sim.trace if isinstance(a, ExitManager)] == [ExitManager(3)]


def test_shutdown_with_nothing_running_exits_at_once():
    sim = Simulation([service("a.service")])
    acts = sim.send(ev.ShutdownRequested())
    assert acts[-1] == ExitManager(0)
    logs = [a.message for a in acts if isinstance(a, Log) and a.priority <= 6]
    assert "Reached target shutdown.target - System Shutdown." in logs
    assert {m.split(" - ")[0] for m in logs if "shutdown.target" not in m} == {  # what the booted system had
        f"Stopped target {t}" for t in ("basic.target", "sysinit.target", "local-fs.target", "swap.target",
                                        "timers.target", "sockets.target", "paths.target", "slices.target")}


def test_kill_main_with_sigterm_is_not_a_stop():
    foo = service("foo.service", restart=RestartPolicy.ALWAYS, restart_usec=sec(1))
    sim = Simulation([foo])
    sim.start("foo.service")
    sim.kill("foo.service", SIGTERM, "main")
    sim.run_until(sec(2))
    assert sim.props("foo.service")["NRestarts"] == 1  # Restart=always restarts after a clean kill
    assert isinstance(sim.executor.kills[0][1], Kill)


def test_spawn_failure_is_resources():
    foo = service("foo.service")
    sim = Simulation([foo], {"foo.service": Behaviour.fails_to_spawn()})
    rid = sim.start("foo.service")
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["Result"]) == ("failed", "resources")
    assert "foo.service: Failed to spawn 'start' task: Cannot allocate memory" in sim.logs(min_priority=7)
    assert [str(j.result) for j in sim.jobs(rid)] == ["failed"]


def test_job_timeout_fails_the_job_not_the_unit_and_triggers_on_failure():
    # trap 13; spec: restart-and-failure.md §9
    foo = service("foo.service", type=ServiceType.NOTIFY, description="Foo",
                  unit=dict(job_timeout_usec=sec(2), on_failure=["h.service"],
                            job_timeout_action=EmergencyAction.POWEROFF))
    h = service("h.service", type=ServiceType.ONESHOT)
    sim = Simulation([foo, h], {"foo.service": Behaviour.hangs(), "h.service": Behaviour.exits(0)})
    rid = sim.start("foo.service")
    sim.run_until(sec(3))
    assert [str(j.result) for j in sim.jobs(rid)] == ["timeout"]
    assert sim.props("foo.service")["SubState"] == "start"  # the unit state is not changed
    logs = sim.logs()
    assert logs[logs.index("foo.service: Job foo.service/start timed out."):][:5] == [
        "foo.service: Job foo.service/start timed out.",
        "Timed out starting foo.service - Foo.",
        "foo.service: Job foo.service/start failed with result 'timeout'.",
        "foo.service: Triggering OnFailure= dependencies.",
        "Powering off: job timed out",
    ]
    assert len(sim.spawns("h.service")) == 1


def test_restart_mode_direct_oneshot_reruns_the_pending_start_job():
    from sysvisor.core.types import RestartMode
    foo = service("foo.service", type=ServiceType.ONESHOT, restart=RestartPolicy.ON_FAILURE, restart_usec=sec(1),
                  restart_mode=RestartMode.DIRECT)
    sim = Simulation([foo], {"foo.service": [Behaviour.exits(1), Behaviour.exits(1), Behaviour.exits(0)]})
    rid = sim.start("foo.service")
    sim.run_until(sec(5))
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["Result"], p["NRestarts"]) == ("inactive", "success", 2)
    # the client's start job survived the direct restarts and finished with the last run
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert len(sim.spawns("foo.service")) == 3


def test_restart_mode_debug_sets_debug_invocation_on_restarts():
    from sysvisor.core.types import RestartMode
    foo = service("foo.service", restart=RestartPolicy.ON_FAILURE, restart_usec=sec(1), restart_mode=RestartMode.DEBUG)
    sim = Simulation([foo], {"foo.service": [Behaviour.exits(1), Behaviour.exits(1), Behaviour.hangs()]})
    sim.start("foo.service")
    sim.run_until(sec(5))
    envs = [s.environment.get("DEBUG_INVOCATION") for _, s in sim.spawns("foo.service")]
    assert envs == [None, "1", "1"]
    # like normal mode it passes through failed-before-auto-restart
    assert "failed-before-auto-restart" in [s for _, _, s in sim.states("foo.service")]
    sim.stop("foo.service")
    sim.run_until(sec(6))
    sim.start("foo.service")
    assert len(sim.spawns("foo.service")) == 4
    assert sim.spawns("foo.service")[-1][1].environment.get("DEBUG_INVOCATION") is None


def test_failure_action_exit_status_255_when_killed():
    foo = service("foo.service", unit=dict(failure_action=EmergencyAction.EXIT_FORCE))
    sim = Simulation([foo], {"foo.service": Behaviour.killed(11)})
    sim.start("foo.service")
    sim.run_until(sec(1))
    acts = [a for _, a in sim.trace if isinstance(a, RunEmergencyAction)]
    assert acts == [RunEmergencyAction(EmergencyAction.EXIT_FORCE, "unit foo.service failed", 255)]


def test_kill_without_process_is_answered():
    from sysvisor.core.actions import RequestFailed
    sim = Simulation([service("foo.service")])
    out = sim.send(__import__("sysvisor.core.events", fromlist=["x"]).KillRequested("foo.service", 15, "main", 7))
    assert out == [RequestFailed(7, "foo.service", "No main process to kill")]
