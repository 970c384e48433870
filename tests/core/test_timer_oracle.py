"""Differential tests: the timer engine against real systemd 257.

The recordings in tests/data/oracle/timer/ come from /work/shared/tools/systemd-oracle
(`run --log-level debug`, scenarios in scenarios/, unit files inside each recording). Each
test rebuilds the scenario at virtual time from the recorded clocks and compares states,
properties, timings (exact where systemd's arithmetic is deterministic, within a tolerance
where process start-up latency enters) and the timer's own log lines.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import re
import uuid

import pytest

from sysvisor.core.timer import Now, TimerContext, TimerState, TimerUnit, TriggeredUnitState, DualTimestamp
from sysvisor.core.timer_accuracy import perturb_from_id128, sleep_between
from sysvisor.core.timespan import format_timespan
from sysvisor.core.types import USEC_INFINITY, ActiveState, Priority
from sysvisor.unitfile.values import parse_timespan

from tests.core.test_timer_harness import SEC, FakeService, World, timer_unit

DATA = pathlib.Path(__file__).parent.parent / "data" / "oracle" / "timer"
TOLERANCE = 100_000  # µs: systemd's own latency (fork, journal) around a trigger


class Recording:
    def __init__(self, name: str) -> None:
        self.raw = json.loads((DATA / f"{name}.json").read_text())
        assert self.raw["environment"]["systemd_version"].startswith("systemd 257")
        self.steps = self.raw["scenarios"][0]["steps"]

    def step(self, do: str, *, label: str | None = None, unit: str | None = None, nth: int = 0) -> dict:
        found = [s for s in self.steps if s["do"] == do and (label is None or s.get("label") == label)
                 and (unit is None or s.get("unit") == unit)]
        return found[nth]

    def clocks(self, nth: int = 0) -> tuple[int, int]:
        mono, real = self.step("exec", label="clock", nth=nth)["stdout"].split()
        return int(mono), int(real)

    def manager(self) -> dict[str, str]:
        """The manager's properties recorded by the `systemctl show` step labelled manager."""
        return dict(line.split("=", 1) for line in self.step("systemctl", label="manager")["stdout"].splitlines())

    def journal(self, unit: str) -> list[dict]:
        entries = self.step("journal")["entries"]
        return [e for e in entries if e["message"].startswith(unit + ": ")]

    def timer_messages(self, unit: str, realtime: bool = False) -> list[str]:
        """The timer's own lines: without the job engine's and D-Bus's. Latency-dependent
        parts are masked; `realtime`: keep calendar elapses (whole seconds)."""
        return [_mask(e["message"], realtime) for e in self.journal(unit)
                if not re.search(r": Job \d+ |Failed to send unit change signal", e["message"])]

    def timeline(self, unit: str, prop: str = "SubState") -> list[str]:
        return [c["changes"][prop] for s in self.steps if s["do"] == "watch"
                for c in s["timeline"] if c["unit"] == unit and prop in c["changes"]]


def _mask(message: str, realtime: bool = False) -> str:
    """Blank the parts that depend on process latency."""
    message = re.sub(r"elapses in .*\.$", "elapses in <T>.", message)
    return message if realtime else re.sub(r"elapses at .*\.$", "elapses at <T>.", message)


def _engine_messages(world: World, unit: str, realtime: bool = False) -> list[str]:
    return [_mask(log.message, realtime) for log in world.logs if log.unit == unit]


def _span(text: str) -> int:
    return USEC_INFINITY if text == "infinity" else parse_timespan(text)


def _stamp(text: str) -> int:
    """`Thu 2026-11-26 07:22:40 UTC` → µs (second resolution)."""
    t = dt.datetime.strptime(text, "%a %Y-%m-%d %H:%M:%S UTC").replace(tzinfo=dt.timezone.utc)
    return int(t.timestamp()) * SEC


def _second(usec: int) -> int:
    return usec // SEC * SEC


def _world_at(rec: Recording, start_mono: int, *units, nth_clock: int = 0, **kw) -> World:
    mono, real = rec.clocks(nth_clock)
    ctx = kw.pop("ctx", None)
    if ctx is None:
        ctx = TimerContext(startup_monotonic=int(rec.manager()["UserspaceTimestampMonotonic"]), in_container=True)
    return World(*units, ctx=ctx, start=start_mono, realtime_offset=real - mono, **kw)


