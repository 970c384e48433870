"""The manager's side of the timer interface: what a `TimerUnit` asks of its host.

`TimerHostMixin` is mixed into `Manager`; it reads the manager's units, services, jobs and
clocks and turns timer requests into jobs. Kept apart so manager.py stays about units and
jobs. # spec: timers.md §2, §3   # systemd: timer.c timer_enter_running(), timer_start()
"""

from __future__ import annotations

import random

from sysvisor.core.actions import Action, Log
from sysvisor.core.events import ClockChanged, TimezoneChanged
from sysvisor.core.timer import EALREADY as TIMER_EALREADY
from sysvisor.core.timer import OK as TIMER_OK
from sysvisor.core.timer import DualTimestamp, Now, TriggeredUnitState
from sysvisor.core.types import INACTIVE_OR_FAILED, JobMode, JobResult, JobType, LoadState, Priority



class TimerHostMixin:
    """core/timer.py `TimerHost` implemented on the Manager (see there for the contract)."""

    def now_pair(self) -> Now:
        """Both clocks now: realtime is derived from the offset the last ClockChanged set."""
        return Now(self.now, self.now + self.realtime_offset)

    def _dual(self, monotonic: int) -> DualTimestamp:
        return DualTimestamp(monotonic + self.realtime_offset, monotonic) if monotonic else DualTimestamp()

    def triggered_unit(self, name: str) -> TriggeredUnitState | None:
        """# systemd: UNIT_TRIGGER() as seen by timer.c"""
        unit = self.units.get(name)
        if unit is None:
            return None
        svc = self.services.get(name)
        if svc is None:
            return TriggeredUnitState(load_state=unit.load_state)
        return TriggeredUnitState(
            active_state=svc.active_state,
            inactive_exit=self._dual(svc.ts.get("InactiveExitTimestampMonotonic", 0)),
            inactive_enter=self._dual(svc.ts.get("InactiveEnterTimestampMonotonic", 0)),
            load_state=unit.load_state,
        )

    def start_triggered_unit(self, timer: str, unit: str, environment: dict[str, str]) -> str | None:
        """Enqueue (never run) the start job a timer asks for, mode replace, through a
        transaction like any other request. # systemd: timer_enter_running() → manager_add_job()"""
        error = self._refusal(unit)
        if error is None and self.shutting_down:
            error = "Transaction is destructive."
        if error is not None:
            return error
        e = self.enqueue_job(unit, JobType.START, JobMode.REPLACE)
        if e is not None:
            return e.message
        self._trigger_env_next[unit] = dict(environment)
        return None

    def stop_pending(self, timer: str) -> bool:
        """A stop job of the timer is queued: it does not trigger any more.
        # systemd: timer_enter_running() (`job_type_is_conflicting(…, JOB_STOP)`)"""
        job = self.jobs.get(timer)
        return job is not None and job.type is JobType.STOP

    def sync_timers(self) -> list[Action]:
        """After daemon-reload (`self.units` replaced): every loaded timer is built afresh from
        its config and keeps its runtime (result, last trigger, invocation ID, start limit,
        timestamps), then continues in its state as after daemon-reexec: a waiting one
        computes its next elapse again, OnActiveSec= counting from now (observed:
        tests/data/oracle/timer/reexec.json). New timers are added; removed inactive ones go.
        # systemd: manager_reload() → timer_serialize()/timer_deserialize_item(), timer_coldplug()"""
        from sysvisor.core.timer import TimerUnit

        table = self.timers.timers
        for name in [n for n, t in table.items()
                     if (self.units.get(n) is None or self.units[n].timer is None
                         or self.units[n].load_state is not LoadState.LOADED)
                     and t.active_state in INACTIVE_OR_FAILED]:
            del table[name]
        out: list[Action] = []
        now = self.now_pair()
        for name in sorted(self.units):
            unit = self.units[name]
            if unit.kind != "timer" or unit.timer is None or unit.load_state is not LoadState.LOADED:
                continue
            old = table.get(name)
            new = TimerUnit(unit, self, self.timers.ctx, old.rng if old is not None else random.Random(0))
            table[name] = new
            if old is None:
                continue
            for attr in ("result", "last_trigger", "invocation_id", "start_limit", "start_limit_hit",
                         "state_change_timestamp", "inactive_exit_timestamp", "active_enter_timestamp",
                         "active_exit_timestamp", "inactive_enter_timestamp"):
                setattr(new, attr, getattr(old, attr))
            out.extend(new.coldplug(now, old.state))
        return out

    def _timer_clock_event(self, event: ClockChanged | TimezoneChanged) -> None:
        """The wall clock was set (the new realtime gives the offset) or the local time zone
        changed: every timer recomputes. # systemd: manager_dispatch_time_change_fd(),
        manager_dispatch_timezone_change()   # spec: timers.md §2"""
        if isinstance(event, ClockChanged):
            self.realtime_offset = event.realtime - self.now
            self._emit_all(self.timers.clock_changed(self.now_pair()))
        else:
            self._emit_all(self.timers.timezone_changed(self.now_pair(), event.timezone))

    def _emit_all(self, actions: list[Action]) -> None:
        for a in actions:
            self.emit(a)

    def _timer_trigger_notify(self, name: str) -> None:
        if self.timers.timers and self.timers.triggered_by(name):
            self._emit_all(self.timers.trigger_notify(name, self.now_pair()))

    def _timer_job(self, name: str, job_type: JobType) -> tuple[JobResult, bool]:
        """Run a .timer's start/stop/restart job: (result, already — the done message is logged
        here, or nothing happened). # systemd: timer_start(), timer_stop(); job_emit_done_message()"""
        timer = self.timers[name]
        desc = timer.unit.description
        label = f"{name} - {desc}" if desc and desc != name else name
        now = self.now_pair()
        if job_type in (JobType.STOP, JobType.RESTART):
            code, actions = timer.stop(now)
            self._emit_all(actions)
            if code == TIMER_OK:
                self.emit(Log(f"Stopped {label}.", name, Priority.INFO, timer.invocation_id or None))
            return JobResult.DONE, True
        stamp = self.timer_stamps.get(name)
        code, actions = timer.start(now, stamp_realtime=stamp, invocation_id=self.new_invocation_id())
        self._emit_all(actions)
        if code == TIMER_OK:
            self.emit(Log(f"Started {label}.", name, Priority.INFO, timer.invocation_id or None))
            return JobResult.DONE, True
        if code == TIMER_EALREADY:
            return JobResult.DONE, True
        self.emit(Log(f"Failed to start {label}.", name, Priority.ERR, timer.invocation_id or None))
        return JobResult.FAILED, True
