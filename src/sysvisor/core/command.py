"""Exec command bookkeeping: the Exec*= lists, spawned runs and their exit statuses.

# spec: service-lifecycle.md §3, §8.2; systemctl-and-journal.md §4 (exec command properties)
# systemd: ExecStatus, ExecCommand exec_status, service_exec_command_table
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sysvisor.core.types import EXEC_PHASES
from sysvisor.core.units import ExecCommand

PHASES = EXEC_PHASES
PHASE_FIELD = {
    "ExecCondition": "exec_condition",
    "ExecStartPre": "exec_start_pre",
    "ExecStart": "exec_start",
    "ExecStartPost": "exec_start_post",
    "ExecReload": "exec_reload",
    "ExecStop": "exec_stop",
    "ExecStopPost": "exec_stop_post",
}
# systemd: service_exec_command_to_string() names used in "Failed to spawn '%s' task"
TASK_NAME = {
    "ExecCondition": "exec-condition",
    "ExecStartPre": "start-pre",
    "ExecStart": "start",
    "ExecStartPost": "start-post",
    "ExecReload": "reload",
    "ExecStop": "stop",
    "ExecStopPost": "stop-post",
}


@dataclass
class ExecStatus:
    """What happened to one spawned process. # systemd: ExecStatus"""

    pid: int = 0
    start_usec: int = 0
    exit_usec: int = 0
    code: int = 0  # ExitCode
    status: int = 0

    def as_dict(self) -> dict:
        return {
            "pid": self.pid,
            "start_monotonic": self.start_usec,
            "exit_monotonic": self.exit_usec,
            "code": self.code,
            "status": self.status,
        }


@dataclass
class ExecRun:
    """One spawned command: which list it belongs to, its index, its status."""

    phase: str
    index: int
    command: ExecCommand
    is_main: bool
    spawn_id: int
    status: ExecStatus = field(default_factory=ExecStatus)

    @property
    def pid(self) -> int:
        return self.status.pid

    @property
    def alive(self) -> bool:
        return self.status.pid > 0 and self.status.code == 0


@dataclass
class PendingSpawn:
    run: ExecRun
    on_spawned: Callable[[ExecRun], None]
    on_failed: Callable[[str], None]
