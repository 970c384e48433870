"""Engine benchmarks at virtual time (no processes, no sleeping).

1. events/s: 1,000 Type=simple units started, then crash/restart cycles, counting every
   event fed to `Manager.handle()` (requests, spawn answers, exits, timers).
2. one hour of a 500-unit crash loop (Restart=always, RestartSec=1s, exit 1 after 0.5 s,
   StartLimitIntervalSec=0): wall time for 3,600 s of virtual time.

Run: `python3 bench/bench_engine.py [--quick]`; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "src"))

from sysvisor.core.types import Priority, RestartPolicy  # noqa: E402
from sysvisor.core.units import ExecCommand, ServiceSection, Unit, UnitSection  # noqa: E402
from sysvisor.testing.executor import Behaviour  # noqa: E402
from sysvisor.testing.simulate import Simulation  # noqa: E402

SEC = 1_000_000


def _units(n: int) -> list[Unit]:
    return [
        Unit(
            name=f"u{i}.service",
            unit=UnitSection(start_limit_interval_usec=0),
            service=ServiceSection(exec_start=[ExecCommand("/bin/crash", ("/bin/crash",))],
                                   restart=RestartPolicy.ALWAYS, restart_usec=SEC),
        )
        for i in range(n)
    ]


class CountingSimulation(Simulation):
    """Counts the events fed to, and the actions returned by, Manager.handle()."""

    events = 0
    actions = 0

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        handle = self.manager.handle

        def counting_handle(event, now):
            out = handle(event, now)
            self.events += 1
            self.actions += len(out)
            return out

        self.manager.handle = counting_handle


def run(n_units: int, virtual_usec: int) -> dict:
    sim = CountingSimulation(_units(n_units), {"*": Behaviour.exits(1, after=SEC // 2)}, log_level=Priority.INFO,
                             record=False)
    actions = 0
    t0 = time.perf_counter()
    for i in range(n_units):
        sim.start(f"u{i}.service")
    sim.run_until(virtual_usec)
    wall = time.perf_counter() - t0
    return {"units": n_units, "virtual_s": virtual_usec / SEC, "wall_s": round(wall, 3),
            "events": sim.events, "events_per_s": round(sim.events / wall), "spawns": sim.executor.n_spawns,
            "actions": sim.actions}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller runs (CI)")
    args = ap.parse_args()
    throughput = run(1000, (20 if args.quick else 60) * SEC)
    hour = run(50 if args.quick else 500, 3600 * SEC)
    print(json.dumps({"throughput_1000_units": throughput, "crash_loop_one_hour": hour}, indent=2))


if __name__ == "__main__":
    main()
