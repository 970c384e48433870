"""Many units crash-looping at once: every crash is seen and restarted, and the manager keeps
answering its control socket meanwhile (exits are worked off a batch per loop turn).
# spec: restart-and-failure.md §2; issue 5 "Performance"
"""

from __future__ import annotations

UNITS = 30
CRASHES = 5

# crash CRASHES times, then stay up; every start appends the shell's PID to its own log
# (`$$` is a literal `$` in a unit file)
SCRIPT = "n=$$(cat {log} 2>/dev/null | wc -l); echo $$$$ >> {log}; [ $$n -ge {crashes} ] && exec sleep 600; exit 1"


def test_every_crash_of_many_units_is_restarted_and_counted(run, tmp_path):
    names = [f"loop{i:02d}" for i in range(UNITS)]
    units = {}
    for name in names:
        log = tmp_path / f"{name}.log"
        units[f"{name}.service"] = (
            "[Unit]\nStartLimitIntervalSec=0\n[Service]\n"
            f"ExecStart=/bin/sh -c '{SCRIPT.format(log=log, crashes=CRASHES)}'\n"
            "Restart=always\nRestartSec=0\n[Install]\nWantedBy=multi-user.target\n"
        )
    m = run(units)
    answered = 0

    def all_settled():
        nonlocal answered
        # a control request in the middle of the restarts is answered, not starved
        r = m.cli("is-active", names[answered % UNITS])
        assert r.returncode in (0, 3), r.stderr
        answered += 1
        return all(len((tmp_path / f"{n}.log").read_text().split()) == CRASHES + 1 for n in names if (tmp_path / f"{n}.log").exists()) \
            and all((tmp_path / f"{n}.log").exists() for n in names)

    m.wait_for("every unit through its crashes", all_settled, timeout=60)
    r = m.cli("show", *[f"{n}.service" for n in names], "-p", "NRestarts", "--value")
    assert r.stdout.split() == [str(CRASHES)] * UNITS
    for n in names:
        pids = (tmp_path / f"{n}.log").read_text().split()
        assert len(set(pids)) == CRASHES + 1  # one new process per crash, none twice
        assert m.prop(n, "ActiveState") == "active"
        assert m.prop(n, "MainPID") == pids[-1]
