"""`status` during a crash loop of many units, through the real CLI and manager: every
answer is complete (one request now carries the properties and the journal's place), every
crash is still restarted and counted, and each restart's output reaches the journal under the
pid of the process that wrote it (the relay gets the stream and its pid in one message, after
the spawn). Ordering by construction is in tests/daemon/test_control_priority.py.
# spec: issue 5 "50 services crash-looping … status p99"; issue 6 (status, every line kept)
"""

from __future__ import annotations

import re

from harness import crash_loop_units, through_crashes

UNITS = 30
CRASHES = 6


def test_status_answers_during_a_crash_loop_and_every_crash_is_restarted(run, tmp_path):
    names = [f"cl{i:02d}" for i in range(UNITS)]
    units = crash_loop_units(tmp_path, names, CRASHES, say=True)  # each start says "run PID"
    m = run(units)
    asked = 0

    def settled():
        nonlocal asked
        name = names[asked % UNITS]
        r = m.cli("status", "-n", "3", name)
        assert r.returncode in (0, 3), r.stderr
        assert f"{name}.service" in r.stdout and "Loaded: loaded" in r.stdout
        asked += 1
        return through_crashes(tmp_path, names, CRASHES)

    m.wait_for("every unit through its crashes", settled, timeout=90)
    r = m.cli("show", *[f"{n}.service" for n in names], "-p", "NRestarts", "--value")
    assert r.stdout.split() == [str(CRASHES)] * UNITS
    for n in names:
        pids = (tmp_path / f"{n}.log").read_text().split()
        assert len(set(pids)) == CRASHES + 1  # one new process per crash
        assert m.prop(n, "MainPID") == pids[-1]
    # each start's line is in the journal, stamped with the pid that wrote it
    status = m.cli("status", "-n", "1000", names[0]).stdout
    runs = re.findall(r"\[(\d+)\]: run (\d+)$", status, re.M)
    assert sorted(p for p, _ in runs) == sorted((tmp_path / f"{names[0]}.log").read_text().split())
    assert all(stamped == said for stamped, said in runs)
