"""The console of a real `sysvisor up` when it is a pipe (a container's stdout, `| less`):
a console nobody reads never stops the manager, one process writes it so that lines never
interleave mid-line, in time order, and `up` returns once it is complete.
# issue 6 ("never blocked by logging"); spec: systemctl-and-journal.md §6"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from harness import Sysvisor, child_running, write_units

F_SETPIPE_SZ = 1031
DEADLINE = 60.0  # seconds; every wait below ends on a condition


def _up(tmp, units: dict[str, str], console_fd: int) -> Sysvisor:
    m = Sysvisor(tmp, write_units(tmp / "units", units), console=console_fd)
    os.close(console_fd)  # the manager's copy is the only one: EOF once it and its relay are gone
    m.wait_for("the control socket", lambda: m.cli("show", "-p", "Id", "none.service").returncode == 0, timeout=20)
    return m


def _restarts(m: Sysvisor) -> int:
    try:
        out = m.prop("crash", "NRestarts")
    except subprocess.TimeoutExpired:
        pytest.fail("the manager stopped answering: it waits for its console")
    return int(out) if out.isdigit() else 0


def test_a_console_nobody_reads_never_stops_the_manager(tmp_path):
    console_r, console_w = os.pipe()
    fcntl.fcntl(console_w, F_SETPIPE_SZ, 4096)  # one page, and nobody reads it yet
    m = _up(tmp_path, {"crash.service": "[Unit]\nStartLimitIntervalSec=0\n"
                                        "[Service]\nExecStart=/bin/false\nRestart=always\nRestartSec=0\n"}, console_w)
    try:
        assert m.cli("start", "--no-block", "crash").returncode == 0
        # each restart logs ~4 lines (~400 bytes): 300 of them are 30 times what the console holds
        m.wait_for("300 restarts", lambda: _restarts(m) >= 300, timeout=DEADLINE)
        assert "crash.service: Scheduled restart job" in m.cli("logs", "-u", "crash", "-n", "5", "-o", "cat").stdout
        assert m.cli("stop", "crash").returncode == 0
    finally:
        os.set_blocking(console_r, False)
        m.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + DEADLINE
        while m.proc.poll() is None and time.monotonic() < deadline:  # the console comes back
            try:
                os.read(console_r, 1 << 16)
            except BlockingIOError:
                time.sleep(0.01)
        m.stop()  # killed if it did not exit
        os.close(console_r)
    assert m.proc.returncode == 0


FLOOD = 50_000
# a flood line whole, or a manager message with no piece of another line in it
_LINE = re.compile(r"\w{3} \d\d \d\d:\d\d:\d\d \S+ \S+\[\d+\]: line \d+ x{80}"
                   r"|\w{3} \d\d \d\d:\d\d:\d\d \S+ sysvisor\[\d+\]: (?!.*xxxx)(?!.* \d\d:\d\d:\d\d ).*")


def test_up_returns_once_its_console_is_complete_one_writer_in_time_order(tmp_path):
    console_r, console_w = os.pipe()
    script = tmp_path / "flood.py"
    script.write_text(f"import sys, time\nfor i in range({FLOOD}): sys.stdout.write('line %d %s\\n' % (i, 'x' * 80))\n"
                      "sys.stdout.flush()\ntime.sleep(600)\n")
    m = _up(tmp_path, {"flood.service": f"[Service]\nExecStart={sys.executable} {script}\n"}, console_w)
    got = bytearray()
    try:
        assert m.cli("start", "flood").returncode == 0
        m.wait_for("the flood stored", lambda: f"line {FLOOD - 1} " in m.cli("logs", "-u", "flood", "-n", "1", "-o", "cat").stdout,
                   timeout=DEADLINE)
        m.proc.send_signal(signal.SIGTERM)
        # a slow console (~1.3 MB/s): printing the ~6 MB behind takes longer than the relay's
        # own stop, so `up` has to wait for the console
        deadline = time.monotonic() + DEADLINE
        while m.proc.poll() is None:
            assert time.monotonic() < deadline, "sysvisor up did not exit"
            got += os.read(console_r, 1 << 16)
            time.sleep(0.05)
        os.set_blocking(console_r, False)
        while True:  # up has exited: what is left is in the pipe, and nobody writes any more
            try:
                data = os.read(console_r, 1 << 16)
            except BlockingIOError:
                pytest.fail("the console was still being written after sysvisor up had exited")
            if not data:
                break
            got += data
    finally:
        m.stop()
        os.close(console_r)
    assert m.proc.returncode == 0
    lines = got.decode().splitlines()
    assert [line for line in lines if not _LINE.fullmatch(line)] == []  # nothing interleaved mid-line
    flood = [i for i, line in enumerate(lines) if ": line " in line]
    assert len(flood) == FLOOD
    stopping = next(i for i, line in enumerate(lines) if "Received SIGTERM" in line)
    assert stopping > flood[-1]  # logged after the flood was stored: printed after it


def _relay_of(manager: int) -> int | None:
    return child_running(manager, b"sysvisor.journal.relay")


def test_when_the_relay_dies_the_manager_messages_still_reach_the_console_once(run):
    """The new relay's console takes over from the manager's journal position: nothing is
    printed twice, nothing after the restart is missing."""
    m = run({"tick.service": "[Service]\nExecStart=/bin/sleep 600\n"})
    assert m.cli("start", "tick").returncode == 0
    manager = m.wait_for("the manager", m.manager_pid)
    relay = m.wait_for("the relay", lambda: _relay_of(manager))
    os.kill(relay, signal.SIGKILL)
    m.wait_for("a new relay", lambda: _relay_of(manager) not in (None, relay))
    assert m.cli("restart", "tick").returncode == 0
    m.wait_for("the restart on the console", lambda: m.output().count("Started tick.service") == 2)
    assert m.stop() == 0  # the console is complete once up has returned
    out = m.output()
    assert out.count("The journal relay died; starting a new one.") == 1
    assert out.count("Started tick.service") == 2 and out.count("Stopped tick.service") == 2


def _stored_by(m: Sysvisor, writer: str) -> int:
    """Lines of talk.service in the journal segments of `writer` ("relay" or the manager's)."""
    from sysvisor.journal.segment import list_segments, parse_records

    count = 0
    for name, _seq, _rt, path in list_segments(str(m.state_dir / "journal")):
        if name == writer:
            with open(path, "rb") as f:
                records, _end = parse_records(f.read())
            count += sum(payload.count(b"said") for header, payload in records
                         if header["f"].get("_SYSTEMD_UNIT") == "talk.service")
    return count


def test_output_the_manager_reads_while_its_relay_hangs_reaches_the_console_once(run):
    """A relay that stops answering (here SIGSTOP) makes the manager read unit output itself
    once its hand-overs have waited 5 s for room on the full connection (the loop goes on
    meanwhile) and store it in its own journal, which the relay's console follower
    (another process, still running) prints: the manager must not print it too. Once the
    relay takes requests again, new output goes through it again."""
    m = run({"talk.service": "[Unit]\nStartLimitIntervalSec=0\n"
                             "[Service]\nExecStart=/bin/sh -c 'echo said; exit 1'\nRestart=always\nRestartSec=10ms\n"})
    assert m.cli("start", "talk").returncode == 0
    manager = m.wait_for("the manager", m.manager_pid)
    relay = m.wait_for("the relay", lambda: _relay_of(manager))
    os.kill(relay, signal.SIGSTOP)
    try:
        m.shows("Journal relay unreachable, reading output in the manager")
        # while the hand-overs waited for room the loop went on restarting (it used to block
        # in the send until it timed out: not one restart in the 5 s before this message)
        entries = [json.loads(line) for line in m.cli("logs", "-o", "json").stdout.splitlines()]
        given_up = next(int(e["__MONOTONIC_TIMESTAMP"]) for e in entries if "Journal relay unreachable" in e["MESSAGE"])
        restarts = [int(e["__MONOTONIC_TIMESTAMP"]) for e in entries if e["MESSAGE"].startswith("talk.service: Scheduled restart job")]
        assert len([t for t in restarts if given_up - 4_000_000 < t < given_up]) >= 10
        runs = int(m.prop("talk", "NRestarts"))
        m.wait_for("runs read by the manager", lambda: int(m.prop("talk", "NRestarts")) >= runs + 5)
    finally:
        os.kill(relay, signal.SIGCONT)
    # the relay reads what was queued, and new output goes through it again
    m.shows("Journal relay answers again; new output goes through it.")
    through_relay = _stored_by(m, "relay")
    m.wait_for("output stored by the relay again", lambda: _stored_by(m, "relay") > through_relay)
    assert m.cli("stop", "talk").returncode == 0
    stored = m.cli("logs", "-u", "talk", "-o", "cat").stdout.count("said\n")
    m.wait_for("the console caught up", lambda: m.output().count(": said\n") >= stored)
    assert m.stop() == 0
    assert m.output().count(": said\n") == stored
