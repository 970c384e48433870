"""Every service sub-state × every kind of event: the engine never crashes, never breaks
an invariant, and the key cells go where service.c goes.
# spec: service-lifecycle.md §4 (state transition table)
"""

from __future__ import annotations

import pytest

from sysvisor.core import events as ev
from sysvisor.core.exit_status import SIGABRT, SIGTERM
from sysvisor.core.types import ExitCode, RestartPolicy, ServiceType
from sysvisor.testing.clock import sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service
from tests.core.test_properties import check_invariants

HANG = Behaviour.hangs()
STUBBORN = Behaviour.hangs(ignore=frozenset({SIGTERM, SIGABRT}))
UNKILLABLE = Behaviour.hangs(unkillable=True)
T = sec(10)  # every timeout in these units


def _base(**kw):
    kw.setdefault("timeout_stop_usec", T)
    kw.setdefault("timeout_start_usec", T)
    return service("foo.service", **kw)


def reach(state: str) -> Simulation:
    """A simulation whose foo.service sits in `state`."""
    S = Simulation
    if state == "dead":
        sim = S([_base()])
    elif state == "failed":
        sim = S([_base()], {"foo.service": Behaviour.exits(1)})
        sim.start("foo.service")
    elif state == "condition":
        sim = S([_base(exec_condition="/bin/c")], {"foo.service": HANG})
        sim.start("foo.service")
    elif state == "start-pre":
        sim = S([_base(exec_start_pre="/bin/p")], {"foo.service": HANG})
        sim.start("foo.service")
    elif state == "start":
        sim = S([_base(type=ServiceType.NOTIFY)], {"foo.service": HANG})
        sim.start("foo.service")
    elif state == "start-post":
        sim = S([_base(exec_start_post="/bin/p")], {"foo.service": HANG})
        sim.start("foo.service")
    elif state == "running":
        sim = S([_base()], {"foo.service": HANG})
        sim.start("foo.service")
    elif state == "exited":
        sim = S([_base(type=ServiceType.ONESHOT, remain_after_exit=True)], {"foo.service": Behaviour.exits(0)})
        sim.start("foo.service")
    elif state == "reload":
        sim = S([_base(exec_reload="/bin/r")], {"foo.service": HANG})
        sim.start("foo.service")
        sim.reload("foo.service")
    elif state == "reload-signal":
        sim = S([_base(type=ServiceType.NOTIFY_RELOAD)], {"foo.service": Behaviour.ready(ignore=frozenset({1}))})
        sim.start("foo.service")
        sim.run_until(1)
        sim.reload("foo.service")
    elif state == "reload-notify":
        sim = S([_base(type=ServiceType.NOTIFY)], {"foo.service": Behaviour.ready(notify=((1, (("RELOADING", "1"),)),))})
        sim.start("foo.service")
    elif state == "stop":
        sim = S([_base(exec_stop="/bin/s")], {"foo.service": HANG})
        sim.start("foo.service")
        sim.stop("foo.service")
    elif state == "stop-sigterm":
        sim = S([_base()], {"foo.service": STUBBORN})
        sim.start("foo.service")
        sim.stop("foo.service")
    elif state == "stop-sigkill":
        sim = S([_base()], {"foo.service": UNKILLABLE})
        sim.start("foo.service")
        sim.stop("foo.service")
        sim.run_until(T)
    elif state == "stop-watchdog":
        sim = S([_base(type=ServiceType.NOTIFY, watchdog_usec=sec(1))], {"foo.service": Behaviour.ready(ignore=frozenset({SIGABRT}))})
        sim.start("foo.service")
        sim.run_until(sec(1) + 1)
    elif state == "stop-post":
        sim = S([_base(exec_stop_post="/bin/sp")], {("foo.service", "ExecStart"): Behaviour.hangs(on_signal=((SIGTERM, 0),)),
                                                    "foo.service": HANG})
        sim.start("foo.service")
        sim.stop("foo.service")
    elif state == "final-sigterm":
        sim = S([_base(exec_stop_post="/bin/sp")], {("foo.service", "ExecStart"): Behaviour.hangs(on_signal=((SIGTERM, 0),)),
                                                    "foo.service": STUBBORN})
        sim.start("foo.service")
        sim.stop("foo.service")
        sim.run_until(T)
    elif state == "final-sigkill":
        sim = S([_base(exec_stop_post="/bin/sp")], {("foo.service", "ExecStart"): Behaviour.hangs(on_signal=((SIGTERM, 0),)),
                                                    "foo.service": UNKILLABLE})
        sim.start("foo.service")
        sim.stop("foo.service")
        sim.run_until(2 * T)
    elif state == "auto-restart":
        sim = S([_base(restart=RestartPolicy.ALWAYS, restart_usec=sec(100))], {"foo.service": Behaviour.exits(0)})
        sim.start("foo.service")
    else:  # pragma: no cover
        raise AssertionError(state)
    sim.run_until(sim.now + 2)
    assert sim.props("foo.service")["SubState"] == state, sim.props("foo.service")["SubState"]
    return sim


