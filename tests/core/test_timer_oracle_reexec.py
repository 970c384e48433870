"""Timers across daemon-reexec and daemon-reload, against systemd 257's recording
(tests/data/oracle/timer/reexec.json, reexec-random.json; scenarios/ beside them).

The scenario is rebuilt at virtual time on the recorded monotonic clock: a Manager runs
the four timers, its state goes through export_all()/JSON/import_all() into a fresh Manager
at the recorded re-exec (then through sync_timers() at the recorded reload), and what
systemd kept or recomputed is compared: kept exactly (state, result, last trigger,
invocation ID, unit timestamps, OnUnitActiveSec= elapses), rebased to the re-exec/reload
(OnActiveSec=) within the few ms systemd took to get there.
# systemd: timer_serialize(), timer_deserialize_item(), timer_coldplug()
"""

from __future__ import annotations

import copy
import json
import pathlib
import re

from sysvisor.core import events as ev
from sysvisor.core.reload import reload_units
from sysvisor.core.snapshot import export_all, import_all
from sysvisor.core.types import USEC_INFINITY, ServiceType
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from sysvisor.unitfile.values import parse_timespan
from tests.core.helpers import service
from tests.core.test_timer_harness import SEC, timer_unit

DATA = pathlib.Path(__file__).parent.parent / "data" / "oracle" / "timer"
HOUR = 3600 * SEC
TOLERANCE = 250_000  # µs: between systemd's coldplug and the recorded clock read
TIMERS = ("act.timer", "rep.timer", "cal.timer", "urep.timer")
KEPT = ("ActiveState", "SubState", "Result", "LastTriggerUSecMonotonic", "InvocationID",
        "StateChangeTimestampMonotonic", "InactiveExitTimestampMonotonic", "ActiveEnterTimestampMonotonic")


def _load(name: str) -> dict:
    raw = json.loads((DATA / f"{name}.json").read_text())
    assert raw["environment"]["systemd_version"].startswith("systemd 257")
    return raw


REC = _load("reexec")
STEPS = REC["scenarios"][0]["steps"]


def _step(label: str) -> dict:
    return next(s for s in STEPS if s.get("label") == label)


def _clock(nth: int) -> tuple[int, int]:
    mono, real = [s for s in STEPS if s.get("label") == "clock"][nth]["stdout"].split()
    return int(mono), int(real)


def _usec(text: str) -> int:
    if text in ("", "0"):
        return 0
    return USEC_INFINITY if text == "infinity" else parse_timespan(text)


def _props(label: str) -> dict[str, dict]:
    return _step(label)["props"]


def _units():
    # the recorded unit files (unit_files), as typed configs
    files = REC["unit_files"]
    assert "OnActiveSec=1h" in files["act.timer"] and "OnUnitActiveSec=1h" in files["urep.timer"]
    units = [timer_unit("act.timer", on_active_usec=[HOUR], accuracy_usec=1),
             timer_unit("rep.timer", on_active_usec=[SEC], on_unit_active_usec=[HOUR], accuracy_usec=1),
             timer_unit("cal.timer", on_calendar=["*:*:0/20"], randomized_delay_usec=10 * SEC, accuracy_usec=1),
             timer_unit("urep.timer", on_unit_active_usec=[HOUR], accuracy_usec=1)]
    units += [service(n.replace(".timer", ".service"), exec_start="/bin/true", type=ServiceType.ONESHOT)
              for n in TIMERS]
    return units


def _sim(units, start: int, real_offset: int, seed: int = 0) -> Simulation:
    sim = Simulation(copy.deepcopy(units), {"*": Behaviour.exits(0, after=28_000)}, start=start, seed=seed)
    sim.send(ev.ClockChanged(start + real_offset))
    return sim


def _mono(sim: Simulation, name: str, prop: str = "NextElapseUSecMonotonic") -> int:
    return sim.props(name)[prop]


def _replay():
    """Run the recorded scenario; returns (before, after-reexec, after-reload) simulations."""
    before = _props("before")
    mono0, real0 = _clock(0)
    offset = real0 - mono0
    units = _units()
    first_start = min(int(before[n]["InactiveExitTimestampMonotonic"]) for n in TIMERS)
    sim = _sim(units, first_start, offset)
    starts = sorted((int(before[n]["InactiveExitTimestampMonotonic"]), n) for n in TIMERS)
    for at, name in starts:
        sim.run_until(at)
        sim.start(name)
    sim.run_until(_usec(before["urep.timer"]["NextElapseUSecMonotonic"]) - HOUR)
    sim.start("urep.service")  # by hand, as the scenario does
    reexec_at, _ = _clock(2)  # read right after `systemctl daemon-reexec` returned
    sim.run_until(reexec_at - 20_000)
    snapshot = json.loads(json.dumps(export_all(sim.manager)))
    new = _sim(units, sim.now, offset)
    import_all(new.manager, snapshot, new.now, lambda pid: False)
    return sim, new, offset


