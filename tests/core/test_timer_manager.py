"""Timers wired into the Manager: start/stop requests, wake-ups, the triggered service.
# spec: timers.md §1, §2, §4"""

from __future__ import annotations

from sysvisor.core import events as ev
from sysvisor.core.types import ServiceType
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service
from tests.core.test_timer_harness import MONO_BASE, REAL_BASE, SEC, timer_unit


def _sim(**timer):
    t = timer_unit("t.timer", accuracy_usec=1, **timer)
    t.unit.description = "Tick"
    svc = service("t.service", exec_start="/bin/job", type=ServiceType.ONESHOT)
    sim = Simulation([t, svc], {"*": Behaviour.exits(0, after=SEC // 10)}, start=MONO_BASE)
    sim.send(ev.ClockChanged(REAL_BASE))
    return sim


def _starts(sim):
    return [t for t, s in sim.spawns("t.service")]


def test_on_active_sec_starts_the_service_one_second_after_the_timer():
    sim = _sim(on_active_usec=[SEC])
    rid = sim.start("t.timer")
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert "Started t.timer - Tick." in sim.logs("t.timer")
    assert sim.props("t.timer")["SubState"] == "waiting"
    sim.run_for(SEC // 2)
    assert _starts(sim) == []
    sim.run_for(2 * SEC)
    starts = _starts(sim)
    assert len(starts) == 1 and MONO_BASE + SEC <= starts[0] < MONO_BASE + SEC + SEC // 100
    # the oneshot finished: nothing left to wait for
    p = sim.props("t.timer")
    assert (p["ActiveState"], p["SubState"]) == ("active", "elapsed")
    assert p["LastTriggerUSec"] == starts[0] - MONO_BASE + REAL_BASE
    assert sim.props("t.service")["ActiveState"] == "inactive"


def test_on_unit_active_sec_repeats_and_stop_ends_it():
    sim = _sim(on_active_usec=[SEC], on_unit_active_usec=[2 * SEC])
    sim.start("t.timer")
    sim.run_for(6 * SEC + SEC // 2)
    starts = [t - MONO_BASE for t in _starts(sim)]
    assert len(starts) == 3
    assert all(abs(b - a - 2 * SEC) < SEC // 100 for a, b in zip(starts, starts[1:]))
    rid = sim.stop("t.timer")
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert sim.props("t.timer")["ActiveState"] == "inactive"
    sim.run_for(10 * SEC)
    assert len(_starts(sim)) == 3
    assert sim.manager.next_deadline() is None


def test_timer_of_a_missing_unit_fails_to_start():
    t = timer_unit("t.timer", on_active_usec=[SEC])
    sim = Simulation([t], start=MONO_BASE)
    rid = sim.start("t.timer")
    assert [str(j.result) for j in sim.jobs(rid)] == ["failed"]
    assert "Failed to start t.timer." in sim.logs("t.timer", min_priority=7)


def test_triggered_run_gets_trigger_environment_and_a_manual_start_does_not():
    sim = _sim(on_active_usec=[SEC])
    sim.start("t.timer")
    sim.run_for(2 * SEC)
    (t, spawn), = sim.spawns("t.service")
    env = spawn.environment
    assert env["TRIGGER_UNIT"] == "t.timer"
    assert env["TRIGGER_TIMER_MONOTONIC_USEC"] == str(t)
    assert env["TRIGGER_TIMER_REALTIME_USEC"] == str(t - MONO_BASE + REAL_BASE)
    sim.start("t.service")
    sim.run_for(SEC)
    assert "TRIGGER_UNIT" not in sim.spawns("t.service")[-1][1].environment


def test_shutdown_stops_the_timer_and_nothing_triggers_afterwards():
    sim = _sim(on_active_usec=[5 * SEC])
    sim.start("t.timer")
    sim.send(ev.ShutdownRequested())
    assert "Stopped t.timer - Tick." in sim.logs("t.timer")
    assert sim.props("t.timer")["ActiveState"] == "inactive"
    sim.run_for(10 * SEC)
    assert _starts(sim) == []


def test_daemon_reload_rearms_a_waiting_timer_from_the_new_config_and_adds_new_timers():
    from sysvisor.core.reload import reload_units

    sim = _sim(on_active_usec=[10 * SEC])
    sim.start("t.timer")
    sim.run_for(SEC)
    units = {n: u for n, u in sim.manager.units.items()}
    units["t.timer"] = timer_unit("t.timer", accuracy_usec=1, on_active_usec=[3 * SEC])
    units["u.timer"] = timer_unit("u.timer", accuracy_usec=1, on_active_usec=[SEC], unit="t.service")
    reload_units(sim.manager, units)
    sim.manager.sync_timers()
    assert sim.props("t.timer")["SubState"] == "waiting"
    sim.run_for(3 * SEC)
    starts = [t - MONO_BASE for t in _starts(sim)]
    assert len(starts) == 1 and 3 * SEC <= starts[0] < 3 * SEC + SEC // 100
    rid = sim.start("u.timer")
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
