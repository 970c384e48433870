"""Journal benchmarks.

  python3 bench/bench_journal.py store [--lines N]   segment store vs SQLite WAL (the choice in store.py)
  python3 bench/bench_journal.py pipe [--mb 200]     a unit writing MB to stdout through the relay vs /dev/null
  python3 bench/bench_journal.py unit [--mb 200]     the same as units of a real `sysvisor up`
  python3 bench/bench_journal.py peers [--mb 200]    the same under supervisord, s6 (s6-log), runit (svlogd)
  python3 bench/bench_journal.py rounds [--rounds 6] unit, peers and pipe interleaved, every run pooled

Run from the repository root; prints one line per measurement.

`pipe` runs the unit's process four ways: stdout on /dev/null, into `cat` (a plain pipe
reader, for reference), into the relay's own pump with the storing taken out (it splice()s
the pipe's pages to /dev/null with the relay's pauses and pipe size: the "pipe floor", what the
pipe alone costs the writer) and into a pipe owned by the journal relay. It reports
the writer's own run time (it times itself from its first line to its last byte written, so
interpreter start-up is in no figure), its CPU time (and how much of it is system time), its context
switches, the relay's CPU time, and checks that every line is in the journal afterwards.

`unit` runs the writers as oneshot units of a real `sysvisor up` (StandardOutput=null vs
journal, back to back; the writer times itself) and checks every line.

`rounds` runs `unit`, `peers` and `pipe` in turn for one writer (default: 8 KiB blocks, the
`buffered` writer), several rounds, and pools every run's ratio by reader: on a machine whose
speed moves by the minute, one round's median of 5 moves by ±0.3x.

Results, what changed and why: docs/benchmarks.md (each session's "Journal throughput");
raw output in bench/results/*-journal-*.txt. Latest (2026-11-27, tenth session, 200 MB of
100-byte lines, 2-CPU VM, medians of 9): a line-per-write() writer 1.19x its /dev/null time
through the relay, 1.14-1.22x through `up`; 8 KiB writes 1.43-1.49x and 1.64-1.68x
(supervisord 1.37x); a 1 MiB writer does no work into /dev/null (~1 ms), so its ratio only
says that a pipe costs something.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from sysvisor.journal.reader import JournalReader  # noqa: E402
from sysvisor.journal.store import JournalWriter  # noqa: E402
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


# A unit's ExecStart: writes MB of LINE-byte lines to stdout as fast as it can, then (when
# given a third argument) writes its own run time, from its first line to its last byte
# written, to that file — so interpreter start-up is in no figure.
#   lines:    one write() per line (a line-buffered service, or Python with PYTHONUNBUFFERED=1)
#   buffered: 8 KiB write()s (C stdio's full buffering on a pipe)
#   blocks:   1 MiB write()s of ready-made lines (the upper bound of any writer)
_WRITER_HEAD = (
    "import os, sys, time\n"
    "total, size = int(sys.argv[1]), int(sys.argv[2])\n"
    "stamp = sys.argv[3] if len(sys.argv) > 3 else None\n"
    "t0 = time.perf_counter()\n"
)
_WRITER_TAIL = (
    "if stamp:\n"
    "    with open(stamp, 'w') as f:\n"
    "        f.write(repr(time.perf_counter() - t0))\n"
)
WRITERS = {
    "lines": _WRITER_HEAD + (
        "out = open(1, 'w', buffering=1, closefd=False)\n"  # line-buffered: a write() per line
        "w = out.write\n"
        "line = 'x' * (size - 1) + '\\n'\n"
        "for _ in range(total // size):\n"
        "    w(line)\n"
    ) + _WRITER_TAIL,
    "buffered": _WRITER_HEAD + (
        "out = open(1, 'w', buffering=8192, closefd=False)\n"
        "w = out.write\n"
        "line = 'x' * (size - 1) + '\\n'\n"
        "for _ in range(total // size):\n"
        "    w(line)\n"
        "out.flush()\n"
    ) + _WRITER_TAIL,
    "blocks": _WRITER_HEAD + (
        "block = (b'x' * (size - 1) + b'\\n') * ((1 << 20) // size)\n"
        "left = (total // size) * size\n"
        "while left:\n"
        "    chunk = block[:left]\n"
        "    view = memoryview(chunk)\n"
        "    while view:\n"
        "        view = view[os.write(1, view):]\n"
        "    left -= len(chunk)\n"
    ) + _WRITER_TAIL,
}


LAST_RUSAGE: list = [None]


def _run_writer(kind: str, total: int, size: int, stdout_fd: int) -> float:
    """The writer's own run time, first line to last byte written (interpreter start-up is
    in no figure, as in `unit` and `peers`); its rusage goes to LAST_RUSAGE[0]."""
    with tempfile.NamedTemporaryFile(prefix="bench-writer-", suffix=".time") as stamp:
        pid = os.posix_spawn(
            sys.executable, [sys.executable, "-c", WRITERS[kind], str(total), str(size), stamp.name], os.environ,
            file_actions=[(os.POSIX_SPAWN_DUP2, stdout_fd, 1)],
        )
        _pid, status, usage = os.wait4(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"writer failed with {status}")
        LAST_RUSAGE[0] = usage
        return float(stamp.read())


def _proc_cpu(pid: int) -> float:
    """utime + stime of a running process in seconds (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_of_last() -> float:
    u = LAST_RUSAGE[0]
    return u.ru_utime + u.ru_stime


def _cpu() -> str:
    u = LAST_RUSAGE[0]
    return f"cpu {u.ru_utime + u.ru_stime:.2f}s (sys {u.ru_stime:.2f}) csw {u.ru_nvcsw}+{u.ru_nivcsw}"


def _run_into_reader(kind: str, total: int, size: int, argv: list[str], stdout: int | None = None) -> float:
    """The writer's own run time into a pipe read by `argv` (its stdin)."""
    import subprocess  # noqa: PLC0415

    r, w = os.pipe()
    reader = subprocess.Popen(argv, stdin=r, stdout=stdout)
    os.close(r)
    try:
        return _run_writer(kind, total, size, w)
    finally:
        os.close(w)
        reader.wait()


def _run_into_cat(kind: str, total: int, size: int, null_fd: int) -> float:
    """Reference: a plain pipe reader (cat into /dev/null)."""
    return _run_into_reader(kind, total, size, ["cat"], stdout=null_fd)


# The relay's pump (journal/pipe.py `pump`: splice, pauses after short moves, the pipe grown
# to 1 MiB for a fast writer) into /dev/null: its pipe handling with nothing copied or stored.
_SPLICE_TO_NULL = """
import fcntl, os, sys
sys.path.insert(0, sys.argv[1])
from sysvisor.journal.pipe import F_GETPIPE_SZ, F_SETPIPE_SZ, PIPE_SIZE, pump
pump(0, os.open(os.devnull, os.O_WRONLY), fcntl.fcntl(0, F_GETPIPE_SZ), lambda: fcntl.fcntl(0, F_SETPIPE_SZ, PIPE_SIZE))
"""


def _run_into_splice(kind: str, total: int, size: int) -> float:
    """Floor: the relay's own pipe handling with the storing taken out (its pump splicing
    into /dev/null). What the pipe alone costs the writer, before a byte is stored."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    return _run_into_reader(kind, total, size, [sys.executable, "-c", _SPLICE_TO_NULL, src])


def _count_lines(journal: str, unit: str, size: int, since_usec: int | None = None) -> tuple[int, bool]:
    """Lines of `unit` in the journal (since realtime `since_usec`: walked back from the end)."""
    got = 0
    ok = True
    line = "x" * (size - 1)
    if since_usec is not None:
        walk = JournalReader(journal).entries(
            lambda e: e.get("_SYSTEMD_UNIT") == unit, reverse=True, since_usec=since_usec,
            record_match=lambda f: f.get("_SYSTEMD_UNIT") == unit)
    else:
        walk = JournalReader(journal).entries(lambda e: e.get("_SYSTEMD_UNIT") == unit)
    for e in walk:
        got += 1
        ok = ok and e["MESSAGE"] == line
    return got, ok


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _summary(kind: str, rows: list[dict]) -> str:
    """The medians of the runs; a ratio is taken per run (pairs measured back to back)."""
    ratios = [r["journal"] / r["null"] for r in rows]
    cpu = [r["journal_cpu"] / r["null_cpu"] for r in rows if r.get("null_cpu")]
    text = (f"{kind:8} median of {len(rows)}: /dev/null {_median([r['null'] for r in rows]):.3f}s  "
            f"journal {_median([r['journal'] for r in rows]):.3f}s  ratio {_median(ratios):.2f}x "
            f"(runs {min(ratios):.2f}–{max(ratios):.2f}x)")
    if cpu and all(c == c for c in cpu):  # (no NaN: the CPU time was known)
        text += f"  writer cpu ratio {_median(cpu):.2f}x"
    if all("relay_cpu" in r for r in rows):
        text += f"  relay cpu {_median([r['relay_cpu'] for r in rows]):.2f}s"
    if all("cat" in r for r in rows):
        text += f"  cat {_median([r['cat'] / r['null'] for r in rows]):.2f}x"
    if all("splice" in r for r in rows):
        text += f"  pipe floor {_median([r['splice'] / r['null'] for r in rows]):.2f}x"
    return text + f"  lines {'all stored' if all(r['ok'] for r in rows) else 'MISSING'}"


def _start_relay_echoing(journal: str, sock: str, console: str) -> int:
    """A relay with --echo whose console (its stderr) is the file `console`."""
    from sysvisor.journal.relay import start_relay  # noqa: PLC0415

    with open(console, "wb") as f:
        return start_relay(journal, sock, echo=True, console_fd=f.fileno())


def _pool(ratios: dict[str, list[float]] | None, reader: str, value: float) -> None:
    if ratios is not None:
        ratios.setdefault(reader, []).append(value)


def bench_pipe(mb: int, size: int, kinds: list[str], runs: int, tmpdir: str | None = None, cat: bool = True,
               echo: bool = False, ratios: dict[str, list[float]] | None = None) -> int:
    """The unit's run time writing to /dev/null vs into the journal through the relay,
    measured back to back in every run (and `cat` as a reference). `echo`: the relay also
    runs its console follower (`sysvisor up`'s console), printing into a file. `ratios`:
    each run's ratios are added to it, by reader (for `rounds`)."""
    from sysvisor.journal.relay import RelayClient, start_relay  # noqa: PLC0415

    total = mb * 1000 * 1000
    expected = total // size
    summaries = []
    failed = False
    for kind in kinds:
        rows = []
        for run in range(runs):
            tmp = tempfile.mkdtemp(prefix="bench-relay-", dir=tmpdir)
            try:
                row: dict = {}
                with open(os.devnull, "wb") as null:
                    row["null"] = _run_writer(kind, total, size, null.fileno())
                    row["null_cpu"], cpu_null = _cpu_of_last(), _cpu()
                    if cat:
                        row["cat"] = _run_into_cat(kind, total, size, null.fileno())
                        cpu_cat = _cpu()
                        row["splice"] = _run_into_splice(kind, total, size)
                journal, sock = os.path.join(tmp, "journal"), os.path.join(tmp, "relay.sock")
                relay_pid = _start_relay_echoing(journal, sock, os.path.join(tmp, "console")) if echo else start_relay(journal, sock)
                client = RelayClient(sock, timeout=120)
                handle = client.open_stream("bench.service", "f" * 32, "bench", 6, True, wait_pid=False)
                relay_cpu0 = _proc_cpu(relay_pid)
                row["journal"] = _run_writer(kind, total, size, handle.write_fd)
                row["journal_cpu"], cpu_journal = _cpu_of_last(), _cpu()
                os.close(handle.write_fd)
                t = time.perf_counter()
                client.sync()
                t_drain = time.perf_counter() - t
                row["relay_cpu"] = _proc_cpu(relay_pid) - relay_cpu0
                client.close()
                os.kill(relay_pid, 15)
                os.waitpid(relay_pid, 0)
                got, ok = _count_lines(journal, "bench.service", size)
                row["ok"] = ok and got == expected
                rows.append(row)
                _pool(ratios, "relay alone", row["journal"] / row["null"])
                if cat:
                    _pool(ratios, "cat", row["cat"] / row["null"])
                    _pool(ratios, "relay's pipe floor", row["splice"] / row["null"])
                cat_text = (f"cat {row['cat']:.3f}s ({row['cat'] / row['null']:.2f}x) [{cpu_cat}]  "
                            f"pipe floor {row['splice']:.3f}s ({row['splice'] / row['null']:.2f}x)  ") if cat else ""
                print(
                    f"{kind:8} run {run + 1}: /dev/null {row['null']:.3f}s [{cpu_null}]  {cat_text}"
                    f"journal {row['journal']:.3f}s ({row['journal'] / row['null']:.2f}x) [{cpu_journal}; "
                    f"relay cpu {row['relay_cpu']:.2f}s]  drain {t_drain:.3f}s  "
                    f"lines {got}/{expected} {'ok' if row['ok'] else 'MISMATCH'}  disk {_du(journal) / 1e6:.0f} MB",
                    flush=True,
                )
                failed = failed or not row["ok"]
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        summaries.append(_summary(kind, rows))
    for text in summaries:
        print(text)
    return 1 if failed else 0


_UNIT = """[Service]
Type=oneshot
ExecStart={python} {script} {total} {size} {stamp}
StandardOutput={output}
"""


def _wait_console_caught_up(path: str, quiet: float = 0.5, limit: float = 120.0) -> None:
    """Until the manager's console output (the follower printing behind the journal) has not
    grown for `quiet` seconds."""
    end = time.monotonic() + limit
    size, since = -1, time.monotonic()
    while time.monotonic() < end:
        now_size = os.path.getsize(path)
        if now_size != size:
            size, since = now_size, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)


def bench_unit(mb: int, size: int, kinds: list[str], runs: int, tmpdir: str | None = None,
               ratios: dict[str, list[float]] | None = None) -> int:
    """A real `sysvisor up` runs the writer as a oneshot unit, once with StandardOutput=null
    and once with the journal, back to back; the writer times itself (first line to last
    byte written), and every line is looked up in the journal afterwards."""
    import subprocess  # noqa: PLC0415

    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    total = mb * 1000 * 1000
    expected = total // size
    tmp = tempfile.mkdtemp(prefix="bench-unit-", dir=tmpdir)
    env = dict(os.environ, PYTHONPATH=os.path.join(root, "src"), SYSVISOR_SOCKET=os.path.join(tmp, "run", "control"))
    summaries = []
    failed = False
    manager = None
    try:
        units = os.path.join(tmp, "units")
        os.makedirs(units)
        for kind in kinds:
            script = os.path.join(tmp, f"writer-{kind}.py")
            with open(script, "w") as f:
                f.write(WRITERS[kind])
            for output in ("null", "journal"):
                with open(os.path.join(units, f"{kind}-{output}.service"), "w") as f:
                    f.write(_UNIT.format(python=sys.executable, script=script, total=total, size=size,
                                         stamp=os.path.join(tmp, f"{kind}-{output}.time"), output=output))
        log = open(os.path.join(tmp, "manager.log"), "w")
        manager = subprocess.Popen(
            [sys.executable, "-m", "sysvisor", "up", "--units", units, "--runtime-dir", os.path.join(tmp, "run"),
             "--state-dir", os.path.join(tmp, "state")], env=env, stdout=log, stderr=subprocess.STDOUT)

        def cli(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "sysvisor", *args], env=env, capture_output=True, text=True, timeout=600)

        deadline = time.monotonic() + 30
        while cli("is-system-running").returncode not in (0, 1) or not os.path.exists(env["SYSVISOR_SOCKET"]):
            if time.monotonic() > deadline or manager.poll() is not None:
                raise SystemExit("the manager did not start; see " + log.name)
            time.sleep(0.05)
        journal = os.path.join(tmp, "state", "journal")
        for kind in kinds:
            rows = []
            for run in range(runs):
                row: dict = {}
                since = time.time_ns() // 1000
                for output in ("null", "journal"):
                    unit = f"{kind}-{output}.service"
                    res = cli("start", unit)  # a oneshot: returns once it has finished
                    if res.returncode != 0:
                        raise SystemExit(f"start {unit} failed: {res.stderr}")
                    with open(os.path.join(tmp, f"{kind}-{output}.time")) as f:
                        row[output] = float(f.read())
                want = expected
                deadline = time.monotonic() + 120  # the relay may still be storing the end
                while True:
                    got, ok = _count_lines(journal, f"{kind}-journal.service", size, since)
                    if got >= want or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                row["ok"] = ok and got == want
                _wait_console_caught_up(log.name)  # the console's printing must not overlap the next run
                rows.append(row)
                _pool(ratios, "sysvisor up", row["journal"] / row["null"])
                print(f"{kind:8} run {run + 1}: /dev/null {row['null']:.3f}s  journal {row['journal']:.3f}s "
                      f"({row['journal'] / row['null']:.2f}x)  lines {got}/{expected} "
                      f"{'ok' if row['ok'] else 'MISMATCH'}", flush=True)
                failed = failed or not row["ok"]
            summaries.append(_summary(kind, rows))
    finally:
        if manager is not None:
            manager.terminate()
            manager.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
    for text in summaries:
        print(text)
    return 1 if failed else 0


