"""Serialise the engine's runtime state, and restore it into a fresh manager.

A restarted manager (after `daemon-reexec`, or after the manager itself crashed) builds a
new `Manager` from the unit files and calls `import_all()` with the last `export_all()`.
Monotonic timestamps stay valid across manager restarts within one boot, so deadlines
(auto-restart, timeouts, watchdog) and the start-limit window are restored as absolute
values: a unit in `auto-restart` restarts at the same instant it would have.

Rules of the restore (systemd's `service_coldplug()` is the model; where systemd cannot
lose a child's exit status, sysvisor can, and the rule says what it does then):

* A unit whose recorded processes are alive continues in its state with the same pids,
  counters, limiter window, timestamps, invocation ID and job.
* A recorded main or control process that is gone (per `alive(pid)`; the shell checks the
  process start time so a reused pid counts as gone) exited while nobody watched, with an
  unknown status. systemd's only path for a process whose exit status it cannot collect
  is the alien main PID (`main_pid_good()` → `pidref_is_alive()`): the unit then goes on
  with Result `success` (`service_enter_running(s, SERVICE_SUCCESS)` from
  `service_notify_cgroup_empty_event()`). sysvisor does the same for every vanished
  process: it feeds `ProcessExited(pid, code=exited, status=0)` through the engine after
  logging that the status is unknown. So, per state:
    - running: ExecStop=/ExecStopPost= run, the unit ends `dead` with Result success;
      Restart=always/on-success restart it, on-failure does not;
    - condition/start-pre/start-post/stop/stop-post (control process gone): the next
      command of the list runs, as after a successful exit;
    - start (main of Type=oneshot/exec/notify gone): as a clean exit of the main process
      in that state (oneshot → start-post; notify without READY=1 → `protocol`);
    - stop-sigterm/stop-sigkill/final-*: the process we were waiting for is gone: the
      stop sequence moves on;
    - auto-restart, dead, failed, exited: no process to check; the restart deadline is
      restored exactly.
* A unit waiting for its PID file gets `ReadPidFile` again (the shell's watch was lost);
  a Type=exec unit in `start` keeps waiting: the shell feeds `ExecSucceeded` for the
  pids `awaiting_exec()` lists (the exec-status pipe did not survive the restart).
* A watchdog deadline that passed while no manager ran is re-armed one full
  WatchdogSec= from now: pings sent in the gap were lost, not missed (systemd re-arms
  from the last ping, `service_start_watchdog()`, but has no gap).
* The start limit keeps its window; its counter is kept only if StartLimitIntervalSec=/
  StartLimitBurst= did not change — # systemd: src/shared/serialize.c deserialize_ratelimit().
* The invocation-ID generator is not restored: a fresh seed cannot repeat old IDs.
* Timer units keep what systemd's timer_serialize()/unit_serialize_state() keep: sub-state,
  result, last trigger, invocation ID, start limit and the unit timestamps. Their next
  elapse is computed again by `TimerUnit.coldplug()` (timer_coldplug()): OnActiveSec=
  counts from the restore and RandomizedDelaySec= is drawn again, as systemd 257 does
  after daemon-reexec (tests/data/oracle/timer/reexec.json). A snapshot without "timers"
  (older sysvisor) restores none; `manager.timers.restored` tells the shell which.

# spec: issue 5 ("surviving its own crash"); restart-and-failure.md §5.2 (limiter)
"""

from __future__ import annotations

import dataclasses
from collections import deque
from contextlib import contextmanager
from typing import Callable

from sysvisor.core import events as ev
from sysvisor.core.actions import Action, Log, ReadPidFile
from sysvisor.core.job import Job
from sysvisor.core.service import ExecRun, ExecStatus, Service
from sysvisor.core.timer import DualTimestamp, TimerResult, TimerState
from sysvisor.core.ratelimit import StartLimit
from sysvisor.core.types import (
    ExitCode,
    JobMode,
    JobType,
    NotifyAccess,
    Priority,
    ServiceResult,
    ServiceState,
    ServiceType,
)
from sysvisor.core.units import ExecCommand

SNAPSHOT_VERSION = 1
S = ServiceState

