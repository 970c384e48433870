"""Builders for units in tests (no parser needed)."""

from __future__ import annotations

from sysvisor.core.units import ExecCommand, ServiceSection, Unit, UnitSection


def cmd(line: str, *, ignore: bool = False) -> ExecCommand:
    argv = tuple(line.split())
    return ExecCommand(argv[0], argv, ignore_failure=ignore)


def service(name: str, *, description: str = "", exec_start: str | list[str] | None = "/usr/bin/daemon",
            unit: dict | None = None, **svc) -> Unit:
    """A service unit; Exec* settings take a command line or a list of them."""
    for key in list(svc):
        if key.startswith("exec_"):
            v = svc[key]
            svc[key] = [cmd(x) if isinstance(x, str) else x for x in ([v] if isinstance(v, str) else v)]
    starts = [] if exec_start is None else ([exec_start] if isinstance(exec_start, str) else exec_start)
    section = ServiceSection(exec_start=[cmd(x) if isinstance(x, str) else x for x in starts], **svc)
    return Unit(name=name, unit=UnitSection(description=description, **(unit or {})), service=section)


def svc(name: str, **unit) -> Unit:
    """A service with only [Unit] settings (dependencies): what transaction tests need."""
    return Unit(name=name, unit=UnitSection(**unit), service=ServiceSection())
