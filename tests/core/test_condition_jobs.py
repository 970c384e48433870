"""Condition*=/Assert*= in the start job (core/condition.py wired into the job layer).
# spec: dependencies-and-jobs.md §5; traps 2, 21"""

from __future__ import annotations

from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service


def test_skipped_start_is_done_not_counted_and_needs_no_process():
    c = [("ConditionPathExists", False, False, "/flag")]
    foo = service("foo.service", description="Foo", unit=dict(conditions=c, start_limit_burst=1))
    sim = Simulation([foo], {"*": Behaviour.exits(1)}, paths=set())
    for _ in range(3):
        rid = sim.start("foo.service")
        assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert sim.spawns() == []
    assert sim.logs("foo.service")[-1] == "foo.service - Foo skipped, unmet condition check ConditionPathExists=/flag"
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["Result"], p["ConditionResult"]) == ("inactive", "success", False)
    sim.paths.add("/flag")
    rid = sim.start("foo.service")
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert sim.props("foo.service")["ConditionResult"] is True
    assert sim.props("foo.service")["SubState"] == "running"


def test_failed_assert_fails_the_job_not_the_unit():
    a = [("AssertPathExists", False, False, "/flag")]
    foo = service("foo.service", description="Foo", unit=dict(asserts=a))
    sim = Simulation([foo], paths=set())
    rid = sim.start("foo.service")
    assert [str(j.result) for j in sim.jobs(rid)] == ["assert"]
    assert sim.logs("foo.service")[-2:] == ["foo.service: Starting requested but asserts failed.",
                                            "Assertion failed for foo.service - Foo."]
    assert sim.props("foo.service")["ActiveState"] == "inactive"


def test_conditions_ignored_without_facts():
    c = [("ConditionPathExists", False, False, "/flag")]
    sim = Simulation([service("foo.service", unit=dict(conditions=c))])
    sim.start("foo.service")
    assert sim.props("foo.service")["SubState"] == "running"


def test_exec_condition_keeps_its_own_message():
    foo = service("foo.service", exec_condition="/bin/check")
    sim = Simulation([foo], {("foo.service", "ExecCondition"): Behaviour.exits(1)}, paths=set())
    sim.start("foo.service")
    sim.run_until(1)
    assert sim.logs("foo.service")[-1] == "Condition check resulted in foo.service being skipped."


def test_runtime_properties_stay_json_safe():
    import json
    c = [("ConditionPathExists", False, False, "/flag")]
    sim = Simulation([service("foo.service", unit=dict(conditions=c))], paths=set())
    sim.start("foo.service")
    json.dumps(sim.props("foo.service"))
    conds, asserts = sim.manager.condition_evaluations("foo.service")
    assert conds is not None and not conds.ok and asserts is None
