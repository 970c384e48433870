"""Benchmark: load 1,000 unit files with drop-ins (target: < 0.5 s).

Writes a temporary search path of 1,000 services (every tenth a template instance, every
third with its own drop-in, plus a `service.d/` drop-in for all), loads them all with
`UnitLoader.load_all()` and prints the time. Run: `python3 bench/bench_load.py [N]`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from sysvisor.core.types import LoadState  # noqa: E402
from sysvisor.unitfile.loader import UnitLoader  # noqa: E402
from sysvisor.unitfile.specifier import HostFacts  # noqa: E402

UNIT = """[Unit]
Description=Benchmark unit %n number {i}
Documentation=man:sysvisor(1)
After=network.target bench-{prev}.service
Wants=bench-{prev}.service
StartLimitIntervalSec=20
StartLimitBurst=3
OnFailure=failure-handler@%n.service

[Service]
Type=simple
ExecStartPre=-/bin/mkdir -p /run/bench-{i}
ExecStart=/usr/bin/env python3 -c 'import time; time.sleep(3600)' --name "bench {i}" \\
    --flag=value
ExecStop=/bin/kill -TERM $MAINPID
Restart=on-failure
RestartSec=1min 30s
TimeoutStopSec=10
Environment=A=1 "B=two words" C=%i
SuccessExitStatus=TEMPFAIL SIGUSR1
LimitNOFILE=1024:4096

[Install]
WantedBy=multi-user.target
"""

DROPIN = "[Service]\nRestartSec=5\nEnvironment=D={i}\n"


def build(root: str, n: int) -> None:
    etc, lib = os.path.join(root, "etc"), os.path.join(root, "lib")
    os.makedirs(etc)
    os.makedirs(os.path.join(lib, "service.d"))
    with open(os.path.join(lib, "service.d", "50-all.conf"), "w") as fh:
        fh.write("[Unit]\nX-Bench=yes\n")
    with open(os.path.join(lib, "tmpl@.service"), "w") as fh:
        fh.write(UNIT.format(i="t", prev=0))
    for i in range(n):
        name = f"tmpl@{i}.service" if i % 10 == 0 else f"bench-{i}.service"
        if i % 10:
            with open(os.path.join(lib, name), "w") as fh:
                fh.write(UNIT.format(i=i, prev=max(i - 1, 0)))
        else:  # an instance enabled by a symlink, as systemctl enable does
            wants = os.path.join(etc, "multi-user.target.wants")
            os.makedirs(wants, exist_ok=True)
            os.symlink(os.path.join(lib, "tmpl@.service"), os.path.join(etc, name))
        if i % 3 == 0:
            d = os.path.join(etc, name + ".d")
            os.makedirs(d)
            with open(os.path.join(d, "override.conf"), "w") as fh:
                fh.write(DROPIN.format(i=i))


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as root:
        build(root, n)
        start = time.perf_counter()
        cpu = time.process_time()
        loader = UnitLoader([os.path.join(root, "etc"), os.path.join(root, "lib")], host=HostFacts())
        units = loader.load_all()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
    loaded = sum(u.load_state is LoadState.LOADED for u in units.values())
    dropins = sum(len(u.dropin_paths) for u in units.values())
    print(f"loaded {loaded}/{len(units)} units with {dropins} drop-ins in {elapsed:.3f} s "
          f"(CPU {cpu:.3f} s, {elapsed / max(len(units), 1) * 1e6:.0f} µs/unit; target < 0.5 s)")
    return 0 if loaded == len(units) == n else 1


if __name__ == "__main__":
    raise SystemExit(main())
