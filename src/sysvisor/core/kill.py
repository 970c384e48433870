"""Signalling a service's processes in the stop sequence.

# spec: service-lifecycle.md §7   # systemd: state_to_kill_operation(), unit_kill_context(),
# operation_to_signal()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sysvisor.core.actions import Kill
from sysvisor.core.exit_status import SIGCONT, SIGHUP, SIGKILL, signal_name
from sysvisor.core.types import JobType, KillMode, Priority, ServiceState

if TYPE_CHECKING:  # pragma: no cover
    from sysvisor.core.service import Service

S = ServiceState
KILL_TERMINATE, KILL_RESTART, KILL_KILL, KILL_WATCHDOG = "terminate", "restart", "kill", "watchdog"


def kill_operation(svc: Service, state: ServiceState) -> str:
    # systemd: state_to_kill_operation()
    if state in (S.STOP_WATCHDOG, S.FINAL_WATCHDOG):
        return KILL_WATCHDOG
    if state is S.STOP_SIGTERM and svc.host.job_type(svc.name) is JobType.RESTART:
        return KILL_RESTART
    if state in (S.STOP_SIGTERM, S.FINAL_SIGTERM):
        return KILL_TERMINATE
    return KILL_KILL


def kill_context(svc: Service, op: str) -> bool:
    """Signal the unit's processes; True if we must wait for them to go.
    # spec: service-lifecycle.md §7   # systemd: unit_kill_context()"""
    cfg = svc.cfg
    if cfg.kill_mode is KillMode.NONE:
        return False
    sig = {
        KILL_TERMINATE: cfg.kill_signal,
        KILL_RESTART: cfg.restart_kill_signal if cfg.restart_kill_signal is not None else cfg.kill_signal,
        KILL_KILL: cfg.final_kill_signal,
        KILL_WATCHDOG: cfg.watchdog_signal,
    }[op]
    send_sighup = cfg.send_sighup and op in (KILL_TERMINATE, KILL_RESTART) and sig != SIGHUP
    pids = tuple(svc.pids())
    wait = bool(svc.main_pid and not svc.main_pid_alien) or bool(svc.control_pid)
    whole = cfg.kill_mode is KillMode.CONTROL_GROUP or (cfg.kill_mode is KillMode.MIXED and op == KILL_KILL)
    if whole and svc.populated:
        wait = True
    if not pids and not (whole and svc.populated):
        return wait
    # systemd: operation_to_signal() — only the final kill and the watchdog signal are
    # "noteworthy" and logged per process
    noteworthy = op in (KILL_KILL, KILL_WATCHDOG)
    if noteworthy:
        for pid in pids:
            svc._log(f"Killing process {pid} ({svc._comm(pid)}) with signal SIG{signal_name(sig)}.",
                      Priority.NOTICE)
    svc.host.emit(Kill(svc.name, sig, pids, whole_unit=whole, log_others=noteworthy and whole))
    if sig not in (SIGCONT, SIGKILL):
        svc.host.emit(Kill(svc.name, SIGCONT, pids, whole_unit=whole))
    if send_sighup:
        svc.host.emit(Kill(svc.name, SIGHUP, pids, whole_unit=whole))
    return wait


def comm(svc: Service, pid: int) -> str:
    for run in (svc.main, svc.control):
        if run is not None and run.pid == pid:
            return run.command.path.rsplit("/", 1)[-1][:15]
    return "n/a"
