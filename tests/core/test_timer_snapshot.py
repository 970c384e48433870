"""Timers in the saved state: export, restore into a fresh manager, coldplug.

What systemd keeps across daemon-reexec (timer_serialize(), unit_serialize_state()) and
what it computes again (timer_coldplug() → timer_enter_waiting() while the timer is still
`dead`), checked against tests/data/oracle/timer/reexec.json in test_timer_oracle_reexec.py.
# spec: issue 5 (surviving a restart), timers.md §2
"""

from __future__ import annotations

import copy
import json

import pytest

from sysvisor.core import events as ev
from sysvisor.core.actions import Log
from sysvisor.core.snapshot import SnapshotError, export_all, import_all
from sysvisor.core.types import Priority, ServiceType
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service
from tests.core.test_timer_harness import MONO_BASE, REAL_BASE, SEC, timer_unit

HOUR = 3600 * SEC
MIN = 60 * SEC
KEPT = ("ActiveState", "SubState", "Result", "LastTriggerUSec", "LastTriggerUSecMonotonic", "InvocationID",
        "StateChangeTimestampMonotonic", "InactiveExitTimestampMonotonic", "ActiveEnterTimestampMonotonic",
        "ActiveExitTimestampMonotonic", "InactiveEnterTimestampMonotonic", "StateChangeTimestamp")


def _units(**timers):
    out = []
    for name, settings in timers.items():
        out.append(timer_unit(f"{name}.timer", accuracy_usec=1, **settings))
        out.append(service(f"{name}.service", exec_start="/bin/job", type=ServiceType.ONESHOT))
    return out