def _timers_monotonic(t: TimerUnit) -> list[str]:
    return [f"{{ {name}={format_timespan(value, 1)} ; next_elapse={format_timespan(nxt, 1)} }}"
            for name, value, nxt in t.properties()["TimersMonotonic"]]


# ---------------------------------------------------------------------------------------


def test_on_active_sec_once():
    rec = Recording("once")
    shown = rec.step("show", unit="once.timer")["props"]
    start = int(shown["InactiveExitTimestampMonotonic"])
    w = _world_at(rec, start, timer_unit("once.timer", on_active_usec=[SEC], accuracy_usec=1),
                  services=[FakeService("once.service", run_usec=30_000)])
    w.start("once.timer")
    t = w.timers["once.timer"]
    # systemd takes "now" a few µs before it stamps InactiveExit; the rule is start + 1s
    assert abs(t.next_elapse_monotonic - _span(shown["NextElapseUSecMonotonic"])) < 1_000
    assert shown["TimersMonotonic"] == _timers_monotonic(t)[0].replace(
        format_timespan(t.next_elapse_monotonic, 1), shown["NextElapseUSecMonotonic"])
    assert (shown["ActiveState"], shown["SubState"], shown["Result"]) == ("active", "waiting", "success")
    w.run_for(2 * SEC)
    after = rec.step("show", unit="once.timer", nth=1)["props"]
    props = t.properties()
    assert (props["ActiveState"], props["SubState"], props["Result"]) == \
        (after["ActiveState"], after["SubState"], after["Result"])
    assert abs(props["LastTriggerUSecMonotonic"] - _span(after["LastTriggerUSecMonotonic"])) < TOLERANCE
    assert after["NextElapseUSecMonotonic"] == "infinity" and props["NextElapseUSecMonotonic"] == USEC_INFINITY
    assert rec.timeline("once.timer") == ["waiting", "running", "elapsed"] == w.states("once.timer")
    # stop, start again, elapse again: the same log lines as systemd
    w.stop("once.timer")
    w.start("once.timer")
    w.run_for(2 * SEC)
    assert _engine_messages(w, "once.timer") == rec.timer_messages("once.timer")


