"""Condition*=/Assert*= combination and the CheckConditions protocol.
# spec: dependencies-and-jobs.md §5; trap 21"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sysvisor.core.condition import evaluate_list
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service

entries = st.lists(st.tuples(st.just("ConditionPathExists"), st.booleans(), st.booleans(), st.sampled_from("abc")),
                   max_size=6)


@given(entries, st.data())
def test_verdict_is_and_of_plain_and_or_of_triggers(es, data):
    results = tuple(data.draw(st.lists(st.booleans(), min_size=len(es), max_size=len(es))))
    plain = [r for e, r in zip(es, results) if not e[1]]
    trig = [r for e, r in zip(es, results) if e[1]]
    v = evaluate_list(es, results)
    assert v.ok == (all(plain) and (not trig or any(trig)))
    if not v.ok:
        assert v.failed is not None
        assert v.no_trigger_met == (all(plain))


def test_reverse_order_and_short_circuit():
    es = [("ConditionPathExists", False, False, "/a"), ("ConditionPathExists", False, False, "/b")]
    v = evaluate_list(es, (False, False))
    assert v.lines == ["ConditionPathExists=/b failed."]
    assert v.failed == es[1]


def test_skipped_start_is_not_counted_and_needs_no_process():
    # trap 21 / trap 2
    c = [("ConditionPathExists", False, False, "/flag")]
    foo = service("foo.service", description="Foo", unit=dict(conditions=c, start_limit_burst=1))
    sim = Simulation([foo], {"*": Behaviour.exits(1)}, check_conditions=True)
    for _ in range(3):
        rid = sim.start("foo.service")
        assert [str(j.result) for j in sim.jobs(rid)] == ["skipped"]
    assert sim.spawns() == []
    assert sim.logs("foo.service")[-1] == "foo.service - Foo skipped, unmet condition check ConditionPathExists=/flag"
    sim.executor.paths.add("/flag")
    rid = sim.start("foo.service")
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert sim.props("foo.service")["ConditionResult"] is True


def test_conditions_ignored_without_the_protocol():
    c = [("ConditionPathExists", False, False, "/flag")]
    sim = Simulation([service("foo.service", unit=dict(conditions=c))])
    sim.start("foo.service")
    assert sim.props("foo.service")["SubState"] == "running"
