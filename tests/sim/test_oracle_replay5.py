"""Fifth batch (tests/data/oracle/d5): how hurry-up starts count against the start limit, and
a RestartMode=direct oneshot whose client job outlives the restarts."""

from __future__ import annotations

import json

from sysvisor.core.types import RestartMode, RestartPolicy, ServiceType
from sysvisor.testing.clock import msec, sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service
from tests.sim import test_oracle_replay2 as base

DATA = base.DATA.parent / "d5"
PROPS = ("ActiveState", "SubState", "Result", "NRestarts")


def recorded(name):
    return json.loads((DATA / f"r-{name}.json").read_text())["scenarios"][0]


def shows(rec):
    return [{k: s["props"][k] for k in PROPS} for s in rec["steps"] if s["do"] == "show"]


def props(sim, unit):
    p = sim.props(unit)
    return {k: str(p[k]) for k in PROPS}


def test_hurry_up_start_counts_twice():
    rec = recorded("hurry")
    u = service("hurry.service", description="Hurry", exec_start="/usr/bin/false", restart=RestartPolicy.ON_FAILURE,
                restart_usec=sec(30), unit=dict(start_limit_interval_usec=sec(600), start_limit_burst=4))
    sim = Simulation([u], {"*": Behaviour.exits(1, after=msec(40))})
    seen = []
    for i in range(5):
        sim.start("hurry.service")
        sim.run_until(sim.now + msec(500))
        seen.append(props(sim, "hurry.service"))
    assert seen == shows(rec)
    assert base.ours(sim, "hurry.service") == base.journal(rec, "hurry.service")


def test_direct_oneshot_client_job_survives_restarts():
    rec = recorded("ostart")
    u = service("ostart.service", description="OneshotDirect", type=ServiceType.ONESHOT, exec_start="/usr/bin/sh -c x",
                restart=RestartPolicy.ON_FAILURE, restart_usec=msec(300), restart_mode=RestartMode.DIRECT)
    sim = Simulation([u], {"*": [Behaviour.exits(1, after=msec(30))] * 3 + [Behaviour.exits(0, after=msec(30))]})
    rid = sim.start("ostart.service")
    sim.run_until(sec(3))
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert [props(sim, "ostart.service")] == shows(rec)
    assert base.ours(sim, "ostart.service") == base.journal(rec, "ostart.service")
