"""Benchmark (issue 5): the manager's restart latency, start-up, memory, idleness, crash loops.

Runs the same scenarios under sysvisor and every peer it can install (supervisord and circus
from PyPI into bench/.peers/venv; runit and s6 from Debian's packages when root) and prints ONE
table with all of them side by side and each peer's ratio to sysvisor. systemd's column holds
figures measured earlier on this machine (quoted as a reference, not re-measured here).

Every latency is measured from the service side: the service is `bench/stamp.c`, which appends
"S pid CLOCK_MONOTONIC-ns name" when it starts and "E ..." just before a planned exit, so
interpreter start-up never enters a number.

  crash → new process   a service exits 1 after 20 ms; E stamp → next S stamp (RestartSec=0)
  SIGKILL → new process  the bench SIGKILLs the running service; kill() → next S stamp
  RestartSec=100ms       (next S − E) − 100 ms: how late the delayed restart fires
  500 services           manager launched → the 500th service stamped; then manager RSS
  idle                   manager CPU time and context switches over a window, 500 running
  crash loop             50 services exiting at once, RestartSec=0, no start limit: restarts/s
                         (quiet, then while `status` is queried back to back), status latency,
                         and for sysvisor NRestarts per unit against the processes it started

Run: `python3 bench/bench_daemon.py` (one run, < 5 min), `--runs 3` (medians of three, as in
docs/benchmarks.md) or `--quick` (sysvisor alone unless `--peers` names others, 100 instead of
500 services, short windows, < 1 min).
Benchmarks run on demand only; they are not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer import (  # noqa: E402
    Peer, Service, StampTail, all_peers, systemd_oracle, build_stamp, install_peers, proc_usage, read_stamps, sysvisor_python, wait_until, warm_bytecode,
)
from table import median, percentile, ratio, render  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")

# systemd 252/257 on this machine, measured earlier (issue 5); not re-measured by this script.
SYSTEMD_REFERENCE = {
    "crash_p50": (2.3, 2.9), "kill_p50": (14.0, 16.0), "delay_late": (150.0, 150.0),
    "startup": (0.8, 1.0), "rss": (14.5, 14.5),
}


@dataclass
class Settings:
    runs: int = 1
    crash_iters: int = 100
    kill_iters: int = 40
    delay_iters: int = 15
    cap_s: float = 2.5  # per peer and latency scenario
    many: int = 500
    idle_s: float = 30.0
    loop_units: int = 50
    loop_warm_s: float = 1.0
    loop_window_s: float = 2.5
    # a nearest-rank p99 of n samples is the maximum while n < 100: query `status` until the
    # window has passed and this many answered, or for `status_cap_s` at most (slow peers)
    status_samples: int = 200
    status_cap_s: float = 15.0


    status_timeout_s: float = 5.0  # a slower `status` counts as this (marked ">")


QUICK = Settings(runs=1, crash_iters=30, kill_iters=10, delay_iters=6, cap_s=1.0, many=100, idle_s=3.0, loop_warm_s=0.3,
                 loop_window_s=0.8, status_samples=1, status_cap_s=0.8, status_timeout_s=2.0)


@contextmanager
def session(peer: Peer, stamp: Path, services: list[Service], tmp: Path, label: str, need_ready: bool = True):
    """The peer's manager running `services` in a fresh directory; always torn down."""
    peer.setup(tmp / f"{peer.name}-{label}-{time.monotonic_ns()}", stamp, services)
    peer.launch()
    try:
        if need_ready and not wait_until(peer.ready, 30):
            raise RuntimeError(f"{peer.name} did not become ready within 30 s")
        yield peer
    finally:
        peer.teardown()


def _pairs_after_exit(stamps, start_of: str = "E") -> list[float]:
    """Milliseconds from each E stamp to the next S stamp (one service)."""
    out, exit_ns = [], None
    for kind, _pid, ns, _name in sorted(stamps, key=lambda s: s[2]):
        if kind == "E":
            exit_ns = ns
        elif kind == "S" and exit_ns is not None:
            out.append((ns - exit_ns) / 1e6)
            exit_ns = None
    return out


