"""`daemon-reload`: swap in freshly loaded unit configs, keep every unit's runtime.

Rules (systemd's manager_reload() serialises every unit, reloads all unit files, and
deserialises the runtime into the new configs; the observations are in
tests/data/oracle/reload/, systemd 257):

* A unit that is still loaded gets its new config; its runtime stays: state, Result,
  pids, NRestarts, timestamps, invocation ID, job. New settings act from the next step
  that reads them (the next spawn, restart, stop, start) and on the armed timers (below).
* A command that is running right now keeps running. If the unit file no longer has the
  same command at the same position, the rest of that command list is not resumed —
  # systemd: service_deserialize_exec_command() "Current command vanished from the unit
  file, execution of the command list won't be resumed."
* Armed timers are re-armed from the new config the way systemd's coldplug does it:
  starting/reloading states at StateChange + TimeoutStartSec=, running at ActiveEnter +
  RuntimeMaxSec=, stopping states at StateChange + TimeoutStopSec= (TimeoutAbortSec= for
  the watchdog states), auto-restart at its entry + the next RestartSec= step, the
  watchdog at the last ping + WatchdogSec= — # systemd: service_coldplug_timeout(),
  service_start_watchdog(). So a shorter RestartSec= makes a pending restart come sooner.
* The start limiter keeps its window begin; its counter survives only if
  StartLimitIntervalSec=/StartLimitBurst= did not change —
  # systemd: src/shared/serialize.c deserialize_ratelimit().
* New units are added, inactive.
* A unit whose file is gone: dropped if it is inactive (dead) with no job; otherwise it
  stays loaded as `not-found` with its processes and state until it is stopped or exits
  (observed: `LoadState=not-found ActiveState=active SubState=running`, same MainPID, and
  after `stop` it leaves list-units). Failed units stay too (systemd does not collect
  failed units by default, CollectMode=inactive). `collect_garbage()` drops such units
  once they are dead.
* A unit that is still there but no longer loads (masked, bad setting) follows the same
  rule as a removed one, with its new load state.

# spec: issue 5 (daemon-reload); restart-and-failure.md §5.2 (limiter)
"""

from __future__ import annotations

import dataclasses

from sysvisor.core.actions import Action, Log
from sysvisor.core.ratelimit import StartLimit
from sysvisor.core.service import ExecRun, Service
from sysvisor.core.restart import restart_delay
from sysvisor.core.snapshot import restore_start_limit
from sysvisor.core.types import USEC_INFINITY, ActiveState, LoadState, Priority, ServiceState
from sysvisor.core.units import Unit

_VANISHED = "Current command vanished from the unit file, execution of the command list won't be resumed."


def _runs_service(unit: Unit) -> bool:
    # the condition under which Manager.__init__ creates a Service
    return unit.service is not None and unit.kind == "service" and unit.load_state is LoadState.LOADED


def _same_command(svc: Service, run: ExecRun) -> bool:
    commands = svc._commands(run.phase)
    if run.index >= len(commands):
        return False
    new = commands[run.index]
    return new.path == run.command.path and new.argv == run.command.argv


def _retarget(svc: Service, unit: Unit, out: list[Action]) -> None:
    """Give a live Service its new config, keeping its runtime."""
    old_limit = svc.start_limit
    svc.unit = unit
    svc.name = unit.name
    svc.cfg = unit.service
    svc.type = svc.cfg.effective_type
    limit = StartLimit(unit.unit.start_limit_interval_usec, unit.unit.start_limit_burst)
    restore_start_limit(limit, old_limit.begin, old_limit.num, old_limit.interval_usec, old_limit.burst)
    svc.start_limit = limit
    _rearm(svc)
    for run in (svc.main, svc.control):
        if run is None or not run.alive or _same_command(svc, run):
            continue
        out.append(Log(f"{svc.name}: {_VANISHED}", svc.name, Priority.WARNING, svc.invocation_id or None))
        past_end = len(svc._commands(run.phase))
        if run is svc.control:
            run.index = past_end  # _on_control_exited(): no next command
            svc.control_index = past_end
        elif run.phase == "ExecStart":
            svc.main_command_index = past_end  # _on_main_exited(): no next ExecStart= (oneshot)


S = ServiceState
_START_TIMEOUT_STATES = (S.CONDITION, S.START_PRE, S.START, S.START_POST, S.RELOAD, S.RELOAD_SIGNAL,
                         S.RELOAD_NOTIFY)
_STOP_TIMEOUT_STATES = (S.STOP, S.STOP_SIGTERM, S.STOP_SIGKILL, S.STOP_POST, S.FINAL_SIGTERM, S.FINAL_SIGKILL)
_WATCHDOG_STATES = (S.START_POST, S.RUNNING, S.RELOAD, S.RELOAD_SIGNAL, S.RELOAD_NOTIFY)


def _add(base: int, usec: int) -> int | None:
    return None if usec == USEC_INFINITY else base + usec


