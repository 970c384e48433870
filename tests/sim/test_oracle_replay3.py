"""Third batch of systemd 257 recordings (tests/data/oracle/d3): the notify protocol, driven
by units/notifier.py. See test_oracle_replay.py for the method."""

from __future__ import annotations

from sysvisor.core.exit_status import SIGHUP
from sysvisor.core.types import ServiceType
from sysvisor.testing.clock import msec, sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service
from tests.sim import test_oracle_replay2 as base

base_data = base.DATA.parent / "d3"
PROPS = base.PROPS + ("StatusText", "StatusErrno")


def recorded(name):
    import json
    return json.loads((base_data / f"r-{name}.json").read_text())["scenarios"][0]


def shown(rec, index=-1):
    props = [s for s in rec["steps"] if s["do"] == "show"][index]["props"]
    return {k: props[k] for k in PROPS}


def props(sim, unit):
    p = sim.props(unit)
    return {k: str(p[k]) for k in PROPS}


def n(delay, **fields):
    return (delay, tuple(fields.items()))


def test_notify_reload():
    rec = recorded("nr")
    u = service("nr.service", description="NotifyReload", type=ServiceType.NOTIFY_RELOAD)
    b = Behaviour.hangs(notify=(n(0, READY="1", STATUS="up"),),
                        reacts=((SIGHUP, 0, (("RELOADING", "1"), ("MONOTONIC_USEC", "$NOW"))),
                                (SIGHUP, msec(200), (("READY", "1"),))))
    sim = Simulation([u], {"*": b})
    sim.start("nr.service")
    sim.run_until(msec(50))
    rid = sim.reload("nr.service")
    sim.run_until(msec(500))
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert props(sim, "nr.service") == shown(rec)
    assert base.ours(sim, "nr.service") == base.journal(rec, "nr.service")


def test_stopping():
    rec = recorded("stopping")
    u = service("stopping.service", description="Stopping", type=ServiceType.NOTIFY)
    b = Behaviour.exits(0, after=msec(800), notify=(n(0, READY="1"), n(msec(500), STOPPING="1", STATUS="going")))
    sim = Simulation([u], {"*": b})
    sim.start("stopping.service")
    sim.run_until(msec(600))
    assert sim.props("stopping.service")["SubState"] == "stop-sigterm"
    sim.run_until(sec(2))
    assert props(sim, "stopping.service") == shown(rec)
    assert base.ours(sim, "stopping.service") == base.journal(rec, "stopping.service")


def test_extend_timeout():
    rec = recorded("extend")
    u = service("extend.service", description="Extend", type=ServiceType.NOTIFY, timeout_start_usec=sec(1))
    b = Behaviour.hangs(notify=(n(msec(500), EXTEND_TIMEOUT_USEC="3000000"), n(sec(2), READY="1")))
    sim = Simulation([u], {"*": b})
    rid = sim.start("extend.service")
    sim.run_until(sec(3))
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert props(sim, "extend.service") == shown(rec)
    assert base.ours(sim, "extend.service") == base.journal(rec, "extend.service")


def test_watchdog_trigger_status_errno():
    rec = recorded("trigger")
    u = service("trigger.service", description="Trigger", type=ServiceType.NOTIFY)
    b = Behaviour.hangs(notify=(n(0, READY="1", STATUS="bad", ERRNO="5"), n(msec(500), WATCHDOG="trigger")))
    sim = Simulation([u], {"*": b})
    sim.start("trigger.service")
    sim.run_until(msec(100))
    assert props(sim, "trigger.service") == shown(rec, 0)
    sim.run_until(sec(1))
    assert props(sim, "trigger.service") == shown(rec, 1)
    assert base.ours(sim, "trigger.service") == base.journal(rec, "trigger.service")


def test_exit_before_ready_is_protocol():
    rec = recorded("early")
    u = service("early.service", description="Early", type=ServiceType.NOTIFY)
    sim = Simulation([u], {"*": Behaviour.exits(0, after=msec(300))})
    rid = sim.start("early.service")
    sim.run_until(sec(1))
    assert [str(j.result) for j in sim.jobs(rid)] == ["failed"]
    assert props(sim, "early.service") == shown(rec)
    assert base.ours(sim, "early.service") == base.journal(rec, "early.service")
