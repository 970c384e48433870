"""Typed unit configuration: what the parser produces and the engine consumes.

Plain frozen-ish dataclasses with systemd's defaults. The parser (`sysvisor.unitfile`) is the
only writer; the engine only reads. Times are integer microseconds; `USEC_INFINITY` means
"infinity". A new directive is a new field here plus one row in `unitfile/schema.py`.
# spec: unit-files.md; service-lifecycle.md §2, §6, §7; restart-and-failure.md §2–§9
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sysvisor.core.types import (
    USEC_INFINITY,
    USEC_PER_MSEC,
    USEC_PER_SEC,
    EmergencyAction,
    JobMode,
    KillMode,
    LoadState,
    NotifyAccess,
    RestartMode,
    RestartPolicy,
    ServiceType,
    TimeoutFailureMode,
)

# Manager defaults (systemd-system.conf(5)); the shell may override them per manager.
DEFAULT_RESTART_USEC = 100 * USEC_PER_MSEC
DEFAULT_TIMEOUT_START_USEC = 90 * USEC_PER_SEC
DEFAULT_TIMEOUT_STOP_USEC = 90 * USEC_PER_SEC
DEFAULT_START_LIMIT_INTERVAL_USEC = 10 * USEC_PER_SEC
DEFAULT_START_LIMIT_BURST = 5


@dataclass(frozen=True)
class ExecCommand:
    """One `Exec*=` command line after prefix parsing and splitting.

    `argv` still holds unexpanded `$VAR`/`${VAR}` words; they are expanded right before
    spawning against the environment of that spawn.
    # spec: service-lifecycle.md §5
    """

    path: str
    argv: tuple[str, ...]
    ignore_failure: bool = False  # "-"
    no_env_expand: bool = False  # ":"
    full_privileges: bool = False  # "+"
    no_setuid: bool = False  # "!"
    ambient_only: bool = False  # "!!"
    # where it was written, for messages: (file, line)
    origin: tuple[str, int] | None = None

    def command_line(self) -> str:
        """argv joined as systemctl status prints it."""
        return " ".join(self.argv)


@dataclass(frozen=True)
class ExitStatusSet:
    """SuccessExitStatus=/RestartPreventExitStatus=/RestartForceExitStatus= value.

    # spec: restart-and-failure.md §1.1, §2.3
    """

    statuses: frozenset[int] = frozenset()
    signals: frozenset[int] = frozenset()

    def matches(self, code: int, status: int) -> bool:
        """True if (code, status) — ExitCode values — is in the set."""
        if code == 1:  # exited
            return status in self.statuses
        if code in (2, 3):  # killed, dumped
            return status in self.signals
        return False

    def __bool__(self) -> bool:
        return bool(self.statuses or self.signals)


@dataclass
class UnitSection:
    """[Unit] settings. # spec: unit-files.md; restart-and-failure.md §5, §7, §9"""

    description: str = ""
    documentation: list[str] = field(default_factory=list)
    wants: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    requisite: list[str] = field(default_factory=list)
    binds_to: list[str] = field(default_factory=list)
    part_of: list[str] = field(default_factory=list)
    upholds: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    on_failure: list[str] = field(default_factory=list)
    on_success: list[str] = field(default_factory=list)
    propagates_reload_to: list[str] = field(default_factory=list)
    reload_propagated_from: list[str] = field(default_factory=list)
    propagates_stop_to: list[str] = field(default_factory=list)
    stop_propagated_from: list[str] = field(default_factory=list)
    joins_namespace_of: list[str] = field(default_factory=list)
    on_failure_job_mode: JobMode = JobMode.REPLACE
    on_success_job_mode: JobMode = JobMode.FAIL  # systemd: unit_new() (observed 257)
    start_limit_interval_usec: int = DEFAULT_START_LIMIT_INTERVAL_USEC
    start_limit_burst: int = DEFAULT_START_LIMIT_BURST
    start_limit_action: EmergencyAction = EmergencyAction.NONE
    failure_action: EmergencyAction = EmergencyAction.NONE
    success_action: EmergencyAction = EmergencyAction.NONE
    failure_action_exit_status: int = -1
    success_action_exit_status: int = -1
    job_timeout_usec: int = USEC_INFINITY
    job_running_timeout_usec: int = USEC_INFINITY
    job_timeout_action: EmergencyAction = EmergencyAction.NONE
    default_dependencies: bool = True
    stop_when_unneeded: bool = False
    refuse_manual_start: bool = False
    refuse_manual_stop: bool = False
    allow_isolate: bool = False
    ignore_on_isolate: bool = False
    # Condition*=/Assert*=: (name, trigger '|', negate '!', value) in file order
    conditions: list[tuple[str, bool, bool, str]] = field(default_factory=list)
    asserts: list[tuple[str, bool, bool, str]] = field(default_factory=list)


