"""`sysvisor simulate`: the seed scenario answered by the real engine at virtual time.

# spec: restart-and-failure.md §6.1 (5 processes, NRestarts=5, OnFailure 6 times, failed at 25 s)
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOO = "[Unit]\nDescription=Foo\nStartLimitIntervalSec=600\nStartLimitBurst=5\nOnFailure=x-recovery.service\n[Service]\nExecStart=/usr/bin/false\nRestart=on-failure\nRestartSec=5s\n"


def simulate(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "sysvisor", "simulate", *args], env=env, capture_output=True, text=True, timeout=60)


def units(tmp_path):
    (tmp_path / "foo.service").write_text(FOO)
    (tmp_path / "x-recovery.service").write_text("[Service]\nType=oneshot\nExecStart=/bin/true\n")
    return tmp_path / "foo.service"


def test_seed_scenario_summary(tmp_path):
    r = simulate(str(units(tmp_path)), "--exit", "1", "--for", "60s")
    assert r.returncode == 0, r.stderr
    assert "+   25.000000s foo.service         log       foo.service: Start request repeated too quickly." in r.stdout
    tail = r.stdout.split("\n\n")[-1]
    assert "final state: failed (failed)\nfinal result: exit-code\nat: 25.000000s\nprocesses started: 5\nrestarts scheduled (NRestarts): 5\nOnFailure= triggered: 6\n" in tail


def test_crash_every_30s_for_an_hour_as_json(tmp_path):
    r = simulate(str(units(tmp_path)), "--exit", "1", "--after", "30s", "--for", "1h", "--json")
    data = json.loads(r.stdout)
    assert data["summary"]["at"] == "175.000000s"  # 5 runs of 30 s + 4 waits of 5 s, window 600 s
    spawns = [e["t_usec"] for e in data["timeline"] if e["kind"] == "spawn" and e["unit"] == "foo.service"]
    assert spawns == [0, 35_000_000, 70_000_000, 105_000_000, 140_000_000]
    monitor = [e["data"]["environment"] for e in data["timeline"] if e["kind"] == "spawn" and e["unit"] == "x-recovery.service"]
    assert monitor[0]["MONITOR_SERVICE_RESULT"] == "exit-code" and monitor[0]["MONITOR_EXIT_STATUS"] == "1"


def test_bad_input_is_a_clear_error(tmp_path):
    missing = simulate(str(tmp_path / "nope.service"))
    assert missing.returncode == 1 and "no such unit file" in missing.stderr and "Traceback" not in missing.stderr
    bad = simulate(str(units(tmp_path)), "--for", "5Min")
    assert bad.returncode == 2 and "invalid time span '5Min'" in bad.stderr
