"""Runs inside the systemd-oracle container (real systemd as PID 1): bench_daemon's scenarios
against systemd, measured the same way (the services are bench/stamp.c). Prints one JSON object.

  oracle_driver.py DIR crash|delay|kill|loop|many|cli [ITERS]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def stamps(log: str) -> list[tuple[str, int, int, str]]:
    out = []
    try:
        data = open(log, "rb").read()
    except FileNotFoundError:
        return out
    for line in data.split(b"\n"):
        p = line.split()
        if len(p) == 4:
            out.append((p[0].decode(), int(p[1]), int(p[2]), p[3].decode()))
    return out


def systemctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=120)


def wait(pred, timeout: float, interval: float = 0.002):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return None


def after_exit(st) -> list[float]:
    out, e = [], None
    for kind, _pid, ns, _n in sorted(st, key=lambda s: s[2]):
        if kind == "E":
            e = ns
        elif kind == "S" and e is not None:
            out.append((ns - e) / 1e6)
            e = None
    return out


def main() -> None:
    what, iters = sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 50
    log = "/tmp/stamps.log"
    if os.path.exists(log):
        os.unlink(log)
    res: dict = {}
    if what in ("crash", "delay"):
        unit = f"{what}.service"
        systemctl("start", "--no-block", unit)
        wait(lambda: len(after_exit(stamps(log))) >= iters + 2, 30, 0.05)
        systemctl("stop", unit)
        res["samples"] = after_exit(stamps(log))[2:]
    elif what == "kill":
        systemctl("start", "victim.service")
        samples, seen = [], set()
        killed = None
        for _ in range(iters + 1):
            new = wait(lambda: [s for s in stamps(log) if s[0] == "S" and s[1] not in seen], 10)
            if not new:
                break
            seen.update(s[1] for s in new)
            if killed is not None:
                samples.append((new[-1][2] - killed) / 1e6)
            time.sleep(0.03)
            killed = time.monotonic_ns()
            os.kill(new[-1][1], 9)
        systemctl("stop", "victim.service")
        res["samples"] = samples[1:]
    elif what == "loop":
        names = [f"loop{i:02d}.service" for i in range(50)]
        systemctl("start", "--no-block", *names)
        time.sleep(1.0)
        count = lambda: sum(1 for s in stamps(log) if s[0] == "S")  # noqa: E731
        t1, c1 = time.monotonic(), count()
        time.sleep(iters / 20)
        t2, c2 = time.monotonic(), count()
        lat = []
        # as bench_daemon.crash_loop: the window, and 200 answers for a real p99, within 15 s
        while not lat or (time.monotonic() - t2 < 15.0 and (time.monotonic() - t2 < iters / 20 or len(lat) < 200)):
            t = time.monotonic()
            subprocess.run(["systemctl", "status", "--no-pager", names[len(lat) % 50]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            lat.append((time.monotonic() - t) * 1000)
        t3, c3 = time.monotonic(), count()
        systemctl("stop", *names)
        nr = systemctl("show", "-p", "NRestarts", "--value", *names).stdout.split()
        st = stamps(log)
        res.update(rate_quiet=(c2 - c1) / (t2 - t1), rate_busy=(c3 - c2) / (t3 - t2), status=lat,
                   nrestarts=sum(int(x) for x in nr), restarts_started=sum(1 for s in st if s[0] == "S") - 50,
                   crashes=sum(1 for s in st if s[0] == "E"))
    elif what == "cli":
        systemctl("start", "victim.service")
        samples = []
        for i in range(iters + 2):
            t = time.perf_counter()
            subprocess.run(["systemctl", "is-active", "victim.service"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            if i >= 2:
                samples.append((time.perf_counter() - t) * 1000)
        systemctl("stop", "victim.service")
        res["samples"] = samples
    elif what == "many":
        names = [f"svc{i:03d}.service" for i in range(iters)]
        t0 = time.monotonic_ns()
        systemctl("start", "--no-block", *names)
        ok = wait(lambda: len({s[3] for s in stamps(log) if s[0] == "S"}) >= iters, 60, 0.01)
        first: dict[str, int] = {}
        for kind, _, ns, n in stamps(log):
            if kind == "S":
                first.setdefault(n, ns)
        res["startup"] = (max(first.values()) - t0) / 1e9 if ok else None
        time.sleep(0.5)

        def usage():
            with open("/proc/1/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            status = dict(line.split(":", 1) for line in open("/proc/1/status") if ":" in line)
            return int(fields[11]) + int(fields[12]), int(status["voluntary_ctxt_switches"]), int(status["VmRSS"].split()[0])
        cpu0, cs0, rss = usage()
        idle = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
        time.sleep(idle)
        cpu1, cs1, _ = usage()
        res.update(rss=rss / 1024, idle_cpu=100.0 * (cpu1 - cpu0) / os.sysconf("SC_CLK_TCK") / idle, idle_wake=(cs1 - cs0) / idle, idle_s=idle)
        systemctl("stop", *names)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
