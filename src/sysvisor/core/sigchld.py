"""A process of a service exited: record it, judge it, and move the state machine on.

"clean" follows is_clean_exit() (daemon rules for the main process of non-oneshot
services); "-" commands always count as success; the first failure wins.
# spec: restart-and-failure.md §1; service-lifecycle.md §3, §4
# systemd: service_sigchld_event()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sysvisor.core.actions import ReadPidFile
from sysvisor.core.exit_status import status_text
from sysvisor.core.mainpid import forking_parent_done
from sysvisor.core.restart import result_of_exit
from sysvisor.core.types import ExitCode, NotifyAccess, Priority, ServiceResult, ServiceState, ServiceType

if TYPE_CHECKING:  # pragma: no cover
    from sysvisor.core.command import ExecRun
    from sysvisor.core.service import Service

S = ServiceState
R = ServiceResult
_RELOADING = (S.RELOAD, S.RELOAD_SIGNAL, S.RELOAD_NOTIFY)


def on_process_exited(svc: Service, pid: int, code: ExitCode, status: int) -> bool:
    """SIGCHLD for one of our processes; False if the pid is not ours.
    # systemd: service_sigchld_event()"""
    is_main = svc.main is not None and svc.main.pid == pid and svc.main.alive
    is_control = svc.control is not None and svc.control.pid == pid and svc.control.alive
    if not (is_main or is_control):
        return False
    daemon = not (svc.type is ServiceType.ONESHOT or (is_control and svc.control_phase != "ExecStart"))
    f = result_of_exit(code, status, daemon=daemon, success=svc.cfg.success_exit_status)
    if is_main:
        on_main_exited(svc, code, status, f)
    else:
        on_control_exited(svc, code, status, f)
    return True


def record_exit(svc: Service, run: ExecRun, code: ExitCode, status: int) -> None:
    run.status.exit_usec = svc.now
    run.status.code = int(code)
    run.status.status = status


def log_process_exit(svc: Service, kind: str, success: bool, code: ExitCode, status: int) -> None:
    # systemd: unit_log_process_exit()
    if success:
        prio = Priority.DEBUG
    elif code == ExitCode.EXITED:
        prio = Priority.NOTICE
    else:
        prio = Priority.WARNING
    tail = " (success)" if success else ""
    svc._log(f"{kind} exited, code={ExitCode(code).word}, status={status_text(code, status)}{tail}", prio)


def on_main_exited(svc: Service, code: ExitCode, status: int, f: ServiceResult) -> None:
    run = svc.main
    assert run is not None
    record_exit(svc, run, code, status)
    st = svc.main_exec_status
    st.pid, st.exit_usec, st.code, st.status = run.pid, svc.now, int(code), status
    if run.command.ignore_failure:
        f = R.SUCCESS
    log_process_exit(svc, "Main process", f is R.SUCCESS, code, status)
    if svc.result is R.SUCCESS:
        svc.result = f

    more = svc.cfg.exec_start[(svc.main_command_index or 0) + 1:] if run.phase == "ExecStart" else []
    if more and svc.type is ServiceType.ONESHOT and f is R.SUCCESS:
        svc._run_next_main()
        return

    state = svc.state
    if state in (S.START_POST, *_RELOADING):
        if not svc._control_pid_good():
            svc._enter_stop(f)
    elif state is S.STOP:
        pass  # wait for ExecStop= to finish
    elif state is S.START and svc.type is ServiceType.ONESHOT:
        if f is R.SUCCESS:
            svc._enter_start_post()
        else:
            svc._enter_signal(S.STOP_SIGTERM, f)
    elif state is S.START and svc.type in (ServiceType.NOTIFY, ServiceType.NOTIFY_RELOAD):
        if f is not R.SUCCESS:
            svc._enter_signal(S.STOP_SIGTERM, f)
        elif not svc.cfg.remain_after_exit or svc._notify_access() is NotifyAccess.MAIN:
            svc._enter_signal(S.STOP_SIGTERM, R.PROTOCOL)
    elif state in (S.START, S.RUNNING):
        svc._enter_running(f)
    elif state in (S.STOP_WATCHDOG, S.STOP_SIGTERM, S.STOP_SIGKILL):
        if not svc._control_pid_good():
            svc._enter_stop_post(f)
    elif state is S.STOP_POST:
        if not svc._control_pid_good():
            svc._enter_signal(S.FINAL_SIGTERM, f)
    elif state in (S.FINAL_WATCHDOG, S.FINAL_SIGTERM, S.FINAL_SIGKILL):
        if not svc._control_pid_good():
            svc._enter_dead(f, allow_restart=True)


def on_control_exited(svc: Service, code: ExitCode, status: int, f: ServiceResult) -> None:
    run = svc.control
    assert run is not None
    record_exit(svc, run, code, status)
    if run.command.ignore_failure:
        f = R.SUCCESS
    if svc.state is S.CONDITION:
        # ExecCondition= exit 1..254 skips the unit instead of failing it
        if f is R.EXIT_CODE and status < 255:
            svc.condition_result = False
            f = R.EXEC_CONDITION
            success = True
        elif f is R.SUCCESS:
            svc.condition_result = True
            success = True
        else:
            success = False
        kind = "Condition check process"
    else:
        kind = "Control process"
        success = f is R.SUCCESS
    log_process_exit(svc, kind, success, code, status)
    if svc.state not in _RELOADING and svc.result is R.SUCCESS:
        svc.result = f

    phase = run.phase
    if f is R.SUCCESS and run.index + 1 < len(svc._commands(phase)) and phase != "ExecStart":
        svc._run_next_control()
        return
    svc.control = None
    svc.control_phase = None

    state = svc.state
    if state is S.CONDITION:
        if f is R.SUCCESS:
            svc._enter_start_pre()
        else:
            svc._enter_signal(S.STOP_SIGTERM, f)
    elif state is S.START_PRE:
        if f is R.SUCCESS:
            svc._enter_start()
        else:
            svc._enter_signal(S.STOP_SIGTERM, f)
    elif state is S.START:
        if svc.type is not ServiceType.FORKING:
            return
        if f is not R.SUCCESS:
            svc._enter_signal(S.STOP_SIGTERM, f)
            return
        forking_parent_done(svc)
    elif state is S.START_POST:
        if f is not R.SUCCESS:
            svc._enter_signal(S.STOP_SIGTERM, f)
            return
        if svc.type is ServiceType.FORKING and svc.cfg.pid_file and not svc.main_pid_known:
            svc._awaiting_pid_file = "start-post"
            svc.host.emit(ReadPidFile(svc.name, svc.cfg.pid_file))
            return
        svc._enter_running(R.SUCCESS)
    elif state is S.RELOAD:
        svc.reload_result = f
        if svc.notify_state == "reloading":
            svc._set_state(S.RELOAD_NOTIFY)
        else:
            svc._enter_running(R.SUCCESS)
    elif state is S.STOP:
        svc._enter_signal(S.STOP_SIGTERM, f)
    elif state in (S.STOP_WATCHDOG, S.STOP_SIGTERM, S.STOP_SIGKILL):
        if svc._main_pid_good() <= 0:
            svc._enter_stop_post(f)
    elif state is S.STOP_POST:
        if svc._main_pid_good() <= 0:
            svc._enter_signal(S.FINAL_SIGTERM, f)
    elif state in (S.FINAL_WATCHDOG, S.FINAL_SIGTERM, S.FINAL_SIGKILL):
        if svc._main_pid_good() <= 0:
            svc._enter_dead(f, allow_restart=True)
