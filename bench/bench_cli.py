"""Benchmark (issue 6): latency of `sysvisor is-active X` against a running manager.

Starts one manager per installed peer with one running service `web`, then times each
control tool's closest command, back to back, as a user's shell would run it (a fresh process
each time): `sysvisor is-active web` (through install.sh's launcher), `supervisorctl status
web`, `circusctl status web`, `sv status`, `s6-svstat`. systemctl's figure is a reference
measured earlier on this machine. Prints ONE table with ratios to sysvisor, then what the hot
path imports (`python3 -X importtime`, median of 5), most expensive first.

sysvisor runs on the interpreter install.sh would choose on a fresh Debian 12 (see
peer.sysvisor_python) with its bytecode cached; extra rows show this session's interpreter and a
cold bytecode cache (-B and an empty pycache_prefix: every module compiled on every call).

Run: `python3 bench/bench_cli.py` (3 runs of 30 calls, medians, < 2 min) or `--quick`.

`python3 bench/bench_cli.py status` (issue 6): `sysvisor status X` while 50 units crash-loop
(RestartSec=0, no start limit) and the journal grows, against a pre-filled journal of
--journal-mb MB; prints the latency of the whole call and of its journal part alone (the
last 10 lines of the unit, read in process as `status` reads them), p50/p99.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer import (  # noqa: E402
    LAUNCHER_FLAGS, Service, all_peers, systemd_oracle, build_stamp, install_peers, sysvisor_env, sysvisor_python, wait_until, warm_bytecode,
    write_launcher,
)
from table import median, percentile, ratio, render  # noqa: E402

SYSTEMCTL_REFERENCE_MS = 7.0  # `systemctl is-active`, measured earlier on this machine (issue 6)


def time_calls(argv: list[str], env: dict, n: int, expect_rc: int | None = 0) -> list[float]:
    """Wall-clock ms of `n` runs of argv (after 2 warm-ups); fails loudly on a wrong exit code."""
    out = []
    for i in range(n + 2):
        t = time.perf_counter()
        r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        ms = (time.perf_counter() - t) * 1000
        if expect_rc is not None and r.returncode != expect_rc:
            raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}: {r.stdout[-300:]!r} {r.stderr[-300:]!r}")
        if i >= 2:
            out.append(ms)
    return out


def import_costs(python: str, launcher: Path, env: dict, verb: list[str], reps: int = 5):
    """Median self and cumulative µs per module of `python -X importtime launcher VERB`."""
    selfs, cums = defaultdict(list), defaultdict(list)
    order: dict[str, int] = {}
    for _ in range(reps):
        r = subprocess.run([python, LAUNCHER_FLAGS, "-X", "importtime", str(launcher), *verb], env=env, capture_output=True, text=True, timeout=60)
        for line in r.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, cum_us, name = line[len("import time:"):].split("|", 2)
            depth = (len(name) - len(name.lstrip()) - 1) // 2
            key = name.strip()
            selfs[key].append(int(self_us))
            cums[key].append(int(cum_us))
            order.setdefault(key, depth)
    return {k: (median(selfs[k]), median(cums[k]), order[k]) for k in selfs}


CRASH_UNIT = """[Unit]
StartLimitIntervalSec=0
[Service]
ExecStart=/bin/sh -c 'echo starting; echo failing >&2; exit 1'
Restart=always
RestartSec=0
"""
WEB_UNIT = """[Service]
ExecStart=/bin/sh -c 'echo listening; exec sleep infinity'
"""


def _fill_journal(directory: Path, mb: int) -> None:
    """A journal that already holds `mb` MB: manager messages of 500 units and output chunks."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from sysvisor.journal.store import JournalWriter  # noqa: PLC0415

    w = JournalWriter(str(directory), name="old", boot_id="0" * 32)
    chunk = b"".join(b"old line %d of a chatty service\n" % i for i in range(2000))
    i = written = 0
    while written < mb * 1_000_000:
        written += len(chunk) + 150
        unit = f"u{i % 500}.service"
        w.append({"MESSAGE": f"{unit}: Scheduled restart job, restart counter is at {i}.", "UNIT": unit, "PRIORITY": "6"})
        w.append_raw({"_SYSTEMD_UNIT": unit, "_PID": str(1000 + i)}, chunk)
        i += 1
        if i % 50 == 0:
            w.flush()
    w.close()


