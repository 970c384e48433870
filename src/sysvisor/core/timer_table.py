"""All timer units of one manager: routing, coalesced wake-ups, dispatch order.

A convenience for the Manager around `TimerUnit` (see sysvisor.core.timer for the per-timer
interface): it creates one TimerUnit per loaded .timer unit, forwards a triggered unit's
changes to every timer that triggers it (one unit may be triggered by several timers), and
plays the part of sd-event for the timers: one wake-up per clock over all armed windows,
then dispatch of every due timer, realtime ones first, each clock in order of due time.
# spec: timers.md §2, §4   # systemd: sd-event.c process_timer(), event_arm_timer();
# unit.c unit_trigger_notify()
"""

from __future__ import annotations

import dataclasses
import random

from sysvisor.core.actions import Action
from sysvisor.core.timer import Now, TimerContext, TimerHost, TimerUnit
from sysvisor.core.timer_accuracy import wakeup_time
from sysvisor.core.types import LoadState
from sysvisor.core.units import Unit


class TimerTable:
    """The manager's timers. `seed` seeds RandomizedDelaySec= (the shell passes a random one)."""

    def __init__(self, units: dict[str, Unit], host: TimerHost, ctx: TimerContext | None = None,
                 seed: int = 0) -> None:
        self.ctx = ctx or TimerContext()
        self.restored = False  # set when a saved state put the timers back (core.snapshot)
        rng = random.Random(seed)
        self.timers: dict[str, TimerUnit] = {
            name: TimerUnit(unit, host, self.ctx, rng)
            for name, unit in sorted(units.items())
            if unit.kind == "timer" and unit.timer is not None and unit.load_state is LoadState.LOADED
        }

    def set_context(self, ctx: TimerContext) -> None:
        """The manager-wide facts (the shell's host context, or the one a saved state kept),
        for every timer; the local zone stays the one TimezoneChanged set last."""
        self.ctx = dataclasses.replace(ctx, timezone=self.ctx.timezone)
        for t in self.timers.values():
            t.ctx = self.ctx

    def __contains__(self, name: str) -> bool:
        return name in self.timers

    def __getitem__(self, name: str) -> TimerUnit:
        return self.timers[name]

    def triggered_by(self, unit: str) -> list[TimerUnit]:
        """The timers whose Unit= is `unit` (systemd: UNIT_ATOM_TRIGGERED_BY)."""
        return [t for t in self.timers.values() if t.trigger_name == unit]

    def trigger_notify(self, unit: str, now: Now) -> list[Action]:
        """`unit` changed state or one of its jobs finished: tell its timers.
        # systemd: unit_trigger_notify()"""
        out: list[Action] = []
        for t in self.triggered_by(unit):
            out.extend(t.trigger_notify(now))
        return out

    def wakeup(self) -> tuple[int | None, int | None]:
        """(monotonic, realtime) time at which the loop must call `time_passed()`; None for a
        clock with nothing armed. The shell sleeps until the earlier of the two (converting
        the realtime one with the current wall clock, and again after a ClockChanged)."""
        out: list[int | None] = []
        for clock in ("monotonic", "realtime"):
            windows = [w[clock] for t in self.timers.values() if clock in (w := t.elapse_windows())]
            out.append(wakeup_time(windows, self.ctx.perturb))
        return out[0], out[1]

    def time_passed(self, now: Now) -> list[Action]:
        """Dispatch every due timer: realtime ones first, then monotonic, each by due time.
        # systemd: sd_event_wait() process_timer() order"""
        due = []
        for t in self.timers.values():
            w = t.elapse_windows()
            if "realtime" in w and w["realtime"][0] <= now.realtime:
                due.append((0, w["realtime"][0], t.name))
            elif "monotonic" in w and w["monotonic"][0] <= now.monotonic:
                due.append((1, w["monotonic"][0], t.name))
        out: list[Action] = []
        for _, _, name in sorted(due):
            out.extend(self.timers[name].time_passed(now))
        return out

    def clock_changed(self, now: Now) -> list[Action]:
        """The wall clock was set. # systemd: manager_dispatch_time_change_fd()"""
        out: list[Action] = []
        for t in self.timers.values():
            out.extend(t.clock_changed(now))
        return out

    def timezone_changed(self, now: Now, timezone: str | None) -> list[Action]:
        """The local time zone changed; timers created later (daemon-reload) get it too.
        # systemd: manager_dispatch_timezone_change()"""
        self.ctx = dataclasses.replace(self.ctx, timezone=timezone)
        out: list[Action] = []
        for t in self.timers.values():
            out.extend(t.timezone_changed(now, timezone))
        return out
