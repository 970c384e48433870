"""The keeper process on its own, with a scripted stand-in for the manager, and the pure
parts around it: the link's packets, the restore rules for the keeper's children.
# spec: issue 5 ("surviving its own crash")"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sysvisor.core.types import ExitCode
from sysvisor.daemon import keeper, objective
from sysvisor.daemon.keeper_link import KeptExit, ManagerDeath, parse
from sysvisor.daemon.persist import ProcStat, alive_checker

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")

# A stand-in manager. First run: start a child that exits 7 once its parent is gone,
# say ready, die by SIGKILL. Second run: report what the keeper sends, say bye 5.
FAKE_MANAGER = textwrap.dedent(r"""
    import json, os, signal, subprocess, sys, time
    from sysvisor.daemon.keeper_link import KeeperLink, KeptExit, ManagerDeath
    out = sys.argv[1]
    link = KeeperLink(3)
    assert link.bind_lifetime()
    exits, deaths = link.hello()
    if not os.path.exists(out + ".first"):
        me = os.getpid()
        child = subprocess.Popen(["/bin/sh", "-c", f"while kill -0 {me} 2>/dev/null; do sleep 0.02; done; exit 7"])
        with open(f"/proc/{child.pid}/stat", "rb") as f:
            start = int(f.read().rsplit(b")", 1)[1].split()[19])
        json.dump({"pid": child.pid, "start": start, "manager": me}, open(out + ".first", "w"))
        link.ready()
        os.kill(me, signal.SIGKILL)
    link.ready()  # the child may exit before or after this: in the backlog, or as a record now
    import select
    deadline = time.monotonic() + 20
    while not exits and time.monotonic() < deadline:
        select.select([link], [], [], 0.5)
        exits += link.receive()
    json.dump({"exits": [[e.pid, int(e.code), e.status, e.start_time] for e in exits],
               "deaths": [[d.pid, int(d.code), d.status] for d in deaths], "ppid": os.getppid()}, open(out, "w"))
    link.goodbye(5)
    sys.exit(0)
""")


def test_keeper_reaps_orphans_of_a_dead_manager_restarts_it_and_hands_over_the_statuses(tmp_path):
    script = tmp_path / "manager.py"
    script.write_text(FAKE_MANAGER)
    out = str(tmp_path / "result.json")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    proc = subprocess.run(
        [sys.executable, "-I", "-S", keeper.__file__, "--lock", str(tmp_path / "keeper.pid"), "--",
         sys.executable, str(script), out],
        env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 5, proc.stderr  # the second manager's `bye 5`
    first = json.load(open(out + ".first"))
    result = json.load(open(out))
    assert result["ppid"] != first["manager"]
    assert result["deaths"] == [[first["manager"], int(ExitCode.KILLED), signal.SIGKILL]]
    assert result["exits"] == [[first["pid"], int(ExitCode.EXITED), 7, first["start"]]]
    assert "the manager (PID %d) was killed by signal 9 (SIGKILL)" % first["manager"] in proc.stderr


def test_keeper_refuses_a_held_lock(tmp_path):
    lock = str(tmp_path / "keeper.pid")
    fd = keeper.take_lock(lock)
    try:
        proc = subprocess.run([sys.executable, "-I", "-S", keeper.__file__, "--lock", lock, "--", "/bin/true"],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 1
        assert f"(PID {os.getpid()}, {lock})" in proc.stderr and "not starting a second one" in proc.stderr
    finally:
        os.close(fd)


def test_keeper_forwards_exactly_the_signals_the_manager_handles():
    assert set(keeper.FORWARDED) == set(objective.MANAGER_SIGNALS) - {signal.SIGCHLD}


def test_keeper_imports_only_the_standard_library():
    # it runs as python3 -I -S: no site-packages, no sysvisor
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", f"import runpy; runpy.run_path({keeper.__file__!r})"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


@given(st.integers(1, 2**22), st.sampled_from(list(ExitCode)[1:]), st.integers(0, 255),
       st.none() | st.integers(0, 2**40), st.integers(0, 2**62), st.integers(0, 2**62))
def test_exit_packets_round_trip(pid, code, status, start, realtime, monotonic):
    packet = f"exit {pid} {int(code)} {status} {'-' if start is None else start} {realtime} {monotonic}".encode()
    assert parse(packet) == KeptExit(pid, code, status, start, realtime, monotonic)


@pytest.mark.parametrize("packet", [b"", b"exit", b"exit 1 9 0 - 1 1", b"exit x 1 0 - 1 1", b"manager 1 1", b"what"])
def test_malformed_packets_are_ignored(packet):
    assert parse(packet) is None


def test_manager_note_and_backlog_end():
    assert parse(b"manager 42 2 9") == ManagerDeath(42, ExitCode.KILLED, 9)
    assert parse(b"backlog-end") == "backlog-end"


# --- restoring with the keeper: which saved processes count as still to be heard of ---

def _stat(table):
    return lambda pid: table.get(pid)


def test_a_zombie_of_the_keeper_counts_as_alive_its_status_follows():
    alive = alive_checker({10: 500}, own_pid=1000, keeper_pid=7, stat=_stat({10: ProcStat("Z", 7, 500)}))
    assert alive(10)


def test_a_zombie_of_anyone_else_is_gone():
    alive = alive_checker({10: 500}, own_pid=1000, keeper_pid=7, stat=_stat({10: ProcStat("Z", 1, 500)}))
    assert not alive(10)


def test_a_process_the_keeper_reaped_counts_as_alive_if_it_is_the_saved_one():
    gone = _stat({})
    assert alive_checker({10: 500}, keeper_pid=7, kept={10: 500}, stat=gone)(10)
    assert not alive_checker({10: 500}, keeper_pid=7, kept={10: 499}, stat=gone)(10)  # an older process with that pid
    # a record of an older process with that pid says nothing about the saved one
    assert alive_checker({10: 500}, keeper_pid=7, kept={10: 499}, stat=_stat({10: ProcStat("S", 7, 500)}))(10)


# A stand-in manager that stops on SIGTERM. First run: ready, then wait to be killed.
# Second run: ready, wait for the SIGTERM the keeper got while no manager ran.
STOPPABLE = textwrap.dedent(r"""
    import os, signal, sys, time
    from sysvisor.daemon.keeper_link import KeeperLink
    out = sys.argv[1]
    got = []
    signal.signal(signal.SIGTERM, lambda s, f: got.append(s))
    link = KeeperLink(3)
    link.hello()
    link.ready()
    first = not os.path.exists(out + ".first")
    if first:
        open(out + ".first", "w").write(str(os.getpid()))
    deadline = time.monotonic() + 30
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    if first:
        sys.exit(9)  # not reached: the test kills this one first
    open(out, "w").write("stopped by the keeper's SIGTERM" if got else "no SIGTERM")
    link.goodbye(0)
