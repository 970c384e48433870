"""The manager's link to the journal relay (daemon/relay_link.py) never waits for the relay:
a hand-over that finds the connection full waits in order for room, and after
RELAY_WAIT_USEC (or the relay's death) the manager reads the waiting streams itself.
Real sockets, pipes and a real EventLoop; the "relay" is the other end of a socket pair.
# spec: issue 6 (a service is never blocked by logging; the manager is never blocked by the relay)"""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from sysvisor.daemon import relay_link
from sysvisor.daemon.clock import monotonic_usec
from sysvisor.daemon.loop import EventLoop
from sysvisor.daemon.output import OutputCapture
from sysvisor.daemon.relay_link import RelayLink
from sysvisor.journal.relay import RelayClient


class _World:
    def __init__(self) -> None:
        self.loop = EventLoop()
        self.lines: list[tuple[int, list[bytes]]] = []
        self.output = OutputCapture(self.loop.selector, lambda stream, lines: self.lines.append((stream.pid, list(lines.messages))))
        self.logged: list[str] = []
        self.link = RelayLink(self.loop, self.output, lambda message, **kw: self.logged.append(message))
        self.ours, self.relay = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.relay.setblocking(False)
        client = RelayClient.__new__(RelayClient)  # the protocol only, on a socket pair
        client.sock, client.boot_id = self.ours, None
        self.client = client
        self.link.connect(client)
        self.fillers = 0

    def fill(self) -> None:
        """Fill the connection as a stopped relay would let it fill."""
        try:
            while True:
                self.client._nowait.send(b'{"op": "ping"}' + b" " * 400, socket.MSG_DONTWAIT)
                self.fillers += 1
        except BlockingIOError:
            pass

    def spawn(self, pid: int):
        handle = self.client.open_stream("x.service", "1" * 32, "x", defer=True)
        self.link.hand_over(handle, pid, "x.service", "1" * 32, "x", True, monotonic_usec())
        return handle

    def received_opens(self) -> list[tuple[dict, list[int]]]:
        """What the relay end reads now (fillers skipped); the fds it got are closed."""
        opens = []
        while True:
            try:
                msg, fds, _flags, _addr = socket.recv_fds(self.relay, 65536, 4)
            except BlockingIOError:
                return opens
            req = json.loads(msg)
            if req.get("op") == "open":
                opens.append(req)
            for fd in fds:
                os.close(fd)

    def run_until(self, what: str, predicate, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            self.loop.run_once(max_wait=0.1)

    def close(self) -> None:
        self.link.close()
        self.output.close_all()
        self.ours.close()
        self.relay.close()


@pytest.fixture
def world():
    w = _World()
    yield w
    w.close()


def test_with_room_the_stream_goes_to_the_relay_at_once(world):
    handle = world.spawn(101)
    [req] = world.received_opens()
    assert req["fields"]["_PID"] == "101"
    assert world.link.kept == {101: handle}  # our copy of the read end, for a successor relay
    world.link.process_exited(101)
    assert handle.read_fd == -1 and not world.link.kept


def test_a_full_connection_makes_hand_overs_wait_in_order_without_blocking(world):
    world.fill()
    handles = [world.spawn(pid) for pid in (201, 202, 203)]  # returns at once: nothing was sent
    assert world.link.client is world.client and not world.link.kept
    assert world.received_opens() == []  # (reads the fillers: the relay makes room)
    world.run_until("the waiting hand-overs sent", lambda: len(world.link.kept) == 3)
    assert [req["fields"]["_PID"] for req in world.received_opens()] == ["201", "202", "203"]
    assert world.link.kept == dict(zip((201, 202, 203), handles))
    assert world.logged == []


def test_a_process_that_exits_while_its_hand_over_waits_still_gets_its_output_stored(world):
    world.fill()
    handle = world.spawn(301)
    os.write(handle.write_fd, b"last words\n")
    os.close(handle.write_fd)
    world.link.process_exited(301)
    assert handle.read_fd >= 0  # not closed: nobody has read it yet
    world.received_opens()
    world.run_until("the hand-over sent", lambda: handle.read_fd == -1)
    [req] = world.received_opens()
    assert req["fields"]["_PID"] == "301" and not world.link.kept


def test_a_relay_that_takes_nothing_for_the_wait_leaves_the_output_to_the_manager(world, monkeypatch):
    monkeypatch.setattr(relay_link, "RELAY_WAIT_USEC", 200_000)
    world.fill()
    handle = world.spawn(401)
    os.write(handle.write_fd, b"read by the manager\n")
    world.run_until("the manager reading it", lambda: world.lines)
    assert world.lines == [(401, [b"read by the manager"])]
    assert world.link.client is None and not world.link.kept
    assert world.logged == ["Journal relay unreachable, reading output in the manager: it took no new stream for 0.2 s"]
    # later spawns too, until the relay answers again
    later = world.spawn(402)
    os.write(later.write_fd, b"also ours\n")
    world.run_until("the later stream read", lambda: len(world.lines) == 2)
    os.close(handle.write_fd)
    os.close(later.write_fd)


def test_a_hung_relay_that_reads_again_gets_new_streams_again(world, monkeypatch):
    monkeypatch.setattr(relay_link, "RELAY_WAIT_USEC", 200_000)
    world.fill()
    first = world.spawn(501)
    world.run_until("the relay given up", lambda: world.link.client is None)
    # it reads its queue and answers the ping it then gets
    world.received_opens()
    world.relay.send(b'{"op": "pong", "pid": 1}')
    world.run_until("the relay taken back", lambda: world.link.client is world.client)
    assert world.logged[-1] == "Journal relay answers again; new output goes through it."
    assert world.received_opens() == []  # (the ping)
    second = world.spawn(502)
    [req] = world.received_opens()
    assert req["fields"]["_PID"] == "502" and world.link.kept == {502: second}
    os.close(first.write_fd)


def test_a_relay_that_dies_while_hand_overs_wait_leaves_them_to_the_manager(world):
    world.fill()
    handle = world.spawn(601)
    os.write(handle.write_fd, b"kept\n")
    world.relay.close()
    world.run_until("the manager reading it", lambda: world.lines)
    assert world.lines == [(601, [b"kept"])]
    assert world.link.client is None
    os.close(handle.write_fd)
    world.relay = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # for close()


def test_a_new_relay_gets_the_streams_of_the_dead_one_and_the_waiting_ones(world):
    kept = world.spawn(701)
    world.fill()
    waiting = world.spawn(702)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    theirs.setblocking(False)
    successor = RelayClient.__new__(RelayClient)
    successor.sock, successor.boot_id = ours, None
    world.link.connect(successor)
    assert world.ours.fileno() == -1  # the old connection is closed
    got = []
    while True:
        try:
            msg, fds, _f, _a = socket.recv_fds(theirs, 65536, 4)
        except BlockingIOError:
            break
        got.append(json.loads(msg)["fields"]["_PID"])
        for fd in fds:
            os.close(fd)
    assert got == ["701", "702"]
    assert world.link.kept == {701: kept, 702: waiting}
    world.ours, world.relay = ours, theirs