def crash_latency(peer, stamp, tmp, s: Settings, restart_sec: float = 0.0) -> list[float]:
    """E → next S in ms, for a service that exits 1 after 20 ms; the first two are warm-up."""
    iters = s.delay_iters if restart_sec else s.crash_iters
    svc = Service("crash", "crash", 20, restart_sec)
    with session(peer, stamp, [svc], tmp, "crash", need_ready=False):
        if not wait_until(lambda: read_stamps(peer.log), 30, 0.01):  # the cap starts at the first start
            log(f"  {peer.name}: the service did not start within 30 s")
        deadline = time.monotonic() + s.cap_s + iters * restart_sec
        while time.monotonic() < deadline:
            if len(_pairs_after_exit(read_stamps(peer.log))) >= iters + 2:
                break
            time.sleep(0.05)
        samples = _pairs_after_exit(read_stamps(peer.log))
        return samples[2:] if len(samples) > 5 else samples  # warm-up, unless the peer is throttled


def kill_latency(peer, stamp, tmp, s: Settings) -> list[float]:
    """kill(SIGKILL) of the running service → the next S stamp, in ms."""
    samples: list[float] = []
    with session(peer, stamp, [Service("victim", "wait")], tmp, "kill", need_ready=False):
        tail = StampTail(peer.log)
        wait_until(lambda: read_stamps(peer.log), 30, 0.01)  # the cap starts at the first start
        deadline = time.monotonic() + s.cap_s
        killed_ns = None
        while len(samples) < s.kill_iters + 1:
            started = wait_until(lambda: [x for x in tail.new() if x[0] == "S"], max(0.0, deadline - time.monotonic()) + 2.0, 0.0005)
            if not started:
                break
            _, pid, ns, _ = started[-1]
            if killed_ns is not None:
                samples.append((ns - killed_ns) / 1e6)
            if time.monotonic() >= deadline:
                break
            time.sleep(0.03)  # let the manager settle the service as running
            killed_ns = time.monotonic_ns()
            os.kill(pid, signal.SIGKILL)
    return samples[1:] if len(samples) > 5 else samples


def startup(peer, stamp, tmp, s: Settings, keep: bool):
    """Seconds from launching the manager to the `many`-th service stamped, and RSS after."""
    services = [Service(f"svc{i:03d}", "wait") for i in range(s.many)]
    cm = session(peer, stamp, services, tmp, "many", need_ready=False)
    cm.__enter__()
    try:
        def all_started():
            names = {name for kind, _, _, name in read_stamps(peer.log) if kind == "S"}
            return len(names) >= s.many
        done = wait_until(all_started, 90, 0.02)
        result = {"startup": None, "rss": None}
        if done:
            first = {}
            for kind, _, ns, name in read_stamps(peer.log):
                if kind == "S":
                    first.setdefault(name, ns)
            result["startup"] = (max(first.values()) - peer.launched_ns) / 1e9
            time.sleep(0.5)  # let the manager finish its bookkeeping before reading RSS
            result["rss"] = proc_usage([peer.main_pid()])["rss_kib"] / 1024
            result["pss"] = proc_usage(peer.manager_pids())["pss_kib"] / 1024
            result["manager_procs"] = len(peer.manager_pids())
    except BaseException:
        cm.__exit__(*sys.exc_info())
        raise
    if keep and done:
        return result, cm
    cm.__exit__(None, None, None)
    return result, None


