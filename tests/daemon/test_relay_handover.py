"""One journal relay message per spawn (journal/relay.py open_stream(defer=True) +
hand_over()): the stream reaches the relay once, with its process's pid, and nothing written
before the hand-over is lost. # spec: issue 5 (restart path), issue 6 (every line kept)"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

from sysvisor.journal.reader import JournalReader
from sysvisor.journal.relay import RelayClient, start_relay


def test_a_deferred_stream_is_one_message_with_the_pid_and_its_fd():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    client = RelayClient.__new__(RelayClient)  # the protocol only, on a socket pair
    client.sock, client.boot_id = ours, "b" * 32
    try:
        h = client.open_stream("x.service", "1" * 32, "x", keep_read_end=True, defer=True)
        theirs.setblocking(False)
        try:
            theirs.recv(1)
            raise AssertionError("open_stream(defer=True) sent something")
        except BlockingIOError:
            pass
        client.hand_over(h, 4242, "x")
        msg, fds, _flags, _addr = socket.recv_fds(theirs, 65536, 4)
        req = json.loads(msg)
        assert req["op"] == "open" and req["wait_pid"] is False and len(fds) == 1
        assert (req["fields"]["_PID"], req["fields"]["_COMM"], req["fields"]["_SYSTEMD_UNIT"]) == ("4242", "x", "x.service")
        with pytest_raises_blocking():
            theirs.recv(1)  # nothing else: no separate "pid" message
        os.write(h.write_fd, b"through the fd\n")
        assert os.read(fds[0], 100) == b"through the fd\n"  # the fd is the stream's read end
        for fd in (*fds, h.write_fd):
            os.close(fd)
        h.close_read_end()
    finally:
        ours.close()
        theirs.close()


class pytest_raises_blocking:
    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        assert kind is BlockingIOError, f"expected nothing to read, got {kind}"
        return True


def test_output_written_before_the_hand_over_reaches_the_journal_with_the_pid(tmp_path):
    journal, sock = str(tmp_path / "journal"), str(tmp_path / "relay.sock")
    relay = start_relay(journal, sock, boot_id="b" * 32, hostname="host")
    try:
        with RelayClient(sock, boot_id="b" * 32) as c:
            h = c.open_stream("early.service", "2" * 32, "early", keep_read_end=True, defer=True)
            proc = subprocess.Popen(["sh", "-c", "echo first; echo second"], stdout=h.write_fd, stderr=h.write_fd)
            os.close(h.write_fd)
            assert proc.wait(timeout=30) == 0  # all written (and the writer gone) before the relay knows
            c.hand_over(h, proc.pid, "sh")
            h.close_read_end()
            c.sync()
        got = [e for e in JournalReader(journal).entries() if e.get("_SYSTEMD_UNIT") == "early.service"]
        assert [e["MESSAGE"] for e in got] == ["first", "second"]
        assert {(e["_PID"], e["_COMM"], e["SYSLOG_IDENTIFIER"]) for e in got} == {(str(proc.pid), "sh", "early")}
    finally:
        os.kill(relay, signal.SIGTERM)
        end = time.monotonic() + 30
        while time.monotonic() < end:  # bounded wait: the relay exits once its pipes are drained
            try:
                if os.waitpid(relay, os.WNOHANG)[0]:
                    break
            except ChildProcessError:
                break
            time.sleep(0.01)
        else:
            os.kill(relay, signal.SIGKILL)
