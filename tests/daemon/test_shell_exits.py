"""The shell's queue of reaped exits (daemon/shell.py): handled a batch per loop turn, in
order, and never a target of a kill once reaped. Real processes, no timing."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from sysvisor.core import actions as A
from sysvisor.core import events as E
from sysvisor.core.types import ExitCode
from sysvisor.daemon.shell import EXITS_PER_TURN


@pytest.fixture
def shell(empty_shell):
    return empty_shell


def test_exits_beyond_a_batch_wait_for_the_next_turns_in_order(shell):
    handled = []
    shell.output.drain = handled.append  # the first thing done per exit
    exits = [(100000 + i, ExitCode.EXITED, 0) for i in range(EXITS_PER_TURN * 2 + 3)]
    shell.on_children_exited(exits)
    assert 1 <= len(handled) <= EXITS_PER_TURN
    turns = 1
    while shell._exits:
        shell.loop.run_once(max_wait=0)  # the queue makes the loop's next deadline "now"
        turns += 1
        assert turns < 100
    assert handled == [pid for pid, _, _ in exits]  # none lost, none reordered
    assert turns >= 3
    shell.on_children_exited([(1, ExitCode.EXITED, 0)] * 3, budget=None)
    assert handled[-3:] == [1, 1, 1] and not shell._exits


def _pending(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("ShdPnd:")).split()[1], 16)


def _stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


def test_a_reaped_pid_still_queued_is_not_signalled(shell):
    # a live process stands in for one whose number the kernel gave away after the reap;
    # it is stopped, so a signal sent to it stays pending where we can see it at once
    p = subprocess.Popen(["sleep", "60"])
    try:
        os.kill(p.pid, signal.SIGSTOP)
        for _ in range(2000):  # bounded wait for the stop to take effect
            if _stopped(p.pid):
                break
            os.sched_yield()
        assert _stopped(p.pid)
        term = 1 << (signal.SIGTERM - 1)
        shell._exits.append((p.pid, ExitCode.EXITED, 0))
        shell._do_Kill(A.Kill("x.service", signal.SIGTERM, (p.pid,)))
        assert not _pending(p.pid) & term
        shell._exits.clear()
        shell._do_Kill(A.Kill("x.service", signal.SIGTERM, (p.pid,)))
        assert _pending(p.pid) & term
    finally:
        p.kill()
        p.wait()


def test_a_cgroup_event_reaps_first_and_an_empty_cgroup_is_reported_once(shell, monkeypatch):
    # the cgroup empties before its last process is a zombie, and its inotify event often
    # wakes the loop before SIGCHLD does: the exit is reaped and handled in that same turn
    # (systemd dispatches SIGCHLD before its cgroup-empty queue), and the emptiness the
    # reap already reported is not reported again
    service = type("Svc", (), {"populated": True})()
    seen = []

    def handle(event, now):
        seen.append(event)
        if isinstance(event, E.UnitEmptied):
            service.populated = False
        return []

    monkeypatch.setattr(shell.manager, "handle", handle)
    monkeypatch.setattr(shell.manager, "services", {"x.service": service})
    monkeypatch.setattr(shell.containment, "kind", "cgroup")
    monkeypatch.setattr(shell.containment, "is_empty", lambda unit: True)
    monkeypatch.setattr(shell.containment, "read_events", lambda: ["x.service"])
    shell._pid_unit[4242] = "x.service"
    shell.reap_children = lambda: shell.on_children_exited([(4242, ExitCode.EXITED, 1)])
    shell._on_cgroup_events()
    assert seen == [E.UnitEmptied("x.service"), E.ProcessExited(4242, ExitCode.EXITED, 1)]