# the unit timestamps of unit_notify() (Service.ts)
_TIMESTAMPS = (
    "StateChangeTimestampMonotonic",
    "InactiveExitTimestampMonotonic",
    "ActiveEnterTimestampMonotonic",
    "ActiveExitTimestampMonotonic",
    "InactiveEnterTimestampMonotonic",
)


# TimerUnit's unit_notify() timestamps: (snapshot key, attribute)
_TIMER_TIMESTAMPS = (
    ("StateChange", "state_change_timestamp"),
    ("InactiveExit", "inactive_exit_timestamp"),
    ("ActiveEnter", "active_enter_timestamp"),
    ("ActiveExit", "active_exit_timestamp"),
    ("InactiveEnter", "inactive_enter_timestamp"),
)


class SnapshotError(ValueError):
    """A snapshot cannot be restored (wrong version, malformed field)."""


# ---------------------------------------------------------------------- export


def _status(st: ExecStatus) -> dict:
    return {"pid": st.pid, "start": st.start_usec, "exit": st.exit_usec, "code": st.code, "status": st.status}


def _run(svc: Service, run: ExecRun | None) -> dict | None:
    if run is None:
        return None
    return {
        "phase": run.phase,
        "index": run.index,
        "is_main": run.is_main,
        "spawn_id": run.spawn_id,
        "path": run.command.path,
        "argv": list(run.command.argv),
        "ignore_failure": run.command.ignore_failure,
        "status": _status(run.status),
        # the run's status object is the one shown for its Exec* line (not for adopted pids)
        "listed": svc.exec_status.get((run.phase, run.index)) is run.status,
    }


def export_unit(manager, name: str) -> dict:
    """Everything a restarted manager needs to continue unit `name` exactly (JSON-safe).
    # spec: issue 5"""
    svc: Service = manager.services[name]
    if svc._pending:
        raise SnapshotError(f"{name}: a spawn is pending; snapshot between handle() calls only")
    lim = svc.start_limit
    return {
        "ActiveState": str(svc.active_state),
        "SubState": str(svc.state),
        "Result": str(svc.result),
        "ReloadResult": str(svc.reload_result),
        "NRestarts": svc.n_restarts,
        "MainPID": svc.main_pid,
        "ControlPID": svc.control_pid,
        "InvocationID": svc.invocation_id,
        "StatusText": svc.status_text,
        "StatusErrno": svc.status_errno,
        "ExecMain": _status(svc.main_exec_status),
        "exec_status": [
            {"phase": p, "index": i, **_status(st)} for (p, i), st in sorted(svc.exec_status.items())
        ],
        "main": _run(svc, svc.main),
        "control": _run(svc, svc.control),
        "main_pid_known": svc.main_pid_known,
        "main_pid_alien": svc.main_pid_alien,
        "main_command_index": svc.main_command_index,
        "control_phase": svc.control_phase,
        "control_index": svc.control_index,
        "start_limit": {"begin": lim.begin, "num": lim.num, "interval": lim.interval_usec, "burst": lim.burst},
        "start_limit_hit": svc.start_limit_hit,
        "condition_result": svc.condition_result,
        "flush_n_restarts": svc.flush_n_restarts,
        "forbid_restart": svc.forbid_restart,
        "populated": svc.populated,
        "notify_state": svc.notify_state,
        "notify_access_override": None if svc.notify_access_override is None else str(svc.notify_access_override),
        "timer": svc.timer,
        "watchdog_deadline": svc.watchdog_deadline,
        "watchdog_override_usec": svc.watchdog_override_usec,
        "watchdog_timestamp": svc.watchdog_timestamp,
        "restart_usec_next": svc.restart_usec_next,
        "reload_begin_usec": svc.reload_begin_usec,
        "awaiting_pid_file": svc._awaiting_pid_file,
        "timestamps": {k: svc.ts.get(k, 0) for k in _TIMESTAMPS},
        "monitor_env": None if svc.monitor_env is None else dict(svc.monitor_env),
        "monitor_env_next": None if svc.monitor_env_next is None else dict(svc.monitor_env_next),
    }


def _job(job: Job) -> dict:
    return {
        "id": job.id,
        "unit": job.unit,
        "type": str(job.type),
        "mode": str(job.mode),
        "state": job.state,
        "requests": list(job.requests),
        "request_types": [str(t) for t in job.request_types],
        "message": job.message,
        "deadline": job.deadline,
        "irreversible": job.irreversible,
        "ignore_order": job.ignore_order,
    }


