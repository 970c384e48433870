"""The benchmark script still runs and finds every line (no timing is asserted here)."""

import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def test_bench_pipe_small_run_finds_every_line(tmp_path):
    res = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "bench_journal.py"), "pipe", "--mb", "2", "--runs", "1",
         "--tmpdir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 2 and all("lines 20000/20000 ok" in line for line in lines)


def test_bench_store_runs():
    res = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "bench_journal.py"), "store", "--lines", "2000", "--batch", "100"],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "sqlite WAL" in res.stdout