def idle(running: dict[str, Peer], seconds: float) -> dict[str, dict]:
    """CPU % and context switches per second of each idle manager, all over the same window."""
    pids = {name: p.manager_pids() for name, p in running.items()}
    before = {name: proc_usage(p) for name, p in pids.items()}
    time.sleep(seconds)
    out = {}
    for name, p in pids.items():
        after = proc_usage(p)
        out[name] = {
            "cpu_pct": 100.0 * (after["cpu_ticks"] - before[name]["cpu_ticks"]) / CLK_TCK / seconds,
            "wakeups": (after["vol_cs"] - before[name]["vol_cs"]) / seconds,
            "cs_total": (after["vol_cs"] + after["invol_cs"] - before[name]["vol_cs"] - before[name]["invol_cs"]) / seconds,
        }
    return out


def crash_loop(peer, stamp, tmp, s: Settings) -> dict:
    """50 services exiting at once: restarts/s, status latency meanwhile, crash accounting."""
    names = [f"loop{i:02d}" for i in range(s.loop_units)]
    with session(peer, stamp, [Service(n, "crash", 0) for n in names], tmp, "loop") as p:
        time.sleep(s.loop_warm_s)
        count = lambda: sum(1 for x in read_stamps(p.log) if x[0] == "S")  # noqa: E731
        t1, c1 = time.monotonic(), count()
        time.sleep(s.loop_window_s)
        t2, c2 = time.monotonic(), count()
        status_ms: list[float] = []
        env = p.env()
        # a window's worth of queries, at least one; a query slower than the timeout is cut off
        timed_out = 0
        while not status_ms or (time.monotonic() - t2 < s.status_cap_s
                                and (time.monotonic() - t2 < s.loop_window_s or len(status_ms) < s.status_samples)):
            t = time.monotonic()
            try:
                subprocess.run(p.status_argv(names[len(status_ms) % len(names)]), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=s.status_timeout_s)
            except subprocess.TimeoutExpired:
                timed_out += 1
            status_ms.append((time.monotonic() - t) * 1000)
        t3, c3 = time.monotonic(), count()
        result = {"rate_quiet": (c2 - c1) / (t2 - t1), "rate_busy": (c3 - c2) / (t3 - t2), "status": status_ms, "status_timed_out": timed_out}
        if p.has_restart_counter:
            p.stop_units(names)
            time.sleep(0.3)
            stamps = read_stamps(p.log)
            started = {n: 0 for n in names}
            exited = {n: 0 for n in names}
            stamped = set()
            for kind, pid, _, n in stamps:
                (started if kind == "S" else exited)[n] += 1
                stamped.add(pid)
            r = subprocess.run(p.show_argv(names, "NRestarts"), env=env, capture_output=True, text=True, timeout=60)
            counts = [int(v) for v in r.stdout.split()]
            # a process the stop killed between its spawn and its first stamp was started too
            # (and counted by NRestarts) though it never stamped: the unit's last main PID
            r = subprocess.run(p.show_argv(names, "ExecMainPID"), env=env, capture_output=True, text=True, timeout=60)
            last = [int(v) for v in r.stdout.split()]
            if len(last) == len(names):
                for n, pid in zip(names, last):
                    if pid > 0 and pid not in stamped:
                        started[n] += 1
                        result["killed_before_stamp"] = result.get("killed_before_stamp", 0) + 1
            if len(counts) == len(names):
                restarts = {n: started[n] - 1 for n in names}
                result["nrestarts"] = sum(counts)
                result["restarts_started"] = sum(restarts.values())
                result["crashes"] = sum(exited.values())
                result["mismatched_units"] = sum(1 for n, c in zip(names, counts) if c != restarts[n])
                # a crash never followed by a restart, other than the last one cut off by stop
                result["unrestarted"] = sum(max(0, exited[n] - 1 - restarts[n]) for n in names)
        return result


