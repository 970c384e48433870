"""Differential tests: the transaction engine predicts what systemd 257 did.

Data: tests/data/oracle/deps/<scenario>/{units/, scenario.json, result.json}, recorded with
`systemd-oracle run --log-level debug` (PID 1's debug journal names every installed job and
every job result). The unit files are loaded with sysvisor's own loader.
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from sysvisor.core.deps import build_graph, retroactive_jobs
from sysvisor.core.transaction import (
    InstalledJob,
    World,
    blocking_unit,
    build,
    done_message,
    failed_job_notice,
    propagate_result,
    verify_active_result,
)
from sysvisor.core.types import ActiveState, JobMode, JobResult, JobType
from sysvisor.unitfile.loader import UnitLoader

A = ActiveState
DATA = pathlib.Path(__file__).parent.parent / "data" / "oracle" / "deps"
# what the oracle's container has active when a scenario begins (it boots basic.target)
BOOTED = {t: A.ACTIVE for t in ("sysinit.target", "basic.target", "sockets.target", "paths.target",
                                 "slices.target", "local-fs.target", "local-fs-pre.target", "swap.target")}


def _messages(result_file: pathlib.Path, journal_index: int = -1) -> list[str]:
    steps = json.loads(result_file.read_text())["scenarios"][0]["steps"]
    journal = [s for s in steps if s["do"] == "journal"][journal_index]
    return [e.split("systemd[1]: ", 1)[1] for e in journal["entries"] if "systemd[1]: " in e]


def _world(scenario: str, states: dict[str, ActiveState], jobs=None) -> World:
    units = UnitLoader([str(DATA / scenario / "units")]).load_all()
    return World(build_graph(units), state_of={**BOOTED, **states}, jobs=jobs or {})


def _installed_per_request(msgs: list[str], units: set[str]) -> list[tuple[str, set[tuple[str, str]]]]:
    """[(request 'unit/type/mode', {(unit, type) installed})] for requests made with systemctl."""
    out: list[tuple[str, set[tuple[str, str]]]] = []
    for m in msgs:
        if (r := re.match(r"\S+: Trying to enqueue job (\S+)", m)):
            out.append((r.group(1), set()))
        elif (r := re.match(r"\S+: Installed new job (\S+)/(\S+) as \d+", m)) and out:
            if r.group(1) in units:
                out[-1][1].add((r.group(1), r.group(2)))
        elif re.match(r"\S+: Enqueued job", m) and out:
            out[-1] = (out[-1][0], out[-1][1])
    return out


def _results(msgs: list[str]) -> dict[str, str]:
    """unit/type -> last result, from `Job N unit/type finished, result=R`."""
    out = {}
    for m in msgs:
        if (r := re.match(r"\S+: Job \d+ (\S+) finished, result=(\S+)", m)):
            out[r.group(1)] = r.group(2)
    return out


def _plan_set(plan, units: set[str]) -> set[tuple[str, str]]:
    return {(j.unit, j.type) for j in plan.jobs if j.unit in units}


# ---------------------------------------------------------------- Requires= + After=, failing

def test_requires_failing_job_set_and_dependency_result():
    units = {"app.service", "db.service", "extra.service"}
    msgs = _messages(DATA / "requires-failing" / "result.json")
    [(request, installed)] = _installed_per_request(msgs, units)
    assert request == "app.service/start/replace"
    w = _world("requires-failing", {})
    plan = build(w, "app.service", JobType.START)
    assert _plan_set(plan, units) == installed == {("app.service", "start"), ("db.service", "start"),
                                                   ("extra.service", "start")}
    jobs = {j.unit: InstalledJob(j.type) for j in plan.jobs}
    # app waits for db (After=), extra (Wants= without After=) runs in parallel
    assert blocking_unit(w.graph, "app.service", "start", False, jobs) == ("db.service", "starting")
    assert "app.service: starting held back, waiting for: db.service" in msgs
    assert blocking_unit(w.graph, "extra.service", "start", False, jobs) is None
    # db's start fails -> app's start job finishes 'dependency'; extra's failure propagates nothing
    results = _results(msgs)
    assert results["db.service/start"] == "failed"
    finished = propagate_result(w.graph, "db.service", "start", JobResult.FAILED, state_after=A.FAILED, jobs=jobs)
    assert [(f.unit, f.type, str(f.result)) for f in finished] == [("app.service", "start", results["app.service/start"])]
    del jobs["db.service"], jobs["app.service"]
    assert propagate_result(w.graph, "extra.service", "start", JobResult.FAILED, state_after=A.FAILED, jobs=jobs) == []
    assert results["extra.service/start"] == "failed"
    # and the journal lines for it
    line = done_message("service", "start", JobResult.DEPENDENCY, "app.service - App")
    assert line.message in msgs
    assert f"app.service: {failed_job_notice('app.service', 'start', JobResult.DEPENDENCY).message}" in msgs


# ---------------------------------------------------------------- BindsTo= stop propagation

def test_bindsto_stop_propagates_and_orders_stops_in_reverse():
    units = {"app.service", "dev.service"}
    msgs = _messages(DATA / "bindsto-stop" / "result.json")
    reqs = _installed_per_request(msgs, units)
    # the 4th is the retroactive stop after dev's unexpected exit (test below)
    assert [r for r, _ in reqs] == ["app.service/start/replace", "dev.service/stop/replace",
                                    "app.service/start/replace", "app.service/stop/replace"]
    w0 = _world("bindsto-stop", {})
    assert _plan_set(build(w0, "app.service", JobType.START), units) == reqs[0][1]
    up = {"app.service": A.ACTIVE, "dev.service": A.ACTIVE}
    w = _world("bindsto-stop", up)
    plan = build(w, "dev.service", JobType.STOP)
    assert _plan_set(plan, units) == reqs[1][1] == {("dev.service", "stop"), ("app.service", "stop")}
    jobs = {j.unit: InstalledJob(j.type) for j in plan.jobs}
    # stop in reverse order: dev (app is After dev) waits for app's stop
    assert blocking_unit(w.graph, "dev.service", "stop", False, jobs) == ("app.service", "stopping")
    assert "dev.service: stopping held back, waiting for: app.service" in msgs
    assert blocking_unit(w.graph, "app.service", "stop", False, jobs) is None


def test_bindsto_unexpected_exit_stops_bound_unit():
    msgs = _messages(DATA / "bindsto-stop" / "result.json")
    i = msgs.index("dev.service: Failed with result 'signal'.")
    after = [m for m in msgs[i:] if "Installed new job" in m]
    assert after[0].startswith("app.service: Installed new job app.service/stop")
    w = _world("bindsto-stop", {"app.service": A.ACTIVE, "dev.service": A.FAILED})
    reqs = retroactive_jobs(w.graph, "dev.service", A.ACTIVE, A.FAILED, w.state_of)
    assert [(r.unit, r.type, r.mode) for r in reqs] == [("app.service", JobType.STOP, JobMode.REPLACE)]
    plan = build(w, "app.service", JobType.STOP)
    assert [(j.unit, j.type) for j in plan.jobs] == [("app.service", "stop")]


# ---------------------------------------------------------------- PartOf= restart/stop

def test_partof_restart_and_stop_propagate():
    units = {"app.service", "group.target"}
    msgs = _messages(DATA / "partof-restart" / "result.json")
    reqs = _installed_per_request(msgs, units)
    assert [r for r, _ in reqs] == ["group.target/start/replace", "group.target/restart/replace",
                                    "group.target/stop/replace"]
    assert _plan_set(build(_world("partof-restart", {}), "group.target", "start"), units) == reqs[0][1]
    w = _world("partof-restart", {"app.service": A.ACTIVE, "group.target": A.ACTIVE})
    plan = build(w, "group.target", "restart")
    assert _plan_set(plan, units) == reqs[1][1] == {("group.target", "restart"), ("app.service", "restart")}
    assert _plan_set(build(w, "group.target", "stop"), units) == reqs[2][1]
    # the target's restart: its stop half runs first (restart counts as a stop for ordering),
    # then its start half waits for app (target After= what it Wants=)
    jobs = {j.unit: InstalledJob(j.type) for j in plan.jobs}
    assert blocking_unit(w.graph, "group.target", "restart", False, jobs) is None
    jobs["group.target"] = InstalledJob("start")
    assert blocking_unit(w.graph, "group.target", "start", False, jobs) == ("app.service", "starting")
    assert "group.target: starting held back, waiting for: app.service" in msgs
    assert "Stopped target group.target - Group." in msgs
    assert done_message("target", "restart", JobResult.DONE, "group.target - Group").message in msgs
    assert done_message("target", "start", JobResult.DONE, "group.target - Group").message in msgs
    # restart of an inactive PartOf member is not propagated as restart (try-restart collapses
    # to nothing), but the target's Wants= pulls in a plain start
    w2 = _world("partof-restart", {"app.service": A.INACTIVE, "group.target": A.ACTIVE})
    assert _plan_set(build(w2, "group.target", "restart"), units) == {("group.target", "restart"),
                                                                      ("app.service", "start")}


# ---------------------------------------------------------------- Conflicts=

def test_conflicts_both_directions():
    units = {"a.service", "b.service"}
    msgs = _messages(DATA / "conflicts" / "result.json")
    reqs = _installed_per_request(msgs, units)
    assert [r for r, _ in reqs] == ["b.service/start/replace", "a.service/start/replace", "b.service/start/replace"]
    assert _plan_set(build(_world("conflicts", {}), "b.service", "start"), units) == reqs[0][1]
    w = _world("conflicts", {"b.service": A.ACTIVE})
    assert _plan_set(build(w, "a.service", "start"), units) == reqs[1][1] == {("a.service", "start"), ("b.service", "stop")}
    w = _world("conflicts", {"a.service": A.ACTIVE})  # ConflictedBy: starting b stops a
    assert _plan_set(build(w, "b.service", "start"), units) == reqs[2][1] == {("b.service", "start"), ("a.service", "stop")}
    # with --job-mode=fail the not-mattering stop of a (ConflictedBy) is dropped: it would
    # stop a running service
    assert _plan_set(build(w, "b.service", "start", JobMode.FAIL), units) == {("b.service", "start")}


# ---------------------------------------------------------------- Requisite=, conditions

def test_requisite_inactive_fails_with_dependency():
    units = {"app.service", "base.service"}
    msgs = _messages(DATA / "requisite-condition" / "result.json")
    reqs = _installed_per_request(msgs, units)
    assert reqs[0] == ("app.service/start/replace", {("app.service", "start"), ("base.service", "verify-active")})
    w = _world("requisite-condition", {})
    plan = build(w, "app.service", "start")
    assert _plan_set(plan, units) == reqs[0][1]
    jobs = {j.unit: InstalledJob(j.type) for j in plan.jobs}
    results = _results(msgs)
    r = verify_active_result(A.INACTIVE)
    assert str(r) == results["base.service/verify-active"] == "skipped"
    assert done_message("service", "verify-active", r, "base.service").message in msgs
    finished = propagate_result(w.graph, "base.service", "verify-active", r, state_after=A.INACTIVE, jobs=jobs)
    assert [(f.unit, str(f.result)) for f in finished] == [("app.service", results["app.service/start"])]


def test_condition_skipped_required_unit_does_not_fail_dependent():
    units = {"after-cond.service", "cond.service"}
    msgs = _messages(DATA / "requisite-condition" / "result.json")
    reqs = _installed_per_request(msgs, units)
    assert reqs[1] == ("after-cond.service/start/replace", {("after-cond.service", "start"), ("cond.service", "start")})
    w = _world("requisite-condition", {})
    plan = build(w, "after-cond.service", "start")
    assert _plan_set(plan, units) == reqs[1][1]
    jobs = {j.unit: InstalledJob(j.type) for j in plan.jobs}
    results = _results(msgs)
    assert results["cond.service/start"] == "done"  # a condition skip is 'done', not 'skipped'
    assert propagate_result(w.graph, "cond.service", "start", JobResult.DONE, state_after=A.INACTIVE, jobs=jobs) == []
    assert results["after-cond.service/start"] == "done"


# ---------------------------------------------------------------- ordering cycle

def _cycle_lines(msgs):
    return [m for m in msgs if re.search(r"ordering cycle|Found dependency on|deleted to break", m)]


def test_ordering_cycle_messages_match_systemd_exactly():
    msgs = _messages(DATA / "ordering-cycle" / "repeats" / "run1.json")
    w = _world("ordering-cycle", {})
    plan = build(w, "a.service", "start")
    lines = [f"{l.unit}: {l.message}" for l in plan.logs if "cycle" in l.message or "Found dependency" in l.message]
    assert lines == _cycle_lines(msgs)
    assert [(j.unit, j.type) for j in plan.jobs] == [("a.service", "start")]


@pytest.mark.parametrize("run", ["../result.json", "run1.json", "run2.json", "run3.json", "run4.json",
                                 "run5.json", "run6.json"])
def test_ordering_cycle_every_recorded_run_replays(run):
    """systemd starts its cycle search at a hash-map-ordered job; replaying that start unit
    reproduces its lines and its choice of job to delete in every recorded boot."""
    path = DATA / "ordering-cycle" / "repeats" / run
    msgs = _messages(path)
    expected = _cycle_lines(msgs)
    start = expected[-1].split(": ", 1)[0]
    w = _world("ordering-cycle", {})
    plan = build(w, "a.service", "start", search_order=[start])
    lines = [f"{l.unit}: {l.message}" for l in plan.logs if "cycle" in l.message or "Found dependency" in l.message]
    assert lines == expected
    steps = json.loads(path.read_text())["scenarios"][0]["steps"]
    active = {u for u, p in next(s for s in steps if s["do"] == "show")["props"].items() if p["ActiveState"] == "active"}
    assert {j.unit for j in plan.jobs if j.unit.endswith(".service")} == active


# ---------------------------------------------------------------- Requires=: restart/stop vs. exit

def test_requires_propagates_restart_and_stop_but_not_an_exit():
    units = {"app.service", "db.service"}
    msgs = _messages(DATA / "requires-stop-restart" / "result.json")
    reqs = _installed_per_request(msgs, units)
    assert [r for r, _ in reqs] == ["app.service/start/replace", "db.service/restart/replace",
                                    "db.service/stop/replace", "app.service/start/replace"]
    up = _world("requires-stop-restart", {"app.service": A.ACTIVE, "db.service": A.ACTIVE})
    plan = build(up, "db.service", "restart")
    assert _plan_set(plan, units) == reqs[1][1] == {("db.service", "restart"), ("app.service", "restart")}
    jobs = {j.unit: InstalledJob(j.type) for j in plan.jobs}
    # both restarts stop first: db's stop waits for app's (reverse order) …
    assert blocking_unit(up.graph, "db.service", "restart", False, jobs) == ("app.service", "stopping")
    assert "db.service: stopping held back, waiting for: app.service" in msgs
    # … then app's start half waits for db's restart to finish
    jobs["app.service"] = InstalledJob("start")
    assert blocking_unit(up.graph, "app.service", "start", False, jobs) == ("db.service", "starting")
    assert _plan_set(build(up, "db.service", "stop"), units) == reqs[2][1]
    # db exits on its own: Requires= has no retroactive effect, app stays active
    i = max(k for k, m in enumerate(msgs) if m.startswith("db.service: Changed running -> dead"))
    assert not [m for m in msgs[i:] if "Installed new job" in m]
    assert retroactive_jobs(up.graph, "db.service", A.ACTIVE, A.INACTIVE, up.state_of) == []
    show = [s for s in json.loads((DATA / "requires-stop-restart" / "result.json").read_text())
            ["scenarios"][0]["steps"] if s["do"] == "show"][-1]["props"]
    assert show["app.service"]["ActiveState"] == "active"


# ---------------------------------------------------------------- isolate

def test_isolate_job_set():
    ours = {"one.target", "keep.service", "other.service", "pinned.service", "basic.target", "paths.target",
            "slices.target", "sockets.target", "sysinit.target"}
    msgs = _messages(DATA / "isolate" / "result.json")
    reqs = dict(_installed_per_request(msgs, ours))
    expected = reqs["one.target/start/isolate"]
    w = _world("isolate", {"keep.service": A.ACTIVE, "other.service": A.ACTIVE, "pinned.service": A.ACTIVE})
    w.ignore_on_isolate = {"pinned.service"}  # IgnoreOnIsolate=yes (not yet in UnitSection)
    plan = build(w, "one.target", "start", JobMode.ISOLATE)
    assert _plan_set(plan, ours) == expected == {
        ("one.target", "start"), ("other.service", "stop"), ("basic.target", "stop"), ("paths.target", "stop"),
        ("slices.target", "stop"), ("sockets.target", "stop")}
