"""Property tests over random request/exit/timing scripts.
# spec: ARCHITECTURE.md "Tests" (every transition is allowed; failed implies a non-success result)
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sysvisor.core.actions import StateChanged
from sysvisor.core.exit_status import SIGKILL, SIGTERM
from sysvisor.core.types import RestartMode, RestartPolicy, ServiceType
from sysvisor.testing.clock import msec, sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service

_STOPPING = {"stop", "stop-sigterm", "stop-sigkill", "stop-post", "final-sigterm", "final-sigkill",
             "stop-watchdog", "final-watchdog"}
_STARTING = {"condition", "start-pre", "start", "start-post"}

# (from, to) pairs that must never happen. # systemd: service.c transition rules
def transition_allowed(old: str, new: str) -> bool:
    if old in ("dead-before-auto-restart", "failed-before-auto-restart"):
        return new == "auto-restart"
    if new == "auto-restart-queued":
        return old == "auto-restart"
    if old == "auto-restart":
        return new in ("auto-restart-queued", "dead", "failed")
    if new in ("dead-before-auto-restart", "failed-before-auto-restart"):
        return old in _STOPPING | _STARTING | {"dead", "failed", "running", "auto-restart-queued", "exited"}
    if new == "exited":
        return old in _STARTING | {"dead", "failed", "auto-restart-queued", "reload"}
    if old in _STOPPING:
        return new in _STOPPING | {"dead", "failed", "auto-restart", "dead-before-auto-restart",
                                   "failed-before-auto-restart"}
    return True


behaviours = st.one_of(
    st.builds(Behaviour.exits, st.sampled_from([0, 1, 2, 75, 255]), st.integers(0, sec(3))),
    st.builds(Behaviour.killed, st.sampled_from([SIGTERM, SIGKILL, 6, 11]), st.integers(0, sec(3))),
    st.just(Behaviour.hangs()),
    st.just(Behaviour.hangs(ignore=frozenset({SIGTERM}))),
    st.just(Behaviour.hangs(on_signal=((SIGTERM, 0),))),
    st.just(Behaviour.fails_to_spawn()),
)

steps = st.lists(
    st.tuples(st.sampled_from(["start", "stop", "restart", "reset-failed", "kill", "wait"]),
              st.integers(0, sec(8))),
    min_size=1, max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from([ServiceType.SIMPLE, ServiceType.ONESHOT, ServiceType.EXEC]),
    restart=st.sampled_from(list(RestartPolicy)),
    mode=st.sampled_from([RestartMode.NORMAL, RestartMode.DIRECT]),
    pre=st.booleans(), stop=st.booleans(), post=st.booleans(),
    main=st.lists(behaviours, min_size=1, max_size=4),
    control=behaviours,
    script=steps,
)
def test_random_scripts_keep_invariants(kind, restart, mode, pre, stop, post, main, control, script):
    if kind is ServiceType.ONESHOT and restart in (RestartPolicy.ALWAYS, RestartPolicy.ON_SUCCESS):
        restart = RestartPolicy.ON_FAILURE  # refused at load (trap 7)
    kw = {}
    if pre:
        kw["exec_start_pre"] = "/bin/pre"
    if stop:
        kw["exec_stop"] = "/bin/stop"
    if post:
        kw["exec_stop_post"] = "/bin/post"
    foo = service("foo.service", type=kind, restart=restart, restart_mode=mode, restart_usec=msec(700),
                  timeout_stop_usec=sec(2), timeout_start_usec=sec(5),
                  unit=dict(start_limit_interval_usec=sec(10), start_limit_burst=3, on_failure=["h.service"]),
                  **kw)
    h = service("h.service", type=ServiceType.ONESHOT)
    sim = Simulation([foo, h], {("foo.service", "ExecStart"): main, "foo.service": control,
                                "h.service": Behaviour.exits(0)})
    for verb, wait in script:
        if verb == "start":
            sim.start("foo.service")
        elif verb == "stop":
            sim.stop("foo.service")
        elif verb == "restart":
            sim.restart("foo.service")
        elif verb == "reset-failed":
            sim.reset_failed("foo.service")
        elif verb == "kill":
            sim.kill("foo.service", SIGTERM, "main")
        sim.run_for(wait)
        check_invariants(sim)
    sim.run_for(sec(60))
    check_invariants(sim)


def check_invariants(sim: Simulation) -> None:
    prev = "dead"
    for _, a in sim.trace:
        if isinstance(a, StateChanged) and a.unit == "foo.service":
            assert transition_allowed(prev, a.sub_state), (prev, a.sub_state)
            if str(a.active_state) == "failed":
                assert a.result != "success"
            prev = a.sub_state
    p = sim.props("foo.service")
    if p["ActiveState"] == "failed":
        assert p["Result"] != "success"
    if p["SubState"] in ("dead", "failed"):
        svc = sim.manager.services["foo.service"]
        assert svc.next_deadline() is None
        assert p["MainPID"] == 0 and p["ControlPID"] == 0
    assert p["NRestarts"] >= 0
    # the deadline index agrees with the units' own timers
    own = [d for svc in sim.manager.services.values() if (d := svc.next_deadline()) is not None]
    assert sim.manager.next_deadline() == (min(own) if own else None)
    assert not any(str(j.result) == "invalid" for j in sim.jobs() if str(j.job_type) != "reload")


@settings(max_examples=100, deadline=None)
@given(
    restart_ms=st.integers(0, 3000),
    run_ms=st.integers(0, 2000),
    interval_s=st.integers(0, 20),
    burst=st.integers(0, 6),
    policy=st.sampled_from([RestartPolicy.ALWAYS, RestartPolicy.ON_FAILURE]),
)
def test_crash_loop_matches_a_reference_model(restart_ms, run_ms, interval_s, burst, policy):
    """A service that exits 1 after `run_ms` under Restart=: the spawn times and the final
    state follow from RestartSec= and the fixed-window limiter alone."""
    cycle = msec(run_ms + restart_ms)
    horizon = sec(60) if cycle == 0 else min(sec(60), 60 * cycle)  # ≤ ~60 runs: fast
    if run_ms + restart_ms == 0 and not (interval_s and burst):
        return  # a busy loop at one instant, as in systemd; nothing to simulate
    foo = service("foo.service", restart=policy, restart_usec=msec(restart_ms),
                  unit=dict(start_limit_interval_usec=sec(interval_s), start_limit_burst=burst))
    sim = Simulation([foo], {"foo.service": Behaviour.exits(1, after=msec(run_ms))}, record=True)
    sim.start("foo.service")
    sim.run_until(horizon)

    # reference: start k at t_k; the limiter admits or refuses; a refusal ends everything
    expected, t, begin, num, refused = [], 0, None, 0, False
    while t <= horizon:
        if interval_s and burst:
            if begin is None or t - begin > sec(interval_s):
                begin, num = t, 0
            if num >= burst:
                refused = True
                break
            num += 1
        expected.append(t)
        t += msec(run_ms) + msec(restart_ms)
    got = [t for t, _ in sim.spawns("foo.service")]
    assert got == expected[: len(got)]
    if refused:
        assert got == expected
        p = sim.props("foo.service")
        assert (p["ActiveState"], p["Result"]) == ("failed", "exit-code")
        assert p["NRestarts"] == len(expected)
