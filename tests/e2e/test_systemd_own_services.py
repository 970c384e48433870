"""An image built for systemd enables systemd's own services; sysvisor boots the rest and shows
why those were skipped. # spec: issue 5 ("images built for systemd work unchanged")"""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.skipif(os.path.isdir("/run/systemd/system"),
                                reason="systemd runs as PID 1 here: the guard lets its services start")


def test_systemd_own_services_are_skipped_by_a_visible_condition(run):
    m = run({
        "systemd-pretend.service": "[Service]\nExecStart=/lib/systemd/systemd-pretend\n[Install]\nWantedBy=multi-user.target\n",
        "web.service": "[Service]\nExecStart=/bin/sleep 600\n[Install]\nWantedBy=multi-user.target\n",
    })
    m.wait_for("web", lambda: m.prop("web", "ActiveState") == "active")
    m.wait_for("multi-user.target", lambda: m.prop("multi-user.target", "ActiveState") == "active")
    assert m.prop("systemd-pretend", "ActiveState") == "inactive"
    assert m.prop("systemd-pretend", "ConditionResult") == "no"
    status = m.cli("status", "systemd-pretend").stdout
    assert "Condition: start condition unmet" in status
    assert "skipped, unmet condition check ConditionPathIsDirectory=/run/systemd/system" in status
    m.shows("systemd's own services are skipped unless systemd runs as PID 1")
