"""Replay scenarios recorded with real systemd 257 (tools/systemd-oracle) through the engine.

Each recording in tests/data/oracle/diff/ holds the unit files (units/), the scenario
(NAME.json) and what systemd did (r-NAME.json). The units are rebuilt here as typed
configs (the parser is not this module's concern) and driven with the same requests at
virtual time; the unit's manager messages (journal, ident systemd, priority ≤ info) and
final properties must match. PIDs and process names in "Killing process" lines are
normalised: the fake executor does not know what a shell script exec'd into.
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from sysvisor.core.exit_status import SIGTERM
from sysvisor.core.types import NotifyAccess, RestartPolicy, ServiceType
from sysvisor.core.units import ExecCommand
from sysvisor.testing.clock import msec, sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service

DATA = pathlib.Path(__file__).parents[1] / "data" / "oracle" / "diff"
PROPS = ("ActiveState", "SubState", "Result", "NRestarts", "ExecMainCode", "ExecMainStatus")


def recorded(name: str) -> dict:
    return json.loads((DATA / f"r-{name}.json").read_text())["scenarios"][0]


def journal(rec: dict, unit: str) -> list[str]:
    for step in rec["steps"]:
        if step["do"] == "journal" and step.get("unit") == unit:
            return [_norm(e["message"]) for e in step["entries"] if e["ident"] == "systemd" and e["priority"] <= 6]
    raise AssertionError(f"no journal for {unit}")


def process_output(rec: dict, unit: str) -> list[str]:
    for step in rec["steps"]:
        if step["do"] == "journal" and step.get("unit") == unit:
            return [e["message"] for e in step["entries"] if e["ident"] != "systemd"]
    return []


def shown(rec: dict, index: int = -1, unit: str | None = None) -> dict:
    shows = [s for s in rec["steps"] if s["do"] == "show"]
    props = shows[index]["props"]
    return props[unit] if unit else props


def _norm(msg: str) -> str:
    msg = re.sub(r"process \d+ \([^)]*\)", "process N (X)", msg)
    return msg


def ours(sim: Simulation, unit: str) -> list[str]:
    return [_norm(m) for m in sim.logs(unit)]


def props(sim: Simulation, unit: str) -> dict:
    p = sim.props(unit)
    return {k: str(p[k]) for k in PROPS}


def cmd(line):
    argv = tuple(line.split())
    return ExecCommand(argv[0], argv)


def test_seed():
    rec = recorded("seed")
    seed = service("seed.service", description="Seed", exec_start="/usr/bin/false", restart=RestartPolicy.ON_FAILURE,
                   restart_usec=sec(1), unit=dict(start_limit_interval_usec=sec(600), start_limit_burst=3,
                                                  on_failure=["rec.service"]))
    rec_unit = service("rec.service", type=ServiceType.ONESHOT, exec_start="/usr/bin/sh -c echo")
    sim = Simulation([seed, rec_unit], {"seed.service": Behaviour.exits(1), "rec.service": Behaviour.exits(0)})
    sim.start("seed.service")
    sim.run_until(msec(4500))
    assert props(sim, "seed.service") == shown(rec, 0)
    rid = sim.start("seed.service")
    assert [str(j.result) for j in sim.jobs(rid)] == ["failed"]
    assert props(sim, "seed.service") == shown(rec, 1)
    assert ours(sim, "seed.service") == journal(rec, "seed.service")
    assert ours(sim, "rec.service") == journal(rec, "rec.service")
    for (_, spawn), line in zip(sim.spawns("rec.service"), process_output(rec, "rec.service"), strict=True):
        e = spawn.environment
        got = f"MONITOR={e['MONITOR_SERVICE_RESULT']}/{e['MONITOR_EXIT_CODE']}/{e['MONITOR_EXIT_STATUS']}/{e['MONITOR_UNIT']}"
        assert got == line


def test_sigterm_is_clean():
    rec = recorded("term")
    term = service("term.service", description="Term", exec_start="/usr/bin/sleep 1000",
                   restart=RestartPolicy.ON_FAILURE, restart_usec=sec(1))
    sim = Simulation([term])
    sim.start("term.service")
    sim.run_until(msec(300))
    sim.kill("term.service", SIGTERM, "main")
    sim.run_until(sec(2))
    assert props(sim, "term.service") == shown(rec)
    assert ours(sim, "term.service") == journal(rec, "term.service")


def test_oneshot_multi():
    rec = recorded("multi")
    multi = service("multi.service", description="Multi", type=ServiceType.ONESHOT, remain_after_exit=True,
                    exec_start=["/usr/bin/true"] * 3, exec_stop="/usr/bin/true")
    sim = Simulation([multi], {"*": Behaviour.exits(0)})
    sim.start("multi.service")
    sim.run_until(sec(1))
    assert props(sim, "multi.service") == shown(rec, 0)
    sim.stop("multi.service")
    sim.run_until(sec(2))
    assert props(sim, "multi.service") == shown(rec, 1)
    assert ours(sim, "multi.service") == journal(rec, "multi.service")


def test_exec_start_pre_failure():
    rec = recorded("pre")
    pre = service("pre.service", description="Pre", exec_start_pre="/usr/bin/false", exec_start="/usr/bin/sleep 1000",
                  exec_stop="/usr/bin/true", exec_stop_post="/usr/bin/sh -c echo", restart=RestartPolicy.ON_FAILURE,
                  restart_usec=sec(1), unit=dict(start_limit_interval_usec=sec(600), start_limit_burst=2))
    sim = Simulation([pre], {("pre.service", "ExecStartPre"): Behaviour.exits(1), "pre.service": Behaviour.exits(0)})
    sim.start("pre.service")
    sim.run_until(msec(2500))
    assert props(sim, "pre.service") == shown(rec)
    assert ours(sim, "pre.service") == journal(rec, "pre.service")
    for (_, spawn), line in zip(sim.spawns("pre.service", "ExecStopPost"), process_output(rec, "pre.service"),
                                strict=True):
        e = spawn.environment
        assert f"POST={e['SERVICE_RESULT']}/{e.get('EXIT_CODE', '')}/{e.get('EXIT_STATUS', '')}" == line


def test_exec_condition():
    rec = recorded("cond")
    c1 = service("cond1.service", exec_condition="/usr/bin/sh -c exit1", exec_start="/usr/bin/sleep 1000",
                 restart=RestartPolicy.ALWAYS)
    c255 = service("cond255.service", exec_condition="/usr/bin/sh -c exit255", exec_start="/usr/bin/sleep 1000")
    sim = Simulation([c1, c255], {("cond1.service", "ExecCondition"): Behaviour.exits(1),
                                  ("cond255.service", "ExecCondition"): Behaviour.exits(255)})
    r1 = sim.start("cond1.service")
    sim.run_until(msec(100))
    r2 = sim.start("cond255.service")
    sim.run_until(msec(500))
    assert [str(j.result) for j in sim.jobs(r1)] == ["done"]
    assert [str(j.result) for j in sim.jobs(r2)] == ["failed"]
    for unit in ("cond1.service", "cond255.service"):
        assert props(sim, unit) == shown(rec, unit=unit)
        assert ours(sim, unit) == journal(rec, unit)


def test_stop_timeout_kills():
    rec = recorded("stubborn")
    st = service("stubborn.service", description="Stubborn", exec_start="/usr/bin/python3 -c x",
                 timeout_stop_usec=sec(1))
    sim = Simulation([st], {"*": Behaviour.hangs(ignore=frozenset({SIGTERM}))})
    sim.start("stubborn.service")
    sim.run_until(msec(500))
    sim.stop("stubborn.service")
    sim.run_until(sec(3))
    assert props(sim, "stubborn.service") == shown(rec)
    assert ours(sim, "stubborn.service") == journal(rec, "stubborn.service")


def test_watchdog():
    rec = recorded("wd")
    wd = service("wd.service", description="Watchdog", type=ServiceType.NOTIFY, notify_access=NotifyAccess.ALL,
                 exec_start="/usr/bin/sh -c ready", watchdog_usec=sec(1), timeout_abort_usec=sec(1),
                 restart=RestartPolicy.ON_WATCHDOG, restart_usec=sec(10), unit=dict(start_limit_interval_usec=0))
    sim = Simulation([wd], {"*": Behaviour.ready(after=msec(30))})
    sim.start("wd.service")
    sim.run_until(msec(3500))
    assert props(sim, "wd.service") == shown(rec)
    assert ours(sim, "wd.service") == journal(rec, "wd.service")


@pytest.mark.parametrize("name", ["seed", "term", "multi", "pre", "cond", "stubborn", "wd"])
def test_recordings_come_from_systemd_257(name):
    data = json.loads((DATA / f"r-{name}.json").read_text())
    assert data["environment"]["systemd_version"].startswith("systemd 257")
