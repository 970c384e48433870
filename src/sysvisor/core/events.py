"""Facts the shell feeds into the engine, named in the past tense.

Every event is handled by `Manager.handle(event, now)` with `now` in monotonic microseconds.
The shell answers each `Spawn` action with `Spawned` or `SpawnFailed` before feeding any other
event, so the engine always knows the pid of what it asked for.
# spec: ../shared/ARCHITECTURE.md "The one idea"
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sysvisor.core.types import ExitCode, JobMode


@dataclass(frozen=True)
class Event:
    """Base class of all engine inputs."""


# --- requests (from the control socket, the CLI, or the manager's own start-up) ---


@dataclass(frozen=True)
class StartRequested(Event):
    unit: str
    request_id: int | None = None  # echoed in JobCompleted so the shell can answer a client
    mode: JobMode = JobMode.REPLACE


@dataclass(frozen=True)
class StopRequested(Event):
    unit: str
    request_id: int | None = None
    mode: JobMode = JobMode.REPLACE


@dataclass(frozen=True)
class RestartRequested(Event):
    unit: str
    request_id: int | None = None
    only_if_active: bool = False  # try-restart
    mode: JobMode = JobMode.REPLACE


@dataclass(frozen=True)
class ReloadRequested(Event):
    unit: str
    request_id: int | None = None


@dataclass(frozen=True)
class ResetFailedRequested(Event):
    unit: str | None = None  # None: every unit


@dataclass(frozen=True)
class KillRequested(Event):
    unit: str
    signal: int
    whom: str = "all"  # main | control | all
    request_id: int | None = None  # answered with RequestFailed when nothing can be signalled


@dataclass(frozen=True)
class BootRequested(Event):
    """Manager start-up: start default.target (isolate: stop what it does not need; a
    manager continuing from saved state uses replace). # systemd: manager_startup()"""

    isolate: bool = True


@dataclass(frozen=True)
class ShutdownRequested(Event):
    """SIGTERM/SIGINT to the manager, `sysvisor exit`: stop every unit, then exit."""

    exit_status: int = 0


# --- process facts ---


@dataclass(frozen=True)
class Spawned(Event):
    spawn_id: int
    pid: int


@dataclass(frozen=True)
class SpawnFailed(Event):
    """The manager could not even fork (Result `resources`). Exec failures inside the
    child are ordinary exits with a 2xx status (203/EXEC …)."""

    spawn_id: int
    errno: int
    message: str = ""


@dataclass(frozen=True)
class ExecSucceeded(Event):
    """The process `pid` got through execve() (its error pipe closed without a record).

    Only `Type=exec` services wait for it before leaving the `start` state; an exec
    failure is reported as the process's exit (2xx status) instead.
    # spec: service-lifecycle.md §2 (Type=exec)
    """

    pid: int


@dataclass(frozen=True)
class ProcessExited(Event):
    pid: int
    code: ExitCode
    status: int


@dataclass(frozen=True)
class NotifyReceived(Event):
    """An sd_notify datagram, already split into assignments (last one wins per key)."""

    pid: int
    fields: dict[str, str] = field(default_factory=dict)
    # the unit whose cgroup/process group holds `pid`, when the shell knows it (needed for
    # NotifyAccess=all senders that are neither main nor control process)
    unit: str | None = None


@dataclass(frozen=True)
class UnitEmptied(Event):
    """The unit's cgroup (or process group) has no processes left."""

    unit: str


@dataclass(frozen=True)
class PidFileRead(Event):
    """Answer to `ReadPidFile`: the pid found (None: no file / no valid pid yet).
    The shell may send it again later when a missing file appears."""

    unit: str
    pid: int | None


# --- time ---


@dataclass(frozen=True)
class TimePassed(Event):
    """Fed when `now` reached `Manager.next_deadline()`; due timers fire in deadline order."""


# --- clocks (timer units) ---


@dataclass(frozen=True)
class ClockChanged(Event):
    """CLOCK_REALTIME was set (the shell's TFD_TIMER_CANCEL_ON_SET timerfd fired): calendar
    timers recompute their next elapse. `realtime` is the wall clock after the jump (µs).
    # spec: timers.md §2   # systemd: manager_dispatch_time_change_fd(), timer_time_change()"""

    realtime: int


@dataclass(frozen=True)
class TimezoneChanged(Event):
    """The local time zone changed (/etc/localtime replaced). `timezone` is the new IANA
    name, None for UTC. # systemd: manager_dispatch_timezone_change(), timer_timezone_change()"""

    timezone: str | None = None