def _rearm(svc: Service) -> None:
    """Re-arm the unit timer and the watchdog from the (new) config.
    # systemd: service_coldplug_timeout(), service_start_watchdog()"""
    if svc.timer is not None:  # only a timer that is armed: states without one keep none
        cfg, ts, state = svc.cfg, svc.ts, svc.state
        if state in _START_TIMEOUT_STATES:
            svc.timer = _add(ts["StateChangeTimestampMonotonic"], cfg.effective_timeout_start_usec)
        elif state is S.RUNNING:
            deadline = svc._running_timeout()
            svc.timer = None if deadline == USEC_INFINITY else deadline
        elif state in _STOP_TIMEOUT_STATES:
            svc.timer = _add(ts["StateChangeTimestampMonotonic"], cfg.timeout_stop_usec)
        elif state in (S.STOP_WATCHDOG, S.FINAL_WATCHDOG):
            svc.timer = _add(ts["StateChangeTimestampMonotonic"], cfg.effective_timeout_abort_usec)
        elif state is S.AUTO_RESTART:
            # systemd uses InactiveEnter, which equals the entry into auto-restart except with
            # RestartMode=direct (no inactive step): StateChange is that instant in both
            svc.restart_usec_next = restart_delay(cfg, svc.n_restarts + 1)  # service_restart_usec_next()
            svc.timer = _add(ts["StateChangeTimestampMonotonic"], svc.restart_usec_next)
    if svc.state in _WATCHDOG_STATES and (svc.watchdog_deadline is not None or svc.cfg.watchdog_usec):
        usec = svc._watchdog_usec()
        svc.watchdog_deadline = None if usec in (0, USEC_INFINITY) else svc.watchdog_timestamp + usec


def _droppable(manager, name: str) -> bool:
    svc = manager.services.get(name)
    if svc is None:
        return manager.jobs.get(name) is None
    return svc.state is ServiceState.DEAD and manager.jobs.get(name) is None and not svc.pids()


def _drop(manager, name: str) -> None:
    manager.units.pop(name, None)
    manager.services.pop(name, None)
    manager._activated_at.pop(name, None)
    manager._pid_owner = {pid: s for pid, s in manager._pid_owner.items() if s.name != name}


def _rebuild_trigger_sources(manager) -> None:
    # as Manager.__init__ does
    sources: dict[str, list[str]] = {}
    for name, svc in manager.services.items():
        unit = svc.unit
        for other in dict.fromkeys(unit.unit.on_failure + unit.unit.on_success):
            sources.setdefault(other, []).append(name)
    manager._trigger_sources = sources


def reload_units(manager, new_units: dict[str, Unit], *, default_restart_usec: int | None = None,
                 default_timeout_stop_usec: int | None = None,
                 default_start_limit_interval_usec: int | None = None,
                 default_start_limit_burst: int | None = None) -> list[Action]:
    """Apply a freshly loaded set of units to a running manager (`daemon-reload`).

    The `default_*` are the manager defaults the Manager was built with (it does not keep
    them), applied to the new configs the same way. Returns log actions.
    # spec: issue 5 (daemon-reload); module docstring for the rules
    """
    out: list[Action] = []
    for unit in new_units.values():
        if unit.service is not None and unit.kind == "service":
            manager._apply_defaults(unit, default_restart_usec, default_timeout_stop_usec,
                                    default_start_limit_interval_usec, default_start_limit_burst)
    for name in sorted(set(manager.units) | set(new_units)):
        new = new_units.get(name)
        svc = manager.services.get(name)
        if new is not None and _runs_service(new):
            if svc is None:
                manager.units[name] = new
                manager.services[name] = Service(new, manager)
            else:
                manager.units[name] = new
                _retarget(svc, new, out)
            continue
        if svc is None or _droppable(manager, name):
            if new is None:
                _drop(manager, name)
            else:
                manager.units[name] = new
                manager.services.pop(name, None)
            continue
        # still running (or failed, or with a job): keep the old config, show the new load state
        state = LoadState.NOT_FOUND if new is None else new.load_state
        error = f"Unit {name} not found." if new is None else new.load_error
        kept = dataclasses.replace(svc.unit, load_state=state, load_error=error)
        manager.units[name] = kept
        svc.unit = kept
    _rebuild_trigger_sources(manager)
    return out


def collect_garbage(manager) -> list[str]:
    """Drop units kept only because they were running when their file went away, once
    they are dead with no job. Returns the dropped names. # systemd: unit_may_gc()"""
    gone = [name for name, unit in manager.units.items()
            if unit.load_state is not LoadState.LOADED and name in manager.services
            and manager.services[name].active_state is ActiveState.INACTIVE and _droppable(manager, name)]
    for name in gone:
        svc = manager.services[name]
        if svc.unit.load_state is LoadState.NOT_FOUND:
            _drop(manager, name)
        else:  # masked / bad-setting: the unit stays listed, without a runtime
            manager.services.pop(name, None)
    return sorted(gone)
