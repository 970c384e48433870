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

from typing import TYPE_CHECKING, Callable

from sysvisor.core.actions import Kill, Log, Spawn, WarnLeftoverProcesses
from sysvisor.core.command import PHASE_FIELD, PHASES, TASK_NAME, ExecRun, ExecStatus, PendingSpawn
from sysvisor.core import kill as kill_mod
from sysvisor.core import mainpid as mainpid_mod
from sysvisor.core import sigchld as sigchld_mod
from sysvisor.core.exit_status import SIGCONT, SIGKILL, signal_name
from sysvisor.core.kill import KILL_WATCHDOG
from sysvisor.core.ratelimit import StartLimit
from sysvisor.core.restart import restart_delay, shall_restart
from sysvisor.core.timeout import dispatch_timer
from sysvisor.core.types import (
    SERVICE_ACTIVE_STATE,
    USEC_INFINITY,
    ActiveState,
    ExitCode,
    JobType,
    NotifyAccess,
    Priority,
    RestartMode,
    ServiceResult,
    ServiceState,
    ServiceType,
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
        self.condition_result = False  # ConditionResult=no until a start checked them
        self.assert_result = False
        self.condition_timestamp = 0
        self.assert_timestamp = 0
        self.condition_evaluation = None  # core/condition.py Evaluation of the last check
        self.assert_evaluation = None

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
        self._pending: dict[int, PendingSpawn] = {}
        self.populated = False  # processes remain in the unit (shell reports UnitEmptied)

        # notify state. # systemd: NotifyState
        self.notify_state = "unknown"  # unknown|ready|reloading|stopping
        self.notify_access_override: NotifyAccess | None = None

        # timers (absolute monotonic µs, None = disarmed); properties below keep the
        # manager's deadline index current whoever writes them
        self._timer: int | None = None
        self._watchdog_deadline: int | None = None
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
        self.debug_invocation = False  # RestartMode=debug: this restart flow runs with debugging

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
        return getattr(self.cfg, PHASE_FIELD[phase])

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

    @property
    def timer(self) -> int | None:
        """The unit timer (systemd: timer_event_source), absolute µs or None."""
        return self._timer

    @timer.setter
    def timer(self, value: int | None) -> None:
        self._timer = value
        self.host.deadline_changed(self)

    @property
    def watchdog_deadline(self) -> int | None:
        return self._watchdog_deadline

    @watchdog_deadline.setter
    def watchdog_deadline(self, value: int | None) -> None:
        self._watchdog_deadline = value
        self.host.deadline_changed(self)

    def _arm_timer(self, usec: int, *, relative: bool = True) -> None:
        """# systemd: service_arm_timer()"""
        if usec == USEC_INFINITY:
            self.timer = None
            return
        self.timer = self.now + usec if relative else usec

    def next_deadline(self) -> int | None:
        t, w = self._timer, self._watchdog_deadline
        if t is None:
            return w
        return t if w is None or t < w else w

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
        self._pending[spawn_id] = PendingSpawn(run, on_spawned, on_failed)
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
        if self.debug_invocation:
            env["DEBUG_INVOCATION"] = "1"  # v257 RestartMode=debug
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
        what = "next control" if next_task else f"'{TASK_NAME[phase]}'"
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
            self.debug_invocation = False
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
        if self.state in (S.STOP, S.STOP_SIGTERM, S.STOP_SIGKILL, S.STOP_POST,
                          S.FINAL_WATCHDOG, S.FINAL_SIGTERM, S.FINAL_SIGKILL):
            return NOOP  # already on it
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
        return kill_mod.kill_operation(self, state)

    def _kill_context(self, op: str) -> bool:
        return kill_mod.kill_context(self, op)

    def _warn_leftovers(self, *, starting: bool) -> None:
        # systemd: unit_warn_leftover_processes() — only the shell can see them
        if self.populated or not self.host.cgroup_events:
            self.host.emit(WarnLeftoverProcesses(self.name, starting))

    def _comm(self, pid: int) -> str:
        return kill_mod.comm(self, pid)

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
            if self.cfg.restart_mode is RestartMode.DEBUG:
                self.debug_invocation = True  # systemd v257: following attempts log at debug level
            if self.cfg.restart_mode is not RestartMode.DIRECT:
                self._set_state(restart_state)
            self.restart_usec_next = restart_delay(self.cfg, self.n_restarts + 1)
            self._arm_timer(self.restart_usec_next)
            self._set_state(S.AUTO_RESTART)
        else:
            self.flush_n_restarts = True  # keep NRestarts visible until the next start
            self.debug_invocation = False
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
        return sigchld_mod.on_process_exited(self, pid, code, status)

    # ------------------------------------------------------------------ Type=exec, Type=forking

    def on_exec_succeeded(self, pid: int) -> None:
        mainpid_mod.on_exec_succeeded(self, pid)

    # which step waits for the shell's PidFileRead: "start" (forking parent exited) or
    # "start-post" (ExecStartPost= done, PIDFile= still unread)
    _awaiting_pid_file: str | None = None

    def on_pid_file_read(self, pid: int | None) -> None:
        mainpid_mod.on_pid_file_read(self, pid)

    def adopt_main_pid(self, pid: int) -> None:
        mainpid_mod.adopt_main_pid(self, pid)

    def on_unit_emptied(self) -> None:
        mainpid_mod.on_unit_emptied(self)

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
        dispatch_timer(self)

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
