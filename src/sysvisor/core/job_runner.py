"""The Manager's job machinery: requests become transactions, transactions become installed
jobs, jobs run in dependency order and finish with results that propagate.

Theory of operation (systemd's job.c/transaction.c/unit.c, kept):
  * Every request — a client verb, an OnFailure=/OnSuccess= handler, an automatic restart, a
    timer elapsing, a retroactive dependency effect — is planned by `transaction.build()`
    against a snapshot of the graph, unit states and installed jobs, then installed job by job
    with `install_decision()` (new, merged, merged-and-rerun, or replacing a conflicting job
    that finishes `canceled`).
  * A waiting job runs when `blocking_unit()` finds no unit it is ordered against whose job
    must go first. Blocked jobs leave the run queue; they are queued again when a job of a unit
    they are ordered against finishes. A start job of a unit After= a Type=notify service
    therefore waits for READY=1: that service's start job only finishes when it is active.
  * When a job finishes without success, start/verify-active jobs of units that need it
    finish with `dependency`, recursively (`_fail_dependencies`).
  * A state change that no job caused pulls in jobs retroactively (Requires=/BindsTo=/Wants=
    of a unit that became active, Conflicts=, BindsTo= of a unit that stopped); after every
    change the StopWhenUnneeded=/BindsTo=/Upholds= checks of the affected units run once the
    run queue is empty (systemd's lower-priority queues).
# spec: dependencies-and-jobs.md §1.1, §1.2, §3
# systemd: manager_add_job(), transaction_apply(), job_install(), job_run_and_invalidate(),
#          job_finish_and_invalidate(), job_fail_dependencies(), unit_notify()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from sysvisor.core.actions import JobCompleted, Log, RunEmergencyAction, StateChanged
from sysvisor.core.condition import check_start, skip_message, unit_conditions
from sysvisor.core.deps import (
    Atom,
    JobRequest,
    bound_by_inactive_check,
    retroactive_jobs,
    stop_when_unneeded_check,
    units_to_recheck,
    upheld_check,
    verify_bound_dependencies,
)
from sysvisor.core.job import Job, process_job
from sysvisor.core.ratelimit import StartLimit
from sysvisor.core.service import EAGAIN, EALREADY, ECANCELED, ENOEXEC, OK, Service
from sysvisor.core.target import Target
from sysvisor.core.transaction import (
    NOP,
    LogLine,
    Plan,
    TransactionError,
    World,
    blocking_unit,
    build,
    done_message,
    failed_job_notice,
    install_decision,
    verify_active_result,
)
from sysvisor.core.types import ACTIVE_OR_RELOADING, INACTIVE_OR_FAILED, USEC_INFINITY, ActiveState, EmergencyAction, JobMode, JobResult, JobType, Priority, ServiceState, ServiceType

A = ActiveState
# systemd: unit_new() auto_start_stop_ratelimit
AUTO_START_STOP_INTERVAL_USEC = 10_000_000
AUTO_START_STOP_BURST = 16
# reaching one of these ends the manager (systemd-exit.service … are not there to do it) the
# way the matching emergency action does: the shell decides between exiting and a restart in
# place (daemon/objective.py), so `isolate reboot.target` and FailureAction=reboot agree
FINAL_TARGETS = {"exit.target": EmergencyAction.EXIT, "poweroff.target": EmergencyAction.POWEROFF,
                 "halt.target": EmergencyAction.HALT, "reboot.target": EmergencyAction.REBOOT,
                 "kexec.target": EmergencyAction.KEXEC, "soft-reboot.target": EmergencyAction.SOFT_REBOOT}


class UnitNotFoundError(KeyError):
    """A request or query named a unit the manager does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"Unit {self.name} could not be found."