# --- peers: the same writer under supervisord, s6 and runit, in the same run ------------------

class _LogPeer:
    """A peer that captures a service's stdout into log files: set up once, then `trigger()`
    runs the writer once; `lines()` counts what it stored. Every process it starts is ours
    to stop (by PID)."""

    name = ""

    def __init__(self, work: str, script: str, total: int, size: int) -> None:
        self.work, self.script, self.total, self.size = work, script, total, size
        self.stamp = os.path.join(work, "stamp")
        self.procs: list = []

    def argv(self) -> str:
        return f"{sys.executable} {self.script} {self.total} {self.size} {self.stamp}"

    def missing(self) -> str | None:
        return None

    def stop(self) -> None:
        import subprocess  # noqa: PLC0415

        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(15)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for pid in self._leftovers():  # e.g. svlogd, whose runsv outlives runsvdir's TERM
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass

    def _leftovers(self) -> list[int]:
        """PIDs whose command line or working directory is in this peer's private work
        directory (runsv runs in the service's directory, as `runsv w`)."""
        mine = self.work
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read()
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                continue
            if mine.encode() in cmdline or cwd == mine or cwd.startswith(mine + "/"):
                found.append(int(entry))
        return found

    def _count(self, directory: str, names) -> int:
        line = b"x" * (self.size - 1) + b"\n"
        n = 0
        for name in names:
            try:
                with open(os.path.join(directory, name), "rb") as f:
                    n += sum(1 for got in f if got == line)
            except OSError:
                pass
        return n


