"""export → import → export, and continuing a restored engine. # spec: issue 5"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sysvisor.core import events as ev
from sysvisor.core.actions import Log, ReadPidFile
from sysvisor.core.exit_status import SIGKILL, SIGTERM
from sysvisor.core.manager import Manager
from sysvisor.core.snapshot import SnapshotError, export_all, export_unit, import_all
from sysvisor.core.types import RestartPolicy, ServiceType
from sysvisor.testing.clock import msec, sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service

TERM_OK = Behaviour.hangs(on_signal=((SIGTERM, 0),))


def restored(sim: Simulation, *, alive=None, units=None) -> tuple[Manager, list]:
    """A fresh manager over the same unit files, restored from `sim`'s snapshot."""
    snap = json.loads(json.dumps(export_all(sim.manager)))  # must survive JSON
    fresh = Manager(units or copy.deepcopy(sim.manager.units), seed=99)
    live = {p.pid for p in sim.executor.alive()}
    actions = import_all(fresh, snap, sim.manager.now, alive or (lambda pid: pid in live))
    return fresh, actions


def continue_with(sim: Simulation, manager: Manager) -> Simulation:
    """A second simulation that continues `sim`'s processes with `manager`."""
    other = Simulation({}, None)
    other.manager = manager
    other.executor = copy.deepcopy(sim.executor)
    other.clock.set(sim.now)
    other._next_request = sim._next_request
    manager._random.setstate(sim.manager._random.getstate())  # same invocation IDs from here on
    return other


# ---------------------------------------------------------------------- identity


_behaviours = st.sampled_from([
    Behaviour.exits(0, after=msec(300)),
    Behaviour.exits(1, after=msec(700)),
    Behaviour.killed(SIGKILL, after=sec(2)),
    Behaviour.hangs(),
    TERM_OK,
    Behaviour.hangs(ignore=frozenset({SIGTERM})),
    Behaviour.ready(after=msec(200)),
    Behaviour.exits(2),
    Behaviour.fails_to_spawn(),
    Behaviour.forking(Behaviour.hangs(), after=msec(100)),
    Behaviour.hangs(notify=((msec(100), (("READY", "1"), ("STATUS", "up"))),
                            (msec(900), (("WATCHDOG", "1"),)))),
])

_unit = st.fixed_dictionaries({
    "type": st.sampled_from([ServiceType.SIMPLE, ServiceType.ONESHOT, ServiceType.NOTIFY, ServiceType.EXEC,
                             ServiceType.FORKING]),
    "reload": st.booleans(),
    "restart": st.sampled_from([RestartPolicy.NO, RestartPolicy.ON_FAILURE, RestartPolicy.ALWAYS]),
    "restart_usec": st.sampled_from([msec(100), sec(1), sec(3)]),
    "pre": st.booleans(),
    "post": st.booleans(),
    "stop": st.booleans(),
    "stop_post": st.booleans(),
    "watchdog": st.sampled_from([0, sec(2)]),
    "burst": st.sampled_from([0, 3, 5]),
})

_op = st.one_of(
    st.tuples(st.sampled_from(["start", "stop", "restart", "reload", "reset_failed", "kill"]), st.integers(0, 2)),
    st.tuples(st.just("wait"), st.integers(1, 4_000_000)),
)


def _build(specs):
    units = []
    for i, s in enumerate(specs):
        kw = dict(type=s["type"], restart=s["restart"], restart_usec=s["restart_usec"], watchdog_usec=s["watchdog"],
                  timeout_stop_usec=sec(2))
        if s["type"] is ServiceType.ONESHOT and s["restart"] is RestartPolicy.ALWAYS:
            kw["restart"] = RestartPolicy.ON_FAILURE  # trap 7: refused at load
        for key, flag, line in (("exec_start_pre", "pre", "/bin/pre"), ("exec_start_post", "post", "/bin/post"),
                                ("exec_reload", "reload", "/bin/reload"),
                                ("exec_stop", "stop", "/bin/stop"), ("exec_stop_post", "stop_post", "/bin/stoppost")):
            if s[flag]:
                kw[key] = line
        # DefaultDependencies=no: the snapshot holds services only, not the targets they pull in
        units.append(service(f"u{i}.service", unit=dict(start_limit_burst=s["burst"], default_dependencies=False,
                                                           start_limit_interval_usec=sec(10)), **kw))
    return units


