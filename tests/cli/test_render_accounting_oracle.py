"""Tasks:/Memory:/CPU: in `status` when there is no accounting, as systemd 257 prints it
(tests/data/oracle/status-no-accounting-257.json: the oracle's container has no cgroup v2
controllers, so these lines could only be observed absent; their layout with accounting
follows systemd's source). # spec: systemctl-and-journal.md §3"""

from __future__ import annotations

import json
from pathlib import Path

from sysvisor.cli.render import render_status
from sysvisor.protocol.properties import UINT64_MAX

DATA = json.loads((Path(__file__).parents[1] / "data" / "oracle" / "status-no-accounting-257.json").read_text())


def test_systemd_257_prints_no_accounting_lines_without_accounting():
    text = DATA["status"]["stdout"]
    assert all(DATA["show"][k] == "[not set]" for k in ("MemoryCurrent", "CPUUsageNSec", "TasksCurrent"))
    assert not any(line.strip().startswith(("Tasks:", "Memory:", "CPU:")) for line in text.splitlines())


def test_sysvisor_prints_none_either():
    props = {"Id": "mem.service", "LoadState": "loaded", "ActiveState": "active", "SubState": "running",
             "FragmentPath": "/etc/systemd/system/mem.service", "UnitFileState": "static", "MainPID": 64,
             "MemoryCurrent": UINT64_MAX, "MemoryPeak": UINT64_MAX, "MemoryMax": int(DATA["show"]["MemoryMax"]),
             "CPUUsageNSec": UINT64_MAX, "TasksCurrent": UINT64_MAX}
    text = render_status(props, [], 1_800_000_000_000_000)
    assert not any(line.strip().startswith(("Tasks:", "Memory:", "CPU:")) for line in text.splitlines())
    with_accounting = render_status(dict(props, MemoryCurrent=3 * 1024 * 1024, TasksCurrent=2, CPUUsageNSec=12_000_000),
                                    [], 1_800_000_000_000_000)
    assert "     Memory: 3.0M (max: 100.0M)\n" in with_accounting  # format_bytes(): one decimal
    assert "        CPU: 12ms\n" in with_accounting and "      Tasks: 2" in with_accounting
