"""The vocabulary of the engine: states, results, settings' value domains.

Every string here is systemd's own spelling, so traces and `show` output diff against
systemd and users can grep for what they know.
# spec: service-lifecycle.md §1, §8; restart-and-failure.md §1–§2
"""

from __future__ import annotations

import enum

from sysvisor.core.constants import EXEC_PHASES, USEC_INFINITY, USEC_PER_MSEC, USEC_PER_SEC  # noqa: F401 - re-exported


class StrEnum(str, enum.Enum):
    """An enum whose value is systemd's spelling (str() gives it back)."""

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


class ActiveState(StrEnum):
    ACTIVE = "active"
    RELOADING = "reloading"
    INACTIVE = "inactive"
    FAILED = "failed"
    ACTIVATING = "activating"
    DEACTIVATING = "deactivating"
    MAINTENANCE = "maintenance"


# systemd: UNIT_IS_INACTIVE_OR_FAILED(), UNIT_IS_ACTIVE_OR_RELOADING(), UNIT_IS_ACTIVE_OR_ACTIVATING()
INACTIVE_OR_FAILED = (ActiveState.INACTIVE, ActiveState.FAILED)
ACTIVE_OR_RELOADING = (ActiveState.ACTIVE, ActiveState.RELOADING)
ACTIVE_OR_ACTIVATING = (ActiveState.ACTIVE, ActiveState.RELOADING, ActiveState.ACTIVATING)

class ServiceState(StrEnum):
    """Service sub-states (v254+ generation). # spec: service-lifecycle.md §1.2"""

    DEAD = "dead"
    CONDITION = "condition"
    START_PRE = "start-pre"
    START = "start"
    START_POST = "start-post"
    RUNNING = "running"
    EXITED = "exited"
    RELOAD = "reload"
    RELOAD_SIGNAL = "reload-signal"
    RELOAD_NOTIFY = "reload-notify"
    STOP = "stop"
    STOP_WATCHDOG = "stop-watchdog"
    STOP_SIGTERM = "stop-sigterm"
    STOP_SIGKILL = "stop-sigkill"
    STOP_POST = "stop-post"
    FINAL_WATCHDOG = "final-watchdog"
    FINAL_SIGTERM = "final-sigterm"
    FINAL_SIGKILL = "final-sigkill"
    FAILED = "failed"
    DEAD_BEFORE_AUTO_RESTART = "dead-before-auto-restart"
    FAILED_BEFORE_AUTO_RESTART = "failed-before-auto-restart"
    AUTO_RESTART = "auto-restart"
    AUTO_RESTART_QUEUED = "auto-restart-queued"


_A = ActiveState
_S = ServiceState
# service.c state_translation_table[]
SERVICE_ACTIVE_STATE: dict[ServiceState, ActiveState] = {
    _S.DEAD: _A.INACTIVE,
    _S.CONDITION: _A.ACTIVATING,
    _S.START_PRE: _A.ACTIVATING,
    _S.START: _A.ACTIVATING,
    _S.START_POST: _A.ACTIVATING,
    _S.RUNNING: _A.ACTIVE,
    _S.EXITED: _A.ACTIVE,
    _S.RELOAD: _A.RELOADING,
    _S.RELOAD_SIGNAL: _A.RELOADING,
    _S.RELOAD_NOTIFY: _A.RELOADING,
    _S.STOP: _A.DEACTIVATING,
    _S.STOP_WATCHDOG: _A.DEACTIVATING,
    _S.STOP_SIGTERM: _A.DEACTIVATING,
    _S.STOP_SIGKILL: _A.DEACTIVATING,
    _S.STOP_POST: _A.DEACTIVATING,
    _S.FINAL_WATCHDOG: _A.DEACTIVATING,
    _S.FINAL_SIGTERM: _A.DEACTIVATING,
    _S.FINAL_SIGKILL: _A.DEACTIVATING,
    _S.FAILED: _A.FAILED,
    _S.DEAD_BEFORE_AUTO_RESTART: _A.INACTIVE,
    _S.FAILED_BEFORE_AUTO_RESTART: _A.FAILED,
    _S.AUTO_RESTART: _A.ACTIVATING,
    _S.AUTO_RESTART_QUEUED: _A.ACTIVATING,
}


