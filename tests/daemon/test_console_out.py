"""The manager's and the keeper's own console lines never wait for a console nobody reads
(daemon/console_out.py, keeper.log), and never make anyone else's stdout non-blocking.
# issue 6 ("never blocked by logging")"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys

from sysvisor.daemon.console_out import ConsoleOut

F_SETPIPE_SZ = 1031
KEEPER = os.path.join(os.path.dirname(__file__), "..", "..", "src", "sysvisor", "daemon", "keeper.py")


def _full_pipe() -> tuple[int, int]:
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, b"x" * 512)
    except BlockingIOError:
        pass
    os.set_blocking(w, True)  # as a console is: blocking, and full
    return r, w


def _drain(r: int) -> bytes:
    os.set_blocking(r, False)
    out = b""
    try:
        while data := os.read(r, 65536):
            out += data
    except BlockingIOError:
        pass
    return out


def test_lines_for_a_full_console_are_counted_not_waited_for_then_announced():
    r, w = _full_pipe()
    out = ConsoleOut(w)
    out.write_lines([b"one\n", b"two\n"])  # returns at once: the pipe is full
    assert out.dropped == 2
    assert os.get_blocking(w), "the shared descriptor must stay blocking (a terminal's shell, inherited stdout)"
    assert _drain(r).strip(b"x") == b""
    out.write_lines([b"three\n"])
    assert _drain(r) == b"... 2 lines left out here: the console was not read (the journal has them)\nthree\n"
    assert out.dropped == 0
    out.close()
    os.close(r)
    os.close(w)


def test_a_regular_file_is_written_as_it_is(tmp_path):
    with open(tmp_path / "log", "wb") as f:
        out = ConsoleOut(f.fileno())
        out.write_lines([b"a\n", b"b\n"])
    assert (tmp_path / "log").read_bytes() == b"a\nb\n"


def test_a_console_that_is_gone_raises():
    r, w = os.pipe()
    os.close(r)
    out = ConsoleOut(w)
    try:
        out.write_lines([b"line\n"])
    except BrokenPipeError:
        pass
    else:
        raise AssertionError("EPIPE was swallowed: the caller could not stop printing")
    finally:
        out.close()
        os.close(w)


def test_the_keeper_does_not_wait_for_a_full_console():
    """keeper.log() on a stderr nobody reads: the usage error still ends the process."""
    r, w = _full_pipe()
    try:
        done = subprocess.run([sys.executable, "-I", "-S", KEEPER], stderr=w, timeout=30)
    finally:
        os.close(w)
    assert done.returncode == 2
    os.close(r)