""")


def test_a_sigterm_while_the_manager_is_dead_reaches_the_next_one(tmp_path):
    script = tmp_path / "manager.py"
    script.write_text(STOPPABLE)
    out = str(tmp_path / "result")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    proc = subprocess.Popen([sys.executable, "-I", "-S", keeper.__file__, "--lock", str(tmp_path / "keeper.pid"), "--",
                             sys.executable, str(script), out], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(out + ".first") or not open(out + ".first").read():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
        first = int(open(out + ".first").read())
        os.kill(proc.pid, signal.SIGSTOP)  # the keeper sees the death and the SIGTERM together
        try:
            os.kill(first, signal.SIGKILL)
            os.kill(proc.pid, signal.SIGTERM)
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
        assert open(out).read() == "stopped by the keeper's SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- the keeper's decisions, without processes ---

class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _crash(k: keeper.Keeper, clock: FakeClock, ran_for: float) -> float:
    k.manager, k.started = 4242, clock.now
    clock.now += ran_for
    k.manager_exited(4242, os.CLD_KILLED, signal.SIGKILL)
    return k.restart_at - clock.now


def test_crash_restarts_back_off_and_reset_after_a_stable_run():
    clock = FakeClock()
    k = keeper.Keeper(["/bin/false"], clock=clock)
    delays = [_crash(k, clock, 0.5) for _ in range(10)]
    assert delays == pytest.approx([*keeper.BACKOFF, keeper.BACKOFF[-1], keeper.BACKOFF[-1]])
    assert _crash(k, clock, keeper.STABLE_AFTER) == 0.0  # it ran long enough: start over
    assert k.note == f"manager 4242 {os.CLD_KILLED} {signal.SIGKILL}".encode() and k.exit_status is None


def test_a_manager_that_said_bye_ends_the_keeper_with_its_status():
    clock = FakeClock()
    k = keeper.Keeper(["/bin/false"], clock=clock)
    k.handle(b"bye 3".split())
    _crash(k, clock, 0.1)
    assert k.exit_status == 3


def test_a_stop_the_dead_manager_got_goes_to_the_next_one_at_once():
    clock = FakeClock()
    k = keeper.Keeper(["/bin/false"], clock=clock)
    for _ in range(5):
        _crash(k, clock, 0.1)  # deep in the back-off
    k.manager, k.ready, k.started = os.getpid(), True, clock.now
    k.delivered_stop = [signal.SIGTERM]  # as forward() records it
    k.manager_exited(os.getpid(), os.CLD_KILLED, signal.SIGKILL)
    assert k.restart_at == clock.now and k.pending == [signal.SIGTERM]


def test_signals_wait_for_a_ready_manager_and_a_stop_with_none_running_starts_one():
    clock = FakeClock()
    k = keeper.Keeper(["/bin/false"], clock=clock)
    k.restart_at = clock.now + 10
    k.forward(signal.SIGHUP)
    assert k.pending == [signal.SIGHUP] and k.restart_at == clock.now + 10
    k.forward(signal.SIGTERM)
    assert k.pending == [signal.SIGHUP, signal.SIGTERM] and k.restart_at == clock.now


def test_acks_drop_only_the_record_they_name():
    k = keeper.Keeper(["/bin/false"])
    k.record(10, os.CLD_EXITED, 3, 500)
    k.record(11, os.CLD_EXITED, 0, None)
    k.handle(b"ack 10 499".split())  # an older process with that pid
    k.handle(b"ack 11 -".split())
    assert list(k.records) == [10]
    k.handle(b"ack 10 500".split())
    assert k.records == {}


def test_records_are_bounded_oldest_first():
    k = keeper.Keeper(["/bin/false"])
    for pid in range(keeper.MAX_RECORDS + 5):
        k.record(pid + 2, os.CLD_EXITED, 0, pid)
    assert len(k.records) == keeper.MAX_RECORDS and next(iter(k.records)) == 7
