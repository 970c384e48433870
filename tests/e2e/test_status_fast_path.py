"""`status` is parsed by hand (no argparse) like is-active: its options still mean what they
mean to systemctl. # spec: systemctl-and-journal.md §3"""

from __future__ import annotations

import subprocess
import sys

from harness import ROOT

UNIT = "[Service]\nExecStart=/bin/sh -c 'for i in 1 2 3 4 5; do echo line$i; done; exec sleep 600'\n"


def test_status_takes_lines_and_full_without_argparse(run):
    m = run({"web.service": UNIT})
    assert m.cli("start", "web").returncode == 0
    m.wait_for("the output", lambda: "line5" in m.cli("status", "web", "-n", "20").stdout)
    assert ": line" not in m.cli("status", "web", "-n", "0").stdout
    two = m.cli("status", "web", "--lines=2", "--no-pager", "-l").stdout
    assert [x.split(": ")[-1] for x in two.splitlines() if ": line" in x] == ["line4", "line5"]
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); from sysvisor.cli.main import main; "
             "main(['status', 'web', '-n', '1', '--full']); print('argparse' in sys.modules, file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", probe, str(ROOT / "src")], env=m.env, capture_output=True, text=True, timeout=30)
    assert "line5" in r.stdout and r.stderr.strip().endswith("False")


def test_loaded_line_carries_enablement_and_preset(run):
    # systemctl: "Loaded: loaded (PATH; enabled; preset: enabled)", "(PATH; static)"
    m = run({"web.service": UNIT + "[Install]\nWantedBy=multi-user.target\n", "once.service": UNIT})
    loaded = [x.strip() for x in m.cli("status", "web", "once", "-n", "0").stdout.splitlines() if x.strip().startswith("Loaded:")]
    units = m.env["SYSVISOR_SOCKET"].rsplit("/run/", 1)[0] + "/units"
    # a --units folder enables its units as a whole (test_units_folder_enablement.py)
    assert loaded == [f"Loaded: loaded ({units}/web.service; enabled; preset: enabled)",
                      f"Loaded: loaded ({units}/once.service; static)"]
    assert m.cli("enable", "web").returncode == 0
    assert f"({units}/web.service; enabled; preset: enabled)" in m.cli("status", "web", "-n", "0").stdout
    assert m.prop("web", "UnitFileState") == "enabled"


def test_options_before_the_verb_take_the_fast_path_too(run):
    # `systemctl -q is-active x` is how scripts ask; systemctl takes options on either side
    m = run({"web.service": UNIT})
    assert m.cli("start", "web").returncode == 0
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); from sysvisor.cli.main import main; "
             "codes = [main(['-q', 'is-active', 'web']), main(['--no-pager', '-q', 'is-active', 'nope']), "
             "main(['--quiet', 'is-failed', 'web']), main(['-n', '0', 'status', 'web'])]; "
             "print(codes, 'argparse' in sys.modules, file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", probe, str(ROOT / "src")], env=m.env, capture_output=True, text=True, timeout=30)
    assert r.stderr.strip().endswith("[0, 4, 1, 0] False"), r.stderr  # 4: no such unit (exit-codes-257.json)
    assert "active (running)" in r.stdout and ": line" not in r.stdout  # status honoured -n 0; -q printed nothing
    # a status-only option with another verb is the full parser's to judge, as before
    assert m.cli("-n", "0", "is-active", "web").stdout.strip() == "active"


def test_the_managers_journal_index_covers_its_last_messages_and_the_manager_then_sleeps(run, tmp_path):
    # `status` jumps through each segment's tail index, which a writer rewrites at most every
    # index.INTERVAL while records come: the manager wakes once after its last messages to
    # complete it (else every `status` walks them), then sleeps without a timeout again
    import os
    import time

    from sysvisor.journal import index
    from sysvisor.journal.segment import list_segments

    m = run({"web.service": UNIT})
    for _ in range(3):  # messages closer together than INTERVAL: the index lags behind them
        assert m.cli("restart", "web").returncode == 0
    journal = str(tmp_path / "state" / "journal")
    pid = m.manager_pid()

    def switches() -> str:
        with open(f"/proc/{pid}/status") as f:
            return next(line for line in f if line.startswith("voluntary_ctxt_switches"))

    deadline = time.monotonic() + 20
    while True:  # until it sleeps through 3 intervals: then it waits without a timeout
        before = switches()
        time.sleep(3 * index.INTERVAL)
        if switches() == before:
            break
        assert time.monotonic() < deadline, "the manager kept waking up"
    path = [s for s in list_segments(journal) if s[0] == "system"][-1][3]
    size = os.path.getsize(path)
    idx = index.load(path, size)
    assert idx is not None and idx["end"] == size, f"the index stays at {idx and idx['end']} of {size} bytes"