@dataclass
class ServiceSection:
    """[Service] settings with systemd's defaults. # spec: service-lifecycle.md §2–§7"""

    type: ServiceType | None = None  # None: derived (simple, or oneshot without ExecStart=)
    exec_condition: list[ExecCommand] = field(default_factory=list)
    exec_start_pre: list[ExecCommand] = field(default_factory=list)
    exec_start: list[ExecCommand] = field(default_factory=list)
    exec_start_post: list[ExecCommand] = field(default_factory=list)
    exec_reload: list[ExecCommand] = field(default_factory=list)
    exec_stop: list[ExecCommand] = field(default_factory=list)
    exec_stop_post: list[ExecCommand] = field(default_factory=list)
    remain_after_exit: bool = False
    exit_type: str = "main"  # ExitType=: "main" or "cgroup" (service ends when its cgroup is empty)
    guess_main_pid: bool = True
    pid_file: str | None = None
    bus_name: str | None = None  # BusName=; Type=dbus needs it (sysvisor runs dbus as simple)
    restart: RestartPolicy = RestartPolicy.NO
    restart_mode: RestartMode = RestartMode.NORMAL
    restart_usec: int = DEFAULT_RESTART_USEC
    restart_steps: int = 0
    restart_max_delay_usec: int = USEC_INFINITY
    success_exit_status: ExitStatusSet = field(default_factory=ExitStatusSet)
    restart_prevent_exit_status: ExitStatusSet = field(default_factory=ExitStatusSet)
    restart_force_exit_status: ExitStatusSet = field(default_factory=ExitStatusSet)
    timeout_start_usec: int | None = None  # None: default (infinity for oneshot)
    timeout_stop_usec: int = DEFAULT_TIMEOUT_STOP_USEC
    timeout_abort_usec: int | None = None  # None: TimeoutStopSec
    timeout_start_failure_mode: TimeoutFailureMode = TimeoutFailureMode.TERMINATE
    timeout_stop_failure_mode: TimeoutFailureMode = TimeoutFailureMode.TERMINATE
    runtime_max_usec: int = USEC_INFINITY
    watchdog_usec: int = 0
    notify_access: NotifyAccess | None = None  # None: derived from Type=
    kill_mode: KillMode = KillMode.CONTROL_GROUP
    kill_signal: int = 15
    restart_kill_signal: int | None = None  # None: KillSignal
    final_kill_signal: int = 9
    watchdog_signal: int = 6
    reload_signal: int = 1  # ReloadSignal= (v253, Type=notify-reload)
    send_sighup: bool = False
    send_sigkill: bool = True
    # execution environment (used by the shell)
    environment: list[str] = field(default_factory=list)  # "K=V" in order
    environment_files: list[tuple[str, bool]] = field(default_factory=list)  # (path, optional)
    pass_environment: list[str] = field(default_factory=list)
    unset_environment: list[str] = field(default_factory=list)
    working_directory: str | None = None
    root_directory: str | None = None
    user: str | None = None
    group: str | None = None
    supplementary_groups: list[str] = field(default_factory=list)
    umask: int = 0o022
    nice: int | None = None
    limits: dict[str, tuple[int, int]] = field(default_factory=dict)  # "NOFILE" -> (soft, hard)
    standard_input: str = "null"
    standard_output: str = "journal"
    standard_error: str = "inherit"
    syslog_identifier: str | None = None
    syslog_level_prefix: bool = True

    @property
    def effective_type(self) -> ServiceType:
        """Type= after systemd's defaulting. # spec: service-lifecycle.md §2"""
        if self.type is not None:
            return ServiceType.SIMPLE if self.type is ServiceType.DBUS else self.type
        return ServiceType.SIMPLE if self.exec_start else ServiceType.ONESHOT

    @property
    def effective_timeout_start_usec(self) -> int:
        """TimeoutStartSec=, infinity by default for oneshot. # spec: service-lifecycle.md §6"""
        if self.timeout_start_usec is not None:
            return self.timeout_start_usec
        if self.effective_type is ServiceType.ONESHOT:
            return USEC_INFINITY
        return DEFAULT_TIMEOUT_START_USEC

    @property
    def effective_timeout_abort_usec(self) -> int:
        return self.timeout_stop_usec if self.timeout_abort_usec is None else self.timeout_abort_usec

    @property
    def effective_notify_access(self) -> NotifyAccess:
        if self.notify_access is not None and self.notify_access is not NotifyAccess.NONE:
            return self.notify_access
        if self.effective_type in (ServiceType.NOTIFY, ServiceType.NOTIFY_RELOAD) or self.watchdog_usec:
            return NotifyAccess.MAIN
        return self.notify_access or NotifyAccess.NONE


