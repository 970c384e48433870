"""A service pipe read through the pump thread: order, drain (sync) semantics, end of stream,
and the relay never polling a service's pipe. # spec: systemctl-and-journal.md §6; issue 6"""

import os
import signal
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sysvisor.journal.pipe import COALESCE, PIPE_SIZE, Stream, coalesce_pause
from sysvisor.journal.reader import JournalReader
from sysvisor.journal.relay import RelayClient, start_relay
from sysvisor.journal.store import JournalWriter
from sysvisor.journal.stream import LineSplitter

DEADLINE = 20.0
FIELDS = {"_SYSTEMD_UNIT": "p.service", "_PID": "42"}


def _messages(directory):
    return [e["MESSAGE"] for e in JournalReader(directory).entries() if e.get("_SYSTEMD_UNIT") == "p.service"]


@pytest.fixture
def pumped(tmp_path):
    writer = JournalWriter(str(tmp_path / "j"), name="relay")
    r, w = os.pipe2(os.O_CLOEXEC)
    stream = Stream(r, FIELDS)
    assert stream.start_pump()
    assert stream.read_fd != r
    yield writer, stream, w
    stream.close()
    if w >= 0:
        try:
            os.close(w)
        except OSError:
            pass
    writer.close()


def test_drain_stores_every_complete_line_written_so_far(pumped, tmp_path):
    writer, stream, w = pumped
    for i in range(2000):
        os.write(w, b"line %d\n" % i)
    os.write(w, b"unfinished")
    assert stream.drain_into(writer)  # the writer is still there: the stream goes on
    writer.flush()
    assert _messages(str(tmp_path / "j")) == [f"line {i}" for i in range(2000)]


def test_drain_after_the_writer_closed_stores_the_tail_and_ends(pumped, tmp_path):
    writer, stream, w = pumped
    os.write(w, b"one\ntwo\nno newline")
    os.close(w)
    assert not stream.drain_into(writer)
    writer.flush()
    got = [e for e in JournalReader(str(tmp_path / "j")).entries()]
    assert [e["MESSAGE"] for e in got] == ["one", "two", "no newline"]
    assert got[-1]["_LINE_BREAK"] == "eof"


def test_reading_the_private_pipe_until_end_of_stream_keeps_order(pumped, tmp_path):
    writer, stream, w = pumped
    expected = []
    for i in range(300):
        chunk = b"".join(b"%d-%d\n" % (i, k) for k in range(50))
        os.write(w, chunk)
        expected += [f"{i}-{k}" for k in range(50)]
    os.close(w)
    os.set_blocking(stream.read_fd, True)  # wait in read() instead of a selector
    end = time.monotonic() + DEADLINE
    while stream.read_into(writer):
        assert time.monotonic() < end
    writer.flush()
    assert _messages(str(tmp_path / "j")) == expected


def test_a_closed_stream_ends_its_pump_without_taking_data(tmp_path):
    writer = JournalWriter(str(tmp_path / "j"), name="relay")
    r, w = os.pipe2(os.O_CLOEXEC)
    keep = os.dup(r)  # another reader's copy (the manager keeps one)
    stream = Stream(r, FIELDS)
    assert stream.start_pump()
    stream.close()
    os.write(w, b"for the next reader\n")
    stream.pump.join(DEADLINE)
    assert not stream.pump.is_alive()
    os.set_blocking(keep, False)
    assert os.read(keep, 100) == b"for the next reader\n"  # still in the pipe, not lost
    for fd in (w, keep):
        os.close(fd)
    writer.close()


