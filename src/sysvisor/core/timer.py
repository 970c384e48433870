"""Timer units (`.timer`): when to start the triggered unit, exactly as systemd 257 does.

Rules (systemd.timer(5); ground truth src/core/timer.c of v257, checked with systemd-oracle,
tests/data/oracle/timer/):

* States `dead`, `waiting` (armed), `running` (the triggered unit was started and has not
  become inactive yet), `elapsed` (nothing left to wait for), `failed`; ActiveState `active`
  for the middle three. Results `success`, `resources`, `start-limit-hit`.
* Each `On*=` setting is one *value*; the next elapse is the minimum over the enabled values,
  per clock (monotonic and realtime). Bases: OnActiveSec= the timer's activation;
  OnBootSec= boot, but the manager's start inside a container (trap 29); OnStartupSec= the
  manager's start; OnUnitActiveSec=/OnUnitInactiveSec= the triggered unit's last
  activation/deactivation *or* the last trigger, whichever is later (never while neither
  exists); OnCalendar= the last trigger, else the timer's first activation (even after a
  stop/start: a match missed in between fires at once), else now. The last trigger
  survives stop/start (v257); DeferReactivation=yes counts from the unit's last
  deactivation when that is later.
* OnActiveSec=/OnBootSec=/OnStartupSec= elapse at once when already past at activation; once
  the timer has triggered, such a value lying in the past is disabled until the next start
  (OnActiveSec= only is re-armed by a start).
* A calendar elapse before the manager's start is moved to the manager's start, so
  Persistent= catch-up and RandomizedDelaySec= work at boot.
* RandomizedDelaySec= is added to each clock's next elapse, drawn anew at every
  computation (FixedRandomDelay=yes: a stable hash, `timer_delay`). AccuracySec= is left to
  the event loop (`timer_accuracy`).
* On elapse: start job (mode replace) for Unit=, remember the trigger time, touch the
  Persistent= stamp, enter `running`. When the unit becomes inactive/failed (or on any of
  its changes while waiting/elapsed) the next elapse is recomputed; with nothing left the
  timer is `elapsed`, or `dead` for RemainAfterElapse=no (OnUnit*Sec= timers always stay).
* A wall-clock jump clamps a last trigger lying in the future to now and recomputes
  (OnClockChange=yes triggers instead); a time-zone change recomputes (OnTimezoneChange=yes
  triggers).
* Across daemon-reexec, daemon-reload and a manager restart the timer keeps its sub-state,
  result, last trigger, invocation ID, start limit and timestamps; a waiting one computes
  its next elapse again while still `dead` (timer_coldplug()), so OnActiveSec= counts from
  then and RandomizedDelaySec= is drawn again (observed, tests/data/oracle/timer/reexec.json).
* WakeSystem= is ignored: sysvisor has no CLOCK_*_ALARM timers; monotonic timers run on
  CLOCK_MONOTONIC (they pause during suspend, as systemd's do without WakeSystem=).

Interface with the Manager (pure, clock-injected; the Manager owns one TimerUnit per loaded
.timer unit and a `TimerHost` that answers about the triggered unit):

  inputs (methods, each returns list[Action] or (code, list[Action])):
    start(now, stamp_realtime=, invocation_id=)   the timer's start job runs
    stop(now)                                     the timer's stop job runs
    reset_failed(now)                             `systemctl reset-failed`
    trigger_notify(now)     after EVERY state change of the triggered unit and after every job
                            of it finishes (systemd: unit_notify() and job_finish_and_invalidate()
                            both call unit_trigger_notify())
    time_passed(now)        the event loop woke up (`wakeup()` over all timers): fires if due
    clock_changed(now)      ClockChanged event (realtime jumped)
    timezone_changed(now, tz)  TimezoneChanged event
    coldplug(now, state)    continue in a saved sub-state after daemon-reexec/-reload or a
                            manager restart (core.snapshot puts the runtime fields back first)
  outputs:
    Log (systemd's wording; debug lines at Priority.DEBUG), StateChanged (timer sub-state,
    for unit_notify: timestamps, job completion), TouchTimerStamp (Persistent=), and the
    start job for Unit= through `TimerHost.start_triggered_unit()` (returns None or the
    error text of a job that could not be enqueued; it must only enqueue, not run the job).
  deadlines:
    elapse_windows()  {clock: (earliest, latest)} for the loop's coalescing,
    next_deadline()   (monotonic, realtime) wake-up of this timer alone.
  `core.timer_table.TimerTable` does the manager-wide part: one TimerUnit per loaded timer,
  trigger_notify(unit) to every timer of that unit, wakeup() over all timers (sd-event
  coalescing), time_passed() in sd-event's dispatch order, clock/time-zone changes.

Times: `Now(monotonic, realtime)` in µs. As in systemd, a timestamp of 0 means "never", so a
virtual clock must not start at 0.
# spec: timers.md §1, §2, §4, §5; trap 28, 29
"""

