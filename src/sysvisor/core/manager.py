"""The manager: routes facts to units, runs jobs, and answers with actions.

`Manager.handle(event, now)` is the engine's only entry point. It is pure: no I/O, no
clock — `now` (monotonic µs) comes in with every event. Within one call it
  1. dispatches the event to the unit it concerns,
  2. drains the job run queue and then the dependency checks (jobs enqueued by step 1 run
     now, as systemd's run queue does before the next event; core/job_runner.py), and
  3. ends the manager once a shutdown has stopped everything.
Units: services (core/service.py), timers (core/timer.py), targets (core/target.py); the
standard targets exist built in where no file provides them (core/deps.py). Every job request
— client verbs, OnFailure=/OnSuccess= handlers, automatic restarts, timer elapses, retroactive
dependency effects — is a transaction over the dependency graph (core/transaction.py).
Unit-level effects of a state change (timestamps, job completion, dependency consequences,
OnFailure=/OnSuccess=, FailureAction=/SuccessAction=) live in `unit_notify()`, a port of
systemd's unit_notify().

Deliberate deviations from systemd 257:
  * D2 — MONITOR_* for OnFailure=/OnSuccess= handlers are a snapshot of the failing unit taken
    when the handler's start job is enqueued; systemd reads the live values when the handler
    spawns, so a handler that starts after the failing unit restarted sees the new run there.
    A handler started by other means still gets live values (as in systemd).
  * Units are never garbage-collected: systemd unloads an unreferenced inactive unit, after
    which `show` reports Result=success, NRestarts=0 and a fresh start limiter
    (tests/data/oracle/hurry-up-and-gc.json). sysvisor keeps the last run's values.
  * Shutdown (SIGTERM, `exit`, `poweroff`, FailureAction=exit …) is one irreversible
    transaction: start shutdown.target and stop every other unit, so units stop in reverse
    dependency order (A After=B: A stops first), independent ones in parallel, then the
    manager exits. systemd gets there through poweroff.target/exit.target →
    systemd-poweroff.service/systemd-exit.service, which sysvisor does not have; units with
    DefaultDependencies=no and IgnoreOnIsolate=yes are stopped too (systemd would leave
    those running until its final kill).
  * Which job of an ordering cycle is deleted follows the order jobs were added (systemd walks
    a hash map, so its choice varies from boot to boot; tests/data/oracle/deps/ordering-cycle).
  * Unit types other than service, timer and target (socket, path, mount …) load but have no
    runtime: a job for one is "not applicable" (a Requires= on one is ignored).
# spec: restart-and-failure.md §7, §9, §10; dependencies-and-jobs.md; ARCHITECTURE.md
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Mapping

from sysvisor.core import events as ev
from sysvisor.core.actions import (
    Action,
    ExitManager,
    Log,
    RequestFailed,
    RunEmergencyAction,
    StateChanged,
)
from sysvisor.core.condition import Facts
from sysvisor.core.deps import DEFAULT_TARGET, SHUTDOWN_TARGET, build_graph
from sysvisor.core.id128 import format_v4
from sysvisor.core.job import Job, JobTable
from sysvisor.core.job_runner import JobRunnerMixin, UnitNotFoundError, UnitTable
from sysvisor.core.ratelimit import StartLimit
from sysvisor.core.restart import restart_delay
from sysvisor.core.service import Service
from sysvisor.core.target import Target
from sysvisor.core.timer_host import TimerHostMixin
from sysvisor.core.timer_table import TimerTable
from sysvisor.core.timespan import format_timespan
from sysvisor.core.transaction import PlanCache, Transaction, TransactionError
from sysvisor.core.types import (
    ACTIVE_OR_RELOADING,
    INACTIVE_OR_FAILED,
    ActiveState,
    EmergencyAction,
    ExitCode,
    JobMode,
    JobType,
    LoadState,
    Priority,
    RestartMode,
    ServiceResult,
    ServiceState,
)
from sysvisor.core.units import (
    DEFAULT_RESTART_USEC,
    DEFAULT_START_LIMIT_BURST,
    DEFAULT_START_LIMIT_INTERVAL_USEC,
    DEFAULT_TIMEOUT_STOP_USEC,
    Unit,
)

A = ActiveState

# systemd: emergency-action.c — the verb logged before acting
_EMERGENCY_VERB = {
    EmergencyAction.REBOOT: "Rebooting",
    EmergencyAction.REBOOT_FORCE: "Forcibly rebooting",
    EmergencyAction.REBOOT_IMMEDIATE: "Rebooting immediately",
    EmergencyAction.POWEROFF: "Powering off",
    EmergencyAction.POWEROFF_FORCE: "Forcibly powering off",
    EmergencyAction.POWEROFF_IMMEDIATE: "Powering off immediately",
    EmergencyAction.HALT: "Halting",
    EmergencyAction.HALT_FORCE: "Forcibly halting",
    EmergencyAction.HALT_IMMEDIATE: "Halting immediately",
    EmergencyAction.KEXEC: "Rebooting via kexec",
    EmergencyAction.KEXEC_FORCE: "Forcibly rebooting via kexec",
    EmergencyAction.SOFT_REBOOT: "Soft-rebooting",
    EmergencyAction.SOFT_REBOOT_FORCE: "Forcibly soft-rebooting",
    EmergencyAction.EXIT: "Exiting",
    EmergencyAction.EXIT_FORCE: "Forcibly exiting",
}


class Manager(JobRunnerMixin, TimerHostMixin):
    """The pure engine. # spec: ARCHITECTURE.md "The state machine"

    `units`: loaded units by name (non-service units are kept for lookups but not run yet).
    Manager defaults (systemd-system.conf) replace a unit's value only where the unit still
    holds the compiled-in default — the parser does not record "explicitly set"; keep the
    parser's defaults in sync with these for exactness.
    `seed`: seeds the invocation-ID generator (deterministic in tests; the shell passes a
    random seed). `cgroup_events`: the shell reports `UnitEmptied`, so the stop sequence
    waits for leftover processes; without it only main/control processes are waited for.
    `service_watchdogs`: `systemctl service-watchdogs`. `log_level`: `Log` actions less
    important than this are not produced at all (saves work; debug lines are many).
    `condition_facts`: what Condition*=/Assert*= may ask about the host (core/condition.py
    `Facts`, filled in by the shell); without it they are not checked at all.
    `wants_dirs`/`requires_dirs`/`upholds_dirs`: target → units named by its `.wants/` …
    folder where no unit file of that target was loaded (the loader adds them to loaded
    units itself); `default_target`: what default.target is when no file provides it;
    `user_manager`: a user manager's default dependencies. The standard targets are added to
    `units` where no file provides them (core/deps.py `builtin_targets`).
    """

    def __init__(
        self,
        units: dict[str, Unit],
        *,
        default_restart_usec: int | None = None,
        default_timeout_stop_usec: int | None = None,
        default_start_limit_interval_usec: int | None = None,
        default_start_limit_burst: int | None = None,
        seed: int = 0,
        cgroup_events: bool = False,
        service_watchdogs: bool = True,
        log_level: Priority = Priority.DEBUG,
        condition_facts: Facts | None = None,
        wants_dirs: Mapping[str, Iterable[str]] | None = None,
        requires_dirs: Mapping[str, Iterable[str]] | None = None,
        upholds_dirs: Mapping[str, Iterable[str]] | None = None,
        default_target: str = "multi-user.target",
        user_manager: bool = False,
    ) -> None:
        self.now = 0
        self.condition_facts = condition_facts
        self.log_level = log_level
        # deadline index: a heap of (deadline, seq, unit) checked lazily against each
        # unit's current deadline, refreshed for the units an event touched
        # equal deadlines fire in unit-name order: deterministic, also after a restore
        self._deadlines: list[tuple[int, str]] = []
        self._indexed: dict[str, int | None] = {}
        self._touched: set[Service] = set()
        self._changed: set[str] = set()  # services touched since take_changed_services()
        self.units = UnitTable(units)  # the built-in targets are added: never the caller's dict
        self.cgroup_events = cgroup_events
        self.service_watchdogs = service_watchdogs
        self._random = random.Random(seed)
        self._out: list[Action] = []
        self._next_spawn = 1
        self.jobs = JobTable()
        self.plans = PlanCache()  # enqueue_job()'s transactions, kept while what they read is unchanged
        self.services: dict[str, Service] = {}
        self._spawn_owner: dict[int, Service] = {}
        self._pid_owner: dict[int, Service] = {}
        self._activation_seq = 0
        self._activated_at: dict[str, int] = {}
        self._pending_start_message: dict[str, Job] = {}
        self.shutting_down = False
        self._shutdown_queue: list[str] = []  # the snapshot format's field; shutdown is a transaction now
        self._shutdown_exit_status = 0
        self.targets: dict[str, Target] = {}
        self.targets_restored = False  # a saved state put the targets' states back (snapshot.py)
        self._builtin_units: dict[str, Unit] = {}  # the built-in targets added to `units`
        self._pending_checks: dict[str, dict[str, None]] = {}
        self._auto_start_stop: dict[str, StartLimit] = {}  # per unit: systemd's auto_start_stop_ratelimit
        self._recheck_at: dict[tuple[str, str], int] = {}  # (check, unit) -> when to try again
        self._graph_inputs: dict = dict(wants_dirs=wants_dirs, requires_dirs=requires_dirs,
                                        upholds_dirs=upholds_dirs, default_target=default_target,
                                        user=user_manager)
        self.rebuild_graph()
        self._exited = False
        self._trigger_sources: dict[str, list[str]] = {}
        for name, unit in units.items():
            if unit.service is not None and unit.kind == "service":
                self._apply_defaults(unit, default_restart_usec, default_timeout_stop_usec,
                                     default_start_limit_interval_usec, default_start_limit_burst)
                self.services[name] = Service(unit, self)
        # realtime = monotonic + offset; set by ClockChanged (the shell feeds one at start)
        self.realtime_offset = 0
        # stamp mtimes of Persistent= timers, filled in by the shell before their start
        self.timer_stamps: dict[str, int] = {}
        self.timers = TimerTable(units, self, seed=seed)
        # TRIGGER_UNIT=/TRIGGER_TIMER_*: asked for with a timer's start job (next), in force
        # for the activation that job started (current) # systemd: activation_details
        self._trigger_env_next: dict[str, dict[str, str]] = {}
        self._trigger_env: dict[str, dict[str, str]] = {}
        for name, unit in units.items():
            if name not in self.services:
                continue
            for other in dict.fromkeys(unit.unit.on_failure + unit.unit.on_success):
                self._trigger_sources.setdefault(other, []).append(name)

    @staticmethod
    def _apply_defaults(unit: Unit, restart: int | None, stop: int | None,
                        interval: int | None, burst: int | None) -> None:
        svc = unit.service
        assert svc is not None
        if restart is not None and svc.restart_usec == DEFAULT_RESTART_USEC:
            svc.restart_usec = restart
        if stop is not None and svc.timeout_stop_usec == DEFAULT_TIMEOUT_STOP_USEC:
            svc.timeout_stop_usec = stop
        if interval is not None and unit.unit.start_limit_interval_usec == DEFAULT_START_LIMIT_INTERVAL_USEC:
            unit.unit.start_limit_interval_usec = interval
        if burst is not None and unit.unit.start_limit_burst == DEFAULT_START_LIMIT_BURST:
            unit.unit.start_limit_burst = burst

    # ------------------------------------------------------------------ public API

    def unit_names(self) -> list[str]:
        """All unit names the manager knows, sorted."""
        return sorted(self.units)

    def next_deadline(self) -> int | None:
        """The earliest armed timer (µs monotonic), or None. Feed `TimePassed` then."""
        if self._touched:
            self._reindex()  # timers set outside handle() (snapshot restore, reload)
        best = self._job_deadline()
        if self.timers.timers:
            mono, real = self.timers.wakeup()
            for d in (mono, None if real is None else real - self.realtime_offset):
                if d is not None and (best is None or d < best):
                    best = d
        heap = self._deadlines
        while heap:
            d, name = heap[0]
            if self._indexed.get(name) == d and name in self.services:
                return d if best is None or d < best else best
            heapq.heappop(heap)  # stale entry
        return best

    def deadline_changed(self, svc: Service) -> None:
        """A unit's timer or watchdog deadline was written: re-index it."""
        self._touched.add(svc)

    def _job_deadline(self) -> int | None:
        ds = [j.deadline for j in self.jobs.by_unit.values() if j.deadline is not None]
        ds.extend(self._recheck_at.values())  # rate-limited dependency checks
        return min(ds) if ds else None

    def take_changed_services(self) -> set[str]:
        """Names of the services an event or job touched since the last call: the only ones
        whose snapshot (core/snapshot.export_unit) can differ (daemon/persist.py exports
        just those). Every path that changes a service goes through `_guard()` or the job
        runner, which mark it touched."""
        changed = self._changed
        changed.update(svc.name for svc in self._touched)
        self._changed = set()
        return changed

    def _reindex(self) -> None:
        self._changed.update(svc.name for svc in self._touched)
        for svc in self._touched:
            if self.services.get(svc.name) is not svc:
                continue  # removed or replaced by a reload
            d = svc.next_deadline()
            if self._indexed.get(svc.name) != d:
                self._indexed[svc.name] = d
                if d is not None:
                    # ties fire in unit-name order: deterministic, and the same after a restore
                    heapq.heappush(self._deadlines, (d, svc.name))
        self._touched.clear()

    def _due_units(self) -> list[str]:
        """Units with a deadline ≤ now, in deadline order (each once)."""
        due: list[str] = []
        heap = self._deadlines
        while heap and heap[0][0] <= self.now:
            d, name = heapq.heappop(heap)
            if self._indexed.get(name) == d and name not in due and name in self.services:
                due.append(name)
                self._indexed[name] = None
        return due

    def handle(self, event: ev.Event, now: int) -> list[Action]:
        """Process one fact at monotonic time `now`; return the actions to carry out.

        Raises UnitNotFoundError (before changing anything) for a request that names an
        unknown unit.
        """
        self.now = now
        self._out = []
        try:
            self._dispatch(event)
            self._run_jobs()
            self._advance_shutdown()
        finally:
            self._reindex()
        out, self._out = self._out, []
        return out

    def runtime_properties(self, name: str) -> dict:
        """systemd `show` properties of a unit, raw values (ints are µs; 0 = unset).
        # spec: systemctl-and-journal.md §4"""
        if name not in self.units:
            name = self.graph.canonical(name)  # an alias: default.target
        props = self._own_properties(name)
        props.update(self.dependency_properties(name))
        return props

    def _own_properties(self, name: str) -> dict:
        if name in self.timers:
            return self.timers[name].properties()
        if name in self.targets:
            job = self.jobs.get(name)
            return {**self.targets[name].properties(), "Job": job.type.value if job else ""}
        svc = self.services.get(name)
        if svc is None:
            unit = self.units.get(name)
            if unit is None:
                raise UnitNotFoundError(name)
            return {"Id": name, "LoadState": str(unit.load_state), "ActiveState": "inactive",
                    "SubState": "dead", "Description": unit.description}
        st = svc.main_exec_status
        props: dict = {
            "Id": name,
            "Description": svc.description,
            "LoadState": str(svc.unit.load_state),
            "ActiveState": str(svc.active_state),
            "SubState": str(svc.state),
            "Result": str(svc.result),
            "ReloadResult": str(svc.reload_result),
            "Type": str(svc.type),
            "Restart": str(svc.cfg.restart),
            "NRestarts": svc.n_restarts,
            "MainPID": svc.main_pid,
            "ControlPID": svc.control_pid,
            "ExecMainPID": st.pid,
            "ExecMainCode": st.code,
            "ExecMainStatus": st.status,
            "ExecMainStartTimestampMonotonic": st.start_usec,
            "ExecMainExitTimestampMonotonic": st.exit_usec,
            "InvocationID": svc.invocation_id,
            "StatusText": svc.status_text,
            "StatusErrno": svc.status_errno,
            "RestartUSec": svc.cfg.restart_usec,
            "RestartUSecNext": self._restart_usec_next(svc),
            "StartLimitIntervalUSec": svc.start_limit.interval_usec,
            "StartLimitBurst": svc.start_limit.burst,
            "WatchdogTimestampMonotonic": svc.watchdog_timestamp,
            "ConditionResult": svc.condition_result,
            "AssertResult": svc.assert_result,
            "ConditionTimestampMonotonic": svc.condition_timestamp,
            "AssertTimestampMonotonic": svc.assert_timestamp,
            "Job": self.jobs.get(name).type.value if self.jobs.get(name) else "",
            "ExecCommands": svc.exec_command_records(),
        }
        props.update(svc.ts)
        return props

    def condition_evaluations(self, name: str):
        """(conditions, asserts) of the unit's last start check: core/condition.py
        `Evaluation`s for `status_lines()`, None where not tested. Kept out of
        runtime_properties() so that stays plain data (JSON-safe)."""
        svc = self.services.get(name)
        if svc is None:
            raise UnitNotFoundError(name)
        return svc.condition_evaluation, svc.assert_evaluation

    @staticmethod
    def _restart_usec_next(svc: Service) -> int:
        # systemd: property RestartUSecNext → service_restart_usec_next()
        queued = svc.state is ServiceState.AUTO_RESTART_QUEUED
        return restart_delay(svc.cfg, svc.n_restarts + (0 if queued else 1))

    # ------------------------------------------------------------------ host interface for units

    def emit(self, action: Action) -> None:
        if isinstance(action, Log) and action.priority > self.log_level:
            return
        self._out.append(action)

    def log(self, message: str, priority: Priority = Priority.INFO, unit: str | None = None,
            invocation_id: str | None = None) -> None:
        self.emit(Log(message, unit, priority, invocation_id))

    def next_spawn_id(self) -> int:
        n = self._next_spawn
        self._next_spawn += 1
        return n

    def new_invocation_id(self) -> str:
        """A random v4 UUID as 32 hex chars. # systemd: unit_acquire_invocation_id()"""
        return format_v4(self._random.getrandbits(128))

    def format_timespan(self, usec: int) -> str:
        return format_timespan(usec, 1)

    def job_type(self, name: str) -> JobType | None:
        job = self.jobs.get(name)
        return job.type if job else None

    def enqueue_restart_job(self, svc: Service) -> str | None:
        """The automatic restart's start job (RestartMode=normal: units that depend on it get
        restart jobs too). # systemd: service_enter_restart()"""
        if self.shutting_down:
            return "Transaction is destructive."
        mode = JobMode.REPLACE if svc.cfg.restart_mode is RestartMode.DIRECT else JobMode.RESTART_DEPENDENCIES
        # RestartMode=direct keeps the unit activating, so the original start job may still be
        # running: re-run it (systemd: TRANSACTION_REENQUEUE_ANCHOR)
        e = self.enqueue_job(svc.name, JobType.START, mode, reenqueue_anchor=True)
        return None if e is None else e.message

    def monitor_environment(self, svc: Service) -> dict[str, str]:
        """MONITOR_* for a unit started via OnFailure=/OnSuccess=.
        # spec: restart-and-failure.md §7 (decision D2: snapshot at trigger time)"""
        sources = [s for s in self._trigger_sources.get(svc.name, ()) if s in self.services]
        trigger_env = self._trigger_env.get(svc.name)
        if trigger_env is not None and not sources:
            return dict(trigger_env)
        if not sources:
            return {}
        if len(sources) > 1:
            # observed (systemd 257, warning): tests/data/oracle/d2/r-direct.json
            self.log(f"{svc.name}: multiple trigger source candidates for exit status propagation "
                     f"({', '.join(sorted(sources))}), skipping.", Priority.WARNING, svc.name, svc.invocation_id)
            return {}
        if svc.monitor_env is not None:
            return dict(svc.monitor_env)
        return self.services[sources[0]].monitor_snapshot()

    def emergency_action(self, svc: Service, action: EmergencyAction, reason: str, exit_status: int,
                         *, watchdog: bool = False) -> None:
        """# spec: restart-and-failure.md §9   # systemd: emergency_action()"""
        if action is EmergencyAction.NONE:
            return
        if watchdog and not self.service_watchdogs:
            self.log(f"Watchdog disabled! Not acting on: {reason}", Priority.WARNING)
            return
        if self.shutting_down:
            self.log(f"Shutdown is already active. Skipping emergency action request {action}.", Priority.DEBUG)
            return
        self.log(f"{_EMERGENCY_VERB[action]}: {reason}", Priority.WARNING)
        self.emit(RunEmergencyAction(action, reason, exit_status))

    def unit_notify(self, svc: Service, old: ActiveState, new: ActiveState, changed: bool) -> None:
        """Unit-level consequences of a state change. # systemd: unit_notify()"""
        self._stamp(svc.ts, old, new)
        if old not in ACTIVE_OR_RELOADING and new in ACTIVE_OR_RELOADING:
            self._activation_seq += 1
            self._activated_at[svc.name] = self._activation_seq
        if changed:
            self.emit(StateChanged(svc.name, new, str(svc.state), str(svc.result)))

        # the unit's job, retroactive dependency jobs, BindsTo=/Upholds=/StopWhenUnneeded= checks
        self.unit_changed(svc.name, old, new, reload_success=svc.reload_result.value == "success")

        if old is not new and new is A.FAILED:
            self._start_on_termination(svc, "OnFailure=", svc.unit.unit.on_failure, svc.unit.unit.on_failure_job_mode)
        if new is A.INACTIVE and old not in (A.FAILED, A.INACTIVE, A.MAINTENANCE):
            self._start_on_termination(svc, "OnSuccess=", svc.unit.unit.on_success, svc.unit.unit.on_success_job_mode)

        self._timer_trigger_notify(svc.name)  # systemd: unit_trigger_notify()

        if old is not A.FAILED and new is A.FAILED:
            self.emergency_action(svc, svc.unit.unit.failure_action, f"unit {svc.name} failed",
                                  self._action_exit_status(svc, svc.unit.unit.failure_action_exit_status))
        elif old not in INACTIVE_OR_FAILED and new is A.INACTIVE:
            self.emergency_action(svc, svc.unit.unit.success_action, f"unit {svc.name} succeeded",
                                  self._action_exit_status(svc, svc.unit.unit.success_action_exit_status))

    @staticmethod
    def _action_exit_status(svc: Service, configured: int) -> int:
        """FailureActionExitStatus=/SuccessActionExitStatus=, else the main process's exit
        status, 255 if it was killed, -1 if it never exited.
        # systemd: unit_failure_action_exit_status(), service_exit_status()"""
        if configured >= 0:
            return configured
        st = svc.main_exec_status
        if st.pid <= 0 or not st.code:
            return -1
        return st.status if st.code == ExitCode.EXITED else 255

    def _start_on_termination(self, svc, what: str, targets: list[str], mode: JobMode) -> None:
        """`svc`: the unit whose OnFailure=/OnSuccess= units start (a service or a target).
        # spec: restart-and-failure.md §7   # systemd: unit_start_on_termination_deps()"""
        n = 0

        def log(message: str, priority: Priority = Priority.INFO) -> None:
            self.emit(Log(f"{svc.name}: {message}", svc.name, priority, svc.invocation_id or None))

        for other in dict.fromkeys(targets):
            if n == 0:
                log(f"Triggering {what} dependencies.")
            n += 1
            error = self._refusal(other)
            if error is None and self.shutting_down:
                error = "Transaction is destructive."
            if error is not None:
                log(f"Failed to enqueue {what}{other} job, ignoring: {error}", Priority.WARNING)
                continue
            target = self.services.get(other)
            if target is not None and isinstance(svc, Service):
                target.monitor_env_next = svc.monitor_snapshot()
            e = self.enqueue_job(other, JobType.START, mode)
            if e is not None:
                log(f"Failed to enqueue {what}{other} job, ignoring: {e.message}", Priority.WARNING)
        if n:
            log(f"Triggering {what} dependencies done ({n} {'job' if n == 1 else 'jobs'}).", Priority.DEBUG)

    # ------------------------------------------------------------------ event dispatch

    def _dispatch(self, event: ev.Event) -> None:
        if isinstance(event, ev.Spawned):
            svc = self._spawn_owner.pop(event.spawn_id, None)
            if svc is None:
                return
            self._pid_owner[event.pid] = svc
            self._guard(svc, svc.on_spawned, event.spawn_id, event.pid)
            self._flush_start_message(svc)
        elif isinstance(event, ev.SpawnFailed):
            svc = self._spawn_owner.pop(event.spawn_id, None)
            if svc is None:
                return
            self._guard(svc, svc.on_spawn_failed, event.spawn_id, event.message or f"errno {event.errno}")
            self._flush_start_message(svc)
        elif isinstance(event, ev.ExecSucceeded):
            svc = self._pid_owner.get(event.pid)
            if svc is not None:
                self._guard(svc, svc.on_exec_succeeded, event.pid)
        elif isinstance(event, ev.ProcessExited):
            svc = self._pid_owner.pop(event.pid, None)
            if svc is not None:
                self._guard(svc, svc.on_process_exited, event.pid, event.code, event.status)
        elif isinstance(event, ev.TimePassed):
            for name in self._due_units():
                svc = self.services[name]
                self._guard(svc, svc.on_time_passed)
            for job in [j for j in self.jobs.by_unit.values() if j.deadline is not None and j.deadline <= self.now]:
                if self.jobs.get(job.unit) is job:
                    self._job_timed_out(job)
            self._due_rechecks()
            if self.timers.timers:
                self._emit_all(self.timers.time_passed(self.now_pair()))
        elif isinstance(event, (ev.ClockChanged, ev.TimezoneChanged)):
            self._timer_clock_event(event)
        elif isinstance(event, ev.NotifyReceived):
            self._on_notify(event)
        elif isinstance(event, ev.UnitEmptied):
            svc = self.services.get(event.unit)
            if svc is not None:
                self._guard(svc, svc.on_unit_emptied)
        elif isinstance(event, ev.PidFileRead):
            svc = self.services.get(event.unit)
            if svc is not None:
                if event.pid:
                    self._pid_owner[event.pid] = svc
                self._guard(svc, svc.on_pid_file_read, event.pid)
        elif isinstance(event, ev.StartRequested):
            self._request(event.unit, JobType.START, event.mode, event.request_id)
        elif isinstance(event, ev.StopRequested):
            self._request(event.unit, JobType.STOP, event.mode, event.request_id)
        elif isinstance(event, ev.RestartRequested):
            t = JobType.TRY_RESTART if event.only_if_active else JobType.RESTART
            self._request(event.unit, t, event.mode, event.request_id)
        elif isinstance(event, ev.ReloadRequested):
            self._request(event.unit, JobType.RELOAD, getattr(event, "mode", JobMode.REPLACE), event.request_id)
        elif isinstance(event, ev.ResetFailedRequested):
            names = [event.unit] if event.unit else list(self.services)
            if event.unit and event.unit not in self.units:
                raise UnitNotFoundError(event.unit)
            for name in names:
                svc = self.services.get(name)
                if svc is not None:
                    self._guard(svc, svc.reset_failed)
            for name in [event.unit] if event.unit else list(self.timers.timers):
                if name in self.timers:
                    self._emit_all(self.timers[name].reset_failed(self.now_pair()))
        elif isinstance(event, ev.KillRequested):
            if event.unit not in self.units:
                raise UnitNotFoundError(event.unit)
            svc = self.services.get(event.unit)
            if svc is not None:
                error = svc.kill(event.signal, event.whom)
                if error:
                    self.emit(RequestFailed(event.request_id, event.unit, error))
        elif isinstance(event, ev.ShutdownRequested):
            self._begin_shutdown(event.exit_status)
        elif isinstance(event, ev.BootRequested):
            self._boot(event.isolate)


    def _guard(self, svc: Service, fn, *args) -> None:
        """An exception inside one unit fails that unit, never the manager."""
        self._touched.add(svc)
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - isolation boundary
            self.log(f"{svc.name}: Internal error in the state machine: {exc!r}. Failing unit.",
                     Priority.ERR, svc.name)
            svc.timer = None
            svc.watchdog_deadline = None
            old = svc.active_state
            if svc.result is ServiceResult.SUCCESS:
                svc.result = ServiceResult.RESOURCES
            svc.state = ServiceState.FAILED
            svc.main = None
            svc.control = None
            try:
                self.unit_notify(svc, old, svc.active_state, True)
            except Exception:  # noqa: BLE001
                pass

    def _on_notify(self, event: ev.NotifyReceived) -> None:
        svc = self._pid_owner.get(event.pid)
        if svc is None and event.unit is not None:
            svc = self.services.get(event.unit)
        if svc is None:
            self.log(f"Cannot find unit for notify message of PID {event.pid}, ignoring.", Priority.WARNING)
            return
        self._guard(svc, svc.on_notify, event.pid, event.fields)

    def track_spawn(self, spawn_id: int, svc: Service) -> None:
        """A unit asked for a spawn: route the shell's answer to it."""
        self._spawn_owner[spawn_id] = svc

    def track_pid(self, svc: Service, pid: int) -> None:
        """A unit adopted `pid` (MAINPID=): route its exit to the unit."""
        self._pid_owner[pid] = svc

    # ------------------------------------------------------------------ the dependency graph

    def rebuild_graph(self, **inputs) -> None:
        """(Re)build the dependency graph from `units` (after a daemon-reload too): built-in
        targets are added where no file provides them, targets get their runtime. `inputs`
        replace the constructor's wants_dirs/requires_dirs/upholds_dirs/default_target.
        # spec: dependencies-and-jobs.md §1, §2   # systemd: unit_load(), manager_load_unit()"""
        self._graph_inputs.update({k: v for k, v in inputs.items() if v is not None})
        gi = self._graph_inputs
        # a built-in is known by identity: a file of the same name (after a reload) replaces it
        files = {n: u for n, u in self.units.items() if self._builtin_units.get(n) is not u}
        graph = build_graph(files, wants_dirs=gi["wants_dirs"], requires_dirs=gi["requires_dirs"],
                            upholds_dirs=gi["upholds_dirs"], default_target=gi["default_target"],
                            user=gi["user"])
        for name, unit in self._builtin_units.items():
            if self.units.get(name) is unit:
                del self.units[name]
        self._builtin_units = {n: u for n, u in graph.units.items() if n not in files}
        self.units.update(self._builtin_units)
        for name, unit in self.units.items():
            if unit.kind != "target" or unit.load_state is not LoadState.LOADED:
                continue
            t = self.targets.get(name)
            if t is None:
                self.targets[name] = Target(unit)
            else:
                t.unit = unit
        for name in [n for n, t in self.targets.items()
                     if (n not in self.units or self.units[n].load_state is not LoadState.LOADED)
                     and not t.active and self.jobs.get(n) is None]:
            del self.targets[name]
        self.graph = graph
        self._graph_version = self.units.version

    def dependency_properties(self, name: str) -> dict[str, list[str]]:
        """Requires=, WantedBy=, After= … of a unit as the graph has them (explicit,
        `.wants/` folders, default and implicit dependencies). # spec: systemctl-and-journal.md §4"""
        return self.graph.properties(name)

    # ------------------------------------------------------------------ boot and shutdown

    def _boot(self, isolate: bool) -> None:
        """Start default.target, isolating unless told otherwise; a target that may not be
        isolated is started with mode replace. # spec: dependencies-and-jobs.md §4
        # systemd: manager_startup() (JOB_ISOLATE, falling back to JOB_REPLACE on -EPERM)"""
        name = self.graph.canonical(DEFAULT_TARGET)
        if self.runtime_of(name) is None:
            self.log(f"Failed to load default target: Unit {name} not found.", Priority.ERR)
            return
        e = self.enqueue_job(name, JobType.START, JobMode.ISOLATE if isolate else JobMode.REPLACE)
        if e is not None and e.errno == "EPERM":
            self.log(f"Default target could not be isolated, starting instead: {e.message}", Priority.DEBUG)
            e = self.enqueue_job(name, JobType.START, JobMode.REPLACE)
        if e is not None:
            self.log(f"Failed to start default target: {e.message}", Priority.ERR)
        else:
            self.log(f"Queued start job for default target {name}.", Priority.DEBUG)

    def _begin_shutdown(self, exit_status: int) -> None:
        """Stop every unit in reverse dependency order (one irreversible transaction: start
        shutdown.target, which every unit with default dependencies conflicts with and is
        ordered before, and stop everything else as isolate does), then `ExitManager`.
        # systemd: poweroff.target/exit.target → shutdown.target; transaction_add_isolate_jobs()"""
        if self.shutting_down:
            return
        self.shutting_down = True
        self._shutdown_exit_status = exit_status
        self._pending_checks = {}
        tr = Transaction(self._world(isolate=False), irreversible=True)
        try:
            if self.runtime_of(SHUTDOWN_TARGET) is None:
                raise TransactionError("ENOENT", f"Unit {SHUTDOWN_TARGET} not found.")
            tr.add_job_and_dependencies("start", SHUTDOWN_TARGET, None)
            tr.add_isolate_jobs()
            plan = tr.activate(JobMode.ISOLATE)
        except TransactionError as e:  # a broken shutdown.target file: stop unit by unit
            self.log(f"Failed to enqueue shutdown job: {e.message}; stopping every unit.", Priority.WARNING)
            for name in list(self.services) + list(self.timers.timers) + list(self.targets):
                if self.active_state_of(name) not in INACTIVE_OR_FAILED:
                    self.enqueue_job(name, JobType.STOP, JobMode.REPLACE_IRREVERSIBLY)
            return
        self._emit_lines(plan.logs)
        self._install_plan(plan, JobMode.REPLACE_IRREVERSIBLY, None, JobType.START)

    def _advance_shutdown(self) -> None:
        if not self.shutting_down or self._exited or self.jobs.by_unit:
            return
        if any(s.active_state not in INACTIVE_OR_FAILED for s in self.services.values()):
            return
        self._exited = True
        self.emit(ExitManager(self._shutdown_exit_status))