class _States(Mapping):
    """Every runnable unit's ActiveState, read live (a transaction's `World.state_of`)."""

    def __init__(self, manager) -> None:
        self.m = manager

    def __getitem__(self, name: str) -> ActiveState:
        rt = self.m.runtime_of(name)
        if rt is None:
            raise KeyError(name)
        return rt.active_state

    def __iter__(self) -> Iterator[str]:
        yield from self.m.services
        yield from self.m.timers.timers
        yield from self.m.targets

    def __len__(self) -> int:
        return len(self.m.services) + len(self.m.timers.timers) + len(self.m.targets)


class _WillRestart(Mapping):
    """Services waiting for their automatic restart (asked only about a few units)."""

    def __init__(self, services) -> None:
        self.services = services

    def __getitem__(self, name: str) -> bool:
        svc = self.services.get(name)
        if svc is None:
            raise KeyError(name)
        return svc.state in (ServiceState.AUTO_RESTART, ServiceState.AUTO_RESTART_QUEUED)

    def __iter__(self) -> Iterator[str]:
        return iter(self.services)

    def __len__(self) -> int:
        return len(self.services)


class _Where:
    """The units for which `test(name)` holds, as a container asked one name at a time."""

    __slots__ = ("test",)

    def __init__(self, test: Callable[[str], bool]) -> None:
        self.test = test

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.test(name)


class UnitTable(dict):
    """The manager's units by name, counting its changes (`version`), so that a stale
    dependency graph is noticed in O(1) per request rather than by comparing every unit."""

    version = 0

    def __setitem__(self, key, value) -> None:
        self.version += 1
        super().__setitem__(key, value)

    def __delitem__(self, key) -> None:
        self.version += 1
        super().__delitem__(key)

    def pop(self, *args):
        self.version += 1
        return super().pop(*args)

    def popitem(self):
        self.version += 1
        return super().popitem()

    def setdefault(self, key, default=None):
        self.version += 1
        return super().setdefault(key, default)

    def update(self, *args, **kw) -> None:
        self.version += 1
        super().update(*args, **kw)

    def clear(self) -> None:
        self.version += 1
        super().clear()