DEFAULT_TIMER_ACCURACY_USEC = 60 * USEC_PER_SEC


@dataclass
class TimerSection:
    """[Timer] settings. Monotonic triggers in µs; OnCalendar= kept as written (the engine parses
    it with `core.calendar`). Empty assignment of any trigger resets all of them.
    # spec: timers.md §1
    """

    on_active_usec: list[int] = field(default_factory=list)
    on_boot_usec: list[int] = field(default_factory=list)
    on_startup_usec: list[int] = field(default_factory=list)
    on_unit_active_usec: list[int] = field(default_factory=list)
    on_unit_inactive_usec: list[int] = field(default_factory=list)
    on_calendar: list[str] = field(default_factory=list)
    on_clock_change: bool = False
    on_timezone_change: bool = False
    accuracy_usec: int = DEFAULT_TIMER_ACCURACY_USEC
    randomized_delay_usec: int = 0
    fixed_random_delay: bool = False
    persistent: bool = False
    wake_system: bool = False
    remain_after_elapse: bool = True
    defer_reactivation: bool = False
    unit: str | None = None  # Unit=; None: the timer's name with .service

    def has_trigger(self) -> bool:
        return bool(self.on_active_usec or self.on_boot_usec or self.on_startup_usec
                    or self.on_unit_active_usec or self.on_unit_inactive_usec or self.on_calendar
                    or self.on_clock_change or self.on_timezone_change)


@dataclass
class InstallSection:
    """[Install]. # spec: unit-files.md §Install"""

    wanted_by: list[str] = field(default_factory=list)
    required_by: list[str] = field(default_factory=list)
    upheld_by: list[str] = field(default_factory=list)
    also: list[str] = field(default_factory=list)
    alias: list[str] = field(default_factory=list)
    default_instance: str | None = None

    def empty(self, template: bool) -> bool:
        """Nothing to enable: systemctl's "has no installation config" case."""
        return not (self.wanted_by or self.required_by or self.upheld_by or self.also or self.alias
                    or (template and self.default_instance))


@dataclass
class Unit:
    """A loaded unit: identity, where it came from, and its typed sections."""

    name: str
    load_state: LoadState = LoadState.LOADED
    load_error: str | None = None  # the "(Reason: …)" of status when not loaded
    fragment_path: str | None = None
    dropin_paths: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)  # other names of this unit (symlinks)
    unit: UnitSection = field(default_factory=UnitSection)
    service: ServiceSection | None = None
    timer: TimerSection | None = None
    install: InstallSection = field(default_factory=InstallSection)
    # X- keys and sections, kept for extensions: section -> [(key, value)]
    extensions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The unit type suffix: service, target, timer, …"""
        return self.name.rsplit(".", 1)[-1]

    @property
    def description(self) -> str:
        return self.unit.description or self.name
