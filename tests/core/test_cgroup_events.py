"""With `cgroup_events=True` the shell reports UnitEmptied, and the stop sequence waits for
leftover processes of the unit (KillMode=control-group/mixed). # spec: service-lifecycle.md §7"""

from __future__ import annotations

from sysvisor.core.exit_status import SIGKILL, SIGTERM
from sysvisor.core.types import KillMode, ServiceType
from sysvisor.testing.clock import sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import Simulation
from tests.core.helpers import service

STUBBORN_CHILD = Behaviour.hangs(ignore=frozenset({SIGTERM}))


def _forking(kill_mode: KillMode):
    # a forking parent leaves a daemon; GuessMainPID finds it; the daemon itself is fine
    return service("foo.service", type=ServiceType.FORKING, kill_mode=kill_mode, timeout_stop_usec=sec(5),
                   guess_main_pid=False)


def test_control_group_waits_for_leftovers_then_sigkill():
    sim = Simulation([_forking(KillMode.CONTROL_GROUP)], {"foo.service": Behaviour.forking(STUBBORN_CHILD)},
                     cgroup_events=True)
    sim.start("foo.service")
    sim.run_until(sec(1))
    p = sim.props("foo.service")
    assert (p["SubState"], p["MainPID"]) == ("running", 0)  # main pid unknown, the cgroup is populated
    sim.stop("foo.service")
    sim.run_until(sec(10))
    kills = [(t, k.signal, k.whole_unit) for t, k in sim.executor.kills]
    assert kills == [(sec(1), SIGTERM, True), (sec(1), 18, True), (sec(6), SIGKILL, True)]
    assert sim.props("foo.service")["Result"] == "timeout"


def test_without_cgroup_events_leftovers_are_not_waited_for():
    sim = Simulation([_forking(KillMode.CONTROL_GROUP)], {"foo.service": Behaviour.forking(STUBBORN_CHILD)})
    sim.start("foo.service")
    sim.run_until(sec(1))
    # no known main pid and no cgroup knowledge: the service is not "good" → stops at once
    assert sim.props("foo.service")["ActiveState"] == "inactive"


def test_unit_emptied_ends_stop_sigterm():
    foo = service("foo.service", timeout_stop_usec=sec(5))
    sim = Simulation([foo], {"foo.service": Behaviour.hangs(signal_delay=sec(2))}, cgroup_events=True)
    sim.start("foo.service")
    sim.stop("foo.service")
    sim.run_until(sec(3))
    p = sim.props("foo.service")
    assert (p["ActiveState"], p["Result"]) == ("inactive", "success")
    assert p["InactiveEnterTimestampMonotonic"] == sec(2)
