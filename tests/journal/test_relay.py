"""The journal relay with real processes: services keep logging while the manager is gone.
# issue 6; spec: systemctl-and-journal.md §6"""

import os
import signal
import subprocess
import sys
import time

import pytest

from sysvisor.journal.relay import RelayClient, RelayError, start_relay
from sysvisor.journal.store import JournalReader

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src")
DEADLINE = 20.0  # seconds; every wait below is bounded by it and ends on a condition


def _wait_exit(pid: int, deadline: float = DEADLINE) -> int:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"process {pid} did not exit")


@pytest.fixture
def relay(tmp_path):
    journal = str(tmp_path / "journal")
    sock = str(tmp_path / "relay.sock")
    pid = start_relay(journal, sock, boot_id="b" * 32, hostname="host")
    yield journal, sock, pid
    try:
        os.kill(pid, signal.SIGTERM)
        _wait_exit(pid)
    except (ProcessLookupError, ChildProcessError):
        pass


def _messages(journal, unit=None):
    return [e["MESSAGE"] for e in JournalReader(journal).entries()
            if unit is None or e.get("_SYSTEMD_UNIT") == unit]


def _wait_for(journal, sock, predicate, what):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        with RelayClient(sock) as c:
            c.sync()
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_stream_fields_priorities_and_eof(relay):
    journal, sock, relay_pid = relay
    with RelayClient(sock, boot_id="b" * 32) as c:
        h = c.open_stream("hello.service", "1" * 32, "hello", 6, True)
        proc = subprocess.Popen(["sh", "-c", "echo one; echo '<3>two' >&2; printf three"],
                                stdout=h.write_fd, stderr=h.write_fd)
        os.close(h.write_fd)
        c.set_pid(h, proc.pid, "sh")
        assert proc.wait(timeout=DEADLINE) == 0
        c.sync()
    got = [e for e in JournalReader(journal).entries() if e.get("_SYSTEMD_UNIT") == "hello.service"]
    assert [e["MESSAGE"] for e in got] == ["one", "two", "three"]
    assert [e["PRIORITY"] for e in got] == ["6", "3", "6"]
    assert got[2]["_LINE_BREAK"] == "eof"
    e = got[0]
    assert (e["_PID"], e["_COMM"], e["SYSLOG_IDENTIFIER"]) == (str(proc.pid), "sh", "hello")
    assert (e["_SYSTEMD_INVOCATION_ID"], e["_BOOT_ID"], e["_TRANSPORT"]) == ("1" * 32, "b" * 32, "stdout")
    assert e["_HOSTNAME"] == "host"


def test_the_relay_and_its_pump_threads_never_preempt_on_wake_up(relay):
    # SCHED_BATCH: a service's exit wakes the relay (end of its stream) as it wakes the
    # manager, which must not then wait for the relay before spawning the restart
    journal, sock, relay_pid = relay
    with RelayClient(sock, boot_id="b" * 32) as c:
        h = c.open_stream("batch.service", "1" * 32, "batch", 6, True)
        c.set_pid(h, os.getpid(), "pytest")
        os.write(h.write_fd, b"line\n")
        c.sync()  # the stream's pump thread runs
        tasks = [int(t) for t in os.listdir(f"/proc/{relay_pid}/task")]
        assert len(tasks) >= 2
        assert {os.sched_getscheduler(t) for t in tasks} == {os.SCHED_BATCH}
        os.close(h.write_fd)


