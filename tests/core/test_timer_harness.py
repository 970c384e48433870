"""A virtual-time world for one or more timer units (no Manager): both clocks, the
triggered units as simple oneshot services, and the event loop's coalesced wake-ups.

It plays the Manager's part of the interface documented in sysvisor.core.timer: it answers
`TimerHost` questions, runs the start jobs the timers enqueue, and calls `trigger_notify()`
after every state change of a triggered unit and after each of its jobs finishes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sysvisor.core.actions import Log, StateChanged, TouchTimerStamp
from sysvisor.core.timer import (
    DualTimestamp,
    Now,
    TimerContext,
    TimerUnit,
    TriggeredUnitState,
    wakeup,
)
from sysvisor.core.types import USEC_PER_SEC, ActiveState, LoadState, Priority
from sysvisor.core.units import TimerSection, Unit

A = ActiveState
SEC = USEC_PER_SEC
# Wed 2025-06-04 12:00:00 UTC, the base time of the calendar examples in timers.md §3.2
REAL_BASE = 1_749_038_400 * SEC
MONO_BASE = 1_000 * SEC  # a virtual monotonic clock must not start at 0 (0 = "never")


def timer_unit(name: str = "t.timer", **settings) -> Unit:
    """A loaded .timer unit with the given [Timer] settings (µs values)."""
    return Unit(name=name, timer=TimerSection(**settings))


@dataclass
class FakeService:
    """A oneshot service that runs `run_usec` per start (RemainAfterExit= as given)."""

    name: str
    run_usec: int = SEC // 2
    remain_after_exit: bool = False
    load_state: LoadState = LoadState.LOADED
    active_state: ActiveState = A.INACTIVE
    inactive_exit: DualTimestamp = DualTimestamp()
    inactive_enter: DualTimestamp = DualTimestamp()
    finish_at: int | None = None
    starts: list[int] = field(default_factory=list)  # monotonic start times
    environments: list[dict[str, str]] = field(default_factory=list)

    def snapshot(self) -> TriggeredUnitState:
        return TriggeredUnitState(self.active_state, self.inactive_exit, self.inactive_enter, self.load_state)


class World:
    """Timers + services + two clocks + the loop. All times are µs."""

    def __init__(self, *units: Unit, services: list[FakeService] | None = None,
                 ctx: TimerContext | None = None, seed: int = 0, start: int = MONO_BASE,
                 realtime_offset: int = REAL_BASE - MONO_BASE) -> None:
        self.mono = start
        self.offset = realtime_offset
        self.ctx = ctx or TimerContext(startup_monotonic=start - 10 * SEC)
        self.services = {s.name: s for s in services or []}
        self.timers: dict[str, TimerUnit] = {}
        self.stamps: dict[str, int] = {}
        self.pending: list[str] = []  # start jobs enqueued by timers, run at once
        self.transcript: list[tuple[int, str]] = []
        self.logs: list[Log] = []
        self.stop_pending_for: set[str] = set()
        rng = random.Random(seed)
        for u in units:
            t = TimerUnit(u, self, self.ctx, rng)
            self.timers[u.name] = t
            self.services.setdefault(t.trigger_name, FakeService(t.trigger_name))

    # --- TimerHost ---------------------------------------------------------------------

    def triggered_unit(self, name: str) -> TriggeredUnitState | None:
        svc = self.services.get(name)
        return svc.snapshot() if svc else None

    def start_triggered_unit(self, timer: str, unit: str, environment: dict[str, str]) -> str | None:
        self.services[unit].environments.append(environment)
        self.pending.append(unit)
        self._note(f"{timer} triggers {unit}")
        return None

    def stop_pending(self, timer: str) -> bool:
        return timer in self.stop_pending_for

    # --- clocks --------------------------------------------------------------------------

    def now(self) -> Now:
        return Now(self.mono, self.mono + self.offset)

    @property
    def t(self) -> float:
        """Seconds since the world began (for transcripts)."""
        return (self.mono - MONO_BASE) / SEC

    def _note(self, what: str) -> None:
        self.transcript.append((self.mono, what))

    def _take(self, actions) -> None:
        for a in actions:
            if isinstance(a, Log):
                self.logs.append(a)
            elif isinstance(a, StateChanged):
                self._note(f"{a.unit} {a.sub_state}")
            elif isinstance(a, TouchTimerStamp):
                self.stamps[a.unit] = a.realtime_usec
                self._note(f"{a.unit} stamp")

    def messages(self, priority: Priority | None = None) -> list[str]:
        return [log.message for log in self.logs if priority is None or log.priority == priority]

    # --- requests ------------------------------------------------------------------------

    def start(self, name: str, stamp: int | None = None) -> int:
        code, actions = self.timers[name].start(self.now(), stamp, invocation_id="0" * 32)
        self._take(actions)
        self._settle()
        return code

    def stop(self, name: str) -> int:
        code, actions = self.timers[name].stop(self.now())
        self._take(actions)
        return code

    def start_service(self, name: str) -> None:
        self.pending.append(name)
        self._settle()

    def stop_service(self, name: str) -> None:
        svc = self.services[name]
        if svc.active_state is not A.INACTIVE:
            svc.finish_at = None
            self._set_service(svc, A.INACTIVE)
            self._notify(svc, job=True)

    def jump_realtime(self, delta: int) -> None:
        """Set the wall clock by `delta` µs (ClockChanged)."""
        self.offset += delta
        self._note(f"clock {'+' if delta >= 0 else '-'}{abs(delta) / SEC:g}s")
        for t in self.timers.values():
            self._take(t.clock_changed(self.now()))
        self._settle()

    # --- the loop ------------------------------------------------------------------------

    def _set_service(self, svc: FakeService, state: ActiveState) -> None:
        ts = DualTimestamp(self.now().realtime, self.mono)
        inactive = (A.INACTIVE, A.FAILED)
        if svc.active_state in inactive and state not in inactive:
            svc.inactive_exit = ts
        elif svc.active_state not in inactive and state in inactive:
            svc.inactive_enter = ts
        svc.active_state = state
        self._note(f"{svc.name} {state}")

    def _notify(self, svc: FakeService, job: bool = False) -> None:
        # systemd: job_finish_and_invalidate() and unit_notify() both call unit_trigger_notify()
        for t in self.timers.values():
            if t.trigger_name == svc.name:
                if job:
                    self._take(t.trigger_notify(self.now()))
                self._take(t.trigger_notify(self.now()))

    def _settle(self) -> None:
        """Run the start jobs enqueued so far (the Manager's run queue)."""
        while self.pending:
            svc = self.services[self.pending.pop(0)]
            if svc.active_state is not A.INACTIVE:  # already active: job done, no change
                for t in self.timers.values():
                    if t.trigger_name == svc.name:
                        self._take(t.trigger_notify(self.now()))
                continue
            svc.starts.append(self.mono)
            self._set_service(svc, A.ACTIVATING)
            svc.finish_at = self.mono + svc.run_usec
            self._notify(svc)

    def _next_event(self) -> int | None:
        cands = [s.finish_at for s in self.services.values() if s.finish_at is not None]
        mono, real = wakeup(list(self.timers.values()), self.ctx.perturb)
        if mono is not None:
            cands.append(max(mono, self.mono))
        if real is not None:
            cands.append(max(real - self.offset, self.mono))
        return min(cands) if cands else None

    def run_until(self, mono: int) -> None:
        """Advance virtual time to `mono`, handling every event on the way."""
        while True:
            nxt = self._next_event()
            if nxt is None or nxt > mono:
                break
            self.mono = nxt
            for svc in self.services.values():
                if svc.finish_at is not None and svc.finish_at <= self.mono:
                    svc.finish_at = None
                    self._set_service(svc, A.ACTIVE if svc.remain_after_exit else A.INACTIVE)
                    self._notify(svc, job=True)
            for t in list(self.timers.values()):
                self._take(t.time_passed(self.now()))
            self._settle()
        self.mono = mono

    def run_for(self, usec: int) -> None:
        self.run_until(self.mono + usec)

    def triggers(self, timer: str) -> list[float]:
        """Seconds (since the world began) at which `timer` triggered its unit."""
        return [(t - MONO_BASE) / SEC for t, what in self.transcript if what.startswith(f"{timer} triggers")]

    def trigger_times(self, timer: str) -> list[int]:
        """Monotonic µs at which `timer` triggered its unit."""
        return [t for t, what in self.transcript if what.startswith(f"{timer} triggers")]

    def states(self, unit: str) -> list[str]:
        return [what.split(" ", 1)[1] for _, what in self.transcript
                if what.startswith(unit + " ") and what.split(" ", 1)[1] in
                ("dead", "waiting", "running", "elapsed", "failed")]


def test_world_runs_a_oneshot_to_completion():
    w = World(timer_unit(on_active_usec=[SEC], accuracy_usec=1))
    w.start("t.timer")
    w.run_for(5 * SEC)
    assert w.services["t.service"].starts == [MONO_BASE + SEC]
    assert w.services["t.service"].active_state is A.INACTIVE