def run_once(peers: list[Peer], stamp: Path, tmp: Path, s: Settings, last: bool) -> dict:
    res: dict[str, dict] = {p.name: {} for p in peers}
    for p in peers:
        r = res[p.name]
        log(f"  {p.name}: crash latency")
        r["crash"] = crash_latency(p, stamp, tmp, s)
        log(f"  {p.name}: SIGKILL latency")
        r["kill"] = kill_latency(p, stamp, tmp, s)
        if p.restart_delay:
            log(f"  {p.name}: RestartSec=100ms")
            r["delay"] = [x - 100.0 for x in crash_latency(p, stamp, tmp, s, restart_sec=0.1)]
        log(f"  {p.name}: crash loop of {s.loop_units}")
        r["loop"] = crash_loop(p, stamp, tmp, s)
    kept = {}
    try:
        for p in peers:
            log(f"  {p.name}: {s.many} services")
            r, cm = startup(p, stamp, tmp, s, keep=last)
            res[p.name].update(r)
            if cm:
                kept[p.name] = (p, cm)
        if last and kept:
            log(f"  idle window of {s.idle_s:.0f} s ({', '.join(kept)} side by side)")
            for name, v in idle({n: pc[0] for n, pc in kept.items()}, s.idle_s).items():
                res[name]["idle"] = v
    finally:
        for p, cm in kept.values():
            cm.__exit__(None, None, None)
    return res


T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f} s] {msg}", file=sys.stderr, flush=True)


# --- the table ------------------------------------------------------------------------------

def summarize(runs: list[dict], name: str) -> dict:
    """Median over runs of each per-run figure."""
    def med(f):
        vals = [v for v in (f(r[name]) for r in runs) if v is not None]
        return median(vals) if vals else None

    def pct(key, p):
        return lambda r: percentile(r[key], p) if r.get(key) else None

    out = {
        "crash_p50": med(pct("crash", 50)), "crash_p99": med(pct("crash", 99)), "crash_n": sum(len(r[name].get("crash", [])) for r in runs),
        "kill_p50": med(pct("kill", 50)), "kill_p99": med(pct("kill", 99)), "kill_n": sum(len(r[name].get("kill", [])) for r in runs),
        "delay_late": med(pct("delay", 50)), "delay_max": med(lambda r: max(r["delay"]) if r.get("delay") else None),
        "startup": med(lambda r: r.get("startup")), "rss": med(lambda r: r.get("rss")), "pss": med(lambda r: r.get("pss")),
        "procs": med(lambda r: r.get("manager_procs")),
        "rate_quiet": med(lambda r: r["loop"]["rate_quiet"]), "rate_busy": med(lambda r: r["loop"]["rate_busy"]),
        "status_p50": med(lambda r: percentile(r["loop"]["status"], 50)), "status_p99": med(lambda r: percentile(r["loop"]["status"], 99)),
        "status_timed_out": sum(r[name]["loop"].get("status_timed_out", 0) for r in runs),
        "status_n": sum(len(r[name]["loop"].get("status", [])) for r in runs),
    }
    idle_runs = [r[name]["idle"] for r in runs if "idle" in r[name]]
    if idle_runs:
        out["idle_cpu"] = idle_runs[-1]["cpu_pct"]
        out["idle_wake"] = idle_runs[-1]["wakeups"]
    loops = [r[name]["loop"] for r in runs if "nrestarts" in r[name]["loop"]]
    if loops:
        out["accounting"] = loops
    return out


def summarize_systemd(res: dict) -> dict:
    """The oracle's one run in summarize()'s shape."""
    def pct(key, p, shift=0.0):
        xs = [x - shift for x in (res.get(key) or {}).get("samples", [])]
        return percentile(xs, p) if xs else None
    loop, many = res.get("loop") or {}, res.get("many") or {}
    delay = [x - 100.0 for x in (res.get("delay") or {}).get("samples", [])]
    return {
        "crash_p50": pct("crash", 50), "crash_p99": pct("crash", 99), "kill_p50": pct("kill", 50), "kill_p99": pct("kill", 99),
        "delay_late": percentile(delay, 50) if delay else None, "delay_max": max(delay) if delay else None,
        "startup": many.get("startup"), "rss": many.get("rss"), "pss": None, "idle_cpu": many.get("idle_cpu"), "idle_wake": many.get("idle_wake"),
        "rate_quiet": loop.get("rate_quiet"), "rate_busy": loop.get("rate_busy"),
        "status_p50": percentile(loop["status"], 50) if loop.get("status") else None,
        "status_p99": percentile(loop["status"], 99) if loop.get("status") else None, "status_timed_out": 0,
        "status_n": len(loop.get("status") or []),
        "crash_n": len((res.get("crash") or {}).get("samples", [])), "kill_n": len((res.get("kill") or {}).get("samples", [])),
    }


