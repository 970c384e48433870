"""Transactions: job type algebra, pull-in, modes, merging, cycles, run order, results.
# spec: dependencies-and-jobs.md §1.1, §3"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sysvisor.core.deps import Atom, build_graph
from sysvisor.core.transaction import (
    InstalledJob,
    PlannedJob,
    TransactionError,
    World,
    blocking_unit,
    build,
    collapse,
    done_message,
    install_decision,
    is_conflicting,
    is_redundant,
    job_compare,
    lookup_merge,
    merge_and_collapse,
    propagate_result,
    units_to_requeue,
    verb_job_type,
    verify_active_result,
)
from sysvisor.core.types import ActiveState, JobMode, JobResult, LoadState, Priority
from sysvisor.core.units import Unit, UnitSection
from tests.core.helpers import svc

A = ActiveState
TYPES = ["start", "verify-active", "stop", "reload", "restart"]
STATES = list(ActiveState)


def world(*units: Unit, states=None, jobs=None, **kw) -> World:
    g = build_graph({u.name: u for u in units})
    base = {"sysinit.target": A.ACTIVE, "basic.target": A.ACTIVE}
    return World(g, state_of={**base, **(states or {})}, jobs=jobs or {}, **kw)


def jobset(plan, suffix=".service"):
    return {(j.unit, j.type) for j in plan.jobs if j.unit.endswith(suffix)}


# ---------------------------------------------------------------- algebra

def test_merge_table_matches_systemd():
    assert lookup_merge("start", "verify-active") == "start"
    assert lookup_merge("start", "stop") is None
    assert lookup_merge("verify-active", "stop") is None
    assert lookup_merge("reload", "start") == "reload-or-start"
    assert lookup_merge("reload", "verify-active") == "reload"
    assert lookup_merge("reload", "stop") is None
    assert lookup_merge("restart", "start") == "restart"
    assert lookup_merge("restart", "verify-active") == "restart"
    assert lookup_merge("restart", "stop") is None
    assert lookup_merge("restart", "reload") == "restart"


@given(st.sampled_from(TYPES), st.sampled_from(TYPES))
def test_merge_is_commutative(a, b):
    assert lookup_merge(a, b) == lookup_merge(b, a)
    assert is_conflicting(a, b) == (lookup_merge(a, b) is None)


@given(st.sampled_from(TYPES), st.sampled_from(TYPES), st.sampled_from(TYPES), st.sampled_from(STATES))
def test_merge_then_collapse_is_associative(a, b, c, s):
    """job.c: with collapsing, merging is associative and mergeability transitive."""
    ab = merge_and_collapse(a, b, s)
    bc = merge_and_collapse(b, c, s)
    left = None if ab is None else merge_and_collapse(ab, c, s)
    right = None if bc is None else merge_and_collapse(a, bc, s)
    if left is not None and right is not None:
        assert left == right
    if ab is not None and bc is not None:
        assert merge_and_collapse(a, c, s) is not None


def test_collapse_and_redundancy():
    assert collapse("try-restart", A.INACTIVE) == "nop"
    assert collapse("try-restart", A.ACTIVE) == "restart"
    assert collapse("reload-or-start", A.INACTIVE) == "start"
    assert collapse("reload-or-start", A.ACTIVE) == "reload"
    assert collapse("try-reload", A.FAILED) == "nop"
    assert is_redundant("start", A.ACTIVE) and not is_redundant("start", A.ACTIVATING)
    assert is_redundant("stop", A.FAILED) and not is_redundant("stop", A.DEACTIVATING)
    assert is_redundant("restart", A.ACTIVATING) and not is_redundant("restart", A.ACTIVE)
    assert is_redundant("reload", A.RELOADING)


def test_job_compare_rules():
    # b After a: start a + start b -> a first; any stop goes first
    assert job_compare("start", False, "start", False, Atom.AFTER) == 1
    assert job_compare("start", False, "start", False, Atom.BEFORE) == -1
    assert job_compare("start", False, "stop", False, Atom.AFTER) == 1  # the stop goes first
    assert job_compare("stop", False, "start", False, Atom.AFTER) == -1
    assert job_compare("stop", False, "stop", False, Atom.AFTER) == -1  # reverse for stops
    assert job_compare("stop", False, "stop", False, Atom.BEFORE) == 1
    assert job_compare("restart", False, "start", False, Atom.AFTER) == -1  # restart = stop first
    assert job_compare("start", True, "start", False, Atom.AFTER) == 0
    assert job_compare("nop", False, "start", False, Atom.AFTER) == 0


# ---------------------------------------------------------------- building

def test_requires_on_missing_unit_fails_the_transaction_wants_does_not():
    w = world(svc("a.service", requires=["missing.service"]))
    with pytest.raises(TransactionError) as e:
        build(w, "a.service", "start")
    assert e.value.message == "Unit missing.service not found." and e.value.errno == "ENOENT"
    w = world(svc("a.service", wants=["missing.service"]))
    plan = build(w, "a.service", "start")
    assert jobset(plan) == {("a.service", "start")}
    assert any(l.message == "Cannot add dependency job, ignoring: Unit missing.service not found."
               and l.priority is Priority.DEBUG for l in plan.logs)
    masked = Unit(name="m.service", load_state=LoadState.MASKED)
    w = world(svc("a.service", requires=["m.service"]), masked)
    with pytest.raises(TransactionError, match="Unit m.service is masked."):
        build(w, "a.service", "start")
    # stopping a not-found unit is fine
    assert jobset(build(world(), "missing.service", "stop")) == {("missing.service", "stop")}


def test_reload_applicability_and_propagation():
    w = world(svc("a.service", propagates_reload_to=["b.service"]), svc("b.service"),
              states={"a.service": A.ACTIVE, "b.service": A.ACTIVE}, can_reload={"a.service", "b.service"})
    assert jobset(build(w, "a.service", "reload")) == {("a.service", "reload"), ("b.service", "reload")}
    w2 = world(svc("a.service"), states={"a.service": A.ACTIVE})
    with pytest.raises(TransactionError, match="Job type reload is not applicable for unit a.service."):
        build(w2, "a.service", "reload")
    t = verb_job_type("reload-or-restart", can_reload=False)
    assert jobset(build(w2, "a.service", t)) == {("a.service", "restart")}
    t = verb_job_type("reload-or-restart", can_reload=True)
    assert jobset(build(w, "a.service", t)) == {("a.service", "reload"), ("b.service", "reload")}
    assert jobset(build(world(svc("a.service"), can_reload={"a.service"}), "a.service", t)) == {("a.service", "start")}
    assert verb_job_type("try-reload-or-restart", can_reload=False) == "try-restart"


def test_redundant_jobs_are_dropped_but_anchor_kept():
    w = world(svc("a.service", requires=["b.service"]), svc("b.service"), states={"a.service": A.ACTIVE,
                                                                                 "b.service": A.ACTIVE})
    plan = build(w, "a.service", "start")
    assert [(j.unit, j.type) for j in plan.jobs] == [("a.service", "start")]


def test_try_restart_of_inactive_unit_is_a_nop_anchor():
    w = world(svc("a.service"))
    plan = build(w, "a.service", "try-restart")
    assert [(j.unit, j.type) for j in plan.jobs] == [("a.service", "nop")]


def test_mode_fail_refuses_reversing_a_queued_job():
    w = world(svc("a.service"), jobs={"a.service": InstalledJob("start")})
    with pytest.raises(TransactionError) as e:
        build(w, "a.service", "stop", JobMode.FAIL)
    assert e.value.message == ("Transaction for a.service/stop is destructive (a.service has 'start' job queued, "
                               "but 'stop' is included in transaction).")
    # replace mode takes over; an irreversible job cannot be replaced even so
    assert build(w, "a.service", "stop").anchor.type == "stop"
    w = world(svc("a.service"), jobs={"a.service": InstalledJob("start", irreversible=True)})
    with pytest.raises(TransactionError, match="is destructive"):
        build(w, "a.service", "stop")
    plan = build(world(svc("a.service")), "a.service", "stop", JobMode.REPLACE_IRREVERSIBLY)
    assert plan.anchor.irreversible


def test_mode_fail_drops_unneeded_jobs_that_would_change_queued_ones():
    w = world(svc("a.service", wants=["b.service"]), svc("b.service"), jobs={"b.service": InstalledJob("stop")})
    assert jobset(build(w, "a.service", "start", JobMode.FAIL)) == {("a.service", "start")}
    assert jobset(build(w, "a.service", "start")) == {("a.service", "start"), ("b.service", "start")}


def test_ignore_requirements_and_ignore_dependencies():
    w = world(svc("a.service", requires=["b.service"], after=["b.service"]), svc("b.service"))
    plan = build(w, "a.service", "start", JobMode.IGNORE_REQUIREMENTS)
    assert jobset(plan) == {("a.service", "start")} and not plan.anchor.ignore_order
    plan = build(w, "a.service", "start", JobMode.IGNORE_DEPENDENCIES)
    assert jobset(plan) == {("a.service", "start")} and plan.anchor.ignore_order
    jobs = {"a.service": InstalledJob("start", ignore_order=True), "b.service": InstalledJob("start")}
    assert blocking_unit(w.graph, "a.service", "start", True, jobs) is None
    assert blocking_unit(w.graph, "a.service", "start", False, jobs) == ("b.service", "starting")


def test_isolate_stops_everything_else_and_cancels_jobs():
    t = Unit(name="iso.target", unit=UnitSection(wants=["keep.service"], allow_isolate=True))
    w = world(t, svc("keep.service"), svc("other.service"), svc("quiet.service"), svc("pinned.service"),
              states={"other.service": A.ACTIVE, "pinned.service": A.ACTIVE, "keep.service": A.ACTIVE},
              jobs={"quiet.service": InstalledJob("start")}, ignore_on_isolate={"pinned.service"})
    plan = build(w, "iso.target", "start", JobMode.ISOLATE)
    js = {(j.unit, j.type) for j in plan.jobs}
    assert ("other.service", "stop") in js
    assert ("quiet.service", "stop") in js  # inactive but has a job
    # keep.service Requires= sysinit.target (default deps) but is only After= basic.target
    assert ("basic.target", "stop") in js and ("sysinit.target", "stop") not in js
    assert not any(u == "pinned.service" for u, _ in js)
    assert not any(u == "keep.service" and t == "stop" for u, t in js)
    with pytest.raises(TransactionError, match="Operation refused, unit may not be isolated."):
        build(w, "keep.service", "start", JobMode.ISOLATE)
    with pytest.raises(TransactionError, match="Isolate is only valid for start."):
        build(w, "iso.target", "stop", JobMode.ISOLATE)
    w2 = world(svc("a.service"), svc("b.service"), jobs={"b.service": InstalledJob("start")})
    assert build(w2, "a.service", "start", JobMode.FLUSH).cancel == ["b.service"]
    assert build(w2, "a.service", "start").cancel == []


def test_restart_dependencies_mode_restarts_dependents():
    w = world(svc("db.service"), svc("app.service", requires=["db.service"]),
              states={"app.service": A.ACTIVE})
    plan = build(w, "db.service", "start", JobMode.RESTART_DEPENDENCIES)
    assert jobset(plan) == {("db.service", "start"), ("app.service", "restart")}
    with pytest.raises(TransactionError):
        build(w, "db.service", "stop", JobMode.RESTART_DEPENDENCIES)


def test_triggering_mode_stops_active_triggers():
    from sysvisor.core.units import TimerSection
    tm = Unit(name="x.timer", timer=TimerSection(on_boot_usec=[1]))
    w = world(tm, svc("x.service"), states={"x.timer": A.ACTIVE, "x.service": A.ACTIVE})
    plan = build(w, "x.service", "stop", JobMode.TRIGGERING)
    assert ("x.timer", "stop") in {(j.unit, j.type) for j in plan.jobs}
    assert ("x.timer", "stop") not in {(j.unit, j.type) for j in build(w, "x.service", "stop").jobs}


def test_conflicting_requirements_unmergeable():
    # a requires b and conflicts with b: start and stop of b both matter
    w = world(svc("a.service", requires=["b.service"], conflicts=["b.service"]), svc("b.service"))
    with pytest.raises(TransactionError) as e:
        build(w, "a.service", "start")
    assert "Transaction contains conflicting jobs" in e.value.message
    # b/stop (Conflicts=) also propagates a stop to a (RequiredBy): both units hold two jobs
    # that matter; which one is reported depends on iteration order (hash order in systemd)
    assert re.search(r"for [ab]\.service\. Probably contradicting requirement dependencies configured\.$",
                     e.value.message)


def test_unmergeable_job_that_does_not_matter_is_dropped():
    # a Wants b, a Wants c, c Conflicts b: c's stop of b matters to c only, b's start does not
    w = world(svc("a.service", wants=["b.service", "c.service"]), svc("b.service"),
              svc("c.service", conflicts=["b.service"]))
    plan = build(w, "a.service", "start")
    # b's start (Wants=, does not matter) loses against c's stop of b (Conflicts=, matters to
    # c); the stop of the inactive b is then redundant
    assert jobset(plan) == {("a.service", "start"), ("c.service", "start")}
    assert any(l.message.startswith("Fixing conflicting jobs") for l in plan.logs)


def test_unbreakable_cycle_fails():
    w = world(svc("a.service", requires=["b.service"], after=["b.service"]),
              svc("b.service", requires=["a.service"], after=["a.service"]))
    with pytest.raises(TransactionError) as e:
        build(w, "a.service", "start")
    assert e.value.message == "Transaction order is cyclic. See system logs for details."
    assert any(l.message.startswith("Unable to break cycle starting with") for l in e.value.logs)


@given(st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from(["wants", "requires", "after", "before",
                                                                    "conflicts", "binds_to", "part_of"]),
                          st.sampled_from("abcd")), max_size=10),
       st.sampled_from("abcd"), st.sampled_from(["start", "stop", "restart"]))
def test_plans_are_acyclic_and_one_job_per_unit(edges, anchor, t):
    units = {c: svc(f"{c}.service") for c in "abcd"}
    for a, d, b in edges:
        getattr(units[a].unit, d).append(f"{b}.service")
    w = world(*units.values())
    try:
        plan = build(w, f"{anchor}.service", t)
    except TransactionError:
        return
    assert len({j.unit for j in plan.jobs}) == len(plan.jobs)
    assert plan.jobs[0] is plan.anchor
    # no job waits on itself transitively
    jobs = {j.unit: InstalledJob(j.type, ignore_order=j.ignore_order) for j in plan.jobs}
    waiting = {u: blocking_unit(w.graph, u, j.type, j.ignore_order, jobs) for u, j in jobs.items()}
    assert any(v is None for v in waiting.values())


# ---------------------------------------------------------------- installing, running, finishing

def test_install_decision():
    p = PlannedJob("a.service", "start")
    assert install_decision(None, p, A.INACTIVE).action == "install"
    d = install_decision(InstalledJob("stop"), p, A.ACTIVE)
    assert d.action == "install" and d.cancel_installed
    assert install_decision(InstalledJob("verify-active"), p, A.INACTIVE).type == "start"
    d = install_decision(InstalledJob("start", state="running"), PlannedJob("a.service", "restart"), A.ACTIVATING)
    assert (d.action, d.type) == ("merge-rerun", "restart")
    d = install_decision(InstalledJob("restart", state="running"), p, A.DEACTIVATING)
    assert (d.action, d.type) == ("merge", "restart")  # restart is a superset of start
    d = install_decision(InstalledJob("reload", state="running"), PlannedJob("a.service", "reload"), A.RELOADING)
    assert d.action == "merge-rerun"  # a reload never merges into a running one: re-run it
    d = install_decision(InstalledJob("start", state="running"), PlannedJob("a.service", "reload"), A.ACTIVE)
    assert d.action == "merge-rerun"


def test_propagate_result_recursive_and_only_start_jobs():
    w = world(svc("a.service", requires=["b.service"], after=["b.service"]),
              svc("b.service", requires=["c.service"], after=["c.service"]),
              svc("c.service"), svc("w.service", wants=["c.service"]),
              svc("x.service", requires=["c.service"]))
    jobs = {u: InstalledJob("start") for u in ("a.service", "b.service", "c.service", "w.service")}
    jobs["x.service"] = InstalledJob("stop")
    out = propagate_result(w.graph, "c.service", "start", JobResult.FAILED, state_after=A.FAILED, jobs=jobs)
    assert [(f.unit, f.result) for f in out] == [("b.service", JobResult.DEPENDENCY), ("a.service", JobResult.DEPENDENCY)]
    assert propagate_result(w.graph, "c.service", "start", JobResult.DONE, state_after=A.ACTIVE, jobs=jobs) == []
    assert propagate_result(w.graph, "c.service", "restart", JobResult.DONE, state_after=A.INACTIVE, jobs=jobs) == []
    # timeout counts as failure too
    assert propagate_result(w.graph, "c.service", "start", JobResult.TIMEOUT, state_after=A.ACTIVATING, jobs=jobs)


def test_conflicted_by_stop_failure_and_requisite_inactive_start():
    w = world(svc("a.service", conflicts=["b.service"]), svc("b.service"),
              svc("r.service", requisite=["o.service"]), svc("o.service"))
    jobs = {"a.service": InstalledJob("start"), "b.service": InstalledJob("stop")}
    out = propagate_result(w.graph, "b.service", "stop", JobResult.FAILED, state_after=A.ACTIVE, jobs=jobs)
    # b is ConflictedBy a: a's start cannot go on
    assert [(f.unit, f.result) for f in out] == [("a.service", JobResult.DEPENDENCY)]
    jobs = {"r.service": InstalledJob("start"), "o.service": InstalledJob("start")}
    # a oneshot finishing 'done' straight to inactive is not active: Requisite= dependents fail
    out = propagate_result(w.graph, "o.service", "start", JobResult.DONE, state_after=A.INACTIVE, jobs=jobs)
    assert [(f.unit, f.result) for f in out] == [("r.service", JobResult.DEPENDENCY)]
    assert propagate_result(w.graph, "o.service", "start", JobResult.DONE, state_after=A.ACTIVE, jobs=jobs) == []


def test_verify_active_and_requeue():
    assert verify_active_result(A.ACTIVE) is JobResult.DONE
    assert verify_active_result(A.ACTIVATING) is None
    assert verify_active_result(A.FAILED) is JobResult.SKIPPED
    w = world(svc("a.service", after=["b.service"], before=["c.service"]), svc("b.service"), svc("c.service"))
    jobs = {"b.service": InstalledJob("start"), "c.service": InstalledJob("start")}
    assert set(units_to_requeue(w.graph, "a.service", jobs)) == {"b.service", "c.service"}


def test_done_messages():
    assert done_message("service", "start", JobResult.DONE, "a.service - A").message == "Started a.service - A."
    assert done_message("target", "start", JobResult.DONE, "t.target - T").message == "Reached target t.target - T."
    assert done_message("service", "start", JobResult.ASSERT, "a").message == "Assertion failed for a."
    assert done_message("service", "start", JobResult.DEPENDENCY, "a").priority is Priority.WARNING
    assert done_message("service", "stop", JobResult.DONE, "a").message == "Stopped a."
    assert done_message("service", "start", JobResult.CANCELED, "a") is None


def test_network_online_target_is_reached_immediately_without_a_network_manager():
    """spec §2.1: nothing orders itself before network-online.target, so its start job is
    runnable as soon as it is installed; a consumer waits for nothing else."""
    w = world(svc("web.service", wants=["network-online.target"], after=["network-online.target"]))
    plan = build(w, "web.service", "start")
    assert {(j.unit, j.type) for j in plan.jobs} == {("web.service", "start"), ("network-online.target", "start")}
    jobs = {j.unit: InstalledJob(j.type) for j in plan.jobs}
    assert blocking_unit(w.graph, "network-online.target", "start", False, jobs) is None
    assert blocking_unit(w.graph, "web.service", "start", False, jobs) == ("network-online.target", "starting")
    del jobs["network-online.target"]
    assert blocking_unit(w.graph, "web.service", "start", False, jobs) is None


def test_default_target_start_pulls_in_the_boot_chain():
    w = World(build_graph({"a.service": svc("a.service")}, wants_dirs={"multi-user.target": ["a.service"]}))
    plan = build(w, "default.target", "start")
    assert plan.anchor.unit == "multi-user.target"
    units = {j.unit for j in plan.jobs}
    assert {"multi-user.target", "basic.target", "sysinit.target", "a.service", "local-fs.target",
            "sockets.target", "timers.target", "paths.target"} <= units
    jobs = {j.unit: InstalledJob(j.type) for j in plan.jobs}
    # boot order: sysinit before basic before the default target's members
    assert blocking_unit(w.graph, "basic.target", "start", False, jobs)[0] in {
        "sysinit.target", "sockets.target", "paths.target", "slices.target"}
    assert blocking_unit(w.graph, "a.service", "start", False, jobs)[0] in {"sysinit.target", "basic.target"}
    assert blocking_unit(w.graph, "multi-user.target", "start", False, jobs) is not None


def test_a_nop_anchor_conflicts_with_no_installed_job():
    # try-restart of an inactive unit is a nop; with a start job queued and --job-mode=fail
    # (or an irreversible job) the destructiveness check compared nop with it and crashed.
    # systemd: job_type_is_conflicting() is false for JOB_NOP
    w = world(svc("d.service"), jobs={"d.service": InstalledJob("start", irreversible=True)})
    for mode in (JobMode.FAIL, JobMode.REPLACE):
        plan = build(w, "d.service", "try-restart", mode)
        assert [(j.unit, j.type) for j in plan.jobs] == [("d.service", "nop")]
    assert not is_conflicting("nop", "start") and not is_conflicting("stop", "nop")
