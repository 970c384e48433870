"""Second batch of systemd 257 recordings (tests/data/oracle/d2), replayed through the engine.
See test_oracle_replay.py for the method."""

from __future__ import annotations

import json
import pathlib
import re

from sysvisor.core.types import RestartMode, RestartPolicy, ServiceType
from sysvisor.testing.clock import msec, sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service

DATA = pathlib.Path(__file__).parents[1] / "data" / "oracle" / "d2"
PROPS = ("ActiveState", "SubState", "Result", "NRestarts", "ExecMainCode", "ExecMainStatus")
TERM_OK = Behaviour.hangs()  # dies of SIGTERM (code=killed, status=15 — clean for daemons)


def recorded(name: str) -> dict:
    return json.loads((DATA / f"r-{name}.json").read_text())["scenarios"][0]


def journal(rec: dict, unit: str) -> list[str]:
    """The manager's lines about `unit` (prefixed by it or naming it as status text)."""
    for step in rec["steps"]:
        if step["do"] == "journal" and step.get("unit") == unit:
            return [_norm(e["message"]) for e in step["entries"]
                    if e["ident"] == "systemd" and e["priority"] <= 6 and _about(e["message"], unit)]
    raise AssertionError(f"no journal for {unit}")


def _about(message: str, unit: str) -> bool:
    return message.startswith(f"{unit}:") or not re.match(r"^[\w@.-]+\.service:", message)


def _norm(msg: str) -> str:
    return re.sub(r"process \d+ \([^)]*\)", "process N (X)", msg)


def shown(rec: dict, index: int = -1, unit: str | None = None) -> dict:
    props = [s for s in rec["steps"] if s["do"] == "show"][index]["props"]
    props = props[unit] if unit else props
    return {k: props[k] for k in PROPS}


def ours(sim: Simulation, unit: str) -> list[str]:
    return [_norm(m) for m in sim.logs(unit)]


def props(sim: Simulation, unit: str) -> dict:
    p = sim.props(unit)
    return {k: str(p[k]) for k in PROPS}


def both_handler_sources():
    direct = service("direct.service", description="Direct", exec_start="/usr/bin/false",
                     restart=RestartPolicy.ON_FAILURE, restart_usec=msec(500), restart_mode=RestartMode.DIRECT,
                     unit=dict(start_limit_interval_usec=sec(600), start_limit_burst=3, on_failure=["rec.service"]))
    succ = service("succ.service", description="Succ", type=ServiceType.ONESHOT, exec_start="/usr/bin/true",
                   unit=dict(on_success=["rec.service"]))
    rec = service("rec.service", type=ServiceType.ONESHOT, exec_start="/usr/bin/true")
    return [direct, succ, rec]


def test_restart_always_clean_exits_hit_start_limit_hit():
    rec = recorded("always")
    u = service("always.service", description="Always", exec_start="/usr/bin/true", restart=RestartPolicy.ALWAYS,
                restart_usec=msec(300), unit=dict(start_limit_interval_usec=sec(600), start_limit_burst=3))
    sim = Simulation([u], {"*": Behaviour.exits(0, after=msec(20))})
    sim.start("always.service")
    sim.run_until(sec(2))
    assert props(sim, "always.service") == shown(rec)
    assert ours(sim, "always.service") == journal(rec, "always.service")


def test_restart_mode_direct():
    rec = recorded("direct")
    sim = Simulation(both_handler_sources(), {"direct.service": Behaviour.exits(1, after=msec(20)), "*": Behaviour.exits(0)})
    sim.start("direct.service")
    sim.run_until(sec(3))
    assert props(sim, "direct.service") == shown(rec)
    assert ours(sim, "direct.service") == journal(rec, "direct.service")
    assert ours(sim, "rec.service") == journal(rec, "rec.service")
    subs = [s for _, _, s in sim.states("direct.service")]
    assert "failed-before-auto-restart" not in subs and subs[-1] == "failed"


