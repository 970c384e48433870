"""The notify socket with real clients: systemd-notify, the `sdnotify` package, raw sockets.

# spec: notify-and-watchdog.md §1 (transport, credentials, size), §3 (assignments)
"""

import array
import os
import selectors
import shutil
import socket
import subprocess

import pytest

from sysvisor.daemon.notify_socket import NOTIFY_BUFFER_MAX, NotifySocket, parse_assignments

WAIT = 10.0


def _receive(ns: NotifySocket, count: int = 1):
    """Bounded wait until `count` messages (or warnings) arrived."""
    sel = selectors.DefaultSelector()
    sel.register(ns, selectors.EVENT_READ)
    messages, warnings = [], []
    while len(messages) + len(warnings) < count:
        if not sel.select(WAIT):
            pytest.fail("no notification arrived within the bounded wait")
        m, w = ns.receive()
        messages += m
        warnings += w
    sel.close()
    return messages, warnings


@pytest.fixture
def notify(tmp_path):
    ns = NotifySocket(str(tmp_path / "notify"))
    yield ns
    ns.close()


def test_parse_assignments_last_wins_and_ignores_junk():
    assert parse_assignments(b"READY=1\nSTATUS=a=b\njunk\n=x\nSTATUS=c\n") == {"READY": "1", "STATUS": "c"}


def _run_systemd_notify(notify, *args):
    """Run systemd-notify while answering its BARRIER=1 (it waits for the manager)."""
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    proc = subprocess.Popen(["systemd-notify", *args], env=env, stderr=subprocess.PIPE, text=True)
    try:
        received = []
        while not any("BARRIER" in m.fields for m in received):
            messages, warnings = _receive(notify)
            assert warnings == []
            received += messages
            for m in messages:
                m.close_fds()  # closing the barrier fd releases the client
        assert proc.wait(WAIT) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    return [m for m in received if "BARRIER" not in m.fields]


@pytest.mark.skipif(shutil.which("systemd-notify") is None, reason="test.sh installs systemd-notify")
def test_systemd_notify_binary(notify):
    (message,) = _run_systemd_notify(notify, "--ready", "--status=Serving 3 clients")
    assert message.fields["READY"] == "1"
    assert message.fields["STATUS"] == "Serving 3 clients"
    assert message.pid > 0 and message.uid == os.getuid()


@pytest.mark.skipif(shutil.which("systemd-notify") is None, reason="test.sh installs systemd-notify")
def test_systemd_notify_pid_option(notify):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        (message,) = _run_systemd_notify(notify, f"--pid={sleeper.pid}", "--ready")
        assert message.fields.get("READY") == "1"
        assert message.fields.get("MAINPID") == str(sleeper.pid)
        if os.getuid() == 0:  # only a privileged sender may speak for another pid
            assert message.pid == sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()


def test_sdnotify_package(notify, monkeypatch):
    sdnotify = pytest.importorskip("sdnotify")
    monkeypatch.setenv("NOTIFY_SOCKET", notify.path)
    sdnotify.SystemdNotifier().notify("READY=1\nSTATUS=from sdnotify")
    (message,), _ = _receive(notify)
    assert message.fields == {"READY": "1", "STATUS": "from sdnotify"}
    assert message.pid == os.getpid()


def test_abstract_socket_address(tmp_path):
    name = f"@sysvisor-test/{os.getpid()}/notify"
    ns = NotifySocket(name)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"WATCHDOG=1", "\0" + name[1:])
        (message,), _ = _receive(ns)
        assert message.fields == {"WATCHDOG": "1"}
    finally:
        ns.close()


def test_oversized_datagram_is_dropped_with_a_warning(notify):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        s.sendto(b"STATUS=" + b"x" * NOTIFY_BUFFER_MAX, notify.path)
        s.sendto(b"READY=1", notify.path)
    messages, warnings = _receive(notify, 2)
    assert [m.fields for m in messages] == [{"READY": "1"}]
    assert warnings == ["Got notification message with truncated data or control data, ignoring."]


def test_barrier_fds_are_handed_over_and_closed(notify):
    r, w = os.pipe()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendmsg([b"BARRIER=1"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w]).tobytes())], 0, notify.path)
    os.close(w)
    (message,), _ = _receive(notify)
    assert message.fields == {"BARRIER": "1"} and len(message.fds) == 1
    message.close_fds()
    assert os.read(r, 1) == b""  # the barrier: our write end is closed everywhere
    os.close(r)
