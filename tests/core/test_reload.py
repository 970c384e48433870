"""daemon-reload against the engine. # spec: issue 5; tests/data/oracle/reload (systemd 257)"""

from __future__ import annotations

import copy
import json
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sysvisor.core import events as ev
from sysvisor.core.actions import Log, Spawn
from sysvisor.core.manager import UnitNotFoundError
from sysvisor.core.reload import collect_garbage, reload_units
from sysvisor.core.snapshot import export_all
from sysvisor.core.exit_status import SIGTERM
from sysvisor.core.types import LoadState, RestartPolicy, ServiceType
from sysvisor.core.units import Unit
from sysvisor.testing.clock import sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service
from tests.core.test_snapshot import _behaviours, _history, _op, _unit

ORACLE = pathlib.Path(__file__).parents[1] / "data" / "oracle" / "reload"


def reloaded(sim: Simulation, **changes) -> dict:
    """The sim's units as a fresh load would produce them, with `changes` applied:
    {name: Unit} replaces/adds, {name: None} removes."""
    units = copy.deepcopy(sim.manager.units)
    for name, unit in changes.items():
        if unit is None:
            units.pop(name)
        else:
            units[name] = unit
    return units


def test_running_unit_keeps_runtime_and_uses_new_exec_start_on_restart():
    foo = service("foo.service", restart=RestartPolicy.ON_FAILURE, restart_usec=sec(1))
    sim = Simulation([foo], {"foo.service": [Behaviour.exits(1), Behaviour.hangs()]})
    sim.start("foo.service")
    sim.run_until(sec(1) + 1)  # one automatic restart: NRestarts=1, running again
    before = sim.props("foo.service")
    assert (before["SubState"], before["NRestarts"]) == ("running", 1)
    new = service("foo.service", exec_start="/usr/bin/new", restart=RestartPolicy.ON_FAILURE, restart_usec=sec(1))
    out = reload_units(sim.manager, reloaded(sim, **{"foo.service": new}))
    # the running main command is not in the new file (systemd logs this for it too)
    assert [a.message for a in out] == [
        "foo.service: Current command vanished from the unit file, execution of the command list won't be resumed."]
    after = sim.props("foo.service")
    for key in ("SubState", "Result", "NRestarts", "MainPID", "InvocationID", "ActiveEnterTimestampMonotonic"):
        assert after[key] == before[key], key
    assert sim.manager.services["foo.service"].start_limit.num == 2
    sim.restart("foo.service")
    sim.run_for(1)
    assert sim.spawns("foo.service")[-1][1].command.path == "/usr/bin/new"


def test_new_restart_sec_applies_to_the_next_automatic_restart():
    foo = service("foo.service", restart=RestartPolicy.ALWAYS, restart_usec=sec(1))
    sim = Simulation([foo], {"foo.service": [Behaviour.exits(0, after=sec(5)), Behaviour.hangs()]})
    sim.start("foo.service")
    reload_units(sim.manager, reloaded(sim, **{"foo.service": service(
        "foo.service", restart=RestartPolicy.ALWAYS, restart_usec=sec(20))}))
    sim.run_until(sec(60))
    assert [t for t, _ in sim.spawns("foo.service")] == [0, sec(25)]


def test_pending_restart_is_rearmed_with_the_new_restart_sec():
    # systemd: service_coldplug_timeout() AUTO_RESTART → InactiveEnter + service_restart_usec_next()
    foo = service("foo.service", restart=RestartPolicy.ALWAYS, restart_usec=sec(10))
    sim = Simulation([foo], {"foo.service": [Behaviour.exits(0, after=sec(2)), Behaviour.hangs()]})
    sim.start("foo.service")
    sim.run_until(sec(3))
    assert sim.props("foo.service")["SubState"] == "auto-restart"
    assert sim.manager.next_deadline() == sec(12)
    reload_units(sim.manager, reloaded(sim, **{"foo.service": service(
        "foo.service", restart=RestartPolicy.ALWAYS, restart_usec=sec(4))}))
    assert sim.manager.next_deadline() == sec(6)
    sim.run_until(sec(20))
    assert [t for t, _ in sim.spawns("foo.service")] == [0, sec(6)]


