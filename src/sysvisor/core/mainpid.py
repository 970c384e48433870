"""Finding out the main process: Type=exec readiness, Type=forking with PIDFile= or
GuessMainPID=, MAINPID= adoption, and what an empty cgroup means.

# spec: service-lifecycle.md §2 (Type=exec, Type=forking, PIDFile=, GuessMainPID=)
# systemd: service_dispatch_exec_io(), service_load_pid_file(), service_demand_pid_file(),
# service_search_main_pid(), service_set_main_pidref(), service_notify_cgroup_empty_event()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sysvisor.core.actions import ReadPidFile
from sysvisor.core.command import ExecRun, ExecStatus
from sysvisor.core.types import Priority, ServiceResult, ServiceState, ServiceType
from sysvisor.core.units import ExecCommand

if TYPE_CHECKING:  # pragma: no cover
    from sysvisor.core.service import Service

S = ServiceState
R = ServiceResult


def on_exec_succeeded(svc: Service, pid: int) -> None:
    """execve() of `pid` succeeded. # systemd: service_dispatch_exec_io()"""
    if svc.type is ServiceType.EXEC and svc.state is S.START and pid == svc.main_pid:
        svc._enter_start_post()


def forking_parent_done(svc: Service) -> None:
    """The forking parent exited successfully: find the daemon's pid.
    # systemd: service_sigchld_event() SERVICE_START case for Type=forking"""
    if svc.cfg.pid_file or svc.cfg.guess_main_pid:
        svc._awaiting_pid_file = "start"
        svc.host.emit(ReadPidFile(svc.name, svc.cfg.pid_file))
        return
    svc._enter_start_post()


def on_pid_file_read(svc: Service, pid: int | None) -> None:
    """The shell read PIDFile= (or guessed the main pid). # systemd: service_load_pid_file(),
    service_demand_pid_file(), service_search_main_pid()"""
    stage = svc._awaiting_pid_file
    if stage is None:
        return
    if pid is not None and pid > 0:
        if pid == svc.control_pid:
            svc._log(f"New main PID {pid} is the control process, refusing.", Priority.WARNING)
            pid = None
        else:
            adopt_main_pid(svc, pid)
    guessing = not svc.cfg.pid_file
    if stage == "start":
        if pid is None and not guessing and not svc.cfg.exec_start_post:
            if not svc._cgroup_good():
                svc._awaiting_pid_file = None
                svc._log("Daemon never wrote its PID file. Failing.", Priority.WARNING)
                svc._enter_signal(S.STOP_SIGTERM, R.PROTOCOL)
            return  # keep waiting: the shell re-sends PidFileRead when the file appears
        svc._awaiting_pid_file = None
        svc._enter_start_post()
    elif stage == "start-post":
        if pid is None:
            if not svc._cgroup_good():
                svc._awaiting_pid_file = None
                svc._log("Daemon never wrote its PID file. Failing.", Priority.WARNING)
                svc._enter_stop(R.PROTOCOL)
            return
        svc._awaiting_pid_file = None
        svc._enter_running(R.SUCCESS)


def adopt_main_pid(svc: Service, pid: int) -> None:
    """MAINPID= / PIDFile=: a process we did not spawn becomes the main process.
    # systemd: service_set_main_pidref()"""
    run = ExecRun("ExecStart", 0, svc.cfg.exec_start[0] if svc.cfg.exec_start else ExecCommand("", ()),
                  True, 0)
    run.status.pid = pid
    run.status.start_usec = svc.now
    svc.main = run
    svc.main_pid_known = True
    # The shell is a child subreaper (ARCHITECTURE.md), so every descendant is reaped
    # by us and reported: like daemons reparented to PID 1, it is never "alien".
    svc.main_pid_alien = False
    svc.main_exec_status = ExecStatus(pid=pid, start_usec=svc.now)
    svc.host.track_pid(svc, pid)


def on_unit_emptied(svc: Service) -> None:
    """The unit's cgroup/process group is empty. # systemd: service_notify_cgroup_empty_event()"""
    svc.populated = False
    state = svc.state
    if state is S.START and svc.type in (ServiceType.NOTIFY, ServiceType.NOTIFY_RELOAD):
        if svc._main_pid_good() <= 0 and not svc._control_pid_good():
            svc._enter_stop_post(R.PROTOCOL)
            return
    if state in (S.START, S.START_POST) and svc._awaiting_pid_file:
        if svc._main_pid_good() <= 0 and not svc._control_pid_good():
            svc._awaiting_pid_file = None
            svc._log("Daemon never wrote its PID file. Failing.", Priority.WARNING)
            if state is S.START:
                svc._enter_signal(S.STOP_SIGTERM, R.PROTOCOL)
            else:
                svc._enter_stop(R.PROTOCOL)
    elif state is S.RUNNING:
        if svc._main_pid_good() < 0:
            svc._enter_running(R.SUCCESS)
    elif state in (S.STOP_WATCHDOG, S.STOP_SIGTERM, S.STOP_SIGKILL):
        if svc._main_pid_good() <= 0 and not svc._control_pid_good():
            svc._enter_stop_post(R.SUCCESS)
    elif state in (S.STOP_POST, S.FINAL_WATCHDOG, S.FINAL_SIGTERM, S.FINAL_SIGKILL):
        if svc._main_pid_good() <= 0 and not svc._control_pid_good():
            svc._enter_dead(R.SUCCESS, allow_restart=True)
