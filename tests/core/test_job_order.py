"""Property tests of the wired job engine over random acyclic dependency graphs: every start
runs only after the units it is ordered after finished starting (a Type=notify unit: sent
READY=1), every request gets exactly one answer, no job is left behind, and shutdown stops each
unit only after every unit ordered after it has stopped.
# spec: dependencies-and-jobs.md §1.1, §3
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sysvisor.core import events as ev
from sysvisor.core.actions import ExitManager, Log, StateChanged
from sysvisor.core.deps import Dep
from sysvisor.core.exit_status import SIGTERM
from sysvisor.core.types import ServiceType
from sysvisor.core.units import Unit, UnitSection
from sysvisor.testing.clock import msec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service

KINDS = ("wants", "requires", "after", "before", "binds_to", "wants_after", "requires_after")


@st.composite
def graphs(draw):
    n = draw(st.integers(2, 7))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.sampled_from(KINDS)),
                          max_size=12))
    delays = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    return n, [(a, b, k) for a, b, k in edges if a > b], delays  # a names b: acyclic


def _units(n, edges):
    deps: list[dict[str, list[str]]] = [{} for _ in range(n)]
    for a, b, kind in edges:
        other = f"u{b}.service"
        for field in {"wants_after": ("wants", "after"), "requires_after": ("requires", "after")}.get(kind, (kind,)):
            if field == "before":  # b before a == a after b, spelled on the other side
                deps[b].setdefault("before", []).append(f"u{a}.service")
            else:
                deps[a].setdefault(field, []).append(other)
    units = [service(f"u{i}.service", type=ServiceType.NOTIFY, unit=deps[i]) for i in range(n)]
    everything = Unit(name="all.target", unit=UnitSection(wants=[f"u{i}.service" for i in range(n)]))
    return units + [everything]


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_starts_follow_ordering_and_stops_reverse_it(g):
    n, edges, delays = g
    term = dict(on_signal=((SIGTERM, 0),), signal_delay=msec(1))
    script = {f"u{i}.service": Behaviour.ready(after=msec(10 * d), **term) for i, d in enumerate(delays)}
    sim = Simulation(_units(n, edges), script)
    rid = sim.start("all.target")
    sim.run_for(msec(1000))
    assert [str(j.result) for j in sim.jobs(rid)] == ["done"]
    assert sim.manager.jobs.by_unit == {}
    graph = sim.manager.graph
    spawned = {s.unit: t for t, s in sim.spawns(phase="ExecStart")}
    ready = {a.unit: t for t, a in sim.trace if isinstance(a, StateChanged) and str(a.active_state) == "active"}
    for i in range(n):
        u = f"u{i}.service"
        assert sim.props(u)["ActiveState"] == "active"
        for v in graph.get(u, Dep.AFTER):
            if v in spawned:
                assert spawned[u] >= ready[v], (u, v)
    assert str(sim.props("all.target")["ActiveState"]) == "active"
    start_of_stop = sim.now
    sim.send(ev.ShutdownRequested())
    sim.run_for(msec(1000))
    stopped = {a.unit: t for t, a in sim.trace if isinstance(a, Log) and a.message.startswith("Stopped u")}
    stopping = {a.unit: t for t, a in sim.trace if t >= start_of_stop and isinstance(a, Log)
                and a.message.startswith("Stopping u")}
    for i in range(n):
        u = f"u{i}.service"
        for v in graph.get(u, Dep.BEFORE):  # v After u: v stops first
            if v.startswith("u"):
                assert stopping[u] >= stopped[v], (u, v)
    assert [a for _, a in sim.trace if isinstance(a, ExitManager)] == [ExitManager(0)]
