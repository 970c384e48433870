"""Spawns pipelined through the helper (daemon/spawner.py submit/collect, daemon/shell.py
_carry_out_list): answers come back in the order sent, every Spawn of one engine turn is
answered with the pid of its own process before any other event, and a helper that dies
with spawns in flight loses none of them (they take the fork path). Real processes; order by
construction. # spec: core/events.py (Spawned before any other event); issue 5 (restarts/s)
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from sysvisor.core import actions as A
from sysvisor.core import events as E
from sysvisor.daemon import exec_helper
from sysvisor.daemon.executor import ExecRequest, wait_exec_outcome
from sysvisor.daemon.loop import EventLoop
from sysvisor.daemon.shell import Shell
from sysvisor.daemon.spawner import Spawner, SpawnerUnavailable
from sysvisor.journal.store import JournalWriter
from sysvisor.unitfile.loader import UnitLoader


def _wait_file(path, timeout: float = 30.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:  # bounded wait on the condition
        if os.path.exists(path) and open(path).read().endswith("\n"):
            return open(path).read().strip()
        time.sleep(0.005)
    raise AssertionError(f"{path} never written")


@pytest.mark.parametrize("native", [False, True], ids=["python-helper", "native-helper"])
def test_answers_come_back_in_the_order_sent(tmp_path, native):
    # with the native helper, plain spawns go to it and those with a passed fd to the Python
    # helper: interleaved in flight, each answer still belongs to its own request
    if native:
        exec_helper.find_or_build()
    s = Spawner.start(native=native)
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        try:
            tickets = [s.submit(ExecRequest(path="/bin/sh", argv=["sh", "-c", f"echo $$ > {tmp_path}/{i}"],
                                            pass_fds=(r,) if i % 3 == 1 else ()))
                       for i in range(9)]
        except SpawnerUnavailable as e:
            pytest.skip(f"no spawn helper here: {e}")
        children = [s.collect(t) for t in tickets]
        assert s.native_spawns == (6 if native else 0)
        for i, child in enumerate(children):
            wait_exec_outcome(child.error_fd, "/bin/sh")
            os.waitid(os.P_PID, child.pid, os.WEXITED)
            assert _wait_file(tmp_path / str(i)) == str(child.pid)  # answer i is request i's process
        assert len({c.pid for c in children}) == 9
    finally:
        os.close(r)
        os.close(w)
        s.close()


UNIT = "[Service]\nExecStart=/bin/sh -c 'echo $$$$ > {out}/{name}'\n"


@pytest.fixture
def shell(tmp_path):
    (tmp_path / "units").mkdir()
    (tmp_path / "out").mkdir()
    for i in range(5):
        (tmp_path / "units" / f"p{i}.service").write_text(UNIT.format(out=tmp_path / "out", name=f"p{i}"))
    units = UnitLoader([str(tmp_path / "units")]).load_all()
    journal = JournalWriter(str(tmp_path / "journal"))
    s = Shell(units, EventLoop(), journal, on_exit=lambda status: None, user_manager=os.geteuid() != 0,
              containment_name=f"sysvisor-test-pipe-{os.getpid()}", console=False, use_spawner=True)
    if s.spawner is None:
        s.close()
        journal.close()
        pytest.skip("no spawn helper here")
    yield s
    s.close()
    journal.close()


def _turn(shell, monkeypatch, kill_helper_after: int | None = None, awaited: list | None = None):
    """Feed one event whose turn is five Spawns (and a Log between two of them); returns the
    events the engine saw after it, in order."""
    spawns = [A.Spawn(i, f"p{i}.service", shell.units[f"p{i}.service"].service.exec_start[0], "ExecStart", True, f"{i:032x}")
              for i in range(5)]
    turn = [*spawns[:2], A.Log("between", unit="p1.service"), *spawns[2:]]
    seen: list = []
    real_submit = shell.spawner.submit
    submitted = []
    awaited = [] if awaited is None else awaited  # which spawns the helper answers after their exec

    def submit(req, await_exec=False):
        ticket = real_submit(req, await_exec)
        submitted.append(ticket)
        awaited.append(await_exec)
        if kill_helper_after is not None and len(submitted) == kill_helper_after:
            # the helper these plain spawns go to dies with spawns in flight or still to come
            os.kill(shell.spawner.native_pid or shell.spawner.pid, signal.SIGKILL)
        return ticket

    monkeypatch.setattr(shell.spawner, "submit", submit)

    def handle(event, now):
        seen.append(event)
        return turn if event == "turn" else []

    monkeypatch.setattr(shell.manager, "handle", handle)
    shell.feed("turn")
    return seen


def _check(seen, tmp_path, shell):
    answers, execs = seen[1:6], seen[6:]
    assert len(answers) == 5 and all(isinstance(e, E.Spawned) for e in answers)
    by_id = {e.spawn_id: e.pid for e in answers}
    assert sorted(by_id) == list(range(5))
    # a child that had exec'd by its answer (the native helper waits for the exec while no
    # other request is queued) has its ExecSucceeded in this turn, after every answer
    assert all(isinstance(e, E.ExecSucceeded) for e in execs)
    assert len({e.pid for e in execs}) == len(execs) and {e.pid for e in execs} <= set(by_id.values())
    for i, pid in by_id.items():
        assert _wait_file(tmp_path / "out" / f"p{i}") == str(pid)  # each answer is its own process
        assert shell._pid_unit.get(pid) == f"p{i}.service"
        os.waitid(os.P_PID, pid, os.WEXITED)


def test_every_spawn_of_a_turn_is_answered_with_its_own_pid_before_other_events(shell, tmp_path, monkeypatch):
    awaited: list = []
    seen = _turn(shell, monkeypatch, awaited=awaited)
    _check(seen, tmp_path, shell)
    assert not shell._inflight
    # the helper waits for the exec of the last spawn of each row only (its answers are
    # collected right after it); in the middle of a row the manager has more to send
    assert awaited == [False, True, False, False, True]


def test_a_helper_dying_with_spawns_in_flight_loses_none(shell, tmp_path, monkeypatch):
    seen = _turn(shell, monkeypatch, kill_helper_after=1)
    _check(seen, tmp_path, shell)
    assert not shell._inflight
    assert shell._spawner_restarts == 1  # the death was noticed (once) and a new helper started


def test_a_relay_gone_at_the_hand_over_leaves_the_output_to_the_manager(shell, tmp_path, monkeypatch):
    import socket

    from sysvisor.journal.relay import RelayClient

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    theirs.close()  # the relay went away after the streams were made
    relay = RelayClient.__new__(RelayClient)
    relay.sock, relay.boot_id = ours, None
    shell.relay_link.client = relay
    seen = _turn(shell, monkeypatch)
    _check(seen, tmp_path, shell)
    assert shell.relay_link.client is None  # given up once, as when it cannot be reached at all
    assert not shell.relay_link.kept
    assert {e.pid for e in seen[1:]} <= set(shell.output._by_pid)  # each read by the manager itself
    ours.close()


def test_the_cgroups_of_a_row_are_made_before_its_first_spawn(shell, tmp_path, monkeypatch):
    # a mkdir waits for the cgroup mutex, which the helper's accounting joins hold across an
    # RCU grace period: a boot makes all its cgroups first, then spawns (shell._create_cgroups_of_row)
    order: list[str] = []
    real_create = shell.containment.create

    def create(unit):
        order.append("create " + unit)
        return real_create(unit)

    monkeypatch.setattr(shell.containment, "create", create)
    real_submit = shell.spawner.submit

    def submit(req, await_exec=False):
        order.append("submit " + req.argv[-1].rsplit("/", 1)[-1].removesuffix("'"))
        return real_submit(req, await_exec)

    monkeypatch.setattr(shell.spawner, "submit", submit)
    seen = _turn(shell, monkeypatch)
    _check(seen, tmp_path, shell)
    first_of = {what: order.index(what) for what in dict.fromkeys(order)}
    # rows: p0 p1 | Log | p2 p3 p4
    assert first_of["create p1.service"] < first_of["submit p0"]
    assert max(first_of[f"create p{i}.service"] for i in (2, 3, 4)) < first_of["submit p2"]