def export_target(target) -> dict:
    """A target's runtime: active or not, invocation ID, unit timestamps.
    # systemd: target_serialize(), unit_serialize_state()"""
    return {"SubState": target.sub_state, "InvocationID": target.invocation_id, "timestamps": dict(target.ts)}


def _dual(ts) -> list[int]:
    return [ts.realtime, ts.monotonic]


def export_timer(timer) -> dict:
    """A timer unit's runtime state: what timer_serialize() and unit_serialize_state()
    write (state, result, last trigger, invocation ID, start limit, unit timestamps). The
    next elapse is not saved: coldplug computes it again. # systemd: timer_serialize()"""
    lim = timer.start_limit
    return {
        "SubState": str(timer.state),
        "Result": str(timer.result),
        "LastTrigger": _dual(timer.last_trigger),
        "InvocationID": timer.invocation_id,
        "start_limit": {"begin": lim.begin, "num": lim.num, "interval": lim.interval_usec, "burst": lim.burst},
        "start_limit_hit": timer.start_limit_hit,
        "timestamps": {k: _dual(getattr(timer, attr)) for k, attr in _TIMER_TIMESTAMPS},
    }


def export_all(manager, units: object = None) -> dict:
    """The whole engine state: every service unit, the job table, manager counters.
    `units`: what to put under "units" instead of exporting every service (daemon/persist.py
    exports only the services that changed and joins the JSON itself). # spec: issue 5"""
    jobs = manager.jobs
    return {
        "version": SNAPSHOT_VERSION,
        "saved_at": manager.now,
        "units": {name: export_unit(manager, name) for name in sorted(manager.services)} if units is None else units,
        "timers": {name: export_timer(t) for name, t in sorted(manager.timers.timers.items())},
        # MANAGER_TIMESTAMP_USERSPACE: OnStartupSec= keeps counting from the first start
        "timer_startup_monotonic": manager.timers.ctx.startup_monotonic,
        "targets": {name: export_target(t) for name, t in sorted(manager.targets.items())},
        "jobs": [_job(j) for _, j in sorted(jobs.by_unit.items())],
        "run_queue": [j.id for j in jobs.run_queue if jobs.by_unit.get(j.unit) is j],
        "next_job_id": jobs._next_id,
        "next_spawn_id": manager._next_spawn,
        "pid_owner": {str(pid): svc.name for pid, svc in sorted(manager._pid_owner.items())},
        "activation_seq": manager._activation_seq,
        "activated_at": dict(sorted(manager._activated_at.items())),
        "pending_start_message": {u: j.id for u, j in sorted(manager._pending_start_message.items())},
        "shutting_down": manager.shutting_down,
        "shutdown_queue": list(manager._shutdown_queue),
        "shutdown_exit_status": manager._shutdown_exit_status,
        "exited": manager._exited,
    }


# ---------------------------------------------------------------------- import


def restore_start_limit(limit: StartLimit, begin: int | None, num: int, interval: int, burst: int) -> None:
    """Carry a saved limiter window into `limit` (configured from the current unit file).
    The window begin is always kept; the counter only if the configuration did not change.
    # systemd: src/shared/serialize.c deserialize_ratelimit()"""
    limit.begin = begin
    limit.num = num if (interval == limit.interval_usec and burst == limit.burst) else 0


def _int(d: dict, key: str, *, optional: bool = False) -> int | None:
    v = d[key]
    if v is None and optional:
        return None
    if not isinstance(v, int) or isinstance(v, bool):
        raise SnapshotError(f"field {key!r} must be an integer, got {v!r}")
    return v


def _str(d: dict, key: str, *, optional: bool = False) -> str | None:
    v = d[key]
    if v is None and optional:
        return None
    if not isinstance(v, str):
        raise SnapshotError(f"field {key!r} must be a string, got {v!r}")
    return v


def _bool(d: dict, key: str) -> bool:
    v = d[key]
    if not isinstance(v, bool):
        raise SnapshotError(f"field {key!r} must be a boolean, got {v!r}")
    return v


