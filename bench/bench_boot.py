"""Benchmark (issue 7): boot 500 enabled services with a realistic dependency graph.

The graph (seeded, the same for every peer): 20 base services (databases, brokers), 80
middle services each `Requires=`+`After=` one or two base services, 400 apps each `Wants=`+
`After=` one to three earlier services and `After=network-online.target`; all
`WantedBy=multi-user.target` in the `--units` folder. Every service is bench/stamp.c in its
"wait" mode, so the manager's work is all that is timed.

  all running        manager launched → the last service's first "S" stamp
  default.target     manager launched → default.target's ActiveEnterTimestampMonotonic
                     (sysvisor only: the peers have no target; same clock, CLOCK_MONOTONIC)
  manager RSS        after all are running

supervisord and circus get the same services with the graph's layers as start priorities
(their only ordering tool; neither waits for a dependency). Run:
`python3 bench/bench_boot.py [--runs 3] [--units 500] [--peers sysvisor,supervisord,circus]`.
Benchmarks run on demand only; they are not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer import (  # noqa: E402
    CircusPeer, Service, SupervisordPeer, SysvisorPeer, build_stamp, install_peers, proc_usage, read_stamps,
    stamp_argv, sysvisor_python, wait_until, warm_bytecode, write_launcher,
)
from table import median, ratio, render  # noqa: E402


def graph(n: int, seed: int = 7) -> dict[str, tuple[int, str, list[str]]]:
    """name → (layer, dependency kind, dependencies): base 4 %, middle 16 %, apps the rest."""
    rng = random.Random(seed)
    n_base, n_mid = max(1, n // 25), max(1, n * 4 // 25)
    out: dict[str, tuple[int, str, list[str]]] = {}
    base = [f"base{i:03d}" for i in range(n_base)]
    mid = [f"mid{i:03d}" for i in range(n_mid)]
    for b in base:
        out[b] = (0, "Requires", [])
    for m in mid:
        out[m] = (1, "Requires", rng.sample(base, min(len(base), rng.randint(1, 2))))
    for i in range(n - n_base - n_mid):
        pool = base + mid
        out[f"app{i:03d}"] = (2, "Wants", rng.sample(pool, min(len(pool), rng.randint(1, 3))))
    return out


class BootSysvisor(SysvisorPeer):
    def write_config(self, work, stamp, services):
        units = work / "units"
        units.mkdir(exist_ok=True)
        for s in services:
            layer, kind, deps = self.graph[s.name]
            dep_units = " ".join(f"{d}.service" for d in deps)
            unit = "[Unit]\nDescription=boot bench " + s.name + "\n"
            if deps:
                unit += f"{kind}={dep_units}\nAfter={dep_units}\n"
            if layer == 2:
                unit += "Wants=network-online.target\nAfter=network-online.target\n"
            unit += (f"\n[Service]\nExecStart={' '.join(stamp_argv(stamp, self.log, s))}\n"
                     "\n[Install]\nWantedBy=multi-user.target\n")
            (units / f"{s.name}.service").write_text(unit)
        self.launcher = write_launcher(work / "sysvisor", sysvisor_python())

    def target_reached_s(self) -> float | None:
        r = subprocess.run([str(self.launcher), "show", "default.target", "-p", "ActiveEnterTimestampMonotonic", "--value"],
                           env=self.env(), capture_output=True, text=True, timeout=30)
        try:
            usec = int(r.stdout.strip() or 0)
        except ValueError:
            return None
        return (usec * 1000 - self.launched_ns) / 1e9 if usec else None


class BootSupervisord(SupervisordPeer):
    def write_config(self, work, stamp, services):
        super().write_config(work, stamp, services)
        text = self.conf.read_text()
        for s in services:  # lower priority starts first
            text = text.replace(f"[program:{s.name}]\n", f"[program:{s.name}]\npriority={100 + 100 * self.graph[s.name][0]}\n")
        self.conf.write_text(text)


class BootCircus(CircusPeer):
    def write_config(self, work, stamp, services):
        super().write_config(work, stamp, services)
        text = self.conf.read_text()
        for s in services:  # higher priority starts first
            text = text.replace(f"[watcher:{s.name}]\n", f"[watcher:{s.name}]\npriority = {10 - self.graph[s.name][0]}\n")
        self.conf.write_text(text)


def boot(peer, stamp: Path, tmp: Path, g: dict) -> dict:
    peer.graph = g
    services = [Service(name, "wait") for name in g]
    peer.setup(tmp / f"{peer.name}-{time.monotonic_ns()}", stamp, services)
    peer.launch()
    try:
        def all_started():
            return len({name for kind, _, _, name in read_stamps(peer.log) if kind == "S"}) >= len(g)
        if not wait_until(all_started, 120, 0.02):
            return {"all": None, "target": None, "rss": None}
        first: dict[str, int] = {}
        for kind, _, ns, name in read_stamps(peer.log):
            if kind == "S":
                first.setdefault(name, ns)
        out = {"all": (max(first.values()) - peer.launched_ns) / 1e9, "target": None}
        if isinstance(peer, BootSysvisor):
            wait_until(lambda: peer.target_reached_s() is not None, 10, 0.05)
            out["target"] = peer.target_reached_s()
        time.sleep(0.3)  # let the manager finish its bookkeeping before reading RSS
        out["rss"] = proc_usage([peer.main_pid()])["rss_kib"] / 1024
        return out
    finally:
        peer.teardown()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--units", type=int, default=500)
    ap.add_argument("--peers", default="sysvisor,supervisord,circus")
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args(argv)
    stamp = build_stamp()
    warm_bytecode(sysvisor_python())
    if not a.no_install:
        install_peers(quiet=True)
    wanted = a.peers.split(",")
    peers = [p for p in (BootSysvisor(), BootSupervisord(), BootCircus()) if p.name in wanted]
    missing = {p.name: p.missing for p in peers if p.missing}
    peers = [p for p in peers if not p.missing]
    g = graph(a.units)
    res: dict[str, list[dict]] = {p.name: [] for p in peers}
    with tempfile.TemporaryDirectory(prefix="sysvisor-bench-boot-", ignore_cleanup_errors=True) as tmp:
        for i in range(a.runs):
            for p in peers:
                print(f"run {i + 1}/{a.runs}: {p.name}", file=sys.stderr, flush=True)
                res[p.name].append(boot(p, stamp, Path(tmp), g))

    def med(name, key):
        vals = [r[key] for r in res[name] if r.get(key) is not None]
        return median(vals) if vals else None

    base = {k: med("sysvisor", k) for k in ("all", "target", "rss")} if "sysvisor" in res else {}
    header = ["", *(p.name for p in peers), *(f"{p.name} ÷ sysvisor" for p in peers if p.name != "sysvisor")]
    rows = []
    for key, label, unit in (("all", f"{a.units} services: launch → all running", "s"),
                             ("target", "launch → default.target active", "s"),
                             ("rss", "manager RSS, all running", "MiB")):
        vals = [med(p.name, key) for p in peers]
        rows.append([label, *("–" if v is None else f"{v:.2f} {unit}" for v in vals),
                     *(ratio(med(p.name, key), base.get(key)) for p in peers if p.name != "sysvisor")])
    print(render(f"bench_boot: {a.units} enabled services, dependency graph (base/middle/apps), medians of {a.runs} run(s), "
                 f"{os.cpu_count()} cores", header, rows, a.markdown))
    for name, why in missing.items():
        print(f"{name}: not run ({why})")
    print("supervisord/circus: the graph's layers as start priorities; they do not wait for dependencies.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