def _script(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


class _S6(_LogPeer):
    name = "s6 (s6-log)"

    def missing(self) -> str | None:
        return None if shutil.which("s6-svscan") and shutil.which("s6-log") else "s6 not installed"

    def start(self) -> None:
        import subprocess  # noqa: PLC0415

        svc = os.path.join(self.work, "scan", "w")
        os.makedirs(os.path.join(svc, "log"))
        self.logdir = os.path.join(self.work, "log")
        os.makedirs(self.logdir)
        _script(os.path.join(svc, "run"), f"#!/bin/sh\nexec {self.argv()}\n")
        open(os.path.join(svc, "down"), "w").close()  # run only when told (s6-svc -o)
        _script(os.path.join(svc, "log", "run"), f"#!/bin/sh\nexec s6-log n3 s268435455 {self.logdir}\n")
        self.procs.append(subprocess.Popen(["s6-svscan", os.path.join(self.work, "scan")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.svc = svc
        _wait(lambda: os.path.exists(os.path.join(svc, "supervise", "control")), 10)

    def trigger(self) -> None:
        import subprocess  # noqa: PLC0415

        subprocess.run(["s6-svc", "-o", self.svc], check=True)

    def lines(self) -> int:
        return self._count(self.logdir, [n for n in os.listdir(self.logdir) if n == "current" or n.startswith("@")])


class _Runit(_LogPeer):
    name = "runit (svlogd)"

    def missing(self) -> str | None:
        return None if shutil.which("runsvdir") and shutil.which("svlogd") else "runit not installed"

    def start(self) -> None:
        import subprocess  # noqa: PLC0415

        svc = os.path.join(self.work, "sv", "w")
        os.makedirs(os.path.join(svc, "log"))
        self.logdir = os.path.join(self.work, "log")
        os.makedirs(self.logdir)
        with open(os.path.join(self.logdir, "config"), "w") as f:
            f.write("s0\n")  # no rotation: every line stays
        _script(os.path.join(svc, "run"), f"#!/bin/sh\nexec {self.argv()}\n")
        open(os.path.join(svc, "down"), "w").close()
        _script(os.path.join(svc, "log", "run"), f"#!/bin/sh\nexec svlogd {self.logdir}\n")
        self.procs.append(subprocess.Popen(["runsvdir", os.path.join(self.work, "sv")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.svc = svc
        _wait(lambda: os.path.exists(os.path.join(svc, "supervise", "control")), 10)

    def trigger(self) -> None:
        import subprocess  # noqa: PLC0415

        subprocess.run(["sv", "once", self.svc], check=True, capture_output=True)

    def stop(self) -> None:
        import subprocess  # noqa: PLC0415

        subprocess.run(["sv", "exit", self.svc, os.path.join(self.svc, "log")], capture_output=True, timeout=30)
        super().stop()

    def lines(self) -> int:
        return self._count(self.logdir, [n for n in os.listdir(self.logdir) if n == "current" or n.startswith("@")])


class _Supervisord(_LogPeer):
    name = "supervisord"

    def _bin(self, tool: str) -> str | None:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from peer import VENV  # noqa: PLC0415

        path = VENV / "bin" / tool
        return str(path) if path.exists() else shutil.which(tool)

    def missing(self) -> str | None:
        return None if self._bin("supervisord") else "supervisor not installed (python3 bench/bench_daemon.py installs it)"

    def start(self) -> None:
        import subprocess  # noqa: PLC0415

        self.log = os.path.join(self.work, "w.log")
        self.conf = os.path.join(self.work, "supervisord.conf")
        sock = os.path.join(self.work, "s.sock")
        with open(self.conf, "w") as f:
            f.write(f"[supervisord]\nnodaemon=true\nlogfile={self.work}/supervisord.log\npidfile={self.work}/s.pid\n"
                    f"[unix_http_server]\nfile={sock}\n[supervisorctl]\nserverurl=unix://{sock}\n"
                    "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
                    f"[program:w]\ncommand={self.argv()}\nautostart=false\nautorestart=false\nstartsecs=0\n"
                    f"stdout_logfile={self.log}\nstdout_logfile_maxbytes=0\nredirect_stderr=true\n")
        self.procs.append(subprocess.Popen([self._bin("supervisord"), "-c", self.conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait(lambda: os.path.exists(sock), 20)

    def trigger(self) -> None:
        import subprocess  # noqa: PLC0415

        subprocess.run([self._bin("supervisorctl"), "-c", self.conf, "start", "w"], check=True, capture_output=True, timeout=60)

    def lines(self) -> int:
        return self._count(self.work, ["w.log"])


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def bench_peers(mb: int, size: int, kinds: list[str], runs: int, tmpdir: str | None = None,
                ratios: dict[str, list[float]] | None = None) -> int:
    """The writer under each installed peer that logs a service's stdout, back to back with
    the same writer into /dev/null; every line must be in the peer's log files."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from peer import ensure_venv  # noqa: PLC0415

    err = ensure_venv(["supervisor", "circus"])  # into bench/.peers/venv (as bench_daemon.py does)
    if err:
        print(f"bench: could not install supervisor: {err}", file=sys.stderr)
    total = mb * 1000 * 1000
    expected = total // size
    summaries = []
    for kind in kinds:
        for cls in (_Supervisord, _S6, _Runit):
            tmp = tempfile.mkdtemp(prefix="bench-peer-", dir=tmpdir)
            script = os.path.join(tmp, "writer.py")
            with open(script, "w") as f:
                f.write(WRITERS[kind])
            peer = cls(tmp, script, total, size)
            why = peer.missing()
            if why:
                summaries.append(f"{kind:8} {peer.name}: n/a ({why})")
                shutil.rmtree(tmp, ignore_errors=True)
                continue
            rows = []
            try:
                peer.start()
                for run in range(runs):
                    null_stamp = os.path.join(tmp, "null-stamp")
                    with open(os.devnull, "wb") as null:
                        pid = os.posix_spawn(sys.executable, [sys.executable, script, str(total), str(size), null_stamp],
                                             os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, null.fileno(), 1)])
                        os.waitpid(pid, 0)
                    with open(null_stamp) as f:
                        t_null = float(f.read())
                    if os.path.exists(peer.stamp):
                        os.unlink(peer.stamp)
                    peer.trigger()
                    if not _wait(lambda: os.path.exists(peer.stamp) and os.path.getsize(peer.stamp) > 0, 300):
                        raise SystemExit(f"{peer.name}: the writer did not finish")
                    with open(peer.stamp) as f:
                        t_peer = float(f.read())
                    want = expected * (run + 1)
                    _wait(lambda: peer.lines() >= want, 120)
                    got = peer.lines()
                    rows.append({"null": t_null, "journal": t_peer, "ok": got == want})
                    _pool(ratios, peer.name, t_peer / t_null)
                    print(f"{kind:8} {peer.name} run {run + 1}: /dev/null {t_null:.3f}s  {peer.name} {t_peer:.3f}s "
                          f"({t_peer / t_null:.2f}x)  lines {got}/{want} {'ok' if got == want else 'MISSING'}", flush=True)
            finally:
                peer.stop()
                shutil.rmtree(tmp, ignore_errors=True)
            ratios = [r["journal"] / r["null"] for r in rows]
            if ratios:
                summaries.append(f"{kind:8} {peer.name}: median of {len(rows)}: ratio {_median(ratios):.2f}x "
                                 f"(runs {min(ratios):.2f}–{max(ratios):.2f}x)  lines {'all stored' if all(r['ok'] for r in rows) else 'MISSING'}")
    for text in summaries:
        print(text)
    return 0


def bench_rounds(mb: int, size: int, kind: str, rounds: int, runs: int, tmpdir: str | None = None) -> int:
    """`unit`, `peers` and `pipe` in turn, `rounds` times, for one writer; then every run's
    ratio pooled by reader. Here the machine's speed moves by the minute (the same writer's
    /dev/null time by a third between rounds, a peer's ratio below 1x in some): a median
    pooled over interleaved rounds says more than one round's. # issue 6 (1.5x target)"""
    ratios: dict[str, list[float]] = {}
    status = 0
    for i in range(rounds):
        print(f"# round {i + 1} of {rounds}, {time.strftime('%H:%M:%S', time.gmtime())} UTC", flush=True)
        status |= bench_unit(mb, size, [kind], runs, tmpdir, ratios=ratios)
        status |= bench_peers(mb, size, [kind], runs, tmpdir, ratios=ratios)
        status |= bench_pipe(mb, size, [kind], runs, tmpdir, ratios=ratios)
    print(f"# {kind} writer, {mb} MB, every run of {rounds} rounds pooled (ratio to the same writer's /dev/null run before it)")
    for reader, values in ratios.items():
        xs = sorted(values)
        n = len(xs)
        print(f"{reader:20} n={n:3}  median {_median(xs):.2f}x  quartiles {xs[n // 4]:.2f}-{xs[(3 * n) // 4]:.2f}x  "
              f"within 1.5x: {sum(x <= 1.5 for x in xs)}/{n}")
    return status


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("store")
    s.add_argument("--lines", type=int, default=200_000)
    s.add_argument("--batch", type=int, default=500)
    for name in ("pipe", "unit", "peers"):
        p = sub.add_parser(name)
        p.add_argument("--mb", type=int, default=200)
        p.add_argument("--line", type=int, default=100, help="bytes per line")
        p.add_argument("--writer", default="lines,buffered,blocks",
                       help="comma-separated writers: " + ", ".join(WRITERS))
        p.add_argument("--runs", type=int, default=5)
        p.add_argument("--tmpdir", default=None, help="where the journal goes (default: $TMPDIR)")
        if name == "pipe":
            p.add_argument("--no-cat", action="store_true", help="skip the cat and pipe-floor references")
            p.add_argument("--echo", action="store_true", help="the relay also prints every line (its console follower, as in `up`)")
    r = sub.add_parser("rounds", help="unit, peers and pipe interleaved for one writer; every run pooled")
    r.add_argument("--mb", type=int, default=200)
    r.add_argument("--line", type=int, default=100, help="bytes per line")
    r.add_argument("--writer", default="buffered", choices=sorted(WRITERS))
    r.add_argument("--rounds", type=int, default=6)
    r.add_argument("--runs", type=int, default=5, help="runs of each reader per round")
    r.add_argument("--tmpdir", default=None, help="where the journal goes (default: $TMPDIR)")
    args = ap.parse_args()
    if args.what == "rounds":
        return bench_rounds(args.mb, args.line, args.writer, args.rounds, args.runs, args.tmpdir)
    if args.what == "store":
        bench_store(args.lines, args.batch)
        return 0
    kinds = [k for k in args.writer.split(",") if k]
    unknown = [k for k in kinds if k not in WRITERS]
    if unknown:
        ap.error(f"unknown writer {unknown[0]!r}")
    if args.what == "unit":
        return bench_unit(args.mb, args.line, kinds, args.runs, args.tmpdir)
    if args.what == "peers":
        return bench_peers(args.mb, args.line, kinds, args.runs, args.tmpdir)
    return bench_pipe(args.mb, args.line, kinds, args.runs, args.tmpdir, cat=not args.no_cat, echo=args.echo)


if __name__ == "__main__":
    raise SystemExit(main())
