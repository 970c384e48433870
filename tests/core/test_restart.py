"""Restart= decisions and delays. # spec: restart-and-failure.md §1, §2, §3"""

from __future__ import annotations

import itertools

import pytest

from sysvisor.core.restart import RESTART_TABLE, is_clean_exit, restart_delay, result_of_exit, shall_restart
from sysvisor.core.types import USEC_INFINITY, ExitCode, RestartPolicy, ServiceResult, ServiceType
from sysvisor.core.units import ExitStatusSet, ServiceSection

R = ServiceResult
P = RestartPolicy

# The exact table, spec §2.2, written out cell by cell ("X" = restart).
TABLE = """
result          no always on-success on-failure on-abnormal on-abort on-watchdog
success         -  X      X          -          -           -        -
exit-code       -  X      -          X          -           -        -
signal          -  X      -          X          X           X        -
core-dump       -  X      -          X          X           X        -
timeout         -  X      -          X          X           -        -
watchdog        -  X      -          X          X           -        X
protocol        -  X      -          X          X           -        -
resources       -  X      -          X          X           -        -
oom-kill        -  X      -          X          X           -        -
exec-condition  -  -      -          -          -           -        -
"""


def _cells():
    lines = TABLE.strip().splitlines()
    policies = lines[0].split()[1:]
    for line in lines[1:]:
        result, *marks = line.split()
        for policy, mark in zip(policies, marks):
            yield R(result), P(policy), mark == "X"


@pytest.mark.parametrize("result,policy,expected", list(_cells()))
def test_restart_table_exact(result, policy, expected):
    cfg = ServiceSection(restart=policy)
    assert shall_restart(cfg, result, 0, 0) == (expected, "restart setting")


def test_table_constant_matches_spec_table():
    for result, policy, expected in _cells():
        assert (result in RESTART_TABLE[policy]) is expected


@pytest.mark.parametrize("policy", list(P))
@pytest.mark.parametrize("result", [r for r in R if r is not R.START_LIMIT_HIT])
@pytest.mark.parametrize("prevent", [False, True])
@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("oneshot", [False, True])
def test_decision_order_exhaustive(policy, result, prevent, force, oneshot):
    code, status = ExitCode.EXITED, 3
    cfg = ServiceSection(
        restart=policy,
        type=ServiceType.ONESHOT if oneshot else ServiceType.SIMPLE,
        restart_prevent_exit_status=ExitStatusSet(frozenset({3})) if prevent else ExitStatusSet(),
        restart_force_exit_status=ExitStatusSet(frozenset({3})) if force else ExitStatusSet(),
    )
    got = shall_restart(cfg, result, code, status)
    if prevent:
        assert got == (False, "prevented by exit status")
    elif force and oneshot and result is R.SUCCESS:
        assert got == (False, "service type and exit status")
    elif force:
        assert got == (True, "forced by exit status")
    else:
        assert got == (result in RESTART_TABLE[policy], "restart setting")
    assert shall_restart(cfg, result, code, status, forbid_restart=True) == (False, "manual stop")


def test_exit_status_sets_only_match_main_status_kind():
    s = ExitStatusSet(frozenset({1}), frozenset({15}))
    assert s.matches(ExitCode.EXITED, 1) and not s.matches(ExitCode.EXITED, 15)
    assert s.matches(ExitCode.KILLED, 15) and s.matches(ExitCode.DUMPED, 15)
    assert not s.matches(0, 0)  # no main process ever ran


@pytest.mark.parametrize("sig", [1, 2, 13, 15])
def test_daemon_clean_signals(sig):
    empty = ExitStatusSet()
    assert is_clean_exit(ExitCode.KILLED, sig, daemon=True, success=empty)
    assert not is_clean_exit(ExitCode.KILLED, sig, daemon=False, success=empty)
    assert not is_clean_exit(ExitCode.DUMPED, sig, daemon=True, success=empty)


def test_success_exit_status():
    s = ExitStatusSet(frozenset({75}), frozenset({9}))
    assert result_of_exit(ExitCode.EXITED, 75, daemon=False, success=s) is R.SUCCESS
    assert result_of_exit(ExitCode.KILLED, 9, daemon=False, success=s) is R.SUCCESS
    assert result_of_exit(ExitCode.EXITED, 1, daemon=True, success=s) is R.EXIT_CODE
    assert result_of_exit(ExitCode.KILLED, 6, daemon=True, success=s) is R.SIGNAL
    assert result_of_exit(ExitCode.DUMPED, 6, daemon=True, success=s) is R.CORE_DUMP


WORKED = [  # spec §3 worked values, seconds
    (1, 60, 6, [1, 1.978602, 3.914867, 7.745966, 15.326188, 30.324434, 60, 60]),
    (0.1, 30, 5, [0.1, 0.312913, 0.979148, 3.063887, 9.587315, 30, 30, 30]),
    (5, 300, 4, [5, 13.915788, 38.729833, 107.791233, 300, 300, 300, 300]),
]


@pytest.mark.parametrize("sec,maxd,steps,values", WORKED)
def test_restart_delay_worked_values(sec, maxd, steps, values):
    cfg = ServiceSection(restart_usec=int(sec * 1e6), restart_max_delay_usec=int(maxd * 1e6), restart_steps=steps)
    for n, expected in enumerate(values, start=1):
        assert restart_delay(cfg, n) == pytest.approx(expected * 1e6, abs=1), n


def test_restart_delay_plain():
    cfg = ServiceSection(restart_usec=5_000_000)
    assert [restart_delay(cfg, n) for n in (1, 2, 50)] == [5_000_000] * 3
    cfg = ServiceSection(restart_usec=5_000_000, restart_steps=3, restart_max_delay_usec=USEC_INFINITY)
    assert restart_delay(cfg, 3) == 5_000_000


def test_restart_delay_monotonic_between_bounds():
    for sec, maxd, steps in itertools.product((1, 7), (60, 3600), (1, 2, 10)):
        cfg = ServiceSection(restart_usec=sec * 10**6, restart_max_delay_usec=maxd * 10**6, restart_steps=steps)
        ds = [restart_delay(cfg, n) for n in range(1, steps + 3)]
        assert ds == sorted(ds) and ds[0] == sec * 10**6 and ds[-1] == maxd * 10**6
