"""End-to-end job flow with the pure functions only, wired the way the Manager should wire them
(build → install_decision → blocking_unit → run → propagate_result), replayed against the
oracle recordings: every job systemd finished, with the same result, in an order that respects
every ordering dependency. This doubles as the reference for the Manager integration.
"""

from __future__ import annotations

import re

from sysvisor.core.deps import Atom
from sysvisor.core.transaction import (
    InstalledJob,
    blocking_unit,
    build,
    install_decision,
    propagate_result,
    verify_active_result,
)
from sysvisor.core.types import ActiveState, JobMode, JobResult

from .test_transaction_oracle import DATA, _messages, _world

A = ActiveState


class Driver:
    """A toy manager: units change state instantly; `outcome[unit]` scripts a start."""

    def __init__(self, world, outcome: dict[str, str]) -> None:
        self.w = world
        self.outcome = outcome
        self.jobs: dict[str, InstalledJob] = {}
        self.order: list[str] = []  # install order = run-queue order
        self.finished: list[str] = []

    def request(self, unit: str, job_type: str, mode: JobMode = JobMode.REPLACE) -> None:
        plan = build(self.w, unit, job_type, mode)
        for u in plan.cancel:
            self._finish(u, JobResult.CANCELED, recursive=False)
        for p in plan.jobs:
            d = install_decision(self.jobs.get(p.unit), p, self.w.state(p.unit))
            if d.cancel_installed:
                self._finish(p.unit, JobResult.CANCELED, recursive=False)
            if p.unit in self.jobs:
                self.jobs[p.unit].type = d.type
                if d.action == "merge-rerun":
                    self.jobs[p.unit].state = "waiting"
            else:
                self.jobs[p.unit] = InstalledJob(d.type, ignore_order=p.ignore_order)
                self.order.append(p.unit)
        self.run()

    def run(self) -> None:
        progress = True
        while progress:
            progress = False
            for unit in list(self.order):
                job = self.jobs.get(unit)
                if job is None or blocking_unit(self.w.graph, unit, job.type, job.ignore_order, self.jobs):
                    continue
                progress = True
                self._run(unit, job)

    def _run(self, unit: str, job: InstalledJob) -> None:
        st = self.w.state_of
        if job.type == "verify-active":
            self._finish(unit, verify_active_result(self.w.state(unit)))
        elif job.type == "nop":
            self._finish(unit, JobResult.DONE)
        elif job.type in ("stop", "restart"):
            st[unit] = A.INACTIVE
            self._finish(unit, JobResult.DONE)
        elif job.type == "start":
            if self.w.state(unit) in (A.ACTIVE, A.RELOADING):
                self._finish(unit, JobResult.DONE)
                return
            what = self.outcome.get(unit, "ok")
            if what == "fail":
                st[unit] = A.FAILED
                self._finish(unit, JobResult.FAILED)
            elif what == "condition":
                self._finish(unit, JobResult.DONE)
            else:
                st[unit] = A.ACTIVE
                self._finish(unit, JobResult.DONE)

    def _finish(self, unit: str, result: JobResult, recursive: bool = True) -> None:
        job = self.jobs[unit]
        self.finished.append(f"{unit}/{job.type}={result}")
        if job.type == "restart" and result is JobResult.DONE:
            job.type = "start"  # systemd: job_finish_and_invalidate() patches restart into start
            self.order.remove(unit)
            self.order.append(unit)
            return
        followers = propagate_result(self.w.graph, unit, job.type, result, state_after=self.w.state(unit),
                                     jobs=self.jobs) if recursive else []
        del self.jobs[unit]
        self.order.remove(unit)
        for f in followers:
            self.finished.append(f"{f.unit}/{f.type}={f.result}")
            del self.jobs[f.unit]
            self.order.remove(f.unit)


def _oracle_finished(scenario: str, units: set[str]) -> list[str]:
    out = []
    for m in _messages(DATA / scenario / "result.json"):
        r = re.match(r"\S+: Job \d+ (\S+)/(\S+) finished, result=(\S+)", m)
        if r and r.group(1) in units:
            out.append(f"{r.group(1)}/{r.group(2)}={r.group(3)}")
    return out


def _respects_ordering(graph, finished: list[str]) -> None:
    """For units ordered against each other, the recorded sequence and ours agree."""
    pos = {}
    for i, f in enumerate(finished):
        pos.setdefault(f, i)
    for a in pos:
        for b in pos:
            ua, ub = a.split("/")[0], b.split("/")[0]
            if graph.has_atom(ua, Atom.AFTER | Atom.BEFORE, ub):
                yield a, b, pos[a] < pos[b]


def _compare(graph, ours: list[str], theirs: list[str]) -> None:
    assert sorted(ours) == sorted(theirs)
    assert dict(((a, b), o) for a, b, o in _respects_ordering(graph, ours)) == \
        dict(((a, b), o) for a, b, o in _respects_ordering(graph, theirs))


def test_flow_requires_failing():
    units = {"app.service", "db.service", "extra.service"}
    w = _world("requires-failing", {})
    d = Driver(w, {"db.service": "fail", "extra.service": "fail"})
    d.request("app.service", "start")
    _compare(w.graph, d.finished, _oracle_finished("requires-failing", units))
    assert d.finished[-1] != "app.service/start=done"
    assert w.state("app.service") is A.INACTIVE


def test_flow_requires_restart_then_stop():
    units = {"app.service", "db.service"}
    w = _world("requires-stop-restart", {})
    d = Driver(w, {})
    d.request("app.service", "start")
    d.request("db.service", "restart")
    d.request("db.service", "stop")
    d.request("app.service", "start")
    _compare(w.graph, d.finished, _oracle_finished("requires-stop-restart", units))


def test_flow_partof_group():
    units = {"app.service", "group.target"}
    w = _world("partof-restart", {})
    d = Driver(w, {})
    d.request("group.target", "start")
    d.request("group.target", "restart")
    d.request("group.target", "stop")
    _compare(w.graph, d.finished, _oracle_finished("partof-restart", units))


def test_flow_requisite_and_condition_and_conflicts():
    w = _world("requisite-condition", {})
    d = Driver(w, {"cond.service": "condition"})
    d.request("app.service", "start")
    d.request("after-cond.service", "start")
    units = {"app.service", "base.service", "cond.service", "after-cond.service"}
    _compare(w.graph, d.finished, _oracle_finished("requisite-condition", units))
    w = _world("conflicts", {})
    d = Driver(w, {})
    for u in ("b.service", "a.service", "b.service"):
        d.request(u, "start")
    _compare(w.graph, d.finished, _oracle_finished("conflicts", {"a.service", "b.service"}))