ROWS = [
    # key, label, unit, digits, target
    ("crash_p50", "crash → new process p50", "ms", 2, "≤ 2.5 ms"),
    ("crash_p99", "crash → new process p99", "ms", 2, "≤ 10 ms"),
    ("kill_p50", "SIGKILL → new process p50", "ms", 2, "≤ 5 ms"),
    ("kill_p99", "SIGKILL → new process p99", "ms", 2, ""),
    ("delay_late", "RestartSec=100ms: late by (p50)", "ms", 2, "≤ 5 ms"),
    ("delay_max", "RestartSec=100ms: late by (max)", "ms", 2, "≤ 5 ms"),
    ("startup", "{many} services: launch → all running", "s", 2, "≤ 1.0 s"),
    ("rss", "{many} services: manager RSS (main process)", "MiB", 1, "≤ 40 MiB"),
    ("pss", "{many} services: PSS of all manager processes", "MiB", 1, ""),
    ("idle_cpu", "idle {idle:g} s, {many} running: manager CPU", "%", 3, "0 %"),
    ("idle_wake", "idle {idle:g} s, {many} running: wake-ups", "/s", 2, "0"),
    ("rate_quiet", "crash loop ×50: restarts/s", "/s", 0, "≥ 500/s"),
    ("rate_busy", "crash loop ×50: restarts/s during status", "/s", 0, ""),
    ("status_p50", "crash loop ×50: status p50", "ms", 1, ""),
    ("status_p99", "crash loop ×50: status p99", "ms", 1, "≤ 100 ms"),
]


def cell(v, unit, digits) -> str:
    if v is None:
        return "—"
    return f"{v:.{digits}f} {unit}".replace(" /s", "/s").replace(" %", " %")


