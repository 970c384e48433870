"""The manager-wide timer table: routing, coalesced wake-ups, dispatch order."""

from __future__ import annotations

from sysvisor.core.timer import DualTimestamp, Now, TimerContext, TimerState, TriggeredUnitState
from sysvisor.core.timer_table import TimerTable
from sysvisor.core.types import ActiveState, LoadState
from sysvisor.core.units import Unit

from tests.core.test_timer_harness import MONO_BASE, REAL_BASE, SEC, timer_unit


class Host:
    def __init__(self):
        self.started: list[tuple[str, str]] = []
        self.state = TriggeredUnitState()

    def triggered_unit(self, name):
        return self.state

    def start_triggered_unit(self, timer, unit, environment):
        self.started.append((timer, unit))
        return None

    def stop_pending(self, timer):
        return False


def _table(*units, perturb=0):
    host = Host()
    table = TimerTable({u.name: u for u in units}, host, TimerContext(perturb=perturb))
    return table, host


def test_only_loaded_timers_get_a_timer_unit():
    bad = timer_unit("bad.timer", on_active_usec=[SEC])
    bad.load_state = LoadState.BAD_SETTING
    table, _ = _table(timer_unit("a.timer", on_active_usec=[SEC]), bad, Unit("a.service"))
    assert list(table.timers) == ["a.timer"] and "a.timer" in table and "bad.timer" not in table


def test_a_unit_triggered_by_two_timers_notifies_both():
    table, host = _table(timer_unit("a.timer", on_unit_active_usec=[SEC], unit="x.service"),
                         timer_unit("b.timer", on_unit_active_usec=[2 * SEC], unit="x.service"),
                         timer_unit("c.timer", on_unit_active_usec=[SEC]))
    now = Now(MONO_BASE, REAL_BASE)
    for name in ("a.timer", "b.timer", "c.timer"):
        table[name].start(now)
    assert {n: table[n].state for n in table.timers} == {n: TimerState.ELAPSED for n in table.timers}
    host.state = TriggeredUnitState(ActiveState.ACTIVATING, inactive_exit=DualTimestamp(now.realtime, now.monotonic))
    table.trigger_notify("x.service", now)
    assert [t.name for t in table.triggered_by("x.service")] == ["a.timer", "b.timer"]
    assert table["a.timer"].state is table["b.timer"].state is TimerState.WAITING
    assert table["c.timer"].state is TimerState.ELAPSED


def test_wakeup_coalesces_and_dispatches_all_due_timers():
    perturb = 11_224_607
    table, host = _table(timer_unit("lax.timer", on_active_usec=[2 * SEC]),
                         timer_unit("strict.timer", on_active_usec=[20 * SEC], accuracy_usec=1),
                         timer_unit("cal.timer", on_calendar=["*:*:0/30"], accuracy_usec=1),
                         perturb=perturb)
    now = Now(MONO_BASE, REAL_BASE)
    for t in table.timers.values():
        t.start(now)
    mono, real = table.wakeup()
    assert real == REAL_BASE + 30 * SEC
    assert MONO_BASE + 2 * SEC <= mono <= MONO_BASE + 20 * SEC
    table.time_passed(Now(mono, REAL_BASE + mono - MONO_BASE))
    assert host.started == [("lax.timer", "lax.service")]
    # both clocks due at once: realtime first
    host.started.clear()
    table.time_passed(Now(MONO_BASE + 40 * SEC, REAL_BASE + 40 * SEC))
    assert host.started == [("cal.timer", "cal.service"), ("strict.timer", "strict.service")]
    assert table.wakeup() == (None, None)


def test_clock_and_timezone_changes_reach_every_timer():
    table, _ = _table(timer_unit("a.timer", on_calendar=["*-*-* 13:00"], accuracy_usec=1),
                      timer_unit("b.timer", on_clock_change=True))
    now = Now(MONO_BASE, REAL_BASE)
    for t in table.timers.values():
        t.start(now)
    out = table.clock_changed(now)
    assert any("Time change, recalculating next elapse." in getattr(a, "message", "") for a in out)
    assert table["b.timer"].state is TimerState.RUNNING
    table.timezone_changed(now, "Europe/Berlin")
    assert table["a.timer"].next_elapse_realtime == REAL_BASE + 23 * 3600 * SEC
