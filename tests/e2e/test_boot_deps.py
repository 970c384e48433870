"""Boot with real processes: `sysvisor up` starts default.target and what is enabled into it, in
dependency order, with a unit shaped like the seed's k3s example. # spec: issue 7 (acceptance)"""

from __future__ import annotations

import shutil

import pytest

from harness import Sysvisor, alive, write_units

K3S = """\
[Unit]
Description=Lightweight Kubernetes
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target
Wants=tailscale-weekly-update.timer

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
NotifyAccess=all
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/missing/k3s.service.env
KillMode=process
Delegate=yes
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/bin/false
ExecStartPre=-/sbin/modprobe-that-does-not-exist br_netfilter
ExecStart=/bin/sh -c 'sleep 0.5; touch {ready}; systemd-notify --ready; exec sleep 300'
"""

AFTER_K3S = """\
[Unit]
Description=Needs the cluster
After=k3s.service
Requires=k3s.service

[Service]
ExecStart=/bin/sh -c 'test -e {ready} && exec sleep 300'

[Install]
WantedBy=multi-user.target
"""

WEEKLY_TIMER = """\
[Unit]
Description=Weekly tailscale update

[Timer]
OnCalendar=weekly
Persistent=yes
"""

WEEKLY_SERVICE = """\
[Service]
Type=oneshot
ExecStart=/bin/true
"""


@pytest.mark.skipif(shutil.which("systemd-notify") is None, reason="test.sh installs systemd-notify")
def test_k3s_shaped_unit_boots_in_dependency_order(run, tmp_path):
    ready = tmp_path / "k3s-ready"
    m = run({
        "k3s.service": K3S.format(ready=ready),
        "after-k3s.service": AFTER_K3S.format(ready=ready),
        "tailscale-weekly-update.timer": WEEKLY_TIMER,
        "tailscale-weekly-update.service": WEEKLY_SERVICE,
    })
    m.wait_for("multi-user.target", lambda: m.prop("multi-user.target", "ActiveState") == "active", timeout=30)
    assert m.prop("default.target", "Id") == "multi-user.target"
    # after-k3s started only once k3s sent READY=1 (its ExecStart tests the file k3s wrote first)
    assert m.prop("k3s.service", "SubState") == "running"
    assert m.prop("after-k3s.service", "SubState") == "running"
    k3s_ready = int(m.prop("k3s.service", "ActiveEnterTimestampMonotonic"))
    after_start = int(m.prop("after-k3s.service", "ExecMainStartTimestampMonotonic"))
    assert 0 < k3s_ready <= after_start
    # network-online.target is reached at once: nothing orders itself before it
    assert m.prop("network-online.target", "ActiveState") == "active"
    # Wants= a weekly timer: it runs, waiting for its next elapse
    assert m.prop("tailscale-weekly-update.timer", "ActiveState") == "active"
    assert m.prop("tailscale-weekly-update.timer", "SubState") == "waiting"
    wants = m.prop("k3s.service", "Wants").split()
    assert {"network-online.target", "tailscale-weekly-update.timer"} <= set(wants)
    assert "network-online.target" in m.prop("k3s.service", "After").split()
    assert "k3s.service" in m.prop("multi-user.target", "Wants").split()
    assert "k3s.service" in m.prop("multi-user.target", "After").split()  # a target's default dependency
    assert m.prop("k3s.service", "Result") == "success"
    assert m.cli("list-jobs").stdout.strip() == "No jobs running."
    pid = int(m.prop("k3s.service", "MainPID"))
    assert alive(pid)
    # SIGTERM: everything stops, after-k3s before k3s (reverse of After=)
    assert m.stop() == 0
    assert not alive(pid)
    logs = m.output()
    assert logs.index("Stopped after-k3s.service") < logs.index("Stopped k3s.service")


def test_isolate_switches_targets_and_list_dependencies_shows_the_graph(run):
    m = run({
        "web.service": "[Service]\nExecStart=/bin/sleep 300\n[Install]\nWantedBy=multi-user.target\n",
        "rescue-shell.service": "[Service]\nExecStart=/bin/sleep 300\n",
        "maint.target": "[Unit]\nDescription=Maintenance\nAllowIsolate=yes\nWants=rescue-shell.service\n",
    })
    m.wait_for("web.service", lambda: m.prop("web.service", "ActiveState") == "active", timeout=30)
    tree = m.cli("list-dependencies", "multi-user.target").stdout
    assert "web.service" in tree and "basic.target" in tree
    r = m.cli("isolate", "maint")
    assert r.returncode == 0, r.stderr
    assert m.prop("rescue-shell.service", "ActiveState") == "active"
    assert m.prop("web.service", "ActiveState") == "inactive"
    assert m.prop("multi-user.target", "ActiveState") == "inactive"
    r = m.cli("isolate", "web.service")
    assert r.returncode == 4  # systemctl 257 (tests/data/oracle/cli/bad-names-257.json)
    assert "Failed to start web.service: Operation refused, unit may not be isolated." in r.stderr
    assert m.cli("isolate", "default").returncode == 0
    assert m.prop("web.service", "ActiveState") == "active"


def test_a_default_target_link_chooses_what_boots(tmp_path):
    units = write_units(tmp_path / "units", {
        "app.target": "[Unit]\nDescription=App stack\nAllowIsolate=yes\n",
        "api.service": "[Service]\nExecStart=/bin/sleep 300\n[Install]\nWantedBy=app.target\n",
        "web.service": "[Service]\nExecStart=/bin/sleep 300\n[Install]\nWantedBy=multi-user.target\n",
    })
    (units / "default.target").symlink_to("app.target")
    m = Sysvisor(tmp_path, units)
    try:
        m.wait_for("app.target", lambda: m.prop("app.target", "ActiveState") == "active", timeout=30)
        assert m.prop("default.target", "Id") == "app.target"
        assert m.prop("api.service", "ActiveState") == "active"
        assert m.prop("web.service", "ActiveState") == "inactive"  # multi-user.target is not the default
        assert m.prop("multi-user.target", "ActiveState") == "inactive"
        assert m.prop("basic.target", "ActiveState") == "inactive"  # app.target asks for nothing else
    finally:
        assert m.stop() == 0
        m.log.close()
