"""The benchmark script still runs and finds every line (no timing is asserted here)."""

import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def test_bench_pipe_small_run_finds_every_line(tmp_path):
    res = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "bench_journal.py"), "pipe", "--mb", "2", "--runs", "1",
         "--writer", "lines,blocks", "--tmpdir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 4
    assert all("lines 20000/20000 ok" in line for line in lines[:2])
    assert all("median of 1" in line and "lines all stored" in line for line in lines[2:])


def test_bench_unit_through_a_real_manager_finds_every_line(tmp_path):
    res = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "bench_journal.py"), "unit", "--mb", "1", "--runs", "2",
         "--writer", "lines", "--tmpdir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert "lines 10000/10000 ok" in lines[0] and "lines 10000/10000 ok" in lines[1]
    assert "median of 2" in lines[2] and "lines all stored" in lines[2]


def test_bench_store_runs():
    res = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "bench_journal.py"), "store", "--lines", "2000", "--batch", "100"],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "sqlite WAL" in res.stdout