def test_coalesce_pause_rules():
    assert coalesce_pause(PIPE_SIZE, PIPE_SIZE, 0.001) == 0.0  # full pipe: no pause
    assert coalesce_pause(100, PIPE_SIZE, 1.0) == COALESCE  # slow writer: the full pause
    # fast writer: at most the time it needs to fill half the pipe (half of it took 0.5 ms)
    assert coalesce_pause(PIPE_SIZE // 2, PIPE_SIZE, 0.0005) == pytest.approx(0.0005)
    assert coalesce_pause(PIPE_SIZE // 2, PIPE_SIZE, 0.0001) == 0.0  # too short to sleep
    assert coalesce_pause(0, PIPE_SIZE, 0.0) == COALESCE


def _pipe_inode(fd):
    return os.fstat(fd).st_ino


def _epoll_targets(pid):
    """Inodes of every file the process's epoll instances watch (/proc/PID/fdinfo)."""
    fd_dir = f"/proc/{pid}/fd"
    by_fd = {}
    epolls = []
    for name in os.listdir(fd_dir):
        try:
            link = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue
        by_fd[int(name)] = link
        if link == "anon_inode:[eventpoll]":
            epolls.append(name)
    watched = set()
    for name in epolls:
        with open(f"/proc/{pid}/fdinfo/{name}") as f:
            for line in f:
                if line.startswith("tfd:"):
                    watched.add(by_fd.get(int(line.split()[1]), ""))
    return watched


def test_the_relay_never_polls_a_service_pipe(tmp_path):
    """A polled pipe costs its writer a wake-up call per write(); the relay waits on its
    private pipe instead (pipe.py)."""
    journal, sock = str(tmp_path / "j"), str(tmp_path / "s")
    pid = start_relay(journal, sock)
    try:
        with RelayClient(sock) as c:
            h = c.open_stream("p.service", None, "p", pid=42)
            inode = _pipe_inode(h.write_fd)
            os.write(h.write_fd, b"hello\n")
            c.sync()
            assert _messages(journal) == ["hello"]
            watched = _epoll_targets(pid)
            assert f"pipe:[{inode}]" not in watched
            assert any(link.startswith("pipe:[") for link in watched)  # its private pipe
            os.close(h.write_fd)
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.binary(max_size=300) | st.sampled_from([b"\n", b"\0", b"<3>x\n", b"<1>crit\n", b"a" * 100, b"  \n"]), max_size=25),
    st.integers(1, 97),
)
def test_chunked_reads_store_what_journald_would(tmp_path_factory, parts, max_bytes):
    """Reads that cut lines anywhere, NULs, LineMax= (79 here) and level prefixes: what the
    stream stores equals journald's splitting of the whole output."""
    directory = str(tmp_path_factory.mktemp("j"))
    writer = JournalWriter(directory, name="relay")
    r, w = os.pipe2(os.O_CLOEXEC)
    stream = Stream(r, FIELDS, line_max=79)
    for part in parts:
        os.write(w, part)
        while stream.read_into(writer, max_bytes) and stream.last_read:
            pass
    os.close(w)
    while stream.read_into(writer, max_bytes):
        pass
    stream.close()
    writer.close()
    splitter = LineSplitter(line_max=79)
    want = splitter.feed(b"".join(parts))
    want.extend(splitter.finish())
    got = [e for e in JournalReader(directory).entries()]
    assert [e["MESSAGE"].encode("utf-8", "surrogateescape") for e in got] == want.messages
    assert [int(e["PRIORITY"]) for e in got] == want.priorities
    assert {i: e["_LINE_BREAK"] for i, e in enumerate(got) if "_LINE_BREAK" in e} == want.line_breaks


def test_without_a_descriptor_for_the_pump_the_pipe_is_read_directly(tmp_path, monkeypatch):
    writer = JournalWriter(str(tmp_path / "j"), name="relay")
    r, w = os.pipe2(os.O_CLOEXEC)
    stream = Stream(r, FIELDS)

    def no_fd(fd):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(os, "dup", no_fd)
    assert not stream.start_pump()
    assert stream.read_fd == r and stream.pump is None
    os.write(w, b"still read\n")
    os.close(w)
    while stream.read_into(writer):
        pass
    stream.close()
    writer.close()
    assert _messages(str(tmp_path / "j")) == ["still read"]