@contextmanager
def _decoding(malformed: str, bad_value: str):
    """Turn what malformed content raises into one SnapshotError: `malformed (…)` for a
    missing or mistyped field, `bad_value (…)` for a value out of its domain."""
    try:
        yield
    except (KeyError, TypeError, AttributeError) as e:
        raise SnapshotError(f"{malformed} ({type(e).__name__}: {e})") from None
    except ValueError as e:
        if isinstance(e, SnapshotError):
            raise
        raise SnapshotError(f"{bad_value} ({e})") from None


def _record(name: str, what: str):
    """`_decoding` for one unit's record, naming the unit."""
    return _decoding(f"{name}: malformed {what}", f"{name}: bad value")


def _decode_status(d: dict) -> ExecStatus:
    st = ExecStatus(_int(d, "pid"), _int(d, "start"), _int(d, "exit"), _int(d, "code"), _int(d, "status"))
    ExitCode(st.code)  # validates
    return st


def _env(d: dict, key: str) -> dict[str, str] | None:
    v = d[key]
    if v is None:
        return None
    if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
        raise SnapshotError(f"field {key!r} must map strings to strings")
    return dict(v)


def _decode_run(svc: Service, d: dict | None, exec_status: dict) -> ExecRun | None:
    if d is None:
        return None
    phase, index = _str(d, "phase"), _int(d, "index")
    status = _decode_status(d["status"])
    if _bool(d, "listed"):
        listed = exec_status.get((phase, index))
        if listed is None:
            raise SnapshotError(f"{svc.name}: {phase}[{index}] is running but has no status record")
        if (listed.pid, listed.code) != (status.pid, status.code):
            raise SnapshotError(f"{svc.name}: {phase}[{index}] status disagrees with its record")
        status = listed  # one object, as Service shares it
    try:
        commands = svc._commands(phase)
    except KeyError:
        raise SnapshotError(f"{svc.name}: unknown exec command list {phase!r}") from None
    argv = d["argv"]
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise SnapshotError(f"{svc.name}: field 'argv' must be a list of strings")
    path = _str(d, "path")
    if index < len(commands) and commands[index].path == path and list(commands[index].argv) == argv:
        command = commands[index]
    else:
        # the unit file changed under a running command: keep what actually runs
        command = ExecCommand(path, tuple(argv), ignore_failure=_bool(d, "ignore_failure"))
    return ExecRun(phase, index, command, _bool(d, "is_main"), _int(d, "spawn_id"), status)


def _decode_unit(svc: Service, d: dict) -> dict:
    """Validate one unit's record; returns the attribute values to set."""
    with _record(svc.name, "unit record"):
        exec_status: dict[tuple[str, int], ExecStatus] = {}
        for rec in d["exec_status"]:
            exec_status[(_str(rec, "phase"), _int(rec, "index"))] = _decode_status(rec)
        lim = d["start_limit"]
        ts = d["timestamps"]
        values = {
            "state": ServiceState(_str(d, "SubState")),
            "result": ServiceResult(_str(d, "Result")),
            "reload_result": ServiceResult(_str(d, "ReloadResult")),
            "n_restarts": _int(d, "NRestarts"),
            "invocation_id": _str(d, "InvocationID"),
            "status_text": _str(d, "StatusText"),
            "status_errno": _int(d, "StatusErrno"),
            "main_exec_status": _decode_status(d["ExecMain"]),
            "exec_status": exec_status,
            "main": _decode_run(svc, d["main"], exec_status),
            "control": _decode_run(svc, d["control"], exec_status),
            "main_pid_known": _bool(d, "main_pid_known"),
            "main_pid_alien": _bool(d, "main_pid_alien"),
            "main_command_index": _int(d, "main_command_index", optional=True),
            "control_phase": _str(d, "control_phase", optional=True),
            "control_index": _int(d, "control_index"),
            "_limit": (_int(lim, "begin", optional=True), _int(lim, "num"), _int(lim, "interval"), _int(lim, "burst")),
            "start_limit_hit": _bool(d, "start_limit_hit"),
            "condition_result": _bool(d, "condition_result"),
            "flush_n_restarts": _bool(d, "flush_n_restarts"),
            "forbid_restart": _bool(d, "forbid_restart"),
            "populated": _bool(d, "populated"),
            "notify_state": _str(d, "notify_state"),
            "notify_access_override": None if d["notify_access_override"] is None
            else NotifyAccess(_str(d, "notify_access_override")),
            "timer": _int(d, "timer", optional=True),
            "watchdog_deadline": _int(d, "watchdog_deadline", optional=True),
            "watchdog_override_usec": _int(d, "watchdog_override_usec", optional=True),
            "watchdog_timestamp": _int(d, "watchdog_timestamp"),
            "restart_usec_next": _int(d, "restart_usec_next"),
            "reload_begin_usec": _int(d, "reload_begin_usec"),
            "_awaiting_pid_file": _str(d, "awaiting_pid_file", optional=True),
            "ts": {k: _int(ts, k) for k in _TIMESTAMPS},
            "monitor_env": _env(d, "monitor_env"),
            "monitor_env_next": _env(d, "monitor_env_next"),
        }
    if values["notify_state"] not in ("unknown", "ready", "reloading", "stopping"):
        raise SnapshotError(f"{svc.name}: bad notify_state {values['notify_state']!r}")
    return values