def test_stop_timeout_and_watchdog_are_rearmed_from_the_new_config():
    foo = service("foo.service", type=ServiceType.NOTIFY, watchdog_usec=sec(30), timeout_stop_usec=sec(90))
    sim = Simulation([foo], {"foo.service": Behaviour.ready(after=sec(1), ignore=frozenset({SIGTERM}))})
    sim.start("foo.service")
    sim.run_until(sec(2))
    svc = sim.manager.services["foo.service"]
    assert svc.watchdog_deadline == sec(31)
    reload_units(sim.manager, reloaded(sim, **{"foo.service": service(
        "foo.service", type=ServiceType.NOTIFY, watchdog_usec=sec(10), timeout_stop_usec=sec(5))}))
    assert svc.watchdog_deadline == sec(11)  # last ping (READY at 1 s) + new WatchdogSec=
    sim.stop("foo.service")
    sim.run_until(sec(4))
    assert sim.props("foo.service")["SubState"] == "stop-sigterm"
    reload_units(sim.manager, reloaded(sim, **{"foo.service": service(
        "foo.service", type=ServiceType.NOTIFY, watchdog_usec=sec(10), timeout_stop_usec=sec(1))}))
    assert svc.timer == sec(2) + sec(1)  # state change at 2 s + new TimeoutStopSec=


def test_new_unit_is_added_inactive_and_can_start():
    sim = Simulation([service("foo.service")], {})
    reload_units(sim.manager, reloaded(sim, **{"bar.service": service("bar.service")}))
    assert sim.props("bar.service")["ActiveState"] == "inactive"
    sim.start("bar.service")
    assert sim.props("bar.service")["SubState"] == "running"


def test_removed_inactive_unit_is_dropped():
    sim = Simulation([service("foo.service"), service("bar.service")], {})
    reload_units(sim.manager, reloaded(sim, **{"bar.service": None}))
    assert [n for n in sim.manager.unit_names() if not n.endswith(".target")] == ["foo.service"]
    with pytest.raises(UnitNotFoundError):
        sim.props("bar.service")


def test_removed_running_unit_stays_not_found_until_it_is_dead():
    # observed: tests/data/oracle/reload/result1.json
    result = json.loads((ORACLE / "result1.json").read_text())
    shown = [s for s in result["scenarios"][0]["steps"] if s["do"] == "show" and s.get("unit") == "keep.service"]
    assert (shown[0]["props"]["LoadState"], shown[0]["props"]["SubState"]) == ("not-found", "running")
    sim = Simulation([service("keep.service", exec_start="/bin/sleep infinity")],
                     {"keep.service": Behaviour.hangs(on_signal=((SIGTERM, 0),))})
    sim.start("keep.service")
    pid = sim.props("keep.service")["MainPID"]
    reload_units(sim.manager, reloaded(sim, **{"keep.service": None}))
    p = sim.props("keep.service")
    assert (p["LoadState"], p["ActiveState"], p["SubState"], p["MainPID"]) == (
        str(shown[0]["props"]["LoadState"]), "active", "running", pid)
    assert collect_garbage(sim.manager) == []
    sim.send(ev.ProcessExited(pid, 2, SIGTERM))  # it exits on its own (SIGTERM is clean)
    assert sim.props("keep.service")["SubState"] == "dead"
    assert collect_garbage(sim.manager) == ["keep.service"]
    assert "keep.service" not in sim.manager.unit_names()


def test_removed_failed_unit_stays_until_reset_failed():
    sim = Simulation([service("foo.service")], {"foo.service": Behaviour.exits(1)})
    sim.start("foo.service")
    sim.run_for(1)
    reload_units(sim.manager, reloaded(sim, **{"foo.service": None}))
    assert (sim.props("foo.service")["LoadState"], sim.props("foo.service")["ActiveState"]) == ("not-found", "failed")
    assert collect_garbage(sim.manager) == []
    sim.reset_failed("foo.service")
    assert collect_garbage(sim.manager) == ["foo.service"]


def test_masked_running_unit_keeps_running_with_its_new_load_state():
    sim = Simulation([service("foo.service")], {})
    sim.start("foo.service")
    masked = Unit(name="foo.service", load_state=LoadState.MASKED)
    reload_units(sim.manager, reloaded(sim, **{"foo.service": masked}))
    p = sim.props("foo.service")
    assert (p["LoadState"], p["SubState"]) == ("masked", "running")


