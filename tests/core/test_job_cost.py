"""A request's work in the engine depends on the units its transaction touches, not on how
many units are loaded: counted, not timed (issue 5: 500 services up; the crash loop).
A set built over every unit per job once made each start O(units)."""

from __future__ import annotations

from sysvisor.core import events as E
from sysvisor.core.manager import Manager
from sysvisor.core.service import Service
from sysvisor.core.types import JobMode

from .helpers import service


def _manager(n: int) -> Manager:
    units = {f"u{i}.service": service(f"u{i}.service", exec_reload="/bin/true") for i in range(n)}
    units["web.service"] = service("web.service", unit={"wants": ["db.service"]})
    units["db.service"] = service("db.service")
    return Manager(units)


def _reload_checks(n: int, monkeypatch) -> int:
    m = _manager(n)
    calls = []
    original = Service.can_reload
    monkeypatch.setattr(Service, "can_reload", lambda self: calls.append(self.name) or original(self))
    m.handle(E.StartRequested("web.service", request_id=1, mode=JobMode.REPLACE), 0)
    monkeypatch.setattr(Service, "can_reload", original)
    return len(calls)


def test_a_start_asks_only_the_units_of_its_transaction(monkeypatch):
    assert _reload_checks(10, monkeypatch) == _reload_checks(1000, monkeypatch) <= 5


def test_replacing_a_unit_is_noticed_and_the_graph_rebuilt():
    m = _manager(3)
    before = m.units.version
    m.units["web.service"] = service("web.service")  # no Wants= any more
    assert m.units.version != before
    m.handle(E.StartRequested("web.service", request_id=1, mode=JobMode.REPLACE), 0)
    assert "db.service" not in m.jobs.by_unit
    assert m.units.version == m._graph_version