def _decode_dual(d: dict, key: str) -> DualTimestamp:
    v = d[key]
    if (not isinstance(v, list) or len(v) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v)):
        raise SnapshotError(f"field {key!r} must be [realtime, monotonic]")
    return DualTimestamp(v[0], v[1])


def _decode_timer(name: str, d: dict) -> dict:
    """Validate one timer's record. # systemd: timer_deserialize_item()"""
    with _record(name, "timer record"):
        lim, ts = d["start_limit"], d["timestamps"]
        return {
            "state": TimerState(_str(d, "SubState")),
            "result": TimerResult(_str(d, "Result")),
            "last_trigger": _decode_dual(d, "LastTrigger"),
            "invocation_id": _str(d, "InvocationID"),
            "_limit": (_int(lim, "begin", optional=True), _int(lim, "num"), _int(lim, "interval"), _int(lim, "burst")),
            "start_limit_hit": _bool(d, "start_limit_hit"),
            **{attr: _decode_dual(ts, key) for key, attr in _TIMER_TIMESTAMPS},
        }


def _decode_target(name: str, d: dict) -> tuple[bool, str, dict[str, int]]:
    with _record(name, "target record"):
        sub = _str(d, "SubState")
        if sub not in ("active", "dead"):
            raise SnapshotError(f"{name}: bad target state {sub!r}")
        ts = d["timestamps"]
        return sub == "active", _str(d, "InvocationID"), {str(k): _int(ts, k) for k in ts}


def _apply_timers(manager, decoded: dict[str, dict], out: list[Action]) -> None:
    """Put the saved runtime state back, then continue each timer in its saved state.
    # systemd: timer_deserialize_item(), timer_coldplug()"""
    now = manager.now_pair()
    for name in sorted(decoded):
        timer, values = manager.timers[name], dict(decoded[name])
        state = values.pop("state")
        restore_start_limit(timer.start_limit, *values.pop("_limit"))
        for key, value in values.items():
            setattr(timer, key, value)
        out.extend(timer.coldplug(now, state))
    manager.timers.restored = True


def _decode_job(d: dict, services) -> Job:
    try:
        unit = _str(d, "unit")
        if unit not in services:
            raise SnapshotError(f"job for unknown unit {unit!r}")
        requests = d["requests"]
        if not isinstance(requests, list) or not all(r is None or isinstance(r, int) for r in requests):
            raise SnapshotError("job field 'requests' must be a list of integers")
        state = _str(d, "state")
        if state not in ("waiting", "running"):
            raise SnapshotError(f"bad job state {state!r}")
        job = Job(_int(d, "id"), unit, JobType(_str(d, "type")), JobMode(_str(d, "mode")), state,
                  list(requests), [JobType(t) for t in d["request_types"]], _str(d, "message"))
        # absent in snapshots of a sysvisor before the transaction engine
        job.deadline = _int(d, "deadline", optional=True)
        job.irreversible = bool(d.get("irreversible", False))
        job.ignore_order = bool(d.get("ignore_order", False))
        return job
    except (KeyError, TypeError) as e:
        raise SnapshotError(f"malformed job record ({type(e).__name__}: {e})") from None
    except ValueError as e:
        if isinstance(e, SnapshotError):
            raise
        raise SnapshotError(f"bad job value ({e})") from None


