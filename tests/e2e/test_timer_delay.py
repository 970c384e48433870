"""RandomizedDelaySec=, FixedRandomDelay= and AccuracySec= with a real manager and real
processes: the next elapse the manager announces follows systemd's rules, and the unit
runs inside the window it promised. # spec: timers.md §4   # systemd: timer.c add_random(),
sd-event sleep_between()
"""

from __future__ import annotations

import os

from sysvisor.core.timer_accuracy import perturb_from_id128, sleep_between
from sysvisor.core.timer_delay import fixed_delay_hash
from sysvisor.daemon.persist import kernel_boot_id
from sysvisor.unitfile.values import parse_timespan

SEC = 1_000_000
SLACK = 500_000  # µs a loaded 2-CPU machine may take from the wake-up to the exec


def _mono(m, unit: str, prop: str) -> int:
    text = m.prop(unit, prop)
    return int(text) if text.isdigit() else parse_timespan(text)


def _service(out) -> str:
    return f"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo run >> {out}'\n"


def _run_started(m, unit: str) -> int:
    m.wait_for(f"{unit} to run", lambda: m.prop(unit, "ExecMainStartTimestampMonotonic") not in ("", "0"), timeout=20)
    return int(m.prop(unit, "ExecMainStartTimestampMonotonic"))


def test_fixed_random_delay_is_the_hash_and_the_unit_runs_then(run, tmp_path):
    m = run({
        "fixed.timer": "[Timer]\nOnActiveSec=1s\nRandomizedDelaySec=3s\nFixedRandomDelay=yes\nAccuracySec=1us\n",
        "fixed.service": _service(tmp_path / "fixed"),
    })
    assert m.cli("start", "fixed.timer").returncode == 0
    start = int(m.prop("fixed.timer", "InactiveExitTimestampMonotonic"))
    with open("/etc/machine-id") as f:
        machine = bytes.fromhex(f.read().strip())
    delay = fixed_delay_hash(machine, os.getuid() == 0, os.getuid(), "fixed.timer") % (3 * SEC)
    due = _mono(m, "fixed.timer", "NextElapseUSecMonotonic")
    assert due == start + SEC + delay
    ran = _run_started(m, "fixed.service")
    assert due <= ran < due + SLACK
    # stable across a restart of the timer: the same offset from the new activation
    assert m.cli("restart", "fixed.timer").returncode == 0
    again = int(m.prop("fixed.timer", "InactiveExitTimestampMonotonic"))
    assert _mono(m, "fixed.timer", "NextElapseUSecMonotonic") == again + SEC + delay


def test_randomized_delay_stays_in_its_window_and_the_unit_runs_after_it(run, tmp_path):
    m = run({
        "rand.timer": "[Timer]\nOnActiveSec=1s\nRandomizedDelaySec=2s\nAccuracySec=1us\n",
        "rand.service": _service(tmp_path / "rand"),
    })
    assert m.cli("start", "rand.timer").returncode == 0
    start = int(m.prop("rand.timer", "InactiveExitTimestampMonotonic"))
    due = _mono(m, "rand.timer", "NextElapseUSecMonotonic")
    assert start + SEC <= due < start + 3 * SEC
    ran = _run_started(m, "rand.service")
    assert due <= ran < due + SLACK


def test_accuracy_window_is_chosen_with_the_boot_ids_perturbation(run, tmp_path):
    m = run({
        "acc.timer": "[Timer]\nOnActiveSec=1s\nAccuracySec=3s\n",
        "acc.service": _service(tmp_path / "acc"),
    })
    assert m.cli("start", "acc.timer").returncode == 0
    due = _mono(m, "acc.timer", "NextElapseUSecMonotonic")
    perturb = perturb_from_id128(bytes.fromhex(kernel_boot_id().replace("-", "")))
    wake = sleep_between(due, due + 3 * SEC, perturb)
    assert due <= wake <= due + 3 * SEC
    ran = _run_started(m, "acc.service")
    # nothing else arms a deadline in this manager, so it wakes where sleep_between() said
    assert wake <= ran < wake + SLACK
