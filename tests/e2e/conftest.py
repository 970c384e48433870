"""Fixtures for the real-process tests."""

from __future__ import annotations

import pytest

from harness import Sysvisor, write_units


@pytest.fixture
def run(tmp_path):
    started = []

    def start(units: dict[str, str]) -> Sysvisor:
        m = Sysvisor(tmp_path, write_units(tmp_path / "units", units))
        started.append(m)
        m.wait_for("the control socket", lambda: m.cli("show", "-p", "Id", "none.service").returncode == 0, timeout=20)
        return m

    yield start
    for m in started:
        m.stop()
        if m.log is not None:
            m.log.close()
