"""The one reaper. Two reapers race for exit statuses, so nothing else may wait().

`os.waitid` gives si_code (CLD_EXITED/KILLED/DUMPED) and si_status directly: exactly
systemd's `code=`/`status=` pair. # spec: ARCHITECTURE.md, pitfalls
"""

from __future__ import annotations

import os

from sysvisor.core.types import ExitCode

_CODES = {os.CLD_EXITED: ExitCode.EXITED, os.CLD_KILLED: ExitCode.KILLED, os.CLD_DUMPED: ExitCode.DUMPED}


def reap() -> list[tuple[int, ExitCode, int]]:
    """Collect every exited child until none is left: (pid, code, status)."""
    exited = []
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG)
        except ChildProcessError:
            break
        if info is None or info.si_pid == 0:
            break
        code = _CODES.get(info.si_code)
        if code is not None:
            exited.append((info.si_pid, code, info.si_status))
    return exited
