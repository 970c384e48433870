"""sd_notify messages arriving at a service: authorization and interpretation.

# spec: notify-and-watchdog.md §2, §3, §4
# systemd: service_notify_message_authorized(), service_notify_message()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sysvisor.core.types import USEC_INFINITY, NotifyAccess, Priority, ServiceResult, ServiceState, ServiceType

if TYPE_CHECKING:  # pragma: no cover
    from sysvisor.core.service import Service

S = ServiceState
_MAINPID_STATES = (S.START, S.START_POST, S.RUNNING, S.RELOAD, S.RELOAD_SIGNAL, S.RELOAD_NOTIFY,
                   S.STOP, S.STOP_SIGTERM)
_TIMER_STATES_EXTENDABLE = True


def authorized(svc: Service, pid: int) -> bool:
    """NotifyAccess= check by sender pid. # systemd: service_notify_message_authorized()"""
    access = svc._notify_access()
    main, control = svc.main_pid, svc.control_pid
    if access is NotifyAccess.NONE:
        svc._log(f"Got notification message from PID {pid}, but reception is disabled.", Priority.WARNING)
        return False
    if access is NotifyAccess.MAIN and pid != main:
        if main:
            svc._log(f"Got notification message from PID {pid}, but reception only permitted for main PID {main}",
                     Priority.DEBUG)
        else:
            svc._log(f"Got notification message from PID {pid}, but reception only permitted for main PID "
                     f"which is currently not known", Priority.DEBUG)
        return False
    if access is NotifyAccess.EXEC and pid not in (main, control):
        if main and control:
            why = f"main PID {main} and control PID {control}"
        elif main:
            why = f"main PID {main}"
        elif control:
            why = f"control PID {control}"
        else:
            why = "main PID and control PID which are currently not known"
        svc._log(f"Got notification message from PID {pid}, but reception only permitted for {why}", Priority.DEBUG)
        return False
    return True


def _parse_usec(value: str) -> int | None:
    try:
        n = int(value, 10)
    except ValueError:
        return None
    return n if n >= 0 else None


def handle_notify(svc: Service, pid: int, fields: dict[str, str]) -> None:
    """Interpret one datagram in systemd's order. # spec: notify-and-watchdog.md §3"""
    if not authorized(svc, pid):
        return

    # MAINPID=
    if "MAINPID" in fields and svc.state in _MAINPID_STATES:
        new = _parse_usec(fields["MAINPID"])
        if not new:
            svc._log(f"Failed to parse MAINPID={fields['MAINPID']} field in notification message, ignoring.",
                     Priority.WARNING)
        elif new != svc.main_pid:
            if new == svc.control_pid:
                svc._log(f"New main PID {new} is the control process, refusing.", Priority.WARNING)
            else:
                svc.adopt_main_pid(new)

    # READY=/STOPPING=/RELOADING=: STOPPING wins over the others, READY over RELOADING
    monotonic = _parse_usec(fields.get("MONOTONIC_USEC", "")) if "MONOTONIC_USEC" in fields else None
    if fields.get("STOPPING") == "1":
        svc.notify_state = "stopping"
        if svc.state in (S.RUNNING, S.RELOAD_SIGNAL, S.RELOAD_NOTIFY):
            svc._enter_stop_by_notify()
    elif svc.notify_state == "stopping":
        pass  # no resurrection of a dying service
    elif fields.get("READY") == "1":
        svc.notify_state = "ready"
        if svc.type in (ServiceType.NOTIFY, ServiceType.NOTIFY_RELOAD) and svc.state is S.START:
            svc._enter_start_post()
        if svc.state is S.RELOAD_NOTIFY:
            svc._enter_running(ServiceResult.SUCCESS)
        if (svc.state is S.RELOAD_SIGNAL and fields.get("RELOADING") == "1"
                and monotonic is not None and monotonic >= svc.reload_begin_usec):
            svc._enter_running(ServiceResult.SUCCESS)
    elif fields.get("RELOADING") == "1":
        svc.notify_state = "reloading"
        if svc.state is S.RELOAD_SIGNAL and monotonic is not None and monotonic >= svc.reload_begin_usec:
            svc._set_state(S.RELOAD_NOTIFY)
        if svc.state is S.RUNNING:
            svc._enter_reload_by_notify()

    # STATUS=
    if "STATUS" in fields:
        text = fields["STATUS"]
        if len(text.encode()) > 16 * 1024:
            svc._log("Status message overly long, ignoring.", Priority.WARNING)
        else:
            svc.status_text = text

    # NOTIFYACCESS= (v254)
    if "NOTIFYACCESS" in fields:
        try:
            svc.notify_access_override = NotifyAccess(fields["NOTIFYACCESS"])
        except ValueError:
            svc._log(f"Failed to parse NOTIFYACCESS= field value '{fields['NOTIFYACCESS']}' in notification "
                     f"message, ignoring.", Priority.WARNING)

    # ERRNO=
    if "ERRNO" in fields:
        n = _parse_usec(fields["ERRNO"])
        if n is None:
            svc._log(f"Failed to parse ERRNO= field value '{fields['ERRNO']}' in notification message.",
                     Priority.WARNING)
        else:
            svc.status_errno = n

    # EXTEND_TIMEOUT_USEC=
    if "EXTEND_TIMEOUT_USEC" in fields:
        n = _parse_usec(fields["EXTEND_TIMEOUT_USEC"])
        if n is None:
            svc._log(f"Failed to parse EXTEND_TIMEOUT_USEC={fields['EXTEND_TIMEOUT_USEC']}", Priority.WARNING)
        else:
            extend_timeout(svc, n)

    # WATCHDOG=
    if "WATCHDOG" in fields:
        value = fields["WATCHDOG"]
        if value == "1":
            svc._reset_watchdog()
        elif value == "trigger":
            force_watchdog(svc)
        else:
            svc._log("Passed WATCHDOG= field is invalid, ignoring.", Priority.WARNING)

    # WATCHDOG_USEC=
    if "WATCHDOG_USEC" in fields:
        n = _parse_usec(fields["WATCHDOG_USEC"])
        if n is None:
            svc._log(f"Failed to parse WATCHDOG_USEC={fields['WATCHDOG_USEC']}", Priority.WARNING)
        else:
            svc.watchdog_override_usec = n  # systemd: service_override_watchdog_timeout()
            svc._reset_watchdog()


def extend_timeout(svc: Service, usec: int) -> None:
    """Push the armed unit timer and watchdog to now+usec if later.
    # systemd: service_extend_timeout()"""
    extended = svc.now + usec if usec != USEC_INFINITY else None
    if extended is None:
        return
    if svc.timer is not None and extended > svc.timer:
        svc.timer = extended
    if svc.watchdog_deadline is not None and extended > svc.watchdog_deadline:
        svc.watchdog_deadline = extended


def force_watchdog(svc: Service) -> None:
    """WATCHDOG=trigger. # systemd: service_force_watchdog()"""
    if not svc.host.service_watchdogs:
        return
    svc._log(f"Watchdog request (last status: {svc.status_text or 'n/a'})!", Priority.ERR)
    svc._enter_signal(S.STOP_WATCHDOG, ServiceResult.WATCHDOG)