def build_table(peers: list[Peer], summary: dict[str, dict], missing: dict[str, str], s: Settings, markdown: bool,
                systemd: str | None = None) -> str:
    names = [p.name for p in peers]
    if systemd:
        names.insert(1, "systemd")
    header = ["metric", "target", "sysvisor", *(["systemd 257 (oracle)"] if systemd else []), "systemd (ref.)",
              *[n for n in names if n not in ("sysvisor", "systemd")], *missing]
    rows = []
    base = summary.get("sysvisor", {})
    for key, label, unit, digits, target in ROWS:
        row = [label.format(many=s.many, idle=s.idle_s), target, cell(base.get(key), unit, digits)]
        if systemd:
            v = summary["systemd"].get(key)
            row.append(f"{cell(v, unit, digits)} {ratio(v, base.get(key))}".strip())
        ref = SYSTEMD_REFERENCE.get(key)
        if ref:
            lo, hi = ref
            text = f"{lo:g} {unit}" if lo == hi else f"{lo:g}–{hi:g} {unit}"
            row.append(f"{text} {ratio((lo + hi) / 2, base.get(key))}".strip())
        else:
            row.append("—")
        for n in names:
            if n in ("sysvisor", "systemd"):
                continue
            v = summary[n].get(key)
            if v is None and key.startswith("delay"):
                row.append("n/a (no RestartSec)")
            elif v is None and key[:5] in ("crash", "kill_"):
                row.append(f"no restart in {s.cap_s:g} s")
            else:
                text = cell(v, unit, digits)
                if key.startswith("status") and summary[n]["status_timed_out"] and v >= s.status_timeout_s * 1000:
                    text = "> " + text  # cut off at the timeout
                row.append(f"{text} {ratio(v, base.get(key))}".strip())
        row += [f"n/a ({why})" for why in missing.values()]
        rows.append(row)
    title = (f"bench_daemon: sysvisor vs peers — medians of {s.runs} run(s), {os.cpu_count()} cores; "
             f"ratios are peer ÷ sysvisor; systemd (ref.) = measured earlier (not re-run)"
             + (f"; systemd 257 (oracle) = {systemd} as PID 1 of a container, one run, from `systemctl start` of loaded units" if systemd else ""))
    return render(title, header, rows, markdown)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one short run of sysvisor alone (< 1 min)")
    ap.add_argument("--runs", type=int, help="runs to take the median of (default 1)")
    ap.add_argument("--peers", help="comma-separated subset, e.g. sysvisor,supervisord")
    ap.add_argument("--no-install", action="store_true", help="do not try to install missing peers")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--json", type=Path, help="write raw results here")
    ap.add_argument("--systemd", action="store_true",
                    help="also run the scenarios under real systemd 257 via shared/tools/systemd-oracle (root; +2-3 min)")
    a = ap.parse_args(argv)
    s = QUICK if a.quick else Settings()
    if a.runs:
        s.runs = a.runs
    stamp = build_stamp()
    warm_bytecode(sysvisor_python())
    if not a.no_install:
        install_peers()
    peers = all_peers()
    if a.peers or a.quick:
        wanted = (a.peers or "sysvisor").split(",")  # --quick checks sysvisor alone unless told
        peers = [p for p in peers if p.name in wanted]
    missing = {p.name: p.missing for p in peers if p.missing}
    peers = [p for p in peers if not p.missing]
    load_before = os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory(prefix="sysvisor-bench-", ignore_cleanup_errors=True) as tmp:
        for i in range(s.runs):
            log(f"run {i + 1}/{s.runs}")
            runs.append(run_once(peers, stamp, Path(tmp), s, last=i == s.runs - 1))
    summary = {p.name: summarize(runs, p.name) for p in peers}
    systemd = None
    if a.systemd:
        log("systemd 257 through the oracle (one boot, all scenarios)")
        res, what = systemd_oracle(stamp, s.crash_iters, s.kill_iters, s.delay_iters, s.many, s.idle_s, s.loop_window_s)
        if res is None:
            missing["systemd 257 (oracle)"] = what
        else:
            systemd, summary["systemd"] = what, summarize_systemd(res)
            runs.append({"systemd": res})
    print(build_table(peers, summary, missing, s, a.markdown, systemd))
    acc = summary.get("sysvisor", {}).get("accounting")
    if acc:
        for i, loop in enumerate(acc, 1):
            print(f"sysvisor crash accounting, run {i}: {loop['crashes']} crashes, {loop['restarts_started']} restarts started, "
                  f"NRestarts sum {loop['nrestarts']}, units with NRestarts ≠ restarts: {loop['mismatched_units']}, "
                  f"crashes never restarted: {loop['unrestarted']}, "
                  f"started but stopped before their first stamp: {loop.get('killed_before_stamp', 0)}")
    print(f"load average (1 min) before/after: {load_before[0]:.2f}/{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores "
          "(other work on the machine inflates every column alike)")
    print(f"sysvisor ran on {sysvisor_python()} with cached bytecode; started as `sysvisor up` via install.sh's launcher")
    if systemd:
        n = summary["systemd"]
        print(f"systemd: samples crash={n['crash_n']} kill={n['kill_n']} status={n.get('status_n', 0)}; start-up timed from `systemctl start --no-block` of {s.many} loaded units, "
              "RSS and idle of PID 1")
    for p in peers:
        n = summary[p.name]
        print(f"{p.name}: samples crash={n['crash_n']} kill={n['kill_n']} status={n['status_n']}; manager processes with {s.many} services: {n['procs']}"
              + (f"; {p.note}" if p.note else ""))
    if a.json:
        a.json.write_text(json.dumps({"settings": s.__dict__, "runs": runs, "summary": summary}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
