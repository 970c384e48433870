"""PlanCache (core/transaction.py): a kept plan is only ever what `build()` would return now.
# spec: dependencies-and-jobs.md §3.1"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sysvisor.core.deps import build_graph
from sysvisor.core.transaction import InstalledJob, PlanCache, TransactionError, World, build
from sysvisor.core.types import ActiveState, JobMode
from tests.core.helpers import svc

A = ActiveState
NAMES = [f"{c}.service" for c in "abcd"]
DEPS = ["wants", "requires", "requisite", "after", "before", "conflicts", "binds_to", "part_of", "propagates_reload_to"]


def _outcome(f, *args):
    try:
        return f(*args)
    except TransactionError as e:
        return ("refused", e.errno, e.message, getattr(e, "logs", None))


edge = st.tuples(st.sampled_from(NAMES), st.sampled_from(DEPS), st.sampled_from(NAMES))
job = st.none() | st.builds(InstalledJob, st.sampled_from(["start", "stop", "restart", "reload", "verify-active"]),
                            st.sampled_from(["waiting", "running"]), st.booleans(), st.booleans())
change = st.tuples(st.sampled_from(NAMES), st.sampled_from(list(A)), job)
request = st.tuples(st.sampled_from(NAMES), st.sampled_from(["start", "stop", "restart", "try-restart", "reload",
                                                               "reload-or-start", "verify-active"]),
                    st.sampled_from(list(JobMode)))


@settings(max_examples=300, deadline=None)
@given(st.lists(edge, max_size=12), st.lists(st.tuples(st.lists(change, max_size=2), request), min_size=1, max_size=25))
def test_a_kept_plan_is_what_build_returns_now(edges, steps):
    units = {n: svc(n) for n in NAMES}
    for a, dep, b in edges:
        getattr(units[a].unit, dep).append(b)
    states = {"sysinit.target": A.ACTIVE, "basic.target": A.ACTIVE}
    jobs: dict[str, InstalledJob] = {}
    w = World(build_graph(units), state_of=states, jobs=jobs, can_reload={"a.service", "c.service"})
    cache = PlanCache()
    for changes, (unit, job_type, mode) in steps:
        for name, state, installed in changes:  # the manager's states and jobs move on
            states[name] = state
            if installed is None:
                jobs.pop(name, None)
            else:
                jobs[name] = installed
        assert _outcome(cache.build, w, unit, job_type, mode) == _outcome(build, w, unit, job_type, mode)


def test_a_plan_is_kept_while_what_it_read_is_unchanged():
    units = {"a.service": svc("a.service", requires=["b.service"], after=["b.service"]), "b.service": svc("b.service"),
             "x.service": svc("x.service")}
    states = {"sysinit.target": A.ACTIVE, "basic.target": A.ACTIVE, "b.service": A.ACTIVE}
    jobs: dict[str, InstalledJob] = {}
    w = World(build_graph(units), state_of=states, jobs=jobs)
    cache = PlanCache()
    first = cache.build(w, "a.service", "start")
    assert cache.build(w, "a.service", "start") is first and cache.hits == 1
    states["x.service"] = A.FAILED  # not read by this transaction
    jobs["x.service"] = InstalledJob("start")
    assert cache.build(w, "a.service", "start") is first and cache.hits == 2
    states["b.service"] = A.INACTIVE  # read: b now needs a start job of its own
    again = cache.build(w, "a.service", "start")
    assert again is not first and again == build(w, "a.service", "start") and cache.hits == 2
    assert {(j.unit, j.type) for j in again.jobs} == {("a.service", "start"), ("b.service", "start")}
    jobs["b.service"] = InstalledJob("stop")  # an installed job read: rebuilt, and it conflicts
    assert cache.build(w, "a.service", "start") == build(w, "a.service", "start") and cache.hits == 2
    # another graph (a daemon-reload): nothing kept is used
    w2 = World(build_graph(units), state_of=states, jobs=jobs)
    assert cache.build(w2, "a.service", "start") is not cache.build(w, "a.service", "start")
    assert cache.hits == 2


def test_refusals_and_isolate_are_never_kept():
    units = {"a.service": svc("a.service", requires=["missing.service"])}
    w = World(build_graph(units), state_of={"sysinit.target": A.ACTIVE, "basic.target": A.ACTIVE})
    cache = PlanCache()
    for _ in range(2):
        assert _outcome(cache.build, w, "a.service", "start")[:2] == ("refused", "ENOENT")
        assert _outcome(cache.build, w, "a.service", "start", JobMode.ISOLATE)[:2] == ("refused", "EPERM")
    assert cache.hits == 0
