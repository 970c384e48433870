"""Condition*=/Assert*= (tests/data/oracle/d6, systemd 257) through core/condition.py with
the manager's `condition_facts`.
The container had an empty /etc: /etc/hostname does not exist there either."""

from __future__ import annotations

import json

from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service
from tests.sim import test_oracle_replay2 as base

DATA = base.DATA.parent / "d6"


def recorded():
    return json.loads((DATA / "r-conds.json").read_text())["scenarios"][0]


def c(key, value, trigger=False, negate=False):
    return (key, trigger, negate, value)


UNITS = {
    "cond.service": dict(description="Cond", conditions=[c("ConditionPathExists", "/etc/hostname"),
                                                         c("ConditionPathExists", "/nonexistent", negate=True),
                                                         c("ConditionPathExists", "/nonexistent/file")]),
    "trig.service": dict(description="Trig", conditions=[c("ConditionPathExists", "/nonexistent/a", trigger=True),
                                                         c("ConditionPathExists", "/nonexistent/b", trigger=True)]),
    "plain.service": dict(conditions=[c("ConditionPathExists", "/nonexistent/file")]),
    "asrt.service": dict(description="Asrt", asserts=[c("AssertPathExists", "/nonexistent/file")]),
    "ok.service": dict(description="Ok", conditions=[c("ConditionPathExists", "/nonexistent/a", trigger=True),
                                                     c("ConditionPathExists", "/etc/hostname", trigger=True)]),
}


def _relevant(message: str) -> bool:
    return any(w in message for w in ("Condition", "Assert", "ssertion", "skipped", "Starting requested"))


def _journal_all_levels(rec, unit):
    """The condition/assert lines at every level (the recording ran with --log-level debug)."""
    for step in rec["steps"]:
        if step["do"] == "journal" and step.get("unit") == unit:
            return [e["message"] for e in step["entries"]
                    if e["ident"] == "systemd" and base._about(e["message"], unit) and _relevant(e["message"])]
    raise AssertionError(unit)


def test_conditions_and_asserts():
    rec = recorded()
    units = []
    for name, kw in UNITS.items():
        desc = kw.pop("description", "")
        units.append(service(name, description=desc, exec_start="/usr/bin/sleep 1000", unit=kw))
    sim = Simulation(units, paths=set())  # the container's /etc was empty
    results = {}
    for name in ("cond.service", "trig.service", "plain.service", "asrt.service", "ok.service"):
        rid = sim.start(name)
        results[name] = [str(j.result) for j in sim.jobs(rid)]
    # a failed condition ends the start job "done" (journal: "finished, result=done")
    assert results == {"cond.service": ["done"], "trig.service": ["done"], "plain.service": ["done"],
                       "asrt.service": ["assert"], "ok.service": ["done"]}
    shown = [s for s in rec["steps"] if s["do"] == "show"][0]["props"]
    for name in UNITS:
        p = sim.props(name)
        mine = {"ActiveState": p["ActiveState"], "SubState": p["SubState"], "Result": p["Result"],
                "ConditionResult": "yes" if p["ConditionResult"] else "no",
                "AssertResult": "yes" if p["AssertResult"] else "no"}
        theirs = {k: shown[name][k] for k in mine}
        assert mine == theirs, name
        assert [m for m in sim.logs(name, min_priority=7) if _relevant(m)] == _journal_all_levels(rec, name), name
    assert sim.spawns() == []
