"""Many units crash-looping at once: every crash is seen and restarted, and the manager keeps
answering its control socket meanwhile (exits are worked off a batch per loop turn).
# spec: restart-and-failure.md §2; issue 5 "Performance"
"""

from __future__ import annotations

from harness import crash_loop_units, through_crashes

UNITS = 30
CRASHES = 5


def test_every_crash_of_many_units_is_restarted_and_counted(run, tmp_path):
    names = [f"loop{i:02d}" for i in range(UNITS)]
    units = crash_loop_units(tmp_path, names, CRASHES)
    m = run(units)
    answered = 0

    def all_settled():
        nonlocal answered
        # a control request in the middle of the restarts is answered, not starved
        r = m.cli("is-active", names[answered % UNITS])
        assert r.returncode in (0, 3), r.stderr
        answered += 1
        return through_crashes(tmp_path, names, CRASHES)

    m.wait_for("every unit through its crashes", all_settled, timeout=60)
    r = m.cli("show", *[f"{n}.service" for n in names], "-p", "NRestarts", "--value")
    assert r.stdout.split() == [str(CRASHES)] * UNITS
    for n in names:
        pids = (tmp_path / f"{n}.log").read_text().split()
        assert len(set(pids)) == CRASHES + 1  # one new process per crash, none twice
        assert m.prop(n, "ActiveState") == "active"
        assert m.prop(n, "MainPID") == pids[-1]
