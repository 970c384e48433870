"""systemd's own services (journald, logind, …) in an image built for systemd are skipped by a
condition unless systemd runs as PID 1 (daemon/boot.py guard_systemd_own_services)."""

from __future__ import annotations

import os

import pytest

from sysvisor.daemon.boot import SYSTEMD_RUNNING, guard_systemd_own_services, is_systemd_own_service
from sysvisor.unitfile.loader import UnitLoader


def _load(tmp_path, units: dict[str, str]):
    for name, text in units.items():
        (tmp_path / name).write_text(text)
    return UnitLoader([str(tmp_path)]).load_all()


def test_only_systemd_services_running_systemds_executables_are_guarded(tmp_path):
    units = _load(tmp_path, {
        "systemd-journald.service": "[Service]\nExecStart=/lib/systemd/systemd-journald\n",
        "systemd-logind.service": "[Unit]\nConditionPathExists=/etc\n[Service]\nExecStart=/usr/lib/systemd/systemd-logind\n",
        "systemd-mine.service": "[Service]\nExecStart=/usr/local/bin/mine\n",  # a user's own, by name only
        "web.service": "[Service]\nExecStart=/lib/systemd/systemd-journald\n",  # not systemd's name
        "systemd-tmp.service": "[Service]\nExecStartPre=/bin/true\nExecStart=/lib/systemd/systemd-tmpfiles\n",
    })
    assert guard_systemd_own_services(units) == ["systemd-journald.service", "systemd-logind.service"]
    assert units["systemd-logind.service"].unit.conditions[0] == SYSTEMD_RUNNING
    assert len(units["systemd-logind.service"].unit.conditions) == 2  # its own condition stays
    assert units["web.service"].unit.conditions == []
    assert guard_systemd_own_services(units) == []  # once (daemon-reload loads afresh anyway)


@pytest.mark.skipif(not os.path.isdir("/lib/systemd/system"), reason="no systemd unit files on this machine")
def test_the_installed_systemd_services_are_recognised():
    units = UnitLoader(["/lib/systemd/system"]).load_all()
    journald = units.get("systemd-journald.service")
    if journald is None:
        pytest.skip("systemd-journald.service is not installed")
    assert is_systemd_own_service(journald)
