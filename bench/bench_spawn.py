"""Benchmark (diagnosis for issue 5): what one spawn costs, sysvisor's executor against the
ways Python can start a process.

For each method: how long the caller is blocked, and how long until the new program runs (its
first CLOCK_MONOTONIC stamp, bench/stamp.c). `--heap MB` grows this process first, as a
manager with many units is grown: fork copies page tables and every page either side then
writes is copied, so a Python child that runs code between fork and exec gets slower with the
parent's heap; vfork/posix_spawn do not.

Run: `python3 bench/bench_spawn.py [--heap 40] [-n 100]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from peer import build_stamp, read_stamps  # noqa: E402
from table import median, percentile, ratio, render  # noqa: E402

from sysvisor.daemon.executor import ExecRequest, read_exec_outcome, spawn  # noqa: E402
from sysvisor.daemon.containment import CgroupContainment  # noqa: E402
from sysvisor.daemon import exec_helper  # noqa: E402
from sysvisor.daemon.spawner import Spawner  # noqa: E402


def measure(start, log: Path, n: int) -> tuple[list[float], list[float]]:
    blocked, running = [], []
    for _ in range(n):
        log.unlink(missing_ok=True)
        t0 = time.monotonic_ns()
        handle = start()
        t1 = time.monotonic_ns()
        handle()  # wait for the child
        stamps = read_stamps(log)
        blocked.append((t1 - t0) / 1e6)
        running.append((stamps[0][2] - t0) / 1e6)
    return blocked, running


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--heap", type=int, default=30, help="MiB of Python objects to allocate first")
    ap.add_argument("-n", type=int, default=100)
    a = ap.parse_args(argv)
    stamp = str(build_stamp())
    log = Path(f"/tmp/bench-spawn-{os.getpid()}.log")
    ballast = [str(i) * 8 for i in range(a.heap * 1024 * 1024 // 90)]  # ~90 B per str object
    argv_ = [stamp, str(log), "x", "crash", "0"]

    def spawning(start, **settings):
        """A method: `start` (executor.spawn, a Spawner's spawn) of the stamp with `settings`."""
        def run():
            sp = start(ExecRequest(path=stamp, argv=argv_, stdout="null", stderr="null", **settings))

            def finish():
                os.waitpid(sp.pid, 0)
                os.set_blocking(sp.error_fd, True)
                read_exec_outcome(sp.error_fd, stamp)
            return finish
        return run

    helper = Spawner.start(native=False)
    native = Spawner.start(native=True) if exec_helper.find() else None

    def fork_exec():
        pid = os.fork()
        if pid == 0:  # pragma: no cover
            os.execv(stamp, argv_)
        return lambda: os.waitpid(pid, 0)

    def posix_spawn():
        pid = os.posix_spawn(stamp, argv_, os.environ, setsid=True)
        return lambda: os.waitpid(pid, 0)

    def popen():
        p = subprocess.Popen(argv_, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
        return p.wait

    # as the daemon spawns as root: into the unit's cgroup (v2, plus v1 accounting on hybrid
    # hosts); the fork path joins with cgroup.procs writes, the helper clones into it
    containment = None
    try:
        containment = CgroupContainment.open(f"sysvisor-bench-spawn-{os.getpid()}")
        cg = containment.create("bench.service")
    except OSError:
        pass

    def in_cgroup(start, born_inside: bool):
        return spawning(start, cgroup=cg, clone_into_cgroup=born_inside,
                        extra_cgroups=containment.accounting_paths("bench.service"))

    methods = [
        ("sysvisor daemon.executor.spawn (fork, setup in Python, exec)", spawning(spawn)),
        ("sysvisor daemon.spawner (Python helper: clone3, prepared in itself, exec)", spawning(helper.spawn)),
        *([("sysvisor daemon.spawner (native helper, exec_helper.c: clone3, setup in C, exec)", spawning(native.spawn))]
          if native else []),
        *([("  the same into a unit's cgroup: executor.spawn (cgroup.procs writes)", in_cgroup(spawn, False)),
           ("  the same into a unit's cgroup: Python helper (CLONE_INTO_CGROUP)", in_cgroup(helper.spawn, True))]
          if containment else []),
        *([("  the same into a unit's cgroup: native helper (CLONE_INTO_CGROUP)", in_cgroup(native.spawn, True))]
          if containment and native else []),
        ("os.fork() + os.execv() (nothing in between)", fork_exec),
        ("os.posix_spawn(setsid=True) (vfork in glibc)", posix_spawn),
        ("subprocess.Popen(start_new_session=True) (_posixsubprocess, vfork)", popen),
    ]
    rows, base = [], None
    for label, fn in methods:
        blocked, running = measure(fn, log, a.n)
        m = median(running)
        base = base or m
        rows.append([label, f"{median(blocked):.2f} ms", f"{m:.2f} ms", f"{percentile(running, 99):.2f} ms", ratio(m, base) if base != m else ""])
    log.unlink(missing_ok=True)
    helper.close()
    if native:
        native.close()
    if containment:
        containment.remove("bench.service")
        containment.close()
    rss = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmRSS"))
    title = f"bench_spawn: one spawn from a Python process of {int(rss) // 1024} MiB RSS ({len(ballast)} objects), n={a.n}, load {os.getloadavg()[0]:.2f}"
    print(render(title, ["method", "caller blocked p50", "→ program runs p50", "p99", "ratio"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
