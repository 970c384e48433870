"""Commands the engine returns to the shell, named in the imperative.

The shell carries them out in order. Nothing here does I/O: an action is a description.
# spec: ../shared/ARCHITECTURE.md "The one idea"
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sysvisor.core.types import ActiveState, EmergencyAction, JobResult, JobType, Priority
from sysvisor.core.units import ExecCommand


@dataclass(frozen=True)
class Action:
    """Base class of all engine outputs."""


@dataclass(frozen=True)
class Spawn(Action):
    """Start `command` for `unit`. Answer with `Spawned(spawn_id, pid)` or `SpawnFailed`.

    `environment` holds only what the manager itself defines for this process
    (INVOCATION_ID, MAINPID, MONITOR_*, SERVICE_RESULT, …); the shell adds the unit's
    Environment=/EnvironmentFile= and the execution context from the unit's config.
    """

    spawn_id: int
    unit: str
    command: ExecCommand
    phase: str  # "ExecStart", "ExecStartPre", … as in status `Process:` lines
    is_main: bool
    invocation_id: str
    environment: dict[str, str] = field(default_factory=dict)
    # NotifyAccess= allows this process to notify: the shell sets $NOTIFY_SOCKET.
    notify_socket: bool = False


@dataclass(frozen=True)
class Kill(Action):
    """Send `signal`. `whole_unit`: every process of the unit (cgroup / process group),
    otherwise only `pids`. # spec: service-lifecycle.md §7"""

    unit: str
    signal: int
    pids: tuple[int, ...] = ()
    whole_unit: bool = False
    # systemd logs `<unit>: Killing process PID (comm) with signal SIGx.` (notice) for each
    # process it kills this way; the engine logs `pids` itself, the shell logs the *other*
    # processes of the unit it signals when this is set. # systemd: unit_kill_context() log_kill()
    log_others: bool = False


@dataclass(frozen=True)
class ReadPidFile(Action):
    """Read PIDFile= (Type=forking), or guess the main pid when `path` is None
    (GuessMainPID=yes: the only process left in the unit). Answer with `PidFileRead`.
    # spec: service-lifecycle.md §2 (PIDFile=, GuessMainPID=)"""

    unit: str
    path: str | None


@dataclass(frozen=True)
class WarnLeftoverProcesses(Action):
    """Log the unit's remaining processes, if any (the shell knows them):
    starting → warning `Found left-over process PID (comm) in control group while starting
    unit. Ignoring.` + `This usually indicates unclean termination of a previous run, or
    service implementation deficiencies.`; otherwise info `Unit process PID (comm) remains
    running after unit stopped.` (observed, systemd 257: KillMode=process).
    # systemd: unit_warn_leftover_processes()"""

    unit: str
    starting: bool


@dataclass(frozen=True)
class Log(Action):
    """A manager message, in systemd's wording; `unit` None for manager-wide lines."""

    message: str
    unit: str | None = None
    priority: Priority = Priority.INFO
    invocation_id: str | None = None


@dataclass(frozen=True)
class StateChanged(Action):
    """The unit's ActiveState/SubState changed (for watchers, the journal and persistence)."""

    unit: str
    active_state: ActiveState
    sub_state: str
    result: str


@dataclass(frozen=True)
class JobCompleted(Action):
    """A job the shell asked for finished; answer the waiting client if any."""

    request_id: int | None
    unit: str
    job_type: JobType
    result: JobResult
    # systemctl's reason when the job could not even be enqueued, e.g.
    # "Job type reload is not applicable for unit foo.service."
    error: str | None = None
    # its D-Bus error name without org.freedesktop.systemd1. ("JobTypeNotApplicable"): the
    # client's exit status depends on it (systemctl: translate_bus_error_to_exit_status())
    bus_error: str | None = None


@dataclass(frozen=True)
class RequestFailed(Action):
    """A request that is not a job could not be carried out, e.g. `systemctl kill` of a unit
    without a main process: `Failed to kill unit foo.service: No main process to kill`."""

    request_id: int | None
    unit: str
    error: str


@dataclass(frozen=True)
class RunEmergencyAction(Action):
    """FailureAction=/SuccessAction=/StartLimitAction=. # spec: restart-and-failure.md §9"""

    action: EmergencyAction
    reason: str  # "unit foo.service failed"
    exit_status: int  # -1: none given (FailureActionExitStatus= unset, no main exit status)


@dataclass(frozen=True)
class ExitManager(Action):
    """Every unit is down after a shutdown request: the manager may exit now."""

    exit_status: int = 0


@dataclass(frozen=True)
class TouchTimerStamp(Action):
    """Persistent=yes: set the mtime of the timer's stamp file to `realtime_usec` (µs since
    the epoch), creating it and its directory if missing. Where the file lives is the shell's
    decision (spec decision D4: `$STATE_DIR/timers/stamp-<unit>`, or
    /var/lib/systemd/timers/stamp-<unit> when replacing systemd). The shell passes the mtime
    back to `TimerUnit.start(stamp_realtime=...)` on the next start.
    # spec: timers.md §5   # systemd: timer.c timer_enter_running(), timer_start() touch_file()"""

    unit: str
    realtime_usec: int


@dataclass(frozen=True)
class RemoveTimerStamp(Action):
    """`systemctl clean --what=state X.timer`: delete the Persistent= stamp file (a missing
    file is fine). # spec: timers.md §5   # systemd: timer_clean()"""

    unit: str
