"""Seventh batch (tests/data/oracle/d7, systemd 257): start while stopping, a failing
ExecReload=, restart and reset-failed during auto-restart."""

from __future__ import annotations

import json

from sysvisor.core.exit_status import SIGTERM
from sysvisor.core.types import RestartPolicy
from sysvisor.testing.clock import msec, sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service
from tests.sim import test_oracle_replay2 as base

DATA = base.DATA.parent / "d7"
PROPS = ("ActiveState", "SubState", "Result", "NRestarts", "ExecMainCode", "ExecMainStatus", "ReloadResult")


def recorded(name):
    return json.loads((DATA / f"r-{name}.json").read_text())["scenarios"][0]


def shows(rec):
    return [{k: s["props"][k] for k in PROPS} for s in rec["steps"] if s["do"] == "show"]


def props(sim, unit):
    p = sim.props(unit)
    return {k: str(p[k]) for k in PROPS}


def test_start_while_stopping_waits_and_cancels_the_stop_job():
    rec = recorded("ss")
    u = service("ss.service", description="SS", exec_start="/usr/bin/python3 x", timeout_stop_usec=sec(2))
    sim = Simulation([u], {"*": [Behaviour.hangs(ignore=frozenset({SIGTERM})), Behaviour.hangs()]})
    sim.start("ss.service")
    sim.run_until(msec(300))
    stop = sim.stop("ss.service")
    sim.run_until(msec(600))
    start = sim.start("ss.service")
    sim.run_until(sec(3))
    assert [str(j.result) for j in sim.jobs(stop)] == ["canceled"]
    assert [str(j.result) for j in sim.jobs(start)] == ["done"]
    assert [props(sim, "ss.service")] == shows(rec)
    assert base.ours(sim, "ss.service") == base.journal(rec, "ss.service")


def test_failing_exec_reload():
    rec = recorded("rf")
    u = service("rf.service", description="RF", exec_start="/usr/bin/sleep 1000", exec_reload="/usr/bin/false")
    sim = Simulation([u], {("rf.service", "ExecReload"): Behaviour.exits(1)})
    sim.start("rf.service")
    rid = sim.reload("rf.service")
    sim.run_until(msec(100))
    assert [str(j.result) for j in sim.jobs(rid)] == ["failed"]
    assert [props(sim, "rf.service")] == shows(rec)
    assert base.ours(sim, "rf.service") == base.journal(rec, "rf.service")


def test_restart_and_reset_failed_during_auto_restart():
    rec = recorded("ra")
    u = service("ra.service", description="RA", exec_start="/usr/bin/false", restart=RestartPolicy.ON_FAILURE,
                restart_usec=sec(30))
    sim = Simulation([u], {"*": Behaviour.exits(1, after=msec(20))})
    sim.start("ra.service")
    sim.run_until(msec(300))
    sim.restart("ra.service")
    sim.run_until(msec(600))
    seen = [props(sim, "ra.service")]
    sim.reset_failed("ra.service")
    seen.append(props(sim, "ra.service"))
    assert seen == shows(rec)
    assert base.ours(sim, "ra.service") == base.journal(rec, "ra.service")
