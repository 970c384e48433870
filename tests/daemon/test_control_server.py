"""The control socket under abuse: it answers errors, drops stuck peers, and keeps serving.

# spec: issue 5 "The control socket" (malformed, oversized, half-sent requests)
"""

import os
import socket
import stat
import struct
import threading

import pytest

from sysvisor.daemon.control_server import ControlServer
from sysvisor.daemon.loop import EventLoop
from sysvisor.protocol.control import FrameDecoder, encode

WAIT = 10.0  # bounded wait for any reply


@pytest.fixture
def server(tmp_path):
    loop = EventLoop()
    path = str(tmp_path / "control")
    deferred = []

    def handler(conn, request):
        if request.get("verb") == "later":
            deferred.append(conn)
            return None
        if request.get("verb") == "boom":
            raise ValueError("handler bug")
        return {"ok": True, "echo": request, "uid": conn.uid}

    srv = ControlServer(path, loop.selector, handler, half_request_timeout_usec=200_000)
    loop.add_deadline(srv.next_deadline, srv.expire)
    stop = threading.Event()

    def run():
        while not stop.is_set():
            loop.run_once(max_wait=0.05)
            for conn in list(deferred):
                srv.reply(conn, {"ok": True, "deferred": True})
                deferred.remove(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join(WAIT)
    srv.shutdown()


def _connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(WAIT)
    s.connect(path)
    return s


def _read_reply(sock):
    decoder = FrameDecoder()
    while True:
        data = sock.recv(65536)
        if not data:
            return None
        msgs = decoder.feed(data)
        if msgs:
            return msgs[0]


def test_socket_is_private(server):
    assert stat.S_IMODE(os.stat(server).st_mode) == 0o600


def test_request_reply_with_peer_credentials(server):
    with _connect(server) as s:
        s.sendall(encode({"verb": "ping"}))
        reply = _read_reply(s)
    assert reply == {"ok": True, "echo": {"verb": "ping"}, "uid": os.getuid()}


def test_deferred_reply(server):
    with _connect(server) as s:
        s.sendall(encode({"verb": "later"}))
        assert _read_reply(s) == {"ok": True, "deferred": True}


@pytest.mark.parametrize(
    "payload, expected",
    [
        (struct.pack(">I", 5) + b"{nope", "malformed message"),
        (struct.pack(">I", 2) + b"[]", "expected a JSON object"),
        (struct.pack(">I", 2) + b"\xff\xfe", "malformed message"),
        (struct.pack(">I", 1 << 31), "exceeds the limit"),
    ],
)
def test_bad_frames_get_an_error_and_the_server_keeps_serving(server, payload, expected):
    with _connect(server) as s:
        s.sendall(payload)
        reply = _read_reply(s)
    assert reply["ok"] is False and expected in reply["error"]
    with _connect(server) as s:
        s.sendall(encode({"verb": "ping"}))
        assert _read_reply(s)["ok"] is True


def test_a_handler_exception_is_an_error_reply(server):
    with _connect(server) as s:
        s.sendall(encode({"verb": "boom"}))
        reply = _read_reply(s)
    assert reply["ok"] is False and "handler bug" in reply["error"]


def test_half_sent_request_is_dropped_and_does_not_stall_others(server):
    stuck = _connect(server)
    stuck.sendall(encode({"verb": "ping"})[:6])
    with _connect(server) as s:  # served while the other one is stuck
        s.sendall(encode({"verb": "ping"}))
        assert _read_reply(s)["ok"] is True
    reply = _read_reply(stuck)
    assert reply["ok"] is False and "incomplete request" in reply["error"]
    stuck.close()


def test_random_garbage_never_kills_the_server(server):
    import random

    rng = random.Random(1234)
    for _ in range(50):
        with _connect(server) as s:
            blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
            s.sendall(blob)
            s.shutdown(socket.SHUT_WR)
            _read_reply(s)  # an error reply or a close: both fine
    with _connect(server) as s:
        s.sendall(encode({"verb": "ping"}))
        assert _read_reply(s)["ok"] is True


def test_second_manager_on_the_same_socket_is_refused(server):
    loop = EventLoop()
    with pytest.raises(RuntimeError, match="already listening"):
        ControlServer(server, loop.selector, lambda c, r: {})