def _history(specs, behaviours, ops) -> Simulation:
    units = _build(specs)
    n = len(units)
    script = {}
    for i, u in enumerate(units):
        script[u.name] = [behaviours[(i + k) % len(behaviours)] for k in range(3)]
    sim = Simulation(units, script)
    for u in units:  # every unit runs at least once, so histories reach every state
        sim.start(u.name)
    for kind, arg in ops:
        name = f"u{arg % n}.service"
        if kind == "wait":
            sim.run_for(arg)
        elif kind == "reset_failed":
            sim.reset_failed(name)
        elif kind == "kill":
            sim.kill(name, SIGTERM)
        else:
            getattr(sim, kind)(name)
    return sim


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_unit, min_size=1, max_size=3), st.lists(_behaviours, min_size=1, max_size=4),
       st.lists(_op, max_size=25))
def test_export_import_export_is_identity(specs, behaviours, ops):
    sim = _history(specs, behaviours, ops)
    before = export_all(sim.manager)
    fresh, actions = restored(sim)
    assert export_all(fresh) == before
    assert not [a for a in actions if not isinstance(a, (Log, ReadPidFile))]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_unit, min_size=1, max_size=3), st.lists(_behaviours, min_size=1, max_size=4),
       st.lists(_op, max_size=15), st.lists(_op, max_size=10))
def test_restored_engine_continues_exactly(specs, behaviours, ops, later):
    sim = _history(specs, behaviours, ops)
    fresh, _ = restored(sim)
    other = continue_with(sim, fresh)
    split = len(sim.trace)
    for s in (sim, other):
        for kind, arg in later:
            name = f"u{arg % len(specs)}.service"
            if kind == "wait":
                s.run_for(arg)
            elif kind == "reset_failed":
                s.reset_failed(name)
            elif kind == "kill":
                s.kill(name, SIGTERM)
            else:
                getattr(s, kind)(name)
        s.run_for(sec(30))
    assert export_all(other.manager) == export_all(sim.manager)
    assert other.trace == sim.trace[split:]


# ---------------------------------------------------------------------- specific rules


def test_running_unit_keeps_its_pids_counters_and_limiter():
    foo = service("foo.service", restart=RestartPolicy.ON_FAILURE, restart_usec=sec(1),
                  unit=dict(start_limit_burst=5, start_limit_interval_usec=sec(60)))
    sim = Simulation([foo], {"foo.service": [Behaviour.exits(1), Behaviour.exits(1), Behaviour.hangs()]})
    sim.start("foo.service")
    sim.run_until(sec(5))
    p = sim.props("foo.service")
    assert (p["SubState"], p["NRestarts"]) == ("running", 2)
    fresh, actions = restored(sim)
    q = fresh.runtime_properties("foo.service")
    for key in ("ActiveState", "SubState", "Result", "NRestarts", "MainPID", "InvocationID",
                "ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic"):
        assert q[key] == p[key], key
    assert fresh.services["foo.service"].start_limit.num == 3
    assert fresh.services["foo.service"].start_limit.begin == 0
    # its exit still reaches the unit
    out = fresh.handle(ev.ProcessExited(p["MainPID"], 1, 1), sec(6))
    assert fresh.runtime_properties("foo.service")["SubState"] == "auto-restart"
    assert any(isinstance(a, Log) and "status=1/FAILURE" in a.message for a in out)


def test_auto_restart_fires_at_the_same_instant():
    foo = service("foo.service", restart=RestartPolicy.ALWAYS, restart_usec=sec(10))
    sim = Simulation([foo], {"foo.service": [Behaviour.exits(0, after=sec(1)), Behaviour.hangs()]})
    sim.start("foo.service")
    sim.run_until(sec(3))
    assert sim.props("foo.service")["SubState"] == "auto-restart"
    fresh, _ = restored(sim)
    assert fresh.next_deadline() == sec(11)
    other = continue_with(sim, fresh)
    other.run_until(sec(20))
    assert [t for t, _ in other.spawns("foo.service")] == [0, sec(11)]  # the executor carries on
    assert other.props("foo.service")["NRestarts"] == 1


def test_vanished_main_process_counts_as_successful_exit():
    foo = service("foo.service", restart=RestartPolicy.ON_FAILURE, exec_stop="/bin/stop")
    sim = Simulation([foo], {("foo.service", "ExecStart"): Behaviour.hangs(),
                             ("foo.service", "ExecStop"): Behaviour.exits(0)})
    sim.start("foo.service")
    pid = sim.props("foo.service")["MainPID"]
    fresh, actions = restored(sim, alive=lambda p: False)
    logs = [a.message for a in actions if isinstance(a, Log)]
    assert (f"foo.service: Main process {pid} vanished while the manager was not running; "
            f"exit status unknown, treating it as exited successfully.") in logs
    # like systemd's alien main PID: service_enter_running(SUCCESS) → ExecStop= runs
    spawns = [a for a in actions if type(a).__name__ == "Spawn"]
    assert [a.command.path for a in spawns] == ["/bin/stop"]
    fresh.handle(ev.Spawned(spawns[0].spawn_id, 5000), 0)
    p = fresh.runtime_properties("foo.service")
    assert (p["SubState"], p["Result"]) == ("stop", "success")


