"""What happens when a service's unit timer fires: start/stop/runtime/reload timeouts and
the end of RestartSec=.

# spec: service-lifecycle.md §4 (timeouts), §6; restart-and-failure.md §2.4
# systemd: service_dispatch_timer()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sysvisor.core.actions import Kill
from sysvisor.core.types import Priority, ServiceResult, ServiceState, TimeoutFailureMode

if TYPE_CHECKING:  # pragma: no cover
    from sysvisor.core.service import Service

S = ServiceState
R = ServiceResult
_STARTING = (S.CONDITION, S.START_PRE, S.START, S.START_POST)
_RELOADING = (S.RELOAD, S.RELOAD_SIGNAL, S.RELOAD_NOTIFY)


def dispatch_timer(svc: Service) -> None:
    """The unit timer of `svc` fired. # systemd: service_dispatch_timer()"""
    state, cfg = svc.state, svc.cfg
    warn = Priority.WARNING
    if state in _STARTING:
        mode = cfg.timeout_start_failure_mode
        if mode is TimeoutFailureMode.TERMINATE:
            svc._log(f"{state} operation timed out. Terminating.", warn)
            svc._enter_signal(S.STOP_SIGTERM, R.TIMEOUT)
        elif mode is TimeoutFailureMode.ABORT:
            svc._log(f"{state} operation timed out. Aborting.", warn)
            svc._enter_signal(S.STOP_WATCHDOG, R.TIMEOUT)
        elif cfg.send_sigkill:
            svc._log(f"{state} operation timed out. Killing.", warn)
            svc._enter_signal(S.STOP_SIGKILL, R.TIMEOUT)
        else:
            svc._log(f"{state} operation timed out. Skipping SIGKILL.", warn)
            svc._enter_stop_post(R.TIMEOUT)
    elif state is S.RUNNING:
        svc._log("Service reached runtime time limit. Stopping.", warn)
        svc._enter_stop(R.TIMEOUT)
    elif state in _RELOADING:
        svc._log("Reload operation timed out. Killing reload process.", warn)
        if svc.control_pid:
            svc.host.emit(Kill(svc.name, cfg.kill_signal, (svc.control_pid,)))
        svc.reload_result = R.TIMEOUT
        svc._enter_running(R.SUCCESS)
    elif state is S.STOP:
        mode = cfg.timeout_stop_failure_mode
        if mode is TimeoutFailureMode.TERMINATE:
            svc._log("Stopping timed out. Terminating.", warn)
            svc._enter_signal(S.STOP_SIGTERM, R.TIMEOUT)
        elif mode is TimeoutFailureMode.ABORT:
            svc._log("Stopping timed out. Aborting.", warn)
            svc._enter_signal(S.STOP_WATCHDOG, R.TIMEOUT)
        elif cfg.send_sigkill:
            svc._log("Stopping timed out. Killing.", warn)
            svc._enter_signal(S.STOP_SIGKILL, R.TIMEOUT)
        else:
            svc._log("Stopping timed out. Skipping SIGKILL.", warn)
            svc._enter_stop_post(R.TIMEOUT)
    elif state is S.STOP_WATCHDOG:
        if cfg.send_sigkill:
            svc._log("State 'stop-watchdog' timed out. Killing.", warn)
            svc._enter_signal(S.STOP_SIGKILL, R.TIMEOUT)
        else:
            svc._log("State 'stop-watchdog' timed out. Skipping SIGKILL.", warn)
            svc._enter_stop_post(R.TIMEOUT)
    elif state is S.STOP_SIGTERM:
        if cfg.timeout_stop_failure_mode is TimeoutFailureMode.ABORT:
            svc._log("State 'stop-sigterm' timed out. Aborting.", warn)
            svc._enter_signal(S.STOP_WATCHDOG, R.TIMEOUT)
        elif cfg.send_sigkill:
            svc._log("State 'stop-sigterm' timed out. Killing.", warn)
            svc._enter_signal(S.STOP_SIGKILL, R.TIMEOUT)
        else:
            svc._log("State 'stop-sigterm' timed out. Skipping SIGKILL.", warn)
            svc._enter_stop_post(R.TIMEOUT)
    elif state is S.STOP_SIGKILL:
        svc._log("Processes still around after SIGKILL. Ignoring.", warn)
        svc._enter_stop_post(R.TIMEOUT)
    elif state is S.STOP_POST:
        mode = cfg.timeout_stop_failure_mode
        if mode is TimeoutFailureMode.TERMINATE:
            svc._log("State 'stop-post' timed out. Terminating.", warn)
            svc._enter_signal(S.FINAL_SIGTERM, R.TIMEOUT)
        elif mode is TimeoutFailureMode.ABORT:
            svc._log("State 'stop-post' timed out. Aborting.", warn)
            svc._enter_signal(S.FINAL_WATCHDOG, R.TIMEOUT)
        elif cfg.send_sigkill:
            svc._log("State 'stop-post' timed out. Killing.", warn)
            svc._enter_signal(S.FINAL_SIGKILL, R.TIMEOUT)
        else:
            svc._log("State 'stop-post' timed out. Skipping SIGKILL. Entering failed mode.", warn)
            svc._enter_dead(R.TIMEOUT, allow_restart=False)
    elif state is S.FINAL_WATCHDOG:
        if cfg.send_sigkill:
            svc._log("State 'final-watchdog' timed out. Killing.", warn)
            svc._enter_signal(S.FINAL_SIGKILL, R.TIMEOUT)
        else:
            svc._log("State 'final-watchdog' timed out. Skipping SIGKILL. Entering failed mode.", warn)
            svc._enter_dead(R.TIMEOUT, allow_restart=False)
    elif state is S.FINAL_SIGTERM:
        if cfg.timeout_stop_failure_mode is TimeoutFailureMode.ABORT:
            svc._log("State 'final-sigterm' timed out. Aborting.", warn)
            svc._enter_signal(S.FINAL_WATCHDOG, R.TIMEOUT)
        elif cfg.send_sigkill:
            svc._log("State 'final-sigterm' timed out. Killing.", warn)
            svc._enter_signal(S.FINAL_SIGKILL, R.TIMEOUT)
        else:
            svc._log("State 'final-sigterm' timed out. Skipping SIGKILL. Entering failed mode.", warn)
            svc._enter_dead(R.TIMEOUT, allow_restart=False)
    elif state is S.FINAL_SIGKILL:
        svc._log("Processes still around after final SIGKILL. Entering failed mode.", warn)
        svc._enter_dead(R.TIMEOUT, allow_restart=True)
    elif state is S.AUTO_RESTART:
        if cfg.restart_usec > 0:
            svc._log("Service restart interval expired, scheduling restart.", Priority.DEBUG)
        else:
            svc._log("Service has no hold-off time (RestartSec=0), scheduling restart.", Priority.DEBUG)
        svc._enter_restart(shortcut=False)