class JobRunnerMixin:
    """Requests, transactions, the run queue and job results, mixed into `Manager`."""

    # ------------------------------------------------------------------ lookups

    def runtime_of(self, name: str):
        """The runtime object of a unit (Service, TimerUnit, Target), or None."""
        rt = self.services.get(name)
        if rt is None:
            rt = self.timers.timers.get(name) or self.targets.get(name)
        return rt

    def active_state_of(self, name: str) -> ActiveState:
        rt = self.runtime_of(self.graph.canonical(name))
        return A.INACTIVE if rt is None else rt.active_state

    def _world(self, *, isolate: bool = True) -> World:
        # membership asked per unit a transaction touches: never a set built over every unit
        # per request (that made each job O(units): 500 services took 250,000 can_reload calls)
        can_reload = _Where(lambda n: (s := self.services.get(n)) is not None and s.can_reload())
        ignore = _Where(lambda n: (u := self.units.get(n)) is not None and u.unit.ignore_on_isolate) if isolate else ()
        return World(self.graph, state_of=_States(self), jobs=self.jobs.by_unit, can_reload=can_reload,
                     ignore_on_isolate=ignore, runnable=self._runnable)

    def _runnable(self, name: str) -> bool:
        return self.runtime_of(name) is not None

    def _emit_lines(self, lines: list[LogLine]) -> None:
        for line in lines:
            if line.priority > self.log_level:
                continue
            text = f"{line.unit}: {line.message}" if line.unit else line.message
            self.emit(Log(text, line.unit, line.priority))

    # ------------------------------------------------------------------ requests

    def _refusal(self, name: str) -> str | None:
        """Why a job for `name` cannot be enqueued at all (systemctl's wording), or None."""
        refusal = self._refusal_of(name)
        return refusal[1] if refusal else None

    def _refusal_of(self, name: str) -> tuple[str, str] | None:
        """(systemd's bus error name, its message) of `_refusal()`."""
        unit = self.units.get(name)
        if unit is None or unit.load_state.value == "not-found":
            return "NoSuchUnit", f"Unit {name} not found."
        if unit.load_state.value == "masked":
            return "UnitMasked", f"Unit {name} is masked."
        if unit.load_state.value == "bad-setting":
            return "BadUnitSetting", f"Unit {name} has a bad unit file setting."
        if unit.load_state.value != "loaded":
            return "LoadFailed", f"Unit {name} failed to load properly, please adjust/correct and reload service manager."
        if self.runtime_of(name) is None:
            return "JobTypeNotApplicable", f"Job type start is not applicable for unit {name}."
        return None

    def _request(self, name: str, job_type: JobType, mode: JobMode, request_id: int | None) -> None:
        """A client's job request. # spec: dependencies-and-jobs.md §3.1
        # systemd: bus_unit_queue_job() (refusals), manager_add_job()"""
        if name not in self.units:
            name = self.graph.canonical(name)
            if name not in self.units:
                raise UnitNotFoundError(name)
        bus_error, error = self._refusal_of(name) or (None, None)
        if error is None and self.shutting_down and job_type is not JobType.STOP:
            bus_error, error = "TransactionIsDestructive", f"Transaction for {name}/{job_type} is destructive (shutdown is in progress)."
        if error is None:
            u = self.units[name].unit
            if job_type is JobType.STOP:
                refuse = u.refuse_manual_stop
            elif job_type in (JobType.RESTART, JobType.TRY_RESTART):
                refuse = u.refuse_manual_start or u.refuse_manual_stop
            else:
                refuse = u.refuse_manual_start and job_type is not JobType.RELOAD
            if refuse:
                bus_error, error = "OnlyByDependency", (f"Operation refused, unit {name} may be requested by dependency only "
                                                        f"(it is configured to refuse manual start/stop).")
            elif job_type is JobType.RELOAD:
                svc = self.services.get(name)
                if svc is None or not svc.can_reload():
                    bus_error, error = "JobTypeNotApplicable", f"Job type reload is not applicable for unit {name}."
                elif svc.active_state in INACTIVE_OR_FAILED:
                    bus_error, error = "UnitInactive", f"Unit {name} is not active, cannot reload."
        if error is not None:
            self.emit(JobCompleted(request_id, name, job_type, JobResult.INVALID, error=error, bus_error=bus_error))
            return
        e = self.enqueue_job(name, job_type, mode, request_id=request_id)
        if e is not None:
            result = JobResult.FAILED if e.errno == "EBUSY" else JobResult.INVALID
            self.emit(JobCompleted(request_id, name, job_type, result, error=e.message, bus_error=_ERRNO_BUS_ERRORS.get(e.errno)))

    def enqueue_job(self, name: str, job_type: JobType | str, mode: JobMode, *, request_id: int | None = None,
                    reenqueue_anchor: bool = False) -> TransactionError | None:
        """Plan and install the jobs for one request; None on success, else the refusal (its
        log lines already emitted). The request (if any) waits for the anchor job.
        # systemd: manager_add_job_full()"""
        if self.units.version != self._graph_version:
            self.rebuild_graph()  # units were replaced (daemon-reload) since the graph was built
        try:
            plan = self.plans.build(self._world(), name, str(job_type), mode)
        except TransactionError as e:
            self._emit_lines(getattr(e, "logs", []))
            return e
        self._emit_lines(plan.logs)
        self._install_plan(plan, mode, request_id, JobType(str(job_type)), reenqueue_anchor)
        return None

    def _install_plan(self, plan: Plan, mode: JobMode, request_id: int | None, request_type: JobType,
                      reenqueue_anchor: bool = False) -> None:
        """# systemd: transaction_apply(), job_install(), job_merge_into_installed()"""
        for unit in plan.cancel:
            job = self.jobs.get(unit)
            if job is not None:
                self._finish_job(job, JobResult.CANCELED, recursive=False)
        for p in plan.jobs:
            anchor = p is plan.anchor
            if p.type == NOP or self.runtime_of(p.unit) is None:  # nothing to run a job on
                if anchor:
                    self._log_debug(p.unit, f"Installed new job {p.unit}/nop")
                    self.emit(JobCompleted(request_id, p.unit, request_type, JobResult.DONE))
                continue
            installed = self.jobs.get(p.unit)
            d = install_decision(installed, p, self.active_state_of(p.unit))
            if installed is not None and d.cancel_installed:
                self._finish_job(installed, JobResult.CANCELED, recursive=False)
                installed = None
            if installed is None:
                job = self.jobs.add(p.unit, JobType(d.type), mode)
                job.irreversible, job.ignore_order = p.irreversible, p.ignore_order
                self._log_debug(p.unit, f"Installed new job {p.unit}/{d.type} as {job.id}")
            else:
                job = installed
                job.type = JobType(d.type)
                job.irreversible = job.irreversible or p.irreversible
                job.ignore_order = job.ignore_order or p.ignore_order
                if d.action == "merge-rerun" or (anchor and reenqueue_anchor):
                    job.state = "waiting"
                self._log_debug(p.unit, f"{d.message} as {job.id}")
                self.jobs.enqueue(job)
            if anchor and request_id is not None:
                job.add_request(request_id, request_type)
            if job.deadline is None:  # systemd: job_start_timer() at install
                t = self.units[p.unit].unit.job_timeout_usec
                if 0 < t < USEC_INFINITY:
                    job.deadline = self.now + t

    def _log_debug(self, unit: str, message: str) -> None:
        if self.log_level >= Priority.DEBUG:
            self.emit(Log(f"{unit}: {message}", unit, Priority.DEBUG))

    # ------------------------------------------------------------------ running

    def _run_jobs(self) -> None:
        """Drain the run queue, then the dependency checks, until both are empty."""
        guard = 0
        while True:
            while (job := self.jobs.pop_runnable()) is not None:
                guard += 1
                if guard > 1_000_000:  # pragma: no cover - a bug, not a state
                    raise RuntimeError("job run queue does not drain")
                blocker = blocking_unit(self.graph, job.unit, str(job.type), job.ignore_order, self.jobs.by_unit)
                if blocker is not None:
                    other, what = blocker
                    self._log_debug(job.unit, f"{what} held back, waiting for: {other}")
                    continue  # queued again when `other`'s job finishes
                rt = self.runtime_of(job.unit)
                try:
                    self._run_job(job, rt)
                except Exception as exc:  # noqa: BLE001 - isolation boundary
                    if isinstance(rt, Service):
                        self._guard(rt, self._reraise, exc)
                    else:
                        raise
            if not self._dispatch_checks():
                return

    @staticmethod
    def _reraise(exc: Exception) -> None:
        raise exc

    def _start_running_timer(self, job: Job) -> None:
        job.state = "running"
        t = self.units[job.unit].unit.job_running_timeout_usec
        if 0 < t < USEC_INFINITY:
            d = self.now + t
            job.deadline = d if job.deadline is None else min(job.deadline, d)

    def _run_job(self, job: Job, rt) -> None:
        """# systemd: job_run_and_invalidate(), job_perform_on_unit()"""
        self._start_running_timer(job)
        if job.type is JobType.VERIFY_ACTIVE:
            result = verify_active_result(rt.active_state)
            if result is None:
                job.state = "waiting"  # activating: queued again on its next state change
            else:
                self._finish_job(job, result, already=result is JobResult.DONE)
            return
        if isinstance(rt, Target):
            self._run_target_job(job, rt)
        elif isinstance(rt, Service):
            self._touched.add(rt)
            self._run_service_job(job, rt)
        else:
            self._run_timer_job(job, rt)

    def _verify_bound(self, job: Job) -> bool:
        """BindsTo=+After= a unit that is not active: the start fails with `dependency`.
        # systemd: unit_start() → unit_verify_deps()"""
        why = verify_bound_dependencies(self.graph, job.unit, _States(self))
        if why is None:
            return True
        self.emit(Log(f"{job.unit}: {why}", job.unit, Priority.NOTICE))
        self._finish_job(job, JobResult.DEPENDENCY)
        return False

    def _run_target_job(self, job: Job, t: Target) -> None:
        """# systemd: target_start(), target_stop()"""
        if job.type is JobType.START:
            if t.active:
                self._finish_job(job, JobResult.DONE, already=True)
                return
            if not self._verify_bound(job):
                return
            t.invocation_id = self.new_invocation_id()
            self._set_target(t, True)
        elif job.type in (JobType.STOP, JobType.RESTART):
            if not t.active:
                self._finish_job(job, JobResult.DONE, already=True)
                return
            self._set_target(t, False)
            if self.jobs.get(t.name) is job:  # a restart, now waiting to start
                # systemd: job_perform_on_unit() logs the start message only if the job survived
                self.emit(Log(f"Stopping {t.status_string()}...", t.name, Priority.INFO, t.invocation_id or None))
        else:
            self._finish_job(job, JobResult.INVALID)

    def _set_target(self, t: Target, active: bool) -> None:
        old = t.active_state
        t.active = active
        self._stamp(t.ts, old, t.active_state)
        self.emit(StateChanged(t.name, t.active_state, t.sub_state, "success"))
        self.unit_changed(t.name, old, t.active_state)
        if active and t.name in FINAL_TARGETS and not self.shutting_down:
            # systemd: these targets pull in systemd-{exit,poweroff,halt,reboot}.service, which
            # ask the manager to go down
            self.emit(RunEmergencyAction(FINAL_TARGETS[t.name], f"{t.name} reached", 0))

    def _stamp(self, ts: dict[str, int], old: ActiveState, new: ActiveState) -> None:
        """The unit timestamps of a state change. # systemd: unit_notify()"""
        now = self.now
        ts["StateChangeTimestampMonotonic"] = now
        if old in INACTIVE_OR_FAILED and new not in INACTIVE_OR_FAILED:
            ts["InactiveExitTimestampMonotonic"] = now
        elif old not in INACTIVE_OR_FAILED and new in INACTIVE_OR_FAILED:
            ts["InactiveEnterTimestampMonotonic"] = now
        if old not in ACTIVE_OR_RELOADING and new in ACTIVE_OR_RELOADING:
            ts["ActiveEnterTimestampMonotonic"] = now
        elif old in ACTIVE_OR_RELOADING and new not in ACTIVE_OR_RELOADING:
            ts["ActiveExitTimestampMonotonic"] = now

    def _run_timer_job(self, job: Job, timer) -> None:
        """# systemd: timer_start(), timer_stop()"""
        result, already = self._timer_job(job.unit, job.type)
        if self.jobs.get(job.unit) is job:
            self._finish_job(job, result, already=already)

    def _run_service_job(self, job: Job, svc: Service) -> None:
        t = job.type
        if t is JobType.START:
            env = self._trigger_env_next.pop(job.unit, None)
            if svc.active_state in ACTIVE_OR_RELOADING:
                self._finish_job(job, JobResult.DONE, already=True)
                return
            if svc.active_state is not A.ACTIVATING and not self._verify_bound(job):
                return
            # the activation a timer asked for carries its TRIGGER_* (else none)
            if env is None:
                self._trigger_env.pop(job.unit, None)
            else:
                self._trigger_env[job.unit] = env
            if self.condition_facts is not None and not self._test_conditions(job, svc):
                return
            r = svc.start()
            message = "Starting"
        elif t in (JobType.STOP, JobType.RESTART):
            if svc.active_state in INACTIVE_OR_FAILED:
                self._finish_job(job, JobResult.DONE, already=True)
                return
            r = svc.stop()
            message = "Stopping"
        else:  # reload
            if svc.active_state is A.RELOADING:  # systemd: unit_reload() → -EAGAIN
                job.state = "waiting"
                return
            r = svc.reload()
            message = "Reloading"
        current = self.jobs.get(job.unit) is job
        if r == EAGAIN:
            if current:
                job.state = "waiting"
        elif r == EALREADY:
            if current:
                self._finish_job(job, JobResult.DONE, already=True)
        elif r == ECANCELED:
            if current:
                self._finish_job(job, JobResult.FAILED)
        elif r == ENOEXEC:
            if current:
                self._finish_job(job, JobResult.INVALID)
        elif r == OK and current:
            if svc._pending:
                # the effect shows once the shell confirmed the spawn
                self._pending_start_message[job.unit] = job
                job.message = message
            else:
                self._status_message(svc, f"{message} {svc.status_string()}...")

    def _test_conditions(self, job: Job, svc: Service) -> bool:
        """Condition*=/Assert*= before starting; False if the job ended here (a failed
        condition: `done` with ConditionResult=no, not counted by the limiter; a failed
        assert: `assert`). # spec: dependencies-and-jobs.md §5
        # systemd: unit_start() → unit_test_condition(), unit_test_assert()"""
        assert self.condition_facts is not None
        conditions, asserts = unit_conditions(svc.unit.unit)
        check = check_start(conditions, asserts, self.condition_facts,
                            activating=svc.active_state is A.ACTIVATING)
        if check.conditions is None:
            return True  # not re-tested while activating
        for priority, line in check.logs:
            svc._log(line, priority)
        svc.condition_timestamp = self.now
        svc.condition_result = check.condition_result
        svc.condition_evaluation = check.conditions
        if check.asserts is not None:  # not tested when a condition failed: AssertResult stays
            svc.assert_timestamp = self.now
            svc.assert_evaluation = check.asserts
            svc.assert_result = check.assert_result
        if check.job_result is None:
            return True
        self._finish_job(job, check.job_result)
        return False

    # ------------------------------------------------------------------ finishing

    def _finish_job(self, job: Job, result: JobResult, *, already: bool = False, recursive: bool = True) -> None:
        """# systemd: job_finish_and_invalidate()"""
        unit, t = job.unit, job.type
        self._pending_start_message.pop(unit, None)
        self._log_debug(unit, f"Job {job.id} {unit}/{t} finished, result={result}")
        if not already:
            self._done_message(unit, t, result)
        if result is JobResult.DONE and t is JobType.RESTART:
            job.type = JobType.START  # the stop half is done; now start
            job.state = "waiting"
            self.jobs.enqueue(job)
            self._requeue_neighbours(unit)
            return
        self.jobs.remove(job)
        self._complete_requests(job, result)
        if recursive and result is not JobResult.DONE:
            if t in (JobType.START, JobType.VERIFY_ACTIVE):
                self._fail_dependencies(unit, Atom.PROPAGATE_START_FAILURE)
            elif t is JobType.STOP:
                self._fail_dependencies(unit, Atom.PROPAGATE_STOP_FAILURE)
        if t in (JobType.START, JobType.RELOAD) and self.active_state_of(unit) not in ACTIVE_OR_RELOADING:
            self._fail_dependencies(unit, Atom.PROPAGATE_INACTIVE_START_AS_FAILURE)
        notice = failed_job_notice(unit, str(t), result)
        if notice is not None:  # trap 13: OnFailure= although the unit did not fail
            # observed (systemd 257): tests/data/oracle/d4/r-jt.json
            self._emit_lines([notice])
            rt = self.runtime_of(unit)
            if isinstance(rt, (Service, Target)):
                self._start_on_termination(rt, "OnFailure=", rt.unit.unit.on_failure,
                                           rt.unit.unit.on_failure_job_mode)
        self._timer_trigger_notify(unit)  # systemd: unit_trigger_notify()
        self._requeue_neighbours(unit)

    def _requeue_neighbours(self, unit: str) -> None:
        """Jobs ordered against `unit` may be runnable now. # systemd: job_finish_and_invalidate()"""
        for other in self.graph.with_atom(unit, Atom.AFTER | Atom.BEFORE):
            j = self.jobs.get(other)
            if j is not None and j.state == "waiting":
                self.jobs.enqueue(j)

    def _fail_dependencies(self, unit: str, atom: Atom) -> None:
        """# systemd: job_fail_dependencies()"""
        for other in self.graph.with_atom(unit, atom):
            j = self.jobs.get(other)
            if j is not None and j.type in (JobType.START, JobType.VERIFY_ACTIVE):
                self._finish_job(j, JobResult.DEPENDENCY)

    def _complete_requests(self, job: Job, result: JobResult) -> None:
        for request_id, rtype in zip(job.requests, job.request_types):
            self.emit(JobCompleted(request_id, job.unit, rtype, result))

    def _job_timed_out(self, job: Job) -> None:
        """JobTimeoutSec=/JobRunningTimeoutSec=: the job fails, the unit keeps its state.
        # spec: restart-and-failure.md §9   # systemd: job_dispatch_timer()"""
        unit = self.units[job.unit]
        self.emit(Log(f"{job.unit}: Job {job.unit}/{job.type} timed out.", job.unit, Priority.WARNING,
                      self._invocation_id(job.unit)))
        self._finish_job(job, JobResult.TIMEOUT)
        self.emergency_action(self.runtime_of(job.unit), unit.unit.job_timeout_action, "job timed out", -1,
                              watchdog=True)

    def _invocation_id(self, name: str) -> str | None:
        rt = self.runtime_of(name)
        return (getattr(rt, "invocation_id", "") or None) if rt is not None else None

    def _flush_start_message(self, svc: Service) -> None:
        job = self._pending_start_message.get(svc.name)
        if job is None or svc._pending:
            return
        del self._pending_start_message[svc.name]
        if self.jobs.get(svc.name) is job:
            self._status_message(svc, f"{job.message} {svc.status_string()}...")

    def _status_message(self, svc, text: str, priority: Priority = Priority.INFO) -> None:
        self.emit(Log(text, svc.name, priority, svc.invocation_id or None))

    def _done_message(self, unit: str, t: JobType, result: JobResult) -> None:
        """systemd: job_emit_done_message(), service_finished_job()"""
        rt = self.runtime_of(unit)
        if rt is None:
            return
        name = rt.status_string() if hasattr(rt, "status_string") else unit
        if isinstance(rt, Service) and t is JobType.START and result is JobResult.DONE:
            if not rt.condition_result:
                ev_ = rt.condition_evaluation
                if ev_ is not None and not ev_.ok:  # a Condition*= (not ExecCondition=) failed
                    text = skip_message(name, ev_)
                else:
                    text = f"Condition check resulted in {name} being skipped."
                self._status_message(rt, text)
                return
            if rt.type is ServiceType.ONESHOT:
                self._status_message(rt, f"Finished {name}.")
                return
        if t is JobType.VERIFY_ACTIVE and result is not JobResult.SKIPPED:
            return
        line = done_message(rt.kind if isinstance(rt, Target) else "service", str(t), result, name)
        if line is not None and result is not JobResult.CANCELED:
            self.emit(Log(line.message, unit, line.priority, self._invocation_id(unit)))

    # ------------------------------------------------------------------ state changes

    def unit_changed(self, name: str, old: ActiveState, new: ActiveState, *, reload_success: bool = True) -> None:
        """Job completion and dependency consequences of a unit's state change.
        # spec: dependencies-and-jobs.md §1.2, §3.3   # systemd: unit_notify()"""
        job = self.jobs.get(name)
        unexpected = True
        if job is not None:
            result, unexpected = process_job(job, new, reload_success=reload_success)
            if result is not None:
                self._finish_job(job, result)
            elif self.jobs.get(name) is job and job.state == "waiting":
                self.jobs.enqueue(job)  # it may be runnable now (it got EAGAIN before)
        if old is new:
            return
        if unexpected and new is not A.RELOADING and not self.shutting_down:
            for req in retroactive_jobs(self.graph, name, old, new, _States(self)):
                self._enqueue_consequence(req)
        checks = units_to_recheck(self.graph, name, new)
        for kind, units in checks.items():
            self._pending_checks.setdefault(kind, {}).update(dict.fromkeys(units))

    def _enqueue_consequence(self, req: JobRequest) -> None:
        if self.runtime_of(req.unit) is None:
            return
        if req.message:
            self.emit(Log(f"{req.unit}: {req.message}", req.unit, Priority.INFO, self._invocation_id(req.unit)))
        e = self.enqueue_job(req.unit, req.type, req.mode)
        if e is not None:
            self._log_debug(req.unit, f"Failed to enqueue {req.type} job, ignoring: {e.message}")

    def _dispatch_checks(self) -> bool:
        """StopWhenUnneeded=, BindsTo= on an inactive unit, Upholds=; True if any job was
        enqueued. # systemd: manager_dispatch_stop_when_unneeded_queue(),
        manager_dispatch_stop_when_bound_queue(), manager_dispatch_start_when_upheld_queue()"""
        pending, self._pending_checks = self._pending_checks, {}
        if not pending or self.shutting_down:
            return False
        states = _States(self)
        has_job = self.jobs.by_unit  # truthy where a unit has a job
        will_restart = _WillRestart(self.services)
        reqs: list[tuple[str, JobRequest]] = []
        for name in pending.get("stop-when-unneeded", {}):
            if (r := stop_when_unneeded_check(self.graph, name, states, has_job, will_restart)) is not None:
                reqs.append(("stop-when-unneeded", r))
        for name in pending.get("bound-by-inactive", {}):
            if (r := bound_by_inactive_check(self.graph, name, states, has_job)) is not None:
                reqs.append(("bound-by-inactive", r))
        for name in pending.get("upheld", {}):
            if (r := upheld_check(self.graph, name, states, has_job, will_restart)) is not None:
                reqs.append(("upheld", r))
        enqueued = False
        for kind, r in reqs:
            if self.jobs.get(r.unit) is not None or not self._auto_start_stop_below(kind, r):
                continue
            self._enqueue_consequence(r)
            enqueued = True
        return enqueued

    def _auto_start_stop_below(self, kind: str, r: JobRequest) -> bool:
        """At most 16 automatic starts/stops of a unit per 10 s; over that, the check is tried
        again when the window ends. # systemd: manager_ratelimit_check_and_queue()
        (v257 wording from the source, not observed)"""
        limit = self._auto_start_stop.setdefault(r.unit, StartLimit(AUTO_START_STOP_INTERVAL_USEC,
                                                                    AUTO_START_STOP_BURST))
        if limit.below(self.now):
            return True
        culprit = (r.message or "").rstrip(".").rsplit(" ", 1)[-1]
        why = {"stop-when-unneeded": "Unit not needed anymore, but not stopping",
               "bound-by-inactive": f"Unit needs to be stopped because it is bound to inactive unit {culprit} it, "
                                    f"but not stopping",
               "upheld": f"Unit needs to be started because active unit {culprit} upholds it, but not doing so"}[kind]
        self.emit(Log(f"{r.unit}: {why} since we tried this too often recently. Will retry later.", r.unit,
                      Priority.WARNING, self._invocation_id(r.unit)))
        assert limit.begin is not None
        self._recheck_at[(kind, r.unit)] = limit.begin + limit.interval_usec + 1
        return False

    def _due_rechecks(self) -> None:
        for key, when in list(self._recheck_at.items()):
            if when <= self.now:
                del self._recheck_at[key]
                self._pending_checks.setdefault(key[0], {})[key[1]] = None


# systemd's bus error for a refused transaction's errno (systemctl turns it into its exit status)
_ERRNO_BUS_ERRORS = {
    "ENOENT": "NoSuchUnit", "ERFKILL": "UnitMasked", "ENOEXEC": "BadUnitSetting", "EBADR": "JobTypeNotApplicable",
    "EPERM": "NoIsolation", "ELOOP": "TransactionOrderIsCyclic", "EBUSY": "TransactionIsDestructive",
}