@pytest.mark.parametrize("new_burst, expected_num", [(5, 3), (6, 0)])
def test_start_limit_counter_survives_only_unchanged_settings(new_burst, expected_num):
    unit = dict(start_limit_burst=5, start_limit_interval_usec=sec(60))
    sim = Simulation([service("foo.service", unit=unit)], {"foo.service": Behaviour.exits(0)})
    for _ in range(3):
        sim.start("foo.service")
        sim.run_for(sec(1))
    begin = sim.manager.services["foo.service"].start_limit.begin
    new = service("foo.service", unit=dict(start_limit_burst=new_burst, start_limit_interval_usec=sec(60)))
    reload_units(sim.manager, reloaded(sim, **{"foo.service": new}))
    lim = sim.manager.services["foo.service"].start_limit
    assert (lim.begin, lim.num, lim.burst) == (begin, expected_num, new_burst)


def test_running_control_command_that_vanished_is_not_resumed():
    foo = service("foo.service", exec_start_pre=["/bin/a", "/bin/b"])
    sim = Simulation([foo], {("foo.service", "ExecStartPre"): Behaviour.exits(0, after=sec(1))})
    sim.start("foo.service")
    new = service("foo.service", exec_start_pre=["/bin/x", "/bin/b"])
    out = reload_units(sim.manager, reloaded(sim, **{"foo.service": new}))
    assert [a.message for a in out if isinstance(a, Log)] == [
        "foo.service: Current command vanished from the unit file, execution of the command list won't be resumed."]
    sim.run_until(sec(5))
    assert [s.command.path for _, s in sim.spawns("foo.service")] == ["/bin/a", "/usr/bin/daemon"]


def test_unchanged_running_control_command_list_is_resumed_with_new_tail():
    foo = service("foo.service", exec_start_pre=["/bin/a", "/bin/b"])
    sim = Simulation([foo], {("foo.service", "ExecStartPre"): Behaviour.exits(0, after=sec(1))})
    sim.start("foo.service")
    new = service("foo.service", exec_start_pre=["/bin/a", "/bin/c"])
    assert reload_units(sim.manager, reloaded(sim, **{"foo.service": new})) == []
    sim.run_until(sec(5))
    assert [s.command.path for _, s in sim.spawns("foo.service")] == ["/bin/a", "/bin/c", "/usr/bin/daemon"]


def test_on_failure_added_by_reload_triggers():
    foo = service("foo.service")
    rec = service("rec.service", type=ServiceType.ONESHOT, exec_start="/bin/rec")
    sim = Simulation([foo, rec], {"foo.service": Behaviour.exits(1, after=sec(1)), "rec.service": Behaviour.exits(0)})
    sim.start("foo.service")
    new = service("foo.service", unit=dict(on_failure=["rec.service"]))
    reload_units(sim.manager, reloaded(sim, **{"foo.service": new}))
    sim.run_until(sec(2))
    assert len(sim.spawns("rec.service")) == 1
    spawn = [a for _, a in sim.trace if isinstance(a, Spawn) and a.unit == "rec.service"][0]
    assert spawn.environment["MONITOR_UNIT"] == "foo.service"



@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_unit, min_size=1, max_size=3), st.lists(_behaviours, min_size=1, max_size=4),
       st.lists(_op, max_size=20), st.lists(_op, max_size=10))
def test_reload_of_unchanged_files_changes_nothing(specs, behaviours, ops, later):
    """daemon-reload with the same unit files is invisible, now and afterwards."""
    sim = _history(specs, behaviours, ops)
    twin = _history(specs, behaviours, ops)
    assert reload_units(sim.manager, copy.deepcopy(sim.manager.units)) == []
    assert export_all(sim.manager) == export_all(twin.manager)
    for s in (sim, twin):
        for kind, arg in later:
            name = f"u{arg % len(specs)}.service"
            if kind == "wait":
                s.run_for(arg)
            elif kind == "kill":
                s.kill(name, SIGTERM)
            else:
                getattr(s, kind)(name)
        s.run_for(sec(30))
    assert export_all(sim.manager) == export_all(twin.manager)