def test_reexec_keeps_the_runtime_and_rebases_on_active_sec():
    sim, new, _ = _replay()
    before, after = _props("before"), _props("after-reexec")
    for name in TIMERS:
        for key in KEPT:
            assert str(after[name][key]) == str(before[name][key]), (name, key)  # systemd kept it
            assert new.props(name)[key] == sim.props(name)[key], (name, key)  # and so do we
    # OnUnitActiveSec= alone: the same elapse, to the µs
    assert _usec(after["urep.timer"]["NextElapseUSecMonotonic"]) == _usec(before["urep.timer"]["NextElapseUSecMonotonic"])
    assert _mono(new, "urep.timer") == _mono(sim, "urep.timer") == _usec(before["urep.timer"]["NextElapseUSecMonotonic"])
    # OnActiveSec= counts from the re-exec: systemd's and ours lie within the tolerance
    for name, value in (("act.timer", HOUR), ("rep.timer", SEC)):
        recorded = _usec(after[name]["NextElapseUSecMonotonic"])
        assert recorded > _usec(before[name]["NextElapseUSecMonotonic"]) or name == "rep.timer"
        assert abs(_mono(new, name) - recorded) < TOLERANCE, name
        assert _mono(new, name) == new.now + value


def test_rep_timer_runs_again_after_the_reexec_as_systemd_did():
    _, new, _ = _replay()
    elapsed = [e for e in _step_journal() if e["message"] == "rep.timer: Timer elapsed."]
    assert len(elapsed) == 2  # 1s after the start, and 1s after the re-exec
    new.run_for(2 * SEC)
    assert len(new.spawns("rep.service")) == 1
    later = _props("later")["rep.timer"]
    assert abs(new.props("rep.timer")["LastTriggerUSecMonotonic"] - _usec(later["LastTriggerUSecMonotonic"])) < TOLERANCE


def test_reload_recomputes_like_the_reexec():
    _, new, offset = _replay()
    reload_at, _ = _clock(3)
    new.run_until(reload_at - 30_000)
    new.manager.now = new.now  # the shell sets it before sync_timers()
    reload_units(new.manager, {n: copy.deepcopy(u) for n, u in new.manager.units.items()})
    new.manager.sync_timers()
    later, after = _props("later"), _props("after-reload")
    for name in TIMERS:
        for key in KEPT:
            assert str(after[name][key]) == str(later[name][key]), (name, key)
    assert abs(_mono(new, "act.timer") - _usec(after["act.timer"]["NextElapseUSecMonotonic"])) < TOLERANCE
    assert abs(_mono(new, "rep.timer") - _usec(after["rep.timer"]["NextElapseUSecMonotonic"])) < TOLERANCE
    assert _mono(new, "urep.timer") == _usec(after["urep.timer"]["NextElapseUSecMonotonic"])
    assert new.props("act.timer")["StateChangeTimestampMonotonic"] == int(later["act.timer"]["StateChangeTimestampMonotonic"])


def test_randomized_delay_is_drawn_again_at_reexec_and_reload():
    rec = _load("reexec-random")
    shown = {s["label"]: re.findall(r"NextElapseUSecRealtime=(.*)", s["stdout"])
             for s in rec["scenarios"][0]["steps"] if s.get("label")}
    assert len(shown["before"]) == 5
    assert shown["before"] != shown["after-reexec"] != shown["after-reload"]
    # ours: coldplug calls _enter_waiting(), which draws again (the shell seeds every
    # manager from os.urandom)
    units = [timer_unit(f"c{i}.timer", on_calendar=["*:0/30"], randomized_delay_usec=HOUR, accuracy_usec=1,
                        unit="x.service") for i in range(1, 6)]
    units.append(service("x.service", exec_start="/bin/true", type=ServiceType.ONESHOT))
    sim = _sim(units, 1_000 * SEC, 1_749_038_400 * SEC, seed=1)
    for u in units[:5]:
        sim.start(u.name)
    first = [sim.props(u.name)["NextElapseUSecRealtime"] for u in units[:5]]
    new = _sim(units, sim.now + SEC, 1_749_038_400 * SEC, seed=2)
    import_all(new.manager, json.loads(json.dumps(export_all(sim.manager))), new.now, lambda pid: False)
    second = [new.props(u.name)["NextElapseUSecRealtime"] for u in units[:5]]
    assert first != second


def _step_journal() -> list[dict]:
    return next(s for s in STEPS if s["do"] == "journal")["entries"]
