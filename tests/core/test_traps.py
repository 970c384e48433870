"""The traps of spec/README.md that concern the engine, one test each."""

from __future__ import annotations

from sysvisor.core.exit_status import SIGTERM
from sysvisor.core.types import RestartPolicy, ServiceType
from sysvisor.core.units import ExitStatusSet
from sysvisor.testing.clock import msec, sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service


def test_trap9_exec_stop_skipped_after_unclean_exit_and_watchdog():
    a = service("a.service", exec_stop="/bin/stop", exec_stop_post="/bin/post")
    b = service("b.service", type=ServiceType.NOTIFY, watchdog_usec=sec(1), exec_stop="/bin/stop",
                exec_stop_post="/bin/post")
    sim = Simulation([a, b], {("a.service", "ExecStart"): Behaviour.exits(2, after=sec(1)),
                              ("b.service", "ExecStart"): Behaviour.ready(),
                              "*": Behaviour.exits(0)})
    sim.start("a.service")
    sim.start("b.service")
    sim.run_until(sec(5))
    for unit in ("a.service", "b.service"):
        assert [s.phase for _, s in sim.spawns(unit)] == ["ExecStart", "ExecStopPost"]
    assert sim.props("b.service")["Result"] == "watchdog"


def test_trap9_exec_stop_runs_after_clean_exit():
    a = service("a.service", exec_stop="/bin/stop")
    sim = Simulation([a], {("a.service", "ExecStart"): Behaviour.exits(0, after=sec(1)), "*": Behaviour.exits(0)})
    sim.start("a.service")
    sim.run_until(sec(2))
    assert [s.phase for _, s in sim.spawns("a.service")] == ["ExecStart", "ExecStop"]


def test_trap16_timeout_start_is_per_command():
    a = service("a.service", exec_start_pre=["/bin/p1", "/bin/p2", "/bin/p3"], timeout_start_usec=sec(90))
    sim = Simulation([a], {("a.service", "ExecStartPre"): Behaviour.exits(0, after=sec(60))})
    sim.start("a.service")
    sim.run_until(sec(200))
    assert sim.props("a.service")["SubState"] == "running"


def test_trap16_oneshot_has_no_start_timeout_by_default():
    a = service("a.service", type=ServiceType.ONESHOT)
    sim = Simulation([a], {"a.service": Behaviour.exits(0, after=sec(3600))})
    sim.start("a.service")
    sim.run_until(sec(3601))
    assert (sim.props("a.service")["ActiveState"], sim.props("a.service")["Result"]) == ("inactive", "success")


def test_trap23_nrestarts_survives_successful_runs():
    a = service("a.service", restart=RestartPolicy.ALWAYS, restart_usec=sec(1), restart_steps=3,
                restart_max_delay_usec=sec(8), unit=dict(start_limit_interval_usec=0))
    sim = Simulation([a], {"a.service": Behaviour.exits(0, after=msec(10))})
    sim.start("a.service")
    sim.run_until(sec(20))
    starts = [t for t, _ in sim.spawns("a.service")]
    gaps = [round((b - a) / 1e6, 2) for a, b in zip(starts, starts[1:])]
    assert gaps[:4] == [1.01, 2.01, 4.01, 8.01]  # the ladder keeps climbing
    assert sim.props("a.service")["NRestarts"] == len(starts) - 1


def test_trap26_prevent_exit_status_looks_only_at_main():
    a = service("a.service", exec_start_pre="/bin/pre", restart=RestartPolicy.ON_FAILURE, restart_usec=sec(1),
                restart_prevent_exit_status=ExitStatusSet(frozenset({1})))
    sim = Simulation([a], {("a.service", "ExecStartPre"): Behaviour.exits(1)})
    sim.start("a.service")
    sim.run_until(msec(1500))
    assert sim.props("a.service")["NRestarts"] == 1


def test_trap6_signals_clean_for_daemons_only():
    for sig in (1, 2, 13, 15):
        a = service("a.service", restart=RestartPolicy.ON_FAILURE)
        sim = Simulation([a], {"a.service": Behaviour.killed(sig, after=sec(1))})
        sim.start("a.service")
        sim.run_until(sec(2))
        assert (sim.props("a.service")["ActiveState"], sim.props("a.service")["Result"]) == ("inactive", "success")
    a = service("a.service", exec_start_pre="/bin/pre")
    sim = Simulation([a], {("a.service", "ExecStartPre"): Behaviour.killed(SIGTERM)})
    sim.start("a.service")
    sim.run_until(sec(1))
    assert sim.props("a.service")["Result"] == "signal"