def _voluntary_switches(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches"))


def test_a_quiet_journals_tail_index_covers_its_last_records_and_the_relay_then_sleeps(relay):
    # status jumps through the tail index; written at most every index.INTERVAL while records
    # come, it would otherwise stay behind the last ones until more came (every status then
    # walks them); the relay wakes once for it, then sleeps without a timeout again
    from sysvisor.journal import index
    from sysvisor.journal.segment import list_segments

    journal, sock, relay_pid = relay
    with RelayClient(sock, boot_id="b" * 32) as c:
        for burst in range(2):  # the first flush writes the index, the second comes too soon
            h = c.open_stream("quiet.service", "1" * 32, "quiet", 6, True)
            os.write(h.write_fd, b"".join(b"line %d %d\n" % (burst, i) for i in range(50)))
            os.close(h.write_fd)
            c.sync()
    path = [seg for seg in list_segments(journal) if seg[0] == "relay"][-1][3]
    end = time.monotonic() + DEADLINE
    while True:  # until it sleeps through 3 intervals: then it waits without a timeout
        before = _voluntary_switches(relay_pid)
        time.sleep(3 * index.INTERVAL)
        if _voluntary_switches(relay_pid) == before:
            break
        assert time.monotonic() < end, "the relay kept waking up"
    size = os.path.getsize(path)
    idx = index.load(path, size)
    assert idx is not None and idx["end"] == size, f"the index stays at {idx and idx['end']} of {size} bytes"


def test_a_second_start_finds_the_running_relay(relay):
    journal, sock, relay_pid = relay
    assert start_relay(journal, sock) == relay_pid


MANAGER = r"""
import os, subprocess, sys, signal
from sysvisor.journal.relay import RelayClient, start_relay
journal, sock, marker, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
relay_pid = start_relay(journal, sock, boot_id="b" * 32)
service = (
    "import os, sys, time\n"
    "marker, n = sys.argv[1], int(sys.argv[2])\n"
    "for i in range(n):\n"
    "    if i == 100:\n"
    "        end = time.monotonic() + 20\n"
    "        while not os.path.exists(marker) and time.monotonic() < end:\n"
    "            time.sleep(0.005)\n"
    "    print(f'line {i}', flush=True)\n"
    "print('finished', flush=True)\n"
)
c = RelayClient(sock, boot_id="b" * 32)
h = c.open_stream("survivor.service", "2" * 32, "survivor", 6, True)
p = subprocess.Popen([sys.executable, "-c", service, marker, str(n)], stdout=h.write_fd, stderr=h.write_fd,
                     start_new_session=True)
os.close(h.write_fd)
c.set_pid(h, p.pid, "python3")
print(relay_pid, p.pid, flush=True)
signal.pause()
"""

PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture
def subreaper():
    """Orphans (the relay and the service once their manager is killed) become our
    children, so the test can reap them instead of leaving zombies."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    yield
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def test_service_keeps_logging_after_the_manager_is_sigkilled(tmp_path, subreaper):
    journal, sock = str(tmp_path / "journal"), str(tmp_path / "relay.sock")
    marker = str(tmp_path / "manager-is-dead")
    n = 500
    env = dict(os.environ, PYTHONPATH=SRC)
    manager = subprocess.Popen([sys.executable, "-c", MANAGER, journal, sock, marker, str(n)],
                               stdout=subprocess.PIPE, env=env, text=True)
    relay_pid, service_pid = map(int, manager.stdout.readline().split())
    try:
        _wait_for(journal, sock, lambda: "line 99" in _messages(journal), "the first 100 lines")

        manager.send_signal(signal.SIGKILL)  # the relay, started by this manager, lives on
        assert manager.wait(timeout=DEADLINE) == -signal.SIGKILL
        manager.stdout.close()
        with open(marker, "w"):
            pass  # the service goes on writing only now, with no manager alive

        _wait_for(journal, sock, lambda: "finished" in _messages(journal), "the service's last line")
        assert os.waitstatus_to_exitcode(_wait_exit(service_pid)) == 0  # no SIGPIPE
        got = [e for e in JournalReader(journal).entries() if e.get("_SYSTEMD_UNIT") == "survivor.service"]
        assert [e["MESSAGE"] for e in got] == [f"line {i}" for i in range(n)] + ["finished"]
        assert {e["_PID"] for e in got} == {str(service_pid)}

        # a new manager instance finds the same relay and opens new streams
        assert start_relay(journal, sock) == relay_pid
        with RelayClient(sock, boot_id="c" * 32) as c:
            h = c.open_stream("next.service", "3" * 32, "next", 6, True, pid=os.getpid())
            os.write(h.write_fd, b"after reconnect\n")
            os.close(h.write_fd)
            c.sync()
        assert _messages(journal, "next.service") == ["after reconnect"]
    finally:
        for pid in (service_pid, relay_pid):
            try:
                os.kill(pid, signal.SIGTERM)
                _wait_exit(pid)
            except (ProcessLookupError, ChildProcessError):
                pass


def test_stream_waiting_for_its_pid_is_read_when_the_manager_disconnects(relay):
    journal, sock, _ = relay
    c = RelayClient(sock)
    h = c.open_stream("orphan.service", None, "orphan")  # no pid: the relay holds the data back
    os.write(h.write_fd, b"held\n")
    with RelayClient(sock) as other:
        other.sync()
    assert _messages(journal, "orphan.service") == []
    c.close()  # the manager died before set_pid()
    os.close(h.write_fd)
    _wait_for(journal, sock, lambda: _messages(journal, "orphan.service") == ["held"], "the held line")
    assert "_PID" not in [e for e in JournalReader(journal).entries() if e.get("_SYSTEMD_UNIT") == "orphan.service"][0]


def test_sigterm_drains_every_pipe_and_exits_cleanly(tmp_path):
    journal, sock = str(tmp_path / "j"), str(tmp_path / "s")
    pid = start_relay(journal, sock)
    with RelayClient(sock) as c:
        h = c.open_stream("busy.service", None, "busy", pid=1234)
        os.write(h.write_fd, b"x\n" * 1000 + b"last words")
        os.kill(pid, signal.SIGTERM)
        status = _wait_exit(pid)
        os.close(h.write_fd)
    assert os.waitstatus_to_exitcode(status) == 0
    msgs = _messages(journal, "busy.service")
    assert len(msgs) == 1001 and msgs[-1] == "last words"
    assert not os.path.exists(sock)


def test_client_errors_are_clear(tmp_path):
    with pytest.raises(RelayError, match="Failed to connect to the journal relay"):
        RelayClient(str(tmp_path / "nobody.sock"))


def test_manager_messages_through_the_relay(relay):
    from sysvisor.journal.message import manager_entry

    journal, sock, _ = relay
    with RelayClient(sock) as c:
        c.log(manager_entry("web.service: Scheduled restart job, restart counter is at 3.",
                            unit="web.service", invocation_id="4" * 32, priority=6, pid=99))
        c.sync()
        with pytest.raises(RelayError, match="too large"):
            c.log({"MESSAGE": "x" * (1 << 19)})
    got = [e for e in JournalReader(journal).entries() if e.get("UNIT") == "web.service"]
    assert [(e["MESSAGE"], e["_PID"], e["SYSLOG_IDENTIFIER"], e["INVOCATION_ID"]) for e in got] == [
        ("web.service: Scheduled restart job, restart counter is at 3.", "99", "sysvisor", "4" * 32)
    ]


def test_stream_without_the_relay_in_a_selector_loop(tmp_path):
    """The daemon may read pipes itself (no relay): Stream + its own selector + writer."""
    import selectors

    from sysvisor.journal.relay import Stream
    from sysvisor.journal.store import JournalWriter

    writer = JournalWriter(str(tmp_path / "j"), name="manager", boot_id="b" * 32)
    r, w = os.pipe2(os.O_CLOEXEC)
    proc = subprocess.Popen(["sh", "-c", "for i in 1 2 3; do echo line $i; done; echo '<4>warn' >&2"],
                            stdout=w, stderr=w)
    os.close(w)
    stream = Stream(r, {"_SYSTEMD_UNIT": "inproc.service", "_PID": proc.pid, "SYSLOG_IDENTIFIER": "sh"})
    sel = selectors.DefaultSelector()
    sel.register(r, selectors.EVENT_READ, stream)
    open_streams = 1
    end = time.monotonic() + DEADLINE
    while open_streams and time.monotonic() < end:
        for key, _ in sel.select(timeout=1.0):
            if not key.data.read_into(writer):
                sel.unregister(key.fd)
                key.data.close()
                open_streams -= 1
        writer.flush()  # once per loop iteration
    assert proc.wait(timeout=DEADLINE) == 0
    writer.close()
    got = list(JournalReader(str(tmp_path / "j")).entries())
    assert [(e["MESSAGE"], e["PRIORITY"]) for e in got] == [
        ("line 1", "6"), ("line 2", "6"), ("line 3", "6"), ("warn", "4")
    ]
    assert got[0]["_TRANSPORT"] == "stdout" and got[0]["_PID"] == str(proc.pid)


SERVICE_UNTIL_MARKER = (
    "import os, sys, time\n"
    "marker, n = sys.argv[1], int(sys.argv[2])\n"
    "for i in range(n):\n"
    "    if i == 50:\n"
    "        end = time.monotonic() + 20\n"
    "        while not os.path.exists(marker) and time.monotonic() < end:\n"
    "            time.sleep(0.005)\n"
    "    print(f'line {i}', flush=True)\n"
    "print('finished', flush=True)\n"
)


def test_relay_crash_loses_nothing_when_the_manager_kept_the_read_ends(tmp_path):
    journal, sock = str(tmp_path / "journal"), str(tmp_path / "relay.sock")
    marker = str(tmp_path / "relay-is-dead")
    relay_pid = start_relay(journal, sock)
    client = RelayClient(sock)
    h = client.open_stream("steady.service", "5" * 32, "steady", keep_read_end=True)
    service = subprocess.Popen([sys.executable, "-c", SERVICE_UNTIL_MARKER, marker, "200"],
                               stdout=h.write_fd, stderr=h.write_fd)
    os.close(h.write_fd)
    client.set_pid(h, service.pid, "python3")
    _wait_for(journal, sock, lambda: "line 49" in _messages(journal), "the first 50 lines")

    os.kill(relay_pid, signal.SIGKILL)  # the relay crashes
    _wait_exit(relay_pid)
    client.close()
    with open(marker, "w"):
        pass
    # the service writes lines 50..199 into the pipe while no relay runs: no SIGPIPE
    # (the manager's read end keeps the pipe open); start a new relay and hand it over
    relay_pid = start_relay(journal, sock)
    try:
        with RelayClient(sock) as client:
            client.reattach(h)
        h.close_read_end()
        assert service.wait(timeout=DEADLINE) == 0
        _wait_for(journal, sock, lambda: "finished" in _messages(journal), "the last line")
        assert _messages(journal, "steady.service") == [f"line {i}" for i in range(200)] + ["finished"]
        got = [e for e in JournalReader(journal).entries() if e.get("_SYSTEMD_UNIT") == "steady.service"]
        assert {e["_PID"] for e in got} == {str(service.pid)}
    finally:
        os.kill(relay_pid, signal.SIGTERM)
        _wait_exit(relay_pid)


def test_logs_follow_sees_lines_as_the_relay_stores_them(relay):
    import io
    import threading

    from sysvisor.cli.logs import main

    journal, sock, _ = relay
    out = io.StringIO()
    end = time.monotonic() + DEADLINE
    follower = threading.Thread(
        target=main,
        args=(["-f", "-u", "live.service", "-o", "cat"], journal),
        kwargs={"out": out, "follow_stop": lambda: "third" in out.getvalue() or time.monotonic() > end},
    )
    follower.start()
    with RelayClient(sock) as c:
        h = c.open_stream("live.service", None, "live", pid=os.getpid())
        for word in ("first", "second", "third"):
            os.write(h.write_fd, word.encode() + b"\n")
        os.close(h.write_fd)
    follower.join(DEADLINE + 5)
    assert not follower.is_alive()
    assert out.getvalue() == "first\nsecond\nthird\n"