def test_on_unit_active_sec_repeats():
    rec = Recording("unit-active")
    # replay the last computation from the recorded state: next = max(unit start, trigger) + 2s
    final = rec.step("watch")["final"]["rep.timer"]
    svc = rec.step("show", unit="rep.service")["props"]
    host_state = TriggeredUnitState(ActiveState.INACTIVE,
                                    inactive_exit=DualTimestamp(1, int(svc["InactiveExitTimestampMonotonic"])),
                                    inactive_enter=DualTimestamp(1, int(svc["InactiveEnterTimestampMonotonic"])))

    class Host:
        def triggered_unit(self, name):
            return host_state

        def start_triggered_unit(self, timer, unit, environment):
            return None

        def stop_pending(self, timer):
            return False

    t = TimerUnit(timer_unit("rep.timer", on_active_usec=[SEC], on_unit_active_usec=[2 * SEC], accuracy_usec=1),
                  Host())
    t.state = TimerState.RUNNING
    t.inactive_exit_timestamp = DualTimestamp(1, 1)
    t.last_trigger = DualTimestamp(1, _span(final["LastTriggerUSecMonotonic"]))
    now = int(svc["InactiveEnterTimestampMonotonic"])
    t.trigger_notify(Now(now, now))
    assert t.state is TimerState.WAITING
    assert t.next_elapse_monotonic == _span(final["NextElapseUSecMonotonic"])
    # the run as a whole: same states and log lines
    w = World(timer_unit("rep.timer", on_active_usec=[SEC], on_unit_active_usec=[2 * SEC], accuracy_usec=1),
              services=[FakeService("rep.service", run_usec=SEC // 2)])
    w.start("rep.timer")
    w.run_for(7 * SEC + SEC // 2)
    assert rec.timeline("rep.timer") == w.states("rep.timer")
    assert _engine_messages(w, "rep.timer") == rec.timer_messages("rep.timer")


def test_on_unit_inactive_sec_repeats():
    rec = Recording("unit-inactive")
    w = World(timer_unit("inact.timer", on_active_usec=[SEC // 2], on_unit_inactive_usec=[SEC], accuracy_usec=1),
              services=[FakeService("inact.service", run_usec=SEC)])
    w.start("inact.timer")
    w.run_for(6 * SEC + SEC // 2)
    expected = rec.timer_messages("inact.timer")
    assert _engine_messages(w, "inact.timer")[:len(expected)] == expected
    assert rec.timeline("inact.timer") == w.states("inact.timer")[:len(rec.timeline("inact.timer"))]
    # timing: each trigger 1s after the unit went inactive (journal times, ms resolution)
    lines = rec.journal("inact.timer")
    notified = [e["t"] for e in lines if e["message"].endswith("Got notified about unit deactivation.")]
    elapsed = [e["t"] for e in lines if e["message"].endswith("Timer elapsed.")][1:]
    assert len(elapsed) == 3 and all(abs(r - d - 1.0) < 0.02 for d, r in zip(notified, elapsed))


def test_remain_after_elapse_no():
    rec = Recording("remain-after-elapse-no")
    w = World(timer_unit("noremain.timer", on_active_usec=[SEC], accuracy_usec=1, remain_after_elapse=False),
              services=[FakeService("noremain.service", run_usec=SEC // 2)])
    w.start("noremain.timer")
    w.run_for(3 * SEC)
    assert rec.timeline("noremain.timer") == w.states("noremain.timer") == ["waiting", "running", "dead"]
    assert rec.timeline("noremain.timer", "ActiveState") == ["active", "inactive"]
    w.start("noremain.timer")
    assert _engine_messages(w, "noremain.timer") == rec.timer_messages("noremain.timer")
    shown = rec.step("show", unit="noremain.timer", nth=1)["props"]
    assert (shown["SubState"], w.timers["noremain.timer"].state) == ("waiting", TimerState.WAITING)


def test_active_unit_keeps_timer_running_until_stopped():
    rec = Recording("remain-after-exit-unit")
    w = World(timer_unit("remain.timer", on_active_usec=[SEC], on_unit_active_usec=[SEC], accuracy_usec=1),
              services=[FakeService("remain.service", run_usec=40_000, remain_after_exit=True)])
    w.start("remain.timer")
    w.run_for(4 * SEC)
    assert rec.step("show", unit="remain.timer")["props"]["SubState"] == "running"
    assert w.timers["remain.timer"].state is TimerState.RUNNING
    w.stop_service("remain.service")
    w.run_for(SEC)
    assert _engine_messages(w, "remain.timer") == rec.timer_messages("remain.timer")
    assert "remain.timer: Monotonic timer elapses in 0." in [e["message"] for e in rec.journal("remain.timer")]
    assert "remain.timer: Monotonic timer elapses in 0." in w.messages(Priority.DEBUG)


def test_on_unit_active_sec_alone():
    rec = Recording("unit-active-only")
    assert rec.step("show", unit="uaonly.timer")["props"]["SubState"] == "elapsed"
    w = World(timer_unit("uaonly.timer", on_unit_active_usec=[2 * SEC], accuracy_usec=1),
              services=[FakeService("uaonly.service", run_usec=40_000)])
    w.start("uaonly.timer")
    assert w.timers["uaonly.timer"].state is TimerState.ELAPSED
    w.run_for(SEC // 8)
    w.start_service("uaonly.service")
    w.run_for(4 * SEC + SEC // 8)
    expected = rec.timer_messages("uaonly.timer")
    assert _engine_messages(w, "uaonly.timer")[:len(expected)] == expected
    # next elapse = the unit's activation + 2s (exact)
    final = rec.step("watch")["final"]["uaonly.timer"]
    svc = rec.step("show", unit="uaonly.service")["props"]
    assert _span(final["NextElapseUSecMonotonic"]) == int(svc["InactiveExitTimestampMonotonic"]) + 2 * SEC


def test_persistent_catch_up_after_downtime():
    rec = Recording("persistent-catch-up")
    stamp = int(rec.step("exec", label="stamp")["stdout"].split()[1])
    shown = rec.step("show", unit="pers.timer")["props"]
    start = int(shown["InactiveExitTimestampMonotonic"])
    w = _world_at(rec, start, timer_unit("pers.timer", on_calendar=["hourly"], persistent=True, accuracy_usec=1),
                  nth_clock=1, services=[FakeService("pers.service", run_usec=30_000)])
    w.start("pers.timer", stamp=stamp)
    t = w.timers["pers.timer"]
    # the missed 06:00 and 07:00 elapses: one run, at the manager's start (rebased)
    assert _second(t.next_elapse_realtime) == _stamp(rec.manager()["UserspaceTimestamp"])
    assert "pers.timer: Realtime timer elapses at Thu 2026-11-26 07:22:40 UTC." in w.messages(Priority.DEBUG)
    assert ("pers.timer: Realtime timer elapses at Thu 2026-11-26 07:22:40 UTC."
            in [e["message"] for e in rec.journal("pers.timer")])
    w.run_for(SEC)
    assert len(w.triggers("pers.timer")) == 1
    after = rec.step("show", unit="pers.timer", nth=1)["props"]
    assert _second(t.next_elapse_realtime) == _stamp(after["NextElapseUSecRealtime"])
    assert _second(t.last_trigger.realtime) == _stamp(after["LastTriggerUSec"])
    assert abs(w.stamps["pers.timer"] - int(rec.step("exec", label="stampafter")["stdout"])) < TOLERANCE
    assert _engine_messages(w, "pers.timer") == rec.timer_messages("pers.timer")
    assert after["NextElapseUSecMonotonic"] == "0" and t.next_elapse_monotonic == 0


def test_persistent_first_start_creates_the_stamp():
    rec = Recording("persistent-fresh")
    mono, real = rec.clocks(1)
    w = _world_at(rec, mono, timer_unit("pers.timer", on_calendar=["hourly"], persistent=True, accuracy_usec=1),
                  nth_clock=1)
    w.start("pers.timer")
    shown = rec.step("show", unit="pers.timer")["props"]
    assert shown["LastTriggerUSec"] == "" and w.timers["pers.timer"].last_trigger.realtime == 0
    assert abs(w.stamps["pers.timer"] - int(rec.step("exec", label="stamp")["stdout"])) < TOLERANCE
    assert _second(w.timers["pers.timer"].next_elapse_realtime) == _stamp(shown["NextElapseUSecRealtime"])


def test_calendar_elapses():
    rec = Recording("calendar")
    shown = rec.step("show", unit="cal.timer")["props"]
    w = _world_at(rec, int(shown["InactiveExitTimestampMonotonic"]),
                  timer_unit("cal.timer", on_calendar=["*:*:0/5"], accuracy_usec=1),
                  services=[FakeService("cal.service", run_usec=30_000)])
    w.start("cal.timer")
    t = w.timers["cal.timer"]
    assert t.next_elapse_realtime == _stamp(shown["NextElapseUSecRealtime"])
    name, normalized, nxt = t.properties()["TimersCalendar"][0]
    assert shown["TimersCalendar"] == f"{{ {name}={normalized} ; next_elapse=Thu 2026-11-26 07:22:25 UTC }}"
    assert nxt == _stamp("Thu 2026-11-26 07:22:25 UTC")
    w.run_for(11 * SEC)
    final = rec.step("watch")["final"]["cal.timer"]
    assert t.next_elapse_realtime == _stamp(final["NextElapseUSecRealtime"])
    assert _second(t.last_trigger.realtime) == _stamp(final["LastTriggerUSec"])
    assert _engine_messages(w, "cal.timer") == rec.timer_messages("cal.timer")


def test_on_boot_sec_in_a_container():
    rec = Recording("boot")
    shown = rec.step("show", unit="boot.timer")["props"]
    w = _world_at(rec, int(shown["InactiveExitTimestampMonotonic"]),
                  timer_unit("boot.timer", on_boot_usec=[3600 * SEC], on_startup_usec=[7200 * SEC],
                             accuracy_usec=1, unit="once.service"))
    w.start("boot.timer")
    t = w.timers["boot.timer"]
    assert t.next_elapse_monotonic == _span(shown["NextElapseUSecMonotonic"])
    assert _timers_monotonic(t) == shown["TimersMonotonic"]


def test_on_boot_sec_in_the_past_elapses_at_once():
    rec = Recording("boot")
    w = _world_at(rec, rec.clocks(1)[0], timer_unit("bootpast.timer", on_boot_usec=[1_000], accuracy_usec=1,
                                                    unit="once.service"),
                  services=[FakeService("once.service", run_usec=30_000)])
    w.start("bootpast.timer")
    w.run_for(SEC)
    assert _engine_messages(w, "bootpast.timer") == rec.timer_messages("bootpast.timer")
    assert rec.step("show", unit="bootpast.timer")["props"]["SubState"] == "elapsed"


def test_fixed_random_delay_matches_systemd():
    rec = Recording("fixed-random-delay")
    machine_id = bytes.fromhex(rec.step("exec", label="ids")["stdout"].split()[1])
    before, _ = rec.clocks(0)
    after, _ = rec.clocks(1)
    shown = rec.step("show", unit="fixed.timer")["props"]
    ctx = TimerContext(machine_id=machine_id, system_manager=True, uid=0)
    w = _world_at(rec, before, timer_unit("fixed.timer", on_active_usec=[SEC], randomized_delay_usec=3600 * SEC,
                                          fixed_random_delay=True, accuracy_usec=1, unit="once.service"), ctx=ctx)
    w.start("fixed.timer")
    delay = w.timers["fixed.timer"].next_elapse_monotonic - before - SEC
    started = _span(shown["NextElapseUSecMonotonic"]) - SEC - delay
    assert before <= started <= after
    adding = [m for m in w.messages(Priority.DEBUG) if "random time" in m]
    assert adding == ["fixed.timer: Adding 8min 19.431536s random time."]
    assert adding[0] in [e["message"] for e in rec.journal("fixed.timer")]


def test_unit_not_loaded():
    rec = Recording("unit-not-loaded")
    w = World(timer_unit("missing.timer", on_active_usec=[SEC], unit="nothere.service"))
    w.services["nothere.service"].load_state = w.services["nothere.service"].load_state.NOT_FOUND
    w.start("missing.timer")
    assert _engine_messages(w, "missing.timer") == rec.timer_messages("missing.timer")
    assert rec.step("start", unit="missing.timer")["rc"] == 1  # the start job failed
    shown = rec.step("show", unit="missing.timer")["props"]
    assert (shown["SubState"], shown["Result"]) == (str(w.timers["missing.timer"].state), "success")


@pytest.mark.parametrize("name, timer, accuracy", [
    ("accuracy-1min", "acc.timer", 60 * SEC),
    ("accuracy-10s", "acc10.timer", 10 * SEC),
    ("accuracy-0", "acc0.timer", 0),
])
def test_accuracy_wakes_at_the_perturbed_point(name, timer, accuracy):
    rec = Recording(name)
    boot_id = uuid.UUID(rec.step("exec", label="ids")["stdout"].split()[0]).bytes
    shown = rec.step("show", unit=timer)["props"]
    due = _span(shown["NextElapseUSecMonotonic"])
    assert _span(shown.get("AccuracyUSec", format_timespan(accuracy, 1))) == accuracy
    fired = [int(e["__monotonic_timestamp"]) for e in rec.journal(timer) if e["message"].endswith("Timer elapsed.")]
    t = TimerUnit(timer_unit(timer, on_active_usec=[SEC], accuracy_usec=accuracy),
                  _NoHost(), TimerContext(perturb=perturb_from_id128(boot_id)))
    t.state, t.monotonic_armed, t.next_elapse_monotonic = TimerState.WAITING, True, due
    expect = t.next_deadline()[0]
    assert expect == sleep_between(due, due + (accuracy or 250_000), perturb_from_id128(boot_id))
    assert 0 <= fired[0] - expect < 5_000  # the journal stamps the line a moment later


class _NoHost:
    def triggered_unit(self, name):
        return TriggeredUnitState()

    def start_triggered_unit(self, timer, unit, environment):
        return None

    def stop_pending(self, timer):
        return False


def test_accuracy_coalesces_timers_of_one_loop():
    rec = Recording("accuracy-coalesce")
    boot_id = uuid.UUID(rec.step("exec", label="ids")["stdout"].split()[0]).bytes
    ctx = TimerContext(perturb=perturb_from_id128(boot_id))
    due1 = _span(rec.step("show", unit="co1.timer")["props"]["NextElapseUSecMonotonic"])
    due2 = _span(rec.step("show", unit="co2.timer")["props"]["NextElapseUSecMonotonic"])
    w = World(timer_unit("co1.timer", on_active_usec=[due1 - 10 * SEC], unit="acc.service"),
              timer_unit("co2.timer", on_active_usec=[due2 - 10 * SEC], accuracy_usec=1, unit="once.service"),
              ctx=ctx, start=10 * SEC)
    w.start("co1.timer")
    w.start("co2.timer")
    w.run_for(due2)
    fired = {u: int(e["__monotonic_timestamp"]) for u in ("co1.timer", "co2.timer")
             for e in rec.journal(u) if e["message"].endswith("Timer elapsed.")}
    assert 0 <= fired["co1.timer"] - w.trigger_times("co1.timer")[0] < 5_000
    assert 0 <= fired["co2.timer"] - w.trigger_times("co2.timer")[0] < 5_000


def test_restart_counts_calendar_from_first_activation():
    rec = Recording("restart")
    first = rec.step("show", unit=None, nth=0)["props"]["cal2.timer"]
    again = rec.step("show", unit=None, nth=2)["props"]
    w = _world_at(rec, int(first["InactiveExitTimestampMonotonic"]),
                  timer_unit("cal2.timer", on_calendar=["*:*:0/10"], accuracy_usec=1, unit="cal.service"),
                  timer_unit("ra.timer", on_active_usec=[3 * SEC], accuracy_usec=1, unit="once.service"),
                  nth_clock=1, ctx=TimerContext(startup_monotonic=SEC, in_container=True))  # booted long before
    w.start("cal2.timer")
    w.start("ra.timer")
    assert _second(w.timers["cal2.timer"].next_elapse_realtime) == _stamp(first["NextElapseUSecRealtime"])
    w.stop("cal2.timer")
    w.stop("ra.timer")
    w.run_until(int(again["ra.timer"]["InactiveExitTimestampMonotonic"]))
    w.start("ra.timer")
    assert abs(w.timers["ra.timer"].next_elapse_monotonic - _span(again["ra.timer"]["NextElapseUSecMonotonic"])) < 1_000
    w.run_until(int(again["cal2.timer"]["InactiveExitTimestampMonotonic"]))
    w.start("cal2.timer")
    assert "cal2.timer: Realtime timer elapses at Thu 2026-11-26 07:25:40 UTC." in w.messages(Priority.DEBUG)[-3:]
    w.run_for(SEC)
    assert len(w.triggers("cal2.timer")) == 1
    assert _second(w.timers["cal2.timer"].last_trigger.realtime) == _stamp(again["cal2.timer"]["LastTriggerUSec"])
    assert _engine_messages(w, "cal2.timer") == rec.timer_messages("cal2.timer")


@pytest.mark.parametrize("name, defer", [("defer-reactivation", True), ("defer-reactivation-no", False)])
def test_defer_reactivation(name, defer):
    rec = Recording(name)
    unit = "defer" if defer else "nodefer"
    shown = rec.step("show", unit=f"{unit}.timer")["props"]
    w = _world_at(rec, int(shown["InactiveExitTimestampMonotonic"]),
                  timer_unit(f"{unit}.timer", on_calendar=["*:*:0/5"], accuracy_usec=1, defer_reactivation=defer),
                  nth_clock=1, services=[FakeService(f"{unit}.service", run_usec=7_040_000)])
    w.start(f"{unit}.timer")
    w.run_for(23 * SEC)
    expected = rec.timer_messages(f"{unit}.timer", realtime=True)
    assert _engine_messages(w, f"{unit}.timer", realtime=True)[:len(expected)] == expected


def test_restart_keeps_last_trigger_and_does_not_rearm_on_boot_sec():
    rec = Recording("boot-restart")
    before = rec.step("show", unit="bootpast2.timer", nth=0)["props"]
    after = rec.step("show", unit="bootpast2.timer", nth=1)["props"]
    assert after["LastTriggerUSecMonotonic"] == before["LastTriggerUSecMonotonic"] != "0"
    w = _world_at(rec, rec.clocks()[0], timer_unit("bootpast2.timer", on_boot_usec=[1_000], accuracy_usec=1,
                                                   unit="once.service"),
                  services=[FakeService("once.service", run_usec=16_000)])
    w.start("bootpast2.timer")
    w.run_for(SEC)
    first = w.timers["bootpast2.timer"].last_trigger
    w.stop("bootpast2.timer")
    w.start("bootpast2.timer")
    w.run_for(SEC)
    assert w.timers["bootpast2.timer"].last_trigger == first
    assert w.timers["bootpast2.timer"].state is TimerState.ELAPSED == TimerState(after["SubState"])
    assert _engine_messages(w, "bootpast2.timer") == rec.timer_messages("bootpast2.timer")


_SHOWN = ("Unit", "Triggers", "OnClockChange", "OnTimezoneChange", "NextElapseUSecMonotonic",
          "LastTriggerUSecMonotonic", "Result", "AccuracyUSec", "RandomizedDelayUSec", "FixedRandomDelay",
          "Persistent", "WakeSystem", "RemainAfterElapse", "DeferReactivation", "ActiveState", "SubState",
          "StartLimitIntervalUSec", "StartLimitBurst", "Id", "Description", "LoadState")


@pytest.mark.parametrize("name, unit, settings", [
    ("once", "once.timer", dict(on_active_usec=[SEC], accuracy_usec=1)),
    ("boot", "boot.timer", dict(on_boot_usec=[3600 * SEC], on_startup_usec=[7200 * SEC], accuracy_usec=1,
                                unit="once.service")),
])
def test_show_text_matches_systemd(name, unit, settings):
    """properties() rendered by sysvisor.protocol.properties equals `systemctl show`."""
    from sysvisor.protocol.properties import format_property
    rec = Recording(name)
    shown = rec.step("show", unit=unit)["props"]
    start = _span(shown["NextElapseUSecMonotonic"]) - min(
        [v for k, v in settings.items() if k.startswith("on_") for v in v] or [0])
    if name == "boot":
        start = rec.clocks()[0]
    w = _world_at(rec, start, timer_unit(unit, **settings))
    w.start(unit)
    props = w.timers[unit].properties()
    for key in _SHOWN:
        assert format_property(key, props[key]) == shown[key], key
    mono = shown["TimersMonotonic"]
    assert format_property("TimersMonotonic", props["TimersMonotonic"]).split("\n") == \
        (mono if isinstance(mono, list) else [mono])


def test_start_limit_of_a_timer():
    rec = Recording("start-limit")
    unit = timer_unit("lim.timer", on_active_usec=[3600 * SEC], unit="once.service")
    unit.unit.start_limit_burst = 2
    unit.unit.start_limit_interval_usec = 3600 * SEC
    w = World(unit)
    codes = [w.start("lim.timer"), w.stop("lim.timer"), w.start("lim.timer"), w.stop("lim.timer"),
             w.start("lim.timer")]
    failed = rec.step("show", unit="lim.timer", nth=0)["props"]
    t = w.timers["lim.timer"]
    assert (str(t.active_state), str(t.state), str(t.result)) == \
        (failed["ActiveState"], failed["SubState"], failed["Result"])
    assert codes[-1] < 0 and rec.step("start", unit="lim.timer", nth=1)["rc"] == 1
    w._take(t.reset_failed(w.now()))
    reset = rec.step("show", unit="lim.timer", nth=1)["props"]
    assert (str(t.state), str(t.result)) == (reset["SubState"], reset["Result"])
    assert w.start("lim.timer") > 0
    ours = [(log.priority, log.message) for log in w.logs if log.priority <= Priority.INFO]
    theirs = [(Priority(e["priority"]), e["message"]) for e in rec.journal("lim.timer")]
    assert ours == theirs
