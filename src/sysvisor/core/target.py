"""A target unit: a synchronisation point with no processes, `dead` or `active`.

A target becomes active when its start job runs — and a start job only runs once every
unit the target is ordered after has finished its own job — and inactive when its stop
job runs. Nothing else changes its state: failures of its members later do not.
# spec: dependencies-and-jobs.md §4   # systemd: target.c target_start(), target_stop()
"""

from __future__ import annotations

from sysvisor.core.types import ActiveState
from sysvisor.core.units import Unit


class Target:
    """Runtime of one target. `ts`: the unit timestamps (`...TimestampMonotonic`)."""

    kind = "target"

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.name = unit.name
        self.active = False
        self.invocation_id = ""
        self.ts: dict[str, int] = {}

    @property
    def active_state(self) -> ActiveState:
        return ActiveState.ACTIVE if self.active else ActiveState.INACTIVE

    @property
    def sub_state(self) -> str:
        return "active" if self.active else "dead"

    @property
    def description(self) -> str:
        return self.unit.unit.description or self.name

    def status_string(self) -> str:
        """`multi-user.target - Multi-User System`. # systemd: unit_status_string()"""
        d = self.unit.unit.description
        return f"{self.name} - {d}" if d and d != self.name else self.name

    def properties(self) -> dict:
        """Runtime `show` properties (raw values). # systemd: target_vtable, unit_dbus_vtable"""
        return {"Id": self.name, "Description": self.description, "LoadState": str(self.unit.load_state),
                "ActiveState": str(self.active_state), "SubState": self.sub_state,
                "InvocationID": self.invocation_id, **self.ts}
