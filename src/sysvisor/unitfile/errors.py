"""Diagnostics of the unit-file parser, printed in systemd's own shape.

`PATH:LINE: message` for problems tied to a line of a file (config_parse's log_syntax()), and
`UNIT: message` for checks on the whole unit (service_verify()). Wordings are systemd v252's,
observed with `systemd-analyze verify`; tests and users grep for them.
# spec: unit-files.md §7
"""

from __future__ import annotations

from dataclasses import dataclass

WARNING = "warning"
ERROR = "error"  # fatal for the unit: load state bad-setting (or error)
NOTICE = "notice"  # sysvisor's own remark that systemd does not print (e.g. "not supported")

FATAL_SUFFIX = "Unit configuration has fatal error, unit will not be started."


@dataclass(frozen=True)
class Diagnostic:
    """One finding. `line` 0 means "about the unit as a whole" (then `path` is the unit name);
    an empty `path` is a message systemd logs without any location."""

    path: str
    line: int
    column: int
    severity: str
    message: str

    @property
    def fatal(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        if not self.path:  # a plain log line (systemd logs a few without a location)
            return self.message
        if self.line:
            return f"{self.path}:{self.line}: {self.message}"
        return f"{self.path}: {self.message}"


def warning(path: str, line: int, message: str) -> Diagnostic:
    return Diagnostic(path, line, 0, WARNING, message)


def error(path: str, line: int, message: str) -> Diagnostic:
    return Diagnostic(path, line, 0, ERROR, message)


def notice(path: str, line: int, message: str) -> Diagnostic:
    return Diagnostic(path, line, 0, NOTICE, message)