def bench_status(calls: int, units: int, journal_mb: int, settle: float) -> int:
    """`status` latency during a crash loop of `units` units (see the module's doc)."""
    python = sysvisor_python()
    warm_bytecode(python)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from sysvisor.journal.message import unit_log  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="sysvisor-bench-status-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        (work / "units").mkdir()
        (work / "units" / "web.service").write_text(WEB_UNIT)
        for i in range(units):
            (work / "units" / f"crash{i}.service").write_text(CRASH_UNIT)
        journal = work / "state" / "journal"
        t = time.perf_counter()
        _fill_journal(journal, journal_mb)
        print(f"journal pre-filled with {journal_mb} MB in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
        launcher = write_launcher(work / "sysvisor", python)
        env = sysvisor_env(work / "run" / "control")
        manager = subprocess.Popen([str(launcher), "up", "--units", str(work / "units"), "--runtime-dir", str(work / "run"),
                                    "--state-dir", str(work / "state")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results = {}
        try:
            def cli(*args: str) -> subprocess.CompletedProcess:
                return subprocess.run([str(launcher), *args], env=env, capture_output=True, text=True, timeout=120)

            if not wait_until(lambda: cli("is-active", "web").returncode in (0, 3), 30, 0.05):
                raise RuntimeError("the manager did not answer within 30 s")
            cli("start", "web")
            cli("start", "--no-block", *[f"crash{i}" for i in range(units)])
            time.sleep(settle)  # let the crash loop run and the journal grow
            from sysvisor.cli.client import request  # noqa: PLC0415

            boot = request(str(work / "run" / "control"), {"verb": "manager-info"})["boot_id"]
            for label, unit, more in (("status web (crash loop running)", "web", []), ("status crash0 (crash-looping unit)", "crash0", []),
                                      ("status -n 0 web (no journal part)", "web", ["-n", "0"])):
                whole = time_calls([str(launcher), "status", *more, unit], env, calls, expect_rc=None)
                if more:
                    results[label] = (whole, [])
                    continue
                part = []
                for _ in range(calls):
                    t = time.perf_counter()
                    got = unit_log(str(journal), unit + ".service", lines=10, boot_id=boot)
                    part.append((time.perf_counter() - t) * 1000)
                assert got, f"no journal lines for {unit}"
                results[label] = (whole, part)
            restarts = cli("show", "crash0", "-p", "NRestarts", "--value").stdout.strip()
            cli("stop", *[f"crash{i}" for i in range(units)])
            results["status web (crash loop stopped)"] = (time_calls([str(launcher), "status", "web"], env, calls, expect_rc=None), [])
            results["is-active web (crash loop stopped)"] = (time_calls([str(launcher), "is-active", "web"], env, calls, expect_rc=None), [])
        finally:
            manager.terminate()
            manager.wait(timeout=60)
        size = sum(f.stat().st_size for f in journal.iterdir() if f.suffix == ".jseg")
    rows = []
    for label, (whole, part) in results.items():
        rows.append([label, f"{median(whole):.1f} ms", f"{percentile(whole, 99):.1f} ms",
                     f"{median(part):.1f} ms" if part else "—", f"{percentile(part, 99):.1f} ms" if part else "—"])
    title = (f"bench_cli status: {units} units crash-looping (crash0 restarted {restarts} times), journal {size / 1e6:.0f} MB, "
             f"{calls} calls each; target status p99 ≤ 100 ms")
    print(render(title, ["command", "p50", "p99", "journal part p50", "journal part p99"], rows, False))
    print(f"load average (1 min): {os.getloadavg()[0]:.2f}")
    return 0


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "status":
        sp = argparse.ArgumentParser(prog="bench_cli.py status")
        sp.add_argument("--calls", type=int, default=50)
        sp.add_argument("--units", type=int, default=50)
        sp.add_argument("--journal-mb", type=int, default=200)
        sp.add_argument("--settle", type=float, default=5.0, help="seconds of crash loop before measuring")
        sa = sp.parse_args(argv[1:])
        return bench_status(sa.calls, sa.units, sa.journal_mb, sa.settle)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 run of 10 calls (< 1 min)")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--calls", type=int)
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--systemd", action="store_true", help="also time `systemctl is-active` under real systemd 257 (systemd-oracle, root)")
    a = ap.parse_args(argv)
    runs = a.runs or (1 if a.quick else 3)
    calls = a.calls or (10 if a.quick else 30)
    stamp = build_stamp()
    python = sysvisor_python()
    warm_bytecode(python)
    if not a.no_install:
        install_peers()
    peers = all_peers()
    missing = {p.name: p.missing for p in peers if p.missing}
    peers = [p for p in peers if not p.missing]
    load_before = os.getloadavg()

    samples: dict[str, list[list[float]]] = defaultdict(list)
    labels: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="sysvisor-bench-cli-", ignore_cleanup_errors=True) as tmp:
        started = []
        try:
            for p in peers:
                p.setup(Path(tmp) / p.name, stamp, [Service("web", "wait")])
                p.launch()
                started.append(p)
                if not wait_until(p.ready, 30) or not wait_until(lambda: p.log.stat().st_size > 0, 30):
                    raise RuntimeError(f"{p.name} did not start `web` within 30 s")
            sv = next(p for p in started if p.name == "sysvisor")
            socket = sv.work / "run" / "control"
            this_py = write_launcher(Path(tmp) / "sysvisor-this-python", sys.executable)
            variants = [
                ("sysvisor", f"sysvisor is-active web ({python}, bytecode cached)", [str(sv.launcher), "is-active", "web"], sysvisor_env(socket)),
                ("sysvisor-this", f"sysvisor is-active web ({sys.executable}, bytecode cached)", [str(this_py), "is-active", "web"], sysvisor_env(socket)),
                ("sysvisor-cold", f"sysvisor is-active web ({python}, no bytecode cache)",  # -B, and a cache that stays empty
                 [python, LAUNCHER_FLAGS + "B", "-X", f"pycache_prefix={tmp}/no-bytecode", str(sv.launcher), "is-active", "web"],
                 sysvisor_env(socket, bytecode=False)),
                ("floor", f"{python} -c pass (interpreter floor)", [python, "-c", "pass"], sysvisor_env()),
                ("floor-IS", f"{python} -I -S -c pass", [python, "-I", "-S", "-c", "pass"], sysvisor_env()),
            ]
            for p in started:
                if p.name != "sysvisor":
                    argv_ = p.status_argv("web")
                    tool = Path(argv_[0]).name
                    variants.append((p.name, f"{tool} {'' if tool == 's6-svstat' else 'status '}web ({p.name})", argv_, p.env()))
            for i in range(runs):
                print(f"run {i + 1}/{runs}", file=sys.stderr, flush=True)
                for key, label, argv_, env in variants:
                    labels[key] = label
                    samples[key].append(time_calls(argv_, env, calls, expect_rc=0 if key.startswith("sysvisor") else None))
            costs = import_costs(python, sv.launcher, sysvisor_env(socket), ["is-active", "web"])
        finally:
            for p in started:
                p.teardown()

    if a.systemd:
        print("systemd 257 through the oracle", file=sys.stderr, flush=True)
        res, what = systemd_oracle(stamp, 0, 0, 0, 0, 0, 0, cli_calls=calls * runs)
        if res and res.get("cli"):
            xs = res["cli"]["samples"]
            samples["systemd"] = [xs[i::runs] for i in range(runs)]
            labels["systemd"] = f"systemctl is-active web ({what}, PID 1 of a container, this run)"
        else:
            missing["systemd 257 (oracle)"] = what if res is None else "no samples"
    med = {k: median([median(run) for run in v]) for k, v in samples.items()}
    p90 = {k: median([percentile(run, 90) for run in v]) for k, v in samples.items()}
    base = med["sysvisor"]
    rows = []
    for key, label in labels.items():
        rows.append([label, f"{med[key]:.1f} ms", f"{p90[key]:.1f} ms", ratio(med[key], base) if key != "sysvisor" else ""])
        if key == "floor-IS":
            rows.append(["systemctl is-active web (reference, measured earlier)", f"{SYSTEMCTL_REFERENCE_MS:.1f} ms", "—", ratio(SYSTEMCTL_REFERENCE_MS, base)])
    rows += [[f"{name}: n/a ({why})", "—", "—", ""] for name, why in missing.items()]
    title = f"bench_cli: control-tool latency, target sysvisor ≤ 25 ms — medians of {runs} run(s) × {calls} calls, {os.cpu_count()} cores; ratio = ÷ sysvisor"
    print(render(title, ["command", "median", "p90", "ratio"], rows, a.markdown))
    print(f"load average (1 min) before/after: {load_before[0]:.2f}/{os.getloadavg()[0]:.2f}")

    total = sum(s for s, _, _ in costs.values())
    ours = sum(s for k, (s, _, _) in costs.items() if k.startswith("sysvisor"))
    print(f"\n`{Path(python).name} -X importtime <launcher> is-active web` (median of 5): {len(costs)} modules, "
          f"{total / 1000:.1f} ms of imports, {ours / 1000:.1f} ms in sysvisor's own modules")
    print("top-level imports by cumulative cost (what the launcher and site pull in):")
    for name, (s_, c, depth) in sorted(((k, v) for k, v in costs.items() if v[2] == 0), key=lambda kv: -kv[1][1])[:12]:
        print(f"  {c / 1000:7.2f} ms  {name}")
    print("costliest modules by own (self) time:")
    for name, (s_, c, depth) in sorted(costs.items(), key=lambda kv: -kv[1][0])[:15]:
        print(f"  {s_ / 1000:7.2f} ms  {name}  (cumulative {c / 1000:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