def _sim(units, start=MONO_BASE, run_after=SEC // 10) -> Simulation:
    sim = Simulation(copy.deepcopy(units), {"*": Behaviour.exits(0, after=run_after)}, start=start)
    sim.send(ev.ClockChanged(REAL_BASE + (start - MONO_BASE)))
    return sim


def _restart(sim: Simulation, units, gap: int, *, via_json: bool = True, alive=lambda pid: False):
    """A new manager `gap` µs later that restores `sim`'s saved state."""
    snapshot = export_all(sim.manager)
    if via_json:
        snapshot = json.loads(json.dumps(snapshot))
    new = _sim(units, start=sim.now + gap)
    actions = import_all(new.manager, snapshot, new.now, alive)
    return new, actions


def _kept(sim: Simulation, name: str) -> dict:
    p = sim.props(name)
    return {k: p[k] for k in KEPT}


def test_on_unit_active_sec_keeps_its_schedule():
    units = _units(u={"on_unit_active_usec": [HOUR]})
    sim = _sim(units)
    sim.start("u.timer")
    sim.start("u.service")  # the first run comes from elsewhere, as in the classic pattern
    sim.run_for(10 * MIN)
    before = sim.props("u.timer")
    assert before["SubState"] == "waiting"
    due = before["NextElapseUSecMonotonic"]
    new, _ = _restart(sim, units, 5 * MIN)
    assert _kept(new, "u.timer") == _kept(sim, "u.timer")
    assert new.props("u.timer")["NextElapseUSecMonotonic"] == due
    assert new.manager.timers.restored
    new.run_until(due - 1)
    assert new.spawns("u.service") == []
    new.run_until(due + SEC)
    assert [t for t, _ in new.spawns("u.service")] == [due]


def test_boot_and_unit_active_keep_their_schedule():
    units = _units(b={"on_boot_usec": [SEC], "on_unit_active_usec": [HOUR]})
    sim = _sim(units)
    sim.start("b.timer")  # OnBootSec= lies in the past: fires at once
    sim.run_for(MIN)
    assert len(sim.spawns("b.service")) == 1
    due = sim.props("b.timer")["NextElapseUSecMonotonic"]
    new, _ = _restart(sim, units, MIN)
    assert new.props("b.timer")["NextElapseUSecMonotonic"] == due  # the one-shot stays used up
    new.run_until(due + SEC)
    assert len(new.spawns("b.service")) == 1


def test_on_active_sec_counts_from_the_restore_as_systemd_does():
    """Observed (reexec.json): the disabled flags and next elapses are not serialized and
    coldplug runs timer_enter_waiting() while the timer is still dead, so OnActiveSec=
    counts from the new manager — and a timer whose OnActiveSec= already fired fires again."""
    units = _units(a={"on_active_usec": [HOUR]}, r={"on_active_usec": [SEC], "on_unit_active_usec": [HOUR]})
    sim = _sim(units)
    sim.start("a.timer")
    sim.start("r.timer")
    sim.run_for(2 * SEC)
    assert len(sim.spawns("r.service")) == 1
    new, _ = _restart(sim, units, 3 * SEC)
    assert new.props("a.timer")["NextElapseUSecMonotonic"] == new.now + HOUR
    assert new.props("r.timer")["NextElapseUSecMonotonic"] == new.now + SEC
    assert _kept(new, "a.timer") == _kept(sim, "a.timer")  # timestamps untouched by coldplug
    new.run_for(2 * SEC)
    assert len(new.spawns("r.service")) == 1  # the second run of the OnActiveSec=1s value


def test_calendar_timer_keeps_its_last_trigger_and_waits_for_the_next_match():
    units = _units(c={"on_calendar": ["*:0/15"]})
    sim = _sim(units)
    sim.start("c.timer")
    sim.run_for(20 * MIN)  # ran at 12:15
    assert sim.props("c.timer")["LastTriggerUSec"] == REAL_BASE + 15 * MIN
    new, _ = _restart(sim, units, 5 * MIN)  # 12:25
    p = new.props("c.timer")
    assert p["LastTriggerUSec"] == REAL_BASE + 15 * MIN
    assert p["NextElapseUSecRealtime"] == REAL_BASE + 30 * MIN


def test_calendar_elapse_missed_while_down_fires_after_the_restore():
    units = _units(c={"on_calendar": ["*:0/15"]})
    sim = _sim(units)
    sim.start("c.timer")
    sim.run_for(20 * MIN)
    new, _ = _restart(sim, units, 30 * MIN)  # 12:50: 12:30 and 12:45 passed while down
    new.run_for(SEC)
    assert len(new.spawns("c.service")) == 1  # the last trigger is the base: one catch-up run
    assert new.props("c.timer")["NextElapseUSecRealtime"] == REAL_BASE + 60 * MIN


def test_running_timer_whose_run_ended_while_down_waits_again():
    units = _units(r={"on_active_usec": [SEC], "on_unit_active_usec": [HOUR]})
    sim = _sim(units, run_after=10 * MIN)
    sim.start("r.timer")
    sim.run_for(2 * SEC)
    assert sim.props("r.timer")["SubState"] == "running"
    trigger = sim.props("r.timer")["LastTriggerUSecMonotonic"]
    new, actions = _restart(sim, units, 5 * MIN)  # the service's process is gone
    assert any(isinstance(a, Log) and "vanished while the manager was not running" in a.message for a in actions)
    p = new.props("r.timer")
    assert p["SubState"] == "waiting"
    assert p["LastTriggerUSecMonotonic"] == trigger
    assert new.props("r.service")["ActiveState"] == "inactive"


@pytest.mark.parametrize("state", ["elapsed", "dead", "failed"])
def test_other_states_are_kept_as_they_were(state):
    units = _units(o={"on_active_usec": [SEC]})
    if state == "failed":
        units[0].unit.start_limit_burst = 1
        units[0].unit.start_limit_interval_usec = HOUR
    sim = _sim(units)
    sim.start("o.timer")
    sim.run_for(2 * SEC)
    if state == "dead":
        sim.stop("o.timer")
    if state == "failed":
        sim.stop("o.timer")
        sim.start("o.timer")  # the second start within the hour: start-limit-hit
    assert sim.props("o.timer")["SubState"] == state
    new, _ = _restart(sim, units, MIN)
    assert _kept(new, "o.timer") == _kept(sim, "o.timer")
    new.run_for(HOUR // 2)
    assert len(new.spawns("o.service")) == 0
    if state == "failed":
        assert new.props("o.timer")["Result"] == "start-limit-hit"
        old_limit, new_limit = sim.manager.timers["o.timer"].start_limit, new.manager.timers["o.timer"].start_limit
        assert (new_limit.begin, new_limit.num) == (old_limit.begin, old_limit.num) == (MONO_BASE, 1)


def test_snapshot_without_timers_restores_none():
    units = _units(u={"on_unit_active_usec": [HOUR]})
    sim = _sim(units)
    sim.start("u.timer")
    snapshot = export_all(sim.manager)
    del snapshot["timers"]  # written by a sysvisor before timers were saved
    new = _sim(units, start=sim.now + SEC)
    import_all(new.manager, snapshot, new.now, lambda pid: False)
    assert not new.manager.timers.restored
    assert new.props("u.timer")["SubState"] == "dead"


def test_a_timer_that_is_no_longer_loaded_is_dropped_with_a_warning():
    units = _units(u={"on_active_usec": [HOUR]}, v={"on_active_usec": [HOUR]})
    sim = _sim(units)
    sim.start("u.timer")
    new, actions = _restart(sim, units[2:], SEC)
    assert any(isinstance(a, Log) and a.priority == Priority.WARNING
               and a.message == "u.timer: Timer in the saved state is no longer loaded, dropping its state."
               for a in actions)


@pytest.mark.parametrize("field, value, message", [
    ("SubState", "sleeping", "u.timer: bad value"),
    ("LastTrigger", [1], "field 'LastTrigger' must be [realtime, monotonic]"),
    ("LastTrigger", None, "field 'LastTrigger' must be [realtime, monotonic]"),
    ("Result", 3, "field 'Result' must be a string"),
    ("start_limit", {}, "u.timer: malformed timer record"),
])
def test_malformed_timer_records_are_refused_before_anything_changes(field, value, message):
    units = _units(u={"on_active_usec": [HOUR]})
    sim = _sim(units)
    sim.start("u.timer")
    snapshot = export_all(sim.manager)
    snapshot["timers"]["u.timer"][field] = value
    new = _sim(units, start=sim.now + SEC)
    with pytest.raises(SnapshotError, match=message.replace("[", r"\[").replace("]", r"\]")):
        import_all(new.manager, snapshot, new.now, lambda pid: False)
    assert new.props("u.timer")["SubState"] == "dead" and not new.manager.timers.restored


def test_on_startup_sec_keeps_counting_from_the_first_managers_start():
    """systemd serializes MANAGER_TIMESTAMP_USERSPACE: a re-executed manager is the same one."""
    import dataclasses

    units = _units(s={"on_startup_usec": [HOUR]})
    sim = _sim(units)
    sim.manager.timers.set_context(dataclasses.replace(sim.manager.timers.ctx, startup_monotonic=MONO_BASE - MIN))
    sim.start("s.timer")
    due = sim.props("s.timer")["NextElapseUSecMonotonic"]
    assert due == MONO_BASE - MIN + HOUR
    new, _ = _restart(sim, units, 10 * MIN)
    assert new.manager.timers.ctx.startup_monotonic == MONO_BASE - MIN
    assert new.props("s.timer")["NextElapseUSecMonotonic"] == due
