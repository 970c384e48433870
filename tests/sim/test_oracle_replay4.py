"""Fourth batch of systemd 257 recordings (tests/data/oracle/d4): KillMode= with a child that
ignores SIGTERM, and JobTimeoutSec=. The fake executor plays the shell's part for the lines
only the shell can write (`Killing process …` for cgroup members, leftover processes).
See test_oracle_replay.py for the method."""

from __future__ import annotations

import json

import pytest

from sysvisor.core.exit_status import SIGTERM
from sysvisor.core.types import KillMode, ServiceType
from sysvisor.testing.clock import msec, sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service
from tests.sim import test_oracle_replay2 as base

DATA = base.DATA.parent / "d4"


def recorded(name):
    return json.loads((DATA / f"r-{name}.json").read_text())["scenarios"][0]


STUBBORN_CHILD = Behaviour.hangs(ignore=frozenset({SIGTERM}), comm="python3")


# without UnitEmptied from the shell only KillMode=process can match: the other modes wait
# for leftover processes, which only the shell can see
@pytest.mark.parametrize("mode, cgroup_events", [("mixed", True), ("control-group", True), ("process", True), ("process", False)])
def test_kill_mode_with_stubborn_child(mode, cgroup_events):
    rec = recorded(f"km-{mode}")
    name = f"km-{mode}.service"
    u = service(name, description="KM", exec_start="/usr/bin/sh -c x", kill_mode=KillMode(mode),
                timeout_stop_usec=sec(1))
    sim = Simulation([u], {"*": Behaviour.hangs(forks=STUBBORN_CHILD)}, cgroup_events=cgroup_events)
    sim.start(name)
    sim.run_until(msec(500))
    sim.stop(name)
    sim.run_until(sec(5))
    assert base.props(sim, name) == base.shown(rec)
    assert base.ours(sim, name) == base.journal(rec, name)
    alive = [p.comm for p in sim.executor.alive(name)]
    assert alive == (["python3"] if mode == "process" else [])


def test_job_timeout():
    rec = recorded("jt")
    jt = service("jt.service", description="JT", type=ServiceType.NOTIFY, exec_start="/usr/bin/sleep 1000",
                 unit=dict(job_timeout_usec=sec(1), on_failure=["rec.service"]))
    r = service("rec.service", type=ServiceType.ONESHOT, exec_start="/usr/bin/true")
    sim = Simulation([jt, r], {"rec.service": Behaviour.exits(0)})
    rid = sim.start("jt.service")
    sim.run_until(msec(1300))
    assert [str(j.result) for j in sim.jobs(rid)] == ["timeout"]
    assert base.props(sim, "jt.service") == base.shown(rec)
    assert base.ours(sim, "jt.service") == base.journal(rec, "jt.service")
    assert base.ours(sim, "rec.service") == base.journal(rec, "rec.service")