from __future__ import annotations

import datetime as _dt
import random
import zoneinfo
from dataclasses import dataclass
from typing import Protocol

from sysvisor.core.actions import Action, Log, RemoveTimerStamp, StateChanged, TouchTimerStamp
from sysvisor.core.calendar import CalendarElapseError, CalendarSpec, parse_calendar
from sysvisor.core.calendar_zone import LocalZone
from sysvisor.core.events import ClockChanged, Event, TimePassed, TimezoneChanged
from sysvisor.core.ratelimit import StartLimit
from sysvisor.core.timer_accuracy import DEFAULT_ACCURACY_USEC, sleep_between, wakeup_time
from sysvisor.core.timer_delay import fixed_delay_hash
from sysvisor.core.timespan import format_timespan
from sysvisor.core.types import USEC_INFINITY, ActiveState, LoadState, Priority, StrEnum
from sysvisor.core.units import TimerSection, Unit

# Return codes of start()/stop(), as systemd's unit vtable uses them (job result in brackets).
OK = 1  # did it [done]
EALREADY = -114  # already active / already inactive [done]
ENOENT = -2  # the unit to trigger is not loaded [failed]
ECANCELED = -125  # start limit hit [failed]; the Manager runs StartLimitAction=

A = ActiveState
_UINT64_MAX = (1 << 64) - 1


class TimerState(StrEnum):
    DEAD = "dead"
    WAITING = "waiting"
    RUNNING = "running"
    ELAPSED = "elapsed"
    FAILED = "failed"


# systemd: timer.c state_translation_table[]
TIMER_ACTIVE_STATE: dict[TimerState, ActiveState] = {
    TimerState.DEAD: A.INACTIVE,
    TimerState.WAITING: A.ACTIVE,
    TimerState.RUNNING: A.ACTIVE,
    TimerState.ELAPSED: A.ACTIVE,
    TimerState.FAILED: A.FAILED,
}


class TimerResult(StrEnum):
    SUCCESS = "success"
    RESOURCES = "resources"
    START_LIMIT_HIT = "start-limit-hit"


class TimerBase(StrEnum):
    """A value's kind, spelled as timer_base_to_string() does."""

    ACTIVE = "OnActiveSec"
    BOOT = "OnBootSec"
    STARTUP = "OnStartupSec"
    UNIT_ACTIVE = "OnUnitActiveSec"
    UNIT_INACTIVE = "OnUnitInactiveSec"
    CALENDAR = "OnCalendar"


_ONE_SHOT = (TimerBase.ACTIVE, TimerBase.BOOT, TimerBase.STARTUP)


@dataclass(frozen=True)
class Now:
    """The current time on both clocks (µs): what the shell read when the event happened."""

    monotonic: int
    realtime: int


@dataclass(frozen=True)
class DualTimestamp:
    """systemd's dual_timestamp; 0 on a clock means unset."""

    realtime: int = 0
    monotonic: int = 0

    def is_set(self) -> bool:
        """# systemd: dual_timestamp_is_set()"""
        return 0 < self.realtime < USEC_INFINITY or 0 < self.monotonic < USEC_INFINITY


@dataclass(frozen=True)
class TriggeredUnitState:
    """What a timer needs to know about the unit it triggers (systemd: UNIT_TRIGGER())."""

    active_state: ActiveState = A.INACTIVE
    inactive_exit: DualTimestamp = DualTimestamp()  # InactiveExitTimestamp
    inactive_enter: DualTimestamp = DualTimestamp()  # InactiveEnterTimestamp
    load_state: LoadState = LoadState.LOADED


class TimerHost(Protocol):
    """The Manager's side of the timer interface."""

    def triggered_unit(self, name: str) -> TriggeredUnitState | None:
        """The triggered unit's state, or None if the manager has no such unit."""

    def start_triggered_unit(self, timer: str, unit: str, environment: dict[str, str]) -> str | None:
        """Enqueue a start job (mode replace) for `unit`, whose processes get `environment`
        (TRIGGER_UNIT=, TRIGGER_TIMER_*). None on success, else the reason it failed."""

    def stop_pending(self, timer: str) -> bool:
        """True if a stop job is queued for the timer itself (then it does not trigger)."""