def test_vanished_control_process_moves_on_to_the_next_command():
    foo = service("foo.service", exec_start_pre=["/bin/a", "/bin/b"])
    sim = Simulation([foo], {("foo.service", "ExecStartPre"): Behaviour.hangs()})
    sim.start("foo.service")
    assert sim.props("foo.service")["SubState"] == "start-pre"
    fresh, actions = restored(sim, alive=lambda p: False)
    spawns = [a for a in actions if type(a).__name__ == "Spawn"]
    assert [(s.phase, s.command.path) for s in spawns] == [("ExecStartPre", "/bin/b")]


def test_vanished_notify_main_before_ready_is_a_protocol_failure():
    foo = service("foo.service", type=ServiceType.NOTIFY)
    sim = Simulation([foo], {"foo.service": Behaviour.hangs()})
    sim.start("foo.service")
    fresh, _ = restored(sim, alive=lambda p: False)
    p = fresh.runtime_properties("foo.service")
    assert (p["ActiveState"], p["Result"]) == ("failed", "protocol")


def test_watchdog_deadline_passed_in_the_gap_is_rearmed_for_one_period():
    foo = service("foo.service", type=ServiceType.NOTIFY, watchdog_usec=sec(5))
    sim = Simulation([foo], {"foo.service": Behaviour.ready()})
    sim.start("foo.service")
    sim.run_for(0)
    snap = export_all(sim.manager)
    assert snap["units"]["foo.service"]["watchdog_deadline"] == sec(5)
    fresh = Manager(copy.deepcopy(sim.manager.units))
    actions = import_all(fresh, snap, sec(8), lambda pid: True)
    assert fresh.services["foo.service"].watchdog_deadline == sec(13)
    assert any("Watchdog deadline passed" in a.message for a in actions if isinstance(a, Log))


def test_changed_start_limit_keeps_window_but_resets_counter():
    foo = service("foo.service", unit=dict(start_limit_burst=5))
    sim = Simulation([foo], {"foo.service": Behaviour.exits(0)})
    for _ in range(3):
        sim.start("foo.service")
        sim.run_for(0)
    snap = export_all(sim.manager)
    assert snap["units"]["foo.service"]["start_limit"]["num"] == 3
    same = Manager(copy.deepcopy(sim.manager.units))
    import_all(same, snap, 0, lambda pid: False)
    assert (same.services["foo.service"].start_limit.begin, same.services["foo.service"].start_limit.num) == (0, 3)
    changed = copy.deepcopy(sim.manager.units)
    changed["foo.service"].unit.start_limit_burst = 10
    other = Manager(changed)
    import_all(other, snap, 0, lambda pid: False)
    assert (other.services["foo.service"].start_limit.begin, other.services["foo.service"].start_limit.num) == (0, 0)


def test_job_survives():
    foo = service("foo.service", exec_start_pre="/bin/pre")
    sim = Simulation([foo], {("foo.service", "ExecStartPre"): Behaviour.exits(0, after=sec(1))})
    rid = sim.start("foo.service")
    fresh, _ = restored(sim)
    job = fresh.jobs.get("foo.service")
    assert (str(job.type), job.state, job.requests) == ("start", "running", [rid])
    other = continue_with(sim, fresh)
    other.run_until(sec(2))
    assert [(j.request_id, str(j.result)) for j in other.jobs()] == [(rid, "done")]


def test_unit_gone_from_disk_is_dropped_with_a_warning():
    foo = service("foo.service", exec_start_pre="/bin/pre")
    sim = Simulation([foo], {("foo.service", "ExecStartPre"): Behaviour.exits(0, after=sec(1)),
                             ("foo.service", "ExecStart"): Behaviour.hangs()})
    sim.start("foo.service")  # its start job is still running: dropped with the unit
    fresh = Manager({})
    actions = import_all(fresh, export_all(sim.manager), 0, lambda pid: True)
    assert [a.message for a in actions] == [
        "foo.service: Unit in the saved state is no longer loaded, dropping its state; "
        "its processes (1000) are left alone."]


