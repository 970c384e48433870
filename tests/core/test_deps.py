"""The dependency graph: inverses, atoms, default dependencies, built-in targets, retroactive
effects. # spec: dependencies-and-jobs.md §1, §1.2, §2"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sysvisor.core.deps import (
    ATOMS,
    INVERSE,
    Atom,
    Dep,
    DependencyGraph,
    bound_by_inactive_check,
    build_graph,
    builtin_targets,
    retroactive_jobs,
    stop_when_unneeded_check,
    units_to_recheck,
    upheld_check,
)
from sysvisor.core.types import ActiveState, JobMode, JobType, LoadState
from sysvisor.core.units import TimerSection, Unit, UnitSection
from tests.core.helpers import svc

A = ActiveState


def tgt(name: str, **unit) -> Unit:
    return Unit(name=name, unit=UnitSection(**unit))


def graph(*units: Unit, **kw) -> DependencyGraph:
    return build_graph({u.name: u for u in units}, **kw)


def test_inverse_table_is_an_involution():
    for d, inv in INVERSE.items():
        assert INVERSE[inv] is d
    assert set(INVERSE) == set(Dep)
    assert set(ATOMS) == set(Dep)


@given(st.lists(st.tuples(st.sampled_from("abcde"), st.sampled_from(list(Dep)), st.sampled_from("abcde"))))
def test_every_edge_has_its_inverse(edges):
    g = DependencyGraph()
    for a, d, b in edges:
        g.add(a + ".service", d, b + ".service")
    for a, deps in g.deps.items():
        for d, others in deps.items():
            for b in others:
                assert a in g.get(b, INVERSE[d])
                assert a != b  # self references are dropped


def test_self_dependency_dropped_with_diagnostic():
    g = graph(svc("a.service", requires=["a.service"]), builtins=False)
    assert "a.service" not in g.get("a.service", Dep.REQUIRES)
    assert g.diagnostics


def test_explicit_dependencies_and_inverses():
    g = graph(svc("a.service", wants=["w.service"], requires=["r.service"], requisite=["q.service"],
                  binds_to=["b.service"], part_of=["p.target"], upholds=["u.service"],
                  conflicts=["c.service"], before=["x.service"], after=["y.service"],
                  on_failure=["f.service"], on_success=["s.service"],
                  propagates_stop_to=["ps.service"]))
    assert g.get("w.service", Dep.WANTED_BY) == ["a.service"]
    assert g.get("r.service", Dep.REQUIRED_BY) == ["a.service"]
    assert g.get("q.service", Dep.REQUISITE_OF) == ["a.service"]
    assert g.get("b.service", Dep.BOUND_BY) == ["a.service"]
    assert g.get("p.target", Dep.CONSISTS_OF) == ["a.service"]
    assert g.get("u.service", Dep.UPHELD_BY) == ["a.service"]
    assert g.get("c.service", Dep.CONFLICTED_BY) == ["a.service"]
    assert g.get("x.service", Dep.AFTER) == ["a.service"]
    assert g.get("y.service", Dep.BEFORE) == ["a.service"]
    assert g.get("f.service", Dep.ON_FAILURE_OF) == ["a.service"]
    assert g.get("s.service", Dep.ON_SUCCESS_OF) == ["a.service"]
    assert g.get("ps.service", Dep.STOP_PROPAGATED_FROM) == ["a.service"]
    # atoms: what a stop of r.service propagates to, what a's start pulls in
    assert g.with_atom("r.service", Atom.PROPAGATE_STOP) == ["a.service"]
    assert g.with_atom("p.target", Atom.PROPAGATE_RESTART) == ["a.service"]
    assert set(g.with_atom("a.service", Atom.PULL_IN_START)) == {"r.service", "b.service", "sysinit.target"}
    assert g.with_atom("a.service", Atom.PULL_IN_START_IGNORED) == ["w.service", "u.service"]
    assert g.with_atom("a.service", Atom.PULL_IN_VERIFY) == ["q.service"]
    assert g.with_atom("c.service", Atom.PULL_IN_STOP_IGNORED) == ["a.service"]
    assert g.with_atom("ps.service", Atom.RETROACTIVE_STOP_ON_STOP) == []
    assert g.with_atom("a.service", Atom.RETROACTIVE_STOP_ON_STOP) == ["ps.service"]


def test_service_default_dependencies_system_and_user():
    g = graph(svc("a.service"))
    assert g.get("a.service", Dep.REQUIRES) == ["sysinit.target"]
    assert g.get("a.service", Dep.AFTER) == ["sysinit.target", "basic.target"]
    assert g.get("a.service", Dep.BEFORE) == ["shutdown.target"]
    assert g.get("a.service", Dep.CONFLICTS) == ["shutdown.target"]
    gu = graph(svc("a.service"), user=True)
    assert gu.get("a.service", Dep.REQUIRES) == ["basic.target"]
    assert gu.get("a.service", Dep.AFTER) == ["basic.target"]
    g0 = graph(svc("a.service", default_dependencies=False))
    assert g0.properties("a.service")["Requires"] == [] and g0.get("a.service", Dep.CONFLICTS) == []


def test_timer_default_and_implicit_dependencies():
    t = Unit(name="t.timer", timer=TimerSection(on_calendar=["daily"]))
    g = graph(t, svc("t.service"))
    assert g.get("t.timer", Dep.TRIGGERS) == ["t.service"]
    assert g.get("t.service", Dep.TRIGGERED_BY) == ["t.timer"]
    assert "t.service" in g.get("t.timer", Dep.BEFORE)
    assert {"timers.target", "shutdown.target"} <= set(g.get("t.timer", Dep.BEFORE))
    assert {"sysinit.target", "time-set.target", "time-sync.target"} <= set(g.get("t.timer", Dep.AFTER))
    t2 = Unit(name="u.timer", timer=TimerSection(on_boot_usec=[1], unit="x.service"),
              unit=UnitSection(default_dependencies=False))
    g2 = graph(t2)
    assert g2.get("u.timer", Dep.TRIGGERS) == ["x.service"]
    assert g2.get("u.timer", Dep.BEFORE) == ["x.service"]  # implicit even without default deps


def test_target_is_ordered_after_what_it_pulls_in():
    g = graph(tgt("g.target", wants=["a.service", "n.service", "o.service"], requires=["r.service"]),
              svc("a.service"), svc("r.service"), svc("n.service", default_dependencies=False),
              svc("o.service", after=["g.target"]))
    after = g.get("g.target", Dep.AFTER)
    assert "a.service" in after and "r.service" in after
    assert "n.service" not in after  # DefaultDependencies=no on the other side
    assert "o.service" not in after  # would make a loop: o is After= the target
    assert g.get("g.target", Dep.CONFLICTS) == ["shutdown.target"]
    # a .wants/ directory entry is a Wants= of the target and orders it the same way
    g2 = graph(tgt("g.target"), svc("d.service"), wants_dirs={"g.target": ["d.service"]},
               requires_dirs={"g.target": ["e.service"]})
    assert g2.get("g.target", Dep.WANTS) == ["d.service"]
    assert g2.get("g.target", Dep.REQUIRES) == ["e.service"]
    assert "d.service" in g2.get("g.target", Dep.AFTER)
    assert "e.service" not in g2.get("g.target", Dep.AFTER)  # not loaded: no default target dep


def test_target_without_default_dependencies_gets_no_ordering():
    g = graph(tgt("g.target", wants=["a.service"], default_dependencies=False), svc("a.service"))
    assert g.get("g.target", Dep.AFTER) == []
    assert g.get("g.target", Dep.CONFLICTS) == []


def test_builtin_targets_and_default_alias():
    g = graph(svc("a.service"))
    assert g.canonical("default.target") == "multi-user.target"
    assert g.unit("default.target").unit.description == "Multi-User System"
    assert g.get("multi-user.target", Dep.REQUIRES) == ["basic.target"]
    assert "sysinit.target" in g.get("basic.target", Dep.REQUIRES)
    assert g.get("network-online.target", Dep.AFTER) == ["network.target"]
    # nothing but network.target is ordered before network-online.target: reached immediately
    assert g.get("network-online.target", Dep.BEFORE) == ["shutdown.target"]
    assert g.unit("shutdown.target").unit.refuse_manual_start
    assert g.load_state("nope.service") is LoadState.NOT_FOUND
    # a unit file wins over the built-in, and default.target can be re-pointed
    mine = tgt("multi-user.target", description="Mine")
    g2 = graph(mine, tgt("graphical.target", description="G"), default_target="graphical.target")
    assert g2.unit("multi-user.target").unit.description == "Mine"
    assert g2.canonical("default.target") == "graphical.target"
    g3 = graph(tgt("custom.target", description="C"), default_target="custom.target")
    assert g3.canonical("default.target") == "custom.target"
    assert set(builtin_targets()) >= {"sysinit.target", "basic.target", "multi-user.target", "graphical.target",
                                      "network-online.target", "shutdown.target", "exit.target", "timers.target"}


def test_alias_names_resolve_to_the_canonical_unit():
    a = svc("real.service")
    a.aliases = ["other.service"]
    g = graph(a, svc("b.service", requires=["other.service"]))
    assert g.get("b.service", Dep.REQUIRES)[0] == "real.service"
    assert g.get("other.service", Dep.REQUIRED_BY) == ["b.service"]


# ---------------------------------------------------------------- unit_notify() consequences

def test_retroactive_start_of_unexpectedly_activated_unit():
    g = graph(svc("a.service", requires=["r.service"], wants=["w.service", "o.service"],
                  conflicts=["c.service"], after=["o.service"]),
              svc("r.service"), svc("w.service"), svc("c.service"), svc("o.service"))
    states = {"c.service": A.ACTIVE, "sysinit.target": A.ACTIVE}
    reqs = retroactive_jobs(g, "a.service", A.INACTIVE, A.ACTIVE, states)
    got = {(r.unit, r.type, r.mode) for r in reqs}
    assert ("r.service", JobType.START, JobMode.REPLACE) in got
    assert ("w.service", JobType.START, JobMode.FAIL) in got
    assert ("c.service", JobType.STOP, JobMode.REPLACE) in got
    assert all(r.unit != "o.service" for r in reqs)  # a is After= o: not started retroactively
    assert all(r.unit != "sysinit.target" for r in reqs)  # already active
    # a shutdown.target conflict is inactive: nothing to stop
    assert all(r.unit != "shutdown.target" for r in reqs)


def test_retroactive_stop_only_for_bindsto_and_propagates_stop_to():
    g = graph(svc("a.service", binds_to=["b.service"]), svc("r.service", requires=["b.service"]),
              svc("p.service", propagates_stop_to=["q.service"]), svc("b.service"), svc("q.service"))
    states = {"a.service": A.ACTIVE, "r.service": A.ACTIVE, "q.service": A.ACTIVE}
    reqs = retroactive_jobs(g, "b.service", A.ACTIVE, A.FAILED, states)
    assert [(r.unit, r.type) for r in reqs] == [("a.service", JobType.STOP)]  # Requires= is not
    assert [(r.unit, r.type) for r in retroactive_jobs(g, "p.service", A.ACTIVE, A.INACTIVE, states)] == \
        [("q.service", JobType.STOP)]
    assert retroactive_jobs(g, "b.service", A.ACTIVE, A.ACTIVE, states) == []


def test_stop_when_unneeded():
    g = graph(svc("helper.service", stop_when_unneeded=True), svc("user.service", wants=["helper.service"]))
    states = {"helper.service": A.ACTIVE, "user.service": A.ACTIVE}
    assert stop_when_unneeded_check(g, "helper.service", states, {}) is None
    states["user.service"] = A.INACTIVE
    assert stop_when_unneeded_check(g, "helper.service", states, {"user.service": True}) is None
    r = stop_when_unneeded_check(g, "helper.service", states, {})
    assert (r.unit, r.type, r.mode, r.message) == ("helper.service", JobType.STOP, JobMode.FAIL,
                                                   "Unit is not needed anymore.")
    assert "helper.service" in units_to_recheck(g, "user.service", A.INACTIVE)["stop-when-unneeded"]


def test_bound_by_inactive_and_upheld():
    g = graph(svc("a.service", binds_to=["b.service"], upholds=["u.service"]), svc("b.service"), svc("u.service"))
    states = {"a.service": A.ACTIVE, "b.service": A.INACTIVE}
    r = bound_by_inactive_check(g, "a.service", states, {})
    assert (r.type, r.mode) == (JobType.STOP, JobMode.REPLACE)
    assert r.message == "Unit is stopped because bound to inactive unit b.service."
    assert bound_by_inactive_check(g, "a.service", states, {"b.service": True}) is None  # b has a job
    assert "a.service" in units_to_recheck(g, "b.service", A.INACTIVE)["bound-by-inactive"]
    r = upheld_check(g, "u.service", states, {})
    assert (r.unit, r.type, r.mode) == ("u.service", JobType.START, JobMode.FAIL)
    assert upheld_check(g, "u.service", {**states, "a.service": A.INACTIVE}, {}) is None
    assert "u.service" in units_to_recheck(g, "a.service", A.ACTIVE)["upheld"]


def test_builtin_targets_match_systemd_257_unit_files():
    """Every [Unit] setting of the real files, minus references to units sysvisor lacks."""
    import pathlib
    text = (pathlib.Path(__file__).parent.parent / "data" / "oracle" / "deps" / "builtin-targets.txt").read_text()
    real: dict[str, dict[str, list[str]]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("=== "):
            name = line[4:]
            real[name] = {}
        elif line.startswith("["):
            section = line
        elif "=" in line and section == "[Unit]" and not line.startswith("lrwx"):
            k, v = line.split("=", 1)
            real[name].setdefault(k, []).extend(v.split())
    ours = builtin_targets()
    fields = {"Requires": "requires", "Wants": "wants", "After": "after", "Before": "before",
              "Conflicts": "conflicts"}
    bools = {"DefaultDependencies": "default_dependencies", "RefuseManualStart": "refuse_manual_start",
             "AllowIsolate": "allow_isolate"}
    for name, settings in real.items():
        u = ours[name].unit
        assert u.description == " ".join(settings["Description"]), name
        for key, attr in fields.items():
            want = [x for x in settings.get(key, []) if x.endswith(".target")]
            assert getattr(u, attr) == want, (name, key)
        for key, attr in bools.items():
            default = key == "DefaultDependencies"
            want = settings[key][0] == "yes" if key in settings else default
            assert getattr(u, attr) == want, (name, key)
        if "JobTimeoutSec" in settings:
            assert u.job_timeout_usec == 30 * 60 * 1_000_000
            assert str(u.job_timeout_action) == settings["JobTimeoutAction"][0]


# ---------------------------------------------------------------- oracle: retroactive checks

def test_retroactive_checks_match_systemd_257():
    import json
    import pathlib

    from sysvisor.core.deps import verify_bound_dependencies
    from sysvisor.unitfile.loader import UnitLoader
    d = pathlib.Path(__file__).parent.parent / "data" / "oracle" / "deps" / "retroactive"
    steps = json.loads((d / "result.json").read_text())["scenarios"][0]["steps"]
    msgs = [e.split("systemd[1]: ", 1)[1] for e in next(s for s in steps if s["do"] == "journal")["entries"]
            if "systemd[1]: " in e]
    g = build_graph(UnitLoader([str(d / "units")]).load_all())
    # BindsTo+After a unit its condition skipped: the bound unit's start fails 'dependency'
    notice = verify_bound_dependencies(g, "bound.service", {"skipped.service": A.INACTIVE})
    assert f"bound.service: {notice}" in msgs
    assert "bound.service: Job 64 bound.service/start finished, result=dependency" in msgs
    assert verify_bound_dependencies(g, "bound.service", {"skipped.service": A.ACTIVE}) is None
    # the last user of a StopWhenUnneeded= helper stopped
    assert "helper.service" in units_to_recheck(g, "user.service", A.INACTIVE)["stop-when-unneeded"]
    r = stop_when_unneeded_check(g, "helper.service", {"helper.service": A.ACTIVE}, {})
    assert f"helper.service: {r.message}" in msgs
    assert f"helper.service: Trying to enqueue job helper.service/{r.type}/{r.mode}" in msgs
    # an upheld unit failed while its upholder is active
    assert "upheld.service" in units_to_recheck(g, "upheld.service", A.FAILED)["upheld"]
    r = upheld_check(g, "upheld.service", {"upholder.service": A.ACTIVE, "upheld.service": A.FAILED}, {})
    assert f"upheld.service: {r.message}" in msgs
    assert f"upheld.service: Trying to enqueue job upheld.service/{r.type}/{r.mode}" in msgs
    final = [s for s in steps if s["do"] == "show"][-1]["props"]
    assert final["helper.service"]["ActiveState"] == "inactive"
    assert final["upheld.service"]["ActiveState"] == "active"
