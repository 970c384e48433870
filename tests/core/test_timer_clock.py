"""Wall-clock jumps and time-zone changes through the Manager, at virtual time: the events
the shell's clock watch feeds (ClockChanged, TimezoneChanged) and what the timers do.
# spec: timers.md §2, §5   # systemd: timer_time_change(), timer_timezone_change()
"""

from __future__ import annotations

from sysvisor.core import events as ev
from sysvisor.core.types import Priority, ServiceType
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service
from tests.core.test_timer_harness import MONO_BASE, REAL_BASE, SEC, timer_unit

HOUR = 3600 * SEC
MIN = 60 * SEC


def _sim(name: str = "t", **timer) -> Simulation:
    t = timer_unit(f"{name}.timer", accuracy_usec=1, **timer)
    svc = service(f"{name}.service", exec_start="/bin/job", type=ServiceType.ONESHOT)
    sim = Simulation([t, svc], {"*": Behaviour.exits(0, after=SEC // 10)}, start=MONO_BASE)
    sim.send(ev.ClockChanged(REAL_BASE))  # Wed 2025-06-04 12:00:00 UTC
    return sim


def _wall(sim: Simulation) -> int:
    return sim.now + sim.manager.realtime_offset


def _jump(sim: Simulation, delta: int) -> None:
    sim.send(ev.ClockChanged(_wall(sim) + delta))


def _runs(sim: Simulation, unit: str = "t.service") -> list[int]:
    """Wall-clock start times of the triggered unit, in seconds after 12:00 of the base day."""
    return [(t + sim.manager.realtime_offset - REAL_BASE) // SEC for t, _ in sim.spawns(unit)]


def test_jump_forward_past_an_elapse_fires_once_then_tomorrow():
    sim = _sim(on_calendar=["*-*-* 14:00:00"])
    sim.start("t.timer")
    assert sim.manager.next_deadline() == MONO_BASE + 2 * HOUR
    sim.run_for(MIN)
    _jump(sim, 5 * HOUR)  # 17:01: 14:00 was skipped
    assert "t.timer: Time change, recalculating next elapse." in sim.logs("t.timer", min_priority=Priority.DEBUG)
    sim.run_for(SEC)
    assert _runs(sim) == [5 * 3600 + 60]  # once, at once
    sim.run_for(HOUR)
    assert len(sim.spawns("t.service")) == 1
    p = sim.props("t.timer")
    assert p["NextElapseUSecRealtime"] == REAL_BASE + 26 * HOUR  # Thu 14:00
    assert sim.manager.next_deadline() == sim.now + (REAL_BASE + 26 * HOUR - _wall(sim))


def test_jump_backward_rearms_and_the_elapse_comes_again():
    sim = _sim(on_calendar=["*-*-* 14:00:00"])
    sim.start("t.timer")
    sim.run_for(2 * HOUR + MIN)  # ran at 14:00, now 14:01
    assert _runs(sim) == [7200]
    assert sim.props("t.timer")["NextElapseUSecRealtime"] == REAL_BASE + 26 * HOUR
    _jump(sim, -3 * HOUR)  # 11:01 again: the last trigger lies in the future
    p = sim.props("t.timer")
    assert p["LastTriggerUSec"] == _wall(sim)  # clamped to now
    assert p["NextElapseUSecRealtime"] == REAL_BASE + 2 * HOUR  # today's 14:00, once more
    sim.run_for(3 * HOUR)
    assert len(sim.spawns("t.service")) == 2
    assert _runs(sim)[1] == 7200


def test_small_jump_before_the_elapse_moves_the_wake_up():
    sim = _sim(on_calendar=["*-*-* 14:00:00"])
    sim.start("t.timer")
    _jump(sim, 30 * MIN)  # the clock was 30 min slow
    assert sim.manager.next_deadline() == MONO_BASE + 90 * MIN
    sim.run_for(90 * MIN)
    assert _runs(sim) == [7200]


def test_jump_leaves_monotonic_timers_alone():
    sim = _sim(on_active_usec=[10 * MIN])
    sim.start("t.timer")
    _jump(sim, -5 * HOUR)
    assert sim.manager.next_deadline() == MONO_BASE + 10 * MIN
    assert sim.props("t.timer")["NextElapseUSecMonotonic"] == MONO_BASE + 10 * MIN


def test_on_clock_change_triggers_on_a_jump():
    sim = _sim(on_clock_change=True)
    sim.start("t.timer")
    assert sim.props("t.timer")["SubState"] == "waiting"
    _jump(sim, SEC)
    sim.run_for(SEC)
    assert len(sim.spawns("t.service")) == 1
    assert "t.timer: Time change, triggering activation." in sim.logs("t.timer", min_priority=Priority.DEBUG)


def test_persistent_catch_up_after_downtime_runs_once():
    sim = _sim(on_calendar=["hourly"], persistent=True)
    sim.manager.timer_stamps["t.timer"] = REAL_BASE - 5 * HOUR - 17 * SEC  # five elapses missed
    sim.start("t.timer")
    sim.run_for(SEC)
    assert _runs(sim) == [0]
    sim.run_for(HOUR - 2 * SEC)
    assert len(sim.spawns("t.service")) == 1  # missed runs collapse into one
    sim.run_for(2 * SEC)
    assert _runs(sim) == [0, 3600]


def test_persistent_catch_up_after_a_forward_jump_while_stopped():
    sim = _sim(on_calendar=["hourly"], persistent=True)
    sim.start("t.timer")
    sim.run_for(HOUR + SEC)  # ran at 13:00: the stamp says so
    stamp = [a.realtime_usec for _, a in sim.trace if type(a).__name__ == "TouchTimerStamp"][-1]
    assert stamp == REAL_BASE + HOUR
    sim.stop("t.timer")
    _jump(sim, 3 * HOUR)  # while it was down, 14:00..16:00 passed
    sim.start("t.timer")
    sim.run_for(SEC)
    assert len(sim.spawns("t.service")) == 2


def test_timezone_change_recomputes_calendar_elapses():
    sim = _sim(on_calendar=["*-*-* 15:00:00"])
    sim.send(ev.TimezoneChanged(None))
    sim.start("t.timer")
    assert sim.props("t.timer")["NextElapseUSecRealtime"] == REAL_BASE + 3 * HOUR  # 15:00 UTC
    sim.send(ev.TimezoneChanged("Europe/Berlin"))
    assert "t.timer: Timezone change, recalculating next elapse." in sim.logs("t.timer", min_priority=Priority.DEBUG)
    assert sim.props("t.timer")["NextElapseUSecRealtime"] == REAL_BASE + HOUR  # 15:00 CEST
    sim.run_for(HOUR)
    assert _runs(sim) == [3600]


def test_timezone_change_is_kept_for_timers_created_later():
    sim = _sim(on_calendar=["*-*-* 15:00:00"])
    sim.send(ev.TimezoneChanged("Asia/Tokyo"))
    assert sim.manager.timers.ctx.timezone == "Asia/Tokyo"
    assert sim.manager.timers["t.timer"].timezone == "Asia/Tokyo"


def test_on_timezone_change_triggers():
    sim = _sim(on_timezone_change=True)
    sim.start("t.timer")
    sim.send(ev.TimezoneChanged("Europe/Berlin"))
    sim.run_for(SEC)
    assert len(sim.spawns("t.service")) == 1


# ---------------------------------------------------------------------- any sequence of jumps

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sysvisor.core.timer import TimerState  # noqa: E402
from tests.core.test_timer_harness import World  # noqa: E402

_STEP = st.one_of(
    st.tuples(st.just("run"), st.integers(1, 3 * 3600)),
    st.tuples(st.just("jump"), st.integers(-6 * 3600, 6 * 3600).filter(bool)),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(_STEP, min_size=1, max_size=12))
def test_calendar_timer_under_clock_jumps_never_runs_twice_for_one_match(steps):
    """Between two runs with no backward jump in between, the wall clock crossed a new
    match (hourly) after the first run: a jump never repeats a run, and after every step
    the timer is armed or running."""
    w = World(timer_unit(on_calendar=["hourly"], accuracy_usec=1))
    w.start("t.timer")
    wall_runs: list[tuple[int, int]] = []  # (wall-clock µs of the run, backward jumps so far)
    backward = 0
    seen = 0
    for kind, amount in steps:
        if kind == "jump":
            backward += amount < 0
            w.jump_realtime(amount * SEC)
        else:
            for _ in range(amount // 60 + 1):  # a minute at a time: note each run's wall time
                w.run_for(min(60, amount) * SEC)
                for t in w.trigger_times("t.timer")[seen:]:
                    wall_runs.append((t + w.offset, backward))
                seen = len(w.trigger_times("t.timer"))
        runs = w.trigger_times("t.timer")
        for t in runs[seen:]:
            wall_runs.append((t + w.offset, backward))
        seen = len(runs)
        assert w.timers["t.timer"].state in (TimerState.WAITING, TimerState.RUNNING)
    for (w0, b0), (w1, b1) in zip(wall_runs, wall_runs[1:]):
        if b0 == b1:
            assert (w1 // HOUR) * HOUR > w0 - HOUR // 3600, (w0, w1)
