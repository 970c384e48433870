"""The seed scenario and its variants at virtual time. # spec: restart-and-failure.md §6"""

from __future__ import annotations

from sysvisor.core.exit_status import SIGTERM
from sysvisor.core.types import RestartMode, RestartPolicy, ServiceType
from sysvisor.core.units import ExitStatusSet
from sysvisor.testing.clock import msec, sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service


def seed_units(**svc):
    unit = dict(start_limit_interval_usec=sec(600), start_limit_burst=5, on_failure=["x-recovery.service"])
    unit.update(svc.pop("unit", {}))
    kw = dict(restart=RestartPolicy.ON_FAILURE, restart_usec=sec(5))
    kw.update(svc)
    foo = service("foo.service", description="Foo", exec_start="/usr/bin/false", unit=unit, **kw)
    rec = service("x-recovery.service", exec_start="/usr/bin/recover", type=ServiceType.ONESHOT)
    return [foo, rec]


def run_seed(behaviour=Behaviour.exits(1), until=sec(60), **svc) -> Simulation:
    sim = Simulation(seed_units(**svc), {"foo.service": behaviour, "x-recovery.service": Behaviour.exits(0)})
    sim.start("foo.service")
    sim.run_until(until)
    return sim


def test_seed_scenario_v254_transcript():
    sim = run_seed()
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["SubState"], p["Result"]) == ("failed", "failed", "exit-code")
    assert p["NRestarts"] == 5
    assert (p["ExecMainCode"], p["ExecMainStatus"]) == (1, 1)
    assert len(sim.spawns("foo.service")) == 5
    assert [t for t, _ in sim.spawns("foo.service")] == [0, sec(5), sec(10), sec(15), sec(20)]
    assert len(sim.spawns("x-recovery.service")) == 6
    # failed for good at t=25 s
    assert sim.states("foo.service")[-1] == (sec(25), "failed", "failed")
    assert p["InactiveEnterTimestampMonotonic"] == sec(25)
    logs = sim.logs("foo.service")
    assert logs[:7] == [
        "Started foo.service - Foo.",
        "foo.service: Main process exited, code=exited, status=1/FAILURE",
        "foo.service: Failed with result 'exit-code'.",
        "foo.service: Triggering OnFailure= dependencies.",
        "foo.service: Scheduled restart job, restart counter is at 1.",
        "Started foo.service - Foo.",
        "foo.service: Main process exited, code=exited, status=1/FAILURE",
    ]
    assert logs[-5:] == [
        "foo.service: Scheduled restart job, restart counter is at 5.",
        "foo.service: Start request repeated too quickly.",
        "foo.service: Failed with result 'exit-code'.",
        "Failed to start foo.service - Foo.",
        "foo.service: Triggering OnFailure= dependencies.",
    ]
    assert logs.count("foo.service: Triggering OnFailure= dependencies.") == 6
    # the state path of one intermediate failure (v254+)
    subs = [s for _, _, s in sim.states("foo.service")]
    assert subs[:4] == ["running", "failed-before-auto-restart", "auto-restart", "auto-restart-queued"]
    # the client's start job completed when the unit was running
    assert [(j.request_id, str(j.result)) for j in sim.jobs()] == [(1, "done")]


def test_nothing_happens_after_the_limit():
    sim = run_seed(until=sec(3600))
    assert len(sim.spawns("foo.service")) == 5
    assert sim.manager.next_deadline() is None


def test_manual_start_refused_inside_window_accepted_after():
    sim = run_seed()
    rid = sim.start("foo.service")
    assert [str(j.result) for j in sim.jobs(rid)] == ["failed"]
    assert len(sim.spawns("foo.service")) == 5
    # no state change failed→failed: OnFailure= does not fire again (trap 12)
    assert sim.logs("foo.service").count("foo.service: Triggering OnFailure= dependencies.") == 6
    assert sim.props("foo.service")["NRestarts"] == 5
    sim.run_until(sec(600) + 1)
    rid = sim.start("foo.service")
    assert len(sim.spawns("foo.service")) == 6
    assert sim.props("foo.service")["NRestarts"] == 0  # manual start resets the counter
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]


def test_restart_mode_direct_triggers_on_failure_once():
    sim = run_seed(restart_mode=RestartMode.DIRECT)
    logs = sim.logs("foo.service")
    assert logs.count("foo.service: Triggering OnFailure= dependencies.") == 1
    assert len(sim.spawns("x-recovery.service")) == 1
    assert "failed-before-auto-restart" not in [s for _, _, s in sim.states("foo.service")]
    assert sim.props("foo.service")["NRestarts"] == 5


def test_success_under_restart_always_ends_start_limit_hit():
    sim = run_seed(Behaviour.exits(0), restart=RestartPolicy.ALWAYS)
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["Result"], p["NRestarts"]) == ("failed", "start-limit-hit", 5)
    # each clean exit went through dead-before-auto-restart
    assert "dead-before-auto-restart" in [s for _, _, s in sim.states("foo.service")]
    assert sim.logs("foo.service").count("foo.service: Triggering OnFailure= dependencies.") == 1


def test_default_restart_sec_hits_limit_after_400ms():
    # trap 1: RestartSec=100ms vs 5 starts per 10 s
    sim = run_seed(restart_usec=msec(100), unit=dict(start_limit_interval_usec=sec(10)))
    assert sim.states("foo.service")[-1] == (msec(500), "failed", "failed")
    assert len(sim.spawns("foo.service")) == 5
    assert "foo.service: Start request repeated too quickly." in sim.logs("foo.service")


def test_start_limit_disabled_restarts_forever():
    sim = run_seed(until=sec(100) - 1, unit=dict(start_limit_interval_usec=0))
    assert len(sim.spawns("foo.service")) == 20
    assert sim.props("foo.service")["SubState"] == "auto-restart"
    assert len(sim.spawns("x-recovery.service")) == 20


def test_restart_prevent_exit_status():
    sim = run_seed(restart_prevent_exit_status=ExitStatusSet(frozenset({1})))
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["NRestarts"]) == ("failed", 0)
    assert len(sim.spawns("x-recovery.service")) == 1


def test_sigterm_of_main_is_clean():
    sim = run_seed(Behaviour.killed(SIGTERM, after=sec(1)))
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["SubState"], p["Result"]) == ("inactive", "dead", "success")
    assert len(sim.spawns("x-recovery.service")) == 0
    assert "foo.service: Deactivated successfully." in sim.logs("foo.service")


def test_exec_start_pre_failure_restarts_and_skips_exec_stop():
    units = seed_units(exec_start_pre="/bin/pre", exec_stop="/bin/stop", exec_stop_post="/bin/stoppost")
    sim = Simulation(units, {("foo.service", "ExecStartPre"): Behaviour.exits(1),
                             "foo.service": Behaviour.exits(0), "x-recovery.service": Behaviour.exits(0)})
    sim.start("foo.service")
    sim.run_until(sec(7))
    phases = [s.phase for _, s in sim.spawns("foo.service")]
    assert phases == ["ExecStartPre", "ExecStopPost", "ExecStartPre", "ExecStopPost"]
    assert sim.props("foo.service")["NRestarts"] == 1
    assert sim.props("foo.service")["Result"] == "exit-code"
    post = [s for _, s in sim.spawns("foo.service", "ExecStopPost")][0]
    assert post.environment["SERVICE_RESULT"] == "exit-code"
    assert "EXIT_CODE" not in post.environment  # no main process ran
