"""`simulate()` and its renderers against golden traces. Regenerate a golden file with
`SYSVISOR_REGOLD=1 python3 -m pytest tests/sim` after checking the diff by hand."""

from __future__ import annotations

import json
import os
import pathlib

import pytest

from sysvisor.core.types import RestartPolicy, ServiceType
from sysvisor.testing.clock import sec
from sysvisor.testing.executor import Behaviour
from sysvisor.testing.simulate import behaviour_from_options, render_json, render_text, simulate
from tests.core.helpers import service

GOLDEN = pathlib.Path(__file__).parent / "golden"


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SYSVISOR_REGOLD"):
        path.write_text(text)
    assert text == path.read_text()


def seed_unit():
    return service("foo.service", description="Foo", exec_start="/usr/bin/false", restart=RestartPolicy.ON_FAILURE,
                   restart_usec=sec(5), unit=dict(start_limit_interval_usec=sec(600), start_limit_burst=5,
                                                  on_failure=["x-recovery.service"]))


def test_seed_scenario_golden_text():
    rec = service("x-recovery.service", exec_start="/usr/bin/recover", type=ServiceType.ONESHOT)
    timeline = simulate(seed_unit(), Behaviour.exits(1), sec(30), extra_units=[rec])
    _check_golden("seed.txt", render_text(timeline))


def test_simulate_json_is_machine_readable():
    timeline = simulate(seed_unit(), Behaviour.exits(1), sec(30))
    data = json.loads(render_json(timeline))
    states = [e["data"]["sub_state"] for e in data if e["kind"] == "state"]
    assert states[-1] == "failed"
    assert {e["kind"] for e in data} >= {"state", "log", "spawn", "job"}
    logs = [e["text"] for e in data if e["kind"] == "log"]
    missing = "foo.service: Failed to enqueue OnFailure=x-recovery.service job, ignoring: Unit x-recovery.service not found."
    assert logs.count(missing) == 6
    assert logs[-2:] == ["foo.service: Triggering OnFailure= dependencies.", missing]


def test_behaviour_from_options():
    assert behaviour_from_options() == Behaviour.exits(0)
    assert behaviour_from_options(exit_code=3, after=5) == Behaviour.exits(3, after=5)
    assert behaviour_from_options(signal=11) == Behaviour.killed(11)
    assert behaviour_from_options(hang=True, ready_after=7) == Behaviour.hangs(ready_after=7)
    with pytest.raises(ValueError):
        behaviour_from_options(exit_code=1, signal=9)


def test_simulate_hang_then_nothing():
    timeline = simulate(service("w.service", type=ServiceType.NOTIFY), behaviour_from_options(hang=True, ready_after=sec(1)),
                        sec(5))
    assert [e.text for e in timeline if e.kind == "state"] == ["activating (start)", "active (running)"]
