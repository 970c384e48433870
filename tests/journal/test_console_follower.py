"""The console follower with real processes: a relay started with `--echo` prints every line
it stores, in order, also the ones it stores while stopping; a console nobody reads never
slows a service or the relay. # issue 6; spec: systemctl-and-journal.md §6"""

import os
import signal
import subprocess
import sys
import threading
import time

from sysvisor.journal.relay import RelayClient, start_relay
from sysvisor.journal.store import JournalReader

DEADLINE = 20.0  # seconds; every wait ends on a condition


def _start_with_console(journal: str, sock: str, console_fd: int) -> int:
    """A relay with --echo whose stderr (its console) is `console_fd`."""
    return start_relay(journal, sock, hostname="host", echo=True, console_fd=console_fd)


def _stop(pid: int) -> int:
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError("the relay did not stop")


def _console_lines(text: str, ident: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in text.splitlines() if f" {ident}[" in line]


def test_every_stored_line_is_printed_in_order_also_while_stopping(tmp_path):
    out = tmp_path / "console"
    with open(out, "wb") as f:
        pid = _start_with_console(str(tmp_path / "j"), str(tmp_path / "s"), f.fileno())
    with RelayClient(str(tmp_path / "s")) as c:
        h = c.open_stream("web.service", None, "web", pid=4242)
        os.write(h.write_fd, b"".join(b"line %d\n" % i for i in range(5000)) + b"<3>bad\tone\nlast words")
        assert _stop(pid) == 0  # stopping stores what is still in the pipe, the last line too
        os.close(h.write_fd)
    printed = _console_lines(out.read_text(), "web")
    assert printed == [f"line {i}" for i in range(5000)] + ["bad        one", "last words"]
    assert " host web[4242]: line 0" in out.read_text()


def test_a_console_nobody_reads_never_slows_a_service(tmp_path):
    journal, sock = str(tmp_path / "j"), str(tmp_path / "s")
    console_r, console_w = os.pipe()  # 64 KiB and nobody reading: the console is stuck
    pid = _start_with_console(journal, sock, console_w)
    os.close(console_w)
    reader = None
    try:
        with RelayClient(sock, timeout=DEADLINE) as c:
            h = c.open_stream("chatty.service", None, "chatty", pid=1)
            n = 100_000  # ~2 MB: thirty times what the stuck console takes
            writer = subprocess.Popen(
                [sys.executable, "-c", "import sys\nfor i in range(int(sys.argv[1])): print('message', i)", str(n)],
                stdout=h.write_fd)
            os.close(h.write_fd)
            assert writer.wait(timeout=DEADLINE) == 0
            c.sync()  # the relay still answers, and has stored every line
        got = [e["MESSAGE"] for e in JournalReader(journal).entries() if e.get("_SYSTEMD_UNIT") == "chatty.service"]
        assert got == [f"message {i}" for i in range(n)]
        chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(console_r, 1 << 16), b"")))
        reader.start()  # the console comes back: it gets everything, in order
        assert _stop(pid) == 0
        reader.join(DEADLINE)
        assert not reader.is_alive(), "the console follower did not finish"
        assert _console_lines(b"".join(chunks).decode(), "chatty") == got
    finally:
        if reader is None:
            os.close(console_r)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_the_follower_ends_when_its_relay_is_killed(tmp_path):
    out = tmp_path / "console"
    with open(out, "wb") as f:
        pid = _start_with_console(str(tmp_path / "j"), str(tmp_path / "s"), f.fileno())
    followers = [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    assert len(followers) == 1
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    end = time.monotonic() + DEADLINE
    while os.path.exists(f"/proc/{followers[0]}") and open(f"/proc/{followers[0]}/stat").read().split()[2] != "Z":
        assert time.monotonic() < end, "the follower outlived its relay"
        time.sleep(0.01)


def test_finish_ends_a_follower_that_cannot_print_the_rest(tmp_path):
    """A console still behind when its bound is up (nobody reads it, a slow terminal) is
    ended: nothing prints after `sysvisor up` has returned, nothing is left blocked."""
    from sysvisor.journal import console

    stuck = subprocess.Popen([sys.executable, "-c", "import signal, sys, time\n"
                              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"  # as the follower does
                              "print('ready', flush=True)\ntime.sleep(600)"], stdout=subprocess.PIPE)
    assert stuck.stdout.readline() == b"ready\n"
    _wake_r, wake_w = os.pipe()
    console.finish(stuck.pid, wake_w, timeout=0.2)
    assert not os.path.exists(f"/proc/{stuck.pid}"), "the follower was left running (or unreaped)"
    os.close(_wake_r)
    stuck.stdout.close()


def test_a_follower_whose_relay_was_killed_gives_up_on_a_console_nobody_reads(tmp_path):
    """It prints the rest for console.WAIT_AT_EXIT at most, then ends: no orphan stays
    blocked on the console (holding it open) after its relay died."""
    from sysvisor.journal import console

    journal, sock = str(tmp_path / "j"), str(tmp_path / "s")
    console_r, console_w = os.pipe()  # nobody reads it
    pid = _start_with_console(journal, sock, console_w)
    os.close(console_w)
    try:
        followers = [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
        with RelayClient(sock, timeout=DEADLINE) as c:
            h = c.open_stream("chatty.service", None, "chatty", pid=1)
            os.write(h.write_fd, b"".join(b"message %d\n" % i for i in range(20_000)))  # ~280 KB: the console is stuck
            os.close(h.write_fd)
            c.sync()
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        killed_at = time.monotonic()
        end = killed_at + console.WAIT_AT_EXIT + DEADLINE
        while os.path.exists(f"/proc/{followers[0]}") and open(f"/proc/{followers[0]}/stat").read().split()[2] != "Z":
            assert time.monotonic() < end, "the follower stayed blocked on the console"
            time.sleep(0.05)
        assert time.monotonic() - killed_at >= console.WAIT_AT_EXIT - 1  # it did try for that long
    finally:
        os.close(console_r)
