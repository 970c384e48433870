"""Journal benchmarks.

  python3 bench/bench_journal.py store [--lines N]   segment store vs SQLite WAL (the choice in store.py)
  python3 bench/bench_journal.py pipe [--mb 200]     a unit writing MB to stdout through the relay vs /dev/null

Run from the repository root; prints one line per measurement.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from sysvisor.journal.store import JournalReader, JournalWriter  # noqa: E402
from sysvisor.journal.stream import LineSplitter  # noqa: E402

FIELDS = {
    "_SYSTEMD_UNIT": "web.service",
    "_SYSTEMD_INVOCATION_ID": "f" * 32,
    "_PID": "4242",
    "_COMM": "web",
    "SYSLOG_IDENTIFIER": "web",
    "_TRANSPORT": "stdout",
    "_BOOT_ID": "b" * 32,
    "_HOSTNAME": "host",
}


def _du(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def bench_store(n_lines: int, batch: int) -> None:
    line = b"x" * 90 + b" request ok\n"
    chunk = line * batch
    n_chunks = n_lines // batch
    tmp = tempfile.mkdtemp(prefix="bench-journal-")
    try:
        # segments, one record per pipe read
        d = os.path.join(tmp, "seg")
        t = time.perf_counter()
        w = JournalWriter(d)
        sp = LineSplitter()
        for _ in range(n_chunks):
            w.append_lines(FIELDS, sp.feed(chunk))
            w.flush()
        w.close()
        dt = time.perf_counter() - t
        print(f"segments, record per read : {n_lines} lines {dt:.3f}s  {n_lines / dt / 1e6:.2f} Mlines/s  {_du(d) / 1e6:.1f} MB")
        t = time.perf_counter()
        count = sum(1 for _ in JournalReader(d).entries())
        print(f"segments, read all        : {count} entries {time.perf_counter() - t:.3f}s")
        t = time.perf_counter()
        JournalReader(d).tail(10)
        print(f"segments, tail 10         : {time.perf_counter() - t:.4f}s")

        # segments, one record per line (what manager messages cost)
        d = os.path.join(tmp, "seg1")
        n1 = min(n_lines, 200_000)
        t = time.perf_counter()
        w = JournalWriter(d)
        msg = line[:-1].decode()
        for i in range(n1):
            w.append({**FIELDS, "MESSAGE": msg, "PRIORITY": "6"})
            if i % batch == 0:
                w.flush()
        w.close()
        dt = time.perf_counter() - t
        print(f"segments, record per line : {n1} lines {dt:.3f}s  {n1 / dt / 1e6:.2f} Mlines/s  {_du(d) / 1e6:.1f} MB")

        # SQLite WAL, one row per line
        d = os.path.join(tmp, "sqlite")
        os.makedirs(d)
        t = time.perf_counter()
        db = sqlite3.connect(os.path.join(d, "journal.db"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE entry (seq INTEGER PRIMARY KEY, rt INTEGER, mt INTEGER, unit TEXT,"
            " invocation TEXT, pid INTEGER, comm TEXT, ident TEXT, transport TEXT, boot TEXT,"
            " priority INTEGER, message BLOB)"
        )
        db.execute("CREATE INDEX entry_unit ON entry(unit, rt)")
        sp = LineSplitter()
        for _ in range(n_chunks):
            lines = sp.feed(chunk)
            now = time.time_ns() // 1000
            mono = time.monotonic_ns() // 1000
            rows = [
                (now, mono, FIELDS["_SYSTEMD_UNIT"], FIELDS["_SYSTEMD_INVOCATION_ID"], 4242, "web", "web",
                 "stdout", FIELDS["_BOOT_ID"], p, m)
                for m, p in zip(lines.messages, lines.priorities)
            ]
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO entry (rt, mt, unit, invocation, pid, comm, ident, transport, boot, priority, message)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            db.execute("COMMIT")
        db.close()
        dt = time.perf_counter() - t
        print(f"sqlite WAL, row per line  : {n_lines} lines {dt:.3f}s  {n_lines / dt / 1e6:.2f} Mlines/s  {_du(d) / 1e6:.1f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("store")
    s.add_argument("--lines", type=int, default=200_000)
    s.add_argument("--batch", type=int, default=500)
    p = sub.add_parser("pipe")
    p.add_argument("--mb", type=int, default=200)
    p.add_argument("--line", type=int, default=100, help="bytes per line")
    args = ap.parse_args()
    if args.what == "store":
        bench_store(args.lines, args.batch)
    else:
        from bench_relay import bench_pipe  # type: ignore[import-not-found]  # noqa: PLC0415

        return bench_pipe(args.mb, args.line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