@dataclass(frozen=True)
class TimerContext:
    """Manager-wide facts a timer depends on.

    `startup_monotonic`: the manager's start (systemd: MANAGER_TIMESTAMP_USERSPACE), base of
    OnStartupSec= (and of OnBootSec= in a container). `perturb`: the event loop's wake-up
    offset (`timer_accuracy.perturb_from_id128(boot_id)`). `machine_id`, `system_manager`,
    `uid`: FixedRandomDelay='s hash input. `timezone`: local zone of calendar expressions
    without one (IANA name, tzinfo, or None = UTC).
    """

    startup_monotonic: int = 0
    in_container: bool = False
    perturb: int = 0
    machine_id: bytes = bytes(16)
    system_manager: bool = True
    uid: int = 0
    timezone: _dt.tzinfo | str | None = None


@dataclass
class TimerValue:
    """One On*= setting. # systemd: TimerValue"""

    base: TimerBase
    value: int = 0  # µs, monotonic bases
    calendar: CalendarSpec | None = None
    next_elapse: int = 0
    disabled: bool = False


def triggered_unit_name(timer_name: str, section: TimerSection) -> str:
    """Unit=, or the timer's own name with .service. # systemd: timer_add_trigger_dependencies()"""
    if section.unit:
        return section.unit
    return timer_name.rsplit(".", 1)[0] + ".service"


def build_values(section: TimerSection, timezone: _dt.tzinfo | str | None = None) -> list[TimerValue]:
    """The timer's values in systemd's list order (config_parse_timer() prepends, so the
    last setting comes first; across different settings the file order is not kept by
    TimerSection, which only changes the order `TimersMonotonic` lists them in)."""
    values: list[TimerValue] = []
    for base, spans in ((TimerBase.ACTIVE, section.on_active_usec), (TimerBase.BOOT, section.on_boot_usec),
                        (TimerBase.STARTUP, section.on_startup_usec),
                        (TimerBase.UNIT_ACTIVE, section.on_unit_active_usec),
                        (TimerBase.UNIT_INACTIVE, section.on_unit_inactive_usec)):
        values.extend(TimerValue(base, value=usec) for usec in spans)
    for text in section.on_calendar:
        values.append(TimerValue(TimerBase.CALENDAR, calendar=parse_calendar(text, timezone)))
    values.reverse()
    return values


def _usec_add(a: int, b: int) -> int:
    """# systemd: usec_add() (saturating at infinity)"""
    s = a + b
    return USEC_INFINITY if s >= USEC_INFINITY else s


_WEEKDAY = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")  # struct tm wday order


