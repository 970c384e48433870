"""`sysvisor up --journal-max-use=SIZE` bounds the journal on disk while a unit writes far
more than that, with real processes; the newest lines are kept, the oldest vacuumed.
# spec: systemctl-and-journal.md §6 (limits by size, journald's SystemMaxUse=); issue 6"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness import ROOT, write_units

MAX_USE = 4 * 1024 * 1024
MAX_FILE = MAX_USE // 8  # journald: SystemMaxFileSize= is 1/8 of SystemMaxUse=
RECORD_MAX = 1024 * 1024  # one pipe read is one record: a segment may end that much past MAX_FILE
WRITERS = 2  # the manager's and the relay's segments are written at the same time
BOUND = MAX_USE + WRITERS * (MAX_FILE + RECORD_MAX)
LINES = 400_000  # 100-byte lines: 40 MB, ten times the limit

WRITER = f"""import sys
w = sys.stdout.write
for i in range({LINES}):
    w(f"line {{i:08d}} " + "x" * 85 + "\\n")
"""


def _journal_bytes(directory: Path) -> int:
    total = 0
    for entry in os.scandir(directory):
        if entry.name.endswith(".jseg"):
            try:
                total += entry.stat().st_size
            except FileNotFoundError:  # vacuumed meanwhile
                pass
    return total


def test_journal_max_use_bounds_the_journal_while_a_unit_writes_ten_times_more(tmp_path):
    (tmp_path / "writer.py").write_text(WRITER)
    units = write_units(tmp_path / "units", {"chatty.service": f"[Service]\nType=oneshot\nExecStart={sys.executable} {tmp_path}/writer.py\n"})
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), SYSVISOR_SOCKET=str(tmp_path / "run" / "control"))
    log = open(tmp_path / "manager.log", "w+")
    manager = subprocess.Popen(
        [sys.executable, "-m", "sysvisor", "up", "--units", str(units), "--runtime-dir", str(tmp_path / "run"),
         "--state-dir", str(tmp_path / "state"), "--journal-max-use", "4M"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sysvisor", *args], env=env, capture_output=True, text=True, timeout=120)

    journal = tmp_path / "state" / "journal"
    try:
        deadline = time.monotonic() + 30
        while cli("show", "-p", "Id", "none.service").returncode != 0:
            assert manager.poll() is None and time.monotonic() < deadline, "the manager did not start"
            time.sleep(0.05)
        starter = subprocess.Popen([sys.executable, "-m", "sysvisor", "start", "chatty"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        largest = 0
        deadline = time.monotonic() + 120
        while starter.poll() is None:  # a oneshot: `start` returns when it has finished
            largest = max(largest, _journal_bytes(journal))
            assert time.monotonic() < deadline, "the unit did not finish within 120 s"
            time.sleep(0.02)
        assert starter.returncode == 0, starter.stderr.read()
        last = f"line {LINES - 1:08d} "
        deadline = time.monotonic() + 60  # the relay may still be storing the last chunks
        while True:
            got = cli("logs", "-u", "chatty", "-o", "cat", "--no-pager", "-n", "3")
            if last in got.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        largest = max(largest, _journal_bytes(journal))
        assert last in got.stdout, got.stdout + got.stderr
        assert largest <= BOUND, f"journal grew to {largest} bytes, limit {MAX_USE} (+ open segments: {BOUND})"
        every = cli("logs", "-u", "chatty", "-o", "cat", "--no-pager").stdout.splitlines()
        assert 0 < len(every) < LINES // 2  # the oldest were vacuumed …
        numbers = [int(line.split()[1]) for line in every if line.startswith("line ")]
        assert numbers == list(range(numbers[0], LINES))  # … and what is kept has no gap
    finally:
        manager.send_signal(signal.SIGTERM)
        try:
            manager.wait(timeout=30)
        except subprocess.TimeoutExpired:
            manager.kill()
            manager.wait()
        log.close()
