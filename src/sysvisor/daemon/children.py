"""The one reaper. Two reapers race for exit statuses, so nothing else may wait().

`os.waitid` gives si_code (CLD_EXITED/KILLED/DUMPED) and si_status directly: exactly
systemd's `code=`/`status=` pair. # spec: ARCHITECTURE.md, pitfalls
"""

from __future__ import annotations

import os
import select

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


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait up to `timeout` seconds for our child `pid` to exit, and reap it; False if it
    still runs. Only where no loop reaps: a manager that has stopped its loop (its relay),
    the relay ending its console follower."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:  # gone, and reaped already
        return True
    try:
        if not select.select([pidfd], [], [], timeout)[0]:
            return False
        os.waitpid(pid, 0)
    except (OSError, ChildProcessError):
        pass
    finally:
        os.close(pidfd)
    return True
