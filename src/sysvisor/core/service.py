"""The service state machine: one `Service` per loaded .service unit.

Theory of operation (a port of systemd's src/core/service.c, v257 generation):

* `_set_state` is the only writer of `state`. It tears down what the new state no longer
  allows (unit timer, main/control process tracking, watchdog) and reports the change to
  the host (the manager), which completes jobs, triggers OnFailure=/OnSuccess= and runs
  FailureAction=/SuccessAction= — systemd's `service_set_state()` + `unit_notify()`.
* `_enter_<state>` methods drive the lifecycle; `_on_<event>` methods react to facts
  (process exits, timers, notify messages, spawn feedback).
* Spawning is a command with feedback: `_spawn()` emits a `Spawn` action and parks two
  continuations; the shell answers `Spawned`/`SpawnFailed` before any other event, so the
  continuation runs exactly where systemd's synchronous `service_spawn()` would return.
* "First failure wins": every `_enter_*` only records its failure if Result is success.

# spec: service-lifecycle.md §1–§8; restart-and-failure.md §1–§8; notify-and-watchdog.md
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from sysvisor.core.actions import Kill, Log, ReadPidFile, Spawn, WarnLeftoverProcesses
from sysvisor.core.exit_status import SIGCONT, SIGHUP, SIGKILL, signal_name, status_text
from sysvisor.core.ratelimit import StartLimit
from sysvisor.core.restart import restart_delay, result_of_exit, shall_restart
from sysvisor.core.types import (
    SERVICE_ACTIVE_STATE,
    USEC_INFINITY,
    ActiveState,
    ExitCode,
    JobType,
    KillMode,
    NotifyAccess,
    Priority,
    RestartMode,
    ServiceResult,
    ServiceState,
    ServiceType,
    TimeoutFailureMode,
)
from sysvisor.core.units import ExecCommand, ServiceSection, Unit

if TYPE_CHECKING:  # pragma: no cover
    from sysvisor.core.manager import Manager

S = ServiceState
R = ServiceResult
A = ActiveState

# Return codes of start()/stop()/reload(), as systemd's unit vtable uses them.
OK = 1  # did something (job message "Starting…"/"Stopping…" is shown)
NOOP = 0  # already on it
EAGAIN = -11  # try again later (job waits)
EALREADY = -114  # already in the requested state (job done at once)
ECANCELED = -125  # start limit hit (job failed)
ENOEXEC = -8  # operation not applicable (job invalid)

# Exec command list names, in systemd's order (service_exec_command_table).
PHASES = (
    "ExecCondition",
    "ExecStartPre",
    "ExecStart",
    "ExecStartPost",
    "ExecReload",
    "ExecStop",
    "ExecStopPost",
)
_PHASE_FIELD = {
    "ExecCondition": "exec_condition",
    "ExecStartPre": "exec_start_pre",
    "ExecStart": "exec_start",
    "ExecStartPost": "exec_start_post",
    "ExecReload": "exec_reload",
    "ExecStop": "exec_stop",
    "ExecStopPost": "exec_stop_post",
}
# systemd: service_exec_command_to_string() names used in "Failed to spawn '%s' task"
_TASK = {
    "ExecCondition": "exec-condition",
    "ExecStartPre": "start-pre",
    "ExecStart": "start",
    "ExecStartPost": "start-post",
    "ExecReload": "reload",
    "ExecStop": "stop",
    "ExecStopPost": "stop-post",
}

_STARTING = (S.CONDITION, S.START_PRE, S.START, S.START_POST)
_RELOADING = (S.RELOAD, S.RELOAD_SIGNAL, S.RELOAD_NOTIFY)
_STOPPING = (
    S.STOP,
    S.STOP_WATCHDOG,
    S.STOP_SIGTERM,
    S.STOP_SIGKILL,
    S.STOP_POST,
    S.FINAL_WATCHDOG,
    S.FINAL_SIGTERM,
    S.FINAL_SIGKILL,
)
# systemd: service_set_state() — states that keep the unit timer, main, control, watchdog
_KEEP_TIMER = frozenset((*_STARTING, S.RUNNING, *_RELOADING, *_STOPPING, S.AUTO_RESTART))
_KEEP_MAIN = frozenset((S.START, S.START_POST, S.RUNNING, *_RELOADING, *_STOPPING))
_KEEP_CONTROL = frozenset((*_STARTING, *_RELOADING, *_STOPPING))
_KEEP_WATCHDOG = frozenset((S.START_POST, S.RUNNING, *_RELOADING))
_IDLE_ACTIVE = frozenset(_STARTING)  # Type=idle reports these as active

# Kill operations. # systemd: state_to_kill_operation()
KILL_TERMINATE, KILL_RESTART, KILL_KILL, KILL_WATCHDOG = "terminate", "restart", "kill", "watchdog"


@dataclass
class ExecStatus:
    """What happened to one spawned process. # systemd: ExecStatus"""

    pid: int = 0
    start_usec: int = 0
    exit_usec: int = 0
    code: int = 0  # ExitCode
    status: int = 0

    def as_dict(self) -> dict:
        return {
            "pid": self.pid,
            "start_monotonic": self.start_usec,
            "exit_monotonic": self.exit_usec,
            "code": self.code,
            "status": self.status,
        }


@dataclass
class ExecRun:
    """One spawned command: which list it belongs to, its index, its status."""

    phase: str
    index: int
    command: ExecCommand
    is_main: bool
    spawn_id: int
    status: ExecStatus = field(default_factory=ExecStatus)

    @property
    def pid(self) -> int:
        return self.status.pid

    @property
    def alive(self) -> bool:
        return self.status.pid > 0 and self.status.code == 0


@dataclass
class _PendingSpawn:
    run: ExecRun
    on_spawned: Callable[[ExecRun], None]
    on_failed: Callable[[str], None]