def _apply_unit(svc: Service, values: dict) -> None:
    begin, num, interval, burst = values.pop("_limit")
    restore_start_limit(svc.start_limit, begin, num, interval, burst)
    for key, value in values.items():
        setattr(svc, key, value)


def import_all(manager, snapshot: dict, now: int, alive: Callable[[int], bool], *,
               carry_out: Callable[[list[Action]], None] | None = None) -> list[Action]:
    """Restore `snapshot` into a freshly constructed `manager` at monotonic time `now`.

    `alive(pid)` says whether a recorded process still runs (and is the same process).
    Returns the actions to carry out (logs, re-requested PID files, and whatever the
    engine does for processes that vanished meanwhile). Raises SnapshotError, before
    changing anything, when the snapshot is unusable.

    `carry_out`: the shell's executor. When given, every batch of actions goes to it in
    order as soon as it exists (and the function returns []), so the shell answers each
    `Spawn` before the next vanished process's exit reaches the engine, as the event
    contract requires. Without it the engine sees those exits back to back.
    # spec: issue 5; module docstring for the per-state rules
    """
    if not isinstance(snapshot, dict) or snapshot.get("version") != SNAPSHOT_VERSION:
        got = snapshot.get("version") if isinstance(snapshot, dict) else type(snapshot).__name__
        raise SnapshotError(f"unsupported snapshot version {got!r} (expected {SNAPSHOT_VERSION})")
    with _decoding("malformed snapshot", "bad snapshot value"):
        units = snapshot["units"]
        if not isinstance(units, dict):
            raise SnapshotError("field 'units' must be an object")
        decoded = {name: _decode_unit(manager.services[name], d)
                   for name, d in units.items() if name in manager.services}
        # jobs of units that are no longer loaded go with their units
        runnable = set(manager.services) | set(manager.timers.timers) | set(manager.targets)
        jobs = [_decode_job(d, runnable) for d in snapshot["jobs"]
                if not isinstance(d, dict) or d.get("unit") in runnable]
        by_id = {j.id: j for j in jobs}
        if len(by_id) != len(jobs) or len({j.unit for j in jobs}) != len(jobs):
            raise SnapshotError("duplicate job ids or several jobs for one unit")
        run_queue = [by_id[i] for i in snapshot["run_queue"] if i in by_id]
        pending = {u: by_id[i] for u, i in snapshot["pending_start_message"].items() if i in by_id}
        pid_owner = {int(pid): name for pid, name in snapshot["pid_owner"].items()}
        activated_at = {str(k): int(v) for k, v in snapshot["activated_at"].items()}
        counters = {k: _int(snapshot, k) for k in
                    ("next_job_id", "next_spawn_id", "activation_seq", "shutdown_exit_status")}
        shutting_down, exited = _bool(snapshot, "shutting_down"), _bool(snapshot, "exited")
        shutdown_queue = [str(u) for u in snapshot["shutdown_queue"] if u in manager.services]
        # a snapshot of a sysvisor before timers were saved has no "timers"
        timers = snapshot.get("timers")
        if timers is not None and not isinstance(timers, dict):
            raise SnapshotError("field 'timers' must be an object")
        decoded_timers = {name: _decode_timer(name, d) for name, d in (timers or {}).items()
                          if name in manager.timers}
        startup = _int(snapshot, "timer_startup_monotonic") if "timer_startup_monotonic" in snapshot else None
        targets = snapshot.get("targets")  # absent before targets were units
        if targets is not None and not isinstance(targets, dict):
            raise SnapshotError("field 'targets' must be an object")
        decoded_targets = {name: _decode_target(name, d) for name, d in (targets or {}).items()
                           if name in manager.targets}

    # --- apply (nothing below raises on snapshot content)
    out: list[Action] = []
    manager.now = now
    for name in sorted(set(units) - set(manager.services)):
        pids = [p for p in (units[name].get("MainPID"), units[name].get("ControlPID")) if p]
        left = f"; its processes ({', '.join(map(str, pids))}) are left alone" if pids else ""
        out.append(Log(f"{name}: Unit in the saved state is no longer loaded, dropping its state{left}.",
                       name, Priority.WARNING))
    for name, values in decoded.items():
        _apply_unit(manager.services[name], values)
    table = manager.jobs
    table.by_unit = {j.unit: j for j in jobs}
    table.run_queue = deque(run_queue)
    table._next_id = max([counters["next_job_id"], *(j.id + 1 for j in jobs)])
    manager._next_spawn = counters["next_spawn_id"]
    manager._activation_seq = counters["activation_seq"]
    manager._activated_at = {k: v for k, v in activated_at.items() if k in manager.services}
    manager._pending_start_message = pending
    manager.shutting_down = shutting_down
    manager._shutdown_queue = shutdown_queue
    manager._shutdown_exit_status = counters["shutdown_exit_status"]
    manager._exited = exited
    manager._spawn_owner = {}
    manager._pid_owner = {pid: manager.services[n] for pid, n in pid_owner.items() if n in manager.services}
    for name in decoded:
        svc = manager.services[name]
        for pid in svc.pids():  # never lose the route of a tracked process
            manager._pid_owner.setdefault(pid, svc)
    for name in sorted(set(timers or {}) - set(manager.timers.timers)):
        out.append(Log(f"{name}: Timer in the saved state is no longer loaded, dropping its state.",
                       name, Priority.WARNING))
    if startup is not None:
        manager.timers.set_context(dataclasses.replace(manager.timers.ctx, startup_monotonic=startup))
    if timers is not None:
        _apply_timers(manager, decoded_timers, out)
    for name, (active, invocation_id, ts) in decoded_targets.items():
        t = manager.targets[name]
        t.active, t.invocation_id, t.ts = active, invocation_id, ts
    manager.targets_restored = targets is not None

    return _continue(manager, decoded, now, alive, out, carry_out)