STATES = ["dead", "failed", "condition", "start-pre", "start", "start-post", "running", "exited", "reload",
          "reload-signal", "reload-notify", "stop", "stop-sigterm", "stop-sigkill", "stop-watchdog", "stop-post",
          "final-sigterm", "final-sigkill", "auto-restart"]


def _main(sim):
    return sim.manager.services["foo.service"].main_pid


def _control(sim):
    return sim.manager.services["foo.service"].control_pid


EVENTS = {
    "start": lambda sim: sim.start("foo.service"),
    "stop": lambda sim: sim.stop("foo.service"),
    "restart": lambda sim: sim.restart("foo.service"),
    "try-restart": lambda sim: sim.restart("foo.service", only_if_active=True),
    "reload": lambda sim: sim.reload("foo.service"),
    "reset-failed": lambda sim: sim.reset_failed("foo.service"),
    "kill": lambda sim: sim.kill("foo.service", SIGTERM, "main"),
    "main-exit-0": lambda sim: _main(sim) and sim.send(ev.ProcessExited(_main(sim), ExitCode.EXITED, 0)),
    "main-exit-1": lambda sim: _main(sim) and sim.send(ev.ProcessExited(_main(sim), ExitCode.EXITED, 1)),
    "control-exit-0": lambda sim: _control(sim) and sim.send(ev.ProcessExited(_control(sim), ExitCode.EXITED, 0)),
    "control-exit-1": lambda sim: _control(sim) and sim.send(ev.ProcessExited(_control(sim), ExitCode.EXITED, 1)),
    "ready": lambda sim: _main(sim) and sim.notify(_main(sim), READY="1"),
    "stopping": lambda sim: _main(sim) and sim.notify(_main(sim), STOPPING="1"),
    "timer": lambda sim: sim.manager.next_deadline() is not None and sim.run_until(sim.manager.next_deadline()),
    "unit-emptied": lambda sim: sim.send(ev.UnitEmptied("foo.service")),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("event", list(EVENTS))
def test_state_event_matrix(state, event):
    sim = reach(state)
    EVENTS[event](sim)
    sim.run_until(sim.now + 1)
    check_invariants(sim)
    assert not [m for m in sim.logs(min_priority=7) if "Internal error" in m]
    sim.run_until(sim.now + 10 * T)  # everything settles
    check_invariants(sim)


# key cells of the transition table: (state, event) → sub-state right after the event
EXPECTED = {
    ("dead", "start"): "running",
    ("running", "start"): "running",
    ("start", "start"): "start",
    ("auto-restart", "start"): "auto-restart",  # v254+: restarted at once; it exits 0 again
    ("auto-restart", "stop"): "dead",
    ("running", "stop"): "dead",
    ("start-pre", "stop"): "failed",  # the SIGTERMed ExecStartPre= is an unclean control exit
    ("stop-sigterm", "start"): "stop-sigterm",  # the start job waits
    ("stop-sigterm", "stop"): "stop-sigterm",
    ("running", "main-exit-1"): "failed",
    ("running", "main-exit-0"): "dead",
    ("start", "ready"): "running",
    ("running", "stopping"): "running",  # Type=simple: NotifyAccess=none drops it
    ("exited", "stop"): "dead",
    ("reload", "control-exit-0"): "running",
    ("reload", "control-exit-1"): "running",  # a failed reload leaves the service running
    ("stop", "control-exit-0"): "dead",  # → stop-sigterm, main dies of SIGTERM at once
    ("failed", "reset-failed"): "dead",
    ("dead", "try-restart"): "dead",
    ("stop-sigkill", "timer"): "final-sigterm",  # "Processes still around after SIGKILL. Ignoring."
}


@pytest.mark.parametrize("cell", list(EXPECTED))
def test_transition_table_cells(cell):
    state, event = cell
    sim = reach(state)
    EVENTS[event](sim)
    sim.run_until(sim.now + 1)
    assert sim.props("foo.service")["SubState"] == EXPECTED[cell]