class Service:
    """Runtime of one service unit. The manager is its host.

    # systemd: struct Service + the unit-level fields of struct Unit it needs
    """

    def __init__(self, unit: Unit, host: Manager) -> None:
        self.unit = unit
        self.name = unit.name
        self.cfg: ServiceSection = unit.service or ServiceSection()
        self.host = host
        self.type = self.cfg.effective_type

        self.state = S.DEAD
        self.result = R.SUCCESS
        self.reload_result = R.SUCCESS
        self.n_restarts = 0
        self.flush_n_restarts = False
        self.forbid_restart = False
        self.invocation_id = ""
        self.status_text = ""
        self.status_errno = 0
        self.start_limit = StartLimit(unit.unit.start_limit_interval_usec, unit.unit.start_limit_burst)
        self.start_limit_hit = False
        self.condition_result = True

        # processes
        self.main: ExecRun | None = None  # main_pid (+ main_command)
        self.main_pid_known = False
        self.main_pid_alien = False  # adopted via PIDFile=/MAINPID= (not our child)
        self.control: ExecRun | None = None  # control_pid (+ control_command)
        self.main_command_index: int | None = None  # oneshot: which ExecStart= runs
        self.control_phase: str | None = None  # control_command_id
        self.control_index = 0
        self.main_exec_status = ExecStatus()
        self.exec_status: dict[tuple[str, int], ExecStatus] = {}
        self._pending: dict[int, _PendingSpawn] = {}
        self.populated = False  # processes remain in the unit (shell reports UnitEmptied)

        # notify state. # systemd: NotifyState
        self.notify_state = "unknown"  # unknown|ready|reloading|stopping
        self.notify_access_override: NotifyAccess | None = None

        # timers (absolute monotonic µs, None = disarmed)
        self.timer: int | None = None
        self.watchdog_deadline: int | None = None
        self.watchdog_override_usec: int | None = None
        self.watchdog_timestamp = 0
        self.restart_usec_next = 0

        # unit-level timestamps (µs monotonic, 0 = unset). # systemd: unit_notify()
        self.ts: dict[str, int] = {
            "StateChangeTimestampMonotonic": 0,
            "InactiveExitTimestampMonotonic": 0,
            "ActiveEnterTimestampMonotonic": 0,
            "ActiveExitTimestampMonotonic": 0,
            "InactiveEnterTimestampMonotonic": 0,
        }
        # MONITOR_* snapshot taken when this unit was triggered by OnFailure=/OnSuccess=
        # (deviation D2: systemd reads the triggering unit's live values at spawn time)
        self.monitor_env: dict[str, str] | None = None
        self.monitor_env_next: dict[str, str] | None = None
        self.reload_begin_usec = 0

    # ------------------------------------------------------------------ basics

    @property
    def now(self) -> int:
        return self.host.now

    @property
    def active_state(self) -> ActiveState:
        if self.type is ServiceType.IDLE and self.state in _IDLE_ACTIVE:
            return A.ACTIVE
        return SERVICE_ACTIVE_STATE[self.state]

    @property
    def description(self) -> str:
        return self.unit.description

    def status_string(self) -> str:
        """`foo.service - Foo` (StatusUnitFormat=combined). # systemd: unit_status_string()"""
        d = self.unit.unit.description
        return f"{self.name} - {d}" if d and d != self.name else self.name

    def _log(self, message: str, priority: Priority = Priority.INFO) -> None:
        if priority <= self.host.log_level:
            self.host.emit(Log(f"{self.name}: {message}", self.name, priority, self.invocation_id or None))

    def _commands(self, phase: str) -> list[ExecCommand]:
        return getattr(self.cfg, _PHASE_FIELD[phase])

    @property
    def main_pid(self) -> int:
        return self.main.pid if self.main is not None and self.main.alive else 0

    @property
    def control_pid(self) -> int:
        return self.control.pid if self.control is not None and self.control.alive else 0

    def _main_pid_good(self) -> int:
        """1 alive, 0 dead, -1 unknown. # systemd: main_pid_good()"""
        if not self.main_pid_known:
            return -1
        return 1 if self.main is not None and self.main.alive else 0

    def _control_pid_good(self) -> bool:
        return self.control is not None and (self.control.alive or self.control.pid == 0)

    def _cgroup_good(self) -> bool:
        """Processes remain in the unit. # systemd: cgroup_good()"""
        return self.populated or self._main_pid_good() > 0 or self._control_pid_good()

    def _service_good(self) -> bool:
        # systemd: service_good()
        ok = self._main_pid_good()
        if ok > 0:
            return True
        if ok == 0:
            return False
        return self._cgroup_good()

    def pids(self) -> list[int]:
        return [p for p in (self.main_pid, self.control_pid) if p]

    def owns_spawn(self, spawn_id: int) -> bool:
        return spawn_id in self._pending

    # ------------------------------------------------------------------ timers

    def _arm_timer(self, usec: int, *, relative: bool = True) -> None:
        """# systemd: service_arm_timer()"""
        if usec == USEC_INFINITY:
            self.timer = None
            return
        self.timer = self.now + usec if relative else usec

    def next_deadline(self) -> int | None:
        ds = [d for d in (self.timer, self.watchdog_deadline) if d is not None]
        return min(ds) if ds else None

    # ------------------------------------------------------------------ the state writer

    def _set_state(self, state: ServiceState) -> None:
        """The only writer of `state`. # systemd: service_set_state()"""
        old = self.state
        old_active = self.active_state
        self.state = state

        if state not in _KEEP_TIMER:
            self.timer = None
        if state not in _KEEP_MAIN:
            self._unwatch_main()
        if state not in _KEEP_CONTROL:
            self._unwatch_control()
        if state not in _KEEP_WATCHDOG:
            self.watchdog_deadline = None
        if state not in (S.START, S.START_POST):
            self._awaiting_pid_file = None

        if state in (S.DEAD, S.FAILED, S.AUTO_RESTART, S.DEAD_BEFORE_AUTO_RESTART, S.FAILED_BEFORE_AUTO_RESTART):
            self.populated = False  # systemd: unit_unwatch_all_pids()

        if old != state and self.host.log_level >= Priority.DEBUG:
            self._log(f"Changed {old.value} -> {state.value}", Priority.DEBUG)
        self.host.unit_notify(self, old_active, self.active_state, old != state)

    def _unwatch_main(self) -> None:
        # The process may live on (KillMode=process/none); we stop tracking it.
        self.main = None

    def _unwatch_control(self) -> None:
        self.control = None
        self.control_phase = None

    # ------------------------------------------------------------------ spawning

    def _spawn(
        self,
        phase: str,
        index: int,
        *,
        is_main: bool,
        timeout: int,
        on_spawned: Callable[[ExecRun], None],
        on_failed: Callable[[str], None],
    ) -> ExecRun:
        """Ask the shell to start one command. # systemd: service_spawn()"""
        command = self._commands(phase)[index]
        spawn_id = self.host.next_spawn_id()
        run = ExecRun(phase, index, command, is_main, spawn_id)
        run.status.start_usec = self.now
        self._arm_timer(timeout)
        self._pending[spawn_id] = _PendingSpawn(run, on_spawned, on_failed)
        self.host.track_spawn(spawn_id, self)
        self.host.emit(
            Spawn(
                spawn_id=spawn_id,
                unit=self.name,
                command=command,
                phase=phase,
                is_main=is_main,
                invocation_id=self.invocation_id,
                environment=self._spawn_environment(phase, is_main),
                notify_socket=self._needs_notify_socket(is_main),
            )
        )
        return run

    def _needs_notify_socket(self, is_main: bool) -> bool:
        # systemd: service_exec_needs_notify_socket()
        access = self.notify_access_override or self.cfg.effective_notify_access
        if access is NotifyAccess.NONE:
            return False
        return is_main or access in (NotifyAccess.EXEC, NotifyAccess.ALL)

    def _spawn_environment(self, phase: str, is_main: bool) -> dict[str, str]:
        """Variables the manager defines. # spec: service-lifecycle.md §5.4
        # systemd: service_spawn_internal()"""
        env = {"INVOCATION_ID": self.invocation_id}
        if not is_main and self.main_pid:
            env["MAINPID"] = str(self.main_pid)
        if self.cfg.pid_file:
            env["PIDFILE"] = self.cfg.pid_file
        if phase in ("ExecStop", "ExecStopPost"):
            env.update(self._result_env(self, ""))
        if phase in ("ExecStartPre", "ExecStart"):
            env.update(self.host.monitor_environment(self))
        return env

    @staticmethod
    def _result_env(src: Service, prefix: str) -> dict[str, str]:
        """SERVICE_RESULT/EXIT_CODE/EXIT_STATUS (with MONITOR_ prefix for handlers).
        # spec: restart-and-failure.md §7, §8"""
        env = {f"{prefix}SERVICE_RESULT": str(src.result)}
        st = src.main_exec_status
        if st.pid > 0 and st.code:  # the main process has exited
            env[f"{prefix}EXIT_CODE"] = ExitCode(st.code).word
            env[f"{prefix}EXIT_STATUS"] = (
                str(st.status) if st.code == ExitCode.EXITED else signal_name(st.status)
            )
        return env

    def monitor_snapshot(self) -> dict[str, str]:
        """MONITOR_* values describing this unit now. # spec: restart-and-failure.md §7"""
        env = self._result_env(self, "MONITOR_")
        if self.invocation_id:
            env["MONITOR_INVOCATION_ID"] = self.invocation_id
        env["MONITOR_UNIT"] = self.name
        return env

    def on_spawned(self, spawn_id: int, pid: int) -> None:
        pending = self._pending.pop(spawn_id)
        pending.run.status.pid = pid
        self.populated = self.host.cgroup_events
        pending.on_spawned(pending.run)

    def on_spawn_failed(self, spawn_id: int, message: str) -> None:
        pending = self._pending.pop(spawn_id)
        self.timer = None
        pending.on_failed(message)

    def _spawn_failed_log(self, phase: str, message: str, *, next_task: bool = False) -> None:
        what = "next control" if next_task else f"'{_TASK[phase]}'"
        self._log(f"Failed to spawn {what} task: {message}", Priority.WARNING)

    def _set_main(self, run: ExecRun) -> None:
        """# systemd: service_set_main_pidref()"""
        self.main = run
        self.main_pid_known = True
        self.main_pid_alien = False
        self.main_exec_status = ExecStatus(pid=run.pid, start_usec=run.status.start_usec)
        self.exec_status[(run.phase, run.index)] = run.status

    def _set_control(self, run: ExecRun) -> None:
        self.control = run
        self.control_phase = run.phase
        self.control_index = run.index
        self.exec_status[(run.phase, run.index)] = run.status

    def _run_control(
        self, phase: str, index: int, timeout: int, state: ServiceState, on_failed: Callable[[str], None]
    ) -> None:
        def spawned(run: ExecRun) -> None:
            self._set_control(run)
            self._set_state(state)

        self.control_phase = phase
        self._spawn(phase, index, is_main=False, timeout=timeout, on_spawned=spawned, on_failed=on_failed)

    # ------------------------------------------------------------------ requests

    def start(self) -> int:
        """Start request from a job. # systemd: unit_start() → service_can_start(), service_start()

        The start limiter counts before the state checks, so a start that has to wait
        (unit stopping) or hurries up an automatic restart counts once now and once more
        when its job runs again — observed with systemd 257 (tests/data/oracle/d5).
        """
        if not self._test_start_limit():
            self._enter_dead(R.START_LIMIT_HIT, allow_restart=False)
            return ECANCELED
        if self.state in _STOPPING:
            return EAGAIN
        if self.state in _STARTING:
            return NOOP
        if self.state is S.AUTO_RESTART:
            # v254+: a manual start is a "hurry up" for a pending automatic restart
            self._enter_restart(shortcut=True)
            return EAGAIN

        self.invocation_id = self.host.new_invocation_id()
        self.condition_result = True
        self.result = R.SUCCESS
        self.reload_result = R.SUCCESS
        self.main_pid_known = False
        self.main_pid_alien = False
        self.forbid_restart = False
        self.status_text = ""
        self.status_errno = 0
        self.notify_access_override = None
        self.notify_state = "unknown"
        self.watchdog_override_usec = None
        self.exec_status = {}
        self.main_exec_status = ExecStatus()
        self.monitor_env, self.monitor_env_next = self.monitor_env_next, None
        if self.state is not S.AUTO_RESTART_QUEUED:
            # not an automatic restart: flush the counter (v257 decides by state; v252
            # used flush_n_restarts, which missed stops during auto-restart) — observed
            # with systemd-oracle 257, tests/data/oracle/nrestarts-after-stop.json
            self.n_restarts = 0
        self.flush_n_restarts = False
        self._enter_condition()
        return OK

    def _test_start_limit(self) -> bool:
        """# systemd: unit_test_start_limit()"""
        if self.start_limit.below(self.now):
            self.start_limit_hit = False
            return True
        self._log("Start request repeated too quickly.", Priority.WARNING)
        self.start_limit_hit = True
        self.host.emergency_action(
            self, self.unit.unit.start_limit_action, f"unit {self.name} failed", -1, watchdog=True
        )
        return False

    def stop(self) -> int:
        """Stop request from a job. # systemd: service_stop()"""
        self.forbid_restart = True
        if self.state in (S.STOP, S.STOP_SIGTERM, S.STOP_SIGKILL, S.STOP_POST, *_STOPPING[5:]):
            return NOOP
        if self.state in (S.AUTO_RESTART, S.AUTO_RESTART_QUEUED):
            self._set_state(S.DEAD)  # give up the restart; Result stays
            return NOOP
        if self.state in (*_STARTING, *_RELOADING, S.STOP_WATCHDOG):
            self._enter_signal(S.STOP_SIGTERM, R.SUCCESS)
            return NOOP
        if self.state in (S.RUNNING, S.EXITED):
            self._enter_stop(R.SUCCESS)
            return OK
        return EALREADY  # inactive/failed: unit_stop() answers -EALREADY itself

    def can_reload(self) -> bool:
        # systemd: service_can_reload()
        return bool(self.cfg.exec_reload) or self.type is ServiceType.NOTIFY_RELOAD

    def reload(self) -> int:
        """Reload request from a job. # systemd: service_reload()"""
        if self.state not in (S.RUNNING, S.EXITED):
            return EAGAIN if self.state in _STARTING else ENOEXEC
        self._enter_reload()
        return OK

    def reset_failed(self) -> None:
        """`systemctl reset-failed`. # systemd: service_reset_failed(), unit_reset_failed()"""
        if self.state is S.FAILED:
            self._set_state(S.DEAD)
        self.result = R.SUCCESS
        self.reload_result = R.SUCCESS
        self.n_restarts = 0
        self.flush_n_restarts = False
        self.start_limit.reset()
        self.start_limit_hit = False

    def kill(self, signal: int, whom: str) -> str | None:
        """`systemctl kill`: not a stop request. Returns an error text or None.
        # systemd: unit_kill()"""
        pids: list[int] = []
        named: list[tuple[str, int]] = []
        if whom in ("main", "all") and self.main_pid:
            named.append(("main", self.main_pid))
        if whom in ("control", "all") and self.control_pid:
            named.append(("control", self.control_pid))
        pids = [pid for _, pid in named]
        if whom == "main" and not pids:
            return "No main process to kill"
        if whom == "control" and not pids:
            return "No control process to kill"
        if whom == "all" and not pids and not self.populated:
            return "No process to kill"
        for kind, pid in named:
            # observed (systemd 257): tests/data/oracle/diff/term.json
            self._log(f"Sent signal SIG{signal_name(signal)} to {kind} process {pid} ({self._comm(pid)}) "
                      f"on client request.")
        self.host.emit(Kill(self.name, signal, tuple(pids), whole_unit=whom == "all"))
        return None

    # ------------------------------------------------------------------ start path

    def _enter_condition(self) -> None:
        # systemd: service_enter_condition()
        self._unwatch_control()
        if self.cfg.exec_condition:
            self._warn_leftovers(starting=True)
            self._run_control(
                "ExecCondition", 0, self.cfg.effective_timeout_start_usec, S.CONDITION,
                lambda msg: (self._spawn_failed_log("ExecCondition", msg),
                             self._enter_signal(S.STOP_SIGTERM, R.RESOURCES)),
            )
        else:
            self._enter_start_pre()

    def _enter_start_pre(self) -> None:
        # systemd: service_enter_start_pre()
        self._unwatch_control()
        if self.cfg.exec_start_pre:
            self._warn_leftovers(starting=True)
            self._run_control(
                "ExecStartPre", 0, self.cfg.effective_timeout_start_usec, S.START_PRE,
                lambda msg: (self._spawn_failed_log("ExecStartPre", msg),
                             self._enter_signal(S.STOP_SIGTERM, R.RESOURCES)),
            )
        else:
            self._enter_start()

    def _enter_start(self) -> None:
        # systemd: service_enter_start()
        self._unwatch_control()
        self.main = None
        self._warn_leftovers(starting=True)
        if not self.cfg.exec_start:
            if self.type is not ServiceType.ONESHOT:
                self._log("There's no 'start' task anymore we could start.", Priority.ERR)
                self._enter_signal(S.STOP_SIGTERM, R.RESOURCES)
                return
            # a fake transition so SuccessAction= etc. see activating → inactive
            self._set_state(S.START)
            self._enter_start_post()
            return

        if self.type in (ServiceType.SIMPLE, ServiceType.IDLE):
            timeout = USEC_INFINITY  # RuntimeMaxSec= applies later instead
        else:
            timeout = self.cfg.effective_timeout_start_usec
        forking = self.type is ServiceType.FORKING

        def spawned(run: ExecRun) -> None:
            if forking:
                self._set_control(run)
                self._set_state(S.START)
                return
            self.main_command_index = 0
            self._set_main(run)
            if self.type in (ServiceType.SIMPLE, ServiceType.IDLE):
                self._enter_start_post()
            else:  # oneshot, notify, notify-reload, exec (dbus is simple, decision D6)
                # Type=exec leaves `start` on ExecSucceeded (systemd: service_dispatch_exec_io())
                self._set_state(S.START)

        def failed(msg: str) -> None:
            self._spawn_failed_log("ExecStart", msg)
            self._enter_signal(S.STOP_SIGTERM, R.RESOURCES)

        if forking:
            self.control_phase = "ExecStart"
        self._spawn("ExecStart", 0, is_main=not forking, timeout=timeout, on_spawned=spawned, on_failed=failed)

    def _enter_start_post(self) -> None:
        # systemd: service_enter_start_post()
        self._unwatch_control()
        self._reset_watchdog()
        if self.cfg.exec_start_post:
            self._run_control(
                "ExecStartPost", 0, self.cfg.effective_timeout_start_usec, S.START_POST,
                lambda msg: (self._spawn_failed_log("ExecStartPost", msg),
                             self._enter_stop(R.RESOURCES)),
            )
        else:
            self._enter_running(R.SUCCESS)

    def _enter_running(self, f: ServiceResult) -> None:
        # systemd: service_enter_running()
        if self.result is R.SUCCESS:
            self.result = f
        self._unwatch_control()
        if self.result is not R.SUCCESS:
            self._enter_signal(S.STOP_SIGTERM, f)
        elif self._service_good():
            if self.notify_state == "reloading":
                self._enter_reload_by_notify()
            elif self.notify_state == "stopping":
                self._enter_stop_by_notify()
            else:
                self._set_state(S.RUNNING)
                self._arm_timer(self._running_timeout(), relative=False)
        elif self.cfg.remain_after_exit:
            self._set_state(S.EXITED)
        else:
            self._enter_stop(R.SUCCESS)

    def _running_timeout(self) -> int:
        """Absolute RuntimeMaxSec= deadline. # systemd: service_running_timeout()"""
        rmax = self.cfg.runtime_max_usec
        if rmax == USEC_INFINITY or rmax == 0:
            return USEC_INFINITY
        base = self.ts["ActiveEnterTimestampMonotonic"] or self.now
        return base + rmax

    def _run_next_main(self) -> None:
        """Type=oneshot: the next ExecStart= line. # systemd: service_run_next_main()"""
        index = (self.main_command_index or 0) + 1
        self.main = None

        def spawned(run: ExecRun) -> None:
            self.main_command_index = index
            self._set_main(run)

        def failed(msg: str) -> None:
            self._log(f"Failed to spawn next main task: {msg}", Priority.WARNING)
            self._enter_stop(R.RESOURCES)

        self._spawn("ExecStart", index, is_main=True, timeout=self.cfg.effective_timeout_start_usec,
                    on_spawned=spawned, on_failed=failed)

    def _run_next_control(self) -> None:
        """# systemd: service_run_next_control()"""
        phase, index = self.control_phase, self.control_index + 1
        assert phase is not None
        state = self.state
        if state in (*_STARTING, S.RUNNING, S.RELOAD):
            timeout = self.cfg.effective_timeout_start_usec
        else:
            timeout = self.cfg.timeout_stop_usec
        self.control = None

        def spawned(run: ExecRun) -> None:
            self._set_control(run)

        def failed(msg: str) -> None:
            self._spawn_failed_log(phase, msg, next_task=True)
            if state in (S.CONDITION, S.START_PRE, S.START_POST, S.STOP):
                self._enter_signal(S.STOP_SIGTERM, R.RESOURCES)
            elif state is S.STOP_POST:
                self._enter_dead(R.RESOURCES, allow_restart=True)
            elif state is S.RELOAD:
                self.reload_result = R.RESOURCES
                self._enter_running(R.SUCCESS)
            else:
                self._enter_stop(R.RESOURCES)

        self.control_phase = phase
        self._spawn(phase, index, is_main=False, timeout=timeout, on_spawned=spawned, on_failed=failed)

    # ------------------------------------------------------------------ reload

    def _enter_reload(self) -> None:
        # systemd: service_enter_reload()
        self._unwatch_control()
        self.reload_result = R.SUCCESS
        self.reload_begin_usec = self.now
        killed = False
        if self.type is ServiceType.NOTIFY_RELOAD and self.main_pid:
            sig = self.cfg.reload_signal
            self.host.emit(Kill(self.name, sig, (self.main_pid,)))
            if sig not in (SIGCONT, SIGKILL):
                self.host.emit(Kill(self.name, SIGCONT, (self.main_pid,)))
            killed = True
        if self.cfg.exec_reload:
            def failed(msg: str) -> None:
                self._spawn_failed_log("ExecReload", msg)
                self.reload_result = R.RESOURCES
                self._enter_running(R.SUCCESS)

            self._run_control("ExecReload", 0, self.cfg.effective_timeout_start_usec, S.RELOAD, failed)
        elif killed:
            self._arm_timer(self.cfg.effective_timeout_start_usec)
            self._set_state(S.RELOAD_SIGNAL)
        else:
            self._enter_running(R.SUCCESS)

    def _enter_reload_by_notify(self) -> None:
        # systemd: service_enter_reload_by_notify()
        self._arm_timer(self.cfg.effective_timeout_start_usec)
        self._set_state(S.RELOAD_NOTIFY)

    def _enter_stop_by_notify(self) -> None:
        # systemd: service_enter_stop_by_notify()
        self._arm_timer(self.cfg.timeout_stop_usec)
        self._set_state(S.STOP_SIGTERM)

    # ------------------------------------------------------------------ stop path

    def _enter_stop(self, f: ServiceResult) -> None:
        # systemd: service_enter_stop()
        if self.result is R.SUCCESS:
            self.result = f
        self._unwatch_control()
        if self.cfg.exec_stop:
            self._run_control(
                "ExecStop", 0, self.cfg.timeout_stop_usec, S.STOP,
                lambda msg: (self._spawn_failed_log("ExecStop", msg),
                             self._enter_signal(S.STOP_SIGTERM, R.RESOURCES)),
            )
        else:
            self._enter_signal(S.STOP_SIGTERM, R.SUCCESS)

    def _kill_operation(self, state: ServiceState) -> str:
        # systemd: state_to_kill_operation()
        if state in (S.STOP_WATCHDOG, S.FINAL_WATCHDOG):
            return KILL_WATCHDOG
        if state is S.STOP_SIGTERM and self.host.job_type(self.name) is JobType.RESTART:
            return KILL_RESTART
        if state in (S.STOP_SIGTERM, S.FINAL_SIGTERM):
            return KILL_TERMINATE
        return KILL_KILL

    def _kill_context(self, op: str) -> bool:
        """Signal the unit's processes; True if we must wait for them to go.
        # spec: service-lifecycle.md §7   # systemd: unit_kill_context()"""
        cfg = self.cfg
        if cfg.kill_mode is KillMode.NONE:
            return False
        sig = {
            KILL_TERMINATE: cfg.kill_signal,
            KILL_RESTART: cfg.restart_kill_signal if cfg.restart_kill_signal is not None else cfg.kill_signal,
            KILL_KILL: cfg.final_kill_signal,
            KILL_WATCHDOG: cfg.watchdog_signal,
        }[op]
        send_sighup = cfg.send_sighup and op in (KILL_TERMINATE, KILL_RESTART) and sig != SIGHUP
        pids = tuple(self.pids())
        wait = bool(self.main_pid and not self.main_pid_alien) or bool(self.control_pid)
        whole = cfg.kill_mode is KillMode.CONTROL_GROUP or (cfg.kill_mode is KillMode.MIXED and op == KILL_KILL)
        if whole and self.populated:
            wait = True
        if not pids and not (whole and self.populated):
            return wait
        # systemd: operation_to_signal() — only the final kill and the watchdog signal are
        # "noteworthy" and logged per process
        noteworthy = op in (KILL_KILL, KILL_WATCHDOG)
        if noteworthy:
            for pid in pids:
                self._log(f"Killing process {pid} ({self._comm(pid)}) with signal SIG{signal_name(sig)}.",
                          Priority.NOTICE)
        self.host.emit(Kill(self.name, sig, pids, whole_unit=whole, log_others=noteworthy and whole))
        if sig not in (SIGCONT, SIGKILL):
            self.host.emit(Kill(self.name, SIGCONT, pids, whole_unit=whole))
        if send_sighup:
            self.host.emit(Kill(self.name, SIGHUP, pids, whole_unit=whole))
        return wait

    def _warn_leftovers(self, *, starting: bool) -> None:
        # systemd: unit_warn_leftover_processes() — only the shell can see them
        if self.populated or not self.host.cgroup_events:
            self.host.emit(WarnLeftoverProcesses(self.name, starting))

    def _comm(self, pid: int) -> str:
        for run in (self.main, self.control):
            if run is not None and run.pid == pid:
                return run.command.path.rsplit("/", 1)[-1][:15]
        return "n/a"

    def _enter_signal(self, state: ServiceState, f: ServiceResult) -> None:
        """KillSignal/FinalKillSignal/WatchdogSignal step; skipped when nothing is left.
        # systemd: service_enter_signal()"""
        if self.result is R.SUCCESS:
            self.result = f
        op = self._kill_operation(state)
        if self._kill_context(op):
            self._arm_timer(
                self.cfg.effective_timeout_abort_usec if op == KILL_WATCHDOG else self.cfg.timeout_stop_usec
            )
            self._set_state(state)
        elif state in (S.STOP_WATCHDOG, S.STOP_SIGTERM) and self.cfg.send_sigkill:
            self._enter_signal(S.STOP_SIGKILL, R.SUCCESS)
        elif state in (S.STOP_WATCHDOG, S.STOP_SIGTERM, S.STOP_SIGKILL):
            self._enter_stop_post(R.SUCCESS)
        elif state in (S.FINAL_WATCHDOG, S.FINAL_SIGTERM) and self.cfg.send_sigkill:
            self._enter_signal(S.FINAL_SIGKILL, R.SUCCESS)
        else:
            self._enter_dead(R.SUCCESS, allow_restart=True)

    def _enter_stop_post(self, f: ServiceResult) -> None:
        # systemd: service_enter_stop_post()
        if self.result is R.SUCCESS:
            self.result = f
        self._unwatch_control()
        if self.cfg.exec_stop_post:
            self._run_control(
                "ExecStopPost", 0, self.cfg.timeout_stop_usec, S.STOP_POST,
                lambda msg: (self._spawn_failed_log("ExecStopPost", msg),
                             self._enter_signal(S.FINAL_SIGTERM, R.RESOURCES)),
            )
        else:
            self._enter_signal(S.FINAL_SIGTERM, R.SUCCESS)

    def _enter_dead(self, f: ServiceResult, *, allow_restart: bool) -> None:
        """End of a run: decide dead/failed and whether to restart.
        # spec: restart-and-failure.md §2.3, §2.4   # systemd: service_enter_dead()"""
        if self.host.job_type(self.name) is JobType.STOP:
            allow_restart = False
        if self.result is R.SUCCESS:
            self.result = f
        if self.result is R.SUCCESS:
            self._log("Deactivated successfully.")
            end_state, restart_state = S.DEAD, S.DEAD_BEFORE_AUTO_RESTART
        elif self.result is R.EXEC_CONDITION:
            self._log(f"Skipped due to '{self.result}'.")
            end_state, restart_state = S.DEAD, S.DEAD_BEFORE_AUTO_RESTART
        else:
            self._log(f"Failed with result '{self.result}'.", Priority.WARNING)
            end_state, restart_state = S.FAILED, S.FAILED_BEFORE_AUTO_RESTART
        self._warn_leftovers(starting=False)

        if not allow_restart:
            self._log("Service restart not allowed.", Priority.DEBUG)
        else:
            allow_restart, why = shall_restart(
                self.cfg, self.result, self.main_exec_status.code, self.main_exec_status.status,
                forbid_restart=self.forbid_restart,
            )
            if self.host.log_level >= Priority.DEBUG:
                self._log(f"Service will {'' if allow_restart else 'not '}restart ({why})", Priority.DEBUG)

        self.forbid_restart = False
        self.notify_access_override = None
        if allow_restart:
            if self.cfg.restart_mode is not RestartMode.DIRECT:
                self._set_state(restart_state)
            self.restart_usec_next = restart_delay(self.cfg, self.n_restarts + 1)
            self._arm_timer(self.restart_usec_next)
            self._set_state(S.AUTO_RESTART)
        else:
            self.flush_n_restarts = True  # keep NRestarts visible until the next start
            self._set_state(end_state)

    def _enter_restart(self, *, shortcut: bool) -> None:
        """Queue the restart job. # spec: restart-and-failure.md §2.4
        # systemd: service_enter_restart()"""
        if self.host.job_type(self.name) is JobType.STOP:
            self._log("Stop job pending for unit, skipping automatic restart.")
            return
        self.timer = None
        error = self.host.enqueue_restart_job(self)
        if error:
            self._log(f"Failed to schedule restart job: {error}", Priority.WARNING)
            self._enter_dead(R.RESOURCES, allow_restart=False)
            return
        self.n_restarts += 1
        self.flush_n_restarts = False
        self.notify_access_override = None
        immediately = " immediately on client request" if shortcut else ""
        self._log(f"Scheduled restart job{immediately}, restart counter is at {self.n_restarts}.")
        self._set_state(S.AUTO_RESTART_QUEUED)

    # ------------------------------------------------------------------ process exits

    def on_process_exited(self, pid: int, code: ExitCode, status: int) -> bool:
        """SIGCHLD for one of our processes; False if the pid is not ours.
        # systemd: service_sigchld_event()"""
        is_main = self.main is not None and self.main.pid == pid and self.main.alive
        is_control = self.control is not None and self.control.pid == pid and self.control.alive
        if not (is_main or is_control):
            return False
        daemon = not (self.type is ServiceType.ONESHOT or (is_control and self.control_phase != "ExecStart"))
        f = result_of_exit(code, status, daemon=daemon, success=self.cfg.success_exit_status)
        if is_main:
            self._on_main_exited(code, status, f)
        else:
            self._on_control_exited(code, status, f)
        return True

    def _record_exit(self, run: ExecRun, code: ExitCode, status: int) -> None:
        run.status.exit_usec = self.now
        run.status.code = int(code)
        run.status.status = status

    def _log_process_exit(self, kind: str, success: bool, code: ExitCode, status: int) -> None:
        # systemd: unit_log_process_exit()
        if success:
            prio = Priority.DEBUG
        elif code == ExitCode.EXITED:
            prio = Priority.NOTICE
        else:
            prio = Priority.WARNING
        tail = " (success)" if success else ""
        self._log(f"{kind} exited, code={ExitCode(code).word}, status={status_text(code, status)}{tail}", prio)

    def _on_main_exited(self, code: ExitCode, status: int, f: ServiceResult) -> None:
        run = self.main
        assert run is not None
        self._record_exit(run, code, status)
        st = self.main_exec_status
        st.pid, st.exit_usec, st.code, st.status = run.pid, self.now, int(code), status
        if run.command.ignore_failure:
            f = R.SUCCESS
        self._log_process_exit("Main process", f is R.SUCCESS, code, status)
        if self.result is R.SUCCESS:
            self.result = f

        more = self.cfg.exec_start[(self.main_command_index or 0) + 1:] if run.phase == "ExecStart" else []
        if more and self.type is ServiceType.ONESHOT and f is R.SUCCESS:
            self._run_next_main()
            return

        state = self.state
        if state in (S.START_POST, *_RELOADING):
            if not self._control_pid_good():
                self._enter_stop(f)
        elif state is S.STOP:
            pass  # wait for ExecStop= to finish
        elif state is S.START and self.type is ServiceType.ONESHOT:
            if f is R.SUCCESS:
                self._enter_start_post()
            else:
                self._enter_signal(S.STOP_SIGTERM, f)
        elif state is S.START and self.type in (ServiceType.NOTIFY, ServiceType.NOTIFY_RELOAD):
            if f is not R.SUCCESS:
                self._enter_signal(S.STOP_SIGTERM, f)
            elif not self.cfg.remain_after_exit or self._notify_access() is NotifyAccess.MAIN:
                self._enter_signal(S.STOP_SIGTERM, R.PROTOCOL)
        elif state in (S.START, S.RUNNING):
            self._enter_running(f)
        elif state in (S.STOP_WATCHDOG, S.STOP_SIGTERM, S.STOP_SIGKILL):
            if not self._control_pid_good():
                self._enter_stop_post(f)
        elif state is S.STOP_POST:
            if not self._control_pid_good():
                self._enter_signal(S.FINAL_SIGTERM, f)
        elif state in (S.FINAL_WATCHDOG, S.FINAL_SIGTERM, S.FINAL_SIGKILL):
            if not self._control_pid_good():
                self._enter_dead(f, allow_restart=True)

    def _on_control_exited(self, code: ExitCode, status: int, f: ServiceResult) -> None:
        run = self.control
        assert run is not None
        self._record_exit(run, code, status)
        if run.command.ignore_failure:
            f = R.SUCCESS
        if self.state is S.CONDITION:
            # ExecCondition= exit 1..254 skips the unit instead of failing it
            if f is R.EXIT_CODE and status < 255:
                self.condition_result = False
                f = R.EXEC_CONDITION
                success = True
            elif f is R.SUCCESS:
                self.condition_result = True
                success = True
            else:
                success = False
            kind = "Condition check process"
        else:
            kind = "Control process"
            success = f is R.SUCCESS
        self._log_process_exit(kind, success, code, status)
        if self.state not in _RELOADING and self.result is R.SUCCESS:
            self.result = f

        phase = run.phase
        if f is R.SUCCESS and run.index + 1 < len(self._commands(phase)) and phase != "ExecStart":
            self._run_next_control()
            return
        self.control = None
        self.control_phase = None

        state = self.state
        if state is S.CONDITION:
            if f is R.SUCCESS:
                self._enter_start_pre()
            else:
                self._enter_signal(S.STOP_SIGTERM, f)
        elif state is S.START_PRE:
            if f is R.SUCCESS:
                self._enter_start()
            else:
                self._enter_signal(S.STOP_SIGTERM, f)
        elif state is S.START:
            if self.type is not ServiceType.FORKING:
                return
            if f is not R.SUCCESS:
                self._enter_signal(S.STOP_SIGTERM, f)
                return
            self._forking_parent_done()
        elif state is S.START_POST:
            if f is not R.SUCCESS:
                self._enter_signal(S.STOP_SIGTERM, f)
                return
            if self.type is ServiceType.FORKING and self.cfg.pid_file and not self.main_pid_known:
                self._awaiting_pid_file = "start-post"
                self.host.emit(ReadPidFile(self.name, self.cfg.pid_file))
                return
            self._enter_running(R.SUCCESS)
        elif state is S.RELOAD:
            self.reload_result = f
            if self.notify_state == "reloading":
                self._set_state(S.RELOAD_NOTIFY)
            else:
                self._enter_running(R.SUCCESS)
        elif state is S.STOP:
            self._enter_signal(S.STOP_SIGTERM, f)
        elif state in (S.STOP_WATCHDOG, S.STOP_SIGTERM, S.STOP_SIGKILL):
            if self._main_pid_good() <= 0:
                self._enter_stop_post(f)
        elif state is S.STOP_POST:
            if self._main_pid_good() <= 0:
                self._enter_signal(S.FINAL_SIGTERM, f)
        elif state in (S.FINAL_WATCHDOG, S.FINAL_SIGTERM, S.FINAL_SIGKILL):
            if self._main_pid_good() <= 0:
                self._enter_dead(f, allow_restart=True)

    # ------------------------------------------------------------------ Type=exec, Type=forking

    def on_exec_succeeded(self, pid: int) -> None:
        """execve() of `pid` succeeded. # systemd: service_dispatch_exec_io()"""
        if self.type is ServiceType.EXEC and self.state is S.START and pid == self.main_pid:
            self._enter_start_post()

    # which step waits for the shell's PidFileRead: "start" (forking parent exited) or
    # "start-post" (ExecStartPost= done, PIDFile= still unread)
    _awaiting_pid_file: str | None = None

    def _forking_parent_done(self) -> None:
        """The forking parent exited successfully: find the daemon's pid.
        # systemd: service_sigchld_event() SERVICE_START case for Type=forking"""
        if self.cfg.pid_file or self.cfg.guess_main_pid:
            self._awaiting_pid_file = "start"
            self.host.emit(ReadPidFile(self.name, self.cfg.pid_file))
            return
        self._enter_start_post()

    def on_pid_file_read(self, pid: int | None) -> None:
        """The shell read PIDFile= (or guessed the main pid). # systemd: service_load_pid_file(),
        service_demand_pid_file(), service_search_main_pid()"""
        stage = self._awaiting_pid_file
        if stage is None:
            return
        if pid is not None and pid > 0:
            if pid == self.control_pid:
                self._log(f"New main PID {pid} is the control process, refusing.", Priority.WARNING)
                pid = None
            else:
                self.adopt_main_pid(pid)
        guessing = not self.cfg.pid_file
        if stage == "start":
            if pid is None and not guessing and not self.cfg.exec_start_post:
                if not self._cgroup_good():
                    self._awaiting_pid_file = None
                    self._log("Daemon never wrote its PID file. Failing.", Priority.WARNING)
                    self._enter_signal(S.STOP_SIGTERM, R.PROTOCOL)
                return  # keep waiting: the shell re-sends PidFileRead when the file appears
            self._awaiting_pid_file = None
            self._enter_start_post()
        elif stage == "start-post":
            if pid is None:
                if not self._cgroup_good():
                    self._awaiting_pid_file = None
                    self._log("Daemon never wrote its PID file. Failing.", Priority.WARNING)
                    self._enter_stop(R.PROTOCOL)
                return
            self._awaiting_pid_file = None
            self._enter_running(R.SUCCESS)

    def adopt_main_pid(self, pid: int) -> None:
        """MAINPID= / PIDFile=: a process we did not spawn becomes the main process.
        # systemd: service_set_main_pidref()"""
        run = ExecRun("ExecStart", 0, self.cfg.exec_start[0] if self.cfg.exec_start else ExecCommand("", ()),
                      True, 0)
        run.status.pid = pid
        run.status.start_usec = self.now
        self.main = run
        self.main_pid_known = True
        # The shell is a child subreaper (ARCHITECTURE.md), so every descendant is reaped
        # by us and reported: like daemons reparented to PID 1, it is never "alien".
        self.main_pid_alien = False
        self.main_exec_status = ExecStatus(pid=pid, start_usec=self.now)
        self.host.track_pid(self, pid)

    def on_unit_emptied(self) -> None:
        """The unit's cgroup/process group is empty. # systemd: service_notify_cgroup_empty_event()"""
        self.populated = False
        state = self.state
        if state is S.START and self.type in (ServiceType.NOTIFY, ServiceType.NOTIFY_RELOAD):
            if self._main_pid_good() <= 0 and not self._control_pid_good():
                self._enter_stop_post(R.PROTOCOL)
                return
        if state in (S.START, S.START_POST) and self._awaiting_pid_file:
            if self._main_pid_good() <= 0 and not self._control_pid_good():
                self._awaiting_pid_file = None
                self._log("Daemon never wrote its PID file. Failing.", Priority.WARNING)
                if state is S.START:
                    self._enter_signal(S.STOP_SIGTERM, R.PROTOCOL)
                else:
                    self._enter_stop(R.PROTOCOL)
        elif state is S.RUNNING:
            if self._main_pid_good() < 0:
                self._enter_running(R.SUCCESS)
        elif state in (S.STOP_WATCHDOG, S.STOP_SIGTERM, S.STOP_SIGKILL):
            if self._main_pid_good() <= 0 and not self._control_pid_good():
                self._enter_stop_post(R.SUCCESS)
        elif state in (S.STOP_POST, S.FINAL_WATCHDOG, S.FINAL_SIGTERM, S.FINAL_SIGKILL):
            if self._main_pid_good() <= 0 and not self._control_pid_good():
                self._enter_dead(R.SUCCESS, allow_restart=True)

    # ------------------------------------------------------------------ timers

    def on_time_passed(self) -> None:
        """Fire whichever of our timers is due (watchdog first: it is the older deadline)."""
        now = self.now
        if self.watchdog_deadline is not None and self.watchdog_deadline <= now:
            self.watchdog_deadline = None
            self._on_watchdog()
        if self.timer is not None and self.timer <= now:
            self.timer = None
            self._on_timer()

    def _on_timer(self) -> None:
        """# spec: service-lifecycle.md §4   # systemd: service_dispatch_timer()"""
        state, cfg = self.state, self.cfg
        warn = Priority.WARNING
        if state in _STARTING:
            mode = cfg.timeout_start_failure_mode
            if mode is TimeoutFailureMode.TERMINATE:
                self._log(f"{state} operation timed out. Terminating.", warn)
                self._enter_signal(S.STOP_SIGTERM, R.TIMEOUT)
            elif mode is TimeoutFailureMode.ABORT:
                self._log(f"{state} operation timed out. Aborting.", warn)
                self._enter_signal(S.STOP_WATCHDOG, R.TIMEOUT)
            elif cfg.send_sigkill:
                self._log(f"{state} operation timed out. Killing.", warn)
                self._enter_signal(S.STOP_SIGKILL, R.TIMEOUT)
            else:
                self._log(f"{state} operation timed out. Skipping SIGKILL.", warn)
                self._enter_stop_post(R.TIMEOUT)
        elif state is S.RUNNING:
            self._log("Service reached runtime time limit. Stopping.", warn)
            self._enter_stop(R.TIMEOUT)
        elif state in _RELOADING:
            self._log("Reload operation timed out. Killing reload process.", warn)
            if self.control_pid:
                self.host.emit(Kill(self.name, cfg.kill_signal, (self.control_pid,)))
            self.reload_result = R.TIMEOUT
            self._enter_running(R.SUCCESS)
        elif state is S.STOP:
            mode = cfg.timeout_stop_failure_mode
            if mode is TimeoutFailureMode.TERMINATE:
                self._log("Stopping timed out. Terminating.", warn)
                self._enter_signal(S.STOP_SIGTERM, R.TIMEOUT)
            elif mode is TimeoutFailureMode.ABORT:
                self._log("Stopping timed out. Aborting.", warn)
                self._enter_signal(S.STOP_WATCHDOG, R.TIMEOUT)
            elif cfg.send_sigkill:
                self._log("Stopping timed out. Killing.", warn)
                self._enter_signal(S.STOP_SIGKILL, R.TIMEOUT)
            else:
                self._log("Stopping timed out. Skipping SIGKILL.", warn)
                self._enter_stop_post(R.TIMEOUT)
        elif state is S.STOP_WATCHDOG:
            if cfg.send_sigkill:
                self._log("State 'stop-watchdog' timed out. Killing.", warn)
                self._enter_signal(S.STOP_SIGKILL, R.TIMEOUT)
            else:
                self._log("State 'stop-watchdog' timed out. Skipping SIGKILL.", warn)
                self._enter_stop_post(R.TIMEOUT)
        elif state is S.STOP_SIGTERM:
            if cfg.timeout_stop_failure_mode is TimeoutFailureMode.ABORT:
                self._log("State 'stop-sigterm' timed out. Aborting.", warn)
                self._enter_signal(S.STOP_WATCHDOG, R.TIMEOUT)
            elif cfg.send_sigkill:
                self._log("State 'stop-sigterm' timed out. Killing.", warn)
                self._enter_signal(S.STOP_SIGKILL, R.TIMEOUT)
            else:
                self._log("State 'stop-sigterm' timed out. Skipping SIGKILL.", warn)
                self._enter_stop_post(R.TIMEOUT)
        elif state is S.STOP_SIGKILL:
            self._log("Processes still around after SIGKILL. Ignoring.", warn)
            self._enter_stop_post(R.TIMEOUT)
        elif state is S.STOP_POST:
            mode = cfg.timeout_stop_failure_mode
            if mode is TimeoutFailureMode.TERMINATE:
                self._log("State 'stop-post' timed out. Terminating.", warn)
                self._enter_signal(S.FINAL_SIGTERM, R.TIMEOUT)
            elif mode is TimeoutFailureMode.ABORT:
                self._log("State 'stop-post' timed out. Aborting.", warn)
                self._enter_signal(S.FINAL_WATCHDOG, R.TIMEOUT)
            elif cfg.send_sigkill:
                self._log("State 'stop-post' timed out. Killing.", warn)
                self._enter_signal(S.FINAL_SIGKILL, R.TIMEOUT)
            else:
                self._log("State 'stop-post' timed out. Skipping SIGKILL. Entering failed mode.", warn)
                self._enter_dead(R.TIMEOUT, allow_restart=False)
        elif state is S.FINAL_WATCHDOG:
            if cfg.send_sigkill:
                self._log("State 'final-watchdog' timed out. Killing.", warn)
                self._enter_signal(S.FINAL_SIGKILL, R.TIMEOUT)
            else:
                self._log("State 'final-watchdog' timed out. Skipping SIGKILL. Entering failed mode.", warn)
                self._enter_dead(R.TIMEOUT, allow_restart=False)
        elif state is S.FINAL_SIGTERM:
            if cfg.timeout_stop_failure_mode is TimeoutFailureMode.ABORT:
                self._log("State 'final-sigterm' timed out. Aborting.", warn)
                self._enter_signal(S.FINAL_WATCHDOG, R.TIMEOUT)
            elif cfg.send_sigkill:
                self._log("State 'final-sigterm' timed out. Killing.", warn)
                self._enter_signal(S.FINAL_SIGKILL, R.TIMEOUT)
            else:
                self._log("State 'final-sigterm' timed out. Skipping SIGKILL. Entering failed mode.", warn)
                self._enter_dead(R.TIMEOUT, allow_restart=False)
        elif state is S.FINAL_SIGKILL:
            self._log("Processes still around after final SIGKILL. Entering failed mode.", warn)
            self._enter_dead(R.TIMEOUT, allow_restart=True)
        elif state is S.AUTO_RESTART:
            if cfg.restart_usec > 0:
                self._log("Service restart interval expired, scheduling restart.", Priority.DEBUG)
            else:
                self._log("Service has no hold-off time (RestartSec=0), scheduling restart.", Priority.DEBUG)
            self._enter_restart(shortcut=False)

    # ------------------------------------------------------------------ watchdog & notify

    def _watchdog_usec(self) -> int:
        if self.watchdog_override_usec is not None:
            return self.watchdog_override_usec
        return self.cfg.watchdog_usec

    def _reset_watchdog(self) -> None:
        """# systemd: service_reset_watchdog()"""
        self.watchdog_timestamp = self.now
        usec = self._watchdog_usec()
        self.watchdog_deadline = None if usec in (0, USEC_INFINITY) else self.now + usec

    def _on_watchdog(self) -> None:
        """# spec: notify-and-watchdog.md §4   # systemd: service_dispatch_watchdog()"""
        usec = self._watchdog_usec()
        limit = self.host.format_timespan(usec)
        if not self.host.service_watchdogs:
            self._log(f"Watchdog disabled! Ignoring watchdog timeout (limit {limit})!", Priority.WARNING)
            return
        self._log(f"Watchdog timeout (limit {limit})!", Priority.ERR)
        self._enter_signal(S.STOP_WATCHDOG, R.WATCHDOG)

    def _notify_access(self) -> NotifyAccess:
        return self.notify_access_override or self.cfg.effective_notify_access

    def on_notify(self, pid: int, fields: dict[str, str]) -> None:
        """An sd_notify datagram. Phase 2 fills this in (notify.py)."""
        from sysvisor.core.notify import handle_notify

        handle_notify(self, pid, fields)

    # ------------------------------------------------------------------ introspection

    def exec_command_records(self) -> list[dict]:
        """Every configured Exec* command with the status of its last run."""
        out = []
        for phase in PHASES:
            for i, cmd in enumerate(self._commands(phase)):
                st = self.exec_status.get((phase, i), ExecStatus())
                out.append(
                    {
                        "phase": phase,
                        "index": i,
                        "path": cmd.path,
                        "argv": list(cmd.argv),
                        "ignore_errors": cmd.ignore_failure,
                        **st.as_dict(),
                    }
                )
        return out
