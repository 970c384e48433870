"""A SIGKILLed manager, then a new one: real processes, real state file. # spec: issue 5"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

from sysvisor.core import events as ev
from sysvisor.core.actions import Kill, Log
from sysvisor.core.manager import Manager
from sysvisor.core.snapshot import tracked_pids
from sysvisor.core.types import ExitCode
from sysvisor.core.units import ExecCommand, ServiceSection, Unit
from sysvisor.daemon import persist

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")
SLEEPER = "import time; time.sleep(120)"

# The first manager: starts two units with real children, saves its state, dies by SIGKILL.
FIRST = textwrap.dedent(r"""
    import json, os, signal, sys
    from sysvisor.core import events as ev
    from sysvisor.core.actions import Spawn
    from sysvisor.core.manager import Manager
    from sysvisor.core.units import ExecCommand, ServiceSection, Unit
    from sysvisor.daemon.clock import monotonic_usec
    from sysvisor.daemon.persist import StateFile

    path, code = sys.argv[1], sys.argv[2]
    argv = (sys.executable, "-c", code)
    units = {n: Unit(name=n, service=ServiceSection(exec_start=[ExecCommand(sys.executable, argv)]))
             for n in ("a.service", "b.service")}
    m = Manager(units)
    pids = {}
    for name in units:
        for action in m.handle(ev.StartRequested(name), monotonic_usec()):
            if isinstance(action, Spawn):
                quiet = [(os.POSIX_SPAWN_OPEN, fd, "/dev/null", os.O_RDWR, 0) for fd in (0, 1, 2)]
                pids[name] = os.posix_spawn(action.command.path, list(action.command.argv), dict(os.environ),
                                            file_actions=quiet)
                m.handle(ev.Spawned(action.spawn_id, pids[name]), monotonic_usec())
    assert StateFile(path, print).flush(m)
    print(json.dumps(pids), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def units() -> dict[str, Unit]:
    argv = (sys.executable, "-c", SLEEPER)
    return {n: Unit(name=n, service=ServiceSection(exec_start=[ExecCommand(sys.executable, argv)]))
            for n in ("a.service", "b.service")}


def gone(pid: int) -> bool:
    st = persist.proc_stat(pid)
    return st is None or st.state in ("Z", "X")


def wait_for(cond, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_new_manager_continues_after_the_old_one_was_killed(tmp_path):
    path = str(tmp_path / persist.STATE_FILE_NAME)
    script = tmp_path / "first.py"
    script.write_text(FIRST)
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    first = subprocess.run([sys.executable, str(script), path, SLEEPER], env=env, capture_output=True,
                           text=True, timeout=60)
    assert first.returncode == -signal.SIGKILL, first.stderr
    pids = json.loads(first.stdout)
    a, b = pids["a.service"], pids["b.service"]
    try:
        assert persist.proc_stat(a).ppid != os.getpid()  # re-parented away from any manager
        os.kill(b, signal.SIGKILL)  # b dies while no manager watches
        wait_for(lambda: gone(b))

        fresh = Manager(units())
        log: list[str] = []
        recovered = persist.recover(fresh, path, time.monotonic_ns() // 1000, log.append)
        assert log == []
        pa, pb = fresh.runtime_properties("a.service"), fresh.runtime_properties("b.service")
        assert (pa["SubState"], pa["MainPID"]) == ("running", a)
        assert (pb["SubState"], pb["Result"]) == ("dead", "success")
        assert f"b.service: Main process {b} vanished while the manager was not running; " \
               f"exit status unknown, treating it as exited successfully." in \
               [x.message for x in recovered.actions if isinstance(x, Log)]

        # a is not our child: its exit shows through a pidfd, with an unknown status
        adopted = persist.AdoptedProcesses(tracked_pids(fresh), recovered.start_times, own_pid=os.getpid())
        assert adopted.pids() == {a: "a.service"}
        kills = [x for x in fresh.handle(ev.StopRequested("a.service"), time.monotonic_ns() // 1000)
                 if isinstance(x, Kill)]
        assert kills and a in kills[0].pids
        for k in kills:
            for pid in k.pids:
                adopted.send_signal(pid, k.signal)
        [fd] = adopted.fds()
        assert select.select([fd], [], [], 20)[0] == [fd]
        assert adopted.exited(fd) == (a, "a.service")
        fresh.handle(ev.ProcessExited(a, ExitCode.EXITED, 0), time.monotonic_ns() // 1000)
        pa = fresh.runtime_properties("a.service")
        assert (pa["ActiveState"], pa["Result"]) == ("inactive", "success")
        adopted.close()
    finally:
        for pid in (a, b):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
