"""Transcripts of timer units at virtual time. # spec: timers.md §1, §2, §4, §5"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from sysvisor.core.timer import (
    ECANCELED,
    EALREADY,
    ENOENT,
    OK,
    Now,
    TimerContext,
    TimerState,
    TimerUnit,
    TriggeredUnitState,
)
from sysvisor.core.timer_accuracy import sleep_between
from sysvisor.core.types import USEC_INFINITY, ActiveState, LoadState, Priority
from sysvisor.core.units import UnitSection

from tests.core.test_timer_harness import MONO_BASE, REAL_BASE, SEC, FakeService, World, timer_unit

US = 1  # AccuracySec=1us: precise firing
MIN = 60 * SEC


def test_on_active_sec_fires_once_then_elapsed():
    w = World(timer_unit(on_active_usec=[SEC], accuracy_usec=US))
    assert w.start("t.timer") == OK
    t = w.timers["t.timer"]
    assert t.properties()["NextElapseUSecMonotonic"] == MONO_BASE + SEC
    assert t.properties()["NextElapseUSecRealtime"] == 0  # no calendar value: 0, not infinity
    w.run_for(10 * SEC)
    assert w.triggers("t.timer") == [1.0]
    assert w.states("t.timer") == ["waiting", "running", "elapsed"]
    props = t.properties()
    assert (props["ActiveState"], props["SubState"], props["Result"]) == ("active", "elapsed", "success")
    assert props["LastTriggerUSecMonotonic"] == MONO_BASE + SEC
    assert props["LastTriggerUSec"] == REAL_BASE + SEC
    assert props["NextElapseUSecMonotonic"] == USEC_INFINITY
    assert props["TimersMonotonic"] == [("OnActiveUSec", SEC, MONO_BASE + SEC)]
    assert "t.timer: Timer is elapsed." in w.messages(Priority.DEBUG)


def test_restart_rearms_on_active_sec():
    w = World(timer_unit(on_active_usec=[SEC], accuracy_usec=US))
    w.start("t.timer")
    w.run_for(3 * SEC)
    assert w.stop("t.timer") == OK
    assert w.stop("t.timer") == EALREADY
    assert "t.timer: Deactivated successfully." in w.messages(Priority.INFO)
    w.start("t.timer")
    # the last trigger survives the restart (observed with systemd 257)
    assert w.timers["t.timer"].properties()["LastTriggerUSecMonotonic"] == MONO_BASE + SEC
    w.run_for(3 * SEC)
    assert w.triggers("t.timer") == [1.0, 4.0]


def test_restart_does_not_rearm_on_boot_sec():
    # observed (tests/data/oracle/timer/boot-restart.json): only OnActiveSec= is re-armed
    w = World(timer_unit(on_boot_usec=[1000], accuracy_usec=US))
    w.start("t.timer")
    w.run_for(SEC)
    w.stop("t.timer")
    w.start("t.timer")
    w.run_for(SEC)
    assert w.triggers("t.timer") == [0.0]
    assert w.timers["t.timer"].state is TimerState.ELAPSED


def test_defer_reactivation_counts_from_the_end_of_the_run():
    # observed (tests/data/oracle/timer/defer-reactivation.json): a run longer than the
    # period skips the elapses it overlapped; without it, the missed one fires at once
    for defer, expected in ((True, [5.0, 15.0, 25.0]), (False, [5.0, 12.0, 19.0, 26.0])):
        svc = FakeService("t.service", run_usec=7 * SEC)
        w = World(timer_unit(on_calendar=["*:*:0/5"], accuracy_usec=US, defer_reactivation=defer), services=[svc])
        w.start("t.timer")
        w.run_for(29 * SEC)
        assert w.triggers("t.timer") == expected, defer


def test_start_of_active_timer_is_already():
    w = World(timer_unit(on_active_usec=[SEC]))
    w.start("t.timer")
    assert w.start("t.timer") == EALREADY


def test_on_boot_sec_in_a_container_counts_from_manager_start():
    # trap 29: in a container OnBootSec= equals OnStartupSec=
    ctx = TimerContext(startup_monotonic=MONO_BASE - 30 * SEC, in_container=True)
    w = World(timer_unit(on_boot_usec=[MIN], accuracy_usec=US), ctx=ctx)
    w.start("t.timer")
    assert w.timers["t.timer"].next_elapse_monotonic == MONO_BASE + 30 * SEC
    w.run_for(2 * MIN)
    assert w.triggers("t.timer") == [30.0]


def test_on_boot_sec_on_a_host_counts_from_boot():
    ctx = TimerContext(startup_monotonic=MONO_BASE - 30 * SEC, in_container=False)
    w = World(timer_unit(on_boot_usec=[MONO_BASE + 5 * SEC], accuracy_usec=US), ctx=ctx)
    w.start("t.timer")
    assert w.timers["t.timer"].next_elapse_monotonic == MONO_BASE + 5 * SEC


def test_on_startup_sec_already_past_elapses_immediately():
    ctx = TimerContext(startup_monotonic=MONO_BASE - 30 * SEC)
    w = World(timer_unit(on_startup_usec=[SEC], accuracy_usec=US), ctx=ctx)
    w.start("t.timer")
    assert w.triggers("t.timer") == []
    w.run_for(1)
    assert w.triggers("t.timer") == [0.0]
    w.run_for(MIN)
    # a one-shot value in the past is disabled once the timer has triggered
    assert w.triggers("t.timer") == [0.0]
    assert w.timers["t.timer"].state is TimerState.ELAPSED


def test_on_unit_active_sec_repeats_after_each_activation():
    # observed (tests/data/oracle/timer/unit-active.json): next = unit start + 2s
    w = World(timer_unit(on_active_usec=[SEC], on_unit_active_usec=[2 * SEC], accuracy_usec=US))
    w.run_for(SEC // 10)
    w.start("t.timer")
    w.run_for(8 * SEC)
    assert w.triggers("t.timer") == [1.1, 3.1, 5.1, 7.1]
    assert w.states("t.timer")[:4] == ["waiting", "running", "waiting", "running"]
    assert w.timers["t.timer"].state is TimerState.WAITING


def test_on_unit_active_sec_alone_waits_for_a_first_run():
    # trap 28: an OnUnitActiveSec=-only timer never fires before its unit ran; it is "elapsed"
    w = World(timer_unit(on_unit_active_usec=[2 * SEC], accuracy_usec=US))
    w.start("t.timer")
    assert w.timers["t.timer"].state is TimerState.ELAPSED
    w.run_for(MIN)
    assert w.triggers("t.timer") == []
    w.start_service("t.service")  # the unit runs once by hand
    assert w.timers["t.timer"].state is TimerState.WAITING
    w.run_for(5 * SEC)
    assert w.triggers("t.timer") == [62.0, 64.0]


def test_on_unit_inactive_sec_counts_from_deactivation():
    svc = FakeService("t.service", run_usec=SEC)
    w = World(timer_unit(on_active_usec=[SEC // 2], on_unit_inactive_usec=[SEC], accuracy_usec=US),
              services=[svc])
    w.start("t.timer")
    w.run_for(6 * SEC)
    assert w.triggers("t.timer") == [0.5, 2.5, 4.5]


def test_remain_after_elapse_no_deactivates_and_can_start_again():
    w = World(timer_unit(on_active_usec=[SEC], accuracy_usec=US, remain_after_elapse=False))
    w.start("t.timer")
    w.run_for(3 * SEC)
    t = w.timers["t.timer"]
    assert (t.active_state, t.state) == (ActiveState.INACTIVE, TimerState.DEAD)
    assert w.states("t.timer") == ["waiting", "running", "dead"]
    assert "t.timer: Deactivated successfully." in w.messages(Priority.INFO)
    assert w.start("t.timer") == OK
    w.run_for(3 * SEC)
    assert w.triggers("t.timer") == [1.0, 4.0]


def test_remain_after_elapse_no_keeps_on_unit_timers():
    w = World(timer_unit(on_unit_active_usec=[SEC], accuracy_usec=US, remain_after_elapse=False))
    w.start("t.timer")
    assert w.timers["t.timer"].state is TimerState.ELAPSED


def test_active_unit_keeps_the_timer_running():
    # spec §2: a RemainAfterExit=yes service runs only once from a repeating timer
    svc = FakeService("t.service", remain_after_exit=True)
    w = World(timer_unit(on_active_usec=[SEC], on_unit_active_usec=[SEC], accuracy_usec=US), services=[svc])
    w.start("t.timer")
    w.run_for(10 * SEC)
    assert w.triggers("t.timer") == [1.0]
    assert w.timers["t.timer"].state is TimerState.RUNNING
    w.stop_service("t.service")  # the elapse lies in the past: triggers at once
    w.run_for(1)
    assert w.triggers("t.timer") == [1.0, 10.0]
    assert "t.timer: Monotonic timer elapses in 0." in w.messages(Priority.DEBUG)


def test_default_accuracy_delays_to_the_perturbed_minute_point():
    perturb = 25_654_607
    ctx = TimerContext(startup_monotonic=MONO_BASE, perturb=perturb)
    w = World(timer_unit(on_active_usec=[SEC]), ctx=ctx)  # AccuracySec= default 1min
    w.start("t.timer")
    due = MONO_BASE + SEC
    expect = sleep_between(due, due + MIN, perturb)
    assert due <= expect <= due + MIN and expect % MIN == perturb
    w.run_for(2 * MIN)
    assert w.triggers("t.timer") == [(expect - MONO_BASE) / SEC]


def test_accuracy_coalesces_with_a_stricter_timer():
    perturb = 11_224_607
    ctx = TimerContext(startup_monotonic=MONO_BASE, perturb=perturb)
    lax = timer_unit("lax.timer", on_active_usec=[2 * SEC])
    strict = timer_unit("strict.timer", on_active_usec=[20 * SEC], accuracy_usec=US)
    w = World(lax, strict, ctx=ctx)
    w.start("lax.timer")
    w.start("strict.timer")
    alone = sleep_between(MONO_BASE + 2 * SEC, MONO_BASE + 62 * SEC, perturb)
    w.run_for(2 * MIN)
    fired = w.trigger_times("lax.timer")[0]
    assert fired < alone  # woken earlier than it would be alone, inside its window
    assert fired == sleep_between(MONO_BASE + 2 * SEC, MONO_BASE + 20 * SEC + 1, perturb)
    assert w.triggers("strict.timer") == [20.0]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), delay=st.integers(1, 3600 * SEC), value=st.integers(1, 100 * SEC))
def test_randomized_delay_stays_within_bounds(seed, delay, value):
    w = World(timer_unit(on_active_usec=[value], randomized_delay_usec=delay, accuracy_usec=US), seed=seed)
    w.start("t.timer")
    nxt = w.timers["t.timer"].next_elapse_monotonic
    assert MONO_BASE + value <= nxt < MONO_BASE + value + delay
    assert any(m.startswith("t.timer: Adding ") and m.endswith(" random time.") for m in w.messages())


def test_randomized_delay_is_drawn_again_and_seeded():
    def draws(seed):
        w = World(timer_unit(on_active_usec=[SEC], randomized_delay_usec=MIN, accuracy_usec=US), seed=seed)
        out = []
        for _ in range(3):
            w.start("t.timer")
            out.append(w.timers["t.timer"].next_elapse_monotonic)
            w.stop("t.timer")
        return out
    assert draws(1) == draws(1)
    assert len(set(draws(1))) == 3


def test_fixed_random_delay_is_stable_across_restarts():
    ctx = TimerContext(machine_id=bytes.fromhex("00ac1e00000000000000000000000001"))
    w = World(timer_unit("fixed.timer", on_active_usec=[SEC], randomized_delay_usec=3600 * SEC,
                         fixed_random_delay=True, accuracy_usec=US), ctx=ctx)
    w.start("fixed.timer")
    first = w.timers["fixed.timer"].next_elapse_monotonic - w.mono
    w.stop("fixed.timer")
    w.run_for(SEC)
    w.start("fixed.timer")
    assert w.timers["fixed.timer"].next_elapse_monotonic - w.mono == first
    # observed with systemd 257 for this machine ID and name: "Adding 8min 19.431536s random time."
    assert first == SEC + 499_431_536
    assert "fixed.timer: Adding 8min 19.431536s random time." in w.messages(Priority.DEBUG)


def test_calendar_fires_on_each_match():
    w = World(timer_unit(on_calendar=["*:*:0/5"], accuracy_usec=US))
    w.run_for(SEC // 4)
    w.start("t.timer")
    t = w.timers["t.timer"]
    assert t.next_elapse_realtime == REAL_BASE + 5 * SEC
    assert t.next_elapse_monotonic == 0  # no monotonic value
    assert "t.timer: Realtime timer elapses at Wed 2025-06-04 12:00:05 UTC." in w.messages()
    w.run_for(12 * SEC)
    assert w.triggers("t.timer") == [5.0, 10.0]
    assert t.properties()["TimersCalendar"] == [("OnCalendar", "*-*-* *:*:00/5", REAL_BASE + 15 * SEC)]


def test_calendar_in_the_local_time_zone():
    w = World(timer_unit(on_calendar=["*-*-* 14:00"], accuracy_usec=US),
              ctx=TimerContext(timezone="Europe/Berlin"))
    w.start("t.timer")
    # now is 14:00 CEST exactly: the next match is tomorrow's
    assert w.timers["t.timer"].next_elapse_realtime == REAL_BASE + 24 * 3600 * SEC
    assert "Realtime timer elapses at Thu 2025-06-05 14:00:00 CEST." in w.messages()[0]


def test_persistent_catches_up_once_after_downtime():
    stamp = REAL_BASE - 2 * 3600 * SEC - 17 * SEC  # last run 2h ago: 09:59:43
    ctx = TimerContext(startup_monotonic=MONO_BASE - 5 * SEC)
    w = World(timer_unit(on_calendar=["hourly"], persistent=True, accuracy_usec=US), ctx=ctx)
    w.start("t.timer", stamp=stamp)
    t = w.timers["t.timer"]
    assert t.properties()["LastTriggerUSec"] == stamp
    # 10:00 and 11:00 were missed: one run, at the manager's start (observed: rebased)
    assert t.next_elapse_realtime == REAL_BASE - 5 * SEC
    w.run_for(1)
    assert w.triggers("t.timer") == [0.0]
    assert w.stamps["t.timer"] == REAL_BASE
    w.run_for(3600 * SEC)
    assert w.triggers("t.timer") == [0.0, 3600.0]


def test_persistent_without_stamp_creates_one_and_waits():
    w = World(timer_unit(on_calendar=["hourly"], persistent=True, accuracy_usec=US))
    w.start("t.timer")
    assert w.stamps == {"t.timer": REAL_BASE}
    assert w.timers["t.timer"].properties()["LastTriggerUSec"] == 0
    assert w.timers["t.timer"].next_elapse_realtime == REAL_BASE + 3600 * SEC


def test_persistent_stamp_in_the_future_is_ignored():
    w = World(timer_unit(on_calendar=["hourly"], persistent=True, accuracy_usec=US))
    w.start("t.timer", stamp=REAL_BASE + 10 * SEC)
    assert w.timers["t.timer"].last_trigger.realtime == 0
    assert ("t.timer: Not using persistent file timestamp Wed 2025-06-04 12:00:10 UTC as it is in the future."
            in w.messages(Priority.WARNING))


def test_wall_clock_jump_forward_fires_the_skipped_elapse_once():
    w = World(timer_unit(on_calendar=["hourly"], accuracy_usec=US))
    w.run_for(10 * MIN)
    w.start("t.timer")  # 12:10, next 13:00
    w.jump_realtime(3 * 3600 * SEC)  # now 15:10
    assert "t.timer: Time change, recalculating next elapse." in w.messages(Priority.DEBUG)
    w.run_for(1)
    assert len(w.triggers("t.timer")) == 1
    w.run_for(3600 * SEC)
    assert len(w.triggers("t.timer")) == 2
    assert w.timers["t.timer"].next_elapse_realtime == REAL_BASE + 5 * 3600 * SEC  # 17:00


def test_wall_clock_jump_backward_allows_the_elapses_again():
    w = World(timer_unit(on_calendar=["hourly"], accuracy_usec=US))
    w.run_for(10 * MIN)
    w.start("t.timer")
    w.run_for(3600 * SEC)  # triggered at 13:00, now 13:10
    assert w.triggers("t.timer") == [3600.0]
    w.jump_realtime(-2 * 3600 * SEC)  # now 11:10: last trigger "in the future" is clamped
    t = w.timers["t.timer"]
    assert t.last_trigger.realtime == w.now().realtime
    assert t.next_elapse_realtime == REAL_BASE  # 12:00 again
    w.run_for(50 * MIN)
    assert w.triggers("t.timer") == [3600.0, 7200.0]


def test_clock_jump_keeps_monotonic_timers():
    w = World(timer_unit(on_active_usec=[MIN], accuracy_usec=US))
    w.start("t.timer")
    w.jump_realtime(-3600 * SEC)
    assert w.timers["t.timer"].next_elapse_monotonic == MONO_BASE + MIN


def test_on_clock_change_triggers():
    w = World(timer_unit(on_clock_change=True))
    w.start("t.timer")
    assert w.timers["t.timer"].state is TimerState.WAITING  # nothing armed, but waiting
    w.jump_realtime(SEC)
    assert w.triggers("t.timer") == [0.0]


def test_restarted_calendar_timer_counts_from_its_first_activation():
    # observed (tests/data/oracle/timer/restart.json): an elapse between the first
    # activation and a restart fires right after the restart
    w = World(timer_unit(on_calendar=["*:*:0/10"], accuracy_usec=US))
    w.run_for(SEC)
    w.start("t.timer")
    w.stop("t.timer")
    w.run_for(11 * SEC)
    w.start("t.timer")
    w.run_for(1)
    assert w.triggers("t.timer") == [12.0]


def test_unit_not_loaded_refuses_to_start():
    w = World(timer_unit(on_active_usec=[SEC], unit="nothere.service"))
    w.services["nothere.service"].load_state = LoadState.NOT_FOUND
    assert w.start("t.timer") == ENOENT
    assert w.timers["t.timer"].state is TimerState.DEAD
    assert "t.timer: Refusing to start, unit nothere.service to trigger not loaded." in w.messages(Priority.ERR)


def test_start_limit_fails_the_timer_until_reset():
    unit = timer_unit(on_active_usec=[SEC])
    unit.unit = UnitSection(start_limit_burst=2)
    w = World(unit)
    assert [w.start("t.timer"), w.stop("t.timer"), w.start("t.timer"), w.stop("t.timer")] == [OK] * 4
    assert w.start("t.timer") == ECANCELED
    t = w.timers["t.timer"]
    assert (t.state, t.result) == (TimerState.FAILED, "start-limit-hit")
    assert "t.timer: Failed with result 'start-limit-hit'." in w.messages(Priority.WARNING)
    w._take(t.reset_failed(w.now()))
    assert (t.state, t.result) == (TimerState.DEAD, "success")
    assert w.start("t.timer") == OK


class _RefusingHost:
    def __init__(self):
        self.state = TriggeredUnitState()

    def triggered_unit(self, name):
        return self.state

    def start_triggered_unit(self, timer, unit, environment):
        return "Transaction is destructive."

    def stop_pending(self, timer):
        return False


def test_start_job_refused_fails_the_timer_with_resources():
    t = TimerUnit(timer_unit(on_active_usec=[SEC], accuracy_usec=US), _RefusingHost())
    t.start(Now(MONO_BASE, REAL_BASE))
    actions = t.time_passed(Now(MONO_BASE + SEC, REAL_BASE + SEC))
    assert (t.state, t.result) == (TimerState.FAILED, "resources")
    assert any(getattr(a, "message", "") == "t.timer: Failed to queue unit startup job: Transaction is destructive."
               for a in actions)
    assert t.last_trigger.monotonic == 0


def test_no_trigger_while_a_stop_is_pending():
    w = World(timer_unit(on_active_usec=[SEC], accuracy_usec=US))
    w.start("t.timer")
    w.stop_pending_for.add("t.timer")
    w._take(w.timers["t.timer"].time_passed(Now(MONO_BASE + SEC, REAL_BASE + SEC)))
    assert w.triggers("t.timer") == []
    # the source fired once (ONESHOT): no busy loop while the stop job is pending
    assert w.timers["t.timer"].elapse_windows() == {}
    assert w.timers["t.timer"].state is TimerState.WAITING


def test_trigger_environment_and_stamp():
    w = World(timer_unit(on_calendar=["*:*:0/5"], persistent=True, accuracy_usec=US))
    w.run_for(SEC)
    w.start("t.timer", stamp=REAL_BASE)
    w.run_for(5 * SEC)
    env = w.services["t.service"].environments[0]
    assert env == {"TRIGGER_UNIT": "t.timer", "TRIGGER_TIMER_REALTIME_USEC": str(REAL_BASE + 5 * SEC),
                   "TRIGGER_TIMER_MONOTONIC_USEC": str(MONO_BASE + 5 * SEC)}
    assert w.stamps["t.timer"] == REAL_BASE + 5 * SEC


def test_values_list_in_systemd_order():
    t = TimerUnit(timer_unit(on_boot_usec=[3600 * SEC], on_startup_usec=[7200 * SEC]), _RefusingHost())
    assert [name for name, _, _ in t.properties()["TimersMonotonic"]] == ["OnStartupUSec", "OnBootUSec"]


def test_deadlines_and_windows():
    t = TimerUnit(timer_unit(on_active_usec=[SEC], accuracy_usec=10 * SEC), _RefusingHost(),
                  TimerContext(perturb=3 * SEC))
    assert t.next_deadline() == (None, None)
    t.start(Now(MONO_BASE, REAL_BASE))
    assert t.elapse_windows() == {"monotonic": (MONO_BASE + SEC, MONO_BASE + 11 * SEC)}
    assert t.next_deadline() == (MONO_BASE + 3 * SEC, None)


def test_accuracy_zero_means_sd_event_default():
    t = TimerUnit(timer_unit(on_active_usec=[SEC], accuracy_usec=0), _RefusingHost())
    t.start(Now(MONO_BASE, REAL_BASE))
    assert t.elapse_windows()["monotonic"] == (MONO_BASE + SEC, MONO_BASE + SEC + 250_000)


def test_vanished_unit_fails_the_timer():
    class Gone(_RefusingHost):
        def triggered_unit(self, name):
            return None
    t = TimerUnit(timer_unit(on_active_usec=[SEC]), Gone())
    code, _ = t.start(Now(MONO_BASE, REAL_BASE))
    assert code == ENOENT


def test_rng_defaults_are_deterministic():
    a = TimerUnit(timer_unit(on_active_usec=[SEC], randomized_delay_usec=MIN), _RefusingHost())
    b = TimerUnit(timer_unit(on_active_usec=[SEC], randomized_delay_usec=MIN), _RefusingHost(),
                  rng=random.Random(0))
    a.start(Now(MONO_BASE, REAL_BASE))
    b.start(Now(MONO_BASE, REAL_BASE))
    assert a.next_elapse_monotonic == b.next_elapse_monotonic


def test_clean_removes_the_stamp_of_an_inactive_persistent_timer():
    from sysvisor.core.actions import RemoveTimerStamp
    t = TimerUnit(timer_unit(on_calendar=["daily"], persistent=True), _RefusingHost())
    now = Now(MONO_BASE, REAL_BASE)
    assert t.clean(now, ["state"]) == (None, [RemoveTimerStamp("t.timer")])
    assert t.clean(now, ["cache"])[0] == "No matching resources found."
    t.start(now, stamp_realtime=None)
    assert t.clean(now, ["state"]) == ("Unit is not inactive or has pending job.", [])
    plain = TimerUnit(timer_unit(on_calendar=["daily"]), _RefusingHost())
    assert plain.clean(now, ["state"])[0] == "No matching resources found."


def test_handle_routes_clock_events():
    from sysvisor.core.events import ClockChanged, TimePassed, TimezoneChanged
    w = World(timer_unit(on_calendar=["*-*-* 13:00"], accuracy_usec=US))
    w.start("t.timer")
    t = w.timers["t.timer"]
    assert t.next_elapse_realtime == REAL_BASE + 3600 * SEC
    t.handle(TimezoneChanged("Europe/Berlin"), w.now())  # 13:00 CEST = 11:00 UTC: tomorrow
    assert t.next_elapse_realtime == REAL_BASE + 23 * 3600 * SEC
    assert t.handle(ClockChanged(REAL_BASE), w.now())[0].message == "t.timer: Time change, recalculating next elapse."
    assert t.handle(TimePassed(), w.now()) == []
    try:
        t.handle(object(), w.now())
    except TypeError as e:
        assert "does not handle" in str(e)
    else:
        raise AssertionError("no TypeError")


def test_wake_system_is_ignored_with_a_notice():
    w = World(timer_unit(on_active_usec=[SEC], accuracy_usec=US, wake_system=True))
    w.start("t.timer")
    assert w.messages(Priority.NOTICE) == ["t.timer: WakeSystem= is not supported by sysvisor, ignoring."]
    w.run_for(2 * SEC)
    assert w.triggers("t.timer") == [1.0]