class TimerUnit:
    """One .timer unit's runtime state. # systemd: struct Timer; timer.c"""

    def __init__(self, unit: Unit, host: TimerHost, ctx: TimerContext | None = None,
                 rng: random.Random | None = None) -> None:
        if unit.timer is None:
            raise ValueError(f"{unit.name}: not a timer unit")
        self.unit = unit
        self.name = unit.name
        self.cfg = unit.timer
        self.host = host
        self.ctx = ctx or TimerContext()
        self.rng = rng if rng is not None else random.Random(0)
        self.timezone = self.ctx.timezone
        self.trigger_name = triggered_unit_name(unit.name, self.cfg)
        self.values = build_values(self.cfg, self.timezone)
        self.state = TimerState.DEAD
        self.result = TimerResult.SUCCESS
        self.last_trigger = DualTimestamp()
        self.next_elapse_monotonic = USEC_INFINITY
        self.next_elapse_realtime = USEC_INFINITY
        self.monotonic_armed = False
        self.realtime_armed = False
        self.invocation_id = ""
        self.start_limit = StartLimit(unit.unit.start_limit_interval_usec, unit.unit.start_limit_burst)
        self.start_limit_hit = False
        # the timer unit's own unit_notify() timestamps
        self.state_change_timestamp = DualTimestamp()
        self.inactive_exit_timestamp = DualTimestamp()
        self.active_enter_timestamp = DualTimestamp()
        self.active_exit_timestamp = DualTimestamp()
        self.inactive_enter_timestamp = DualTimestamp()
        self._now = Now(0, 0)
        self._out: list[Action] = []
        self._reloading = False  # coldplug(): unit_notify() leaves the timestamps alone

    # ------------------------------------------------------------------ queries

    @property
    def active_state(self) -> ActiveState:
        return TIMER_ACTIVE_STATE[self.state]

    def elapse_windows(self) -> dict[str, tuple[int, int]]:
        """`{"monotonic"|"realtime": (earliest, latest)}` for each armed clock: the event
        loop may fire the timer anywhere in the window (AccuracySec=; 0 means sd-event's
        default of 250 ms). # systemd: sd_event_add_time(..., accuracy_usec)"""
        accuracy = self.cfg.accuracy_usec or DEFAULT_ACCURACY_USEC
        out: dict[str, tuple[int, int]] = {}
        if self.state is TimerState.WAITING:
            if self.monotonic_armed:
                out["monotonic"] = (self.next_elapse_monotonic, _usec_add(self.next_elapse_monotonic, accuracy))
            if self.realtime_armed:
                out["realtime"] = (self.next_elapse_realtime, _usec_add(self.next_elapse_realtime, accuracy))
        return out

    def next_deadline(self) -> tuple[int | None, int | None]:
        """(monotonic, realtime) time at which an event loop holding only this timer wakes
        up, None for a clock that is not armed. With other timers use
        `timer_accuracy.wakeup_time()` over all `elapse_windows()`."""
        w = self.elapse_windows()
        mono = sleep_between(*w["monotonic"], self.ctx.perturb) if "monotonic" in w else None
        real = sleep_between(*w["realtime"], self.ctx.perturb) if "realtime" in w else None
        return mono, real

    def properties(self) -> dict:
        """`systemctl show` properties of the timer, raw (µs; USEC_INFINITY/0 as systemd).

        TimersMonotonic: [(name, value, next_elapse)], name like "OnActiveUSec";
        TimersCalendar: [("OnCalendar", normalized, next_elapse)].
        # systemd: dbus-timer.c bus_timer_vtable; dbus-unit.c
        """
        def dual(prefix: str, ts: DualTimestamp) -> dict:
            return {f"{prefix}Timestamp": ts.realtime, f"{prefix}TimestampMonotonic": ts.monotonic}

        cfg = self.cfg
        props: dict = {
            "Id": self.name,
            "Description": self.unit.description,
            "LoadState": str(self.unit.load_state),
            "ActiveState": str(self.active_state),
            "SubState": str(self.state),
            "Unit": self.trigger_name,
            "Triggers": [self.trigger_name],
            "TimersMonotonic": [(v.base.value[:-3] + "USec", v.value, v.next_elapse)
                                for v in self.values if v.base is not TimerBase.CALENDAR],
            "TimersCalendar": [(v.base.value, v.calendar.normalized() if v.calendar else "", v.next_elapse)
                               for v in self.values if v.base is TimerBase.CALENDAR],
            "OnClockChange": cfg.on_clock_change,
            "OnTimezoneChange": cfg.on_timezone_change,
            "NextElapseUSecRealtime": self.next_elapse_realtime,
            "NextElapseUSecMonotonic": self.next_elapse_monotonic,
            "LastTriggerUSec": self.last_trigger.realtime,
            "LastTriggerUSecMonotonic": self.last_trigger.monotonic,
            "Result": str(self.result),
            "AccuracyUSec": cfg.accuracy_usec,
            "RandomizedDelayUSec": cfg.randomized_delay_usec,
            "FixedRandomDelay": cfg.fixed_random_delay,
            "Persistent": cfg.persistent,
            "WakeSystem": cfg.wake_system,
            "RemainAfterElapse": cfg.remain_after_elapse,
            "DeferReactivation": cfg.defer_reactivation,
            "InvocationID": self.invocation_id,
            "StartLimitIntervalUSec": self.start_limit.interval_usec,
            "StartLimitBurst": self.start_limit.burst,
        }
        props.update(dual("StateChange", self.state_change_timestamp))
        props.update(dual("InactiveExit", self.inactive_exit_timestamp))
        props.update(dual("ActiveEnter", self.active_enter_timestamp))
        props.update(dual("ActiveExit", self.active_exit_timestamp))
        props.update(dual("InactiveEnter", self.inactive_enter_timestamp))
        return props

    # ------------------------------------------------------------------ inputs

    def handle(self, event: Event, now: Now) -> list[Action]:
        """The shell's clock facts: TimePassed, ClockChanged, TimezoneChanged."""
        if isinstance(event, TimePassed):
            return self.time_passed(now)
        if isinstance(event, ClockChanged):
            return self.clock_changed(now)
        if isinstance(event, TimezoneChanged):
            return self.timezone_changed(now, event.timezone)
        raise TypeError(f"{self.name}: a timer does not handle {type(event).__name__}")

    def start(self, now: Now, stamp_realtime: int | None = None,
              invocation_id: str = "") -> tuple[int, list[Action]]:
        """The timer's start job runs. `stamp_realtime`: mtime of the Persistent= stamp file
        (None if there is none). Returns (code, actions); see OK/EALREADY/ENOENT/ECANCELED.
        # systemd: unit_start(), timer_can_start(), timer_start()"""
        self._begin(now)
        if self.active_state in (A.ACTIVE, A.RELOADING):
            return EALREADY, self._end()
        # systemd: timer_can_start() → unit_test_start_limit()
        if not self.start_limit.below(now.monotonic):
            self._log("Start request repeated too quickly.", Priority.WARNING)
            self.start_limit_hit = True
            self._enter_dead(TimerResult.START_LIMIT_HIT)
            return ECANCELED, self._end()
        self.start_limit_hit = False
        # systemd: unit_test_trigger_loaded()
        trigger = self.host.triggered_unit(self.trigger_name)
        if trigger is None or trigger.load_state is not LoadState.LOADED:
            self._log(f"Refusing to start, unit {self.trigger_name} to trigger not loaded.", Priority.ERR)
            return ENOENT, self._end()
        self.invocation_id = invocation_id
        # v257 keeps last_trigger across stop/start (observed: tests/data/oracle/timer/
        # boot-restart.json); a Persistent= stamp overrides its realtime half
        for v in self.values:  # re-enable the values that depend on the activation time
            if v.base is TimerBase.ACTIVE:
                v.disabled = False
        if self.cfg.persistent:
            if stamp_realtime is not None:
                # a stamp in the future means the clock is off: ignore it
                if stamp_realtime < now.realtime:
                    self.last_trigger = DualTimestamp(stamp_realtime, self.last_trigger.monotonic)
                else:
                    self._log(f"Not using persistent file timestamp {self._format_timestamp(stamp_realtime)} "
                              "as it is in the future.", Priority.WARNING)
            else:  # never ran: make sure a stamp exists (touch_file(..., USEC_INFINITY) = now)
                self._out.append(TouchTimerStamp(self.name, now.realtime))
        if self.cfg.wake_system:  # no CLOCK_*_ALARM timers here: a plain timer
            self._log("WakeSystem= is not supported by sysvisor, ignoring.", Priority.NOTICE)
        self.result = TimerResult.SUCCESS
        self._enter_waiting(time_change=False)
        return OK, self._end()

    def stop(self, now: Now) -> tuple[int, list[Action]]:
        """The timer's stop job runs. # systemd: unit_stop(), timer_stop()"""
        self._begin(now)
        if self.active_state in (A.INACTIVE, A.FAILED):
            return EALREADY, self._end()
        self._enter_dead(TimerResult.SUCCESS)
        return OK, self._end()

    def reset_failed(self, now: Now) -> list[Action]:
        """# systemd: unit_reset_failed(), timer_reset_failed()"""
        self._begin(now)
        if self.state is TimerState.FAILED:
            self._set_state(TimerState.DEAD)
        self.result = TimerResult.SUCCESS
        self.start_limit.reset()
        self.start_limit_hit = False
        return self._end()

    def clean(self, now: Now, what: list[str]) -> tuple[str | None, list[Action]]:
        """`systemctl clean --what=...`: only `state` (the Persistent= stamp) of an inactive
        timer. Returns (error, actions); the error is the D-Bus error text systemctl prints.
        # spec: timers.md §5   # systemd: unit_clean(), timer_can_clean(), timer_clean(),
        # bus_unit_method_clean()"""
        self._begin(now)
        if not self.cfg.persistent or any(w != "state" for w in what):  # -EUNATCH
            return "No matching resources found.", self._end()
        if self.active_state is not A.INACTIVE:  # -EBUSY
            return "Unit is not inactive or has pending job.", self._end()
        self._out.append(RemoveTimerStamp(self.name))
        return None, self._end()

    def trigger_notify(self, now: Now) -> list[Action]:
        """The triggered unit changed state, or one of its jobs finished.
        # systemd: timer_trigger_notify()"""
        self._begin(now)
        for v in self.values:
            if v.base in (TimerBase.UNIT_ACTIVE, TimerBase.UNIT_INACTIVE):
                v.disabled = False
        if self.state in (TimerState.WAITING, TimerState.ELAPSED):
            self._enter_waiting(time_change=False)
        elif self.state is TimerState.RUNNING:
            trigger = self.host.triggered_unit(self.trigger_name)
            if trigger is None or trigger.active_state in (A.INACTIVE, A.FAILED):
                self._log("Got notified about unit deactivation.", Priority.DEBUG)
                self._enter_waiting(time_change=False)
        return self._end()

    def is_due(self, now: Now) -> bool:
        """True if an armed clock's elapse (without the accuracy window) has passed."""
        if self.state is not TimerState.WAITING:
            return False
        return ((self.monotonic_armed and self.next_elapse_monotonic <= now.monotonic)
                or (self.realtime_armed and self.next_elapse_realtime <= now.realtime))

    def time_passed(self, now: Now) -> list[Action]:
        """The event loop woke up; trigger if due. A source that fired is disarmed (sd-event
        ONESHOT), so a trigger skipped for a pending stop does not fire again.
        # systemd: timer_dispatch()"""
        self._begin(now)
        if self.is_due(now):
            if self.monotonic_armed and self.next_elapse_monotonic <= now.monotonic:
                self.monotonic_armed = False
            if self.realtime_armed and self.next_elapse_realtime <= now.realtime:
                self.realtime_armed = False
            self._log("Timer elapsed.", Priority.DEBUG)
            self._enter_running()
        return self._end()

    def coldplug(self, now: Now, state: TimerState) -> list[Action]:
        """Continue in `state`, the sub-state saved before a daemon-reexec or a manager
        restart, after the saved result, last trigger, invocation ID, start limit and
        timestamps were put back (the timer itself is still `dead`). A waiting timer computes
        its next elapse afresh: the values' disabled flags and next elapses are not saved, so
        OnActiveSec= counts from now (observed: tests/data/oracle/timer/reexec.json) and
        RandomizedDelaySec= is drawn again. The unit timestamps keep their saved values.
        # systemd: timer_coldplug(), timer_serialize(); unit_notify() while reloading"""
        self._begin(now)
        self._reloading = True
        try:
            if state is TimerState.WAITING:
                self._enter_waiting(time_change=False)
            elif state is not self.state:
                self._set_state(state)
        finally:
            self._reloading = False
        return self._end()

    def clock_changed(self, now: Now) -> list[Action]:
        """CLOCK_REALTIME jumped. # systemd: timer_time_change()"""
        self._begin(now)
        if self.state is not TimerState.WAITING:
            return self._end()
        # triggered "in the future": the clock went backwards; allow those elapses again
        if self.last_trigger.realtime > now.realtime:
            self.last_trigger = DualTimestamp(now.realtime, self.last_trigger.monotonic)
        if self.cfg.on_clock_change:
            self._log("Time change, triggering activation.", Priority.DEBUG)
            self._enter_running()
        else:
            self._log("Time change, recalculating next elapse.", Priority.DEBUG)
            self._enter_waiting(time_change=True)
        return self._end()

    def timezone_changed(self, now: Now, timezone: _dt.tzinfo | str | None) -> list[Action]:
        """The local time zone changed. # systemd: timer_timezone_change()"""
        self._begin(now)
        self.timezone = timezone  # specs stay as parsed; only their local zone changes
        if self.state is not TimerState.WAITING:
            return self._end()
        if self.cfg.on_timezone_change:
            self._log("Timezone change, triggering activation.", Priority.DEBUG)
            self._enter_running()
        else:
            self._log("Timezone change, recalculating next elapse.", Priority.DEBUG)
            self._enter_waiting(time_change=False)
        return self._end()

    # ------------------------------------------------------------------ transitions

    def _set_state(self, state: TimerState) -> None:
        """The only writer of `state`. # systemd: timer_set_state(), unit_notify() timestamps"""
        old = self.state
        self.state = state
        if state is not TimerState.WAITING:
            self.monotonic_armed = self.realtime_armed = False
            self.next_elapse_monotonic = USEC_INFINITY
            self.next_elapse_realtime = USEC_INFINITY
        if state is not old:
            self._log(f"Changed {old} -> {state}", Priority.DEBUG)
        os_, ns = TIMER_ACTIVE_STATE[old], TIMER_ACTIVE_STATE[state]
        if self._reloading:  # systemd: unit_notify() skips them while MANAGER_IS_RELOADING()
            if state is not old:
                self._out.append(StateChanged(self.name, ns, str(state), str(self.result)))
            return
        ts = DualTimestamp(self._now.realtime, self._now.monotonic)
        self.state_change_timestamp = ts
        inactive = (A.INACTIVE, A.FAILED)
        if os_ in inactive and ns not in inactive:
            self.inactive_exit_timestamp = ts
        elif os_ not in inactive and ns in inactive:
            self.inactive_enter_timestamp = ts
        if os_ is not A.ACTIVE and ns is A.ACTIVE:
            self.active_enter_timestamp = ts
        elif os_ is A.ACTIVE and ns is not A.ACTIVE:
            self.active_exit_timestamp = ts
        if state is not old:
            self._out.append(StateChanged(self.name, ns, str(state), str(self.result)))

    def _enter_dead(self, f: TimerResult) -> None:
        """# systemd: timer_enter_dead(), unit_log_result()"""
        if self.result is TimerResult.SUCCESS:
            self.result = f
        if self.result is TimerResult.SUCCESS:
            self._log("Deactivated successfully.")
        else:
            self._log(f"Failed with result '{self.result}'.", Priority.WARNING)
        self._set_state(TimerState.FAILED if self.result is not TimerResult.SUCCESS else TimerState.DEAD)

    def _enter_elapsed(self, leave_around: bool) -> None:
        """RemainAfterElapse=yes keeps the timer around; OnUnit*Sec= timers always stay,
        since their unit may run again. # systemd: timer_enter_elapsed()"""
        if self.cfg.remain_after_elapse or leave_around:
            self._set_state(TimerState.ELAPSED)
        else:
            self._enter_dead(TimerResult.SUCCESS)

    def _add_random(self, v: int) -> int:
        """# systemd: timer.c add_random()"""
        delay = self.cfg.randomized_delay_usec
        if delay == 0 or v == USEC_INFINITY:
            return v
        if self.cfg.fixed_random_delay:
            h = fixed_delay_hash(self.ctx.machine_id, self.ctx.system_manager, self.ctx.uid, self.name)
        else:
            h = self.rng.getrandbits(64)
        add = h % delay
        v = v + add if v + add <= _UINT64_MAX else USEC_INFINITY - 1  # overflow: highest finite
        self._log(f"Adding {format_timespan(add, 1)} random time.", Priority.DEBUG)
        return v

    def _calendar_base(self, trigger: TriggeredUnitState) -> int:
        """Realtime after which the next calendar elapse is searched.
        # systemd: timer_enter_waiting() (v257; observed: a restarted timer still counts
        # from its first activation — tests/data/oracle/timer/restart.json)"""
        if self.cfg.defer_reactivation and trigger.inactive_enter.is_set():
            if self.last_trigger.is_set():
                return max(trigger.inactive_enter.realtime, self.last_trigger.realtime)
            return trigger.inactive_enter.realtime
        if self.last_trigger.is_set():
            return self.last_trigger.realtime
        if self.inactive_exit_timestamp.is_set():
            return self.inactive_exit_timestamp.realtime
        return self._now.realtime

    def _enter_waiting(self, time_change: bool) -> None:
        """Compute the next elapse on both clocks and arm, or give up. # systemd: timer_enter_waiting()"""
        now = self._now
        trigger = self.host.triggered_unit(self.trigger_name)
        if trigger is None:
            self._log("Unit to trigger vanished.", Priority.ERR)
            self._enter_dead(TimerResult.RESOURCES)
            return
        found_monotonic = found_realtime = False
        leave_around = False
        self.next_elapse_monotonic = self.next_elapse_realtime = 0
        active = self.active_state is A.ACTIVE
        for v in self.values:
            if v.disabled:
                continue
            if v.base is TimerBase.CALENDAR:
                assert v.calendar is not None
                try:
                    nxt = v.calendar.next_elapse(self._calendar_base(trigger), self.timezone)
                except CalendarElapseError:
                    nxt = None
                if nxt is None:  # never elapses again
                    continue
                # the manager's start in realtime (monotonic based: the wall clock may have
                # been off at boot); earlier elapses are moved there
                rebased = self.ctx.startup_monotonic + (now.realtime - now.monotonic)
                v.next_elapse = max(nxt, rebased)
                self.next_elapse_realtime = (v.next_elapse if not found_realtime
                                             else min(self.next_elapse_realtime, v.next_elapse))
                found_realtime = True
                continue
            if v.base is TimerBase.ACTIVE:
                base = self.inactive_exit_timestamp.monotonic if active else now.monotonic
            elif v.base is TimerBase.BOOT and not self.ctx.in_container:
                base = 0  # CLOCK_MONOTONIC counts from boot
            elif v.base in (TimerBase.BOOT, TimerBase.STARTUP):
                base = self.ctx.startup_monotonic  # a container counts from our own start
            elif v.base is TimerBase.UNIT_ACTIVE:
                leave_around = True
                base = max(trigger.inactive_exit.monotonic, self.last_trigger.monotonic)
                if base <= 0:
                    continue
            else:  # UNIT_INACTIVE
                leave_around = True
                base = max(trigger.inactive_enter.monotonic, self.last_trigger.monotonic)
                if base <= 0:
                    continue
            v.next_elapse = _usec_add(base, v.value)
            if (self.last_trigger.is_set() and not time_change and v.next_elapse < now.monotonic
                    and v.base in _ONE_SHOT):
                v.disabled = True  # a one-time trigger that has had its turn
                continue
            self.next_elapse_monotonic = (v.next_elapse if not found_monotonic
                                          else min(self.next_elapse_monotonic, v.next_elapse))
            found_monotonic = True

        if not found_monotonic and not found_realtime and not self.cfg.on_timezone_change \
                and not self.cfg.on_clock_change:
            self._log("Timer is elapsed.", Priority.DEBUG)
            self._enter_elapsed(leave_around)
            return
        if found_monotonic:
            self.next_elapse_monotonic = self._add_random(self.next_elapse_monotonic)
            left = max(self.next_elapse_monotonic - now.monotonic, 0)
            self._log(f"Monotonic timer elapses in {format_timespan(left, 1)}.", Priority.DEBUG)
        if found_realtime:
            self.next_elapse_realtime = self._add_random(self.next_elapse_realtime)
            self._log(f"Realtime timer elapses at {self._format_timestamp(self.next_elapse_realtime)}.",
                      Priority.DEBUG)
        self.monotonic_armed = found_monotonic
        self.realtime_armed = found_realtime
        self._set_state(TimerState.WAITING)

    def _enter_running(self) -> None:
        """Start the triggered unit. # systemd: timer_enter_running()"""
        now = self._now
        if self.host.stop_pending(self.name):  # about to go down: no new job
            return
        trigger = self.host.triggered_unit(self.trigger_name)
        if trigger is None:
            self._log("Unit to trigger vanished.", Priority.ERR)
            self._enter_dead(TimerResult.RESOURCES)
            return
        environment = {  # systemd: activation_details_timer_append_env()
            "TRIGGER_UNIT": self.name,
            "TRIGGER_TIMER_REALTIME_USEC": str(now.realtime),
            "TRIGGER_TIMER_MONOTONIC_USEC": str(now.monotonic),
        }
        error = self.host.start_triggered_unit(self.name, self.trigger_name, environment)
        if error is not None:
            self._log(f"Failed to queue unit startup job: {error}", Priority.WARNING)
            self._enter_dead(TimerResult.RESOURCES)
            return
        self.last_trigger = DualTimestamp(now.realtime, now.monotonic)
        if self.cfg.persistent:
            self._out.append(TouchTimerStamp(self.name, now.realtime))
        self._set_state(TimerState.RUNNING)

    # ------------------------------------------------------------------ helpers

    def _format_timestamp(self, usec: int) -> str:
        """`Thu 2026-11-26 08:00:00 UTC` in the local zone. # systemd: FORMAT_TIMESTAMP()"""
        tz = self.timezone
        if isinstance(tz, str):
            tz = None if tz == "UTC" else zoneinfo.ZoneInfo(tz)
        tm = LocalZone(tz).localtime(usec // 1_000_000)
        return (f"{_WEEKDAY[tm.wday]} {tm.year + 1900:04d}-{tm.mon + 1:02d}-{tm.mday:02d} "
                f"{tm.hour:02d}:{tm.min:02d}:{tm.sec:02d} {tm.zone}")

    def _log(self, message: str, priority: Priority = Priority.INFO) -> None:
        self._out.append(Log(f"{self.name}: {message}", self.name, priority, self.invocation_id or None))

    def _begin(self, now: Now) -> None:
        self._now = now
        self._out = []

    def _end(self) -> list[Action]:
        out, self._out = self._out, []
        return out


def wakeup(timers: list[TimerUnit], perturb: int) -> tuple[int | None, int | None]:
    """When the event loop wakes up for these timers: (monotonic, realtime), None if no timer
    is armed on that clock. Then call `time_passed()` on every timer. Other deadlines of the
    loop belong in the same computation with their own windows (systemd's internal timers
    use 250 ms, `timer_accuracy.DEFAULT_ACCURACY_USEC`).
    # systemd: sd-event.c event_arm_timer()"""
    out: list[int | None] = []
    for clock in ("monotonic", "realtime"):
        windows = [w[clock] for t in timers if clock in (w := t.elapse_windows())]
        out.append(wakeup_time(windows, perturb))
    return out[0], out[1]
