"""The restart decision and the restart delay, as pure functions.

Rules (systemd: service_shall_restart(), service_restart_usec_next(), is_clean_exit()):
  * clean exit: exit 0 or SuccessExitStatus=; SIGHUP/INT/TERM/PIPE only for daemons
    (main process of a non-oneshot service); a core dump is never clean.
  * decision order: manual stop → RestartPreventExitStatus= → RestartForceExitStatus= →
    the Restart= table by Result.
  * delay: RestartSec=, or geometric interpolation towards RestartMaxDelaySec= over
    RestartSteps= restarts.
# spec: restart-and-failure.md §1.1, §2.2, §2.3, §3
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from sysvisor.core.exit_status import SIGHUP, SIGINT, SIGPIPE, SIGTERM
from sysvisor.core.types import USEC_INFINITY, ExitCode, RestartPolicy, ServiceResult, ServiceType
from sysvisor.core.units import ExitStatusSet, ServiceSection

_R = ServiceResult
_DAEMON_CLEAN_SIGNALS = frozenset({SIGHUP, SIGINT, SIGTERM, SIGPIPE})

# Restart= → the Results that restart. # spec: restart-and-failure.md §2.2
_ALL_BUT_CONDITION = frozenset(_R) - {_R.EXEC_CONDITION, _R.START_LIMIT_HIT}
RESTART_TABLE: dict[RestartPolicy, frozenset[ServiceResult]] = {
    RestartPolicy.NO: frozenset(),
    RestartPolicy.ALWAYS: _ALL_BUT_CONDITION,
    RestartPolicy.ON_SUCCESS: frozenset({_R.SUCCESS}),
    RestartPolicy.ON_FAILURE: _ALL_BUT_CONDITION - {_R.SUCCESS},
    RestartPolicy.ON_ABNORMAL: _ALL_BUT_CONDITION - {_R.SUCCESS, _R.EXIT_CODE},
    RestartPolicy.ON_ABORT: frozenset({_R.SIGNAL, _R.CORE_DUMP}),
    RestartPolicy.ON_WATCHDOG: frozenset({_R.WATCHDOG}),
}


def is_clean_exit(code: ExitCode | int, status: int, *, daemon: bool, success: ExitStatusSet) -> bool:
    """Whether a termination counts as clean. # spec: restart-and-failure.md §1.1

    `daemon` is systemd's EXIT_CLEAN_DAEMON: the main process of a non-oneshot service.
    # systemd: is_clean_exit()
    """
    code = int(code)
    if code == ExitCode.EXITED:
        return status == 0 or status in success.statuses
    if code == ExitCode.KILLED:
        return (daemon and status in _DAEMON_CLEAN_SIGNALS) or status in success.signals
    return False


def result_of_exit(code: ExitCode | int, status: int, *, daemon: bool, success: ExitStatusSet) -> ServiceResult:
    """Map a termination to a Result. # spec: restart-and-failure.md §1.2
    # systemd: service_sigchld_event()"""
    if is_clean_exit(code, status, daemon=daemon, success=success):
        return _R.SUCCESS
    code = int(code)
    if code == ExitCode.EXITED:
        return _R.EXIT_CODE
    if code == ExitCode.KILLED:
        return _R.SIGNAL
    return _R.CORE_DUMP


def shall_restart(
    cfg: ServiceSection,
    result: ServiceResult,
    main_code: ExitCode | int,
    main_status: int,
    *,
    forbid_restart: bool = False,
) -> tuple[bool, str]:
    """Decide whether a finished run restarts, and why (systemd's debug wording).

    Steps 1–2 of the decision order (pending stop job, allow_restart) are the caller's.
    # spec: restart-and-failure.md §2.3   # systemd: service_shall_restart()
    """
    if forbid_restart:
        return False, "manual stop"
    if cfg.restart_prevent_exit_status.matches(int(main_code), main_status):
        return False, "prevented by exit status"
    if cfg.restart_force_exit_status.matches(int(main_code), main_status):
        if cfg.effective_type is ServiceType.ONESHOT and result is _R.SUCCESS:
            return False, "service type and exit status"
        return True, "forced by exit status"
    return result in RESTART_TABLE[cfg.restart], "restart setting"


def restart_delay(cfg: ServiceSection, n_restarts_next: int) -> int:
    """Delay in µs before restart number `n_restarts_next` (1 = first restart).

    Callers pass NRestarts+1, or NRestarts when already auto-restart-queued.
    systemd computes with long double powl() and truncates; Decimal at 40 digits is at
    least as precise, so the truncated value matches except in pathological ties.
    # spec: restart-and-failure.md §3   # systemd: service_restart_usec_next()
    """
    sec, steps, max_delay = cfg.restart_usec, cfg.restart_steps, cfg.restart_max_delay_usec
    if (
        n_restarts_next <= 1
        or steps == 0
        or sec == 0
        or max_delay == USEC_INFINITY
        or sec >= max_delay
    ):
        return sec
    if n_restarts_next > steps:
        return max_delay
    with localcontext() as ctx:
        ctx.prec = 40
        factor = (Decimal(max_delay) / Decimal(sec)) ** (Decimal(n_restarts_next - 1) / Decimal(steps))
        return int(Decimal(sec) * factor)