@pytest.mark.parametrize("mutate, message", [
    (lambda s: s.update(version=7), "unsupported snapshot version 7"),
    (lambda s: s["units"]["foo.service"].update(SubState="dancing"), "bad value"),
    (lambda s: s["units"]["foo.service"].pop("NRestarts"), "malformed unit record"),
    (lambda s: s["units"]["foo.service"].update(NRestarts="3"), "must be an integer"),
    (lambda s: s.update(jobs=[{"id": 1, "unit": "foo.service"}]), "malformed job record"),
])
def test_bad_snapshot_is_refused_before_anything_changes(mutate, message):
    sim = Simulation([service("foo.service")], {})
    sim.start("foo.service")
    snap = copy.deepcopy(export_all(sim.manager))
    mutate(snap)
    fresh = Manager(copy.deepcopy(sim.manager.units))
    pristine = export_all(fresh)
    with pytest.raises(SnapshotError, match=message):
        import_all(fresh, snap, 0, lambda pid: True)
    assert export_all(fresh) == pristine


def test_export_unit_is_json_safe_and_names_systemd_properties():
    sim = Simulation([service("foo.service")], {})
    sim.start("foo.service")
    d = export_unit(sim.manager, "foo.service")
    assert json.loads(json.dumps(d)) == d
    assert (d["ActiveState"], d["SubState"], d["MainPID"]) == ("active", "running", 1000)


def test_carry_out_answers_each_spawn_before_the_next_vanished_exit():
    # two units whose main processes vanished; each exit makes the engine spawn ExecStopPost=
    units = [service(n, exec_stop_post="/bin/post") for n in ("a.service", "b.service")]
    sim = Simulation(units, {})
    sim.start("a.service")
    sim.start("b.service")
    fresh = Manager(copy.deepcopy(sim.manager.units))
    batches: list[list] = []

    def carry_out(actions):
        batches.append([type(a).__name__ for a in actions])
        for a in actions:  # the shell answers a Spawn at once
            if type(a).__name__ == "Spawn":
                batches[-1].append(fresh._spawn_owner.get(a.spawn_id) is not None)
                fresh.handle(ev.Spawned(a.spawn_id, 5000 + a.spawn_id), 0)

    assert import_all(fresh, export_all(sim.manager), 0, lambda pid: False, carry_out=carry_out) == []
    spawns = [b for b in batches if "Spawn" in b]
    assert len(spawns) == 2  # one batch per vanished exit, each answered before the next
    assert [fresh.runtime_properties(n)["SubState"] for n in ("a.service", "b.service")] == ["stop-post"] * 2


def test_targets_keep_their_state_and_a_restored_manager_does_not_boot_again():
    web = service("web.service")
    sim = Simulation([web], {"*": TERM_OK})
    sim.send(ev.BootRequested())
    sim.run_for(msec(10))
    assert sim.props("multi-user.target")["ActiveState"] == "active"
    sim.stop("web.service")
    sim.run_for(sec(1))
    fresh, _ = restored(sim)
    assert fresh.targets_restored
    props = fresh.runtime_properties("multi-user.target")
    assert props["ActiveState"] == "active"
    assert props["ActiveEnterTimestampMonotonic"] == sim.props("multi-user.target")["ActiveEnterTimestampMonotonic"]
    assert fresh.runtime_properties("web.service")["ActiveState"] == "inactive"


def test_a_snapshot_from_before_targets_restores_none():
    sim = Simulation([service("web.service")], {"*": TERM_OK})
    sim.send(ev.BootRequested())
    sim.run_for(msec(10))
    snap = json.loads(json.dumps(export_all(sim.manager)))
    del snap["targets"]
    fresh = Manager(copy.deepcopy(sim.manager.units), seed=99)
    import_all(fresh, snap, sim.manager.now, lambda pid: True)
    assert not fresh.targets_restored
    assert fresh.runtime_properties("multi-user.target")["ActiveState"] == "inactive"


def test_bad_target_record_is_refused():
    sim = Simulation([service("web.service")], {"*": TERM_OK})
    sim.send(ev.BootRequested())
    sim.run_for(msec(10))
    snap = json.loads(json.dumps(export_all(sim.manager)))
    snap["targets"]["multi-user.target"]["SubState"] = "flying"
    with pytest.raises(SnapshotError, match="multi-user.target.*bad target state 'flying'"):
        import_all(Manager(copy.deepcopy(sim.manager.units)), snap, sim.manager.now, lambda pid: True)