def _continue(manager, names, now: int, alive: Callable[[int], bool], out: list[Action],
              carry_out: Callable[[list[Action]], None] | None) -> list[Action]:
    """Reconcile restored units with the processes that actually exist now."""
    vanished: list[tuple[Service, int, str]] = []
    reindex_deadlines(manager)
    for name in sorted(names):
        svc: Service = manager.services[name]
        # the watchdog deadline passed while nobody listened: one full period from now
        if svc.watchdog_deadline is not None and svc.watchdog_deadline < now:
            usec = svc._watchdog_usec()
            svc.watchdog_deadline = now + usec
            out.append(Log(f"{name}: Watchdog deadline passed while the manager was not running; "
                           f"re-armed for one period.", name, Priority.NOTICE, svc.invocation_id or None))
        for kind, pid in (("Main", svc.main_pid), ("Control", svc.control_pid)):
            if pid and not alive(pid):
                vanished.append((svc, pid, kind))
        if svc._awaiting_pid_file and svc.state in (S.START, S.START_POST):
            out.append(ReadPidFile(name, svc.cfg.pid_file))
    for svc, pid, kind in vanished:
        out.append(Log(f"{svc.name}: {kind} process {pid} vanished while the manager was not running; "
                       f"exit status unknown, treating it as exited successfully.",
                       svc.name, Priority.NOTICE, svc.invocation_id or None))
        if carry_out is not None:
            carry_out(out)
            out = []
        out.extend(manager.handle(ev.ProcessExited(pid, ExitCode.EXITED, 0), now))
    if carry_out is not None:
        carry_out(out)
        return []
    return out


def reindex_deadlines(manager) -> None:
    """Timers set from outside `handle()` (restore, reload) must enter the manager's
    deadline index, or `next_deadline()` keeps answering from the old ones."""
    manager._touched.update(manager.services.values())
    manager._reindex()


def tracked_pids(manager) -> dict[int, str]:
    """pid → unit for every process the engine routes events of (the shell's exit routing
    must be rebuilt from this after a restore)."""
    return {pid: svc.name for pid, svc in sorted(manager._pid_owner.items())}


def awaiting_exec(manager) -> list[int]:
    """Main pids of Type=exec units still in `start`, waiting for `ExecSucceeded`.

    The exec-status pipe does not survive a manager restart; the shell feeds
    `ExecSucceeded(pid)` for each of these that is alive after the restore: a process
    still running after the gap got through execve() long ago (its setup takes
    milliseconds), and a failed execve() shows as the process's exit status.
    # systemd: service_dispatch_exec_io() (systemd keeps the pipe across reexec)"""
    return [svc.main_pid for _, svc in sorted(manager.services.items())
            if svc.type is ServiceType.EXEC and svc.state is S.START and svc.main_pid]