class ServiceResult(StrEnum):
    SUCCESS = "success"
    RESOURCES = "resources"
    PROTOCOL = "protocol"
    TIMEOUT = "timeout"
    EXIT_CODE = "exit-code"
    SIGNAL = "signal"
    CORE_DUMP = "core-dump"
    WATCHDOG = "watchdog"
    START_LIMIT_HIT = "start-limit-hit"
    OOM_KILL = "oom-kill"
    EXEC_CONDITION = "exec-condition"


class ExitCode(enum.IntEnum):
    """How a process ended: systemd's ExecMainCode (= waitid si_code)."""

    NONE = 0
    EXITED = 1  # CLD_EXITED
    KILLED = 2  # CLD_KILLED
    DUMPED = 3  # CLD_DUMPED

    @property
    def word(self) -> str:
        """`exited`/`killed`/`dumped` as in `code=` and $EXIT_CODE."""
        return self.name.lower()


class ServiceType(StrEnum):
    SIMPLE = "simple"
    EXEC = "exec"
    FORKING = "forking"
    ONESHOT = "oneshot"
    DBUS = "dbus"
    NOTIFY = "notify"
    NOTIFY_RELOAD = "notify-reload"
    IDLE = "idle"


class RestartPolicy(StrEnum):
    NO = "no"
    ON_SUCCESS = "on-success"
    ON_FAILURE = "on-failure"
    ON_ABNORMAL = "on-abnormal"
    ON_WATCHDOG = "on-watchdog"
    ON_ABORT = "on-abort"
    ALWAYS = "always"


class RestartMode(StrEnum):
    NORMAL = "normal"
    DIRECT = "direct"
    DEBUG = "debug"


class NotifyAccess(StrEnum):
    NONE = "none"
    MAIN = "main"
    EXEC = "exec"
    ALL = "all"


class KillMode(StrEnum):
    CONTROL_GROUP = "control-group"
    MIXED = "mixed"
    PROCESS = "process"
    NONE = "none"


class TimeoutFailureMode(StrEnum):
    TERMINATE = "terminate"
    ABORT = "abort"
    KILL = "kill"


class EmergencyAction(StrEnum):
    """FailureAction=/SuccessAction=/StartLimitAction= values. # spec: restart-and-failure.md §9"""

    NONE = "none"
    REBOOT = "reboot"
    REBOOT_FORCE = "reboot-force"
    REBOOT_IMMEDIATE = "reboot-immediate"
    POWEROFF = "poweroff"
    POWEROFF_FORCE = "poweroff-force"
    POWEROFF_IMMEDIATE = "poweroff-immediate"
    HALT = "halt"
    HALT_FORCE = "halt-force"
    HALT_IMMEDIATE = "halt-immediate"
    KEXEC = "kexec"
    KEXEC_FORCE = "kexec-force"
    SOFT_REBOOT = "soft-reboot"
    SOFT_REBOOT_FORCE = "soft-reboot-force"
    EXIT = "exit"
    EXIT_FORCE = "exit-force"


class JobType(StrEnum):
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    TRY_RESTART = "try-restart"
    RELOAD = "reload"
    VERIFY_ACTIVE = "verify-active"


class JobMode(StrEnum):
    FAIL = "fail"
    REPLACE = "replace"
    REPLACE_IRREVERSIBLY = "replace-irreversibly"
    ISOLATE = "isolate"
    FLUSH = "flush"
    IGNORE_DEPENDENCIES = "ignore-dependencies"
    IGNORE_REQUIREMENTS = "ignore-requirements"
    RESTART_DEPENDENCIES = "restart-dependencies"
    TRIGGERING = "triggering"


class JobResult(StrEnum):
    DONE = "done"
    CANCELED = "canceled"
    TIMEOUT = "timeout"
    FAILED = "failed"
    DEPENDENCY = "dependency"
    SKIPPED = "skipped"
    INVALID = "invalid"
    ASSERT = "assert"
    UNSUPPORTED = "unsupported"
    COLLECTED = "collected"
    ONCE = "once"


class LoadState(StrEnum):
    STUB = "stub"
    LOADED = "loaded"
    NOT_FOUND = "not-found"
    BAD_SETTING = "bad-setting"
    ERROR = "error"
    MERGED = "merged"
    MASKED = "masked"


class Priority(enum.IntEnum):
    """syslog priorities as journal PRIORITY=."""

    EMERG = 0
    ALERT = 1
    CRIT = 2
    ERR = 3
    WARNING = 4
    NOTICE = 5
    INFO = 6
    DEBUG = 7
