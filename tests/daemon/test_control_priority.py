"""Control requests go before queued work (daemon/shell.py serve_requests, daemon/
control_server.py serve_ready): a request already on the socket is answered before the next
queued exit, and a read-only one between two spawns of one engine turn, while a request that
changes something waits until the turn's actions are carried out. Ordering is proven by
construction (the client writes its request from inside the manager's work), never by time.
# spec: issue 5 "status p99 ≤ 100 ms while 50 services crash-loop"
"""

from __future__ import annotations

import socket

import pytest

from sysvisor.core import actions as A
from sysvisor.core.types import ExitCode
from sysvisor.daemon.control_server import ControlServer
from sysvisor.daemon.main import _read_only
from sysvisor.daemon.shell import EXITS_PER_TURN
from sysvisor.protocol.control import FrameDecoder, encode


@pytest.fixture
def shell(empty_shell):
    return empty_shell


@pytest.fixture
def served(shell, tmp_path):
    """A real control server on the shell's loop whose handler records each verb in `order`."""
    order: list = []

    def handler(conn, request):
        order.append(("request", request["verb"]))
        return {"ok": True, "verb": request["verb"]}

    server = ControlServer(str(tmp_path / "control"), shell.loop.selector, handler)
    shell.serve_requests = lambda mid_turn: server.serve_ready(_read_only if mid_turn else None)
    shell.loop.after_iteration.append(server.serve_deferred)
    yield server, order
    shell.serve_requests = None
    server.shutdown()


def _send(path: str, verb: str) -> socket.socket:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)  # the kernel completes it from the listen backlog: no turn of ours needed
    c.sendall(encode({"verb": verb}))
    return c


def _reply(c: socket.socket) -> dict:
    c.settimeout(30)
    decoder = FrameDecoder()
    while True:
        data = c.recv(65536)
        assert data, "connection closed without a reply"
        got = decoder.feed(data)
        if got:
            c.close()
            return got[0]


def test_a_request_sent_during_a_batch_is_answered_before_the_next_exit(shell, served):
    server, order = served
    clients = []
    exits = [(200000 + i, ExitCode.EXITED, 0) for i in range(EXITS_PER_TURN)]

    def drain(pid):  # the first step of handling each exit
        order.append(("exit", pid))
        if pid == exits[2][0]:
            clients.append(_send(server.path, "ping"))  # arrives while exits are still queued

    shell.output.drain = drain
    shell.on_children_exited(exits, budget=EXITS_PER_TURN)
    while shell._exits:
        shell.loop.run_once(max_wait=0)
    pids = [p for p, _, _ in exits]
    assert [o[1] for o in order if o[0] == "exit"] == pids  # none lost, none reordered
    assert order.index(("request", "ping")) == order.index(("exit", pids[2])) + 1
    assert _reply(clients[0])["ok"]
    assert server.served_between == 1


def test_read_only_requests_go_between_spawns_and_changes_wait_for_the_turn(shell, served, monkeypatch):
    server, order = served
    spawns = [A.Spawn(i, f"u{i}.service", None, "ExecStart", True, "0" * 32) for i in range(4)]
    clients = {}

    def do_spawn(action, last_of_row=True):
        order.append(("spawn", action.spawn_id))
        if action.spawn_id == 0:  # both arrive while this engine turn's spawns are carried out
            clients["units"] = _send(server.path, "units")
            clients["stop"] = _send(server.path, "stop")

    monkeypatch.setattr(shell, "_do_Spawn", do_spawn)
    monkeypatch.setattr(shell.manager, "handle", lambda event, now: spawns if event == "turn" else [])
    shell.feed("turn")
    # the read-only request right after the spawn during which it came, the change after all
    assert order[:3] == [("spawn", 0), ("request", "units"), ("spawn", 1)]
    assert ("request", "stop") not in order
    assert [o for o in order if o[0] == "spawn"] == [("spawn", i) for i in range(4)]
    shell.loop.run_once(max_wait=0)  # the next loop turn (after_iteration) dispatches it
    assert order[-1] == ("request", "stop")
    assert _reply(clients["units"])["verb"] == "units"
    assert _reply(clients["stop"])["verb"] == "stop"


def test_serving_does_not_nest_inside_a_request(shell, served):
    server, order = served
    calls = []
    c = _send(server.path, "ping")
    server._handler = lambda conn, request: calls.append(server.serve_ready()) or {"ok": True}
    assert server.serve_ready() == 1
    assert calls == [0]  # the handler's own call found the server busy and did nothing
    assert _reply(c)["ok"]