def test_on_success_and_ambiguous_monitor_source():
    rec = recorded("succ")
    sim = Simulation(both_handler_sources(), {"*": Behaviour.exits(0)})
    sim.start("succ.service")
    sim.run_until(msec(500))
    assert props(sim, "succ.service") == shown(rec)
    assert ours(sim, "succ.service") == journal(rec, "succ.service")
    assert ours(sim, "rec.service") == journal(rec, "rec.service")
    assert not any(k.startswith("MONITOR_") for k in sim.spawns("rec.service")[0][1].environment)


def test_exec_versus_simple_on_exec_failure():
    rec = recorded("execfail")
    ex = service("execfail.service", type=ServiceType.EXEC, exec_start="/nonexistent/binary")
    si = service("simplefail.service", exec_start="/nonexistent/binary")
    sim = Simulation([ex, si], {"*": Behaviour.exec_fails()})
    r1 = sim.start("execfail.service")
    sim.run_until(msec(50))
    r2 = sim.start("simplefail.service")
    sim.run_until(msec(300))
    assert [str(j.result) for j in sim.jobs(r1)] == ["failed"]
    assert [str(j.result) for j in sim.jobs(r2)] == ["done"]
    for unit in ("execfail.service", "simplefail.service"):
        assert props(sim, unit) == shown(rec, unit=unit)
        assert ours(sim, unit) == journal(rec, unit)


def test_forking_with_pid_file():
    rec = recorded("fork")
    u = service("fork.service", description="Fork", type=ServiceType.FORKING, pid_file="/run/fork.pid",
                exec_start="/usr/bin/sh -c fork")
    sim = Simulation([u], {"*": Behaviour.forking(TERM_OK, after=msec(10))})
    sim.start("fork.service")
    sim.run_until(msec(50))
    assert props(sim, "fork.service") == shown(rec, 0)
    sim.stop("fork.service")
    sim.run_until(msec(100))
    assert props(sim, "fork.service") == shown(rec, 1)
    assert ours(sim, "fork.service") == journal(rec, "fork.service")


def test_notify_start_timeout():
    rec = recorded("nt")
    u = service("nt.service", description="NotifyTimeout", type=ServiceType.NOTIFY, exec_start="/usr/bin/sleep 1000",
                timeout_start_usec=sec(1))
    sim = Simulation([u])
    rid = sim.start("nt.service")
    sim.run_until(sec(2))
    assert [str(j.result) for j in sim.jobs(rid)] == ["failed"]
    assert props(sim, "nt.service") == shown(rec)
    assert ours(sim, "nt.service") == journal(rec, "nt.service")


def test_runtime_max_sec():
    rec = recorded("rmax")
    u = service("rmax.service", description="RuntimeMax", exec_start="/usr/bin/sleep 1000", runtime_max_usec=sec(1),
                exec_stop="/usr/bin/true")
    sim = Simulation([u], {("rmax.service", "ExecStop"): Behaviour.exits(0)})
    sim.start("rmax.service")
    sim.run_until(msec(1600))
    assert props(sim, "rmax.service") == shown(rec)
    assert ours(sim, "rmax.service") == journal(rec, "rmax.service")


def test_restart_job():
    rec = recorded("rs")
    u = service("rs.service", description="Rs", exec_start="/usr/bin/sleep 1000")
    sim = Simulation([u])
    sim.start("rs.service")
    sim.restart("rs.service")
    sim.run_until(msec(100))
    assert props(sim, "rs.service") == shown(rec)
    assert ours(sim, "rs.service") == journal(rec, "rs.service")


def test_stop_during_start_pre():
    rec = recorded("stoppre")
    u = service("stoppre.service", description="StopPre", exec_start_pre="/usr/bin/sleep 1000",
                exec_start="/usr/bin/sleep 1000")
    sim = Simulation([u])
    r1 = sim.start("stoppre.service")
    sim.run_until(msec(400))
    sim.stop("stoppre.service")
    sim.run_until(msec(600))
    assert [str(j.result) for j in sim.jobs(r1)] == ["canceled"]
    assert props(sim, "stoppre.service") == shown(rec)
    assert ours(sim, "stoppre.service") == journal(rec, "stoppre.service")
